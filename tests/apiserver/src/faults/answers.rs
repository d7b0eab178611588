//! The answers faults give, shaped as the real server's: `metav1.Status`
//! bodies, the ResourceQuota and admission-webhook rejections, the plain-text
//! `429` of API Priority and Fairness, and the failures a write can meet
//! after it was committed.

use serde_json::Value;

use super::{Fault, FaultAction, Operation, RequestFacts, RequestMatch};
use crate::status::{self, ApiError, Details};

/// The body API Priority and Fairness (and the max-in-flight filter) answer `429` with.
const TOO_MANY_REQUESTS: &str = "Too many requests, please try again later.\n";

/// An HTTP answer decided by a fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status code.
    pub code: u16,
    /// `Content-Type` of the body.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
    /// The `Retry-After` header, in seconds.
    pub retry_after: Option<String>,
}

impl FaultAction {
    /// The answer this action gives to `request`, whose body was `body`;
    /// `None` for actions that do not answer (delay, hold, drop).
    pub fn answer(&self, request: &RequestFacts, body: &[u8]) -> Option<Answer> {
        let error = match self {
            FaultAction::Fail {
                code,
                reason,
                message,
            } => ApiError::new(
                *code,
                reason
                    .as_deref()
                    .unwrap_or_else(|| status::reason_for_code(*code)),
                message
                    .clone()
                    .unwrap_or_else(|| format!("injected failure ({code})")),
            ),
            FaultAction::Conflict => conflict(request),
            FaultAction::QuotaExceeded {
                quota,
                resource,
                requested,
                used,
                limited,
            } => {
                let resource = resource.clone().unwrap_or_else(|| count_resource(request));
                let usage = |amount: &str| format!("{resource}={amount}");
                forbidden(
                    request,
                    body,
                    &format!(
                        "exceeded quota: {quota}, requested: {}, used: {}, limited: {}",
                        usage(requested),
                        usage(used),
                        usage(limited)
                    ),
                )
            }
            FaultAction::WebhookDenied {
                webhook,
                code,
                reason,
                message,
            } => webhook_denied(webhook, *code, reason.as_deref(), message.as_deref()),
            FaultAction::Status(status) => return Some(status_answer(status)),
            FaultAction::TooManyRequests {
                retry_after_seconds,
            } => {
                return Some(Answer {
                    code: 429,
                    content_type: "text/plain; charset=utf-8",
                    body: TOO_MANY_REQUESTS.to_string(),
                    retry_after: Some(retry_after_seconds.to_string()),
                });
            }
            FaultAction::AfterCommit(action) => return action.answer(request, body),
            FaultAction::Delay { .. } | FaultAction::Hold { .. } | FaultAction::Drop => {
                return None;
            }
        };
        Some(status_answer(&error.to_status()))
    }

    /// `504 Timeout` as the real server answers a request that outlived its
    /// deadline, e.g. a write whose commit outlasted the request timeout:
    /// `Timeout: request did not complete within requested timeout - context deadline exceeded`.
    pub fn timeout() -> Self {
        let error = ApiError::new(
            504,
            "Timeout",
            "Timeout: request did not complete within requested timeout - context deadline exceeded",
        )
        .with_details(Details::default());
        FaultAction::Status(error.to_status())
    }

    /// `500` with etcd's own message `etcdserver: request timed out` and no
    /// reason, as the real server passes storage errors on; the write may
    /// still be applied.
    pub fn etcd_request_timed_out() -> Self {
        FaultAction::Status(ApiError::new(500, "", "etcdserver: request timed out").to_status())
    }

    /// `500 InternalError`: `Internal error occurred: <message>`.
    pub fn internal_error(message: &str) -> Self {
        FaultAction::Status(ApiError::internal(message).to_status())
    }

    /// `503 ServiceUnavailable` with `message`.
    pub fn service_unavailable(message: &str) -> Self {
        FaultAction::Status(ApiError::new(503, "ServiceUnavailable", message).to_status())
    }

    /// `429` as API Priority and Fairness rejects a request: plain text,
    /// `Retry-After: 1`.
    pub fn too_many_requests() -> Self {
        FaultAction::TooManyRequests {
            retry_after_seconds: 1,
        }
    }

    /// `403 Forbidden` from the ResourceQuota admission plugin for a quota
    /// named `quota` that allows `limit` objects of the request's type, all in use.
    pub fn quota_exceeded(quota: &str, limit: u64) -> Self {
        FaultAction::QuotaExceeded {
            quota: quota.to_string(),
            resource: None,
            requested: "1".to_string(),
            used: limit.to_string(),
            limited: limit.to_string(),
        }
    }

    /// A validating webhook's denial as controller-runtime webhooks answer
    /// (`admission.Denied`): `403 Forbidden`,
    /// `admission webhook "<webhook>" denied the request: <message>`.
    pub fn webhook_denied(webhook: &str, message: &str) -> Self {
        FaultAction::WebhookDenied {
            webhook: webhook.to_string(),
            code: Some(403),
            reason: Some("Forbidden".to_string()),
            message: Some(message.to_string()),
        }
    }
}

impl Fault {
    /// Reject creates of `resource` as the ResourceQuota admission plugin
    /// does when quota `quota` allows `limit` of them, all in use.
    pub fn quota_exceeded(resource: &str, quota: &str, limit: u64) -> Self {
        Fault::new(
            RequestMatch::of(Operation::Create).resource(resource),
            FaultAction::quota_exceeded(quota, limit),
        )
    }

    /// Reject writes of `resource` as a validating webhook named `webhook`
    /// does (`403`, see [`FaultAction::webhook_denied`]).
    pub fn webhook_denies(resource: &str, webhook: &str, message: &str) -> Self {
        Fault::new(
            RequestMatch::of(Operation::Write).resource(resource),
            FaultAction::webhook_denied(webhook, message),
        )
    }
}

/// A Status body as an answer; `details.retryAfterSeconds` becomes `Retry-After`
/// as the real server's error writer does.
fn status_answer(status: &Value) -> Answer {
    let code = status
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|code| u16::try_from(code).ok())
        .unwrap_or(500);
    let retry_after = status
        .pointer("/details/retryAfterSeconds")
        .and_then(Value::as_u64)
        .filter(|seconds| *seconds > 0)
        .map(|seconds| seconds.to_string());
    Answer {
        code,
        content_type: "application/json",
        body: status.to_string(),
        retry_after,
    }
}

fn conflict(request: &RequestFacts) -> ApiError {
    match (&request.resource, &request.name) {
        (Some(resource), Some(name)) => {
            ApiError::stale_resource_version(&resource.group, &resource.plural, name)
        }
        _ => ApiError::conflict(
            "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again",
            Vec::new(),
        ),
    }
}

/// `count/<plural>` (core) or `count/<plural>.<group>`: the object-count quota of the request's type.
fn count_resource(request: &RequestFacts) -> String {
    match &request.resource {
        Some(resource) if resource.group.is_empty() => format!("count/{}", resource.plural),
        Some(resource) => format!("count/{}.{}", resource.plural, resource.group),
        None => "count/objects".to_string(),
    }
}

/// An admission plugin's `403`: `<resource> "<name>" is forbidden: <reason>`,
/// the name taken as admission takes it: from the URL, else from the body
/// (`name`, then `generateName`), else `Unknown`.
fn forbidden(request: &RequestFacts, body: &[u8], reason: &str) -> ApiError {
    let Some(resource) = &request.resource else {
        return ApiError::new(403, "Forbidden", format!("forbidden: {reason}"));
    };
    let name = request
        .name
        .clone()
        .or_else(|| name_in_body(body))
        .unwrap_or_else(|| "Unknown".to_string());
    let qualified = if resource.group.is_empty() {
        resource.plural.clone()
    } else {
        format!("{}.{}", resource.plural, resource.group)
    };
    ApiError::new(
        403,
        "Forbidden",
        format!("{qualified} \"{name}\" is forbidden: {reason}"),
    )
    .with_details(Details {
        name: Some(name),
        group: (!resource.group.is_empty()).then(|| resource.group.clone()),
        kind: Some(resource.plural.clone()),
        causes: Vec::new(),
    })
}

fn name_in_body(body: &[u8]) -> Option<String> {
    let object: Value = serde_json::from_slice(body)
        .ok()
        .or_else(|| serde_saphyr::from_str(std::str::from_utf8(body).ok()?).ok())?;
    ["name", "generateName"]
        .iter()
        .filter_map(|field| object.pointer(&format!("/metadata/{field}"))?.as_str())
        .find(|name| !name.is_empty())
        .map(str::to_string)
}

/// The apiserver's wrapping of a webhook's rejection: its own code (400 when
/// below 400) and reason, and its message after `admission webhook "<name>" denied the request`.
fn webhook_denied(
    webhook: &str,
    code: Option<u16>,
    reason: Option<&str>,
    message: Option<&str>,
) -> ApiError {
    let denied_by = format!("admission webhook \"{webhook}\" denied the request");
    let explanation = message
        .filter(|m| !m.is_empty())
        .or(reason.filter(|r| !r.is_empty()));
    let message = match explanation {
        Some(explanation) => format!("{denied_by}: {explanation}"),
        None => format!("{denied_by} without explanation"),
    };
    let code = code.filter(|code| *code >= 400).unwrap_or(400);
    ApiError::new(code, reason.unwrap_or_default(), message)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalogue::Catalogue;

    fn request(resource: &str, name: Option<&str>) -> RequestFacts {
        let catalogue = Catalogue::builtin();
        RequestFacts {
            method: "POST".into(),
            resource: catalogue.resolve(resource),
            namespace: Some("default".into()),
            name: name.map(str::to_string),
            ..RequestFacts::default()
        }
    }

    fn body_of(answer: &Answer) -> Value {
        serde_json::from_str(&answer.body).unwrap()
    }

    #[test]
    fn quota_rejections_name_the_object_from_the_body_on_create() {
        let body = br#"{"metadata": {"name": "web"}}"#;
        let answer = FaultAction::quota_exceeded("object-counts", 10)
            .answer(&request("deployments", None), body)
            .unwrap();
        assert_eq!(answer.code, 403);
        assert_eq!(
            body_of(&answer),
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "deployments.apps \"web\" is forbidden: exceeded quota: object-counts, requested: count/deployments.apps=1, used: count/deployments.apps=10, limited: count/deployments.apps=10",
                "reason": "Forbidden",
                "details": {"name": "web", "group": "apps", "kind": "deployments"},
                "code": 403
            })
        );
        let generated = FaultAction::quota_exceeded("q", 1)
            .answer(
                &request("configmaps", None),
                br#"{"metadata": {"generateName": "cfg-"}}"#,
            )
            .unwrap();
        assert!(body_of(&generated)["message"]
            .as_str()
            .unwrap()
            .starts_with("configmaps \"cfg-\" is forbidden: exceeded quota: q, requested: count/configmaps=1"));
    }

    #[test]
    fn webhook_denials_keep_the_webhook_code_or_become_400() {
        let forbidden = FaultAction::webhook_denied("policy.example.com", "no latest tags")
            .answer(&request("pods", Some("p")), b"")
            .unwrap();
        assert_eq!(
            body_of(&forbidden),
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "admission webhook \"policy.example.com\" denied the request: no latest tags",
                "reason": "Forbidden", "code": 403})
        );
        let bare = FaultAction::WebhookDenied {
            webhook: "w".into(),
            code: None,
            reason: None,
            message: None,
        }
        .answer(&request("pods", Some("p")), b"")
        .unwrap();
        assert_eq!(
            body_of(&bare),
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "admission webhook \"w\" denied the request without explanation", "code": 400})
        );
    }

    #[test]
    fn storage_failures_have_the_real_shapes() {
        let facts = request("configmaps", Some("x"));
        let timeout = FaultAction::timeout().answer(&facts, b"").unwrap();
        assert_eq!(
            timeout.body,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Timeout: request did not complete within requested timeout - context deadline exceeded","reason":"Timeout","details":{},"code":504}"#
        );
        let etcd = FaultAction::etcd_request_timed_out()
            .answer(&facts, b"")
            .unwrap();
        assert_eq!(
            etcd.body,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"etcdserver: request timed out","code":500}"#
        );
        let throttled = FaultAction::too_many_requests()
            .answer(&facts, b"")
            .unwrap();
        assert_eq!(
            (
                throttled.code,
                throttled.content_type,
                throttled.retry_after.as_deref()
            ),
            (429, "text/plain; charset=utf-8", Some("1"))
        );
    }
}
