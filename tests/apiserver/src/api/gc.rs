//! The garbage collector's part in a deletion: what becomes of the objects
//! whose `ownerReferences` name the deleted one. `Background` and
//! `Foreground` delete them (an object with other owners only loses the
//! reference), `Orphan` removes the reference. Done at once, where the real
//! collector does it moments later.

use serde_json::Value;

use crate::catalogue::ResourceType;
use crate::objects;
use crate::store::Store;

/// What the real server warns when a Job is deleted without a propagation
/// policy: batch/v1 Jobs orphan their Pods by default.
pub const JOB_ORPHANS_PODS: &str = "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning";

/// What happens to dependents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Deleted after the owner.
    Background,
    /// Deleted before the owner, which waits with the `foregroundDeletion` finalizer.
    Foreground,
    /// Kept, without the owner's reference; the owner waits with the `orphan` finalizer.
    Orphan,
}

impl Propagation {
    /// The requested `propagationPolicy`, or the type's default: batch/v1
    /// Jobs orphan, everything else deletes in the background.
    pub fn of(resource: &ResourceType, requested: Option<&str>) -> Self {
        match requested {
            Some("Foreground") => Propagation::Foreground,
            Some("Orphan") => Propagation::Orphan,
            Some(_) => Propagation::Background,
            None if is_job(resource) => Propagation::Orphan,
            None => Propagation::Background,
        }
    }

    /// The finalizer the owner carries until its dependents are dealt with.
    pub fn finalizer(self) -> Option<&'static str> {
        match self {
            Propagation::Background => None,
            Propagation::Foreground => Some("foregroundDeletion"),
            Propagation::Orphan => Some("orphan"),
        }
    }
}

/// Whether deleting with `requested` deserves the real server's warning.
pub fn warning(resource: &ResourceType, requested: Option<&str>) -> Option<&'static str> {
    (requested.is_none() && is_job(resource)).then_some(JOB_ORPHANS_PODS)
}

fn is_job(resource: &ResourceType) -> bool {
    !resource.custom && resource.group == "batch" && resource.kind == "Job"
}

/// Deal with the dependents of the object with `uid` in `namespace`.
pub fn collect(store: &mut Store, namespace: &str, uid: &str, propagation: Propagation) {
    for key in store.keys_in_namespace(namespace) {
        let Some(dependent) = store.get(&key) else {
            continue;
        };
        let Some(owners) = dependent
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
        else {
            continue;
        };
        if !owners.iter().any(|owner| owner["uid"] == uid) {
            continue;
        }
        let others: Vec<Value> = owners
            .iter()
            .filter(|owner| owner["uid"] != uid)
            .cloned()
            .collect();
        if propagation == Propagation::Orphan || !others.is_empty() {
            let mut kept = dependent.as_ref().clone();
            let metadata = objects::metadata_mut(&mut kept);
            if others.is_empty() {
                metadata.shift_remove("ownerReferences");
            } else {
                metadata.insert("ownerReferences".into(), Value::Array(others));
            }
            store.put(key, kept);
            continue;
        }
        let finalizers = dependent
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if finalizers {
            if dependent.pointer("/metadata/deletionTimestamp").is_none() {
                let mut marked = dependent.as_ref().clone();
                let metadata = objects::metadata_mut(&mut marked);
                metadata.insert("deletionTimestamp".into(), objects::now().into());
                metadata.insert("deletionGracePeriodSeconds".into(), 0.into());
                store.put(key, marked);
            }
            continue;
        }
        let dependent_uid = objects::meta_str(&dependent, "uid")
            .unwrap_or_default()
            .to_string();
        store.remove(&key);
        collect(store, namespace, &dependent_uid, Propagation::Background);
    }
}
