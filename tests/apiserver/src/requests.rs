//! The request log tests read to count and inspect API requests.

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
    /// Response status code; `None` when the connection was dropped by a fault.
    pub status: Option<u16>,
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

/// The log itself, shared by every connection.
#[derive(Debug, Default)]
pub struct RequestLog {
    entries: Mutex<Vec<RecordedRequest>>,
}

impl RequestLog {
    /// Append one request.
    pub fn record(&self, request: RecordedRequest) {
        self.lock().push(request);
    }

    /// A copy of every request so far.
    pub fn snapshot(&self) -> Vec<RecordedRequest> {
        self.lock().clone()
    }

    /// Forget every request so far.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RecordedRequest>> {
        // A panic while holding the lock cannot leave the Vec half-written.
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
        };
        assert!(request.is_watch());
        assert!(!request.is_write());
        assert_eq!(
            request.query_param("fieldManager").as_deref(),
            Some("rchart-x")
        );
    }
}
