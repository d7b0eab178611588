//! Failure injection: rules that fail, conflict, delay or drop matching requests.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalogue::ResourceType;
use crate::status::{self, ApiError};

/// A failure to inject into matching requests.
///
/// JSON form (for `POST /__test/faults`):
/// `{"when": {"operation": "write", "nth": 3}, "action": {"fail": {"code": 500}}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Which requests the fault applies to.
    #[serde(default)]
    pub when: RequestMatch,
    /// What happens to them.
    pub action: FaultAction,
    /// How many times the fault fires before it is removed (default 1).
    #[serde(default = "once")]
    pub times: u32,
    /// Fire on every match and never be removed (overrides `times`).
    #[serde(default)]
    pub persistent: bool,
}

fn once() -> u32 {
    1
}

/// Which requests a fault applies to; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestMatch {
    /// Kind of operation (default: any).
    #[serde(default)]
    pub operation: Operation,
    /// HTTP method, e.g. `PATCH`.
    #[serde(default)]
    pub method: Option<String>,
    /// A substring of the URL path.
    #[serde(default)]
    pub path_contains: Option<String>,
    /// Resource type: kind (`ConfigMap`), plural (`configmaps`), singular or short name.
    #[serde(default)]
    pub resource: Option<String>,
    /// Object name from the URL.
    #[serde(default)]
    pub name: Option<String>,
    /// Namespace from the URL.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Fire only on the nth matching request, counted from when the fault was added.
    #[serde(default)]
    pub nth: Option<u32>,
}

/// The kind of request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Any request.
    #[default]
    Any,
    /// GET (including watches).
    Read,
    /// GET with `watch=true`.
    Watch,
    /// POST, PUT, PATCH or DELETE.
    Write,
    /// POST.
    Create,
    /// PUT or PATCH (including server-side apply).
    Update,
    /// DELETE.
    Delete,
}

/// What an injected fault does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer with this status code and a Status body.
    Fail {
        /// HTTP status code, e.g. 500.
        code: u16,
        /// Status reason; derived from the code when absent.
        #[serde(default)]
        reason: Option<String>,
        /// Status message; a generic one when absent.
        #[serde(default)]
        message: Option<String>,
    },
    /// Answer 409 Conflict as for a stale resourceVersion.
    Conflict,
    /// Wait this long, then handle the request normally.
    Delay {
        /// Milliseconds to wait.
        ms: u64,
    },
    /// Close the connection without answering.
    Drop,
}

impl Fault {
    /// A fault with `action` for requests matching `when`, firing once.
    pub fn new(when: RequestMatch, action: FaultAction) -> Self {
        Fault {
            when,
            action,
            times: 1,
            persistent: false,
        }
    }

    /// Fail the `n`th write (POST/PUT/PATCH/DELETE) counted from now.
    pub fn fail_nth_write(n: u32, code: u16, message: &str) -> Self {
        let when = RequestMatch {
            operation: Operation::Write,
            nth: Some(n),
            ..RequestMatch::default()
        };
        Fault::new(when, FaultAction::fail(code, message))
    }

    /// Fail writes to one named object (`resource` is a kind, plural or short name).
    pub fn fail_writes_to(resource: &str, name: &str, code: u16, message: &str) -> Self {
        let when = RequestMatch {
            operation: Operation::Write,
            resource: Some(resource.to_string()),
            name: Some(name.to_string()),
            ..RequestMatch::default()
        };
        Fault::new(when, FaultAction::fail(code, message))
    }

    /// Answer the next update (PUT or PATCH) of one named object with 409 Conflict.
    pub fn conflict_on_next_update(resource: &str, name: &str) -> Self {
        let when = RequestMatch {
            operation: Operation::Update,
            resource: Some(resource.to_string()),
            name: Some(name.to_string()),
            ..RequestMatch::default()
        };
        Fault::new(when, FaultAction::Conflict)
    }

    /// Delay requests whose path contains `path_contains` (all requests when `None`).
    pub fn delay(path_contains: Option<&str>, delay: Duration) -> Self {
        let when = RequestMatch {
            path_contains: path_contains.map(str::to_string),
            ..RequestMatch::default()
        };
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        Fault::new(when, FaultAction::Delay { ms })
    }

    /// Close the connection, without answering, on a request whose path contains `path_contains`.
    pub fn drop_connection(path_contains: &str) -> Self {
        let when = RequestMatch {
            path_contains: Some(path_contains.to_string()),
            ..RequestMatch::default()
        };
        Fault::new(when, FaultAction::Drop)
    }

    /// Fire on every matching request until cleared.
    pub fn persistent(mut self) -> Self {
        self.persistent = true;
        self
    }

    /// Fire `times` times, then go away.
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }
}

impl FaultAction {
    /// A failure with the reason the real server uses for `code`.
    pub fn fail(code: u16, message: &str) -> Self {
        FaultAction::Fail {
            code,
            reason: None,
            message: Some(message.to_string()),
        }
    }
}

/// Identifies an added fault, for removing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FaultId(pub u64);

/// What the server knows about a request when deciding on faults.
#[derive(Debug, Clone)]
pub struct RequestFacts<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// URL path.
    pub path: &'a str,
    /// Whether it is a watch.
    pub watch: bool,
    /// Resource type addressed, if any.
    pub resource: Option<&'a ResourceType>,
    /// Namespace from the URL.
    pub namespace: Option<&'a str>,
    /// Object name from the URL.
    pub name: Option<&'a str>,
}

/// What to do with a request.
#[derive(Debug, Default)]
pub struct Decision {
    /// Wait before going on.
    pub delay: Option<Duration>,
    /// Answer instead of handling the request.
    pub respond: Option<ApiError>,
    /// Close the connection without answering.
    pub drop: bool,
}

#[derive(Debug)]
struct Active {
    id: FaultId,
    fault: Fault,
    matched: u32,
    fired: u32,
}

/// The active faults, in the order they were added.
#[derive(Debug, Default)]
pub struct Faults {
    inner: Mutex<(u64, Vec<Active>)>,
}

impl Faults {
    /// Add a fault.
    pub fn add(&self, fault: Fault) -> FaultId {
        let mut inner = self.lock();
        inner.0 += 1;
        let id = FaultId(inner.0);
        inner.1.push(Active {
            id,
            fault,
            matched: 0,
            fired: 0,
        });
        id
    }

    /// Remove one fault; false if it was not active.
    pub fn remove(&self, id: FaultId) -> bool {
        let mut inner = self.lock();
        let before = inner.1.len();
        inner.1.retain(|active| active.id != id);
        before != inner.1.len()
    }

    /// Remove every fault.
    pub fn clear(&self) {
        self.lock().1.clear();
    }

    /// The active faults with their ids.
    pub fn list(&self) -> Vec<(FaultId, Fault)> {
        self.lock()
            .1
            .iter()
            .map(|a| (a.id, a.fault.clone()))
            .collect()
    }

    /// Match a request against the faults, counting it and consuming faults that fire.
    pub fn decide(&self, request: &RequestFacts<'_>) -> Decision {
        let mut decision = Decision::default();
        let mut inner = self.lock();
        for active in inner.1.iter_mut() {
            if !matches(&active.fault.when, request) {
                continue;
            }
            active.matched += 1;
            if active
                .fault
                .when
                .nth
                .is_some_and(|nth| nth != active.matched)
            {
                continue;
            }
            let decided = decision.respond.is_some() || decision.drop;
            if decided && !matches!(active.fault.action, FaultAction::Delay { .. }) {
                continue;
            }
            active.fired += 1;
            match &active.fault.action {
                FaultAction::Delay { ms } => {
                    let delay = Duration::from_millis(*ms);
                    decision.delay = Some(decision.delay.map_or(delay, |d| d.max(delay)));
                }
                FaultAction::Drop => decision.drop = true,
                FaultAction::Conflict => decision.respond = Some(conflict(request)),
                FaultAction::Fail {
                    code,
                    reason,
                    message,
                } => {
                    let reason = reason
                        .clone()
                        .unwrap_or_else(|| status::reason_for_code(*code).to_string());
                    let message = message
                        .clone()
                        .unwrap_or_else(|| format!("injected failure ({code})"));
                    decision.respond = Some(ApiError::new(*code, &reason, message));
                }
            }
        }
        inner
            .1
            .retain(|active| active.fault.persistent || active.fired < active.fault.times);
        decision
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Vec<Active>)> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn matches(when: &RequestMatch, request: &RequestFacts<'_>) -> bool {
    let operation = match (request.method, request.watch) {
        ("GET", true) => matches!(
            when.operation,
            Operation::Any | Operation::Read | Operation::Watch
        ),
        ("GET" | "HEAD", false) => matches!(when.operation, Operation::Any | Operation::Read),
        ("POST", _) => matches!(
            when.operation,
            Operation::Any | Operation::Write | Operation::Create
        ),
        ("PUT" | "PATCH", _) => matches!(
            when.operation,
            Operation::Any | Operation::Write | Operation::Update
        ),
        ("DELETE", _) => matches!(
            when.operation,
            Operation::Any | Operation::Write | Operation::Delete
        ),
        _ => when.operation == Operation::Any,
    };
    let resource = when
        .resource
        .as_deref()
        .is_none_or(|wanted| request.resource.is_some_and(|r| r.answers_to(wanted)));
    operation
        && resource
        && when
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(request.method))
        && when
            .path_contains
            .as_deref()
            .is_none_or(|p| request.path.contains(p))
        && when.name.as_deref().is_none_or(|n| request.name == Some(n))
        && when
            .namespace
            .as_deref()
            .is_none_or(|ns| request.namespace == Some(ns))
}

fn conflict(request: &RequestFacts<'_>) -> ApiError {
    match (request.resource, request.name) {
        (Some(resource), Some(name)) => {
            ApiError::stale_resource_version(&resource.group, &resource.plural, name)
        }
        _ => ApiError::conflict(
            "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again",
            Vec::new(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;

    fn facts<'a>(
        method: &'a str,
        resource: Option<&'a ResourceType>,
        name: Option<&'a str>,
    ) -> RequestFacts<'a> {
        RequestFacts {
            method,
            path: "/api/v1/namespaces/default/configmaps",
            watch: false,
            resource,
            namespace: Some("default"),
            name,
        }
    }

    #[test]
    fn nth_write_counts_from_when_the_fault_is_added() {
        let faults = Faults::default();
        faults.add(Fault::fail_nth_write(2, 503, "down"));
        assert!(faults.decide(&facts("GET", None, None)).respond.is_none());
        assert!(faults.decide(&facts("POST", None, None)).respond.is_none());
        let second = faults.decide(&facts("PUT", None, None)).respond.unwrap();
        assert_eq!(
            (second.code, second.reason.as_str()),
            (503, "ServiceUnavailable")
        );
        assert!(
            faults.decide(&facts("PUT", None, None)).respond.is_none(),
            "one-shot faults go away"
        );
        assert!(faults.list().is_empty());
    }

    #[test]
    fn conflict_names_the_object() {
        let catalogue = Catalogue::builtin();
        let configmaps = catalogue.find("", "v1", "configmaps").unwrap();
        let faults = Faults::default();
        faults.add(Fault::conflict_on_next_update("ConfigMap", "x"));
        assert!(
            faults
                .decide(&facts("PATCH", Some(&configmaps), Some("y")))
                .respond
                .is_none()
        );
        let error = faults
            .decide(&facts("PATCH", Some(&configmaps), Some("x")))
            .respond
            .unwrap();
        assert_eq!(error.code, 409);
        assert!(
            error
                .message
                .starts_with("Operation cannot be fulfilled on configmaps \"x\"")
        );
    }

    #[test]
    fn persistent_faults_stay_until_removed() {
        let faults = Faults::default();
        let id = faults.add(Fault::delay(None, Duration::from_millis(5)).persistent());
        for _ in 0..3 {
            assert_eq!(
                faults.decide(&facts("GET", None, None)).delay,
                Some(Duration::from_millis(5))
            );
        }
        assert!(faults.remove(id));
        assert!(faults.decide(&facts("GET", None, None)).delay.is_none());
    }

    #[test]
    fn json_form() {
        let fault: Fault = serde_json::from_str(
            r#"{"when": {"path_contains": "/secrets"}, "action": "drop", "persistent": true}"#,
        )
        .unwrap();
        assert_eq!(fault.action, FaultAction::Drop);
        assert!(fault.persistent);
        assert!(serde_json::from_str::<Fault>(r#"{"action": "drop", "typo": 1}"#).is_err());
    }
}
