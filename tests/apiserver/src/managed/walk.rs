//! Walking objects as field sets: which paths an object sets, how two
//! versions differ, and the structured merge server-side apply performs.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::fieldset::{FieldSet, Path, PathElement};
use crate::schema::{self, ListKey, ListType};

/// Which part of an object a request may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The whole object (types without a status subresource).
    Everything,
    /// The main resource of a type with a status subresource: `status` is not written.
    NoStatus,
    /// The `/status` subresource: only `status` is written.
    OnlyStatus,
}

impl Scope {
    fn ignores_top_level(self, field: &str) -> bool {
        match self {
            Scope::Everything => false,
            Scope::NoStatus => field == "status",
            Scope::OnlyStatus => field != "status",
        }
    }
}

/// Fields no manager ever owns: identity and server-set metadata.
fn is_ignored(names: &[&str], scope: Scope) -> bool {
    match names {
        ["apiVersion" | "kind"] => true,
        [top] => scope.ignores_top_level(top),
        [
            "metadata",
            "name"
            | "namespace"
            | "uid"
            | "resourceVersion"
            | "generation"
            | "creationTimestamp"
            | "deletionTimestamp"
            | "deletionGracePeriodSeconds"
            | "managedFields"
            | "selfLink",
        ] => true,
        _ => false,
    }
}

/// How a path belongs to an object's field set.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Member<'v> {
    /// A scalar, atomic list/map or empty container, with its value.
    Leaf(&'v Value),
    /// An item of a keyed list or set.
    Item,
    /// A free-form string map (`labels`, `data`, ...), member only for updates.
    MapNode,
}

/// Knows the object kind, which decides list and map semantics.
#[derive(Debug, Clone, Copy)]
pub struct Walker<'k> {
    kind: &'k str,
    scope: Scope,
}

impl<'k> Walker<'k> {
    /// A walker for objects of `kind`, limited to what `scope` may write.
    pub fn new(kind: &'k str, scope: Scope) -> Self {
        Walker { kind, scope }
    }

    /// The fields an applied configuration sets: leaves and list items.
    pub fn applied_fields(&self, object: &Value) -> FieldSet {
        let mut set = FieldSet::new();
        for (path, member) in self.members(object) {
            if !matches!(member, Member::MapNode) {
                set.insert(path);
            }
        }
        set
    }

    /// Compare two versions of an object, as the real field manager does for updates.
    pub fn compare(&self, old: &Value, new: &Value) -> Comparison {
        let old_members = self.members(old);
        let new_members = self.members(new);
        let mut comparison = Comparison::default();
        for (path, member) in &new_members {
            match (old_members.get(path), member) {
                (None, _) => comparison.added.insert(path.clone()),
                (Some(Member::Leaf(before)), Member::Leaf(after)) if before != after => {
                    comparison.modified.insert(path.clone())
                }
                _ => {}
            }
        }
        for path in old_members.keys() {
            if !new_members.contains_key(path) {
                comparison.removed.insert(path.clone());
            }
        }
        comparison
    }

    fn members<'v>(&self, object: &'v Value) -> BTreeMap<Path, Member<'v>> {
        let mut members = BTreeMap::new();
        if let Some(fields) = object.as_object() {
            let mut walk = Walk {
                walker: *self,
                path: Vec::new(),
                names: Vec::new(),
                members: &mut members,
            };
            walk.fields(fields);
        }
        members
    }

    /// The value at `path`, if the object has it.
    pub fn value_at<'v>(&self, object: &'v Value, path: &[PathElement]) -> Option<&'v Value> {
        let mut current = object;
        let mut names: Vec<&str> = Vec::new();
        for element in path {
            current = match element {
                PathElement::Field(name) => {
                    names.push(name);
                    current.get(name.as_str())?
                }
                PathElement::Key(key) => {
                    let keys = self.list_keys(&names)?;
                    current
                        .as_array()?
                        .iter()
                        .find(|item| item_key(item, keys) == *key)?
                }
                PathElement::Value(value) => {
                    let wanted = set_item(value);
                    current.as_array()?.iter().find(|item| **item == wanted)?
                }
                PathElement::Index(index) => current.as_array()?.get(*index)?,
            };
        }
        Some(current)
    }

    /// Remove the field or list item at `path`, then any maps left empty by that.
    pub fn remove_at(&self, object: &mut Value, path: &[PathElement]) {
        let Some((last, parent_path)) = path.split_last() else {
            return;
        };
        let Some(parent) = self.value_at_mut(object, parent_path) else {
            return;
        };
        let removed = match (last, parent) {
            (PathElement::Field(name), Value::Object(map)) => map.shift_remove(name).is_some(),
            (PathElement::Key(key), Value::Array(items)) => {
                let keys = self.list_keys(&field_names(parent_path));
                let before = items.len();
                items.retain(|item| keys.is_none_or(|keys| item_key(item, keys) != *key));
                before != items.len()
            }
            (PathElement::Value(value), Value::Array(items)) => {
                let before = items.len();
                let unwanted = set_item(value);
                items.retain(|item| *item != unwanted);
                before != items.len()
            }
            _ => false,
        };
        // A map emptied by the removal disappears, as `omitempty` makes it
        // disappear from the real server's JSON. Top-level fields stay.
        if removed
            && parent_path.len() > 1
            && matches!(parent_path.last(), Some(PathElement::Field(_)))
        {
            let now_empty = self
                .value_at(object, parent_path)
                .is_some_and(|v| v.as_object().is_some_and(Map::is_empty));
            if now_empty {
                self.remove_at(object, parent_path);
            }
        }
    }

    fn value_at_mut<'v>(
        &self,
        object: &'v mut Value,
        path: &[PathElement],
    ) -> Option<&'v mut Value> {
        let mut current = object;
        let mut names: Vec<&str> = Vec::new();
        for element in path {
            current = match element {
                PathElement::Field(name) => {
                    names.push(name);
                    current.get_mut(name.as_str())?
                }
                PathElement::Key(key) => {
                    let keys = self.list_keys(&names)?;
                    current
                        .as_array_mut()?
                        .iter_mut()
                        .find(|item| item_key(item, keys) == *key)?
                }
                PathElement::Value(value) => {
                    let wanted = set_item(value);
                    current
                        .as_array_mut()?
                        .iter_mut()
                        .find(|item| **item == wanted)?
                }
                PathElement::Index(index) => current.as_array_mut()?.get_mut(*index)?,
            };
        }
        Some(current)
    }

    /// Merge an applied configuration into the live object: maps field by
    /// field, keyed lists item by item, sets as unions, everything else replaced.
    pub fn merge(&self, live: &Value, config: &Value) -> Value {
        self.merge_at(live, config, &mut Vec::new())
    }

    fn merge_at<'a>(&self, live: &Value, config: &'a Value, names: &mut Vec<&'a str>) -> Value {
        match (live, config) {
            (Value::Object(live_map), Value::Object(config_map))
                if !schema::is_atomic_map(self.kind, names) =>
            {
                let mut out = live_map.clone();
                for (key, value) in config_map {
                    names.push(key);
                    // Fields outside the request's scope are never written; identity
                    // fields the server sets keep their live value.
                    let out_of_scope =
                        matches!(names.as_slice(), [top] if self.scope.ignores_top_level(top));
                    if out_of_scope || (is_ignored(names, self.scope) && live_map.contains_key(key))
                    {
                        names.pop();
                        continue;
                    }
                    let merged = match live_map.get(key) {
                        Some(existing) => self.merge_at(existing, value, names),
                        None => value.clone(),
                    };
                    names.pop();
                    out.insert(key.clone(), merged);
                }
                Value::Object(out)
            }
            (Value::Array(live_items), Value::Array(config_items)) => {
                match schema::list_schema(self.kind, names).apply {
                    ListType::Atomic => config.clone(),
                    ListType::Set => {
                        let mut out = live_items.clone();
                        out.extend(
                            config_items
                                .iter()
                                .filter(|item| !live_items.contains(item))
                                .cloned(),
                        );
                        Value::Array(out)
                    }
                    ListType::Map(keys) => {
                        let mut out = live_items.clone();
                        for item in config_items {
                            let key = item_key(item, keys);
                            match out
                                .iter()
                                .position(|existing| item_key(existing, keys) == key)
                            {
                                Some(index) => {
                                    out[index] = self.merge_at(&out[index].clone(), item, names)
                                }
                                None => out.push(item.clone()),
                            }
                        }
                        Value::Array(out)
                    }
                }
            }
            _ => config.clone(),
        }
    }

    fn list_keys(&self, names: &[&str]) -> Option<&'static [ListKey]> {
        match schema::list_schema(self.kind, names).apply {
            ListType::Map(keys) => Some(keys),
            _ => None,
        }
    }
}

/// How an object changed between two versions.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// Paths only in the new version.
    pub added: FieldSet,
    /// Leaf paths in both versions whose values differ.
    pub modified: FieldSet,
    /// Paths only in the old version.
    pub removed: FieldSet,
}

impl Comparison {
    /// Added or modified paths.
    pub fn changed(&self) -> FieldSet {
        self.added.union(&self.modified)
    }
}

struct Walk<'w, 'v> {
    walker: Walker<'w>,
    path: Path,
    names: Vec<&'v str>,
    members: &'w mut BTreeMap<Path, Member<'v>>,
}

impl<'v> Walk<'_, 'v> {
    fn fields(&mut self, fields: &'v Map<String, Value>) {
        for (name, value) in fields {
            self.names.push(name);
            if !is_ignored(&self.names, self.walker.scope) {
                self.path.push(PathElement::Field(name.clone()));
                self.value(value);
                self.path.pop();
            }
            self.names.pop();
        }
    }

    fn value(&mut self, value: &'v Value) {
        let kind = self.walker.kind;
        match value {
            Value::Object(map) if !map.is_empty() && !schema::is_atomic_map(kind, &self.names) => {
                if schema::is_string_map(kind, &self.names) {
                    self.members.insert(self.path.clone(), Member::MapNode);
                }
                self.fields(map);
            }
            Value::Array(items) if !items.is_empty() => {
                match schema::list_schema(kind, &self.names).apply {
                    ListType::Atomic => self.leaf(value),
                    ListType::Set => {
                        for item in items {
                            self.path.push(PathElement::Value(item.to_string()));
                            self.members.insert(self.path.clone(), Member::Item);
                            self.path.pop();
                        }
                    }
                    ListType::Map(keys) => {
                        for item in items {
                            self.path.push(PathElement::Key(item_key(item, keys)));
                            self.members.insert(self.path.clone(), Member::Item);
                            if let Some(fields) = item.as_object() {
                                self.fields(fields);
                            }
                            self.path.pop();
                        }
                    }
                }
            }
            _ => self.leaf(value),
        }
    }

    fn leaf(&mut self, value: &'v Value) {
        self.members.insert(self.path.clone(), Member::Leaf(value));
    }
}

/// Canonical JSON of an item's key fields, sorted by name, defaults filled in.
pub fn item_key(item: &Value, keys: &[ListKey]) -> String {
    let mut sorted: Vec<&ListKey> = keys.iter().collect();
    sorted.sort_by_key(|k| k.field);
    let mut out = Map::new();
    for key in sorted {
        let value = item
            .get(key.field)
            .cloned()
            .or_else(|| key.default.map(Value::from));
        if let Some(value) = value {
            out.insert(key.field.to_string(), value);
        }
    }
    Value::Object(out).to_string()
}

/// The value a set-list path element names.
fn set_item(encoded: &str) -> Value {
    serde_json::from_str(encoded).unwrap_or(Value::Null)
}

fn field_names(path: &[PathElement]) -> Vec<&str> {
    path.iter()
        .filter_map(|element| match element {
            PathElement::Field(name) => Some(name.as_str()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(image: &str) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 80}]}]}}
            },
            "status": {"replicas": 2}
        })
    }

    #[test]
    fn applied_fields_have_the_real_shape() {
        let set = Walker::new("Deployment", Scope::NoStatus).applied_fields(&deployment("nginx"));
        assert_eq!(
            set.to_fields_v1(),
            json!({
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {
                        ".": {},
                        "f:image": {},
                        "f:name": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}
                    }}}}
                }
            })
        );
    }

    #[test]
    fn compare_finds_modified_leaves_and_new_maps() {
        let walker = Walker::new("Deployment", Scope::NoStatus);
        let mut new = deployment("nginx:2");
        new["metadata"]["annotations"] = json!({"a": "b"});
        let comparison = walker.compare(&deployment("nginx"), &new);
        let modified: Vec<String> = comparison
            .modified
            .iter()
            .map(|p| super::super::fieldset::display_path(p))
            .collect();
        assert_eq!(
            modified,
            [r#".spec.template.spec.containers[name="web"].image"#]
        );
        assert_eq!(
            comparison.added.to_fields_v1(),
            json!({"f:metadata": {"f:annotations": {".": {}, "f:a": {}}}})
        );
        assert!(comparison.removed.is_empty());
    }

    #[test]
    fn merge_combines_keyed_lists_and_replaces_atomic_ones() {
        let walker = Walker::new("Deployment", Scope::NoStatus);
        let live = json!({"spec": {"template": {"spec": {
            "containers": [{"name": "a", "image": "x", "args": ["1"]}, {"name": "b", "image": "y"}]
        }}}});
        let config = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "z", "args": ["2"]}]}}}});
        let merged = walker.merge(&live, &config);
        assert_eq!(
            merged["spec"]["template"]["spec"]["containers"],
            json!([{"name": "a", "image": "z", "args": ["2"]}, {"name": "b", "image": "y"}])
        );
    }

    #[test]
    fn remove_at_drops_items_and_emptied_maps() {
        let walker = Walker::new("Deployment", Scope::NoStatus);
        let mut object = deployment("nginx");
        let label = vec![
            PathElement::Field("metadata".into()),
            PathElement::Field("labels".into()),
            PathElement::Field("app".into()),
        ];
        walker.remove_at(&mut object, &label);
        assert_eq!(object["metadata"], json!({"name": "web"}));
        let container = vec![
            PathElement::Field("spec".into()),
            PathElement::Field("template".into()),
            PathElement::Field("spec".into()),
            PathElement::Field("containers".into()),
            PathElement::Key(r#"{"name":"web"}"#.into()),
        ];
        assert!(walker.value_at(&object, &container).is_some());
        walker.remove_at(&mut object, &container);
        assert_eq!(object["spec"]["template"]["spec"]["containers"], json!([]));
    }
}
