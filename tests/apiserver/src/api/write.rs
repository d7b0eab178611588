//! POST (create) and DELETE of objects and collections.

use serde_json::{Map, Value, json};

use super::gc::{self, Propagation};
use super::read::{self, Selection};
use super::{
    ApiRequest, ApiResponse, Target, WriteOptions, body, check_namespace, crd, namespaces,
};
use crate::managed::record_update;
use crate::objects::{self, meta_str};
use crate::status::{self, ApiError};
use crate::store::{ObjectKey, Store};
use crate::{defaults, validation};

/// Namespaces the real server refuses to delete.
const PROTECTED_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

/// POST to a collection.
pub fn create(
    store: &mut Store,
    target: &Target,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let options = WriteOptions::from_request(request);
    let mut object = body::object(request, target)?;
    body::check_namespace(target, &mut object)?;
    if meta_str(&object, "resourceVersion").is_some_and(|rv| !rv.is_empty()) {
        return Err(ApiError::new(
            500,
            "InternalError",
            "resourceVersion should not be set on objects to be created",
        ));
    }
    let created = create_object(store, target, &options, object, Ownership::RecordUpdate)?;
    Ok(ApiResponse::Json(201, created))
}

/// How managed fields are set on a new object.
pub(super) enum Ownership {
    /// A plain create: the creator owns every field it set, as an `Update`.
    RecordUpdate,
    /// Created by server-side apply, which already recorded ownership.
    Applied,
}

/// Store a new object: name it, stamp server-set metadata, default, validate.
pub(super) fn create_object(
    store: &mut Store,
    target: &Target,
    options: &WriteOptions,
    mut object: Value,
    ownership: Ownership,
) -> Result<Value, ApiError> {
    let resource = &target.resource;
    let metadata = objects::metadata_mut(&mut object);
    let name = match metadata
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    {
        Some(name) => name.to_string(),
        None => match metadata
            .get("generateName")
            .and_then(Value::as_str)
            .filter(|g| !g.is_empty())
        {
            Some(prefix) => {
                let prefix: String = prefix.chars().take(58).collect();
                format!("{prefix}{}", objects::name_suffix())
            }
            None => String::new(),
        },
    };
    metadata.insert("name".into(), name.clone().into());
    metadata.insert("uid".into(), objects::new_uid().into());
    metadata.insert("creationTimestamp".into(), options.time.clone().into());
    for field in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
        "generation",
    ] {
        metadata.shift_remove(field);
    }
    if matches!(ownership, Ownership::RecordUpdate) {
        metadata.shift_remove("managedFields");
    }
    if resource.tracks_generation {
        metadata.insert("generation".into(), 1.into());
    }
    if resource.status_subresource
        && let Some(map) = object.as_object_mut()
    {
        map.shift_remove("status");
    }
    crd::prepare_create(target, &mut object);
    // The order of checks follows the real server: namespace admission,
    // then validation, then storage.
    check_namespace(store, target)?;
    defaults::apply(resource, &mut object);
    validation::check(resource, &name, validation::validate(resource, &object))?;
    let key = target.key(&name);
    if store.get(&key).is_some() {
        return Err(ApiError::already_exists(
            &resource.group,
            &resource.plural,
            &name,
        ));
    }
    if matches!(ownership, Ownership::RecordUpdate) {
        let api_version = resource.api_version();
        record_update(
            &target.walker(),
            &json!({}),
            &mut object,
            &options.writer(target, &api_version),
        );
    }
    objects::normalize(&mut object);
    if options.dry_run {
        return Ok(object);
    }
    let stored = store.put(key, object);
    crd::after_write(store, target, &stored);
    namespaces::populate(store, target, &stored);
    Ok((*stored).clone())
}

/// DELETE one object.
pub fn delete(
    store: &mut Store,
    target: &Target,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let options = DeleteOptions::from_request(request)?;
    let name = target.name.as_deref().unwrap_or_default();
    let key = target.key(name);
    let body = delete_object(store, target, &options, &key)?;
    Ok(warned(target, &options, ApiResponse::Json(200, body)))
}

/// The response with the warning the real server adds for this delete, if any.
fn warned(target: &Target, options: &DeleteOptions, response: ApiResponse) -> ApiResponse {
    match gc::warning(&target.resource, options.propagation.as_deref()) {
        Some(warning) => ApiResponse::Warning(warning, Box::new(response)),
        None => response,
    }
}

/// DELETE a collection: every selected object; answers the list of deleted objects.
pub fn delete_collection(
    store: &mut Store,
    target: &Target,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let options = DeleteOptions::from_request(request)?;
    let selection = Selection::from_query(&request.query, &target.resource.kind)?;
    let keys: Vec<ObjectKey> = store
        .list(&target.resource, target.namespace.as_deref())
        .filter(|(_, object)| selection.matches(object))
        .map(|(key, _)| key.clone())
        .collect();
    let mut items = Vec::new();
    for key in keys {
        let object = store.get(&key).map(|o| (*o).clone());
        delete_object(store, target, &options, &key)?;
        items.extend(object);
    }
    let mut metadata = Map::new();
    metadata.insert(
        "resourceVersion".into(),
        store.revision().to_string().into(),
    );
    let list = ApiResponse::Json(200, read::list_body(target, metadata, items));
    Ok(warned(target, &options, list))
}

/// DeleteOptions from the body (kubectl and kube-rs send one) and the query.
struct DeleteOptions {
    dry_run: bool,
    propagation: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
}

impl DeleteOptions {
    fn from_request(request: &ApiRequest) -> Result<Self, ApiError> {
        let body: Value = if request.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&request.body)
                .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?
        };
        let text = |value: Option<&Value>| {
            value
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let body_dry_run = body
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|d| d.iter().any(|v| v == "All"));
        Ok(DeleteOptions {
            dry_run: request.query.dry_run() || body_dry_run,
            propagation: request
                .query
                .non_empty("propagationPolicy")
                .map(str::to_string)
                .or_else(|| text(body.get("propagationPolicy"))),
            uid: text(body.pointer("/preconditions/uid")),
            resource_version: text(body.pointer("/preconditions/resourceVersion")),
        })
    }
}

fn delete_object(
    store: &mut Store,
    target: &Target,
    options: &DeleteOptions,
    key: &ObjectKey,
) -> Result<Value, ApiError> {
    let resource = &target.resource;
    let old = store
        .get(key)
        .map(|o| (*o).clone())
        .ok_or_else(|| ApiError::not_found(&resource.group, &resource.plural, &key.name))?;
    check_preconditions(options, &old)?;
    if resource.kind == "Namespace"
        && !resource.custom
        && PROTECTED_NAMESPACES.contains(&key.name.as_str())
    {
        return Err(ApiError::new(
            403,
            "Forbidden",
            format!(
                "namespaces \"{}\" is forbidden: this namespace may not be deleted",
                key.name
            ),
        ));
    }
    let now = objects::now();
    let mut marked = old.clone();
    let metadata = objects::metadata_mut(&mut marked);
    if !metadata.contains_key("deletionTimestamp") {
        metadata.insert("deletionTimestamp".into(), now.into());
        metadata.insert("deletionGracePeriodSeconds".into(), 0.into());
    }
    // Foreground and Orphan deletion go through a finalizer the garbage collector removes.
    let propagation = Propagation::of(resource, options.propagation.as_deref());
    if let Some(finalizer) = propagation.finalizer() {
        let finalizers = metadata.entry("finalizers").or_insert_with(|| json!([]));
        if let Some(list) = finalizers
            .as_array_mut()
            .filter(|l| !l.iter().any(|f| f == finalizer))
        {
            list.push(finalizer.into());
        }
    }
    let user_finalizers = old
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    if resource.kind == "Namespace" && !resource.custom {
        marked["status"] = json!({"phase": "Terminating"});
    }
    if options.dry_run {
        return Ok(deleted_body(target, &old, &marked, user_finalizers));
    }
    if user_finalizers {
        // Stays until a client removes its finalizers.
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(old);
        }
        return Ok((*store.put(key.clone(), marked)).clone());
    }
    if marked.pointer("/metadata/finalizers").is_some() {
        // The intermediate state real clients can observe before the collector finishes.
        marked = (*store.put(key.clone(), marked)).clone();
    }
    if resource.kind == "Namespace" && !resource.custom {
        for contained in store.keys_in_namespace(&key.name) {
            store.remove(&contained);
        }
    }
    let uid = meta_str(&old, "uid").unwrap_or_default();
    if propagation != Propagation::Background {
        gc::collect(store, &key.namespace, uid, propagation);
    }
    let removed = store.remove(key).map(|o| (*o).clone()).unwrap_or_default();
    if propagation == Propagation::Background {
        gc::collect(store, &key.namespace, uid, propagation);
    }
    crd::after_delete(store, target, &removed);
    Ok(deleted_body(target, &old, &marked, false))
}

fn check_preconditions(options: &DeleteOptions, old: &Value) -> Result<(), ApiError> {
    let actual_uid = meta_str(old, "uid").unwrap_or_default();
    if let Some(uid) = &options.uid
        && uid != actual_uid
    {
        return Err(ApiError::conflict(
            format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual_uid}"
            ),
            Vec::new(),
        ));
    }
    let actual_version = meta_str(old, "resourceVersion").unwrap_or_default();
    if let Some(version) = &options.resource_version
        && version != actual_version
    {
        return Err(ApiError::conflict(
            format!(
                "Precondition failed: ResourceVersion in precondition: {version}, ResourceVersion in object meta: {actual_version}"
            ),
            Vec::new(),
        ));
    }
    Ok(())
}

/// What DELETE answers: the object for types that return it (and whenever
/// deletion is not immediate), a success Status otherwise.
fn deleted_body(target: &Target, old: &Value, marked: &Value, pending: bool) -> Value {
    let has_finalizers = marked.pointer("/metadata/finalizers").is_some();
    if target.resource.delete_returns_object || pending || has_finalizers {
        return marked.clone();
    }
    status::deleted_status(
        &target.resource.group,
        &target.resource.plural,
        meta_str(old, "name").unwrap_or_default(),
        meta_str(old, "uid").unwrap_or_default(),
    )
}
