//! Keeping Secret values out of diffs, which end up in terminals and CI logs.
//!
//! Values are replaced with fixed markers rather than hashes: a hash of a short password
//! can be brute-forced from a log. The markers still make a changed key a changed line
//! and leave an unchanged key unchanged, as `kubectl diff` does.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

/// The fields of a Secret that hold values.
const VALUE_FIELDS: [&str; 2] = ["data", "stringData"];
const HIDDEN: &str = "***";
const BEFORE: &str = "*** (before)";
const AFTER: &str = "*** (after)";

/// Replaces every value of the Secret on either side with a marker: `***` where the key
/// holds the same value on both sides (or exists on one side only), `*** (before)` and
/// `*** (after)` where the value changed.
pub(super) fn mask(mut live: Option<&mut Value>, mut proposed: Option<&mut Value>) {
    for field in VALUE_FIELDS {
        let changed = changed_keys(
            live.as_deref().and_then(|s| values_of(s, field)),
            proposed.as_deref().and_then(|s| values_of(s, field)),
        );
        if let Some(secret) = live.as_deref_mut() {
            mask_field(secret, field, &changed, BEFORE);
        }
        if let Some(secret) = proposed.as_deref_mut() {
            mask_field(secret, field, &changed, AFTER);
        }
    }
}

/// Shows `data` values decoded, for `--show-secrets`. Values that are not UTF-8 text stay
/// base64-encoded.
pub(super) fn reveal(secret: &mut Value) {
    let Some(data) = secret.get_mut("data").and_then(Value::as_object_mut) else {
        return;
    };
    for value in data.values_mut() {
        let decoded = value
            .as_str()
            .and_then(|encoded| STANDARD.decode(encoded).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok());
        if let Some(text) = decoded {
            *value = Value::String(text);
        }
    }
}

fn values_of<'a>(secret: &'a Value, field: &str) -> Option<&'a Map<String, Value>> {
    secret.get(field)?.as_object()
}

fn changed_keys(
    live: Option<&Map<String, Value>>,
    proposed: Option<&Map<String, Value>>,
) -> Vec<String> {
    let (Some(live), Some(proposed)) = (live, proposed) else {
        return Vec::new();
    };
    live.iter()
        .filter(|(key, value)| proposed.get(*key).is_some_and(|other| other != *value))
        .map(|(key, _)| key.clone())
        .collect()
}

fn mask_field(secret: &mut Value, field: &str, changed: &[String], marker: &str) {
    let Some(values) = secret.get_mut(field).and_then(Value::as_object_mut) else {
        return;
    };
    for (key, value) in values.iter_mut() {
        let shown = if changed.contains(key) {
            marker
        } else {
            HIDDEN
        };
        *value = Value::String(shown.to_string());
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn secret(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret", "data": data})
    }

    #[test]
    fn changed_keys_differ_and_unchanged_keys_match_without_any_value() {
        let mut live =
            secret(json!({"same": "c2FtZQ==", "changed": "b2xk", "removed": "Z29uZQ=="}));
        let mut proposed =
            secret(json!({"same": "c2FtZQ==", "changed": "bmV3", "added": "bmV3a2V5"}));
        mask(Some(&mut live), Some(&mut proposed));
        assert_eq!(
            live["data"],
            json!({"same": "***", "changed": "*** (before)", "removed": "***"})
        );
        assert_eq!(
            proposed["data"],
            json!({"same": "***", "changed": "*** (after)", "added": "***"})
        );
    }

    #[test]
    fn a_secret_on_one_side_only_is_fully_masked() {
        let mut added = json!({"apiVersion": "v1", "kind": "Secret", "data": {"a": "YQ=="}, "stringData": {"b": "bee"}});
        mask(None, Some(&mut added));
        assert_eq!(added["data"], json!({"a": "***"}));
        assert_eq!(added["stringData"], json!({"b": "***"}));
    }

    #[test]
    fn reveal_decodes_text_and_keeps_binary_encoded() {
        let mut shown = secret(json!({"text": "aGVsbG8=", "binary": "/w=="}));
        reveal(&mut shown);
        assert_eq!(shown["data"], json!({"text": "hello", "binary": "/w=="}));
    }
}
