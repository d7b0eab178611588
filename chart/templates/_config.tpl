{#- The server's config.yml, exactly as the ConfigMap holds it. Its hash names the
    ConfigMap, so every change to it is a new ConfigMap and a new rollout. -#}
routes:{{ values.routes | to_yaml | nindent(width=2) }}
