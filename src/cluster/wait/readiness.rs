//! When a workload counts as ready, judged from its status the way `kubectl rollout
//! status` judges it, and in words that say what is still missing.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerStatus, PersistentVolumeClaim, Pod};

/// Where one resource stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadyState {
    Ready,
    /// Not ready yet; the text says what is missing, e.g. `1 of 3 replicas available`.
    Waiting(String),
    /// Will not become ready without a change: a failed Job, an exceeded progress deadline.
    Failed(String),
}

impl ReadyState {
    /// Where every resource starts: nothing heard from the cluster about it yet.
    pub fn unobserved() -> Self {
        ReadyState::Waiting("not observed yet".to_string())
    }

    pub fn is_ready(&self) -> bool {
        matches!(self, ReadyState::Ready)
    }
}

fn waiting(reason: impl Into<String>) -> ReadyState {
    ReadyState::Waiting(reason.into())
}

/// A status written for an older spec says nothing about the current one.
fn unobserved(generation: Option<i64>, observed: Option<i64>) -> Option<ReadyState> {
    match (generation, observed) {
        (_, None) => Some(waiting("no status from the controller yet")),
        (Some(generation), Some(observed)) if observed < generation => Some(waiting(format!(
            "the controller has not seen the latest change yet (generation {generation}, observed {observed})"
        ))),
        _ => None,
    }
}

/// `1 of 3 replicas ready`, or `None` when `have` reaches `want`.
fn shortfall(have: Option<i32>, want: i32, what: &str) -> Option<String> {
    let have = have.unwrap_or(0);
    (have < want).then(|| format!("{have} of {want} {what}"))
}

/// ` (Progressing: ReplicaSet "web-x" is progressing)`: the condition that best explains
/// a wait, without the trailing period Kubernetes messages carry.
fn hint(kind: &str, message: Option<&str>) -> String {
    match message
        .map(|m| m.trim().trim_end_matches('.'))
        .filter(|m| !m.is_empty())
    {
        Some(message) => format!(" ({kind}: {message})"),
        None => String::new(),
    }
}

pub fn deployment(deployment: &Deployment) -> ReadyState {
    let Some(status) = &deployment.status else {
        return waiting("no status from the controller yet");
    };
    if let Some(wait) = unobserved(deployment.metadata.generation, status.observed_generation) {
        return wait;
    }
    let conditions = status.conditions.as_deref().unwrap_or_default();
    let condition = |kind: &str| conditions.iter().find(|c| c.type_ == kind);
    if let Some(deadline) =
        condition("Progressing").filter(|c| c.reason.as_deref() == Some("ProgressDeadlineExceeded"))
    {
        let message = deadline
            .message
            .as_deref()
            .unwrap_or("the rollout made no progress");
        return ReadyState::Failed(format!(
            "progress deadline exceeded: {}",
            message.trim_end_matches('.')
        ));
    }
    let wanted = deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.replicas)
        .unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let old = status.replicas.unwrap_or(0) - updated;
    let missing = shortfall(Some(updated), wanted, "replicas updated")
        .or_else(|| match old {
            ..=0 => None,
            1 => Some("1 old replica pending termination".to_string()),
            _ => Some(format!("{old} old replicas pending termination")),
        })
        .or_else(|| shortfall(status.available_replicas, wanted, "replicas available"))
        .or_else(|| shortfall(status.ready_replicas, wanted, "replicas ready"));
    let Some(missing) = missing else {
        return ReadyState::Ready;
    };
    // A failure to create pods (quota, admission) explains more than "progressing".
    let explanation = condition("ReplicaFailure")
        .filter(|c| c.status == "True")
        .or_else(|| condition("Progressing"))
        .or_else(|| condition("Available").filter(|c| c.status == "False"));
    let hint = explanation
        .map(|c| hint(&c.type_, c.message.as_deref()))
        .unwrap_or_default();
    waiting(format!("{missing}{hint}"))
}

pub fn stateful_set(stateful_set: &StatefulSet) -> ReadyState {
    let Some(status) = &stateful_set.status else {
        return waiting("no status from the controller yet");
    };
    if let Some(wait) = unobserved(stateful_set.metadata.generation, status.observed_generation) {
        return wait;
    }
    let spec = stateful_set.spec.as_ref();
    let wanted = spec.and_then(|spec| spec.replicas).unwrap_or(1);
    if let Some(missing) = shortfall(status.ready_replicas, wanted, "replicas ready") {
        return waiting(missing);
    }
    let strategy = spec.and_then(|spec| spec.update_strategy.as_ref());
    // With OnDelete, pods change only when someone deletes them: nothing to wait for.
    if strategy
        .and_then(|s| s.type_.as_deref())
        .is_some_and(|t| t == "OnDelete")
    {
        return ReadyState::Ready;
    }
    let partition = strategy
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(|r| r.partition)
        .unwrap_or(0);
    if partition > 0 {
        // A partitioned rollout only updates the ordinals at or above the partition.
        let expected = (wanted - partition).max(0);
        return match shortfall(
            status.updated_replicas,
            expected,
            "replicas at or above the partition updated",
        ) {
            Some(missing) => waiting(missing),
            None => ReadyState::Ready,
        };
    }
    if let Some(missing) = shortfall(status.updated_replicas, wanted, "replicas updated") {
        return waiting(missing);
    }
    if status.current_revision != status.update_revision {
        let target = status
            .update_revision
            .as_deref()
            .unwrap_or("the new revision");
        return waiting(format!("rolling update to {target} in progress"));
    }
    ReadyState::Ready
}

pub fn daemon_set(daemon_set: &DaemonSet) -> ReadyState {
    let Some(status) = &daemon_set.status else {
        return waiting("no status from the controller yet");
    };
    if let Some(wait) = unobserved(daemon_set.metadata.generation, status.observed_generation) {
        return wait;
    }
    let desired = status.desired_number_scheduled;
    let on_delete = daemon_set
        .spec
        .as_ref()
        .and_then(|spec| spec.update_strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        .is_some_and(|t| t == "OnDelete");
    let updated = if on_delete {
        None
    } else {
        shortfall(status.updated_number_scheduled, desired, "pods updated")
    };
    match updated
        .or_else(|| shortfall(status.number_available, desired, "pods available"))
        .or_else(|| shortfall(Some(status.number_ready), desired, "pods ready"))
    {
        Some(missing) => waiting(missing),
        None => ReadyState::Ready,
    }
}

pub fn job(job: &Job) -> ReadyState {
    let status = job.status.as_ref();
    let conditions = status
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let holds = |kind: &str| {
        conditions
            .iter()
            .find(|c| c.type_ == kind && c.status == "True")
    };
    // Since Kubernetes 1.31 a failing Job is `FailureTarget` while its Pods terminate, and
    // `Failed` only after: the outcome is known from the first.
    if let Some(failed) = holds("Failed").or_else(|| holds("FailureTarget")) {
        let message = failed
            .message
            .as_deref()
            .unwrap_or("the Job failed")
            .trim_end_matches('.');
        return ReadyState::Failed(match failed.reason.as_deref() {
            Some(reason) => format!("{message} ({reason})"),
            None => message.to_string(),
        });
    }
    if holds("Complete").is_some() {
        return ReadyState::Ready;
    }
    let spec = job.spec.as_ref();
    if spec.and_then(|spec| spec.suspend).unwrap_or(false) {
        return waiting("suspended");
    }
    let count = |field: fn(&k8s_openapi::api::batch::v1::JobStatus) -> Option<i32>| {
        status.and_then(field).unwrap_or(0)
    };
    let succeeded = count(|s| s.succeeded);
    let mut progress = match spec.and_then(|spec| spec.completions) {
        Some(completions) => format!("{succeeded} of {completions} completions succeeded"),
        None => format!("{succeeded} pods succeeded"),
    };
    for (number, what) in [
        (count(|s| s.active), "active"),
        (count(|s| s.failed), "failed"),
    ] {
        if number > 0 {
            progress.push_str(&format!(", {number} {what}"));
        }
    }
    waiting(progress)
}

/// A Pod that runs to completion: ready once it succeeded, failed once it failed, with
/// the container that failed and how.
pub fn pod_run(pod: &Pod) -> ReadyState {
    let status = pod.status.as_ref();
    let containers = status
        .into_iter()
        .flat_map(|s| {
            let init = s.init_container_statuses.as_deref().unwrap_or_default();
            let main = s.container_statuses.as_deref().unwrap_or_default();
            init.iter().chain(main)
        })
        .collect::<Vec<_>>();
    match status.and_then(|s| s.phase.as_deref()) {
        Some("Succeeded") => ReadyState::Ready,
        Some("Failed") => {
            let why = containers
                .iter()
                .find_map(|c| failed_container(c))
                .or_else(|| {
                    let status = status?;
                    let reason = status.reason.as_deref().or(status.message.as_deref())?;
                    Some(reason.trim_end_matches('.').to_string())
                })
                .unwrap_or_else(|| "the Pod failed".to_string());
            ReadyState::Failed(why)
        }
        phase => {
            let phase = phase.unwrap_or("Pending");
            let waiting_for = containers.iter().find_map(|c| {
                let waiting = c.state.as_ref()?.waiting.as_ref()?;
                let reason = waiting.reason.as_deref()?;
                Some(format!(" (container \"{}\": {reason})", c.name))
            });
            waiting(format!("phase {phase}{}", waiting_for.unwrap_or_default()))
        }
    }
}

/// `container "migrate" exited with code 1 (Error)`, for a container that ended badly.
fn failed_container(container: &ContainerStatus) -> Option<String> {
    let terminated = container.state.as_ref()?.terminated.as_ref()?;
    if terminated.exit_code == 0 {
        return None;
    }
    let reason = terminated
        .reason
        .as_deref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    Some(format!(
        "container \"{}\" exited with code {}{reason}",
        container.name, terminated.exit_code
    ))
}

pub fn persistent_volume_claim(claim: &PersistentVolumeClaim) -> ReadyState {
    match claim.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Bound") => ReadyState::Ready,
        Some("Lost") => ReadyState::Failed("lost its PersistentVolume (phase Lost)".to_string()),
        Some(phase) => waiting(format!("phase {phase}, not Bound")),
        None => waiting("no phase yet, not Bound"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn parse<K: serde::de::DeserializeOwned>(value: Value) -> K {
        serde_json::from_value(value).expect("a valid object")
    }

    fn deployment_with(spec_replicas: i32, status: Value) -> Deployment {
        parse(json!({
            "metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": spec_replicas, "selector": {}, "template": {}},
            "status": status,
        }))
    }

    #[test]
    fn a_deployment_is_ready_when_every_replica_is_updated_and_available() {
        let ready = deployment_with(
            3,
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3}),
        );
        assert_eq!(deployment(&ready), ReadyState::Ready);
    }

    #[test]
    fn a_deployment_explains_what_is_missing_with_its_progressing_condition() {
        let rolling = deployment_with(
            3,
            json!({
                "observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 1, "availableReplicas": 1,
                "conditions": [
                    {"type": "Available", "status": "False", "message": "Deployment does not have minimum availability."},
                    {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "message": "ReplicaSet \"web-x\" is progressing."},
                ],
            }),
        );
        assert_eq!(
            deployment(&rolling),
            ReadyState::Waiting(
                "1 of 3 replicas available (Progressing: ReplicaSet \"web-x\" is progressing)"
                    .into()
            )
        );
    }

    #[test]
    fn a_deployment_status_for_an_older_generation_does_not_count() {
        let stale = deployment_with(
            1,
            json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}),
        );
        assert_eq!(
            deployment(&stale),
            ReadyState::Waiting(
                "the controller has not seen the latest change yet (generation 2, observed 1)"
                    .into()
            )
        );
    }

    #[test]
    fn a_deployment_waits_for_old_replicas_and_reports_replica_failures() {
        let surging = deployment_with(
            2,
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "readyReplicas": 3, "availableReplicas": 3}),
        );
        assert_eq!(
            deployment(&surging),
            ReadyState::Waiting("1 old replica pending termination".into())
        );
        let quota = deployment_with(
            2,
            json!({
                "observedGeneration": 2, "replicas": 0, "updatedReplicas": 0,
                "conditions": [
                    {"type": "Progressing", "status": "True", "message": "ReplicaSet \"web-x\" is progressing."},
                    {"type": "ReplicaFailure", "status": "True", "message": "pods \"web-x-1\" is forbidden: exceeded quota"},
                ],
            }),
        );
        assert_eq!(
            deployment(&quota),
            ReadyState::Waiting(
                "0 of 2 replicas updated (ReplicaFailure: pods \"web-x-1\" is forbidden: exceeded quota)".into()
            )
        );
    }

    #[test]
    fn an_exceeded_progress_deadline_fails_the_deployment() {
        let stuck = deployment_with(
            1,
            json!({
                "observedGeneration": 2, "replicas": 1, "updatedReplicas": 1,
                "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                "message": "ReplicaSet \"web-x\" has timed out progressing."}],
            }),
        );
        assert_eq!(
            deployment(&stuck),
            ReadyState::Failed(
                "progress deadline exceeded: ReplicaSet \"web-x\" has timed out progressing".into()
            )
        );
    }

    #[test]
    fn a_deployment_scaled_to_zero_is_ready_and_replicas_default_to_one() {
        let zero = deployment_with(0, json!({"observedGeneration": 2}));
        assert_eq!(deployment(&zero), ReadyState::Ready);
        let defaulted: Deployment = parse(json!({
            "metadata": {"name": "web", "generation": 1},
            "status": {"observedGeneration": 1},
        }));
        assert_eq!(
            deployment(&defaulted),
            ReadyState::Waiting("0 of 1 replicas updated".into())
        );
    }

    fn stateful_set_with(spec: Value, status: Value) -> StatefulSet {
        parse(json!({"metadata": {"name": "db", "generation": 1}, "spec": spec, "status": status}))
    }

    #[test]
    fn a_stateful_set_needs_ready_updated_replicas_on_the_update_revision() {
        let spec = json!({"replicas": 2, "selector": {}, "template": {}, "serviceName": "db"});
        let progressing = stateful_set_with(
            spec.clone(),
            json!({"observedGeneration": 1, "replicas": 2, "readyReplicas": 0, "updatedReplicas": 0,
                   "currentRevision": "db-1", "updateRevision": "db-2"}),
        );
        assert_eq!(
            stateful_set(&progressing),
            ReadyState::Waiting("0 of 2 replicas ready".into())
        );
        let revision_behind = stateful_set_with(
            spec.clone(),
            json!({"observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "updatedReplicas": 2,
                   "currentRevision": "db-1", "updateRevision": "db-2"}),
        );
        assert_eq!(
            stateful_set(&revision_behind),
            ReadyState::Waiting("rolling update to db-2 in progress".into())
        );
        let done = stateful_set_with(
            spec,
            json!({"observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "updatedReplicas": 2,
                   "currentRevision": "db-2", "updateRevision": "db-2"}),
        );
        assert_eq!(stateful_set(&done), ReadyState::Ready);
    }

    #[test]
    fn a_partitioned_stateful_set_only_waits_for_ordinals_above_the_partition() {
        let partitioned = stateful_set_with(
            json!({"replicas": 3, "selector": {}, "template": {}, "serviceName": "db",
                   "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}),
            json!({"observedGeneration": 1, "replicas": 3, "readyReplicas": 3, "updatedReplicas": 1,
                   "currentRevision": "db-1", "updateRevision": "db-2"}),
        );
        assert_eq!(stateful_set(&partitioned), ReadyState::Ready);
    }

    #[test]
    fn a_daemon_set_needs_every_scheduled_pod_updated_and_available() {
        let daemon = |status: Value| -> DaemonSet {
            parse(
                json!({"metadata": {"name": "agent", "generation": 1}, "spec": {"selector": {}, "template": {}}, "status": status}),
            )
        };
        let progressing = daemon(
            json!({"observedGeneration": 1, "desiredNumberScheduled": 2, "currentNumberScheduled": 2,
                                        "numberMisscheduled": 0, "numberReady": 1, "updatedNumberScheduled": 2, "numberAvailable": 1}),
        );
        assert_eq!(
            daemon_set(&progressing),
            ReadyState::Waiting("1 of 2 pods available".into())
        );
        let ready = daemon(
            json!({"observedGeneration": 1, "desiredNumberScheduled": 2, "currentNumberScheduled": 2,
                                  "numberMisscheduled": 0, "numberReady": 2, "updatedNumberScheduled": 2, "numberAvailable": 2}),
        );
        assert_eq!(daemon_set(&ready), ReadyState::Ready);
    }

    #[test]
    fn a_job_is_ready_when_complete_and_failed_with_its_message() {
        let job_with = |status: Value| -> Job {
            parse(
                json!({"metadata": {"name": "migrate"}, "spec": {"completions": 1, "template": {}}, "status": status}),
            )
        };
        assert_eq!(
            job(&job_with(json!({"active": 1}))),
            ReadyState::Waiting("0 of 1 completions succeeded, 1 active".into())
        );
        assert_eq!(
            job(&job_with(
                json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]})
            )),
            ReadyState::Ready
        );
        assert_eq!(
            job(&job_with(
                json!({"failed": 7, "conditions": [{"type": "Failed", "status": "True",
                "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]})
            )),
            ReadyState::Failed(
                "Job has reached the specified backoff limit (BackoffLimitExceeded)".into()
            )
        );
    }

    #[test]
    fn a_failure_target_is_a_failure_already() {
        let failing: Job = parse(
            json!({"metadata": {"name": "migrate"}, "spec": {"template": {}},
            "status": {"failed": 1, "conditions": [{"type": "FailureTarget", "status": "True",
            "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}}),
        );
        assert!(matches!(job(&failing), ReadyState::Failed(_)));
    }

    #[test]
    fn a_pod_run_ends_with_its_phase_and_says_which_container_failed() {
        let pod = |status: Value| -> Pod {
            parse(
                json!({"metadata": {"name": "check"}, "spec": {"containers": []}, "status": status}),
            )
        };
        assert_eq!(
            pod_run(&pod(
                json!({"phase": "Pending", "containerStatuses": [{"name": "check", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ContainerCreating"}}}]})
            )),
            ReadyState::Waiting("phase Pending (container \"check\": ContainerCreating)".into())
        );
        assert_eq!(
            pod_run(&pod(json!({"phase": "Running"}))),
            ReadyState::Waiting("phase Running".into())
        );
        assert_eq!(
            pod_run(&pod(json!({"phase": "Succeeded"}))),
            ReadyState::Ready
        );
        assert_eq!(
            pod_run(&pod(
                json!({"phase": "Failed", "containerStatuses": [{"name": "check", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]})
            )),
            ReadyState::Failed("container \"check\" exited with code 1 (Error)".into())
        );
        assert_eq!(
            pod_run(&pod(
                json!({"phase": "Failed", "reason": "DeadlineExceeded"})
            )),
            ReadyState::Failed("DeadlineExceeded".into())
        );
    }

    #[test]
    fn a_claim_is_ready_when_bound() {
        let claim = |phase: &str| -> PersistentVolumeClaim {
            parse(json!({"metadata": {"name": "data"}, "status": {"phase": phase}}))
        };
        assert_eq!(persistent_volume_claim(&claim("Bound")), ReadyState::Ready);
        assert_eq!(
            persistent_volume_claim(&claim("Pending")),
            ReadyState::Waiting("phase Pending, not Bound".into())
        );
    }
}
