{#- The key of the DB_PASS Secret that holds the password. -#}
{%- if values.db.password -%}
db_pass
{%- else -%}
{{ values.db.existingSecretKey | required(msg="db.existingSecretKey: name the key of Secret \"" ~ values.db.existingSecret ~ "\" that holds the database password, e.g. db_pass") }}
{%- endif -%}
