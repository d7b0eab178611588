//! What the Pods of a run printed: a Pod's own, or a Job's Pods', found by the Job's
//! uid (`batch.kubernetes.io/controller-uid`), so Pods a deleted Job of the same name left
//! behind are never mistaken for its own.

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use kube::api::{Api, ListParams, LogParams};

use super::{Cluster, ClusterError};
use crate::render::ResourceId;

/// The labels the Job controller puts on its Pods: since Kubernetes 1.27, then before.
const CONTROLLER_UID_LABELS: [&str; 2] = ["batch.kubernetes.io/controller-uid", "controller-uid"];

/// A log is read no further than this, so a chatty container cannot fill memory.
const LOG_LIMIT_BYTES: i64 = 1 << 20;

/// How much of a log to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogAmount {
    /// The last lines (why a run failed).
    Tail(i64),
    /// Everything, up to 1 MiB (`rchart test --logs`).
    Whole,
}

/// Which containers of a Pod to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Containers {
    /// Those that ended with a non-zero exit code; every container when none did.
    Failed,
    /// Every container, and the init containers that ran.
    All,
}

/// What one container printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerLog {
    /// `namespace/name` of the Pod.
    pub pod: String,
    pub container: String,
    /// The log, or why it could not be read.
    pub text: Result<String, String>,
    pub amount: LogAmount,
}

/// The Pods a run of `id` used, oldest first: the Pod itself, or the Pods of the Job
/// whose uid is `uid`.
pub async fn run_pods(
    cluster: &Cluster,
    id: &ResourceId,
    uid: &str,
) -> Result<Vec<Pod>, ClusterError> {
    let namespace = id.namespace.as_deref().unwrap_or(&cluster.namespace);
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
    if id.kind == "Pod" {
        return match api.get_opt(&id.name).await {
            Ok(pod) => Ok(pod.into_iter().collect()),
            Err(error) => Err(cluster.describe(error)),
        };
    }
    for label in CONTROLLER_UID_LABELS {
        let params = ListParams::default().labels(&format!("{label}={uid}"));
        let mut pods = api
            .list(&params)
            .await
            .map_err(|e| cluster.describe(e))?
            .items;
        if !pods.is_empty() {
            pods.sort_by(|a, b| {
                let created = |pod: &Pod| pod.metadata.creation_timestamp.clone();
                created(a)
                    .cmp(&created(b))
                    .then_with(|| a.metadata.name.cmp(&b.metadata.name))
            });
            return Ok(pods);
        }
    }
    Ok(Vec::new())
}

/// The logs of `pod`'s `containers`, in the order of its spec.
pub async fn pod_logs(
    cluster: &Cluster,
    pod: &Pod,
    containers: Containers,
    amount: LogAmount,
) -> Vec<ContainerLog> {
    let namespace = pod
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.namespace.clone());
    let name = pod.metadata.name.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &namespace);
    let mut logs = Vec::new();
    for container in chosen_containers(pod, containers) {
        let params = LogParams {
            container: Some(container.clone()),
            tail_lines: match amount {
                LogAmount::Tail(lines) => Some(lines),
                LogAmount::Whole => None,
            },
            limit_bytes: Some(LOG_LIMIT_BYTES),
            ..LogParams::default()
        };
        let text = api
            .logs(&name, &params)
            .await
            .map_err(|e| cluster.describe(e).cause_text());
        logs.push(ContainerLog {
            pod: format!("{namespace}/{name}"),
            container,
            text,
            amount,
        });
    }
    logs
}

/// The names of the containers to read, init containers first.
fn chosen_containers(pod: &Pod, containers: Containers) -> Vec<String> {
    let status = pod.status.as_ref();
    let init_statuses = status
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or_default();
    let statuses = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    let spec = pod.spec.as_ref();
    let main: Vec<String> = spec
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    let ran_init: Vec<String> = init_statuses
        .iter()
        .filter(|s| s.state.as_ref().is_some_and(|st| st.waiting.is_none()))
        .map(|s| s.name.clone())
        .collect();
    match containers {
        Containers::All => ran_init.into_iter().chain(main).collect(),
        Containers::Failed => {
            let failed: Vec<String> = init_statuses
                .iter()
                .chain(statuses)
                .filter(|s| exited_badly(s))
                .map(|s| s.name.clone())
                .collect();
            if failed.is_empty() { main } else { failed }
        }
    }
}

fn exited_badly(status: &ContainerStatus) -> bool {
    status
        .state
        .as_ref()
        .and_then(|state| state.terminated.as_ref())
        .is_some_and(|terminated| terminated.exit_code != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "check", "namespace": "shop"},
            "spec": {"initContainers": [{"name": "setup"}], "containers": [{"name": "main"}, {"name": "sidecar"}]},
            "status": status,
        }))
        .unwrap()
    }

    fn container(name: &str, state: serde_json::Value) -> serde_json::Value {
        json!({"name": name, "state": state, "ready": false, "restartCount": 0, "image": "x", "imageID": ""})
    }

    #[test]
    fn the_failed_containers_are_read_else_all_of_them() {
        let failed = pod(json!({
            "initContainerStatuses": [container("setup", json!({"terminated": {"exitCode": 0}}))],
            "containerStatuses": [
                container("main", json!({"terminated": {"exitCode": 2}})),
                container("sidecar", json!({"terminated": {"exitCode": 0}})),
            ],
        }));
        assert_eq!(chosen_containers(&failed, Containers::Failed), ["main"]);
        assert_eq!(
            chosen_containers(&failed, Containers::All),
            ["setup", "main", "sidecar"]
        );
        let stuck = pod(json!({
            "initContainerStatuses": [container("setup", json!({"waiting": {"reason": "PodInitializing"}}))],
        }));
        assert_eq!(
            chosen_containers(&stuck, Containers::Failed),
            ["main", "sidecar"]
        );
        assert_eq!(
            chosen_containers(&stuck, Containers::All),
            ["main", "sidecar"]
        );
    }
}
