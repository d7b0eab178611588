//! One watch per kind and namespace, whatever the number of objects: a list, then a
//! single long-lived watch, restarted by kube-runtime's watcher after timeouts,
//! dropped connections and `410 Gone` (with a relist).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use futures_util::stream::{BoxStream, StreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, ListSemantic, watcher};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;

use super::readiness::{self, ReadyState};
use crate::cluster::split_api_version;

/// The kinds whose readiness is worth waiting for; everything else is ready once applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WaitKind {
    Deployment,
    StatefulSet,
    DaemonSet,
    Job,
    PersistentVolumeClaim,
    /// A Pod that runs to completion (a hook's): only waited for until it finishes.
    Pod,
}

impl WaitKind {
    /// What `--wait` waits for: workloads to be ready.
    pub fn of(api_version: &str, kind: &str) -> Option<Self> {
        match (split_api_version(api_version).0, kind) {
            ("apps", "Deployment") => Some(WaitKind::Deployment),
            ("apps", "StatefulSet") => Some(WaitKind::StatefulSet),
            ("apps", "DaemonSet") => Some(WaitKind::DaemonSet),
            ("batch", "Job") => Some(WaitKind::Job),
            ("", "PersistentVolumeClaim") => Some(WaitKind::PersistentVolumeClaim),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WaitKind::Deployment => "Deployment",
            WaitKind::StatefulSet => "StatefulSet",
            WaitKind::DaemonSet => "DaemonSet",
            WaitKind::Job => "Job",
            WaitKind::PersistentVolumeClaim => "PersistentVolumeClaim",
            WaitKind::Pod => "Pod",
        }
    }

    /// What a hook waits for: Jobs and Pods to finish, succeeded or failed.
    pub fn run_of(api_version: &str, kind: &str) -> Option<Self> {
        match (split_api_version(api_version).0, kind) {
            ("batch", "Job") => Some(WaitKind::Job),
            ("", "Pod") => Some(WaitKind::Pod),
            _ => None,
        }
    }
}

/// The objects of one kind in one namespace, watched together.
#[derive(Debug)]
pub struct WatchSpec {
    pub kind: WaitKind,
    pub namespace: String,
    pub names: BTreeSet<String>,
    /// Labels every one of the objects carries, to narrow the watch in a busy namespace.
    pub common_labels: BTreeMap<String, String>,
}

impl WatchSpec {
    fn config(&self) -> watcher::Config {
        // A list from the API server's cache may predate the apply that started the wait,
        // and a stale status for the previous generation would look ready.
        let config = watcher::Config::default().list_semantic(ListSemantic::MostRecent);
        match (self.names.first(), self.names.len()) {
            (Some(only), 1) => config.fields(&format!("metadata.name={only}")),
            _ if !self.common_labels.is_empty() => {
                let selector: Vec<String> = self
                    .common_labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                config.labels(&selector.join(","))
            }
            _ => config,
        }
    }
}

/// One thing a watch reported, for the watch at `watch` in the list of specs. A failed
/// watch is retried by the watcher after a backoff.
pub struct Update {
    pub watch: usize,
    pub change: Result<Change, watcher::Error>,
}

pub enum Change {
    /// A full list starts; objects it does not mention are gone.
    Relisting,
    Seen {
        name: String,
        state: ReadyState,
    },
    /// The list that began with [`Change::Relisting`] is complete.
    Listed,
    Gone {
        name: String,
    },
}

/// The never-ending stream of updates for one spec.
pub fn watch(client: kube::Client, index: usize, spec: &WatchSpec) -> BoxStream<'static, Update> {
    let config = spec.config();
    let namespace = spec.namespace.as_str();
    match spec.kind {
        WaitKind::Deployment => updates(
            Api::<Deployment>::namespaced(client, namespace),
            config,
            index,
            readiness::deployment,
        ),
        WaitKind::StatefulSet => updates(
            Api::<StatefulSet>::namespaced(client, namespace),
            config,
            index,
            readiness::stateful_set,
        ),
        WaitKind::DaemonSet => updates(
            Api::<DaemonSet>::namespaced(client, namespace),
            config,
            index,
            readiness::daemon_set,
        ),
        WaitKind::Job => updates(
            Api::<Job>::namespaced(client, namespace),
            config,
            index,
            readiness::job,
        ),
        WaitKind::PersistentVolumeClaim => updates(
            Api::<PersistentVolumeClaim>::namespaced(client, namespace),
            config,
            index,
            readiness::persistent_volume_claim,
        ),
        WaitKind::Pod => updates(
            Api::<Pod>::namespaced(client, namespace),
            config,
            index,
            readiness::pod_run,
        ),
    }
}

fn updates<K>(
    api: Api<K>,
    config: watcher::Config,
    index: usize,
    assess: fn(&K) -> ReadyState,
) -> BoxStream<'static, Update>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    watcher(api, config)
        // Without it a failing watch is retried in a tight loop.
        .default_backoff()
        .map(move |event| {
            let change = event.map(|event| match event {
                Event::Init => Change::Relisting,
                Event::InitApply(object) | Event::Apply(object) => Change::Seen {
                    name: object.name_any(),
                    state: assess(&object),
                },
                Event::InitDone => Change::Listed,
                Event::Delete(object) => Change::Gone {
                    name: object.name_any(),
                },
            });
            Update {
                watch: index,
                change,
            }
        })
        .boxed()
}
