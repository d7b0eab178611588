//! The `/scale` subresource: an `autoscaling/v1` `Scale` view of
//! `spec.replicas`, as `kubectl scale` and `Api::patch_scale` use it.

use axum::http::Method;
use serde_json::{Value, json};

use super::update::{commit, prepare_update};
use super::{ApiRequest, ApiResponse, Target, WriteOptions, body};
use crate::managed::{Scope, Walker, Writer, record_update};
use crate::objects::{self, meta_str};
use crate::patch::{self, PatchType};
use crate::status::ApiError;
use crate::store::Store;

/// GET, PUT or PATCH a Scale.
pub fn handle(
    store: &mut Store,
    target: &Target,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let resource = &target.resource;
    let name = target.name.as_deref().unwrap_or_default();
    let key = target.key(name);
    let parent = store
        .get(&key)
        .map(|object| (*object).clone())
        .ok_or_else(|| ApiError::not_found(&resource.group, &resource.plural, name))?;
    let current = scale_of(&parent);
    let desired = match request.method {
        Method::GET => return Ok(ApiResponse::Json(200, current)),
        Method::PUT => body::parse(request)?,
        Method::PATCH => {
            let content_type = request.content_type.as_deref().unwrap_or_default();
            let document: Value = serde_json::from_slice(&request.body)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            match PatchType::from_content_type(content_type) {
                Some(PatchType::Json) => patch::json_patch(&current, &document)
                    .map_err(|e| ApiError::new(422, "Invalid", e))?,
                Some(PatchType::Merge | PatchType::Strategic) => {
                    patch::merge_patch(&current, &document)
                }
                _ => {
                    return Err(ApiError::new(
                        415,
                        "UnsupportedMediaType",
                        format!(
                            "the scale subresource of the test API server accepts JSON, merge and strategic merge patches, not {content_type:?}"
                        ),
                    ));
                }
            }
        }
        _ => return Err(ApiError::method_not_allowed(request.method.as_str())),
    };
    let replicas = desired
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::bad_request("the Scale must set spec.replicas to an integer"))?;
    let mut candidate = parent.clone();
    candidate["spec"]["replicas"] = json!(replicas);
    if let Some(version) = meta_str(&desired, "resourceVersion") {
        objects::metadata_mut(&mut candidate).insert("resourceVersion".into(), version.into());
    }
    let main = Target {
        scale: false,
        ..target.clone()
    };
    let mut new = prepare_update(&main, &parent, candidate)?;
    let options = WriteOptions::from_request(request);
    let api_version = resource.api_version();
    let writer = Writer {
        manager: &options.manager,
        api_version: &api_version,
        subresource: Some("scale"),
        time: &options.time,
    };
    record_update(
        &Walker::new(&resource.kind, Scope::NoStatus),
        &parent,
        &mut new,
        &writer,
    );
    objects::normalize(&mut new);
    let stored = commit(store, &main, &options, key, &parent, new)?;
    Ok(ApiResponse::Json(200, scale_of(&stored)))
}

/// The Scale view of a workload.
fn scale_of(parent: &Value) -> Value {
    let metadata = parent.get("metadata").cloned().unwrap_or_default();
    let pick = |field: &str| metadata.get(field).cloned().unwrap_or(Value::Null);
    let selector = parent
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|labels| {
            let mut pairs: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            pairs.sort();
            pairs.join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": pick("name"),
            "namespace": pick("namespace"),
            "uid": pick("uid"),
            "resourceVersion": pick("resourceVersion"),
            "creationTimestamp": pick("creationTimestamp"),
        },
        "spec": {"replicas": parent.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": {
            "replicas": parent.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector,
        },
    })
}
