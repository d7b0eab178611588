//! Watches: a chunked stream of `{"type":…,"object":…}` lines.
//!
//! Semantics follow the real server: `resourceVersion` absent, empty or `0`
//! starts with synthetic `ADDED` events for every current object; a specific
//! version streams the changes after it (or a 410 `Expired` error event when
//! it is older than the kept history); `sendInitialEvents=true` ends the
//! initial events with a bookmark annotated `k8s.io/initial-events-end`.
//! An object leaving a label selector is reported as `DELETED`, one
//! entering it as `ADDED`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::Target;
use super::read::Selection;
use crate::path::Query;
use crate::server::Shared;
use crate::status::ApiError;
use crate::store::{Event, EventType, Store};
use crate::table::RowObject;

/// Tunables of watch streams.
#[derive(Debug, Clone)]
pub struct WatchSettings {
    /// How often a `BOOKMARK` is sent when the client allows them.
    pub bookmark_interval: Duration,
    /// Timeout when the client sets no `timeoutSeconds`.
    pub default_timeout: Duration,
    /// How many changes are kept for watches resuming from an older
    /// resourceVersion; older ones get `410 Expired`.
    pub history_limit: usize,
}

impl Default for WatchSettings {
    fn default() -> Self {
        WatchSettings {
            bookmark_interval: Duration::from_secs(10),
            default_timeout: Duration::from_secs(1800),
            history_limit: crate::store::DEFAULT_HISTORY_LIMIT,
        }
    }
}

/// Start a watch; events are sent on the returned channel until the
/// timeout passes or the client goes away.
pub fn start(
    shared: &Arc<Shared>,
    store: &Store,
    target: &Target,
    query: &Query,
    as_table: Option<RowObject>,
) -> Result<mpsc::Receiver<Bytes>, ApiError> {
    let settings = &shared.watch_settings;
    let selection = Selection::from_query(query, &target.resource.kind)?;
    let timeout = query
        .non_empty("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map_or(settings.default_timeout, Duration::from_secs);
    let bookmarks = query.flag("allowWatchBookmarks");
    let requested = query.non_empty("resourceVersion").filter(|rv| *rv != "0");
    let send_initial = query.flag("sendInitialEvents");
    let (sender, receiver) = mpsc::channel(64);
    let mut initial: Vec<Bytes> = Vec::new();
    let mut expired_start = false;
    let start_revision = match requested {
        Some(version) if !send_initial => {
            let revision: u64 = version.parse().map_err(|_| {
                ApiError::bad_request(format!("invalid resource version: {version}"))
            })?;
            if revision < store.oldest_watchable() {
                initial.push(line("ERROR", &expired(revision, store.oldest_watchable())));
                expired_start = true;
            }
            revision
        }
        _ => {
            for (_, object) in store.list(&target.resource, target.namespace.as_deref()) {
                if selection.matches(object) {
                    initial.push(line("ADDED", &shown(target, object, as_table)));
                }
            }
            if send_initial {
                let mut bookmark = bookmark_object(target, store.revision());
                bookmark["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
                initial.push(line("BOOKMARK", &bookmark));
            }
            store.revision()
        }
    };
    let stream = Stream {
        shared: shared.clone(),
        target: target.clone(),
        selection,
        sender,
        last_sent: start_revision,
        expired: expired_start,
        as_table,
    };
    let changes = store.subscribe();
    let interval = settings.bookmark_interval;
    tokio::spawn(stream.run(
        initial,
        changes,
        Instant::now() + timeout,
        bookmarks.then_some(interval),
    ));
    Ok(receiver)
}

struct Stream {
    shared: Arc<Shared>,
    target: Target,
    selection: Selection,
    sender: mpsc::Sender<Bytes>,
    last_sent: u64,
    expired: bool,
    as_table: Option<RowObject>,
}

impl Stream {
    async fn run(
        mut self,
        initial: Vec<Bytes>,
        mut changes: tokio::sync::watch::Receiver<u64>,
        deadline: Instant,
        bookmarks: Option<Duration>,
    ) {
        for event in initial {
            if self.sender.send(event).await.is_err() {
                return;
            }
        }
        if self.expired {
            return;
        }
        let mut next_bookmark = bookmarks.map(|interval| Instant::now() + interval);
        loop {
            let lines = self.pending_lines();
            for line in lines {
                if self.sender.send(line).await.is_err() {
                    return;
                }
            }
            let wake = next_bookmark.map_or(deadline, |b| b.min(deadline));
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep_until(wake) => {
                    if Instant::now() >= deadline {
                        return;
                    }
                    if let (Some(interval), Some(_)) = (bookmarks, next_bookmark) {
                        let revision = self.shared.store().revision();
                        self.last_sent = self.last_sent.max(revision);
                        let bookmark = line("BOOKMARK", &bookmark_object(&self.target, self.last_sent));
                        if self.sender.send(bookmark).await.is_err() {
                            return;
                        }
                        next_bookmark = Some(Instant::now() + interval);
                    }
                }
                _ = self.sender.closed() => return,
            }
        }
    }

    /// Lines for the events recorded since the last one sent.
    fn pending_lines(&mut self) -> Vec<Bytes> {
        let store = self.shared.store();
        let mut lines = Vec::new();
        for event in store.events_after(self.last_sent) {
            if let Some((kind, object)) = self.translate(event) {
                lines.push(line(kind, &shown(&self.target, object, self.as_table)));
            }
        }
        self.last_sent = store.revision();
        lines
    }

    /// The event as this watch sees it, after scope and selector filtering.
    fn translate<'e>(&self, event: &'e Event) -> Option<(&'static str, &'e Value)> {
        let resource = &self.target.resource;
        let key = &event.key;
        if key.group != resource.group || key.resource != resource.plural {
            return None;
        }
        if self
            .target
            .namespace
            .as_deref()
            .is_some_and(|ns| ns != key.namespace)
        {
            return None;
        }
        let now = self.selection.matches(&event.object);
        let before = event
            .previous
            .as_deref()
            .is_some_and(|previous| self.selection.matches(previous));
        let kind = match (event.kind, before, now) {
            (EventType::Added, _, true) => "ADDED",
            (EventType::Modified, true, true) => "MODIFIED",
            (EventType::Modified, false, true) => "ADDED",
            (EventType::Modified, true, false) => "DELETED",
            (EventType::Deleted, true, _) => "DELETED",
            _ => return None,
        };
        Some((kind, &event.object))
    }
}

/// The object as the client asked to see it: itself, or a one-row Table.
fn shown(target: &Target, object: &Value, as_table: Option<RowObject>) -> Value {
    match as_table {
        None => object.clone(),
        Some(include) => {
            let mut metadata = serde_json::Map::new();
            if let Some(version) = object.pointer("/metadata/resourceVersion") {
                metadata.insert("resourceVersion".into(), version.clone());
            }
            crate::table::table(&target.resource, &[object], metadata, include)
        }
    }
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut text = json!({"type": kind, "object": object}).to_string();
    text.push('\n');
    Bytes::from(text)
}

fn bookmark_object(target: &Target, revision: u64) -> Value {
    json!({
        "kind": target.resource.kind,
        "apiVersion": target.resource.api_version(),
        "metadata": {"resourceVersion": revision.to_string(), "creationTimestamp": null},
    })
}

fn expired(requested: u64, oldest: u64) -> Value {
    ApiError::new(
        410,
        "Expired",
        format!("too old resource version: {requested} ({oldest})"),
    )
    .to_status()
}
