{#- <fullname>-config-<hash of config.yml>: one ConfigMap per config version. The
    Deployment refers to it by this name, so a config change rolls the pods and a
    rollback brings back the previous ConfigMap and its pods exactly. -#}
{{<common.fullname/>}}-config-{{ include(name="templates/_config.tpl") | content_hash }}
