//! How run-to-completion Pods end (a Job's Pod, or a bare Pod whose
//! `restartPolicy` is not `Always`, as a `test` hook is): they succeed or
//! fail at once, after a delay, or when the test says, and their container
//! prints the rule's log text.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

pub use super::status::Outcome;
use super::{Readiness, Selecting};

/// How a run ends, when, and what its container prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// Succeed (exit 0) or fail (exit 1).
    pub outcome: Outcome,
    /// When the container exits, counted from when it starts running.
    #[serde(default)]
    pub when: When,
    /// What the container prints (its log); empty when absent.
    #[serde(default)]
    pub log: String,
}

/// When a run's container exits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// As soon as it runs.
    #[default]
    Immediately,
    /// This many milliseconds after it starts running.
    AfterMs(u64),
    /// When the test calls [`crate::TestApiServer::finish_run`].
    Held,
}

impl Run {
    /// A run that succeeds as soon as it starts, printing nothing.
    pub fn succeeding() -> Self {
        Run {
            outcome: Outcome::Succeed,
            when: When::Immediately,
            log: String::new(),
        }
    }

    /// A run that fails as soon as it starts, printing nothing.
    pub fn failing() -> Self {
        Run {
            outcome: Outcome::Fail,
            ..Run::succeeding()
        }
    }

    /// Ending `delay` after it starts.
    pub fn after(mut self, delay: Duration) -> Self {
        self.when = When::AfterMs(crate::time::millis(delay));
        self
    }

    /// Ending when the test calls [`crate::TestApiServer::finish_run`].
    pub fn held(mut self) -> Self {
        self.when = When::Held;
        self
    }

    /// Printing `text` (the container log).
    pub fn log(mut self, text: &str) -> Self {
        self.log = text.to_string();
        self
    }

    /// The run a readiness stands for when no run rule applies: ready after
    /// a delay succeeds then, failing fails then, never ready runs until the
    /// test finishes it.
    pub(super) fn from_readiness(readiness: Readiness) -> Self {
        match readiness {
            Readiness::ReadyAfterMs(ms) => Run::succeeding().after(Duration::from_millis(ms)),
            Readiness::FailAfterMs(ms) => Run::failing().after(Duration::from_millis(ms)),
            Readiness::Never => Run::succeeding().held(),
        }
    }
}

/// The run for the Jobs or Pods a rule selects; later rules win.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRule {
    /// `Job` or `Pod` (any kind name); both when absent.
    #[serde(default)]
    pub resource: Option<String>,
    /// Namespace; any when absent.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Name pattern where `*` matches any run of characters; any when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// How selected runs go.
    pub run: Run,
}

impl RunRule {
    /// The run of Jobs whose names match `pattern` (`*` wildcards).
    pub fn job(pattern: &str, run: Run) -> Self {
        RunRule {
            resource: Some("Job".to_string()),
            namespace: None,
            name: Some(pattern.to_string()),
            run,
        }
    }

    /// The run of bare Pods whose names match `pattern` (`*` wildcards).
    pub fn pod(pattern: &str, run: Run) -> Self {
        RunRule {
            resource: Some("Pod".to_string()),
            ..RunRule::job(pattern, run)
        }
    }

    /// Only in `namespace`.
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_string());
        self
    }
}

impl Selecting for RunRule {
    fn filters(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        (
            self.resource.as_deref(),
            self.namespace.as_deref(),
            self.name.as_deref(),
        )
    }
}

/// Which run: the Job's or bare Pod's kind, namespace and name.
pub type RunKey = (String, String, String);

/// What a run's container printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodLog {
    /// The container that printed `text` (the Pod's first); the others print nothing.
    pub container: String,
    /// The log.
    pub text: String,
    /// When the container started (RFC 3339), for `timestamps=true`.
    pub started: String,
}

#[derive(Debug, Default)]
struct Holds {
    waiting: HashMap<RunKey, oneshot::Sender<()>>,
    /// Finished by the test before they got to their hold.
    finished_early: HashSet<RunKey>,
}

/// Held runs, and the logs of Pods that ran.
#[derive(Debug, Default)]
pub struct Runs {
    holds: Mutex<Holds>,
    logs: Mutex<HashMap<String, PodLog>>,
}

impl Runs {
    /// Wait until the test finishes the run `key` (at once if it already did).
    ///
    /// The run counts as waiting from this call on, not from when the future is first
    /// polled, so a caller can register before it reports the run as started.
    pub fn hold(&self, key: RunKey) -> impl std::future::Future<Output = ()> + use<> {
        let receiver = {
            let mut holds = lock(&self.holds);
            if holds.finished_early.remove(&key) {
                None
            } else {
                let (sender, receiver) = oneshot::channel();
                holds.waiting.insert(key, sender);
                Some(receiver)
            }
        };
        async move {
            // A dropped sender means the server is going away; either way the hold is over.
            if let Some(receiver) = receiver {
                let _ = receiver.await;
            }
        }
    }

    /// Finish the held run `key`; true when it was waiting, else it finishes
    /// as soon as it gets to its hold.
    pub fn finish(&self, key: RunKey) -> bool {
        let mut holds = lock(&self.holds);
        match holds.waiting.remove(&key) {
            Some(waiting) => waiting.send(()).is_ok(),
            None => {
                holds.finished_early.insert(key);
                false
            }
        }
    }

    /// Keep what the Pod with `uid` printed.
    pub fn set_log(&self, uid: &str, log: PodLog) {
        lock(&self.logs).insert(uid.to_string(), log);
    }

    /// What the Pod with `uid` printed, if it ran.
    pub fn log(&self, uid: &str) -> Option<PodLog> {
        lock(&self.logs).get(uid).cloned()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
