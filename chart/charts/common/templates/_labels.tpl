{#- The standard labels of every object. Give the component with
    include(name="charts/common/templates/_labels.tpl", with={"component": "server"}). -#}
{{ include(name="templates/_selector_labels.tpl") }}
app.kubernetes.io/version: {{ chart.app_version | quote }}
{%- if component is defined %}
app.kubernetes.io/component: {{ component }}
{%- endif %}
app.kubernetes.io/managed-by: {{ release.service }}
