app.kubernetes.io/name: {{ chart.name }}
app.kubernetes.io/instance: {{ release.name }}
app.kubernetes.io/version: {{ chart.app_version | quote }}
app.kubernetes.io/managed-by: {{ release.service }}
