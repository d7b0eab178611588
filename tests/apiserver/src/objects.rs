//! Helpers for object JSON: metadata access, server-set fields and the
//! canonical field order the real server serialises in.

use std::time::SystemTime;

use serde_json::{Map, Value};

/// The current time as the API writes it: `2026-01-02T03:04:05Z`.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// A fresh object UID.
pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Five random characters from the alphabet the real server uses for `generateName`.
pub fn name_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .take(5)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// `metadata.<field>` as a string, if set.
pub fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str()
}

/// The object's `metadata` map, created if missing.
pub fn metadata_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object.get("metadata").is_some_and(Value::is_object) {
        object["metadata"] = Value::Object(Map::new());
    }
    object["metadata"]
        .as_object_mut()
        .expect("metadata was just made an object")
}

/// Whether anything outside `metadata` and `status` differs; such changes bump `generation`.
pub fn spec_changed(old: &Value, new: &Value) -> bool {
    let outside = |object: &Value| -> Map<String, Value> {
        object
            .as_object()
            .map(|map| {
                map.iter()
                    .filter(|(key, _)| {
                        !matches!(key.as_str(), "metadata" | "status" | "apiVersion" | "kind")
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    outside(old) != outside(new)
}

const TOP_LEVEL_ORDER: &[&str] = &["kind", "apiVersion", "metadata"];
const METADATA_ORDER: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Drop `null` fields (typed decoding drops them) and put the top-level and
/// metadata fields in the order the real server writes them.
pub fn normalize(object: &mut Value) {
    drop_nulls(object);
    if let Value::Object(map) = object {
        reorder(map, TOP_LEVEL_ORDER);
        if let Some(Value::Object(metadata)) = map.get_mut("metadata") {
            reorder(metadata, METADATA_ORDER);
        }
    }
}

fn reorder(map: &mut Map<String, Value>, order: &[&str]) {
    let mut ordered = Map::new();
    for key in order {
        if let Some(value) = map.shift_remove(*key) {
            ordered.insert((*key).to_string(), value);
        }
    }
    ordered.append(map);
    *map = ordered;
}

fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// A list item as the real server writes built-in types: without `kind` and `apiVersion`.
pub fn without_type_meta(object: &Value) -> Value {
    let mut item = object.clone();
    if let Value::Object(map) = &mut item {
        map.shift_remove("kind");
        map.shift_remove("apiVersion");
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalize_orders_fields_and_drops_nulls() {
        let mut object = json!({
            "data": {"a": "1", "b": null},
            "metadata": {"labels": {"x": "y"}, "name": "n", "uid": "u"},
            "apiVersion": "v1",
            "kind": "ConfigMap"
        });
        normalize(&mut object);
        assert_eq!(
            object.to_string(),
            r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"n","uid":"u","labels":{"x":"y"}},"data":{"a":"1"}}"#
        );
    }

    #[test]
    fn generation_follows_spec_only() {
        let old = json!({"metadata": {"labels": {}}, "spec": {"replicas": 1}, "status": {}});
        let mut new = old.clone();
        new["metadata"]["labels"]["a"] = json!("b");
        new["status"]["ready"] = json!(1);
        assert!(!spec_changed(&old, &new));
        new["spec"]["replicas"] = json!(2);
        assert!(spec_changed(&old, &new));
    }

    #[test]
    fn timestamps_and_suffixes_have_the_real_shape() {
        let time = now();
        assert_eq!(time.len(), 20, "{time}");
        assert!(time.ends_with('Z'));
        let suffix = name_suffix();
        assert_eq!(suffix.len(), 5);
        assert!(
            suffix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}
