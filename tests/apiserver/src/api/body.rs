//! Reading request bodies: JSON or YAML objects, checked against the URL.

use serde_json::Value;

use super::{ApiRequest, Target};
use crate::catalogue::ResourceType;
use crate::objects;
use crate::status::ApiError;

/// How YAML bodies are read: YAML 1.1 octals (`0644`) as kubectl sends them.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! { legacy_octal_numbers: true }
}

/// Parse the body as JSON, or as YAML when the content type says so.
pub fn parse(request: &ApiRequest) -> Result<Value, ApiError> {
    let content_type = request
        .content_type
        .as_deref()
        .unwrap_or("application/json");
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if media_type == crate::protobuf::MEDIA_TYPE {
        return crate::protobuf::decode(&request.body);
    }
    if media_type.contains("protobuf") || media_type.contains("cbor") {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {media_type})"
            ),
        ));
    }
    if media_type.ends_with("yaml") {
        parse_yaml(&request.body)
    } else {
        serde_json::from_slice(&request.body).map_err(|error| {
            ApiError::bad_request(format!(
                "couldn't get version/kind; json parse error: {error}"
            ))
        })
    }
}

/// Parse YAML (or JSON, which YAML reads too).
pub fn parse_yaml(body: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    serde_saphyr::from_str_with_options(text, yaml_options())
        .map_err(|error| ApiError::bad_request(format!("error decoding YAML: {error}")))
}

/// Parse a body that must be a whole object of the target's type.
pub fn object(request: &ApiRequest, target: &Target) -> Result<Value, ApiError> {
    let mut object = parse(request)?;
    if !object.is_object() {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: expected an object",
            target.resource.kind
        )));
    }
    check_type(&target.resource, &mut object)?;
    if target.resource.kind == "Secret" && target.resource.group.is_empty() {
        crate::validation::decode_secret_data(&object)?;
    }
    Ok(object)
}

/// Check `apiVersion` and `kind` against the URL, filling them in when absent
/// as the real decoder does.
pub fn check_type(resource: &ResourceType, object: &mut Value) -> Result<(), ApiError> {
    let expected_version = resource.api_version();
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or(&expected_version)
        .to_string();
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or(&resource.kind)
        .to_string();
    if kind != resource.kind {
        let version = api_version.rsplit('/').next().unwrap_or_default();
        let internal_group = if resource.group.is_empty() {
            "core"
        } else {
            resource.group.as_str()
        };
        return Err(ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {expected}: converting ({version}.{kind}) to ({internal_group}.{expected}): unknown conversion",
            expected = resource.kind
        )));
    }
    if api_version != expected_version {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({expected_version})"
        )));
    }
    object["apiVersion"] = Value::from(expected_version);
    object["kind"] = Value::from(resource.kind.clone());
    Ok(())
}

/// The body's namespace must be empty or equal to the URL's; it is then set to the URL's.
pub fn check_namespace(target: &Target, object: &mut Value) -> Result<(), ApiError> {
    let url_namespace = target.namespace.clone().unwrap_or_default();
    let body_namespace = objects::meta_str(object, "namespace").unwrap_or_default();
    if !target.resource.namespaced {
        objects::metadata_mut(object).shift_remove("namespace");
        return Ok(());
    }
    if !body_namespace.is_empty() && body_namespace != url_namespace {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    objects::metadata_mut(object).insert("namespace".into(), url_namespace.into());
    Ok(())
}

/// The body's name must be empty or equal to the URL's.
pub fn check_name(url_name: &str, object: &Value) -> Result<(), ApiError> {
    match objects::meta_str(object, "name") {
        Some(name) if !name.is_empty() && name != url_name => Err(ApiError::bad_request(format!(
            "the name of the object ({name}) does not match the name on the URL ({url_name})"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use serde_json::json;

    #[test]
    fn fills_in_missing_type_meta() {
        let resource = Catalogue::builtin().find("", "v1", "configmaps").unwrap();
        let mut object = json!({"metadata": {"name": "x"}});
        check_type(&resource, &mut object).unwrap();
        assert_eq!(
            (object["kind"].as_str(), object["apiVersion"].as_str()),
            (Some("ConfigMap"), Some("v1"))
        );
    }

    #[test]
    fn rejects_another_kind_or_version() {
        let resource = Catalogue::builtin().find("", "v1", "configmaps").unwrap();
        let error = check_type(
            &resource,
            &mut json!({"kind": "Secret", "apiVersion": "v1"}),
        )
        .unwrap_err();
        assert_eq!(error.code, 400);
        assert!(
            error
                .message
                .starts_with("Secret in version \"v1\" cannot be handled as a ConfigMap"),
            "{}",
            error.message
        );
        let error = check_type(
            &resource,
            &mut json!({"kind": "ConfigMap", "apiVersion": "v2"}),
        )
        .unwrap_err();
        assert_eq!(
            error.message,
            "the API version in the data (v2) does not match the expected API version (v1)"
        );
    }

    #[test]
    fn yaml_reads_legacy_octals() {
        let value = parse_yaml(b"mode: 0644\nname: x\n").unwrap();
        assert_eq!(value, json!({"mode": 420, "name": "x"}));
    }
}
