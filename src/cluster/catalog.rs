//! Which kinds the cluster serves, and under which resource names: the cluster is asked
//! once per command, never guessed (CRDs have irregular plurals).

use std::collections::{BTreeMap, BTreeSet};

use kube::core::GroupVersionKind;
use kube::discovery::{ApiResource, Discovery, Scope};

use super::{Cluster, ClusterError};

/// The API resources a cluster serves.
pub struct Catalog {
    discovery: Option<Discovery>,
    api_versions: Vec<String>,
    /// Kinds defined by CustomResourceDefinitions that are about to be applied with them,
    /// so a chart can carry a CRD and objects of its kind together.
    pending: BTreeMap<(String, String, String), KindInfo>,
}

/// How to reach objects of one kind.
#[derive(Debug, Clone)]
pub struct KindInfo {
    pub resource: ApiResource,
    pub namespaced: bool,
    /// Defined by a CRD applied in the same operation: the server cannot validate
    /// objects of this kind before that CRD exists.
    pub from_pending_crd: bool,
}

impl Catalog {
    /// Asks the cluster what it serves, once per command. Servers with aggregated
    /// discovery (Kubernetes 1.26+) describe every resource in two requests. Older ones
    /// only list their group versions here; [`Catalog::resolve_groups`] then asks about
    /// the groups the manifests use, and no others.
    pub async fn discover(cluster: &Cluster) -> Result<Self, ClusterError> {
        match Discovery::new(cluster.client.clone())
            .run_aggregated()
            .await
        {
            Ok(discovery) => {
                let api_versions = served_versions(&discovery);
                Ok(Self {
                    discovery: Some(discovery),
                    api_versions,
                    pending: BTreeMap::new(),
                })
            }
            Err(error) if is_transport(&error) => Err(cluster.describe(error)),
            Err(_) => {
                let describe = |e| cluster.describe(e);
                let groups = cluster.client.list_api_groups().await.map_err(describe)?;
                let core = cluster
                    .client
                    .list_core_api_versions()
                    .await
                    .map_err(describe)?;
                let mut api_versions = core.versions;
                for group in groups.groups {
                    api_versions.extend(group.versions.into_iter().map(|v| v.group_version));
                }
                Ok(Self {
                    discovery: None,
                    api_versions,
                    pending: BTreeMap::new(),
                })
            }
        }
    }

    /// Makes sure the kinds of `api_versions` can be resolved. After aggregated discovery
    /// they already can; otherwise this asks about their groups, and only those.
    pub async fn resolve_groups<'v>(
        &mut self,
        cluster: &Cluster,
        api_versions: impl IntoIterator<Item = &'v str>,
    ) -> Result<(), ClusterError> {
        if self.discovery.is_none() {
            let groups = groups_of(api_versions);
            let allow: Vec<&str> = groups.iter().map(String::as_str).collect();
            let discovery = Discovery::new(cluster.client.clone())
                .filter(&allow)
                .run()
                .await
                .map_err(|e| cluster.describe(e))?;
            self.discovery = Some(discovery);
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
        let gvk = GroupVersionKind::gvk(group, version, kind);
        self.discovery
            .as_ref()
            .and_then(|discovery| discovery.resolve_gvk(&gvk))
            .map(|(resource, capabilities)| KindInfo {
                resource,
                namespaced: capabilities.scope == Scope::Namespaced,
                from_pending_crd: false,
            })
            .or_else(|| {
                let key = (group.to_string(), version.to_string(), kind.to_string());
                self.pending.get(&key).cloned()
            })
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

fn served_versions(discovery: &Discovery) -> Vec<String> {
    let mut versions = Vec::new();
    for group in discovery.groups_alphabetical() {
        for version in group.versions() {
            versions.push(if group.name().is_empty() {
                version.to_string()
            } else {
                format!("{}/{version}", group.name())
            });
        }
    }
    versions
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

/// Errors that say nothing about the server's discovery support.
fn is_transport(error: &kube::Error) -> bool {
    matches!(error, kube::Error::HyperError(_) | kube::Error::Service(_))
        || matches!(error, kube::Error::Api(status) if status.code == 401 || status.code == 403)
}
