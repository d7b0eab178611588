{#- The labels that pick the release's pods. They must never change across upgrades:
    a Deployment's selector is immutable. -#}
app.kubernetes.io/name: {{ chart.name }}
app.kubernetes.io/instance: {{ release.name }}
