//! `metav1.Status` error bodies, built the way the real API server builds them.
//!
//! Clients (kube-rs, client-go) match on `reason` and `code`, so every error
//! the server returns goes through [`ApiError`].

use serde_json::{Map, Value, json};

/// One entry of `details.causes` in a Status body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// Machine-readable cause, e.g. `FieldValueInvalid`.
    pub reason: String,
    /// Human-readable description of the cause.
    pub message: String,
    /// The field path the cause refers to, e.g. `metadata.name`.
    pub field: String,
}

impl Cause {
    /// A cause for a field error (`field.Invalid`, `field.Required`, ...).
    pub fn new(reason: &str, message: impl Into<String>, field: impl Into<String>) -> Self {
        Cause {
            reason: reason.to_string(),
            message: message.into(),
            field: field.into(),
        }
    }

    fn to_json(&self) -> Value {
        json!({"reason": self.reason, "message": self.message, "field": self.field})
    }
}

/// An error answered as a `metav1.Status` with status `Failure`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status code, also copied into the body's `code`.
    pub code: u16,
    /// `metav1.StatusReason`, e.g. `NotFound`.
    pub reason: String,
    /// The human-readable message, exactly as the real server words it.
    pub message: String,
    /// `details`, when the real server fills it in.
    pub details: Option<Box<Details>>,
}

/// The `details` object of a Status body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Details {
    /// Name of the object the error is about.
    pub name: Option<String>,
    /// API group of the object, empty for the core group.
    pub group: Option<String>,
    /// Resource (plural, lowercase) for most errors, Kind for `Invalid`.
    pub kind: Option<String>,
    /// Field-level causes.
    pub causes: Vec<Cause>,
}

impl ApiError {
    /// A Status error with no details.
    pub fn new(code: u16, reason: &str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason: reason.to_string(),
            message: message.into(),
            details: None,
        }
    }

    /// The same error with `details`.
    pub fn with_details(mut self, details: Details) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// `<resource>.<group> "<name>" not found`.
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        ApiError::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(group, resource)),
        )
        .with_details(resource_details(group, resource, name))
    }

    /// `<resource>.<group> "<name>" already exists`.
    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", qualified(group, resource)),
        )
        .with_details(resource_details(group, resource, name))
    }

    /// The optimistic-concurrency conflict for a stale `resourceVersion`.
    pub fn stale_resource_version(group: &str, resource: &str, name: &str) -> Self {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                qualified(group, resource)
            ),
        )
        .with_details(resource_details(group, resource, name))
    }

    /// A generic conflict with a custom message, e.g. an apply conflict.
    pub fn conflict(message: impl Into<String>, causes: Vec<Cause>) -> Self {
        ApiError::new(409, "Conflict", message).with_details(Details {
            causes,
            ..Details::default()
        })
    }

    /// `422 Invalid`: `<Kind>[.group] "<name>" is invalid: <causes>`.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let summary = match causes.as_slice() {
            [one] => cause_text(one),
            many => format!(
                "[{}]",
                many.iter().map(cause_text).collect::<Vec<_>>().join(", ")
            ),
        };
        ApiError::new(
            422,
            "Invalid",
            format!(
                "{} \"{name}\" is invalid: {summary}",
                qualified(group, kind)
            ),
        )
        .with_details(Details {
            name: Some(name.to_string()),
            group: (!group.is_empty()).then(|| group.to_string()),
            kind: Some(kind.to_string()),
            causes,
        })
    }

    /// `400 BadRequest` with the given message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }

    /// `405 MethodNotAllowed`, as answered for a verb a resource does not support.
    pub fn method_not_allowed(method: &str) -> Self {
        ApiError::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({method})"),
        )
    }

    /// `401 Unauthorized`, as answered for a missing or wrong bearer token.
    pub fn unauthorized() -> Self {
        ApiError::new(401, "Unauthorized", "Unauthorized")
    }

    /// `500 InternalError`.
    pub fn internal(message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError::new(
            500,
            "InternalError",
            format!("Internal error occurred: {message}"),
        )
        .with_details(Details {
            causes: vec![Cause {
                reason: String::new(),
                message,
                field: String::new(),
            }],
            ..Details::default()
        })
    }

    /// `404 NotFound` for a URL that names no known resource.
    pub fn no_route() -> Self {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(Details::default())
    }

    /// The Status body for this error.
    pub fn to_status(&self) -> Value {
        let mut status = Map::new();
        status.insert("kind".into(), "Status".into());
        status.insert("apiVersion".into(), "v1".into());
        status.insert("metadata".into(), json!({}));
        status.insert("status".into(), "Failure".into());
        status.insert("message".into(), self.message.clone().into());
        // An empty reason is StatusReasonUnknown, which the real server omits.
        if !self.reason.is_empty() {
            status.insert("reason".into(), self.reason.clone().into());
        }
        if let Some(details) = &self.details {
            status.insert("details".into(), details.to_json());
        }
        status.insert("code".into(), self.code.into());
        Value::Object(status)
    }
}

impl Details {
    fn to_json(&self) -> Value {
        let mut details = Map::new();
        if let Some(name) = &self.name {
            details.insert("name".into(), name.clone().into());
        }
        if let Some(group) = &self.group {
            details.insert("group".into(), group.clone().into());
        }
        if let Some(kind) = &self.kind {
            details.insert("kind".into(), kind.clone().into());
        }
        if !self.causes.is_empty() {
            details.insert(
                "causes".into(),
                self.causes.iter().map(Cause::to_json).collect(),
            );
        }
        Value::Object(details)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

/// The success Status returned by deletes of most resources.
pub fn deleted_status(group: &str, resource: &str, name: &str, uid: &str) -> Value {
    let mut details = Map::new();
    details.insert("name".into(), name.into());
    details.insert("group".into(), group.into());
    details.insert("kind".into(), resource.into());
    details.insert("uid".into(), uid.into());
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
}

/// The reason the real server uses for an HTTP status code, for injected failures.
pub fn reason_for_code(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Expired",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "InternalError",
    }
}

/// `configmaps` for the core group, `deployments.apps` otherwise.
fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

fn resource_details(group: &str, resource: &str, name: &str) -> Details {
    Details {
        name: Some(name.to_string()),
        group: (!group.is_empty()).then(|| group.to_string()),
        kind: Some(resource.to_string()),
        causes: Vec::new(),
    }
}

fn cause_text(cause: &Cause) -> String {
    if cause.field.is_empty() {
        cause.message.clone()
    } else {
        format!("{}: {}", cause.field, cause.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_has_the_real_shape() {
        let body = ApiError::not_found("", "configmaps", "x").to_status();
        assert_eq!(
            body.to_string(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"x\" not found","reason":"NotFound","details":{"name":"x","kind":"configmaps"},"code":404}"#
        );
    }

    #[test]
    fn grouped_resources_are_qualified() {
        let error = ApiError::stale_resource_version("apps", "deployments", "web");
        assert_eq!(
            error.message,
            "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply your changes to the latest version and try again"
        );
        assert_eq!(error.to_status()["details"]["group"], "apps");
    }

    #[test]
    fn invalid_lists_several_causes_in_brackets() {
        let causes = vec![
            Cause::new("FieldValueRequired", "Required value", "a"),
            Cause::new("FieldValueInvalid", "Invalid value", "b"),
        ];
        let error = ApiError::invalid("", "ConfigMap", "x", causes);
        assert_eq!(
            error.message,
            "ConfigMap \"x\" is invalid: [a: Required value, b: Invalid value]"
        );
        assert_eq!(error.code, 422);
    }
}
