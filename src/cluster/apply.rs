//! Putting a revision's objects into the cluster and taking them out again.
//!
//! Objects are applied with server-side apply, kind by kind in install order; objects of
//! the same kind go in parallel. Every object is stamped with its release, and nothing
//! that belongs to another release (or to none) is changed unless the user says so.

use std::collections::BTreeMap;

use std::time::Duration;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use serde_json::Value;

use super::{Catalog, Cluster, ClusterError, ForeignObject, KindInfo};
use crate::render::{Manifest, ResourceId, install_rank};

/// The field manager rchart applies as, so the API server can tell its fields apart.
pub const FIELD_MANAGER: &str = "rchart";
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const RELEASE_NAME_ANNOTATION: &str = "rchart.io/release-name";
pub const RELEASE_NAMESPACE_ANNOTATION: &str = "rchart.io/release-namespace";
pub const RESOURCE_POLICY_ANNOTATION: &str = "rchart.io/resource-policy";

/// Requests in flight at once for objects of one kind: enough to hide latency, few
/// enough not to look like a flood to the API server's priority and fairness.
const CONCURRENCY: usize = 8;

/// The release objects belong to.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub release: &'a str,
    pub namespace: &'a str,
}

/// One object of a revision, resolved and stamped, ready to send.
#[derive(Debug, Clone)]
pub struct Planned {
    /// Identity with the namespace it will really live in (`None` if cluster-scoped).
    pub id: ResourceId,
    pub kind: KindInfo,
    pub object: Value,
    /// Annotated `rchart.io/resource-policy: keep`: never deleted by rchart.
    pub keep: bool,
    /// Take over fields other managers own: set for objects being adopted.
    pub force: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Ask the server to validate and answer without storing (`dryRun=All`).
    pub dry_run: bool,
    /// Take fields other managers own (used when adopting objects).
    pub force: bool,
}

/// Resolves every manifest's kind and namespace and stamps it with the owner.
pub fn plan(
    catalog: &Catalog,
    manifests: &[Manifest],
    owner: Owner<'_>,
) -> Result<Vec<Planned>, ClusterError> {
    manifests
        .iter()
        .map(|manifest| {
            let kind = catalog
                .resolve(&manifest.id.api_version, &manifest.id.kind)
                .map_err(|cause| ClusterError::Resource {
                    resource: manifest.id.clone(),
                    cause: Box::new(cause),
                })?;
            let namespace = kind.namespaced.then(|| {
                manifest
                    .id
                    .namespace
                    .clone()
                    .unwrap_or_else(|| owner.namespace.to_string())
            });
            let id = ResourceId {
                namespace: namespace.clone(),
                ..manifest.id.clone()
            };
            let mut object = manifest.object().map_err(|e| ClusterError::Resource {
                resource: manifest.id.clone(),
                cause: Box::new(ClusterError::Manifest(e.to_string())),
            })?;
            stamp(&mut object, owner, namespace.as_deref());
            // Deleting a CRD deletes every object of its kind in the cluster, other
            // releases' too: CRDs are kept, like objects annotated
            // `rchart.io/resource-policy: keep`.
            let keep = manifest.id.kind == "CustomResourceDefinition"
                || object
                    .pointer(&format!(
                        "/metadata/annotations/{}",
                        RESOURCE_POLICY_ANNOTATION.replace('/', "~1")
                    ))
                    .and_then(Value::as_str)
                    == Some("keep");
            Ok(Planned {
                id,
                kind,
                object,
                keep,
                force: false,
            })
        })
        .collect()
}

fn stamp(object: &mut Value, owner: Owner<'_>, namespace: Option<&str>) {
    let metadata = object
        .as_object_mut()
        .expect("manifests are mappings")
        .entry("metadata")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(metadata) = metadata.as_object_mut() else {
        return;
    };
    match namespace {
        Some(ns) => {
            metadata.insert("namespace".into(), ns.into());
        }
        None => {
            metadata.remove("namespace");
        }
    }
    let labels = submap(metadata, "labels");
    labels.insert(MANAGED_BY_LABEL.into(), "rchart".into());
    let annotations = submap(metadata, "annotations");
    annotations.insert(RELEASE_NAME_ANNOTATION.into(), owner.release.into());
    annotations.insert(RELEASE_NAMESPACE_ANNOTATION.into(), owner.namespace.into());
}

fn submap<'a>(
    map: &'a mut serde_json::Map<String, Value>,
    key: &str,
) -> &'a mut serde_json::Map<String, Value> {
    let entry = map
        .entry(key)
        .or_insert_with(|| Value::Object(Default::default()));
    if !entry.is_object() {
        *entry = Value::Object(Default::default());
    }
    entry.as_object_mut().expect("just made a map")
}

fn api_for(cluster: &Cluster, kind: &KindInfo, namespace: Option<&str>) -> Api<DynamicObject> {
    match namespace {
        Some(ns) => Api::namespaced_with(cluster.client.clone(), ns, &kind.resource),
        None => Api::all_with(cluster.client.clone(), &kind.resource),
    }
}

/// Who owns a live object, according to its stamps: `namespace/release`.
fn owner_of(object: &DynamicObject) -> Option<String> {
    let annotations = object.metadata.annotations.as_ref()?;
    let name = annotations.get(RELEASE_NAME_ANNOTATION)?;
    let namespace = annotations.get(RELEASE_NAMESPACE_ANNOTATION)?;
    Some(format!("{namespace}/{name}"))
}

/// Whether a live object is stamped as the owner's.
pub fn is_owned_by(object: &DynamicObject, owner: Owner<'_>) -> bool {
    let Some(annotations) = object.metadata.annotations.as_ref() else {
        return false;
    };
    let stamp = |key: &str| annotations.get(key).map(String::as_str);
    stamp(RELEASE_NAME_ANNOTATION) == Some(owner.release)
        && stamp(RELEASE_NAMESPACE_ANNOTATION) == Some(owner.namespace)
}

/// One object as it is in the cluster, or `None` when it does not exist.
pub async fn get_live(
    cluster: &Cluster,
    kind: &KindInfo,
    id: &ResourceId,
) -> Result<Option<DynamicObject>, ClusterError> {
    api_for(cluster, kind, id.namespace.as_deref())
        .get_opt(&id.name)
        .await
        .map_err(|e| resource_error(cluster, id, e))
}

/// Every planned object as it is in the cluster now, in the order of `planned`.
pub async fn fetch_live(
    cluster: &Cluster,
    planned: &[Planned],
) -> Result<Vec<Option<DynamicObject>>, ClusterError> {
    stream::iter(planned)
        .map(|item| get_live(cluster, &item.kind, &item.id))
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

/// The planned objects that exist and are not the owner's: another release's, or no
/// release's. Only these may need `--take-ownership`.
pub fn foreign_objects(
    planned: &[Planned],
    live: &[Option<DynamicObject>],
    owner: Owner<'_>,
) -> Vec<ForeignObject> {
    planned
        .iter()
        .zip(live)
        .filter_map(|(item, live)| {
            let object = live.as_ref()?;
            (!is_owned_by(object, owner)).then(|| ForeignObject {
                resource: item.id.clone(),
                owner: owner_of(object),
            })
        })
        .collect()
}

/// Applies every object, kind by kind in install order, and returns what the server
/// answered for each, in the same order as `planned`. Stops after the first kind that
/// had a failure, naming the object that failed.
pub async fn apply_all(
    cluster: &Cluster,
    planned: &[Planned],
    options: ApplyOptions,
) -> Result<Vec<Value>, ClusterError> {
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = options.force;
    params.dry_run = options.dry_run;
    let mut answers: Vec<Option<Value>> = vec![None; planned.len()];
    for group in groups_in_install_order(planned) {
        let results: Vec<(usize, Result<Value, ClusterError>)> =
            stream::iter(group.iter().copied())
                .map(|index| {
                    let item = &planned[index];
                    let mut params = params.clone();
                    params.force |= item.force;
                    async move {
                        // The server cannot check an object whose CRD it has not seen yet.
                        if params.dry_run && item.kind.from_pending_crd {
                            return (index, Ok(item.object.clone()));
                        }
                        let api = api_for(cluster, &item.kind, item.id.namespace.as_deref());
                        let result = api
                            .patch(&item.id.name, &params, &Patch::Apply(&item.object))
                            .await
                            .map(|live| serde_json::to_value(live).unwrap_or(Value::Null))
                            .map_err(|e| match e {
                                // Fields another manager owns (kubectl scale, kubectl edit).
                                kube::Error::Api(status) if status.code == 409 => {
                                    ClusterError::Resource {
                                        resource: item.id.clone(),
                                        cause: Box::new(ClusterError::FieldConflict(status)),
                                    }
                                }
                                e => resource_error(cluster, &item.id, e),
                            });
                        (index, result)
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
        let mut first_error = None;
        for (index, result) in results {
            match result {
                Ok(live) => answers[index] = Some(live),
                Err(error) => {
                    first_error.get_or_insert((index, error));
                }
            }
        }
        if let Some((_, error)) = first_error {
            return Err(error);
        }
        if !options.dry_run {
            wait_for_crds(cluster, planned, &group).await?;
        }
    }
    Ok(answers.into_iter().map(Option::unwrap_or_default).collect())
}

/// How long a CustomResourceDefinition may take to be served, before objects of its kind
/// can be applied.
const CRD_ESTABLISHED_TIMEOUT: Duration = Duration::from_secs(60);

/// Waits until the CRDs among `group` are established, so the objects of their kinds
/// that come later in the install order can be created.
async fn wait_for_crds(
    cluster: &Cluster,
    planned: &[Planned],
    group: &[usize],
) -> Result<(), ClusterError> {
    for &index in group {
        let item = &planned[index];
        if item.id.kind != "CustomResourceDefinition" {
            continue;
        }
        let api: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
        let established = await_condition(api, &item.id.name, conditions::is_crd_established());
        match tokio::time::timeout(CRD_ESTABLISHED_TIMEOUT, established).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                return Err(ClusterError::Resource {
                    resource: item.id.clone(),
                    cause: Box::new(ClusterError::Manifest(format!(
                        "waiting for it to be established: {error}"
                    ))),
                });
            }
            Err(_) => {
                return Err(ClusterError::Resource {
                    resource: item.id.clone(),
                    cause: Box::new(ClusterError::Manifest(format!(
                        "not established after {}s",
                        CRD_ESTABLISHED_TIMEOUT.as_secs()
                    ))),
                });
            }
        }
    }
    Ok(())
}

/// Indices of `planned` grouped by kind, groups in install order.
fn groups_in_install_order(planned: &[Planned]) -> Vec<Vec<usize>> {
    let mut groups: BTreeMap<(usize, &str), Vec<usize>> = BTreeMap::new();
    for (index, item) in planned.iter().enumerate() {
        groups
            .entry((install_rank(&item.id.kind), item.id.kind.as_str()))
            .or_default()
            .push(index);
    }
    groups.into_values().collect()
}

/// What deleting a set of objects did.
#[derive(Debug, Default)]
pub struct Deleted {
    pub deleted: Vec<ResourceId>,
    /// Already gone.
    pub missing: Vec<ResourceId>,
    /// Left alone because they now belong to someone else.
    pub foreign: Vec<ResourceId>,
}

/// Deletes objects in reverse install order, but only those still stamped as the
/// owner's: an object another release took over is left alone and reported.
pub async fn delete_owned(
    cluster: &Cluster,
    catalog: &Catalog,
    resources: &[ResourceId],
    owner: Owner<'_>,
) -> Result<Deleted, ClusterError> {
    let mut ordered: Vec<&ResourceId> = resources.iter().collect();
    ordered.sort_by_key(|id| std::cmp::Reverse(install_rank(&id.kind)));
    let mut report = Deleted::default();
    for id in ordered {
        // A kind the cluster no longer serves (its CRD was deleted) has no objects left.
        let Ok(kind) = catalog.resolve(&id.api_version, &id.kind) else {
            report.missing.push(id.clone());
            continue;
        };
        match get_live(cluster, &kind, id).await? {
            None => report.missing.push(id.clone()),
            Some(live) if !is_owned_by(&live, owner) => report.foreign.push(id.clone()),
            Some(_) => match api_for(cluster, &kind, id.namespace.as_deref())
                .delete(&id.name, &DeleteParams::background())
                .await
            {
                Ok(_) => report.deleted.push(id.clone()),
                Err(kube::Error::Api(status)) if status.code == 404 => {
                    report.missing.push(id.clone())
                }
                Err(e) => return Err(resource_error(cluster, id, e)),
            },
        }
    }
    Ok(report)
}

fn resource_error(cluster: &Cluster, id: &ResourceId, error: kube::Error) -> ClusterError {
    match cluster.describe(error) {
        // Whole-cluster problems are about the cluster, not this object.
        e @ (ClusterError::Unreachable { .. } | ClusterError::Unauthorized { .. }) => e,
        cause => ClusterError::Resource {
            resource: id.clone(),
            cause: Box::new(cause),
        },
    }
}
