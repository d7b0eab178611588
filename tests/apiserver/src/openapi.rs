//! A minimal OpenAPI v3 document set: one path per resource whose write
//! operations declare the `fieldValidation` parameter.
//!
//! kubectl reads `/openapi/v3` before `create -f` and `apply` to learn whether
//! the server validates fields itself; when it finds the parameter it sends
//! `fieldValidation=Strict` instead of downloading schemas to validate
//! locally. No schemas are served, so `kubectl explain` is not supported.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::catalogue::{Catalogue, ResourceType};
use crate::discovery::KUBERNETES_VERSION;

/// `/openapi/v3`: the group versions and where their documents are.
pub fn index(catalogue: &Catalogue) -> Value {
    let mut paths = Map::new();
    let hash = catalogue_hash(catalogue);
    for (group, version) in group_versions(catalogue) {
        let key = document_key(&group, &version);
        paths.insert(
            key.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={hash}")}),
        );
    }
    json!({"paths": paths})
}

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/<group>/<version>`.
pub fn document(catalogue: &Catalogue, url_path: &str) -> Option<Value> {
    let key = url_path.strip_prefix("/openapi/v3/")?.trim_end_matches('/');
    let (group, version) = group_versions(catalogue)
        .into_iter()
        .find(|(group, version)| document_key(group, version) == key)?;
    let mut paths = Map::new();
    for resource in catalogue.in_group_version(&group, &version) {
        let (collection, item) = resource_paths(resource);
        let gvk =
            json!({"group": resource.group, "version": resource.version, "kind": resource.kind});
        paths.insert(collection, json!({"post": operation("post", &gvk)}));
        paths.insert(
            item,
            json!({"put": operation("put", &gvk), "patch": operation("patch", &gvk)}),
        );
    }
    let (major, minor) = KUBERNETES_VERSION;
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": format!("v{major}.{minor}.0")},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}

fn operation(action: &str, gvk: &Value) -> Value {
    let parameter = |name: &str| json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}});
    json!({
        "parameters": [parameter("dryRun"), parameter("fieldManager"), parameter("fieldValidation")],
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    })
}

fn resource_paths(resource: &Arc<ResourceType>) -> (String, String) {
    let prefix = if resource.group.is_empty() {
        format!("/api/{}", resource.version)
    } else {
        format!("/apis/{}/{}", resource.group, resource.version)
    };
    let scope = if resource.namespaced {
        "/namespaces/{namespace}"
    } else {
        ""
    };
    let collection = format!("{prefix}{scope}/{}", resource.plural);
    let item = format!("{collection}/{{name}}");
    (collection, item)
}

fn group_versions(catalogue: &Catalogue) -> Vec<(String, String)> {
    let mut all = vec![(String::new(), "v1".to_string())];
    for (group, versions) in catalogue.groups() {
        all.extend(versions.into_iter().map(|version| (group.clone(), version)));
    }
    all
}

fn document_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// Changes whenever the set of served types changes, so clients refetch.
fn catalogue_hash(catalogue: &Catalogue) -> String {
    let names: Vec<String> = catalogue
        .types()
        .map(|t| format!("{}/{}/{}", t.group, t.version, t.plural))
        .collect();
    let hash = names
        .join(",")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{hash:016X}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_points_at_every_group_version() {
        let index = index(&Catalogue::builtin());
        let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap();
        assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="), "{url}");
        assert!(index["paths"]["api/v1"].is_object());
    }

    #[test]
    fn documents_declare_field_validation_on_patch() {
        let doc = document(&Catalogue::builtin(), "/openapi/v3/apis/apps/v1").unwrap();
        let patch =
            &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"]["kind"],
            "Deployment"
        );
        assert!(
            patch["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation")
        );
        assert!(document(&Catalogue::builtin(), "/openapi/v3/apis/nope/v1").is_none());
    }
}
