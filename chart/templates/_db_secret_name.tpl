{#- The Secret the server reads DB_PASS from: the chart's own when a development
    password is given, else the one created out of band. -#}
{%- if values.db.password -%}
{{<common.fullname/>}}-dev-db
{%- else -%}
{{ values.db.existingSecret | required(msg="db.existingSecret: name the Secret that holds the database password (created out of band in the release's namespace), or set db.password for development") }}
{%- endif -%}
