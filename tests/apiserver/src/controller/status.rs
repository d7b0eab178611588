//! The status objects the real controllers write, for each simulated phase.

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
        "Job" => job(object, phase, now),
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

fn job(object: &Value, phase: Phase, now: &str) -> Value {
    let start = object
        .pointer("/status/startTime")
        .and_then(Value::as_str)
        .unwrap_or(now)
        .to_string();
    let job_condition = |kind: &str, reason: &str, message: &str| json!({"type": kind, "status": "True", "lastProbeTime": now, "lastTransitionTime": now, "reason": reason, "message": message});
    match phase {
        Phase::Progressing => {
            json!({"startTime": start, "active": 1, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}})
        }
        Phase::Ready => {
            let completions = object
                .pointer("/spec/completions")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let message = "Reached expected number of succeeded pods";
            json!({
                "conditions": [
                    job_condition("SuccessCriteriaMet", "CompletionsReached", message),
                    job_condition("Complete", "CompletionsReached", message),
                ],
                "startTime": start,
                "completionTime": now,
                "succeeded": completions,
                "ready": 0,
                "terminating": 0,
                "uncountedTerminatedPods": {},
            })
        }
        Phase::Failed => {
            let backoff = object
                .pointer("/spec/backoffLimit")
                .and_then(Value::as_i64)
                .unwrap_or(6);
            let message = "Job has reached the specified backoff limit";
            json!({
                "conditions": [
                    job_condition("FailureTarget", "BackoffLimitExceeded", message),
                    job_condition("Failed", "BackoffLimitExceeded", message),
                ],
                "startTime": start,
                "failed": backoff + 1,
                "ready": 0,
                "terminating": 0,
                "uncountedTerminatedPods": {},
            })
        }
    }
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

fn pod(object: &Value, phase: Phase, now: &str) -> Value {
    let restart = object
        .pointer("/spec/restartPolicy")
        .and_then(Value::as_str)
        .unwrap_or("Always");
    let runs_to_completion = restart != "Always";
    let containers: Vec<(String, String)> = object
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|c| {
                    let text = |field: &str| {
                        c.get(field)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    };
                    (text("name"), text("image"))
                })
                .collect()
        })
        .unwrap_or_default();
    let pod_condition = |kind: &str, status: &str| json!({"type": kind, "status": status, "lastProbeTime": null, "lastTransitionTime": now});
    let (pod_phase, ready, state) = match (phase, runs_to_completion) {
        (Phase::Progressing, _) => (
            "Pending",
            false,
            json!({"waiting": {"reason": "ContainerCreating"}}),
        ),
        (Phase::Ready, false) => ("Running", true, json!({"running": {"startedAt": now}})),
        (Phase::Ready, true) => (
            "Succeeded",
            false,
            json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}}),
        ),
        (Phase::Failed, _) => (
            "Failed",
            false,
            json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now, "finishedAt": now}}),
        ),
    };
    let ready_text = if ready { "True" } else { "False" };
    let statuses: Vec<Value> = containers
        .iter()
        .map(|(name, image)| {
            json!({
                "name": name,
                "state": state,
                "ready": ready,
                "restartCount": 0,
                "image": image,
                "imageID": "",
                "started": pod_phase == "Running",
            })
        })
        .collect();
    json!({
        "phase": pod_phase,
        "conditions": [
            pod_condition("PodReadyToStartContainers", if phase == Phase::Progressing { "False" } else { "True" }),
            pod_condition("Initialized", "True"),
            pod_condition("Ready", ready_text),
            pod_condition("ContainersReady", ready_text),
            pod_condition("PodScheduled", "True"),
        ],
        "hostIP": "10.0.0.1",
        "podIP": "10.244.0.10",
        "startTime": now,
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
    fn jobs_complete_or_fail() {
        let job_object =
            json!({"metadata": {"name": "j"}, "spec": {"completions": 1, "backoffLimit": 2}});
        let done = status_for("Job", &job_object, Phase::Ready, "t").unwrap();
        assert_eq!(done["conditions"][1]["type"], "Complete");
        let failed = status_for("Job", &job_object, Phase::Failed, "t").unwrap();
        assert_eq!(failed["failed"], 3);
    }
}
