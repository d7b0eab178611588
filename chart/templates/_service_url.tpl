{#- http://<fullname>.<namespace>.svc:<port>: the Service, as a Pod of the release
    namespace's cluster reaches it by DNS. -#}
http://{{<common.fullname/>}}.{{ release.namespace }}.svc:{{ values.service.port }}
