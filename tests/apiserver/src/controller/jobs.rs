//! Jobs and Pods that run to completion. The Job controller creates a Job's
//! Pod (labels `job-name`, `controller-uid` and their `batch.kubernetes.io/`
//! forms, an ownerReference to the Job); the kubelet takes each such Pod
//! through `Pending` and `Running` to the end its [`Run`] says, keeping what
//! its container printed; the Job controller then reports the outcome on the
//! Job: `SuccessCriteriaMet` then `Complete`, or `FailureTarget` then
//! `Failed` (`BackoffLimitExceeded`). A Job makes one attempt.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};

use super::runs::{PodLog, Run, RunKey, When};
use super::status::{JobStage, Outcome, PodState, job_status, pod_status};
use super::writes;
use crate::api;
use crate::objects;
use crate::server::Shared;
use crate::store::ObjectKey;

/// The labels the Job controller puts on its Pods (and the Job's template).
const JOB_LABELS: [&str; 4] = [
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
    "controller-uid",
    "job-name",
];

/// An object a controller works on: where it is stored, and which one it is.
#[derive(Debug, Clone)]
pub struct Owned {
    /// Where it is stored.
    pub key: ObjectKey,
    /// Its UID, to tell it from a later object of the same name.
    pub uid: String,
}

/// Whether a Pod belongs to a Job (the Job's run drives it).
pub fn owned_by_job(pod: &Value) -> bool {
    pod.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|owners| {
            owners
                .iter()
                .any(|owner| owner["kind"] == "Job" && owner["controller"] == true)
        })
}

/// Run a new Job: create its Pod, run it, report the outcome.
pub fn run_job(shared: Arc<Shared>, job: Owned, run: Run) {
    tokio::spawn(async move {
        shared.pace.after_change().await;
        let Some(pod) = create_pod(&shared, &job) else {
            return;
        };
        if !write_job(&shared, &job, JobStage::Active { ready: false }) {
            return;
        }
        let hold = run_key("Job", &job.key);
        let running = || {
            write_job(&shared, &job, JobStage::Active { ready: true });
        };
        let Some(outcome) = run_pod_to_end(&shared, &pod, &run, hold, running).await else {
            return;
        };
        shared.pace.after_change().await;
        if write_job(&shared, &job, JobStage::Ending(outcome)) {
            shared.pace.after_change().await;
            write_job(&shared, &job, JobStage::Ended(outcome));
        }
    });
}

/// Run a bare Pod that runs to completion (`restartPolicy` not `Always`).
pub fn run_pod(shared: Arc<Shared>, pod: Owned, run: Run) {
    tokio::spawn(async move {
        shared.pace.after_change().await;
        let hold = run_key("Pod", &pod.key);
        run_pod_to_end(&shared, &pod, &run, hold, || {}).await;
    });
}

fn run_key(kind: &str, key: &ObjectKey) -> RunKey {
    (kind.to_string(), key.namespace.clone(), key.name.clone())
}

/// Take a Pod through `Pending` and `Running` (keeping its log, then calling
/// `running`) to its end; `None` when it went away first.
async fn run_pod_to_end(
    shared: &Arc<Shared>,
    pod: &Owned,
    run: &Run,
    hold: RunKey,
    running: impl FnOnce(),
) -> Option<Outcome> {
    writes::bind(shared, &pod.key, &pod.uid);
    write_pod(shared, pod, PodState::Pending)?;
    shared.pace.after(Duration::ZERO).await;
    let started = write_pod(shared, pod, PodState::Running)?;
    shared.runs.set_log(
        &pod.uid,
        PodLog {
            container: started
                .pointer("/spec/containers/0/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            text: run.log.clone(),
            started: humantime::format_rfc3339_nanos(SystemTime::now()).to_string(),
        },
    );
    // A held run waits from before it is reported running, so a test that sees it
    // running and finishes it always finds it waiting.
    let held = (run.when == When::Held).then(|| shared.runs.hold(hold));
    running();
    match (run.when, held) {
        (When::Held, Some(held)) => {
            held.await;
            shared.pace.after(Duration::ZERO).await;
        }
        (When::AfterMs(ms), _) => shared.pace.after(Duration::from_millis(ms)).await,
        _ => shared.pace.after(Duration::ZERO).await,
    }
    write_pod(shared, pod, PodState::Ended(run.outcome))?;
    Some(run.outcome)
}

/// Write the Pod's status as the kubelet; `None` when the Pod is gone.
fn write_pod(shared: &Shared, pod: &Owned, state: PodState) -> Option<Arc<Value>> {
    writes::set_status(shared, &pod.key, &pod.uid, "kubelet", |object, now| {
        pod_status(object, state, now)
    })
}

/// Write the Job's status as the Job controller; false when the Job is gone.
fn write_job(shared: &Shared, job: &Owned, stage: JobStage) -> bool {
    writes::set_status(
        shared,
        &job.key,
        &job.uid,
        "kube-controller-manager",
        |object, now| job_status(object, stage, now),
    )
    .is_some()
}

/// Create the Job's Pod from its template, as the Job controller does.
fn create_pod(shared: &Shared, job: &Owned) -> Option<Owned> {
    let object = shared.store().get(&job.key)?;
    if objects::meta_str(&object, "uid") != Some(job.uid.as_str())
        || object.pointer("/metadata/deletionTimestamp").is_some()
    {
        return None;
    }
    let name = &job.key.name;
    let template = object
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_default();
    let mut labels = template
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(Map::new);
    for (label, value) in JOB_LABELS.into_iter().zip([&job.uid, name, &job.uid, name]) {
        labels.insert(label.to_string(), json!(value));
    }
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": format!("{name}-"),
            "namespace": job.key.namespace,
            "labels": labels,
            "annotations": template.pointer("/metadata/annotations"),
            "ownerReferences": [{
                "apiVersion": "batch/v1",
                "kind": "Job",
                "name": name,
                "uid": job.uid,
                "controller": true,
                "blockOwnerDeletion": true,
            }],
        },
        "spec": template.get("spec"),
    });
    let created = api::create_direct(shared, pod, "kube-controller-manager").ok()?;
    let pods = shared.store().catalogue.find("", "v1", "pods")?;
    Some(Owned {
        key: ObjectKey::new(
            &pods,
            &job.key.namespace,
            objects::meta_str(&created, "name").unwrap_or_default(),
        ),
        uid: objects::meta_str(&created, "uid")
            .unwrap_or_default()
            .to_string(),
    })
}
