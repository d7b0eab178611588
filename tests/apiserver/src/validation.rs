//! Validation the real server performs that callers depend on: names,
//! labels, size limits and immutable fields. Messages match the real ones.

use base64::Engine as _;
use serde_json::Value;

use crate::catalogue::{NameRule, ResourceType};
use crate::status::{ApiError, Cause};

/// The most a ConfigMap's or Secret's data may hold, in bytes.
pub const MAX_DATA_BYTES: usize = 1024 * 1024;

/// The most all annotations of an object may hold, in bytes.
const MAX_ANNOTATION_BYTES: usize = 256 * 1024;

const SUBDOMAIN_MESSAGE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MESSAGE: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MESSAGE: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE_MESSAGE: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const QUALIFIED_NAME_MESSAGE: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

/// Causes for an object name that breaks the resource's naming rule.
pub fn name_causes(rule: NameRule, name: &str, field: &str) -> Vec<Cause> {
    let invalid = |message: &str| {
        vec![Cause::new(
            "FieldValueInvalid",
            format!("Invalid value: {name:?}: {message}"),
            field,
        )]
    };
    match rule {
        NameRule::Subdomain if !is_subdomain(name) => {
            if name.len() > 253 {
                invalid("must be no more than 253 characters")
            } else {
                invalid(SUBDOMAIN_MESSAGE)
            }
        }
        NameRule::Label if !is_label(name) => {
            if name.len() > 63 {
                invalid("must be no more than 63 characters")
            } else {
                invalid(LABEL_MESSAGE)
            }
        }
        NameRule::Dns1035Label if !is_dns1035_label(name) => {
            if name.len() > 63 {
                invalid("must be no more than 63 characters")
            } else {
                invalid(DNS1035_MESSAGE)
            }
        }
        NameRule::PathSegment if name == "." || name == ".." => {
            invalid(&format!("may not be '{name}'"))
        }
        NameRule::PathSegment if name.contains('/') || name.contains('%') => {
            let bad = if name.contains('/') { "/" } else { "%" };
            invalid(&format!("may not contain '{bad}'"))
        }
        _ => Vec::new(),
    }
}

/// Validate a new or updated object: metadata, then kind-specific rules.
pub fn validate(resource: &ResourceType, object: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let metadata = object.get("metadata");
    let name = metadata
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name.is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            "Required value: name or generateName is required",
            "metadata.name",
        ));
    } else {
        causes.extend(name_causes(resource.name_rule, name, "metadata.name"));
    }
    if let Some(labels) = metadata
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
    {
        for (key, value) in labels {
            causes.extend(qualified_name_causes(key, "metadata.labels"));
            let value = value.as_str().unwrap_or_default();
            if !is_label_value(value) {
                let message = if value.len() > 63 {
                    "must be no more than 63 characters"
                } else {
                    LABEL_VALUE_MESSAGE
                };
                causes.push(Cause::new(
                    "FieldValueInvalid",
                    format!("Invalid value: {value:?}: {message}"),
                    "metadata.labels",
                ));
            }
        }
    }
    if let Some(annotations) = metadata
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object)
    {
        let mut total = 0;
        for (key, value) in annotations {
            causes.extend(qualified_name_causes(key, "metadata.annotations"));
            total += key.len() + value.as_str().map_or(0, str::len);
        }
        if total > MAX_ANNOTATION_BYTES {
            causes.push(too_long("metadata.annotations", MAX_ANNOTATION_BYTES));
        }
    }
    match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "ConfigMap") => causes.extend(config_map_causes(object)),
        ("", "Secret") => causes.extend(secret_causes(object)),
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => {
            causes.extend(selector_causes(object))
        }
        _ => {}
    }
    causes
}

/// Rules that only apply when an existing object changes.
pub fn validate_update(resource: &ResourceType, old: &Value, new: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let immutable_paths: &[&str] = match (resource.group.as_str(), resource.kind.as_str()) {
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => &["/spec/selector"],
        ("batch", "Job") => &["/spec/selector", "/spec/template", "/spec/completionMode"],
        ("", "Service") => &["/spec/clusterIP"],
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => &["/roleRef"],
        _ => &[],
    };
    for path in immutable_paths {
        let before = old.pointer(path);
        let after = new.pointer(path);
        if before.is_some() && before != after {
            let field = path.trim_start_matches('/').replace('/', ".");
            let shown = after.map(Value::to_string).unwrap_or_else(|| "null".into());
            causes.push(Cause::new(
                "FieldValueInvalid",
                format!("Invalid value: {shown}: field is immutable"),
                field,
            ));
        }
    }
    let was_immutable = old.get("immutable").and_then(Value::as_bool) == Some(true);
    if was_immutable
        && matches!(resource.kind.as_str(), "ConfigMap" | "Secret")
        && resource.group.is_empty()
    {
        for field in ["data", "binaryData"] {
            if old.get(field) != new.get(field) {
                causes.push(Cause::new(
                    "FieldValueForbidden",
                    "Forbidden: field is immutable when `immutable` is set",
                    field,
                ));
            }
        }
        if new.get("immutable").and_then(Value::as_bool) != Some(true) {
            causes.push(Cause::new(
                "FieldValueForbidden",
                "Forbidden: field is immutable when `immutable` is set",
                "immutable",
            ));
        }
    }
    causes
}

/// The 422 for a set of causes, or `Ok` when there are none.
pub fn check(resource: &ResourceType, name: &str, causes: Vec<Cause>) -> Result<(), ApiError> {
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(
            &resource.group,
            &resource.kind,
            name,
            causes,
        ))
    }
}

/// Decode every `data` value of a Secret, as the real server does while
/// reading the body; the error is a 400 naming the first bad byte.
pub fn decode_secret_data(object: &Value) -> Result<(), ApiError> {
    let Some(data) = object.get("data").and_then(Value::as_object) else {
        return Ok(());
    };
    for value in data.values() {
        let text = value.as_str().unwrap_or_default();
        if let Err(error) = base64::engine::general_purpose::STANDARD.decode(text) {
            let position = match error {
                base64::DecodeError::InvalidByte(offset, _) => offset,
                base64::DecodeError::InvalidLastSymbol(offset, _) => offset,
                base64::DecodeError::InvalidLength(length) => length,
                base64::DecodeError::InvalidPadding => text.len(),
            };
            return Err(ApiError::bad_request(format!(
                "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte {position}"
            )));
        }
    }
    Ok(())
}

fn config_map_causes(object: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut total = 0;
    for field in ["data", "binaryData"] {
        if let Some(map) = object.get(field).and_then(Value::as_object) {
            for (key, value) in map {
                causes.extend(config_key_causes(key, field));
                total += if field == "binaryData" {
                    decoded_len(value)
                } else {
                    value.as_str().map_or(0, str::len)
                };
            }
        }
    }
    if total > MAX_DATA_BYTES {
        // The real server reports the whole object with an empty field path.
        causes.push(too_long("[]", MAX_DATA_BYTES));
    }
    causes
}

fn secret_causes(object: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut total = 0;
    if let Some(map) = object.get("data").and_then(Value::as_object) {
        for (key, value) in map {
            causes.extend(config_key_causes(key, "data"));
            total += decoded_len(value);
        }
    }
    if total > MAX_DATA_BYTES {
        causes.push(too_long("data", MAX_DATA_BYTES));
    }
    causes
}

/// `spec.selector` must be present and select the pod template's labels.
fn selector_causes(object: &Value) -> Vec<Cause> {
    let Some(match_labels) = object
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
    else {
        if object.pointer("/spec/selector").is_none() {
            return vec![Cause::new(
                "FieldValueRequired",
                "Required value",
                "spec.selector",
            )];
        }
        return Vec::new();
    };
    let template_labels = object
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object);
    let selected = match_labels
        .iter()
        .all(|(key, value)| template_labels.and_then(|labels| labels.get(key)) == Some(value));
    if selected {
        Vec::new()
    } else {
        let shown = template_labels
            .map(|l| Value::Object(l.clone()).to_string())
            .unwrap_or_else(|| "null".into());
        vec![Cause::new(
            "FieldValueInvalid",
            format!("Invalid value: {shown}: `selector` does not match template `labels`"),
            "spec.template.metadata.labels",
        )]
    }
}

fn too_long(field: &str, limit: usize) -> Cause {
    Cause::new(
        "FieldValueTooLong",
        format!("Too long: must have at most {limit} bytes"),
        field,
    )
}

fn decoded_len(value: &Value) -> usize {
    let text = value.as_str().unwrap_or_default();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_or(text.len(), |bytes| bytes.len())
}

fn config_key_causes(key: &str, field: &str) -> Vec<Cause> {
    let valid = !key.is_empty()
        && key.len() <= 253
        && key != "."
        && key != ".."
        && !key.starts_with("..")
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Vec::new()
    } else {
        vec![Cause::new(
            "FieldValueInvalid",
            format!(
                "Invalid value: {key:?}: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
            ),
            field,
        )]
    }
}

/// Label and annotation keys: optional DNS-subdomain prefix, `/`, then a name part.
fn qualified_name_causes(key: &str, field: &str) -> Vec<Cause> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let mut causes = Vec::new();
    if let Some(prefix) = prefix
        && !is_subdomain(prefix)
    {
        causes.push(Cause::new(
            "FieldValueInvalid",
            format!("Invalid value: {key:?}: prefix part {SUBDOMAIN_MESSAGE}"),
            field,
        ));
    }
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !name_ok {
        causes.push(Cause::new(
            "FieldValueInvalid",
            format!("Invalid value: {key:?}: {QUALIFIED_NAME_MESSAGE}"),
            field,
        ));
    }
    causes
}

fn is_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

fn is_dns1035_label(text: &str) -> bool {
    is_label(text) && text.starts_with(|c: char| c.is_ascii_lowercase())
}

fn is_subdomain(text: &str) -> bool {
    !text.is_empty() && text.len() <= 253 && text.split('.').all(is_label)
}

fn is_label_value(text: &str) -> bool {
    text.is_empty()
        || (text.len() <= 63
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && text.starts_with(|c: char| c.is_ascii_alphanumeric())
            && text.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use serde_json::json;

    fn configmaps() -> std::sync::Arc<ResourceType> {
        Catalogue::builtin().find("", "v1", "configmaps").unwrap()
    }

    #[test]
    fn names_follow_the_resource_rule() {
        assert!(name_causes(NameRule::Subdomain, "web.example-1", "metadata.name").is_empty());
        let causes = name_causes(NameRule::Subdomain, "Web", "metadata.name");
        assert!(
            causes[0]
                .message
                .starts_with("Invalid value: \"Web\": a lowercase RFC 1123 subdomain")
        );
        assert!(!name_causes(NameRule::Label, "a.b", "metadata.name").is_empty());
        assert!(!name_causes(NameRule::Dns1035Label, "1abc", "metadata.name").is_empty());
        assert!(
            name_causes(
                NameRule::PathSegment,
                "system:controller:x",
                "metadata.name"
            )
            .is_empty()
        );
    }

    #[test]
    fn config_map_over_one_mebibyte_is_too_long() {
        let big = "x".repeat(MAX_DATA_BYTES + 1);
        let object = json!({"metadata": {"name": "big"}, "data": {"k": big}});
        let error = check(&configmaps(), "big", validate(&configmaps(), &object)).unwrap_err();
        assert_eq!(error.code, 422);
        assert_eq!(
            error.message,
            "ConfigMap \"big\" is invalid: []: Too long: must have at most 1048576 bytes"
        );
    }

    #[test]
    fn exactly_one_mebibyte_is_allowed() {
        let object = json!({"metadata": {"name": "ok"}, "data": {"k": "x".repeat(MAX_DATA_BYTES)}});
        assert!(validate(&configmaps(), &object).is_empty());
    }

    #[test]
    fn secret_data_must_be_base64() {
        let error = decode_secret_data(&json!({"data": {"k": "no!t"}})).unwrap_err();
        assert_eq!(
            error.message,
            "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte 2"
        );
        assert!(decode_secret_data(&json!({"data": {"k": "aGVsbG8="}})).is_ok());
    }

    #[test]
    fn bad_label_values_are_invalid() {
        let object = json!({"metadata": {"name": "x", "labels": {"app": "has space"}}});
        let causes = validate(&configmaps(), &object);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "metadata.labels");
    }
}
