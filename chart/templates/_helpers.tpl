{#- Shared pieces. Files starting with "_" are never rendered as manifests. The names and
    labels come from the common library in charts/common (common.fullname,
    charts/common/templates/_labels.tpl). -#}

{#- repository:tag@sha256:digest, or repository:tag without a digest. An empty tag means
    the chart's appVersion. -#}
{% component image(image, app_version) -%}
{{ image.repository }}:{{ image.tag or app_version }}{% if image.digest %}@{{ image.digest }}{% endif %}
{%- endcomponent image %}
