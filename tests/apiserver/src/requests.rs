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
    /// When the request arrived, since the server started.
    #[serde(default)]
    pub arrived: std::time::Duration,
    /// When its answer left (after the slow link's return trip), since the server
    /// started; `None` while it is held or handled, or when it was dropped. A request
    /// that arrived after another was answered may have depended on it: the longest such
    /// chain is an operation's critical path.
    #[serde(default)]
    pub answered: Option<std::time::Duration>,
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

/// The critical path of `requests`: the longest chain in which each request arrived
/// after the one before it was answered, so could have waited for it. Over a slow link,
/// this many round trips is the least an operation takes, however fast everything else.
pub fn critical_path(requests: &[RecordedRequest]) -> usize {
    let mut sorted: Vec<&RecordedRequest> = requests.iter().collect();
    sorted.sort_by_key(|request| request.arrived);
    let mut depth: Vec<usize> = Vec::with_capacity(sorted.len());
    for (index, request) in sorted.iter().enumerate() {
        let before = sorted[..index]
            .iter()
            .zip(&depth)
            .filter(|(earlier, _)| earlier.answered.is_some_and(|at| at <= request.arrived))
            .map(|(_, depth)| *depth)
            .max()
            .unwrap_or(0);
        depth.push(before + 1);
    }
    depth.into_iter().max().unwrap_or(0)
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
#[derive(Debug)]
pub struct RequestLog {
    entries: Mutex<Entries>,
    /// What `arrived` and `answered` count from.
    started: std::time::Instant,
}

impl Default for RequestLog {
    fn default() -> Self {
        Self {
            entries: Mutex::default(),
            started: std::time::Instant::now(),
        }
    }
}

impl RequestLog {
    /// Log a request as it arrives.
    pub fn arrive(&self, mut request: RecordedRequest) -> EntryId {
        request.arrived = self.started.elapsed();
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

    /// Note that a request's answer has left.
    pub fn answered(&self, id: EntryId) {
        let now = self.started.elapsed();
        self.update(id, |request| request.answered = Some(now));
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
            arrived: Default::default(),
            answered: None,
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
    fn the_critical_path_counts_requests_that_waited_for_each_other() {
        let at = |arrived: u64, answered: u64| RecordedRequest {
            method: "GET".into(),
            path: "/".into(),
            query: String::new(),
            content_type: None,
            status: Some(200),
            handled: Some(200),
            injected: Vec::new(),
            arrived: std::time::Duration::from_millis(arrived),
            answered: Some(std::time::Duration::from_millis(answered)),
        };
        // Two in sequence, then three at once, then one more: a chain of four.
        let requests = [
            at(0, 10),
            at(11, 20),
            at(21, 30),
            at(21, 31),
            at(22, 32),
            at(33, 40),
        ];
        assert_eq!(critical_path(&requests), 4);
        assert_eq!(critical_path(&[]), 0);
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
            arrived: Default::default(),
            answered: None,
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
