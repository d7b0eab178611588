//! Every namespaced object of a release lives in the release's namespace, next to its
//! record, unless the chart says otherwise in Chart.yaml with
//! `annotations: {rchart.io/multi-namespace: "true"}`. A rendered object whose
//! `metadata.namespace` names another namespace is refused, before anything changes.
//!
//! Whether a kind is namespaced is the cluster's to say, when it is asked (planning an
//! install or upgrade); offline (`rchart template`, `rchart lint`) a built-in list of
//! the cluster-scoped kinds of Kubernetes' own API groups, and the CRDs the chart itself
//! carries, tell; objects of other kinds are left to the cluster.

use std::fmt;

use crate::chart::Metadata;
use crate::cluster::Planned;
use crate::render::{Manifest, ResourceId};

/// The Chart.yaml annotation that lets a chart put objects in other namespaces.
pub const MULTI_NAMESPACE_ANNOTATION: &str = "rchart.io/multi-namespace";

/// Whether objects of a kind live in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Namespaced,
    Cluster,
    /// Offline, for a kind outside Kubernetes' own groups that the chart does not define.
    Unknown,
}

/// Kubernetes' own API groups: a kind of these groups is namespaced unless it is in
/// [`CLUSTER_SCOPED`].
const BUILTIN_GROUPS: &[&str] = &[
    "",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "apps",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "resource.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
];

/// The cluster-scoped kinds of [`BUILTIN_GROUPS`] that a chart can create.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
    ),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("certificates.k8s.io", "ClusterTrustBundle"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("node.k8s.io", "RuntimeClass"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "ResourceSlice"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "VolumeAttributesClass"),
];

/// Objects rendered into a namespace other than the release's.
#[derive(Debug, thiserror::Error)]
pub struct StrayObjects {
    pub release_namespace: String,
    /// Each object (its namespace as rendered) and its template.
    pub objects: Vec<(ResourceId, String)>,
}

impl fmt::Display for StrayObjects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let described: Vec<String> = self
            .objects
            .iter()
            .map(|(id, source)| {
                format!(
                    "{id} ({source}) is in namespace \"{}\", not the release namespace \"{}\"",
                    id.namespace.as_deref().unwrap_or_default(),
                    self.release_namespace
                )
            })
            .collect();
        write!(
            f,
            "{}; leave metadata.namespace out, or let the chart place objects in other namespaces with `annotations: {{{MULTI_NAMESPACE_ANNOTATION}: \"true\"}}` in its Chart.yaml",
            described.join("; ")
        )
    }
}

/// Refuses namespaced objects outside `release_namespace`, unless the chart opts in.
pub fn check_namespaces<'m>(
    chart: &Metadata,
    release_namespace: &str,
    objects: impl IntoIterator<Item = (&'m Manifest, Scope)>,
) -> Result<(), StrayObjects> {
    if allows_other_namespaces(chart) {
        return Ok(());
    }
    let strays: Vec<(ResourceId, String)> = objects
        .into_iter()
        .filter(|(manifest, scope)| {
            *scope == Scope::Namespaced
                && manifest
                    .id
                    .namespace
                    .as_deref()
                    .is_some_and(|namespace| namespace != release_namespace)
        })
        .map(|(manifest, _)| (manifest.id.clone(), manifest.source.clone()))
        .collect();
    if strays.is_empty() {
        Ok(())
    } else {
        Err(StrayObjects {
            release_namespace: release_namespace.to_string(),
            objects: strays,
        })
    }
}

/// [`check_namespaces`] for objects planned for the cluster, which says which kinds
/// are namespaced; `planned` is in the order of `manifests`.
pub fn check_planned_namespaces(
    chart: &Metadata,
    release_namespace: &str,
    manifests: &[Manifest],
    planned: &[Planned],
) -> Result<(), StrayObjects> {
    let scopes = manifests.iter().zip(planned).map(|(manifest, planned)| {
        let scope = if planned.kind.namespaced {
            Scope::Namespaced
        } else {
            Scope::Cluster
        };
        (manifest, scope)
    });
    check_namespaces(chart, release_namespace, scopes)
}

/// Whether the chart opted in to objects in other namespaces.
pub fn allows_other_namespaces(chart: &Metadata) -> bool {
    chart
        .annotations
        .get(MULTI_NAMESPACE_ANNOTATION)
        .is_some_and(|value| value == "true")
}

/// Scopes as far as they can be told without a cluster: Kubernetes' own kinds, and the
/// kinds of CRDs among `manifests`.
pub struct OfflineScopes {
    defined: Vec<(String, String, Scope)>,
}

impl OfflineScopes {
    pub fn new(manifests: &[Manifest]) -> Self {
        let defined = manifests
            .iter()
            .filter(|m| {
                m.id.kind == "CustomResourceDefinition" && m.id.group() == "apiextensions.k8s.io"
            })
            .filter_map(|m| m.object().ok())
            .filter_map(|crd| {
                let text = |pointer: &str| crd.pointer(pointer)?.as_str().map(str::to_string);
                let scope = match text("/spec/scope")?.as_str() {
                    "Namespaced" => Scope::Namespaced,
                    "Cluster" => Scope::Cluster,
                    _ => return None,
                };
                Some((text("/spec/group")?, text("/spec/names/kind")?, scope))
            })
            .collect();
        Self { defined }
    }

    pub fn scope(&self, id: &ResourceId) -> Scope {
        let group = id.group();
        if BUILTIN_GROUPS.contains(&group) {
            return if CLUSTER_SCOPED.contains(&(group, id.kind.as_str())) {
                Scope::Cluster
            } else {
                Scope::Namespaced
            };
        }
        self.defined
            .iter()
            .find(|(g, kind, _)| g == group && *kind == id.kind)
            .map_or(Scope::Unknown, |(_, _, scope)| *scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::parse_multi_document;

    fn metadata(annotations: &str) -> Metadata {
        let text = format!("apiVersion: v2\nname: c\nversion: 0.1.0\n{annotations}");
        Metadata::parse(&text).unwrap().metadata
    }

    const OBJECTS: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: other}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: here, namespace: backend}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader, namespace: ignored}
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: g, namespace: other}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: other}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec: {group: example.com, scope: Namespaced, names: {kind: Widget, plural: widgets}}
";

    #[test]
    fn offline_only_known_namespaced_kinds_are_refused() {
        let manifests = parse_multi_document("c", OBJECTS).unwrap();
        let scopes = OfflineScopes::new(&manifests);
        let checked = manifests.iter().map(|m| (m, scopes.scope(&m.id)));
        let error = check_namespaces(&metadata(""), "backend", checked).unwrap_err();
        let names: Vec<&str> = error
            .objects
            .iter()
            .map(|(id, _)| id.name.as_str())
            .collect();
        assert_eq!(names, ["web", "w"]);
        let text = error.to_string();
        assert!(
            text.starts_with("Deployment other/web ((stored manifest)) is in namespace"),
            "{text}"
        );
        assert!(
            text.contains("is in namespace \"other\", not the release namespace \"backend\"")
                && text.contains("annotations: {rchart.io/multi-namespace: \"true\"}"),
            "{text}"
        );
    }

    #[test]
    fn the_chart_can_opt_in() {
        let manifests = parse_multi_document("c", OBJECTS).unwrap();
        let chart = metadata("annotations:\n  rchart.io/multi-namespace: \"true\"\n");
        let checked = manifests.iter().map(|m| (m, Scope::Namespaced));
        assert!(check_namespaces(&chart, "backend", checked).is_ok());
    }
}
