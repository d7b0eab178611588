{#- The standard labels of every object, from the common library. -#}
{{ include(name="charts/common/templates/_labels.tpl", with={"component": "server"}) }}
