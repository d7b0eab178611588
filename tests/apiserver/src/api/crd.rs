//! CustomResourceDefinitions: a new one is served once it is established
//! (at once by default, later, never, or when a test says so); deleting one
//! stops serving it and removes its objects.
//!
//! The real server serves a CRD's resources once its names are accepted and
//! lists them in discovery once it is `Established`. Here a CRD waiting to be
//! established is in the state before the naming controller ran: no
//! conditions, empty `acceptedNames`, its resources `404` and absent from
//! discovery. Establishing it accepts its names and establishes it in one
//! status write.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Target;
use crate::catalogue::{NameRule, ResourceType};
use crate::objects;
use crate::store::{ObjectKey, Store};

/// When a new CustomResourceDefinition becomes `Established` and served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrdEstablishment {
    /// In the same moment it is created (the default).
    #[default]
    Immediate,
    /// This many milliseconds after it is created.
    AfterMs(u64),
    /// Never: its resources stay unserved.
    Never,
    /// When the test calls [`crate::TestApiServer::establish_crds`].
    Manual,
}

impl CrdEstablishment {
    /// Established `delay` after creation.
    pub fn after(delay: Duration) -> Self {
        CrdEstablishment::AfterMs(crate::time::millis(delay))
    }

    /// Parse `immediate`, `never`, `manual` or a delay such as `100ms`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "immediate" | "0" => Some(CrdEstablishment::Immediate),
            "never" => Some(CrdEstablishment::Never),
            "manual" => Some(CrdEstablishment::Manual),
            delay => humantime::parse_duration(delay)
                .ok()
                .map(CrdEstablishment::after),
        }
    }
}

pub(super) fn is_crd(resource: &ResourceType) -> bool {
    !resource.custom
        && resource.group == "apiextensions.k8s.io"
        && resource.kind == "CustomResourceDefinition"
}

/// The status of a CRD no controller has looked at yet, as the real server
/// stores it on create.
pub fn prepare_create(target: &Target, crd: &mut Value) {
    if !is_crd(&target.resource) {
        return;
    }
    let storage_version = Definition::read(crd).and_then(|d| d.storage_version());
    crd["status"] = json!({
        "acceptedNames": {"plural": "", "kind": ""},
        "storedVersions": storage_version.into_iter().collect::<Vec<_>>(),
    });
}

/// After a CRD is stored: keep serving an established one as its spec now
/// says; establish a new one if that happens at once.
pub fn after_write(store: &mut Store, target: &Target, crd: &Value) {
    if !is_crd(&target.resource) || crd.pointer("/metadata/deletionTimestamp").is_some() {
        return;
    }
    let Some(definition) = Definition::read(crd) else {
        return;
    };
    if is_established(crd) {
        serve(store, &definition);
    } else if store.crd_establishment == CrdEstablishment::Immediate {
        establish(store, objects::meta_str(crd, "name").unwrap_or_default());
    }
}

/// Establish the CRD `name`: accept its names, mark it `Established` and serve
/// its versions. False when there is no such CRD or it is established already.
pub fn establish(store: &mut Store, name: &str) -> bool {
    let Some(crds) =
        store
            .catalogue
            .find("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    else {
        return false;
    };
    let key = ObjectKey::new(&crds, "", name);
    let Some(crd) = store.get(&key) else {
        return false;
    };
    let Some(definition) = Definition::read(&crd) else {
        return false;
    };
    if is_established(&crd) || crd.pointer("/metadata/deletionTimestamp").is_some() {
        return false;
    }
    serve(store, &definition);
    let mut updated = (*crd).clone();
    let now = objects::now();
    let condition = |kind: &str, reason: &str, message: &str| json!({"type": kind, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message});
    updated["status"] = json!({
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "acceptedNames": crd.pointer("/spec/names").cloned().unwrap_or_default(),
        "storedVersions": definition.storage_version().into_iter().collect::<Vec<_>>(),
    });
    store.put(key, updated);
    true
}

/// Establish every CRD still waiting; returns their names.
pub fn establish_waiting(store: &mut Store) -> Vec<String> {
    waiting(store)
        .into_iter()
        .filter(|name| establish(store, name))
        .collect()
}

/// Names of the CRDs not established yet.
pub fn waiting(store: &Store) -> Vec<String> {
    let Some(crds) =
        store
            .catalogue
            .find("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    else {
        return Vec::new();
    };
    store
        .list(&crds, None)
        .filter(|(_, crd)| !is_established(crd))
        .map(|(key, _)| key.name.clone())
        .collect()
}

/// Serve the definition's versions (replacing what was served for it).
fn serve(store: &mut Store, definition: &Definition) {
    store
        .catalogue
        .remove(&definition.group, &definition.plural);
    for version in &definition.versions {
        store.catalogue.add(definition.resource_type(version));
    }
}

/// After a CRD is deleted: stop serving it and delete its objects.
pub fn after_delete(store: &mut Store, target: &Target, crd: &Value) {
    if !is_crd(&target.resource) {
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

/// Whether the CRD's `Established` condition is true.
pub fn is_established(crd: &Value) -> bool {
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

    /// The version objects are stored in: the one marked `storage`, else the first.
    fn storage_version(&self) -> Option<String> {
        self.versions
            .iter()
            .find(|v| v.storage)
            .or(self.versions.first())
            .map(|v| v.name.clone())
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
