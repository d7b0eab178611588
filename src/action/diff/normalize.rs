//! Stripping what the server adds to every object for its own bookkeeping, so that two
//! versions of an object compare equal unless something meaningful differs.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

/// Metadata fields the server owns and changes on every write.
const SERVER_METADATA: [&str; 6] = [
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
];

/// `kubectl apply` (client-side) keeps a copy of the whole object here, Secret values
/// included; it says nothing the object itself does not.
const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The object without server bookkeeping and `status`, with a Secret's `stringData`
/// folded into `data` as the server stores it, and every mapping's keys sorted.
pub(super) fn normalize(mut object: Value) -> Value {
    if let Some(fields) = object.as_object_mut() {
        fields.remove("status");
        if let Some(metadata) = fields.get_mut("metadata").and_then(Value::as_object_mut) {
            strip_metadata(metadata);
        }
    }
    if is_secret(&object) {
        fold_string_data(&mut object);
    }
    object.sort_all_objects();
    object
}

fn strip_metadata(metadata: &mut Map<String, Value>) {
    for field in SERVER_METADATA {
        metadata.remove(field);
    }
    if let Some(annotations) = metadata
        .get_mut("annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.remove(LAST_APPLIED_ANNOTATION);
        if annotations.is_empty() {
            metadata.remove("annotations");
        }
    }
}

/// A core v1 Secret, whose values are masked in diffs.
pub(super) fn is_secret(object: &Value) -> bool {
    object.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && object.get("kind").and_then(Value::as_str) == Some("Secret")
}

/// `stringData` is write-only: the server merges it into `data`, base64-encoded, and
/// never returns it. Doing the same here compares like with like.
fn fold_string_data(secret: &mut Value) {
    let Some(fields) = secret.as_object_mut() else {
        return;
    };
    let Some(Value::Object(string_data)) = fields.remove("stringData") else {
        return;
    };
    let data = fields
        .entry("data")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(data) = data.as_object_mut() else {
        return;
    };
    for (key, value) in string_data {
        if let Some(text) = value.as_str() {
            data.insert(key, Value::String(STANDARD.encode(text)));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn server_bookkeeping_and_status_are_removed() {
        let live = json!({
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {
                "name": "web",
                "uid": "1234",
                "resourceVersion": "42",
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "generation": 3,
                "managedFields": [{"manager": "rchart"}],
                "annotations": {LAST_APPLIED_ANNOTATION: "{}"},
                "labels": {"app": "web"}
            },
            "data": {"b": "2", "a": "1"},
            "status": {"phase": "Ready"}
        });
        let normalized = normalize(live);
        assert_eq!(
            normalized,
            json!({"apiVersion": "v1", "data": {"a": "1", "b": "2"}, "kind": "ConfigMap", "metadata": {"labels": {"app": "web"}, "name": "web"}})
        );
        let keys: Vec<&String> = normalized.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["apiVersion", "data", "kind", "metadata"],
            "keys are sorted"
        );
    }

    #[test]
    fn other_annotations_stay() {
        let normalized = normalize(
            json!({"metadata": {"annotations": {LAST_APPLIED_ANNOTATION: "{}", "team": "backend"}}}),
        );
        assert_eq!(
            normalized,
            json!({"metadata": {"annotations": {"team": "backend"}}})
        );
    }

    #[test]
    fn string_data_is_folded_into_data_as_the_server_stores_it() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "data": {"a": "YQ=="}, "stringData": {"b": "bee"}});
        assert_eq!(
            normalize(secret),
            json!({"apiVersion": "v1", "kind": "Secret", "data": {"a": "YQ==", "b": "YmVl"}})
        );
    }
}
