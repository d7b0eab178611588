{#- Shared pieces. Files starting with "_" are never rendered as manifests. -#}

{#- Base name of every object: the release name, with the chart name appended unless the
    release name already contains it ("multiroute" stays "multiroute", "prod" becomes
    "prod-multiroute"). 63 characters at most, the limit of a Service name. -#}
{% component fullname(@release, @chart) -%}
{%- set name = release.name if chart.name in release.name else release.name ~ "-" ~ chart.name -%}
{{ name | trunc(length=63) | trim_end(pat="-") }}
{%- endcomponent fullname %}

{#- repository:tag@sha256:digest, or repository:tag without a digest. An empty tag means
    the chart's appVersion. -#}
{% component image(image, app_version) -%}
{{ image.repository }}:{{ image.tag or app_version }}{% if image.digest %}@{{ image.digest }}{% endif %}
{%- endcomponent image %}
