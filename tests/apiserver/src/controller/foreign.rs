//! Other field managers: what kube-controller-manager writes, besides status,
//! on objects a client applied, so their managedFields carry several
//! managers as on a real cluster. None of it conflicts with the applier: the
//! fields are ones it does not set. Off unless the mode is on.
//!
//! - a Deployment gets `deployment.kubernetes.io/revision`, counting its pod
//!   templates from 1;
//! - a bound PersistentVolumeClaim gets `spec.volumeName` and the
//!   `pv.kubernetes.io/bind-completed` and `bound-by-controller` annotations.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

use super::writes;
use super::{Phase, status};
use crate::server::Shared;
use crate::store::ObjectKey;

const REVISION: &str = "deployment.kubernetes.io/revision";

/// Whether the mode is on, and the Deployment revisions counted so far.
#[derive(Debug, Default)]
pub struct ForeignManagers {
    enabled: AtomicBool,
    /// By Deployment UID: its revision and the template it was counted for.
    revisions: Mutex<HashMap<String, (u64, String)>>,
}

impl ForeignManagers {
    /// On or off.
    pub fn new(enabled: bool) -> Self {
        ForeignManagers {
            enabled: AtomicBool::new(enabled),
            revisions: Mutex::default(),
        }
    }

    /// Whether the mode is on.
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Turn the mode on or off.
    pub fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Relaxed);
    }

    /// The revision of a Deployment's current template: the last one if the
    /// template is the same, else the next.
    fn revision(&self, uid: &str, template: String) -> u64 {
        let mut revisions = self
            .revisions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = revisions
            .entry(uid.to_string())
            .or_insert((0, String::new()));
        if entry.1 != template {
            *entry = (entry.0 + 1, template);
        }
        entry.0
    }
}

/// Before the controller writes `phase` of an object's status: what
/// kube-controller-manager writes on the object itself, when the mode is on.
pub fn before_status(shared: &Shared, key: &ObjectKey, uid: &str, kind: &str, phase: Phase) {
    if !shared.foreign_managers.enabled() {
        return;
    }
    let target = writes::Target {
        key,
        uid,
        manager: "kube-controller-manager",
        status: false,
    };
    match (kind, phase) {
        ("Deployment", Phase::Progressing) => {
            writes::update(shared, &target, |_, deployment, _| {
                let template = status::revision_name(deployment);
                let revision = shared.foreign_managers.revision(uid, template);
                annotate(deployment, &[(REVISION, &revision.to_string())]);
                true
            });
        }
        ("PersistentVolumeClaim", Phase::Ready) => {
            writes::update(shared, &target, |_, claim, _| {
                claim["spec"]["volumeName"] = json!(format!("pvc-{uid}"));
                annotate(
                    claim,
                    &[
                        ("pv.kubernetes.io/bind-completed", "yes"),
                        ("pv.kubernetes.io/bound-by-controller", "yes"),
                    ],
                );
                true
            });
        }
        _ => {}
    }
}

fn annotate(object: &mut Value, annotations: &[(&str, &str)]) {
    let metadata = crate::objects::metadata_mut(object);
    let map = metadata.entry("annotations").or_insert_with(|| json!({}));
    for (key, value) in annotations {
        map[*key] = json!(value);
    }
}
