//! What is known about every resource being waited for, fed by the watches.

use std::collections::{BTreeMap, BTreeSet};

use super::watch::{Change, WaitKind, WatchSpec};
use super::{NotReady, ReadyState, WaitTarget};
use crate::render::ResourceId;

struct Entry {
    resource: ResourceId,
    state: ReadyState,
}

/// Per watch: the names a relist in progress has mentioned, and the last error.
#[derive(Default)]
struct WatchProgress {
    relisted: Option<BTreeSet<String>>,
    error: Option<String>,
}

pub struct Board {
    specs: Vec<WatchSpec>,
    /// Keyed by (index of the watch, object name).
    entries: BTreeMap<(usize, String), Entry>,
    watches: Vec<WatchProgress>,
}

impl Board {
    /// The resources of `targets` that need waiting for, grouped into watches. Targets
    /// without a namespace are in `default_namespace`. `kind_of` says which targets need
    /// waiting for, and how.
    pub fn new(
        targets: &[WaitTarget],
        default_namespace: &str,
        kind_of: fn(&str, &str) -> Option<WaitKind>,
    ) -> Self {
        let mut grouped: BTreeMap<(WaitKind, String), Vec<&WaitTarget>> = BTreeMap::new();
        for target in targets {
            if let Some(kind) = kind_of(&target.id.api_version, &target.id.kind) {
                let namespace = target.id.namespace.as_deref().unwrap_or(default_namespace);
                grouped
                    .entry((kind, namespace.to_string()))
                    .or_default()
                    .push(target);
            }
        }
        let mut specs = Vec::new();
        let mut entries = BTreeMap::new();
        for ((kind, namespace), members) in grouped {
            let index = specs.len();
            for member in &members {
                let resource = ResourceId {
                    namespace: Some(namespace.clone()),
                    ..member.id.clone()
                };
                let state = ReadyState::unobserved();
                entries.insert((index, member.id.name.clone()), Entry { resource, state });
            }
            specs.push(WatchSpec {
                kind,
                names: members.iter().map(|m| m.id.name.clone()).collect(),
                common_labels: common_labels(&members),
                namespace,
            });
        }
        let watches = specs.iter().map(|_| WatchProgress::default()).collect();
        Board {
            specs,
            entries,
            watches,
        }
    }

    pub fn specs(&self) -> &[WatchSpec] {
        &self.specs
    }

    pub fn resources(&self) -> Vec<ResourceId> {
        self.entries
            .values()
            .map(|entry| entry.resource.clone())
            .collect()
    }

    pub fn all_ready(&self) -> bool {
        self.entries.values().all(|entry| entry.state.is_ready())
    }

    /// Whether every resource is ready or failed.
    pub fn all_finished(&self) -> bool {
        self.entries
            .values()
            .all(|entry| !matches!(entry.state, ReadyState::Waiting(_)))
    }

    /// Every resource and where it stands.
    pub fn states(&self) -> Vec<(ResourceId, ReadyState)> {
        self.entries
            .values()
            .map(|entry| (entry.resource.clone(), entry.state.clone()))
            .collect()
    }

    /// Takes in one change from watch `watch`; answers the resources whose state changed.
    pub fn apply(&mut self, watch: usize, change: Change) -> Vec<(ResourceId, ReadyState)> {
        let progress = &mut self.watches[watch];
        // The watch works again.
        progress.error = None;
        match change {
            Change::Relisting => {
                progress.relisted = Some(BTreeSet::new());
                Vec::new()
            }
            Change::Seen { name, state } => {
                if let Some(relisted) = &mut progress.relisted {
                    relisted.insert(name.clone());
                }
                self.set(watch, &name, state).into_iter().collect()
            }
            Change::Listed => {
                let relisted = progress.relisted.take().unwrap_or_default();
                let missing: Vec<String> = self.specs[watch]
                    .names
                    .difference(&relisted)
                    .cloned()
                    .collect();
                missing
                    .iter()
                    .filter_map(|name| self.set(watch, name, not_found()))
                    .collect()
            }
            Change::Gone { name } => self.set(watch, &name, not_found()).into_iter().collect(),
        }
    }

    /// Remembers why watch `watch` is failing, to explain a timeout. Answers whether this
    /// is news: a different error from the last one.
    pub fn watch_failed(&mut self, watch: usize, error: String) -> bool {
        let last = &mut self.watches[watch].error;
        let news = last.as_ref() != Some(&error);
        *last = Some(error);
        news
    }

    /// Every resource not ready, with why.
    pub fn not_ready(&self) -> Vec<NotReady> {
        self.entries
            .iter()
            .filter_map(|((watch, _), entry)| {
                let ReadyState::Waiting(reason) = &entry.state else {
                    return None;
                };
                let reason = match &self.watches[*watch].error {
                    Some(error) => format!("{reason}; watching it failed: {error}"),
                    None => reason.clone(),
                };
                Some(NotReady {
                    resource: entry.resource.clone(),
                    reason,
                })
            })
            .collect()
    }

    fn set(
        &mut self,
        watch: usize,
        name: &str,
        state: ReadyState,
    ) -> Option<(ResourceId, ReadyState)> {
        // The watch may cover objects of the kind that are not waited for.
        let entry = self.entries.get_mut(&(watch, name.to_string()))?;
        if entry.state == state {
            return None;
        }
        entry.state = state.clone();
        Some((entry.resource.clone(), state))
    }
}

fn not_found() -> ReadyState {
    ReadyState::Waiting("not found".to_string())
}

fn common_labels(members: &[&WaitTarget]) -> BTreeMap<String, String> {
    let mut common = members
        .first()
        .map(|m| m.labels.clone())
        .unwrap_or_default();
    for member in members {
        common.retain(|key, value| member.labels.get(key) == Some(value));
    }
    common
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(kind: &str, api_version: &str, name: &str, labels: &[(&str, &str)]) -> WaitTarget {
        WaitTarget {
            id: ResourceId {
                api_version: api_version.into(),
                kind: kind.into(),
                namespace: None,
                name: name.into(),
            },
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn one_watch_per_kind_and_namespace_narrowed_by_shared_labels() {
        let targets = [
            target(
                "Deployment",
                "apps/v1",
                "web",
                &[("app", "web"), ("release", "demo")],
            ),
            target(
                "Deployment",
                "apps/v1",
                "api",
                &[("app", "api"), ("release", "demo")],
            ),
            target("ConfigMap", "v1", "settings", &[]),
            target("Job", "batch/v1", "migrate", &[]),
        ];
        let board = Board::new(&targets, "shop", WaitKind::of);
        let summary: Vec<String> = board
            .specs()
            .iter()
            .map(|spec| {
                let names: Vec<&str> = spec.names.iter().map(String::as_str).collect();
                let labels: Vec<String> = spec
                    .common_labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                format!(
                    "{} in {}: {} [{}]",
                    spec.kind.name(),
                    spec.namespace,
                    names.join(" "),
                    labels.join(",")
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                "Deployment in shop: api web [release=demo]",
                "Job in shop: migrate []"
            ]
        );
        assert_eq!(board.resources().len(), 3);
    }

    #[test]
    fn objects_missing_from_a_relist_are_not_found_and_changes_are_reported_once() {
        let mut board = Board::new(
            &[target("Deployment", "apps/v1", "web", &[])],
            "default",
            WaitKind::of,
        );
        assert!(board.apply(0, Change::Relisting).is_empty());
        let changed = board.apply(0, Change::Listed);
        assert_eq!(changed.len(), 1);
        assert_eq!(
            board.not_ready()[0].to_string(),
            "Deployment default/web: not found"
        );
        assert!(
            board
                .apply(0, Change::Gone { name: "web".into() })
                .is_empty(),
            "no change, no report"
        );
        let ready = board.apply(
            0,
            Change::Seen {
                name: "web".into(),
                state: ReadyState::Ready,
            },
        );
        assert_eq!(ready.len(), 1);
        assert!(board.all_ready());
    }

    #[test]
    fn a_failing_watch_explains_the_wait() {
        let mut board = Board::new(
            &[target("Job", "batch/v1", "migrate", &[])],
            "default",
            WaitKind::of,
        );
        assert!(board.watch_failed(0, "connection refused".into()));
        assert!(
            !board.watch_failed(0, "connection refused".into()),
            "the same error again is no news"
        );
        assert_eq!(
            board.not_ready()[0].to_string(),
            "Job default/migrate: not observed yet; watching it failed: connection refused"
        );
    }
}
