//! `GET /api/v1/namespaces/{ns}/pods/{name}/log`: what a Pod's container
//! printed, as `text/plain`, with the real server's (and kubelet's) errors.
//! `container`, `previous`, `tailLines`, `limitBytes` and `timestamps` are
//! honoured; `follow` answers what there is and ends.

use serde_json::Value;

use super::{ApiRequest, ApiResponse};
use crate::server::Shared;
use crate::status::ApiError;
use crate::store::{ObjectKey, Store};

/// Answer a log request.
pub fn get(shared: &Shared, store: &Store, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let path = &request.path;
    let pods = store
        .catalogue
        .find(&path.group, &path.version, &path.resource)
        .filter(|resource| resource.serves_logs())
        .ok_or_else(ApiError::no_route)?;
    let (Some(namespace), Some(name)) = (&path.namespace, &path.name) else {
        return Err(ApiError::no_route());
    };
    if request.method != axum::http::Method::GET {
        return Err(ApiError::method_not_allowed(request.method.as_str()));
    }
    let pod = store
        .get(&ObjectKey::new(&pods, namespace, name))
        .ok_or_else(|| ApiError::not_found("", "pods", name))?;
    let container = choose_container(&pod, name, request.query.non_empty("container"))?;
    if pod.pointer("/spec/nodeName").is_none() {
        // Not scheduled: the real server has no kubelet to ask and answers nothing.
        return Ok(ApiResponse::Text(200, String::new()));
    }
    let kubelet_error = |message: String| Err(ApiError::bad_request(message));
    if request.query.flag("previous") {
        return kubelet_error(format!(
            "previous terminated container \"{container}\" in pod \"{name}\" not found"
        ));
    }
    let state = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|statuses| statuses.iter().find(|s| s["name"] == container.as_str()))
        .map(|status| &status["state"]);
    let waiting = match state {
        None => Some("ContainerCreating"),
        Some(state) => state
            .get("waiting")
            .map(|waiting| waiting["reason"].as_str().unwrap_or_default()),
    };
    if let Some(reason) = waiting {
        return kubelet_error(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
        ));
    }
    let uid = pod
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let text = shared
        .runs
        .log(uid)
        .filter(|log| log.container == container)
        .map(|log| {
            if request.query.flag("timestamps") {
                log.text
                    .split_inclusive('\n')
                    .map(|line| format!("{} {line}", log.started))
                    .collect()
            } else {
                log.text
            }
        })
        .unwrap_or_default();
    Ok(ApiResponse::Text(200, trimmed(text, &request.query)))
}

/// The container a log request is for: the one named (any kind of
/// container), or the only one.
fn choose_container(pod: &Value, name: &str, wanted: Option<&str>) -> Result<String, ApiError> {
    // Init containers first, as the real server lists them.
    let all: Vec<&str> = ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .filter_map(|field| pod.pointer(&format!("/spec/{field}"))?.as_array())
        .flatten()
        .filter_map(|container| container["name"].as_str())
        .collect();
    let regular: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|container| container["name"].as_str())
        .collect();
    match (wanted, regular.as_slice()) {
        (Some(wanted), _) if all.contains(&wanted) => Ok(wanted.to_string()),
        (Some(wanted), _) => Err(ApiError::bad_request(format!(
            "container {wanted} is not valid for pod {name}"
        ))),
        (None, [only]) => Ok((*only).to_string()),
        (None, []) => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}"
        ))),
        (None, _) => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            all.join(" ")
        ))),
    }
}

/// `tailLines` (the last n lines), then `limitBytes`.
fn trimmed(text: String, query: &crate::path::Query) -> String {
    let number = |key: &str| query.non_empty(key).and_then(|n| n.parse::<usize>().ok());
    let mut text = match number("tailLines") {
        Some(tail) => {
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            lines[lines.len().saturating_sub(tail)..].concat()
        }
        None => text,
    };
    if let Some(limit) = number("limitBytes") {
        let mut end = limit.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::Query;
    use serde_json::json;

    #[test]
    fn tail_lines_then_limit_bytes() {
        let text = "one\ntwo\nthree\n".to_string();
        assert_eq!(
            trimmed(text.clone(), &Query::parse(Some("tailLines=2"))),
            "two\nthree\n"
        );
        assert_eq!(
            trimmed(text.clone(), &Query::parse(Some("tailLines=0"))),
            ""
        );
        assert_eq!(
            trimmed(text, &Query::parse(Some("tailLines=2&limitBytes=5"))),
            "two\nt"
        );
    }

    #[test]
    fn a_multi_container_pod_needs_a_container_name() {
        let pod = json!({"spec": {"initContainers": [{"name": "migrate"}], "containers": [{"name": "app"}, {"name": "proxy"}]}});
        assert_eq!(
            choose_container(&pod, "p", None).unwrap_err().message,
            "a container name must be specified for pod p, choose one of: [migrate app proxy]"
        );
        assert_eq!(
            choose_container(&pod, "p", Some("migrate")).unwrap(),
            "migrate"
        );
        assert_eq!(
            choose_container(&pod, "p", Some("nope"))
                .unwrap_err()
                .message,
            "container nope is not valid for pod p"
        );
    }
}
