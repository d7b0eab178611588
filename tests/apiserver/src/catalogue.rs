//! The resource types the server knows: names, scope, verbs and behaviour flags.
//!
//! Built-in types are listed here. Custom resources are added at run time
//! when a CustomResourceDefinition is created (see `crd.rs`).

use std::sync::Arc;

/// How object names of a resource are validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 subdomain (most resources).
    Subdomain,
    /// RFC 1123 label (namespaces).
    Label,
    /// RFC 1035 label (services).
    Dns1035Label,
    /// Any string usable as a URL path segment (RBAC objects, `system:...`).
    PathSegment,
}

/// One resource type served under `/api/v1` or `/apis/<group>/<version>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// API group, empty for the core group.
    pub group: String,
    /// API version within the group, e.g. `v1`.
    pub version: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Plural resource name used in URLs, e.g. `deployments`.
    pub plural: String,
    /// Singular lowercase name, e.g. `deployment`.
    pub singular: String,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// kubectl short names, e.g. `deploy`.
    pub short_names: Vec<String>,
    /// Categories such as `all`.
    pub categories: Vec<String>,
    /// Whether the type has a `/status` subresource, which also means writes
    /// to the main resource ignore `status`.
    pub status_subresource: bool,
    /// Whether the type has an `autoscaling/v1` `/scale` subresource over `spec.replicas`.
    pub scale_subresource: bool,
    /// How names are validated.
    pub name_rule: NameRule,
    /// Whether `metadata.generation` is maintained (set on create, bumped on spec changes).
    pub tracks_generation: bool,
    /// Whether DELETE answers with the object rather than a success Status.
    pub delete_returns_object: bool,
    /// Defined by a CustomResourceDefinition: list items keep `kind` and
    /// `apiVersion`, and strategic merge patch is not supported.
    pub custom: bool,
}

impl ResourceType {
    /// `v1` for the core group, `<group>/<version>` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The verbs advertised in discovery.
    pub fn verbs(&self) -> &'static [&'static str] {
        if self.kind == "Namespace" {
            &[
                "create", "delete", "get", "list", "patch", "update", "watch",
            ]
        } else {
            &[
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ]
        }
    }

    /// Whether the type has the `log` subresource (Pods).
    pub fn serves_logs(&self) -> bool {
        !self.custom && self.group.is_empty() && self.plural == "pods"
    }

    /// Whether `name` is one of the names kubectl accepts for this type:
    /// kind, plural, singular or a short name (case-insensitive).
    pub fn answers_to(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        name == self.kind.to_ascii_lowercase()
            || name == self.plural
            || name == self.singular
            || self.short_names.contains(&name)
    }
}

/// The set of resource types currently served.
#[derive(Debug, Clone)]
pub struct Catalogue {
    types: Vec<Arc<ResourceType>>,
}

impl Catalogue {
    /// The built-in Kubernetes types the server supports.
    pub fn builtin() -> Self {
        Catalogue {
            types: BUILTINS
                .iter()
                .map(|spec| Arc::new(spec.to_type()))
                .collect(),
        }
    }

    /// Look up a type by its URL coordinates.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    /// Look up a type by `apiVersion` and `kind`.
    pub fn find_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        self.types
            .iter()
            .find(|t| t.api_version() == api_version && t.kind == kind)
            .cloned()
    }

    /// Look up a type by any name kubectl would accept (kind, plural, singular, short name).
    pub fn resolve(&self, name: &str) -> Option<Arc<ResourceType>> {
        self.types.iter().find(|t| t.answers_to(name)).cloned()
    }

    /// All types, in discovery order.
    pub fn types(&self) -> impl Iterator<Item = &Arc<ResourceType>> {
        self.types.iter()
    }

    /// API groups with their versions, in discovery order (core group excluded).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for t in self.types.iter().filter(|t| !t.group.is_empty()) {
            match groups.iter_mut().find(|(group, _)| *group == t.group) {
                Some((_, versions)) if !versions.contains(&t.version) => {
                    versions.push(t.version.clone())
                }
                Some(_) => {}
                None => groups.push((t.group.clone(), vec![t.version.clone()])),
            }
        }
        groups
    }

    /// The types served under one group version.
    pub fn in_group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a Arc<ResourceType>> {
        self.types
            .iter()
            .filter(move |t| t.group == group && t.version == version)
    }

    /// Serve a custom resource type, replacing an earlier definition of the same version.
    pub fn add(&mut self, resource: ResourceType) {
        self.types.retain(|t| {
            !(t.group == resource.group
                && t.version == resource.version
                && t.plural == resource.plural)
        });
        self.types.push(Arc::new(resource));
    }

    /// Stop serving every version of a custom resource type.
    pub fn remove(&mut self, group: &str, plural: &str) {
        self.types
            .retain(|t| !(t.group == group && t.plural == plural));
    }
}

/// A compact description of a built-in type.
struct Spec {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    flags: u8,
}

const STATUS: u8 = 1;
const GENERATION: u8 = 2;
const RETURNS_OBJECT: u8 = 4;
const IN_ALL: u8 = 8;
const SCALE: u8 = 16;
const WORKLOAD: u8 = STATUS | GENERATION | IN_ALL;

impl Spec {
    fn to_type(&self) -> ResourceType {
        let name_rule = match (self.group, self.kind) {
            ("", "Namespace") => NameRule::Label,
            ("", "Service") => NameRule::Dns1035Label,
            ("rbac.authorization.k8s.io", _) => NameRule::PathSegment,
            _ => NameRule::Subdomain,
        };
        ResourceType {
            group: self.group.to_string(),
            version: self.version.to_string(),
            kind: self.kind.to_string(),
            plural: self.plural.to_string(),
            singular: self.kind.to_ascii_lowercase(),
            namespaced: self.namespaced,
            short_names: self.short_names.iter().map(|s| s.to_string()).collect(),
            categories: if self.flags & IN_ALL != 0 {
                vec!["all".to_string()]
            } else {
                Vec::new()
            },
            status_subresource: self.flags & STATUS != 0,
            scale_subresource: self.flags & SCALE != 0,
            name_rule,
            tracks_generation: self.flags & GENERATION != 0,
            delete_returns_object: self.flags & RETURNS_OBJECT != 0,
            custom: false,
        }
    }
}

const fn spec(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    flags: u8,
) -> Spec {
    Spec {
        group,
        version,
        kind,
        plural,
        namespaced,
        short_names,
        flags,
    }
}

/// Built-in types. Groups appear in the order the real server lists them.
#[rustfmt::skip]
const BUILTINS: &[Spec] = &[
    spec("", "v1", "ConfigMap", "configmaps", true, &["cm"], 0),
    spec("", "v1", "Endpoints", "endpoints", true, &["ep"], 0),
    spec("", "v1", "Event", "events", true, &["ev"], 0),
    spec("", "v1", "LimitRange", "limitranges", true, &["limits"], 0),
    spec("", "v1", "Namespace", "namespaces", false, &["ns"], STATUS | RETURNS_OBJECT),
    spec("", "v1", "Node", "nodes", false, &["no"], STATUS),
    spec("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true, &["pvc"], STATUS),
    spec("", "v1", "PersistentVolume", "persistentvolumes", false, &["pv"], STATUS),
    spec("", "v1", "Pod", "pods", true, &["po"], WORKLOAD | RETURNS_OBJECT),
    spec("", "v1", "ResourceQuota", "resourcequotas", true, &["quota"], STATUS),
    spec("", "v1", "Secret", "secrets", true, &[], 0),
    spec("", "v1", "ServiceAccount", "serviceaccounts", true, &["sa"], 0),
    spec("", "v1", "Service", "services", true, &["svc"], STATUS | RETURNS_OBJECT | IN_ALL),
    spec("apps", "v1", "ControllerRevision", "controllerrevisions", true, &[], 0),
    spec("apps", "v1", "DaemonSet", "daemonsets", true, &["ds"], WORKLOAD),
    spec("apps", "v1", "Deployment", "deployments", true, &["deploy"], WORKLOAD | SCALE),
    spec("apps", "v1", "ReplicaSet", "replicasets", true, &["rs"], WORKLOAD | SCALE),
    spec("apps", "v1", "StatefulSet", "statefulsets", true, &["sts"], WORKLOAD | SCALE),
    spec("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true, &["hpa"], STATUS | IN_ALL),
    spec("batch", "v1", "CronJob", "cronjobs", true, &["cj"], WORKLOAD),
    spec("batch", "v1", "Job", "jobs", true, &[], WORKLOAD),
    spec("networking.k8s.io", "v1", "IngressClass", "ingressclasses", false, &[], 0),
    spec("networking.k8s.io", "v1", "Ingress", "ingresses", true, &["ing"], STATUS | GENERATION),
    spec("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true, &["netpol"], GENERATION),
    spec("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true, &["pdb"], STATUS | GENERATION),
    spec("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false, &[], 0),
    spec("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false, &[], 0),
    spec("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true, &[], 0),
    spec("rbac.authorization.k8s.io", "v1", "Role", "roles", true, &[], 0),
    spec("storage.k8s.io", "v1", "StorageClass", "storageclasses", false, &["sc"], 0),
    spec("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", false, &["crd", "crds"], STATUS | GENERATION),
    spec("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", false, &["pc"], 0),
    spec("coordination.k8s.io", "v1", "Lease", "leases", true, &[], 0),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_types_by_url_kind_and_short_name() {
        let catalogue = Catalogue::builtin();
        assert_eq!(
            catalogue.find("apps", "v1", "deployments").unwrap().kind,
            "Deployment"
        );
        assert_eq!(
            catalogue.find_kind("v1", "Service").unwrap().plural,
            "services"
        );
        assert_eq!(catalogue.resolve("deploy").unwrap().kind, "Deployment");
        assert_eq!(catalogue.resolve("ConfigMap").unwrap().plural, "configmaps");
        assert!(catalogue.find("apps", "v1", "configmaps").is_none());
    }

    #[test]
    fn groups_keep_discovery_order() {
        let groups = Catalogue::builtin().groups();
        assert_eq!(groups[0], ("apps".to_string(), vec!["v1".to_string()]));
        assert!(
            groups
                .iter()
                .any(|(group, _)| group == "rbac.authorization.k8s.io")
        );
    }
}
