//! The apiextensions controllers' part: with a delayed establishment,
//! establish each new CustomResourceDefinition that much after it appears.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::api::{self, CrdEstablishment};
use crate::objects;
use crate::server::Shared;
use crate::store::{EventType, ObjectKey};

/// Start the loop on the current runtime.
pub fn spawn(shared: Arc<Shared>) {
    // Subscribed before the task first runs, so a change made right after the server
    // starts is seen however late the task is scheduled.
    let (mut changes, mut last_seen) = {
        let store = shared.store();
        (store.subscribe(), store.revision())
    };
    tokio::spawn(async move {
        // CRDs already scheduled, by UID.
        let mut scheduled: HashSet<String> = HashSet::new();
        loop {
            for (name, uid, delay) in newly_waiting(&shared, &mut last_seen, &mut scheduled) {
                let shared = shared.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    establish_same(&shared, &name, &uid);
                });
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    });
}

/// Establish the CRD `name` unless it was replaced by another since.
fn establish_same(shared: &Shared, name: &str, uid: &str) {
    let mut store = shared.store();
    let same = store
        .catalogue
        .resolve("customresourcedefinitions")
        .and_then(|crds| store.get(&ObjectKey::new(&crds, "", name)))
        .is_some_and(|crd| objects::meta_str(&crd, "uid") == Some(uid));
    if same {
        api::establish(&mut store, name);
    }
}

/// CRDs that appeared or changed since `last_seen`, are not established and
/// are due after a delay: `(name, uid, delay)`.
fn newly_waiting(
    shared: &Shared,
    last_seen: &mut u64,
    scheduled: &mut HashSet<String>,
) -> Vec<(String, String, Duration)> {
    let store = shared.store();
    let mut due = Vec::new();
    if let CrdEstablishment::AfterMs(ms) = store.crd_establishment {
        for event in store.events_after(*last_seen) {
            let crd = &event.object;
            if event.kind == EventType::Deleted
                || event.key.group != "apiextensions.k8s.io"
                || event.key.resource != "customresourcedefinitions"
                || api::is_established(crd)
            {
                continue;
            }
            let uid = objects::meta_str(crd, "uid")
                .unwrap_or_default()
                .to_string();
            if scheduled.insert(uid.clone()) {
                due.push((event.key.name.clone(), uid, Duration::from_millis(ms)));
            }
        }
    }
    *last_seen = store.revision();
    due
}
