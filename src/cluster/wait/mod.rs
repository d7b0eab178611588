//! Waiting until applied workloads are ready (`--wait`), and until hooks' Jobs and Pods
//! have finished.
//!
//! Readiness comes from watches, not polling: one watch per kind and namespace covers
//! every object of that kind there (a list plus one long-lived watch), so waiting for
//! fifty Deployments costs the API server two requests, and a change of status is seen
//! as soon as the controller writes it.

mod board;
mod readiness;
mod watch;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use kube::runtime::watcher;
use serde_json::Value;
use tokio::time::Instant;

use self::board::Board;
use self::watch::{Update, WaitKind};
use super::{Cluster, ClusterError, Planned};
use crate::render::ResourceId;

pub use readiness::ReadyState;

/// Receives the progress of a wait. [`wait_until_ready`] calls `update` only when a
/// resource's state really changed, so displays need no de-duplication of their own.
pub trait WaitProgress: Send {
    /// Waiting starts for `resources` (only those with a readiness to wait for).
    fn begin(&mut self, resources: &[ResourceId], timeout: Duration);
    /// `resource` is now in `state`.
    fn update(&mut self, resource: &ResourceId, state: &ReadyState);
    /// Something worth knowing that is not about one resource, e.g. a watch being retried.
    fn warn(&mut self, message: &str);
    /// Waiting is over, whatever the outcome.
    fn end(&mut self);
}

/// How long `--wait` waits unless `--timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// An applied object to wait for. Deployments, StatefulSets, DaemonSets, Jobs and
/// PersistentVolumeClaims have a readiness to wait for; other kinds are ready once applied.
#[derive(Debug, Clone)]
pub struct WaitTarget {
    /// Which object; a namespaced object without a namespace is in the cluster's namespace.
    pub id: ResourceId,
    /// The object's labels. Labels all objects of a kind share narrow the watch for that
    /// kind, which matters in a namespace full of other releases' objects.
    pub labels: BTreeMap<String, String>,
}

impl From<&Planned> for WaitTarget {
    fn from(planned: &Planned) -> Self {
        let labels = planned
            .object
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .map(|labels| {
                labels
                    .iter()
                    .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        WaitTarget {
            id: planned.id.clone(),
            labels,
        }
    }
}

impl From<ResourceId> for WaitTarget {
    fn from(id: ResourceId) -> Self {
        WaitTarget {
            id,
            labels: BTreeMap::new(),
        }
    }
}

/// A resource that was not ready when the wait ended, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady {
    pub resource: ResourceId,
    /// What is missing, from the status and conditions, e.g.
    /// `1 of 3 replicas available (Progressing: ReplicaSet "web-x" is progressing)`.
    pub reason: String,
}

impl fmt::Display for NotReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.resource, self.reason)
    }
}

/// Why a wait did not end with everything ready. The message is fit to record as the
/// reason a revision failed.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("timed out after {}; still not ready: {}", humantime::format_duration(*.timeout), Joined(.not_ready))]
    TimedOut {
        timeout: Duration,
        not_ready: Vec<NotReady>,
    },
    /// A resource reached a state it will not recover from without a change: a failed
    /// Job, a Deployment past its progress deadline.
    #[error("{resource} failed: {reason}")]
    Failed {
        resource: ResourceId,
        reason: String,
    },
    /// The cluster refused to let us watch (credentials, permissions, kind not served).
    #[error("cannot watch {kind}s in namespace {namespace}: {cause}")]
    Watch {
        kind: &'static str,
        namespace: String,
        cause: ClusterError,
    },
}

struct Joined<'a>(&'a [NotReady]);

impl fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, item) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{item}")?;
        }
        Ok(())
    }
}

/// Why a `--timeout` value was refused.
#[derive(Debug, thiserror::Error)]
pub enum InvalidTimeout {
    #[error("expected a duration such as 90s, 5m or 1h30m, not \"{0}\"")]
    Unreadable(String),
    #[error("a timeout of 0s would end the wait before it starts; give a duration such as 5m")]
    Zero,
}

/// Reads a `--timeout` value: `90s`, `5m`, `1h`, `1h30m`, `500ms`.
pub fn parse_timeout(text: &str) -> Result<Duration, InvalidTimeout> {
    match humantime::parse_duration(text.trim()) {
        Ok(duration) if duration.is_zero() => Err(InvalidTimeout::Zero),
        Ok(duration) => Ok(duration),
        Err(_) => Err(InvalidTimeout::Unreadable(text.to_string())),
    }
}

/// Waits until every target is ready, for at most `timeout`, telling `progress` each
/// change. Fails at once when a resource fails (a Job's `Failed` condition, a Deployment's
/// exceeded progress deadline), and at the timeout naming every resource not ready and why.
pub async fn wait_until_ready(
    cluster: &Cluster,
    targets: &[WaitTarget],
    timeout: Duration,
    progress: &mut dyn WaitProgress,
) -> Result<(), WaitError> {
    let mut board = Board::new(targets, &cluster.namespace, WaitKind::of);
    progress.begin(&board.resources(), timeout);
    let outcome = watch_until(cluster, &mut board, timeout, progress, Goal::Ready).await;
    progress.end();
    outcome
}

/// Waits until every Job and Pod among `targets` has finished, succeeded or failed, for
/// at most `timeout`, telling `progress` each change: what a hook waits for. Other kinds
/// are not waited for. Answers where each Job and Pod stands at the end (a timeout leaves
/// some waiting); fails only when the cluster will not let them be watched.
pub async fn wait_until_finished(
    cluster: &Cluster,
    targets: &[WaitTarget],
    timeout: Duration,
    progress: &mut dyn WaitProgress,
) -> Result<Vec<(ResourceId, ReadyState)>, WaitError> {
    let mut board = Board::new(targets, &cluster.namespace, WaitKind::run_of);
    progress.begin(&board.resources(), timeout);
    let outcome = watch_until(cluster, &mut board, timeout, progress, Goal::Finished).await;
    progress.end();
    match outcome {
        Ok(()) | Err(WaitError::TimedOut { .. }) => Ok(board.states()),
        Err(error) => Err(error),
    }
}

/// When a wait is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    /// Every resource ready; the first failure ends it.
    Ready,
    /// Every resource ready or failed.
    Finished,
}

async fn watch_until(
    cluster: &Cluster,
    board: &mut Board,
    timeout: Duration,
    progress: &mut dyn WaitProgress,
    goal: Goal,
) -> Result<(), WaitError> {
    let reached = |board: &Board| match goal {
        Goal::Ready => board.all_ready(),
        Goal::Finished => board.all_finished(),
    };
    if reached(board) {
        return Ok(());
    }
    let started = Instant::now();
    // Durations too long to add are as good as forever.
    let deadline = started
        .checked_add(timeout)
        .unwrap_or(started + Duration::from_secs(100 * 365 * 86_400));
    let watches = board
        .specs()
        .iter()
        .enumerate()
        .map(|(index, spec)| watch::watch(cluster.client.clone(), index, spec));
    let mut updates = stream::select_all(watches);
    let timed_out = |board: &Board| WaitError::TimedOut {
        timeout,
        not_ready: board.not_ready(),
    };
    loop {
        // Watches never end: no update means the deadline passed.
        let Ok(Some(Update { watch, change })) =
            tokio::time::timeout_at(deadline, updates.next()).await
        else {
            return Err(timed_out(board));
        };
        match change {
            Ok(change) => {
                for (resource, state) in board.apply(watch, change) {
                    progress.update(&resource, &state);
                    if let (ReadyState::Failed(reason), Goal::Ready) = (state, goal) {
                        return Err(WaitError::Failed { resource, reason });
                    }
                }
                if reached(board) {
                    return Ok(());
                }
            }
            Err(error) => {
                let spec = &board.specs()[watch];
                let (kind, namespace) = (spec.kind.name(), spec.namespace.clone());
                let message = match cluster_error(cluster, error) {
                    Ok(cause) if cannot_succeed(&cause) => {
                        return Err(WaitError::Watch {
                            kind,
                            namespace,
                            cause,
                        });
                    }
                    Ok(cause) => cause.to_string(),
                    Err(other) => other.to_string(),
                };
                if board.watch_failed(watch, message.clone()) {
                    progress.warn(&format!(
                        "watching {kind}s in namespace {namespace} failed, retrying: {message}"
                    ));
                }
            }
        }
    }
}

/// The API's answer or the transport failure behind a watch error, when there is one.
fn cluster_error(cluster: &Cluster, error: watcher::Error) -> Result<ClusterError, watcher::Error> {
    match error {
        watcher::Error::InitialListFailed(error)
        | watcher::Error::WatchStartFailed(error)
        | watcher::Error::WatchFailed(error) => Ok(cluster.describe(error)),
        watcher::Error::WatchError(status) => Ok(ClusterError::Api(status)),
        other => Err(other),
    }
}

/// Errors that retrying will not fix: rejected credentials, no permission to watch, a
/// kind the cluster does not serve. Everything else (connections, `410 Gone`, 5xx) is
/// retried until the timeout.
fn cannot_succeed(error: &ClusterError) -> bool {
    matches!(error, ClusterError::Unauthorized { .. })
        || matches!(error.status_code(), Some(403 | 404))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_like_helm_and_kubectl() {
        assert_eq!(parse_timeout("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_timeout("5m").unwrap(), DEFAULT_TIMEOUT);
        assert_eq!(parse_timeout("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_timeout("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(
            parse_timeout("90").unwrap_err().to_string(),
            "expected a duration such as 90s, 5m or 1h30m, not \"90\""
        );
        assert_eq!(
            parse_timeout("0s").unwrap_err().to_string(),
            "a timeout of 0s would end the wait before it starts; give a duration such as 5m"
        );
    }

    #[test]
    fn a_timeout_names_every_resource_not_ready() {
        let deployment = |name: &str| ResourceId {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some("backend".into()),
            name: name.into(),
        };
        let error = WaitError::TimedOut {
            timeout: Duration::from_secs(300),
            not_ready: vec![
                NotReady {
                    resource: deployment("web"),
                    reason: "1 of 3 replicas available".into(),
                },
                NotReady {
                    resource: deployment("api"),
                    reason: "not found".into(),
                },
            ],
        };
        assert_eq!(
            error.to_string(),
            "timed out after 5m; still not ready: Deployment backend/web: 1 of 3 replicas available; \
             Deployment backend/api: not found"
        );
    }
}
