//! The small part of the Kubernetes OpenAPI schema that merging needs:
//! which lists are keyed (and by what), which lists are sets, and which maps
//! are free-form string maps rather than structs.
//!
//! The real server reads this from the type's OpenAPI extensions
//! (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`,
//! `x-kubernetes-patch-merge-key`, `x-kubernetes-map-type`). Here it is a
//! table keyed by field name and context, covering the built-in types charts use.

/// How server-side apply treats a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    /// Replaced as a whole; owned as one field.
    Atomic,
    /// A set of scalars (`x-kubernetes-list-type: set`).
    Set,
    /// Items are identified by key fields (`x-kubernetes-list-type: map`).
    Map(&'static [ListKey]),
}

/// One key field of a keyed list, with the default the server fills in when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListKey {
    /// Field name inside each item.
    pub field: &'static str,
    /// Default applied when the item lacks the field (e.g. `protocol: TCP`).
    pub default: Option<&'static str>,
}

/// How a list field merges under both patch flavours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListSchema {
    /// Server-side apply behaviour.
    pub apply: ListType,
    /// Strategic merge patch key (`patchMergeKey`); `None` means the list is replaced.
    pub merge_key: Option<&'static str>,
    /// Strategic merge patch merges this list of scalars as a set (`patchStrategy: merge`).
    pub merge_scalars: bool,
}

const NAME: &[ListKey] = &[key("name")];
const TYPE: &[ListKey] = &[key("type")];
const IP: &[ListKey] = &[key("ip")];
const UID: &[ListKey] = &[key("uid")];
const MOUNT_PATH: &[ListKey] = &[key("mountPath")];
const DEVICE_PATH: &[ListKey] = &[key("devicePath")];
const CONTAINER_PORT: &[ListKey] = &[key("containerPort"), tcp("protocol")];
const SERVICE_PORT: &[ListKey] = &[key("port"), tcp("protocol")];
const SPREAD: &[ListKey] = &[key("topologyKey"), key("whenUnsatisfiable")];

const fn key(field: &'static str) -> ListKey {
    ListKey {
        field,
        default: None,
    }
}

const fn tcp(field: &'static str) -> ListKey {
    ListKey {
        field,
        default: Some("TCP"),
    }
}

const ATOMIC: ListSchema = ListSchema {
    apply: ListType::Atomic,
    merge_key: None,
    merge_scalars: false,
};

const fn keyed(keys: &'static [ListKey]) -> ListSchema {
    ListSchema {
        apply: ListType::Map(keys),
        merge_key: Some(keys[0].field),
        merge_scalars: false,
    }
}

/// The schema of the list at `path` (field names from the object root,
/// list positions left out) in an object of `kind`.
pub fn list_schema(kind: &str, path: &[&str]) -> ListSchema {
    let Some((&field, parents)) = path.split_last() else {
        return ATOMIC;
    };
    let under_container = parents
        .last()
        .is_some_and(|p| matches!(*p, "containers" | "initContainers" | "ephemeralContainers"));
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "imagePullSecrets"
        | "resourceClaims" => keyed(NAME),
        "volumes" if !under_container => keyed(NAME),
        "env" if under_container => keyed(NAME),
        "ports" if under_container => keyed(CONTAINER_PORT),
        "ports" if kind == "Service" && path == ["spec", "ports"] => keyed(SERVICE_PORT),
        "volumeMounts" => keyed(MOUNT_PATH),
        "volumeDevices" => keyed(DEVICE_PATH),
        "hostAliases" => keyed(IP),
        "conditions" => keyed(TYPE),
        "topologySpreadConstraints" => keyed(SPREAD),
        "ownerReferences" if path == ["metadata", "ownerReferences"] => keyed(UID),
        "finalizers" if path == ["metadata", "finalizers"] => ListSchema {
            apply: ListType::Set,
            merge_key: None,
            merge_scalars: true,
        },
        _ => ATOMIC,
    }
}

/// Whether the map at `path` is a free-form map (labels, data, ...) rather
/// than a struct. Free-form maps are themselves members of a field set when
/// an update creates them (`.` in `fieldsV1`).
pub fn is_string_map(kind: &str, path: &[&str]) -> bool {
    match path.last().copied() {
        Some(
            "labels" | "annotations" | "data" | "binaryData" | "stringData" | "matchLabels"
            | "nodeSelector" | "limits" | "requests" | "capacity" | "allocatable" | "hard" | "used"
            | "parameters",
        ) => true,
        Some("selector") => selector_is_plain_map(kind, path),
        _ => false,
    }
}

/// Whether the map at `path` is owned and replaced as one value
/// (`x-kubernetes-map-type: atomic`), like a `LabelSelector`.
pub fn is_atomic_map(kind: &str, path: &[&str]) -> bool {
    match path.last().copied() {
        Some("selector") => !selector_is_plain_map(kind, path),
        Some("podSelector" | "namespaceSelector" | "labelSelector" | "roleRef") => true,
        _ => false,
    }
}

/// Services and ReplicationControllers use a plain `map[string]string` selector;
/// everything else uses a `LabelSelector` struct.
fn selector_is_plain_map(kind: &str, path: &[&str]) -> bool {
    matches!(kind, "Service" | "ReplicationController") && path == ["spec", "selector"]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_lists_are_keyed_by_name_and_ports_by_port_and_protocol() {
        let containers = list_schema("Deployment", &["spec", "template", "spec", "containers"]);
        assert_eq!(containers.merge_key, Some("name"));
        let ports = list_schema(
            "Deployment",
            &["spec", "template", "spec", "containers", "ports"],
        );
        assert_eq!(ports.apply, ListType::Map(CONTAINER_PORT));
        assert_eq!(
            list_schema("Service", &["spec", "ports"]).merge_key,
            Some("port")
        );
    }

    #[test]
    fn unknown_lists_are_atomic() {
        assert_eq!(
            list_schema("Deployment", &["spec", "template", "spec", "tolerations"]),
            ATOMIC
        );
        assert_eq!(
            list_schema(
                "Deployment",
                &["spec", "template", "spec", "containers", "args"]
            ),
            ATOMIC
        );
        assert_eq!(
            list_schema("Deployment", &["metadata", "finalizers"]).apply,
            ListType::Set
        );
    }

    #[test]
    fn selectors_depend_on_kind() {
        assert!(is_string_map("Service", &["spec", "selector"]));
        assert!(is_atomic_map("Deployment", &["spec", "selector"]));
        assert!(!is_atomic_map("Deployment", &["metadata", "labels"]));
    }
}
