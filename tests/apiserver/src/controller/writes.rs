//! How the simulated controllers write: read the object, change a copy,
//! record the change under their field manager, store it. Nothing is written
//! when the object is gone or was replaced by another with the same name.

use std::sync::Arc;

use serde_json::Value;

use crate::catalogue::ResourceType;
use crate::managed::{Scope, Walker, Writer, record_update};
use crate::objects;
use crate::server::Shared;
use crate::store::ObjectKey;

/// Which object, and what part of it, a controller writes.
pub struct Target<'a> {
    /// Where it is stored.
    pub key: &'a ObjectKey,
    /// Its UID when the controller saw it.
    pub uid: &'a str,
    /// `kube-controller-manager`, `kubelet`, …
    pub manager: &'a str,
    /// Through the `/status` subresource (only `status`), or the object itself.
    pub status: bool,
}

/// Change the object with `change(resource, object, now)`, which returns
/// false to write nothing. Returns the stored result when something changed.
pub fn update(
    shared: &Shared,
    target: &Target<'_>,
    change: impl FnOnce(&ResourceType, &mut Value, &str) -> bool,
) -> Option<Arc<Value>> {
    let mut store = shared.store();
    let current = store.get(target.key)?;
    if objects::meta_str(&current, "uid") != Some(target.uid) {
        return None;
    }
    let resource = store
        .catalogue
        .types()
        .find(|t| t.group == target.key.group && t.plural == target.key.resource && !t.custom)
        .cloned()?;
    let now = objects::now();
    let mut updated = current.as_ref().clone();
    if !change(&resource, &mut updated, &now) {
        return None;
    }
    let scope = match (target.status, resource.status_subresource) {
        (true, _) => Scope::OnlyStatus,
        (false, true) => Scope::NoStatus,
        (false, false) => Scope::Everything,
    };
    let api_version = resource.api_version();
    let writer = Writer {
        manager: target.manager,
        api_version: &api_version,
        subresource: target.status.then_some("status"),
        time: &now,
    };
    record_update(
        &Walker::new(&resource.kind, scope),
        &current,
        &mut updated,
        &writer,
    );
    objects::normalize(&mut updated);
    (updated != *current).then(|| store.put(target.key.clone(), updated))
}

/// Write the status `make(object, now)` as `manager`; the object as stored
/// afterwards, or `None` when it is gone (or was replaced).
pub fn set_status(
    shared: &Shared,
    key: &ObjectKey,
    uid: &str,
    manager: &str,
    make: impl FnOnce(&Value, &str) -> Value,
) -> Option<Arc<Value>> {
    let target = Target {
        key,
        uid,
        manager,
        status: true,
    };
    let mut exists = false;
    let written = update(shared, &target, |_, object, now| {
        exists = true;
        object["status"] = make(object, now);
        true
    });
    written.or_else(|| exists.then(|| shared.store().get(key)).flatten())
}

/// The one node Pods run on.
pub const NODE_NAME: &str = "node-1";

/// Bind a Pod to the node, as the scheduler does through `pods/binding`:
/// `spec.nodeName` is set, and no field manager is recorded for it.
pub fn bind(shared: &Shared, key: &ObjectKey, uid: &str) {
    let mut store = shared.store();
    let Some(pod) = store.get(key) else {
        return;
    };
    if objects::meta_str(&pod, "uid") != Some(uid) || pod.pointer("/spec/nodeName").is_some() {
        return;
    }
    let mut bound = pod.as_ref().clone();
    bound["spec"]["nodeName"] = NODE_NAME.into();
    store.put(key.clone(), bound);
}

/// The field manager of a kind's status writes.
pub fn status_manager(kind: &str) -> &'static str {
    if kind == "Pod" {
        "kubelet"
    } else {
        "kube-controller-manager"
    }
}
