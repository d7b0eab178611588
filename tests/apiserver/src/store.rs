//! Object storage: objects by key, one global resourceVersion counter, and
//! the event history watches are served from.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::watch;

use crate::api::CrdEstablishment;
use crate::catalogue::{Catalogue, ResourceType};

/// How many events are kept, by default, for watches that resume from an old resourceVersion.
pub const DEFAULT_HISTORY_LIMIT: usize = 20_000;

/// Where an object lives: resource type, namespace (empty when cluster-scoped) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// API group of the resource type.
    pub group: String,
    /// Plural resource name.
    pub resource: String,
    /// Namespace, empty for cluster-scoped objects.
    pub namespace: String,
    /// Object name.
    pub name: String,
}

impl ObjectKey {
    /// The key of `name` in `namespace` for a resource type.
    pub fn new(resource: &ResourceType, namespace: &str, name: &str) -> Self {
        ObjectKey {
            group: resource.group.clone(),
            resource: resource.plural.clone(),
            namespace: if resource.namespaced {
                namespace.to_string()
            } else {
                String::new()
            },
            name: name.to_string(),
        }
    }
}

/// What a change did to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Removed.
    Deleted,
}

/// A change to one object, kept in the history.
#[derive(Debug, Clone)]
pub struct Event {
    /// The resourceVersion the change produced.
    pub revision: u64,
    /// The changed object's key.
    pub key: ObjectKey,
    /// What happened.
    pub kind: EventType,
    /// The object after the change (for deletes: the last state, with the delete's resourceVersion).
    pub object: Arc<Value>,
    /// The object before the change, for label-selector transitions.
    pub previous: Option<Arc<Value>>,
}

/// All objects and their history. Guarded by one mutex in [`crate::server`].
pub struct Store {
    /// Resource types currently served (custom resources come and go).
    pub catalogue: Catalogue,
    /// When new CustomResourceDefinitions are established.
    pub crd_establishment: CrdEstablishment,
    objects: BTreeMap<ObjectKey, Arc<Value>>,
    revision: u64,
    history: VecDeque<Event>,
    history_limit: usize,
    notify: watch::Sender<u64>,
}

impl Store {
    /// An empty store serving the built-in types, keeping `history_limit` events.
    pub fn new(history_limit: usize) -> Self {
        let (notify, _) = watch::channel(0);
        Store {
            catalogue: Catalogue::builtin(),
            crd_establishment: CrdEstablishment::default(),
            objects: BTreeMap::new(),
            revision: 0,
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            notify,
        }
    }

    /// The current resourceVersion: the revision of the latest change.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The oldest revision a watch can resume from.
    pub fn oldest_watchable(&self) -> u64 {
        self.history
            .front()
            .map_or(self.revision, |event| event.revision - 1)
    }

    /// One object.
    pub fn get(&self, key: &ObjectKey) -> Option<Arc<Value>> {
        self.objects.get(key).cloned()
    }

    /// Objects of a resource type, in one namespace or all, in key order.
    pub fn list<'a>(
        &'a self,
        resource: &'a ResourceType,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a ObjectKey, &'a Arc<Value>)> + 'a {
        self.objects.iter().filter(move |(key, _)| {
            key.group == resource.group
                && key.resource == resource.plural
                && namespace.is_none_or(|ns| key.namespace == ns)
        })
    }

    /// Every object in a namespace, of any type.
    pub fn keys_in_namespace(&self, namespace: &str) -> Vec<ObjectKey> {
        self.objects
            .keys()
            .filter(|key| key.namespace == namespace)
            .cloned()
            .collect()
    }

    /// Every object of one resource type, in any namespace.
    pub fn keys_of(&self, group: &str, resource: &str) -> Vec<ObjectKey> {
        self.objects
            .keys()
            .filter(|key| key.group == group && key.resource == resource)
            .cloned()
            .collect()
    }

    /// Store a new or changed object, stamping the next resourceVersion on it.
    pub fn put(&mut self, key: ObjectKey, mut object: Value) -> Arc<Value> {
        let revision = self.next_revision();
        set_resource_version(&mut object, revision);
        let object = Arc::new(object);
        let previous = self.objects.insert(key.clone(), object.clone());
        let kind = if previous.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.record(Event {
            revision,
            key,
            kind,
            object: object.clone(),
            previous,
        });
        object
    }

    /// Remove an object; the returned last state carries the delete's resourceVersion.
    pub fn remove(&mut self, key: &ObjectKey) -> Option<Arc<Value>> {
        let previous = self.objects.remove(key)?;
        let revision = self.next_revision();
        let mut last = (*previous).clone();
        set_resource_version(&mut last, revision);
        let last = Arc::new(last);
        self.record(Event {
            revision,
            key: key.clone(),
            kind: EventType::Deleted,
            object: last.clone(),
            previous: Some(previous),
        });
        Some(last)
    }

    /// Events after `revision`, oldest first.
    pub fn events_after(&self, revision: u64) -> impl Iterator<Item = &Event> {
        let start = self
            .history
            .partition_point(|event| event.revision <= revision);
        self.history.range(start..)
    }

    /// A receiver that changes whenever an event is recorded.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.notify.subscribe()
    }

    fn next_revision(&mut self) -> u64 {
        self.revision += 1;
        self.revision
    }

    fn record(&mut self, event: Event) {
        let revision = event.revision;
        self.history.push_back(event);
        if self.history.len() > self.history_limit {
            self.history.pop_front();
        }
        self.notify.send_replace(revision);
    }
}

fn set_resource_version(object: &mut Value, revision: u64) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("resourceVersion".into(), revision.to_string().into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn revisions_are_global_and_events_are_kept() {
        let mut store = Store::new(DEFAULT_HISTORY_LIMIT);
        let configmaps = store.catalogue.find("", "v1", "configmaps").unwrap();
        let key = ObjectKey::new(&configmaps, "default", "a");
        let created = store.put(key.clone(), json!({"metadata": {"name": "a"}}));
        assert_eq!(created["metadata"]["resourceVersion"], "1");
        store.put(key.clone(), json!({"metadata": {"name": "a"}, "data": {}}));
        let deleted = store.remove(&key).unwrap();
        assert_eq!(deleted["metadata"]["resourceVersion"], "3");
        let kinds: Vec<EventType> = store.events_after(1).map(|e| e.kind).collect();
        assert_eq!(kinds, [EventType::Modified, EventType::Deleted]);
        assert!(store.get(&key).is_none());
    }
}
