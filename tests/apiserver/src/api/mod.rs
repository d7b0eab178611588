//! Resource requests: resolving the target, then get, list, watch, create,
//! update, patch and delete with the real server's semantics.

mod body;
mod crd;
mod gc;
mod logs;
mod namespaces;
mod read;
mod scale;
mod update;
mod watch;
mod write;

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::Method;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::catalogue::ResourceType;
use crate::managed::{Scope, Walker, Writer};
use crate::objects;
use crate::path::{Query, ResourcePath};
use crate::server::Shared;
use crate::status::ApiError;
use crate::store::{ObjectKey, Store};
use crate::table;

pub use crd::{CrdEstablishment, establish, establish_waiting, is_established, waiting};
pub use watch::WatchSettings;

/// A resource request after the HTTP layer has read it.
#[derive(Debug)]
pub struct ApiRequest {
    /// HTTP method.
    pub method: Method,
    /// What the URL addresses.
    pub path: ResourcePath,
    /// Query parameters.
    pub query: Query,
    /// `Content-Type` of the body.
    pub content_type: Option<String>,
    /// `User-Agent`, used to name the field manager when none is given.
    pub user_agent: Option<String>,
    /// `Accept`, which may ask for a Table.
    pub accept: Option<String>,
    /// The request body.
    pub body: Bytes,
}

/// What a resource request answers.
pub enum ApiResponse {
    /// A JSON body with a status code.
    Json(u16, Value),
    /// A watch: newline-delimited JSON events, streamed until the receiver closes.
    Watch(mpsc::Receiver<Bytes>),
    /// A `text/plain` body with a status code (Pod logs).
    Text(u16, String),
    /// A response with a `Warning` header, as the real server warns of deprecated or surprising behaviour.
    Warning(&'static str, Box<ApiResponse>),
}

/// The resolved target of a request.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub resource: Arc<ResourceType>,
    /// Namespace from the URL; `None` for cluster-scoped types and all-namespace requests.
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// The request addresses the `/status` subresource.
    pub status: bool,
    /// The request addresses the `/scale` subresource.
    pub scale: bool,
}

impl Target {
    fn key(&self, name: &str) -> ObjectKey {
        ObjectKey::new(
            &self.resource,
            self.namespace.as_deref().unwrap_or_default(),
            name,
        )
    }

    /// What this request may write.
    fn scope(&self) -> Scope {
        if self.status {
            Scope::OnlyStatus
        } else if self.resource.status_subresource {
            Scope::NoStatus
        } else {
            Scope::Everything
        }
    }

    fn walker(&self) -> Walker<'_> {
        Walker::new(&self.resource.kind, self.scope())
    }
}

/// Settings shared by every write of one request.
pub(crate) struct WriteOptions {
    pub dry_run: bool,
    pub manager: String,
    pub time: String,
}

impl WriteOptions {
    fn from_request(request: &ApiRequest) -> Self {
        WriteOptions {
            dry_run: request.query.dry_run(),
            manager: field_manager(request),
            time: objects::now(),
        }
    }

    fn writer<'a>(&'a self, target: &'a Target, api_version: &'a str) -> Writer<'a> {
        Writer {
            manager: &self.manager,
            api_version,
            subresource: target.status.then_some("status"),
            time: &self.time,
        }
    }
}

/// Handle one resource request.
pub fn handle(shared: &Arc<Shared>, request: ApiRequest) -> Result<ApiResponse, ApiError> {
    let mut store = shared.store();
    if request.path.subresource.as_deref() == Some("log") {
        return logs::get(shared, &store, &request);
    }
    let target = resolve(&store, &request.path)?;
    if target.scale {
        return scale::handle(&mut store, &target, &request);
    }
    let method = request.method.clone();
    let as_table = table::wanted(request.accept.as_deref())
        .then(|| table::RowObject::from_query(request.query.get("includeObject")));
    match (method, target.name.is_some()) {
        (Method::GET, true) => read::get(&store, &target)
            .map(|object| json_ok(read::as_table(&target, object, as_table))),
        (Method::GET, false) if request.query.flag("watch") => {
            watch::start(shared, &store, &target, &request.query, as_table).map(ApiResponse::Watch)
        }
        (Method::GET, false) => read::list(&store, &target, &request.query)
            .map(|list| json_ok(read::as_table(&target, list, as_table))),
        (Method::POST, false) if target.namespace.is_some() || !target.resource.namespaced => {
            write::create(&mut store, &target, &request)
        }
        (Method::PUT, true) => update::replace(&mut store, &target, &request),
        (Method::PATCH, true) => update::patch(&mut store, &target, &request),
        (Method::DELETE, true) => write::delete(&mut store, &target, &request),
        (Method::DELETE, false) => write::delete_collection(&mut store, &target, &request),
        (method, _) => Err(ApiError::method_not_allowed(method.as_str())),
    }
}

fn json_ok(body: Value) -> ApiResponse {
    ApiResponse::Json(200, body)
}

/// Find the resource type and check the URL's shape against its scope.
fn resolve(store: &Store, path: &ResourcePath) -> Result<Target, ApiError> {
    let resource = store
        .catalogue
        .find(&path.group, &path.version, &path.resource)
        .ok_or_else(ApiError::no_route)?;
    if !resource.namespaced && path.namespace.is_some() {
        return Err(ApiError::no_route());
    }
    if resource.namespaced && path.namespace.is_none() && path.name.is_some() {
        return Err(ApiError::no_route());
    }
    let (status, scale) = match path.subresource.as_deref() {
        None => (false, false),
        Some("status") if resource.status_subresource => (true, false),
        Some("scale") if resource.scale_subresource => (false, true),
        Some(_) => return Err(ApiError::no_route()),
    };
    Ok(Target {
        resource,
        namespace: path.namespace.clone(),
        name: path.name.clone(),
        status,
        scale,
    })
}

/// `fieldManager`, or the User-Agent's product name as the real server derives it.
fn field_manager(request: &ApiRequest) -> String {
    if let Some(manager) = request.query.non_empty("fieldManager") {
        return manager.to_string();
    }
    let agent = request.user_agent.as_deref().unwrap_or_default();
    let product: String = agent
        .split('/')
        .next()
        .unwrap_or_default()
        .chars()
        .take(128)
        .collect();
    if product.is_empty() {
        "unknown".to_string()
    } else {
        product
    }
}

/// The 404 for an object's namespace that does not exist.
fn check_namespace(store: &Store, target: &Target) -> Result<(), ApiError> {
    let Some(namespace) = target
        .namespace
        .as_deref()
        .filter(|_| target.resource.namespaced)
    else {
        return Ok(());
    };
    let namespaces = store
        .catalogue
        .find("", "v1", "namespaces")
        .expect("namespaces are built in");
    if store
        .get(&ObjectKey::new(&namespaces, "", namespace))
        .is_some()
    {
        Ok(())
    } else {
        Err(ApiError::not_found("", "namespaces", namespace))
    }
}

/// Create an object without going through HTTP, as `manager` (used to seed
/// namespaces at start and by tests preparing state).
pub fn create_direct(shared: &Shared, object: Value, manager: &str) -> Result<Value, ApiError> {
    let mut store = shared.store();
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let resource = store
        .catalogue
        .find_kind(api_version, kind)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "no resource type serves apiVersion {api_version:?} kind {kind:?}"
            ))
        })?;
    let namespace = resource.namespaced.then(|| {
        objects::meta_str(&object, "namespace")
            .unwrap_or("default")
            .to_string()
    });
    let target = Target {
        resource,
        namespace,
        name: None,
        status: false,
        scale: false,
    };
    let mut object = object;
    body::check_namespace(&target, &mut object)?;
    let options = WriteOptions {
        dry_run: false,
        manager: manager.to_string(),
        time: objects::now(),
    };
    write::create_object(
        &mut store,
        &target,
        &options,
        object,
        write::Ownership::RecordUpdate,
    )
}
