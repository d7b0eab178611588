//! Failure injection: rules that fail, conflict, delay, hold or drop
//! matching requests, before they are handled or after (once a write is
//! committed), with the answers real servers send.

mod answers;
mod gates;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalogue::ResourceType;

pub use gates::{Gate, Gates, HOLD_PATIENCE, Release};

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
    /// Only dry runs (`dryRun=All`) when true, only real requests when false.
    #[serde(default)]
    pub dry_run: Option<bool>,
    /// Fire only on the nth matching request, counted from when the fault was added.
    #[serde(default)]
    pub nth: Option<u32>,
}

impl RequestMatch {
    /// Requests of one kind of operation; narrow them with the other methods.
    pub fn of(operation: Operation) -> Self {
        RequestMatch {
            operation,
            ..RequestMatch::default()
        }
    }

    /// Only requests for this resource type (kind, plural, singular or short name).
    pub fn resource(mut self, resource: &str) -> Self {
        self.resource = Some(resource.to_string());
        self
    }

    /// Only requests for the object with this name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// Only requests in this namespace.
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_string());
        self
    }

    /// Only requests with this HTTP method.
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_string());
        self
    }

    /// Only requests whose path contains `text`.
    pub fn path_contains(mut self, text: &str) -> Self {
        self.path_contains = Some(text.to_string());
        self
    }

    /// Only dry runs (`dryRun=All`) when `dry_run` is true; only requests that change
    /// something when it is false, e.g. the apply that follows a client's dry-run check.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = Some(dry_run);
        self
    }

    /// Only the `n`th matching request, counted from when the fault is added.
    pub fn nth(mut self, n: u32) -> Self {
        self.nth = Some(n);
        self
    }
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
///
/// Actions that answer (`Fail`, `Conflict`, `Status`, `TooManyRequests`,
/// `QuotaExceeded`, `WebhookDenied`) do so before the request is handled,
/// so a failed write changes nothing, unless wrapped in `AfterCommit`.
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
    /// Answer with exactly this `metav1.Status` body: its `code` is the HTTP
    /// status, and `details.retryAfterSeconds` also becomes a `Retry-After`
    /// header, as on the real server. The presets on [`FaultAction`] build
    /// the bodies real servers send.
    Status(Value),
    /// `429` as API Priority and Fairness (or the max-in-flight filter)
    /// rejects a request: a plain-text body and a `Retry-After` header.
    TooManyRequests {
        /// The `Retry-After` header, in seconds (the real filters send 1).
        retry_after_seconds: u32,
    },
    /// `403 Forbidden` from the ResourceQuota admission plugin:
    /// `configmaps "x" is forbidden: exceeded quota: <quota>, requested: <r>=<n>, used: <r>=<n>, limited: <r>=<n>`,
    /// naming the object from the URL or, for a create, from the body.
    QuotaExceeded {
        /// Name of the ResourceQuota.
        quota: String,
        /// Quota resource name; `count/<plural>[.<group>]` of the request's type when absent.
        #[serde(default)]
        resource: Option<String>,
        /// What the request would add.
        requested: String,
        /// What is in use.
        used: String,
        /// The quota's hard limit.
        limited: String,
    },
    /// A validating admission webhook's rejection: the webhook's own status
    /// with the message `admission webhook "<webhook>" denied the request: <message>`.
    /// A code below 400 (or none) becomes 400, as on the real server.
    WebhookDenied {
        /// The webhook's name, e.g. `policy.example.com`.
        webhook: String,
        /// The code the webhook answered; 400 when absent.
        #[serde(default)]
        code: Option<u16>,
        /// The reason the webhook answered; none when absent.
        #[serde(default)]
        reason: Option<String>,
        /// The webhook's message.
        #[serde(default)]
        message: Option<String>,
    },
    /// Hold the request until the named gate releases it (see [`crate::Gate`]).
    Hold {
        /// Name of the gate.
        gate: String,
    },
    /// Handle the request for real (a write is committed, its resourceVersion
    /// advances and watchers see it), then carry out this action instead of
    /// answering with the result: fail with a 5xx, drop the connection, delay
    /// or hold the answer.
    AfterCommit(Box<FaultAction>),
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
        Fault::new(
            when,
            FaultAction::Delay {
                ms: crate::time::millis(delay),
            },
        )
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

    /// Hold matching requests until the gate named `gate` releases them
    /// (see [`crate::TestApiServer::gate`]).
    pub fn hold(gate: &str, when: RequestMatch) -> Self {
        Fault::new(
            when,
            FaultAction::Hold {
                gate: gate.to_string(),
            },
        )
    }

    /// Carry the action out after the request was handled for real (see
    /// [`FaultAction::AfterCommit`]).
    pub fn after_commit(mut self) -> Self {
        self.action = self.action.after_commit();
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

    /// This action, carried out after the request was handled for real.
    pub fn after_commit(self) -> Self {
        match self {
            FaultAction::AfterCommit(_) => self,
            action => FaultAction::AfterCommit(Box::new(action)),
        }
    }
}

/// Identifies an added fault, for removing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FaultId(pub u64);

/// What the server knows about a request when deciding on faults.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    /// HTTP method.
    pub method: String,
    /// URL path.
    pub path: String,
    /// Whether it is a watch.
    pub watch: bool,
    /// Resource type addressed, if any.
    pub resource: Option<Arc<ResourceType>>,
    /// Namespace from the URL.
    pub namespace: Option<String>,
    /// Object name from the URL.
    pub name: Option<String>,
    /// Whether it asks for a dry run (`dryRun=All`).
    pub dry_run: bool,
}

/// What to do with a request: some things before it is handled, some after.
#[derive(Debug, Default)]
pub struct Decision {
    /// Before the request is handled.
    pub before: Effects,
    /// After it was handled (a write committed), before it is answered.
    pub after: Effects,
}

/// The combined effect of the faults that fired at one point of a request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Effects {
    /// Wait this long first (the longest of several delays).
    pub delay: Option<Duration>,
    /// Then wait for this gate to release the request.
    pub hold: Option<String>,
    /// Close the connection without answering.
    pub drop: bool,
    /// Answer with this instead of going on.
    pub answer: Option<FaultAction>,
}

impl Effects {
    /// Whether the request's answer is already decided (a drop or an answer).
    fn decided(&self) -> bool {
        self.drop || self.answer.is_some()
    }

    /// Add `action`, unless it cannot combine with what is there: one answer
    /// (or drop) and one gate per point; delays combine. Returns whether it fired.
    fn add(&mut self, action: &FaultAction) -> bool {
        match action {
            FaultAction::AfterCommit(inner) => return self.add(inner),
            FaultAction::Delay { ms } => {
                let delay = Duration::from_millis(*ms);
                self.delay = Some(self.delay.map_or(delay, |d| d.max(delay)));
            }
            FaultAction::Hold { gate } if self.hold.is_none() => self.hold = Some(gate.clone()),
            FaultAction::Hold { .. } => return false,
            _ if self.decided() => return false,
            FaultAction::Drop => self.drop = true,
            answer => self.answer = Some(answer.clone()),
        }
        true
    }
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
    pub fn decide(&self, request: &RequestFacts) -> Decision {
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
            let effects = match active.fault.action {
                FaultAction::AfterCommit(_) => &mut decision.after,
                _ => &mut decision.before,
            };
            if effects.add(&active.fault.action) {
                active.fired += 1;
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

fn matches(when: &RequestMatch, request: &RequestFacts) -> bool {
    let operation = match (request.method.as_str(), request.watch) {
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
    let resource = when.resource.as_deref().is_none_or(|wanted| {
        request
            .resource
            .as_ref()
            .is_some_and(|r| r.answers_to(wanted))
    });
    operation
        && resource
        && when
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(&request.method))
        && when
            .path_contains
            .as_deref()
            .is_none_or(|p| request.path.contains(p))
        && when
            .name
            .as_deref()
            .is_none_or(|n| request.name.as_deref() == Some(n))
        && when
            .namespace
            .as_deref()
            .is_none_or(|ns| request.namespace.as_deref() == Some(ns))
        && when
            .dry_run
            .is_none_or(|dry_run| dry_run == request.dry_run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;

    fn facts(
        method: &str,
        resource: Option<&Arc<ResourceType>>,
        name: Option<&str>,
    ) -> RequestFacts {
        RequestFacts {
            method: method.to_string(),
            path: "/api/v1/namespaces/default/configmaps".to_string(),
            watch: false,
            resource: resource.cloned(),
            namespace: Some("default".to_string()),
            name: name.map(str::to_string),
            dry_run: false,
        }
    }

    #[test]
    fn nth_write_counts_from_when_the_fault_is_added() {
        let faults = Faults::default();
        faults.add(Fault::fail_nth_write(2, 503, "down"));
        assert!(
            faults
                .decide(&facts("GET", None, None))
                .before
                .answer
                .is_none()
        );
        assert!(
            faults
                .decide(&facts("POST", None, None))
                .before
                .answer
                .is_none()
        );
        let second = faults.decide(&facts("PUT", None, None)).before.answer;
        assert_eq!(second, Some(FaultAction::fail(503, "down")));
        assert!(
            faults
                .decide(&facts("PUT", None, None))
                .before
                .answer
                .is_none(),
            "one-shot faults go away"
        );
        assert!(faults.list().is_empty());
    }

    #[test]
    fn names_and_kinds_narrow_the_match() {
        let catalogue = Catalogue::builtin();
        let configmaps = catalogue.find("", "v1", "configmaps").unwrap();
        let faults = Faults::default();
        faults.add(Fault::conflict_on_next_update("ConfigMap", "x"));
        let other = faults.decide(&facts("PATCH", Some(&configmaps), Some("y")));
        assert!(other.before.answer.is_none());
        let named = faults.decide(&facts("PATCH", Some(&configmaps), Some("x")));
        assert_eq!(named.before.answer, Some(FaultAction::Conflict));
    }

    #[test]
    fn dry_runs_and_real_writes_are_told_apart() {
        let faults = Faults::default();
        let when = RequestMatch::of(Operation::Update).dry_run(false);
        faults.add(Fault::new(when, FaultAction::fail(500, "real")));
        let dry_run = RequestFacts {
            dry_run: true,
            ..facts("PATCH", None, None)
        };
        assert!(faults.decide(&dry_run).before.answer.is_none());
        assert_eq!(
            faults.decide(&facts("PATCH", None, None)).before.answer,
            Some(FaultAction::fail(500, "real"))
        );
    }

    #[test]
    fn persistent_faults_stay_until_removed() {
        let faults = Faults::default();
        let id = faults.add(Fault::delay(None, Duration::from_millis(5)).persistent());
        for _ in 0..3 {
            assert_eq!(
                faults.decide(&facts("GET", None, None)).before.delay,
                Some(Duration::from_millis(5))
            );
        }
        assert!(faults.remove(id));
        assert!(
            faults
                .decide(&facts("GET", None, None))
                .before
                .delay
                .is_none()
        );
    }

    #[test]
    fn after_commit_actions_act_after_handling_and_one_answer_wins() {
        let faults = Faults::default();
        faults.add(Fault::drop_connection("/configmaps").after_commit());
        faults.add(Fault::delay(None, Duration::from_millis(5)).after_commit());
        faults.add(Fault::fail_nth_write(1, 500, "second answer"));
        faults.add(Fault::fail_nth_write(1, 503, "third answer"));
        let decision = faults.decide(&facts("POST", None, None));
        assert_eq!(
            decision.after,
            Effects {
                delay: Some(Duration::from_millis(5)),
                drop: true,
                ..Effects::default()
            }
        );
        assert_eq!(
            decision.before.answer,
            Some(FaultAction::fail(500, "second answer"))
        );
        assert_eq!(faults.list().len(), 1, "the third never fired and stays");
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
        let after: Fault =
            serde_json::from_str(r#"{"action": {"after_commit": {"fail": {"code": 504}}}}"#)
                .unwrap();
        assert_eq!(
            after.action,
            FaultAction::AfterCommit(Box::new(FaultAction::Fail {
                code: 504,
                reason: None,
                message: None
            }))
        );
        let real: Fault =
            serde_json::from_str(r#"{"when": {"dry_run": false}, "action": "drop"}"#).unwrap();
        assert_eq!(real.when.dry_run, Some(false));
        let hold: Fault =
            serde_json::from_str(r#"{"action": {"hold": {"gate": "lease"}}}"#).unwrap();
        assert_eq!(
            hold.action,
            FaultAction::Hold {
                gate: "lease".into()
            }
        );
    }
}
