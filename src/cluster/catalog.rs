//! Which kinds the cluster serves, and under which resource names: the cluster is asked
//! once per command, never guessed (CRDs have irregular plurals).
//!
//! Discovery is decided the way client-go decides it: by the answer's `Content-Type`.
//! Only `application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList` (or
//! `v2beta1`) is the aggregated document, describing every kind in two requests.
//! Anything else is the legacy `APIVersions` / `APIGroupList`, which only names group
//! versions: their kinds are then asked for per group version, for the groups the
//! manifests use. An empty answer never means the cluster serves nothing.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIGroupList, APIResourceList, APIVersions};
use kube::client::{APIGroupDiscoveryList, Body};
use kube::discovery::ApiResource;
use serde::de::DeserializeOwned;

use super::{Cluster, ClusterError};

/// What `GET /api` and `GET /apis` ask for: the aggregated document, in either version,
/// else the legacy one.
const DISCOVERY_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

/// The API resources a cluster serves.
pub struct Catalog {
    /// Every `group/version` served (`v1` for the core group).
    api_versions: Vec<String>,
    /// Kinds known so far, by group, version and kind.
    kinds: BTreeMap<GroupVersionKind, KindInfo>,
    /// Legacy discovery only: served versions of the groups whose kinds have not been
    /// asked for yet.
    unasked: BTreeMap<String, Vec<String>>,
    /// Kinds defined by CustomResourceDefinitions that are about to be applied with them,
    /// so a chart can carry a CRD and objects of its kind together.
    pending: BTreeMap<GroupVersionKind, KindInfo>,
}

type GroupVersionKind = (String, String, String);

/// How to reach objects of one kind.
#[derive(Debug, Clone)]
pub struct KindInfo {
    pub resource: ApiResource,
    pub namespaced: bool,
    /// Defined by a CRD applied in the same operation: the server cannot validate
    /// objects of this kind before that CRD exists.
    pub from_pending_crd: bool,
}

/// One discovery document, in whichever form the server answered.
enum Document {
    Aggregated(APIGroupDiscoveryList),
    /// `(group, versions)`; the core group is `""`.
    Legacy(Vec<(String, Vec<String>)>),
}

impl Catalog {
    /// Asks the cluster what it serves: `GET /api` and `GET /apis`, once per command.
    pub async fn discover(cluster: &Cluster) -> Result<Self, ClusterError> {
        let mut catalog = Catalog {
            api_versions: Vec::new(),
            kinds: BTreeMap::new(),
            unasked: BTreeMap::new(),
            pending: BTreeMap::new(),
        };
        // Both at once: over a slow link, one round trip instead of two.
        let (core, groups) = futures_util::future::try_join(
            fetch_document(cluster, "/api"),
            fetch_document(cluster, "/apis"),
        )
        .await?;
        for document in [core, groups] {
            match document {
                Document::Aggregated(list) => catalog.add_aggregated(list),
                Document::Legacy(groups) => {
                    for (group, versions) in groups {
                        catalog
                            .api_versions
                            .extend(versions.iter().map(|v| group_version(&group, v)));
                        catalog.unasked.insert(group, versions);
                    }
                }
            }
        }
        Ok(catalog)
    }

    fn add_aggregated(&mut self, list: APIGroupDiscoveryList) {
        for group in list.items {
            let group_name = group
                .metadata
                .and_then(|metadata| metadata.name)
                .unwrap_or_default();
            for version in group.versions {
                let Some(version_name) = version.version else {
                    continue;
                };
                self.api_versions
                    .push(group_version(&group_name, &version_name));
                for resource in version.resources {
                    let (Some(plural), Some(kind)) = (
                        resource.resource,
                        resource.response_kind.and_then(|k| k.kind),
                    ) else {
                        continue;
                    };
                    let namespaced = resource.scope.as_deref() == Some("Namespaced");
                    self.insert(&group_name, &version_name, kind, plural, namespaced);
                }
            }
        }
    }

    fn insert(
        &mut self,
        group: &str,
        version: &str,
        kind: String,
        plural: String,
        namespaced: bool,
    ) {
        let resource = ApiResource {
            group: group.to_string(),
            version: version.to_string(),
            api_version: group_version(group, version),
            kind: kind.clone(),
            plural,
        };
        let key = (group.to_string(), version.to_string(), kind);
        self.kinds.insert(
            key,
            KindInfo {
                resource,
                namespaced,
                from_pending_crd: false,
            },
        );
    }

    /// Makes sure the kinds of `api_versions` can be resolved. After aggregated discovery
    /// they already can; otherwise this asks about every served version of their groups,
    /// and of no other group.
    pub async fn resolve_groups<'v>(
        &mut self,
        cluster: &Cluster,
        api_versions: impl IntoIterator<Item = &'v str>,
    ) -> Result<(), ClusterError> {
        for group in groups_of(api_versions) {
            let Some(versions) = self.unasked.remove(&group) else {
                continue;
            };
            for version in versions {
                let path = if group.is_empty() {
                    format!("/api/{version}")
                } else {
                    format!("/apis/{group}/{version}")
                };
                let list: APIResourceList = fetch_json(cluster, &path).await?;
                for resource in list.resources {
                    // `deployments/scale` and the like are not kinds of their own.
                    if resource.name.contains('/') {
                        continue;
                    }
                    self.insert(
                        &group,
                        &version,
                        resource.kind,
                        resource.name,
                        resource.namespaced,
                    );
                }
            }
        }
        Ok(())
    }

    /// Every `group/version` served (`v1` for the core group), for `capabilities.api_versions`.
    pub fn api_versions(&self) -> &[String] {
        &self.api_versions
    }

    /// The resource for `apiVersion` + `kind`, or an error naming what the cluster lacks.
    pub fn resolve(&self, api_version: &str, kind: &str) -> Result<KindInfo, ClusterError> {
        let (group, version) = split_api_version(api_version);
        let key = (group.to_string(), version.to_string(), kind.to_string());
        self.kinds
            .get(&key)
            .or_else(|| self.pending.get(&key))
            .cloned()
            .ok_or_else(|| ClusterError::UnknownKind {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
            })
    }

    /// Learns the kinds that CustomResourceDefinition `objects` define, for the objects of
    /// those kinds that go with them. A CRD names its group, plural, scope and versions, so
    /// nothing has to be guessed.
    pub fn learn_crds<'o>(&mut self, objects: impl IntoIterator<Item = &'o serde_json::Value>) {
        for crd in objects {
            let text = |pointer: &str| {
                crd.pointer(pointer)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let (group, kind, plural) = (
                text("/spec/group"),
                text("/spec/names/kind"),
                text("/spec/names/plural"),
            );
            let namespaced = text("/spec/scope") != "Cluster";
            let versions = crd
                .pointer("/spec/versions")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten();
            for version in versions.filter_map(|v| v.get("name").and_then(|n| n.as_str())) {
                let resource = ApiResource {
                    group: group.clone(),
                    version: version.to_string(),
                    api_version: format!("{group}/{version}"),
                    kind: kind.clone(),
                    plural: plural.clone(),
                };
                let info = KindInfo {
                    resource,
                    namespaced,
                    from_pending_crd: true,
                };
                self.pending
                    .insert((group.clone(), version.to_string(), kind.clone()), info);
            }
        }
    }
}

/// Reads `GET /api` or `GET /apis` in the form the server chose to answer in.
async fn fetch_document(cluster: &Cluster, path: &str) -> Result<Document, ClusterError> {
    let (content_type, body) = fetch(cluster, path, DISCOVERY_ACCEPT).await?;
    if is_aggregated(content_type.as_deref()) {
        return parse(cluster, path, &body).map(Document::Aggregated);
    }
    if path == "/api" {
        let core: APIVersions = parse(cluster, path, &body)?;
        return Ok(Document::Legacy(vec![(String::new(), core.versions)]));
    }
    let groups: APIGroupList = parse(cluster, path, &body)?;
    Ok(Document::Legacy(
        groups
            .groups
            .into_iter()
            .map(|group| {
                let versions = group.versions.into_iter().map(|v| v.version).collect();
                (group.name, versions)
            })
            .collect(),
    ))
}

/// Whether a `Content-Type` names the aggregated discovery document.
fn is_aggregated(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let parameters: Vec<String> = content_type
        .split(';')
        .map(|p| p.trim().to_ascii_lowercase())
        .collect();
    let has = |wanted: &str| parameters.iter().any(|p| p == wanted);
    has("g=apidiscovery.k8s.io")
        && has("as=apigroupdiscoverylist")
        && (has("v=v2") || has("v=v2beta1"))
}

async fn fetch_json<T: DeserializeOwned>(cluster: &Cluster, path: &str) -> Result<T, ClusterError> {
    let (_, body) = fetch(cluster, path, "application/json").await?;
    parse(cluster, path, &body)
}

fn parse<T: DeserializeOwned>(
    cluster: &Cluster,
    path: &str,
    body: &[u8],
) -> Result<T, ClusterError> {
    serde_json::from_slice(body).map_err(|error| ClusterError::Discovery {
        server: cluster.server.clone(),
        path: path.to_string(),
        cause: error.to_string(),
    })
}

/// One GET, returning the `Content-Type` and the body; an error status becomes the
/// API error its `Status` body describes.
async fn fetch(
    cluster: &Cluster,
    path: &str,
    accept: &str,
) -> Result<(Option<String>, Vec<u8>), ClusterError> {
    let request = http::Request::get(path)
        .header(http::header::ACCEPT, accept)
        .body(Body::empty())
        .expect("a GET of a fixed path is a valid request");
    let response = cluster
        .client
        .send(request)
        .await
        .map_err(|e| cluster.describe(e))?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let body = response
        .into_body()
        .collect_bytes()
        .await
        .map_err(|e| cluster.describe(e))?
        .to_vec();
    if status.is_success() {
        return Ok((content_type, body));
    }
    let text = String::from_utf8_lossy(&body);
    let api_status = serde_json::from_str::<kube::core::Status>(&text).unwrap_or_else(|_| {
        kube::core::Status::failure(text.trim(), "").with_code(status.as_u16())
    });
    Err(cluster.describe(kube::Error::Api(Box::new(api_status))))
}

fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// `apps/v1` → ("apps", "v1"); `v1` → ("", "v1").
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// The group names a set of apiVersions belong to.
pub fn groups_of<'a>(api_versions: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    api_versions
        .into_iter()
        .map(|v| split_api_version(v).0.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_aggregated_media_type_is_aggregated() {
        assert!(is_aggregated(Some(
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        )));
        assert!(is_aggregated(Some(
            "application/json; g=apidiscovery.k8s.io; v=v2beta1; as=APIGroupDiscoveryList"
        )));
        assert!(!is_aggregated(Some("application/json")));
        assert!(!is_aggregated(Some(
            "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList"
        )));
        assert!(!is_aggregated(None));
    }
}
