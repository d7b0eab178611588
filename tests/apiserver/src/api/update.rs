//! PUT and PATCH (JSON, merge, strategic merge and server-side apply).

use serde_json::{Value, json};

use super::{ApiRequest, ApiResponse, Target, WriteOptions, body, crd, write};
use crate::managed::{self, record_update};
use crate::objects::{self, meta_str};
use crate::patch::{self, PatchType};
use crate::status::{ApiError, Cause};
use crate::store::{ObjectKey, Store};
use crate::{defaults, validation};

/// PUT: replace an object (or its status).
pub fn replace(
    store: &mut Store,
    target: &Target,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let options = WriteOptions::from_request(request);
    let name = target.name.as_deref().unwrap_or_default();
    let mut candidate = body::object(request, target)?;
    body::check_name(name, &candidate)?;
    body::check_namespace(target, &mut candidate)?;
    let key = target.key(name);
    let old = existing(store, target, &key)?;
    let mut new = prepare_update(target, &old, candidate)?;
    let api_version = target.resource.api_version();
    record_update(
        &target.walker(),
        &old,
        &mut new,
        &options.writer(target, &api_version),
    );
    objects::normalize(&mut new);
    let stored = commit(store, target, &options, key, &old, new)?;
    Ok(ApiResponse::Json(200, stored))
}

/// PATCH in any of the four flavours.
pub fn patch(
    store: &mut Store,
    target: &Target,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let content_type = request.content_type.as_deref().unwrap_or_default();
    let patch_type = PatchType::from_content_type(content_type)
        .filter(|t| !(*t == PatchType::Strategic && target.resource.custom))
        .ok_or_else(|| unsupported_patch(content_type, target.resource.custom))?;
    check_patch_options(request, patch_type)?;
    if patch_type == PatchType::Apply {
        return apply(store, target, request);
    }
    let options = WriteOptions::from_request(request);
    let document: Value =
        serde_json::from_slice(&request.body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let name = target.name.as_deref().unwrap_or_default();
    let key = target.key(name);
    let old = existing(store, target, &key)?;
    let mut candidate = match patch_type {
        PatchType::Json => {
            patch::json_patch(&old, &document).map_err(|e| ApiError::new(422, "Invalid", e))?
        }
        PatchType::Merge => patch::merge_patch(&old, &document),
        _ => patch::strategic_merge(&target.resource.kind, &old, &document)
            .map_err(ApiError::bad_request)?,
    };
    body::check_type(&target.resource, &mut candidate)?;
    body::check_name(name, &candidate)?;
    body::check_namespace(target, &mut candidate)?;
    let mut new = prepare_update(target, &old, candidate)?;
    let api_version = target.resource.api_version();
    record_update(
        &target.walker(),
        &old,
        &mut new,
        &options.writer(target, &api_version),
    );
    objects::normalize(&mut new);
    let stored = commit(store, target, &options, key, &old, new)?;
    Ok(ApiResponse::Json(200, stored))
}

/// Server-side apply: create the object if missing, else merge the
/// configuration in with ownership tracking.
fn apply(
    store: &mut Store,
    target: &Target,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let options = WriteOptions::from_request(request);
    let force = request.query.flag("force");
    let mut config = body::parse_yaml(&request.body)?;
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "error decoding YAML: the applied configuration is not an object",
        ));
    }
    let expected_version = target.resource.api_version();
    let api_version = config
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if api_version != expected_version {
        return Err(ApiError::bad_request(format!(
            "Incorrect version specified in apply patch. Specified patch version: {api_version}, expected: {expected_version}"
        )));
    }
    if config
        .get("kind")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(ApiError::bad_request("invalid object type: /, Kind="));
    }
    body::check_type(&target.resource, &mut config)?;
    if config.pointer("/metadata/managedFields").is_some() {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    let name = target.name.as_deref().unwrap_or_default();
    body::check_name(name, &config)?;
    body::check_namespace(target, &mut config)?;
    objects::metadata_mut(&mut config).insert("name".into(), name.into());
    if target.resource.kind == "Secret" && !target.resource.custom {
        validation::decode_secret_data(&config)?;
    }
    let precondition = meta_str(&config, "resourceVersion")
        .filter(|rv| !rv.is_empty())
        .map(str::to_string);
    let key = target.key(name);
    let walker = target.walker();
    let writer = options.writer(target, &api_version);
    match store.get(&key) {
        None => {
            if target.status || precondition.is_some() {
                return Err(ApiError::not_found(
                    &target.resource.group,
                    &target.resource.plural,
                    name,
                ));
            }
            let object = managed::apply(&walker, &json!({}), &config, &writer, force)?;
            let created =
                write::create_object(store, target, &options, object, write::Ownership::Applied)?;
            Ok(ApiResponse::Json(201, created))
        }
        Some(old) => {
            if precondition.is_some_and(|rv| Some(rv.as_str()) != meta_str(&old, "resourceVersion"))
            {
                return Err(ApiError::stale_resource_version(
                    &target.resource.group,
                    &target.resource.plural,
                    name,
                ));
            }
            let merged = managed::apply(&walker, &old, &config, &writer, force)?;
            let mut new = prepare_update(target, &old, merged)?;
            objects::normalize(&mut new);
            let stored = commit(store, target, &options, key, &old, new)?;
            Ok(ApiResponse::Json(200, stored))
        }
    }
}

/// `force` only for apply; `fieldManager` required for apply.
fn check_patch_options(request: &ApiRequest, patch_type: PatchType) -> Result<(), ApiError> {
    let cause = if patch_type != PatchType::Apply && request.query.get("force").is_some() {
        Cause::new(
            "FieldValueForbidden",
            "Forbidden: may not be specified for non-apply patch",
            "force",
        )
    } else if patch_type == PatchType::Apply && request.query.non_empty("fieldManager").is_none() {
        Cause::new(
            "FieldValueRequired",
            "Required value: is required for apply patch",
            "fieldManager",
        )
    } else {
        return Ok(());
    };
    Err(ApiError::invalid(
        "meta.k8s.io",
        "PatchOptions",
        "",
        vec![cause],
    ))
}

fn unsupported_patch(content_type: &str, custom: bool) -> ApiError {
    let accepted = if custom {
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    } else {
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json"
    };
    ApiError::new(
        415,
        "UnsupportedMediaType",
        format!(
            "the body of the request was in an unknown format - accepted media types include: {accepted} (got {content_type:?})"
        ),
    )
}

fn existing(store: &Store, target: &Target, key: &ObjectKey) -> Result<Value, ApiError> {
    store
        .get(key)
        .map(|object| (*object).clone())
        .ok_or_else(|| {
            ApiError::not_found(&target.resource.group, &target.resource.plural, &key.name)
        })
}

/// Metadata the server owns: carried over from the stored object on every update.
const SYSTEM_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "creationTimestamp",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "resourceVersion",
];

/// Turn a candidate new version into the one to store: check the
/// resourceVersion precondition, keep what the request may not write,
/// default, bump `generation` and validate.
pub(super) fn prepare_update(
    target: &Target,
    old: &Value,
    candidate: Value,
) -> Result<Value, ApiError> {
    let resource = &target.resource;
    let name = meta_str(old, "name").unwrap_or_default().to_string();
    let old_version = meta_str(old, "resourceVersion").unwrap_or_default();
    if let Some(version) = meta_str(&candidate, "resourceVersion").filter(|v| !v.is_empty())
        && version != old_version
    {
        return Err(ApiError::stale_resource_version(
            &resource.group,
            &resource.plural,
            &name,
        ));
    }
    let old_uid = meta_str(old, "uid").unwrap_or_default();
    if let Some(uid) = meta_str(&candidate, "uid").filter(|uid| !uid.is_empty())
        && uid != old_uid
    {
        return Err(ApiError::conflict(
            format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {old_uid}"
            ),
            Vec::new(),
        ));
    }
    let mut new = if target.status {
        // The status subresource writes status and nothing else.
        let mut new = old.clone();
        match candidate.get("status") {
            Some(status) => new["status"] = status.clone(),
            None => {
                new.as_object_mut().map(|map| map.shift_remove("status"));
            }
        }
        new
    } else {
        let mut new = candidate;
        if resource.status_subresource {
            match old.get("status") {
                Some(status) => new["status"] = status.clone(),
                None => {
                    new.as_object_mut().map(|map| map.shift_remove("status"));
                }
            }
        }
        new
    };
    let metadata = objects::metadata_mut(&mut new);
    for field in SYSTEM_METADATA {
        match old.get("metadata").and_then(|m| m.get(*field)) {
            Some(value) => metadata.insert((*field).to_string(), value.clone()),
            None => metadata.shift_remove(*field),
        };
    }
    body::check_type(resource, &mut new)?;
    defaults::apply(resource, &mut new);
    if resource.tracks_generation && objects::spec_changed(old, &new) {
        let generation = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            + 1;
        objects::metadata_mut(&mut new).insert("generation".into(), generation.into());
    }
    let mut causes = validation::validate(resource, &new);
    causes.extend(validation::validate_update(resource, old, &new));
    validation::check(resource, &name, causes)?;
    Ok(new)
}

/// Store an updated object. No-op updates keep the old resourceVersion and
/// produce no event; dry runs store nothing; an object being deleted goes
/// away when its last finalizer is removed.
pub(super) fn commit(
    store: &mut Store,
    target: &Target,
    options: &WriteOptions,
    key: ObjectKey,
    old: &Value,
    new: Value,
) -> Result<Value, ApiError> {
    if without_times(old) == without_times(&new) {
        return Ok(old.clone());
    }
    if options.dry_run {
        return Ok(new);
    }
    let finalizers_left = new
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    if new.pointer("/metadata/deletionTimestamp").is_some() && !finalizers_left {
        store.put(key.clone(), new);
        let removed = store.remove(&key).map(|o| (*o).clone()).unwrap_or_default();
        crd::after_delete(store, target, &removed);
        return Ok(removed);
    }
    let stored = store.put(key, new);
    crd::after_write(store, target, &stored);
    Ok((*stored).clone())
}

/// The object with managed-fields timestamps blanked, to spot no-op writes.
fn without_times(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(Value::Array(entries)) = copy.pointer_mut("/metadata/managedFields") {
        for entry in entries.iter_mut().filter_map(Value::as_object_mut) {
            entry.shift_remove("time");
        }
    }
    copy
}
