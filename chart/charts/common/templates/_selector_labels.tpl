{#- The labels that pick a release's pods. They must never change across upgrades:
    a Deployment's selector is immutable. Included as
    include(name="charts/common/templates/_selector_labels.tpl"). -#}
app.kubernetes.io/name: {{ chart.name }}
app.kubernetes.io/instance: {{ release.name }}
