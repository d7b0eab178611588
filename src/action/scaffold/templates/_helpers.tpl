{#- Shared pieces. Files starting with "_" are never rendered as manifests. -#}
{%- set fullname = release.name if chart.name in release.name else release.name ~ "-" ~ chart.name -%}
{{ fullname | trunc(length=63) | trim_end(pat="-") }}
