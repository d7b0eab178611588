{#- The library's components are named common.NAME: the charts using it call
    {{<common.fullname/>}}. -#}

{#- Base name of every object: the release name, with the chart name appended unless the
    release name already contains it ("multiroute" stays "multiroute", "prod" becomes
    "prod-multiroute"). 63 characters at most, the limit of a Service name. -#}
{% component common.fullname(@release, @chart) -%}
{%- set name = release.name if chart.name in release.name else release.name ~ "-" ~ chart.name -%}
{{ name | trunc(length=63) | trim_end(pat="-") }}
{%- endcomponent common.fullname %}
