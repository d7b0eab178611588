//! A simulated controller manager: it writes workload status the way the
//! real controllers do, after a configurable delay, so clients that wait
//! for readiness can be tested against success, failure and timeouts.
//!
//! For each new generation of a Deployment, StatefulSet, DaemonSet or
//! ReplicaSet (and each new Job, PersistentVolumeClaim and Pod) it first
//! writes a "progressing" status, then, after the delay its [`Readiness`]
//! says, the ready (or failed) status. Status writes go through the store,
//! so watches see them as `MODIFIED` events. Every write waits for the
//! [`Pace`]: the controllers' lag after the change, and while paused.

pub mod establishing;
mod foreign;
mod jobs;
mod pace;
mod runs;
mod status;
mod writes;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalogue::ResourceType;
use crate::objects;
use crate::server::Shared;
use crate::store::{EventType, ObjectKey};
use crate::time;
pub use foreign::ForeignManagers;
use jobs::Owned;
pub use pace::Pace;
pub use runs::{Outcome, Run, RunRule, Runs, When};
pub use status::Phase;

/// The annotation that sets readiness for one object: `never`, `fail`,
/// a delay such as `2s` or `150ms`, or `fail:<delay>`.
pub const READINESS_ANNOTATION: &str = "apiserver.rchart.test/readiness";

/// Kinds the simulated controller manages.
const CONTROLLED_KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "PersistentVolumeClaim",
    "Pod",
];

/// When a workload becomes ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// Ready this many milliseconds after the change is observed.
    ReadyAfterMs(u64),
    /// Never ready: the status stays "progressing" with a condition saying so.
    Never,
    /// Fails this many milliseconds after the change is observed
    /// (Deployment `ProgressDeadlineExceeded`, Job `Failed`, Pod `Failed`).
    FailAfterMs(u64),
}

impl Readiness {
    /// Ready after `delay`.
    pub fn after(delay: Duration) -> Self {
        Readiness::ReadyAfterMs(time::millis(delay))
    }

    /// Failed after `delay`.
    pub fn failing_after(delay: Duration) -> Self {
        Readiness::FailAfterMs(time::millis(delay))
    }

    /// Parse the annotation form: `never`, `fail`, `fail:<delay>` or `<delay>`.
    pub fn parse(text: &str) -> Option<Readiness> {
        let text = text.trim();
        match text {
            "never" => Some(Readiness::Never),
            "fail" => Some(Readiness::FailAfterMs(0)),
            "0" => Some(Readiness::ReadyAfterMs(0)),
            _ => match text.strip_prefix("fail:") {
                Some(delay) => humantime::parse_duration(delay.trim())
                    .ok()
                    .map(Readiness::failing_after),
                None => humantime::parse_duration(text).ok().map(Readiness::after),
            },
        }
    }
}

/// Readiness for the objects a rule selects; later rules win over earlier ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadinessRule {
    /// Kind, plural or short name (`Deployment`, `deploy`); every controlled kind when absent.
    #[serde(default)]
    pub resource: Option<String>,
    /// Namespace; any when absent.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Object name pattern where `*` matches any run of characters; any when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// What happens to matching objects.
    pub readiness: Readiness,
}

impl ReadinessRule {
    /// A rule for every object of one kind.
    pub fn kind(resource: &str, readiness: Readiness) -> Self {
        ReadinessRule {
            resource: Some(resource.to_string()),
            namespace: None,
            name: None,
            readiness,
        }
    }

    /// A rule for objects of one kind whose names match `pattern` (`*` wildcards).
    pub fn named(resource: &str, pattern: &str, readiness: Readiness) -> Self {
        ReadinessRule {
            name: Some(pattern.to_string()),
            ..ReadinessRule::kind(resource, readiness)
        }
    }
}

impl Selecting for ReadinessRule {
    fn filters(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        (
            self.resource.as_deref(),
            self.namespace.as_deref(),
            self.name.as_deref(),
        )
    }
}

/// A rule that selects objects by resource type, namespace and name
/// pattern, each matching anything when absent.
trait Selecting {
    /// `(resource, namespace, name pattern)`.
    fn filters(&self) -> (Option<&str>, Option<&str>, Option<&str>);

    /// Whether the rule selects the object `name` in `namespace`.
    fn selects(&self, resource: &ResourceType, namespace: &str, name: &str) -> bool {
        let (wanted_resource, wanted_namespace, pattern) = self.filters();
        wanted_resource.is_none_or(|wanted| resource.answers_to(wanted))
            && wanted_namespace.is_none_or(|ns| ns == namespace)
            && pattern.is_none_or(|pattern| glob_matches(pattern, name))
    }
}

/// The controller's configuration: a default plus rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerSettings {
    /// Readiness when no rule or annotation says otherwise.
    pub default: Readiness,
    /// Rules, checked last to first.
    pub rules: Vec<ReadinessRule>,
    /// How Jobs and run-to-completion Pods end, checked last to first; when
    /// none applies, their readiness decides (see [`Run`]).
    #[serde(default)]
    pub runs: Vec<RunRule>,
}

impl Default for ControllerSettings {
    fn default() -> Self {
        ControllerSettings {
            default: Readiness::ReadyAfterMs(0),
            rules: Vec::new(),
            runs: Vec::new(),
        }
    }
}

impl ControllerSettings {
    /// How a Job or a run-to-completion Pod ends: the last run rule that
    /// selects it, else what its readiness stands for.
    fn run_for(&self, resource: &ResourceType, object: &Value) -> Run {
        let namespace = objects::meta_str(object, "namespace").unwrap_or_default();
        let name = objects::meta_str(object, "name").unwrap_or_default();
        self.runs
            .iter()
            .rev()
            .find(|rule| rule.selects(resource, namespace, name))
            .map(|rule| rule.run.clone())
            .unwrap_or_else(|| Run::from_readiness(self.readiness_for(resource, object)))
    }

    fn readiness_for(&self, resource: &ResourceType, object: &Value) -> Readiness {
        let annotation = object
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(READINESS_ANNOTATION))
            .and_then(Value::as_str)
            .and_then(Readiness::parse);
        let namespace = objects::meta_str(object, "namespace").unwrap_or_default();
        let name = objects::meta_str(object, "name").unwrap_or_default();
        annotation
            .or_else(|| {
                self.rules
                    .iter()
                    .rev()
                    .find(|r| r.selects(resource, namespace, name))
                    .map(|r| r.readiness)
            })
            .unwrap_or(self.default)
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob_matches(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((prefix, rest)) => {
            let Some(remaining) = text.strip_prefix(prefix) else {
                return false;
            };
            (0..=remaining.len())
                .filter(|i| remaining.is_char_boundary(*i))
                .any(|i| glob_matches(rest, &remaining[i..]))
        }
    }
}

/// A workload rollout the controller decided on for one observed change.
struct Rollout {
    key: ObjectKey,
    kind: String,
    uid: String,
    generation: Option<i64>,
    readiness: Readiness,
}

/// What the controller does about one observed change.
enum Work {
    /// Write a workload's status as it rolls out.
    Rollout(Rollout),
    /// Run a new Job.
    Job(Owned, Run),
    /// Run a new bare Pod to completion.
    Pod(Owned, Run),
}

/// Start the controller loop on the current runtime.
pub fn spawn(shared: Arc<Shared>) {
    // Subscribed before the task first runs, so a change made right after the server
    // starts is seen however late the task is scheduled.
    let (mut changes, mut last_seen) = {
        let store = shared.store();
        (store.subscribe(), store.revision())
    };
    tokio::spawn(async move {
        // Work already started, by object UID and (for workloads) generation.
        let mut handled: HashSet<(String, Option<i64>)> = HashSet::new();
        loop {
            for work in observe(&shared, &mut last_seen, &mut handled) {
                match work {
                    Work::Rollout(rollout) => start_rollout(&shared, rollout),
                    Work::Job(job, run) => jobs::run_job(shared.clone(), job, run),
                    Work::Pod(pod, run) => jobs::run_pod(shared.clone(), pod, run),
                }
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    });
}

/// Find objects with changes the controller has not handled yet.
fn observe(
    shared: &Arc<Shared>,
    last_seen: &mut u64,
    handled: &mut HashSet<(String, Option<i64>)>,
) -> Vec<Work> {
    let store = shared.store();
    let settings = shared.controller_settings();
    let mut work = Vec::new();
    for event in store.events_after(*last_seen) {
        if event.kind == EventType::Deleted {
            continue;
        }
        let Some(resource) = store
            .catalogue
            .types()
            .find(|t| t.group == event.key.group && t.plural == event.key.resource && !t.custom)
        else {
            continue;
        };
        if !CONTROLLED_KINDS.contains(&resource.kind.as_str()) {
            continue;
        }
        let Some(current) = store.get(&event.key) else {
            continue;
        };
        let object = current.as_ref();
        if object.pointer("/metadata/deletionTimestamp").is_some()
            || !needs_rollout(&resource.kind, object)
            || (resource.kind == "Pod" && jobs::owned_by_job(object))
        {
            continue;
        }
        let uid = objects::meta_str(object, "uid")
            .unwrap_or_default()
            .to_string();
        // Workload controllers act per generation; the others once per object.
        let generation = needs_generation(&resource.kind)
            .then(|| {
                object
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
            })
            .flatten();
        if !handled.insert((uid.clone(), generation)) {
            continue;
        }
        let owned = Owned {
            key: event.key.clone(),
            uid: uid.clone(),
        };
        work.push(match resource.kind.as_str() {
            "Job" => Work::Job(owned, settings.run_for(resource, object)),
            "Pod" if runs_to_completion(object) => {
                Work::Pod(owned, settings.run_for(resource, object))
            }
            _ => Work::Rollout(Rollout {
                key: event.key.clone(),
                kind: resource.kind.clone(),
                uid,
                generation,
                readiness: settings.readiness_for(resource, object),
            }),
        });
    }
    *last_seen = store.revision();
    work
}

/// A Pod whose containers exit for good: `restartPolicy` `Never` or `OnFailure`.
fn runs_to_completion(pod: &Value) -> bool {
    pod.pointer("/spec/restartPolicy")
        .and_then(Value::as_str)
        .is_some_and(|policy| policy != "Always")
}

fn needs_generation(kind: &str) -> bool {
    matches!(
        kind,
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet"
    )
}

/// Whether the object's status does not yet reflect its spec.
fn needs_rollout(kind: &str, object: &Value) -> bool {
    match kind {
        "Job" => object.pointer("/status/startTime").is_none(),
        "PersistentVolumeClaim" => {
            object.pointer("/status/phase").and_then(Value::as_str) != Some("Bound")
        }
        "Pod" => object.pointer("/status/startTime").is_none(),
        _ => {
            let generation = object
                .pointer("/metadata/generation")
                .and_then(Value::as_i64);
            object
                .pointer("/status/observedGeneration")
                .and_then(Value::as_i64)
                != generation
        }
    }
}

/// Write the progressing status once the controllers' lag has passed, then
/// the final one when the readiness delay has too.
fn start_rollout(shared: &Arc<Shared>, rollout: Rollout) {
    let shared = shared.clone();
    tokio::spawn(async move {
        shared.pace.after_change().await;
        write_phase(&shared, &rollout, Phase::Progressing);
        let (phase, delay) = match rollout.readiness {
            Readiness::Never => return,
            Readiness::ReadyAfterMs(ms) => (Phase::Ready, ms),
            Readiness::FailAfterMs(ms) => (Phase::Failed, ms),
        };
        shared.pace.after(Duration::from_millis(delay)).await;
        write_phase(&shared, &rollout, phase);
    });
}

/// Write the status for `phase`, unless the object is gone or has moved on
/// to another generation.
fn write_phase(shared: &Arc<Shared>, rollout: &Rollout, phase: Phase) {
    if rollout.kind == "Pod" && phase == Phase::Progressing {
        writes::bind(shared, &rollout.key, &rollout.uid);
    }
    foreign::before_status(shared, &rollout.key, &rollout.uid, &rollout.kind, phase);
    let target = writes::Target {
        key: &rollout.key,
        uid: &rollout.uid,
        manager: writes::status_manager(&rollout.kind),
        status: true,
    };
    writes::update(shared, &target, |resource, object, now| {
        let generation = object
            .pointer("/metadata/generation")
            .and_then(Value::as_i64);
        if rollout.generation.is_some_and(|g| Some(g) != generation) {
            return false;
        }
        let Some(status) = status::status_for(&resource.kind, object, phase, now) else {
            return false;
        };
        object["status"] = status;
        true
    });
}

/// Shared, changeable controller settings.
#[derive(Debug, Default)]
pub struct SettingsCell(Mutex<ControllerSettings>);

impl SettingsCell {
    /// A copy of the current settings.
    pub fn get(&self) -> ControllerSettings {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Change the settings.
    pub fn update(&self, change: impl FnOnce(&mut ControllerSettings)) {
        change(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_annotation_values() {
        assert_eq!(Readiness::parse("never"), Some(Readiness::Never));
        assert_eq!(Readiness::parse("2s"), Some(Readiness::ReadyAfterMs(2000)));
        assert_eq!(
            Readiness::parse("150ms"),
            Some(Readiness::ReadyAfterMs(150))
        );
        assert_eq!(Readiness::parse("fail"), Some(Readiness::FailAfterMs(0)));
        assert_eq!(
            Readiness::parse("fail:1s"),
            Some(Readiness::FailAfterMs(1000))
        );
        assert_eq!(Readiness::parse("soon"), None);
    }

    #[test]
    fn glob_patterns() {
        assert!(glob_matches("web-*", "web-1"));
        assert!(glob_matches("*-db", "main-db"));
        assert!(glob_matches("*", ""));
        assert!(!glob_matches("web-*", "api-1"));
        assert!(glob_matches("a*b*c", "a-b-c"));
    }

    #[test]
    fn later_rules_and_annotations_win() {
        let catalogue = crate::catalogue::Catalogue::builtin();
        let deployments = catalogue.find("apps", "v1", "deployments").unwrap();
        let settings = ControllerSettings {
            default: Readiness::ReadyAfterMs(0),
            runs: Vec::new(),
            rules: vec![
                ReadinessRule::kind("Deployment", Readiness::Never),
                ReadinessRule::named("deploy", "web-*", Readiness::ReadyAfterMs(5)),
            ],
        };
        let object =
            |name: &str| serde_json::json!({"metadata": {"name": name, "namespace": "default"}});
        assert_eq!(
            settings.readiness_for(&deployments, &object("api")),
            Readiness::Never
        );
        assert_eq!(
            settings.readiness_for(&deployments, &object("web-1")),
            Readiness::ReadyAfterMs(5)
        );
        let annotated = serde_json::json!({"metadata": {"name": "api", "annotations": {READINESS_ANNOTATION: "fail"}}});
        assert_eq!(
            settings.readiness_for(&deployments, &annotated),
            Readiness::FailAfterMs(0)
        );
    }
}
