//! Writes a test makes without HTTP, as field manager `test-setup`: changing
//! time (a Lease's renewal, a condition's transition), setting status, and
//! damaging state (replacing or deleting an object). They are handled exactly
//! as a client's request would be (validation, managedFields, a new
//! resourceVersion, watch events), so the client under test sees another
//! client's write. They are not in the request log and faults do not apply.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::{self, ApiRequest, ApiResponse};
use crate::objects;
use crate::path::{Query, ResourcePath};
use crate::server::Shared;
use crate::status::ApiError;

/// The field manager of direct writes.
pub const TEST_MANAGER: &str = "test-setup";

/// How often a read-modify-write is retried when another write came between.
const CONFLICT_RETRIES: usize = 20;

/// Which way to move a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeShift {
    /// Into the past, e.g. to make a Lease look expired.
    Earlier(Duration),
    /// Into the future.
    Later(Duration),
}

impl TimeShift {
    /// `ms` milliseconds: negative is earlier.
    pub fn from_millis(ms: i64) -> Self {
        let by = Duration::from_millis(ms.unsigned_abs());
        if ms < 0 {
            TimeShift::Earlier(by)
        } else {
            TimeShift::Later(by)
        }
    }

    fn apply(self, time: SystemTime) -> SystemTime {
        match self {
            TimeShift::Earlier(by) => time.checked_sub(by).unwrap_or(SystemTime::UNIX_EPOCH),
            TimeShift::Later(by) => time + by,
        }
    }
}

/// A status condition as of a given time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// `type`, e.g. `Available`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A CamelCase reason.
    #[serde(default)]
    pub reason: Option<String>,
    /// A human-readable message.
    #[serde(default)]
    pub message: Option<String>,
    /// When it took this status (`lastTransitionTime`, and the kind's other
    /// condition times); now when absent.
    #[serde(default, with = "rfc3339")]
    pub time: Option<SystemTime>,
}

impl Condition {
    /// Condition `kind` with `status`, as of now.
    pub fn new(kind: &str, status: &str) -> Self {
        Condition {
            kind: kind.to_string(),
            status: status.to_string(),
            reason: None,
            message: None,
            time: None,
        }
    }

    /// With this reason.
    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_string());
        self
    }

    /// With this message.
    pub fn message(mut self, message: &str) -> Self {
        self.message = Some(message.to_string());
        self
    }

    /// As of `time` instead of now.
    pub fn at(mut self, time: SystemTime) -> Self {
        self.time = Some(time);
        self
    }

    /// Put the condition into `conditions`, replacing one of the same type.
    /// Besides `lastTransitionTime`, the times the existing condition carries
    /// (or, for a new one, the kind's: `lastUpdateTime` for workloads,
    /// `lastProbeTime` for Jobs and Pods) are set.
    fn write_into(&self, kind: &str, conditions: &mut Vec<Value>) {
        let time = humantime::format_rfc3339_seconds(self.time.unwrap_or_else(SystemTime::now))
            .to_string();
        let existing = conditions
            .iter()
            .position(|c| c["type"] == self.kind.as_str());
        let mut times: Vec<&str> = match existing {
            Some(index) => ["lastUpdateTime", "lastProbeTime", "lastHeartbeatTime"]
                .into_iter()
                .filter(|field| conditions[index].get(*field).is_some())
                .collect(),
            None => match kind {
                "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => vec!["lastUpdateTime"],
                "Job" | "Pod" => vec!["lastProbeTime"],
                _ => Vec::new(),
            },
        };
        times.push("lastTransitionTime");
        let mut condition = json!({"type": self.kind, "status": self.status});
        for field in times {
            condition[field] = json!(time);
        }
        if let Some(reason) = &self.reason {
            condition["reason"] = json!(reason);
        }
        if let Some(message) = &self.message {
            condition["message"] = json!(message);
        }
        match existing {
            Some(index) => conditions[index] = condition,
            None => conditions.push(condition),
        }
    }
}

mod rfc3339 {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &Option<SystemTime>, out: S) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => out.serialize_str(&humantime::format_rfc3339_seconds(*time).to_string()),
            None => out.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        input: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        Option::<String>::deserialize(input)?
            .map(|text| humantime::parse_rfc3339_weak(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Replace a stored object with `object` (no resourceVersion precondition).
pub fn replace(shared: &Arc<Shared>, mut object: Value) -> Result<Value, ApiError> {
    let path = path_of(shared, &object)?;
    objects::metadata_mut(&mut object).shift_remove("resourceVersion");
    send(shared, Method::PUT, path, Some(&object))
}

/// Delete a stored object, as a client's DELETE would.
pub fn delete(
    shared: &Arc<Shared>,
    resource: &str,
    namespace: &str,
    name: &str,
) -> Result<Value, ApiError> {
    let path = resource_path(shared, resource, namespace, Some(name), None)?;
    send(shared, Method::DELETE, path, None)
}

/// Move a Lease's `renewTime` and `acquireTime` (those it has) by `shift`.
pub fn shift_lease(
    shared: &Arc<Shared>,
    namespace: &str,
    name: &str,
    shift: TimeShift,
) -> Result<Value, ApiError> {
    modify(shared, "leases", namespace, name, false, |lease| {
        for field in ["renewTime", "acquireTime"] {
            let Some(text) = lease
                .pointer(&format!("/spec/{field}"))
                .and_then(Value::as_str)
            else {
                continue;
            };
            let time = humantime::parse_rfc3339_weak(text).map_err(|error| {
                ApiError::bad_request(format!("spec.{field} {text:?} is not a time: {error}"))
            })?;
            lease["spec"][field] =
                json!(humantime::format_rfc3339_micros(shift.apply(time)).to_string());
        }
        Ok(())
    })
}

/// Replace an object's `status` (through `/status` where the type has it).
pub fn set_status(
    shared: &Arc<Shared>,
    resource: &str,
    namespace: &str,
    name: &str,
    status: Value,
) -> Result<Value, ApiError> {
    modify(shared, resource, namespace, name, true, |object| {
        object["status"] = status.clone();
        Ok(())
    })
}

/// Set one condition in an object's `status.conditions`.
pub fn set_condition(
    shared: &Arc<Shared>,
    resource: &str,
    namespace: &str,
    name: &str,
    condition: &Condition,
) -> Result<Value, ApiError> {
    modify(shared, resource, namespace, name, true, |object| {
        let kind = object["kind"].as_str().unwrap_or_default().to_string();
        let mut conditions = object
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        condition.write_into(&kind, &mut conditions);
        if !object.get("status").is_some_and(Value::is_object) {
            object["status"] = json!({});
        }
        object["status"]["conditions"] = Value::Array(conditions);
        Ok(())
    })
}

/// Read, change and write back an object, again when another write came
/// between. `status` writes through the `/status` subresource where the type has one.
fn modify(
    shared: &Arc<Shared>,
    resource: &str,
    namespace: &str,
    name: &str,
    status: bool,
    change: impl Fn(&mut Value) -> Result<(), ApiError>,
) -> Result<Value, ApiError> {
    let has_status = shared
        .store()
        .catalogue
        .resolve(resource)
        .is_some_and(|r| r.status_subresource);
    let subresource = (status && has_status).then_some("status");
    let mut attempt = 0;
    loop {
        let path = resource_path(shared, resource, namespace, Some(name), None)?;
        let mut object = send(shared, Method::GET, path, None)?;
        change(&mut object)?;
        let path = resource_path(shared, resource, namespace, Some(name), subresource)?;
        match send(shared, Method::PUT, path, Some(&object)) {
            Err(error) if error.code == 409 && attempt < CONFLICT_RETRIES => attempt += 1,
            result => return result,
        }
    }
}

/// The URL coordinates of an object given whole.
fn path_of(shared: &Shared, object: &Value) -> Result<ResourcePath, ApiError> {
    let text = |field: &str| {
        object
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let resource = shared
        .store()
        .catalogue
        .find_kind(text("apiVersion"), text("kind"))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "no resource type serves apiVersion {:?} kind {:?}",
                text("apiVersion"),
                text("kind")
            ))
        })?;
    let namespace = objects::meta_str(object, "namespace").unwrap_or("default");
    let name = objects::meta_str(object, "name").unwrap_or_default();
    resource_path(shared, &resource.plural, namespace, Some(name), None)
}

/// The URL coordinates of `resource` (kind, plural or short name) `name` in
/// `namespace` (ignored for cluster-scoped types).
fn resource_path(
    shared: &Shared,
    resource: &str,
    namespace: &str,
    name: Option<&str>,
    subresource: Option<&str>,
) -> Result<ResourcePath, ApiError> {
    let resource =
        shared.store().catalogue.resolve(resource).ok_or_else(|| {
            ApiError::bad_request(format!("no resource type is called {resource:?}"))
        })?;
    Ok(ResourcePath {
        group: resource.group.clone(),
        version: resource.version.clone(),
        namespace: resource.namespaced.then(|| namespace.to_string()),
        resource: resource.plural.clone(),
        name: name.map(str::to_string),
        subresource: subresource.map(str::to_string),
    })
}

/// Handle a request as if it came over HTTP from `test-setup`.
fn send(
    shared: &Arc<Shared>,
    method: Method,
    path: ResourcePath,
    body: Option<&Value>,
) -> Result<Value, ApiError> {
    let request = ApiRequest {
        method,
        path,
        query: Query::parse(Some(&format!("fieldManager={TEST_MANAGER}"))),
        content_type: Some("application/json".to_string()),
        user_agent: None,
        accept: None,
        body: body.map_or_else(Bytes::new, |body| Bytes::from(body.to_string())),
    };
    let mut response = api::handle(shared, request)?;
    while let ApiResponse::Warning(_, inner) = response {
        response = *inner;
    }
    match response {
        ApiResponse::Json(_, body) => Ok(body),
        _ => Err(ApiError::bad_request("direct writes answer objects only")),
    }
}
