{#- The standard labels of every object. -#}
{{ include(name="templates/_selector_labels.tpl") }}
app.kubernetes.io/version: {{ chart.app_version | quote }}
app.kubernetes.io/component: server
app.kubernetes.io/managed-by: {{ release.service }}
