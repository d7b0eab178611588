//! CustomResourceDefinitions: creating one starts serving its resource
//! type (and marks it `Established`, as the real server's controller does);
//! deleting one stops serving it and removes its objects.

use serde_json::{Value, json};

use super::Target;
use crate::catalogue::{NameRule, ResourceType};
use crate::objects;
use crate::store::{ObjectKey, Store};

fn is_crd(target: &Target) -> bool {
    !target.resource.custom
        && target.resource.group == "apiextensions.k8s.io"
        && target.resource.kind == "CustomResourceDefinition"
}

/// After a CRD is stored: serve its versions and report it established.
pub fn after_write(store: &mut Store, target: &Target, crd: &Value) {
    if !is_crd(target) || crd.pointer("/metadata/deletionTimestamp").is_some() {
        return;
    }
    let Some(definition) = Definition::read(crd) else {
        return;
    };
    store
        .catalogue
        .remove(&definition.group, &definition.plural);
    for version in &definition.versions {
        store.catalogue.add(definition.resource_type(version));
    }
    if !is_established(crd) {
        let mut updated = crd.clone();
        let now = objects::now();
        let condition = |kind: &str, reason: &str, message: &str| json!({"type": kind, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message});
        let storage_version = definition
            .versions
            .iter()
            .find(|v| v.storage)
            .or(definition.versions.first());
        updated["status"] = json!({
            "conditions": [
                condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            ],
            "acceptedNames": crd.pointer("/spec/names").cloned().unwrap_or_default(),
            "storedVersions": storage_version.map(|v| vec![v.name.clone()]).unwrap_or_default(),
        });
        let key = ObjectKey::new(
            &target.resource,
            "",
            objects::meta_str(crd, "name").unwrap_or_default(),
        );
        store.put(key, updated);
    }
}

/// After a CRD is deleted: stop serving it and delete its objects.
pub fn after_delete(store: &mut Store, target: &Target, crd: &Value) {
    if !is_crd(target) {
        return;
    }
    let Some(definition) = Definition::read(crd) else {
        return;
    };
    for key in store.keys_of(&definition.group, &definition.plural) {
        store.remove(&key);
    }
    store
        .catalogue
        .remove(&definition.group, &definition.plural);
}

fn is_established(crd: &Value) -> bool {
    crd.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
        })
}

struct Definition {
    group: String,
    kind: String,
    plural: String,
    singular: String,
    namespaced: bool,
    short_names: Vec<String>,
    categories: Vec<String>,
    versions: Vec<Version>,
}

struct Version {
    name: String,
    storage: bool,
    status: bool,
}

impl Definition {
    fn read(crd: &Value) -> Option<Definition> {
        let spec = crd.get("spec")?;
        let names = spec.get("names")?;
        let text = |value: Option<&Value>| {
            value
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let strings = |value: Option<&Value>| -> Vec<String> {
            value
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let kind = text(names.get("kind"));
        let versions = spec
            .get("versions")
            .and_then(Value::as_array)?
            .iter()
            .filter(|v| v.get("served").and_then(Value::as_bool).unwrap_or(true))
            .map(|v| Version {
                name: text(v.get("name")),
                storage: v.get("storage").and_then(Value::as_bool).unwrap_or(false),
                status: v.pointer("/subresources/status").is_some(),
            })
            .collect();
        Some(Definition {
            group: text(spec.get("group")),
            singular: names
                .get("singular")
                .and_then(Value::as_str)
                .map_or_else(|| kind.to_ascii_lowercase(), str::to_string),
            kind,
            plural: text(names.get("plural")),
            namespaced: spec.get("scope").and_then(Value::as_str) != Some("Cluster"),
            short_names: strings(names.get("shortNames")),
            categories: strings(names.get("categories")),
            versions,
        })
    }

    fn resource_type(&self, version: &Version) -> ResourceType {
        ResourceType {
            group: self.group.clone(),
            version: version.name.clone(),
            kind: self.kind.clone(),
            plural: self.plural.clone(),
            singular: self.singular.clone(),
            namespaced: self.namespaced,
            short_names: self.short_names.clone(),
            categories: self.categories.clone(),
            status_subresource: version.status,
            scale_subresource: false,
            name_rule: NameRule::Subdomain,
            tracks_generation: true,
            delete_returns_object: false,
            custom: true,
        }
    }
}
