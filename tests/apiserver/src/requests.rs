//! The request log tests read to count and inspect API requests: one entry
//! per request in arrival order, saying what the server did with it and
//! what the client saw.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::path::Query;

/// One API request as the server saw it, in arrival order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `PATCH`.
    pub method: String,
    /// URL path, e.g. `/api/v1/namespaces/default/secrets`.
    pub path: String,
    /// Raw query string without the `?`, empty when absent.
    pub query: String,
    /// `Content-Type` of the request, if any.
    pub content_type: Option<String>,
    /// The status code the client saw; `None` when the connection was closed
    /// without an answer (`injected` then has `Dropped`), or no answer was
    /// given yet (the request is held or still being handled).
    pub status: Option<u16>,
    /// The status code the server's own handling produced; `None` when it did
    /// not handle the request because a fault answered or dropped it first.
    /// It differs from `status` when a fault acted after the request was
    /// handled (for a write: after it was committed).
    #[serde(default)]
    pub handled: Option<u16>,
    /// What injected faults did to the request, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub injected: Vec<Injected>,
}

/// Something an injected fault did to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Injected {
    /// It waited for a delay.
    Delayed,
    /// It was held at a gate until a test released it.
    Held,
    /// A fault answered it with a failure.
    Failed,
    /// A fault closed its connection without an answer.
    Dropped,
}

impl RecordedRequest {
    /// A decoded query parameter, e.g. `fieldManager`.
    pub fn query_param(&self, key: &str) -> Option<String> {
        Query::parse(Some(&self.query)).get(key).map(str::to_string)
    }

    /// Whether the request was a write (POST, PUT, PATCH or DELETE).
    pub fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
    }

    /// Whether the request was a watch.
    pub fn is_watch(&self) -> bool {
        self.method == "GET" && matches!(self.query_param("watch").as_deref(), Some("true" | "1"))
    }
}

/// Where a request sits in the log, for filling in what happens to it later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryId(u64);

#[derive(Debug, Default)]
struct Entries {
    next: u64,
    /// Ordered by id, which is arrival order.
    entries: Vec<(EntryId, RecordedRequest)>,
}

/// The log itself, shared by every connection.
#[derive(Debug, Default)]
pub struct RequestLog {
    entries: Mutex<Entries>,
}

impl RequestLog {
    /// Log a request as it arrives.
    pub fn arrive(&self, request: RecordedRequest) -> EntryId {
        let mut log = self.lock();
        let id = EntryId(log.next);
        log.next += 1;
        log.entries.push((id, request));
        id
    }

    /// Change a logged request; nothing happens when the log was cleared since.
    pub fn update(&self, id: EntryId, change: impl FnOnce(&mut RecordedRequest)) {
        let mut log = self.lock();
        if let Ok(index) = log
            .entries
            .binary_search_by_key(&id.0, |(entry, _)| entry.0)
        {
            change(&mut log.entries[index].1);
        }
    }

    /// A copy of every request so far.
    pub fn snapshot(&self) -> Vec<RecordedRequest> {
        self.lock()
            .entries
            .iter()
            .map(|(_, request)| request.clone())
            .collect()
    }

    /// Forget every request so far.
    pub fn clear(&self) {
        self.lock().entries.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave the entries half-written.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_query_parameters() {
        let request = RecordedRequest {
            method: "GET".into(),
            path: "/api/v1/pods".into(),
            query: "watch=1&fieldManager=rchart%2Dx".into(),
            content_type: None,
            status: Some(200),
            handled: Some(200),
            injected: Vec::new(),
        };
        assert!(request.is_watch());
        assert!(!request.is_write());
        assert_eq!(
            request.query_param("fieldManager").as_deref(),
            Some("rchart-x")
        );
    }

    #[test]
    fn entries_stay_in_arrival_order_and_are_filled_in_later() {
        let log = RequestLog::default();
        let request = |path: &str| RecordedRequest {
            method: "GET".into(),
            path: path.into(),
            query: String::new(),
            content_type: None,
            status: None,
            handled: None,
            injected: Vec::new(),
        };
        let first = log.arrive(request("/a"));
        let second = log.arrive(request("/b"));
        log.update(second, |r| r.status = Some(200));
        log.update(first, |r| r.injected.push(Injected::Held));
        let paths: Vec<_> = log
            .snapshot()
            .into_iter()
            .map(|r| (r.path, r.status))
            .collect();
        assert_eq!(paths, [("/a".into(), None), ("/b".into(), Some(200))]);
        log.clear();
        log.update(first, |r| r.status = Some(500));
        assert!(
            log.snapshot().is_empty(),
            "forgotten requests stay forgotten"
        );
    }
}
