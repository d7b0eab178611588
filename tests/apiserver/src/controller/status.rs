//! The status objects the real controllers write, for each simulated phase.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A phase of a simulated rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Just observed: work is under way, nothing ready yet.
    Progressing,
    /// Everything ready / complete / bound.
    Ready,
    /// Gave up: deadline exceeded, job failed, pod failed.
    Failed,
}

/// The status for `kind` in `phase`; `None` for kinds without a simulated controller.
pub fn status_for(kind: &str, object: &Value, phase: Phase, now: &str) -> Option<Value> {
    Some(match kind {
        "Deployment" => deployment(object, phase, now),
        "StatefulSet" => stateful_set(object, phase),
        "DaemonSet" => daemon_set(object, phase),
        "ReplicaSet" => replica_set(object, phase),
        "Job" => job_status(
            object,
            match phase {
                Phase::Progressing => JobStage::Active { ready: false },
                Phase::Ready => JobStage::Ended(Outcome::Succeed),
                Phase::Failed => JobStage::Ended(Outcome::Fail),
            },
            now,
        ),
        "PersistentVolumeClaim" => persistent_volume_claim(object, phase),
        "Pod" => pod(object, phase, now),
        _ => return None,
    })
}

fn generation(object: &Value) -> i64 {
    object
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

fn replicas(object: &Value) -> i64 {
    object
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

fn name(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn condition(kind: &str, status: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({
        "type": kind,
        "status": status,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    })
}

/// `<name>-<hash>`: the name the deployment controller gives the ReplicaSet of a pod template.
pub fn revision_name(object: &Value) -> String {
    let template = object
        .pointer("/spec/template")
        .map(Value::to_string)
        .unwrap_or_default();
    // FNV-1a, then the real controller's "safe" encoding of the decimal digits.
    let hash = template.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let encoded: String = hash
        .to_string()
        .bytes()
        .map(|b| ALPHABET[usize::from(b) % ALPHABET.len()] as char)
        .collect();
    format!("{}-{encoded}", name(object))
}

fn deployment(object: &Value, phase: Phase, now: &str) -> Value {
    let replicas = replicas(object);
    let replica_set = revision_name(object);
    let (available, progressing) = match phase {
        Phase::Ready => (
            condition(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                now,
            ),
            condition(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                &format!("ReplicaSet \"{replica_set}\" has successfully progressed."),
                now,
            ),
        ),
        Phase::Progressing => (
            condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                now,
            ),
            condition(
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                &format!("ReplicaSet \"{replica_set}\" is progressing."),
                now,
            ),
        ),
        Phase::Failed => (
            condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                now,
            ),
            condition(
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                &format!("ReplicaSet \"{replica_set}\" has timed out progressing."),
                now,
            ),
        ),
    };
    let mut status = json!({
        "observedGeneration": generation(object),
        "replicas": replicas,
        "updatedReplicas": replicas,
        "conditions": [available, progressing],
    });
    if phase == Phase::Ready {
        status["readyReplicas"] = json!(replicas);
        status["availableReplicas"] = json!(replicas);
    } else {
        status["unavailableReplicas"] = json!(replicas);
    }
    status
}

fn stateful_set(object: &Value, phase: Phase) -> Value {
    let replicas = replicas(object);
    let revision = revision_name(object);
    let previous = object
        .pointer("/status/currentRevision")
        .and_then(Value::as_str)
        .unwrap_or(&revision)
        .to_string();
    let ready = if phase == Phase::Ready { replicas } else { 0 };
    json!({
        "observedGeneration": generation(object),
        "replicas": replicas,
        "readyReplicas": ready,
        "currentReplicas": if phase == Phase::Ready { replicas } else { 0 },
        "updatedReplicas": ready,
        "availableReplicas": ready,
        "currentRevision": if phase == Phase::Ready { revision.clone() } else { previous },
        "updateRevision": revision,
        "collisionCount": 0,
    })
}

/// Daemon sets are simulated on a one-node cluster.
fn daemon_set(object: &Value, phase: Phase) -> Value {
    let ready = i64::from(phase == Phase::Ready);
    let mut status = json!({
        "observedGeneration": generation(object),
        "desiredNumberScheduled": 1,
        "currentNumberScheduled": 1,
        "numberMisscheduled": 0,
        "numberReady": ready,
        "updatedNumberScheduled": ready,
        "numberAvailable": ready,
    });
    if phase != Phase::Ready {
        status["numberUnavailable"] = json!(1);
    }
    status
}

fn replica_set(object: &Value, phase: Phase) -> Value {
    let replicas = replicas(object);
    let ready = if phase == Phase::Ready { replicas } else { 0 };
    json!({
        "observedGeneration": generation(object),
        "replicas": replicas,
        "fullyLabeledReplicas": replicas,
        "readyReplicas": ready,
        "availableReplicas": ready,
    })
}

/// Where a Job is in its run, as the Job controller reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStage {
    /// Its Pod exists; `ready` once the Pod runs.
    Active {
        /// Whether the Pod is running and ready.
        ready: bool,
    },
    /// Its Pod ended; the first condition (`SuccessCriteriaMet` or
    /// `FailureTarget`) is set, the terminal one not yet.
    Ending(Outcome),
    /// `Complete` or `Failed`.
    Ended(Outcome),
}

/// How a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Exit code 0: Pod `Succeeded`, Job `Complete`.
    Succeed,
    /// Exit code 1: Pod `Failed`, Job `Failed` (`BackoffLimitExceeded`).
    Fail,
}

/// The status of a Job with one Pod at `stage`.
pub fn job_status(object: &Value, stage: JobStage, now: &str) -> Value {
    let start = object
        .pointer("/status/startTime")
        .and_then(Value::as_str)
        .unwrap_or(now)
        .to_string();
    let outcome = match stage {
        JobStage::Active { ready } => {
            return json!({"startTime": start, "active": 1, "terminating": 0, "uncountedTerminatedPods": {}, "ready": i64::from(ready)});
        }
        JobStage::Ending(outcome) | JobStage::Ended(outcome) => outcome,
    };
    let (first, last, reason, message, count) = match outcome {
        Outcome::Succeed => (
            "SuccessCriteriaMet",
            "Complete",
            "CompletionsReached",
            "Reached expected number of succeeded pods",
            "succeeded",
        ),
        Outcome::Fail => (
            "FailureTarget",
            "Failed",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
            "failed",
        ),
    };
    let job_condition = |kind: &str| json!({"type": kind, "status": "True", "lastProbeTime": now, "lastTransitionTime": now, "reason": reason, "message": message});
    // The first condition keeps the time it was set.
    let first_condition = object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|conditions| conditions.iter().find(|c| c["type"] == first).cloned())
        .unwrap_or_else(|| job_condition(first));
    let mut conditions = vec![first_condition];
    let ended = matches!(stage, JobStage::Ended(_));
    if ended {
        conditions.push(job_condition(last));
    }
    let mut status = json!({"conditions": conditions, "startTime": start});
    if ended && outcome == Outcome::Succeed {
        status["completionTime"] = json!(now);
    }
    status[count] = json!(1);
    status["terminating"] = json!(0);
    status["uncountedTerminatedPods"] = json!({});
    status["ready"] = json!(0);
    status
}

fn persistent_volume_claim(object: &Value, phase: Phase) -> Value {
    match phase {
        Phase::Ready => json!({
            "phase": "Bound",
            "accessModes": object.pointer("/spec/accessModes").cloned().unwrap_or_else(|| json!(["ReadWriteOnce"])),
            "capacity": {"storage": object.pointer("/spec/resources/requests/storage").cloned().unwrap_or_else(|| json!("1Gi"))},
        }),
        Phase::Progressing | Phase::Failed => json!({"phase": "Pending"}),
    }
}

/// What a Pod's containers are doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodState {
    /// Scheduled, containers being created.
    Pending,
    /// Containers running and ready.
    Running,
    /// Containers exited: `Succeeded` (exit code 0) or `Failed` (exit code 1).
    Ended(Outcome),
}

/// A Pod that keeps running (`restartPolicy: Always`) is ready when its
/// readiness says so; one that runs to completion then succeeds.
fn pod(object: &Value, phase: Phase, now: &str) -> Value {
    let runs_to_completion = object
        .pointer("/spec/restartPolicy")
        .and_then(Value::as_str)
        .is_some_and(|policy| policy != "Always");
    let state = match phase {
        Phase::Progressing => PodState::Pending,
        Phase::Ready if runs_to_completion => PodState::Ended(Outcome::Succeed),
        Phase::Ready => PodState::Running,
        Phase::Failed => PodState::Ended(Outcome::Fail),
    };
    pod_status(object, state, now)
}

/// The status the kubelet reports for a Pod in `state`; times already
/// reported (start, container start) are kept.
pub fn pod_status(object: &Value, state: PodState, now: &str) -> Value {
    let earlier = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or(now)
            .to_string()
    };
    let start = earlier("/status/startTime");
    let started_at = earlier("/status/containerStatuses/0/state/running/startedAt");
    let (phase, container_state, ready_reason) = match state {
        PodState::Pending => (
            "Pending",
            json!({"waiting": {"reason": "ContainerCreating"}}),
            Some("ContainersNotReady"),
        ),
        PodState::Running => (
            "Running",
            json!({"running": {"startedAt": started_at}}),
            None,
        ),
        PodState::Ended(Outcome::Succeed) => (
            "Succeeded",
            json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started_at, "finishedAt": now}}),
            Some("PodCompleted"),
        ),
        PodState::Ended(Outcome::Fail) => (
            "Failed",
            json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": started_at, "finishedAt": now}}),
            Some("PodFailed"),
        ),
    };
    let running = state == PodState::Running;
    let statuses: Vec<Value> = object
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|container| {
            json!({
                "name": container["name"],
                "state": container_state,
                "ready": running,
                "restartCount": 0,
                "image": container["image"],
                "imageID": "",
                "started": running,
            })
        })
        .collect();
    let condition = |kind: &str, status: bool, reason: Option<&str>| {
        let mut condition = json!({"type": kind, "status": if status { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": now});
        if let Some(reason) = reason {
            condition["reason"] = json!(reason);
        }
        condition
    };
    json!({
        "phase": phase,
        "conditions": [
            condition("PodReadyToStartContainers", state != PodState::Pending, None),
            condition("Initialized", true, None),
            condition("Ready", running, ready_reason),
            condition("ContainersReady", running, ready_reason),
            condition("PodScheduled", true, None),
        ],
        "hostIP": "10.0.0.1",
        "podIP": "10.244.0.10",
        "startTime": start,
        "containerStatuses": statuses,
        "qosClass": "BestEffort",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_deployment_reports_new_replica_set_available() {
        let deployment = json!({"metadata": {"name": "web", "generation": 3}, "spec": {"replicas": 2, "template": {}}});
        let status = status_for("Deployment", &deployment, Phase::Ready, "t").unwrap();
        assert_eq!(status["observedGeneration"], 3);
        assert_eq!(status["availableReplicas"], 2);
        let progressing = &status["conditions"][1];
        assert_eq!(
            (progressing["type"].as_str(), progressing["reason"].as_str()),
            (Some("Progressing"), Some("NewReplicaSetAvailable"))
        );
    }

    #[test]
    fn revision_names_follow_the_template() {
        let a = json!({"metadata": {"name": "web"}, "spec": {"template": {"x": 1}}});
        let b = json!({"metadata": {"name": "web"}, "spec": {"template": {"x": 2}}});
        assert!(revision_name(&a).starts_with("web-"));
        assert_ne!(revision_name(&a), revision_name(&b));
        assert_eq!(revision_name(&a), revision_name(&a.clone()));
    }

    #[test]
    fn jobs_set_the_first_condition_then_the_terminal_one() {
        let job_object = json!({"metadata": {"name": "j"}, "status": {"startTime": "s"}});
        let ending = job_status(&job_object, JobStage::Ending(Outcome::Succeed), "t1");
        assert_eq!(ending["conditions"][0]["type"], "SuccessCriteriaMet");
        assert!(ending.get("completionTime").is_none());
        let ended = job_status(
            &json!({"status": ending}),
            JobStage::Ended(Outcome::Succeed),
            "t2",
        );
        let types: Vec<_> = ended["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["type"].as_str().unwrap(),
                    c["lastTransitionTime"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(types, [("SuccessCriteriaMet", "t1"), ("Complete", "t2")]);
        assert_eq!(
            (
                &ended["startTime"],
                &ended["completionTime"],
                &ended["succeeded"]
            ),
            (&json!("s"), &json!("t2"), &json!(1))
        );
        let failed = job_status(&job_object, JobStage::Ended(Outcome::Fail), "t");
        assert_eq!(failed["failed"], 1);
        assert_eq!(failed["conditions"][1]["reason"], "BackoffLimitExceeded");
    }

    #[test]
    fn pods_keep_their_start_times_to_the_end() {
        let pod_object = json!({"spec": {"containers": [{"name": "main", "image": "busybox"}]}});
        let running = pod_status(&pod_object, PodState::Running, "t1");
        let ended = pod_status(
            &json!({"spec": pod_object["spec"], "status": running}),
            PodState::Ended(Outcome::Fail),
            "t2",
        );
        assert_eq!(ended["phase"], "Failed");
        assert_eq!(ended["startTime"], "t1");
        assert_eq!(
            ended["containerStatuses"][0]["state"]["terminated"],
            json!({"exitCode": 1, "reason": "Error", "startedAt": "t1", "finishedAt": "t2"})
        );
        assert_eq!(ended["conditions"][2]["reason"], "PodFailed");
    }
}
