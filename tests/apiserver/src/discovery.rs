//! Discovery documents: `/version`, `/api`, `/apis` and per-group-version
//! resource lists, in both the legacy and the aggregated (`apidiscovery.k8s.io/v2`) form.

use std::cmp::Ordering;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::catalogue::{Catalogue, ResourceType};

/// The Kubernetes version the server reports.
pub const KUBERNETES_VERSION: (&str, &str) = ("1", "34");

/// The content type of an aggregated discovery answer.
pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// How `/api` and `/apis` answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DiscoveryMode {
    /// An aggregated `APIGroupDiscoveryList` when the client asks for one, as
    /// Kubernetes 1.27 and later do.
    #[default]
    Aggregated,
    /// Always the plain `APIVersions` / `APIGroupList`, whatever the Accept
    /// header asks for, as Kubernetes before 1.27 and many proxies do.
    Legacy,
}

impl std::str::FromStr for DiscoveryMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "aggregated" => Ok(DiscoveryMode::Aggregated),
            "legacy" => Ok(DiscoveryMode::Legacy),
            other => Err(format!("expected `aggregated` or `legacy`, got `{other}`")),
        }
    }
}

/// Whether the client asked for aggregated discovery (kubectl and kube-rs both can).
/// Only `apidiscovery.k8s.io/v2` counts: the real server stopped serving v2beta1
/// in 1.33 and answers a request for it with the legacy document.
pub fn wants_aggregated(accept: Option<&str>) -> bool {
    accept.is_some_and(|accept| {
        accept.split(',').any(|media| {
            let params: Vec<&str> = media.split(';').map(str::trim).collect();
            params.contains(&"as=APIGroupDiscoveryList")
                && params.contains(&"g=apidiscovery.k8s.io")
                && params.contains(&"v=v2")
        })
    })
}

/// `/version`
pub fn version() -> Value {
    let (major, minor) = KUBERNETES_VERSION;
    json!({
        "major": major,
        "minor": minor,
        "emulationMajor": major,
        "emulationMinor": minor,
        "minCompatibilityMajor": major,
        "minCompatibilityMinor": "33",
        "gitVersion": format!("v{major}.{minor}.0"),
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-08-27T00:00:00Z",
        "goVersion": "go1.24.6",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `/api` (legacy form).
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

/// `/apis` (legacy form).
pub fn groups(catalogue: &Catalogue) -> Value {
    let groups: Vec<Value> = catalogue
        .groups()
        .into_iter()
        .map(|(name, versions)| group_json(&name, &versions))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`, if the group is served.
pub fn group(catalogue: &Catalogue, name: &str) -> Option<Value> {
    let (_, versions) = catalogue
        .groups()
        .into_iter()
        .find(|(group, _)| group == name)?;
    let mut document = group_json(name, &versions);
    let map = document.as_object_mut()?;
    let mut ordered = Map::new();
    ordered.insert("kind".into(), "APIGroup".into());
    ordered.insert("apiVersion".into(), "v1".into());
    ordered.append(map);
    Some(Value::Object(ordered))
}

/// `/api/v1` or `/apis/<group>/<version>`, if served.
pub fn resources(catalogue: &Catalogue, group: &str, version: &str) -> Option<Value> {
    let types: Vec<&Arc<ResourceType>> = catalogue.in_group_version(group, version).collect();
    if types.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for resource in types {
        resources.push(resource_json(resource));
        // Subresources in the real server's (alphabetical) order.
        if resource.serves_logs() {
            resources.push(json!({
                "name": format!("{}/log", resource.plural),
                "singularName": "",
                "namespaced": resource.namespaced,
                "kind": resource.kind,
                "verbs": ["get"],
            }));
        }
        if resource.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", resource.plural),
                "singularName": "",
                "namespaced": resource.namespaced,
                "kind": resource.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
        if resource.scale_subresource {
            resources.push(json!({
                "name": format!("{}/scale", resource.plural),
                "singularName": "",
                "namespaced": resource.namespaced,
                "group": "autoscaling",
                "version": "v1",
                "kind": "Scale",
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
    )
}

/// Aggregated discovery for `/api` (`core: true`) or `/apis`.
pub fn aggregated(catalogue: &Catalogue, core: bool) -> Value {
    let items: Vec<Value> = if core {
        vec![aggregated_group(catalogue, "", &["v1".to_string()])]
    } else {
        catalogue
            .groups()
            .into_iter()
            .map(|(group, versions)| aggregated_group(catalogue, &group, &versions))
            .collect()
    };
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

fn aggregated_group(catalogue: &Catalogue, group: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = sorted_versions(versions)
        .into_iter()
        .map(|version| {
            let resources: Vec<Value> = catalogue
                .in_group_version(group, &version)
                .map(|resource| {
                    let response_kind = json!({"group": group, "version": version, "kind": resource.kind});
                    let mut entry = json!({
                        "resource": resource.plural,
                        "responseKind": response_kind,
                        "scope": if resource.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": resource.singular,
                        "verbs": resource.verbs(),
                    });
                    if !resource.short_names.is_empty() {
                        entry["shortNames"] = json!(resource.short_names);
                    }
                    if !resource.categories.is_empty() {
                        entry["categories"] = json!(resource.categories);
                    }
                    let mut subresources = Vec::new();
                    if resource.serves_logs() {
                        subresources.push(json!({
                            "subresource": "log",
                            "responseKind": response_kind,
                            "verbs": ["get"],
                        }));
                    }
                    if resource.status_subresource {
                        subresources.push(json!({
                            "subresource": "status",
                            "responseKind": response_kind,
                            "verbs": ["get", "patch", "update"],
                        }));
                    }
                    if resource.scale_subresource {
                        subresources.push(json!({
                            "subresource": "scale",
                            "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                            "verbs": ["get", "patch", "update"],
                        }));
                    }
                    if !subresources.is_empty() {
                        entry["subresources"] = Value::Array(subresources);
                    }
                    entry
                })
                .collect();
            json!({"version": version, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let metadata = if group.is_empty() {
        json!({"creationTimestamp": null})
    } else {
        json!({"name": group, "creationTimestamp": null})
    };
    json!({"metadata": metadata, "versions": versions})
}

fn group_json(name: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = sorted_versions(versions)
        .into_iter()
        .map(|version| json!({"groupVersion": format!("{name}/{version}"), "version": version}))
        .collect();
    let preferred = versions.first().cloned().unwrap_or_default();
    json!({"name": name, "versions": versions, "preferredVersion": preferred})
}

fn resource_json(resource: &ResourceType) -> Value {
    let mut entry = json!({
        "name": resource.plural,
        "singularName": resource.singular,
        "namespaced": resource.namespaced,
        "kind": resource.kind,
        "verbs": resource.verbs(),
    });
    if !resource.short_names.is_empty() {
        entry["shortNames"] = json!(resource.short_names);
    }
    if !resource.categories.is_empty() {
        entry["categories"] = json!(resource.categories);
    }
    entry
}

/// Versions in Kubernetes priority order: GA before beta before alpha, higher numbers first.
fn sorted_versions(versions: &[String]) -> Vec<String> {
    let mut sorted = versions.to_vec();
    sorted.sort_by(|a, b| compare_versions(b, a));
    sorted
}

fn compare_versions(a: &str, b: &str) -> Ordering {
    fn rank(version: &str) -> (u8, u32, u32) {
        let Some(rest) = version.strip_prefix('v') else {
            return (0, 0, 0);
        };
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let major = digits.parse().unwrap_or(0);
        let tail = &rest[digits.len()..];
        let (stability, number) = if tail.is_empty() {
            (3, 0)
        } else if let Some(n) = tail.strip_prefix("beta") {
            (2, n.parse().unwrap_or(0))
        } else if let Some(n) = tail.strip_prefix("alpha") {
            (1, n.parse().unwrap_or(0))
        } else {
            (0, 0)
        };
        (stability, major, number)
    }
    rank(a).cmp(&rank(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_lists_include_status_subresources() {
        let list = resources(&Catalogue::builtin(), "apps", "v1").unwrap();
        let names: Vec<&str> = list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"deployments"));
        assert!(names.contains(&"deployments/status"));
        assert_eq!(list["groupVersion"], "apps/v1");
        assert!(resources(&Catalogue::builtin(), "apps", "v9").is_none());
    }

    #[test]
    fn detects_aggregated_accept_headers() {
        assert!(wants_aggregated(Some(
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
        )));
        assert!(!wants_aggregated(Some(
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
        )));
        assert!(!wants_aggregated(Some("application/json, */*")));
        assert!(!wants_aggregated(None));
    }

    #[test]
    fn versions_sort_by_kubernetes_priority() {
        let versions = ["v1beta1", "v1", "v2alpha1", "v2"].map(String::from);
        assert_eq!(
            sorted_versions(&versions),
            ["v2", "v1", "v1beta1", "v2alpha1"]
        );
    }
}
