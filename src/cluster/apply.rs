//! Putting a revision's objects into the cluster and taking them out again.
//!
//! Objects are applied with server-side apply, kind by kind in install order; objects of
//! the same kind go in parallel. Every object is stamped with its release, and nothing
//! that belongs to another release (or to none) is changed unless the user says so.

use std::collections::{BTreeMap, BTreeSet};

use std::time::Duration;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, Preconditions};
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

#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions {
    /// Ask the server to validate and answer without storing (`dryRun=All`).
    pub dry_run: bool,
    /// Take fields other managers own (used when adopting objects).
    pub force: bool,
    /// How long a CustomResourceDefinition the plan applies may take to be established
    /// before the objects of its kind are applied.
    pub crd_timeout: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            dry_run: false,
            force: false,
            crd_timeout: DEFAULT_CRD_TIMEOUT,
        }
    }
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
fn owner_of(metadata: &ObjectMeta) -> Option<String> {
    let annotations = metadata.annotations.as_ref()?;
    let name = annotations.get(RELEASE_NAME_ANNOTATION)?;
    let namespace = annotations.get(RELEASE_NAMESPACE_ANNOTATION)?;
    Some(format!("{namespace}/{name}"))
}

/// Whether a live object is stamped as the owner's.
pub fn is_owned_by(metadata: &ObjectMeta, owner: Owner<'_>) -> bool {
    let Some(annotations) = metadata.annotations.as_ref() else {
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

/// Every planned object as it is in the cluster now, in the order of `planned`: one GET
/// each, for callers that need whole objects (`rchart diff`).
pub async fn fetch_live(
    cluster: &Cluster,
    planned: &[Planned],
) -> Result<Vec<Option<DynamicObject>>, ClusterError> {
    stream::iter(planned)
        .map(|item| get_live(cluster, &item.kind, &item.id))
        .buffered(cluster.concurrency)
        .try_collect()
        .await
}

/// Objects to read the metadata of: a kind and an identity.
pub trait LiveTarget {
    fn kind(&self) -> &KindInfo;
    fn id(&self) -> &ResourceId;
}

impl LiveTarget for Planned {
    fn kind(&self) -> &KindInfo {
        &self.kind
    }
    fn id(&self) -> &ResourceId {
        &self.id
    }
}

impl LiveTarget for (KindInfo, ResourceId) {
    fn kind(&self) -> &KindInfo {
        &self.0
    }
    fn id(&self) -> &ResourceId {
        &self.1
    }
}

/// The metadata of each target as it is in the cluster now (`None`: it does not exist),
/// in the order of `targets`. One LIST of metadata per kind and namespace, whatever the
/// number of objects, all kinds at once: over a slow link this costs one round trip,
/// where a GET per object would cost one per batch.
pub async fn fetch_metadata<T: LiveTarget>(
    cluster: &Cluster,
    targets: &[T],
) -> Result<Vec<Option<ObjectMeta>>, ClusterError> {
    // Per (resource, namespace): the kind, and the indices of the targets there.
    type Scopes<'k> = BTreeMap<(String, Option<String>), (&'k KindInfo, Vec<usize>)>;
    let mut scopes: Scopes<'_> = BTreeMap::new();
    for (index, target) in targets.iter().enumerate() {
        let key = (
            target.kind().resource.api_version.clone() + "/" + &target.kind().resource.plural,
            target.id().namespace.clone(),
        );
        scopes
            .entry(key)
            .or_insert_with(|| (target.kind(), Vec::new()))
            .1
            .push(index);
    }
    let listed: Vec<(Vec<usize>, BTreeMap<String, ObjectMeta>)> = stream::iter(scopes)
        .map(|((_, namespace), (kind, indices))| async move {
            let names = list_metadata(cluster, kind, namespace.as_deref()).await?;
            Ok::<_, ClusterError>((indices, names))
        })
        .buffer_unordered(cluster.concurrency)
        .try_collect()
        .await?;
    let mut found = vec![None; targets.len()];
    for (indices, mut names) in listed {
        for index in indices {
            found[index] = names.remove(&targets[index].id().name);
        }
    }
    Ok(found)
}

/// Objects a metadata LIST asks for per page: pages keep memory bounded in a namespace
/// with many objects of one kind.
const LIST_PAGE: u32 = 500;

/// The metadata of every object of one kind in one namespace (or the cluster), by name.
async fn list_metadata(
    cluster: &Cluster,
    kind: &KindInfo,
    namespace: Option<&str>,
) -> Result<BTreeMap<String, ObjectMeta>, ClusterError> {
    let api = api_for(cluster, kind, namespace);
    let mut names = BTreeMap::new();
    let mut params = ListParams::default().limit(LIST_PAGE);
    loop {
        let page = match api.list_metadata(&params).await {
            // A kind not served yet (its CRD comes with this release) has no objects.
            Err(kube::Error::Api(status)) if status.code == 404 && kind.from_pending_crd => {
                return Ok(names);
            }
            other => other,
        };
        let page = page.map_err(|e| {
            let scope = namespace.map_or_else(String::new, |ns| format!(" in namespace {ns}"));
            match cluster.describe(e) {
                error @ (ClusterError::Unreachable { .. } | ClusterError::Unauthorized { .. }) => {
                    error
                }
                cause => ClusterError::Listing {
                    what: format!("{}s{scope}", kind.resource.kind),
                    cause: Box::new(cause),
                },
            }
        })?;
        for item in page.items {
            if let Some(name) = item.metadata.name.clone() {
                names.insert(name, item.metadata);
            }
        }
        match page.metadata.continue_.filter(|token| !token.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(names),
        }
    }
}

/// The planned objects that exist and are not the owner's: another release's, or no
/// release's. Only these may need `--take-ownership`.
pub fn foreign_objects(
    planned: &[Planned],
    live: &[Option<ObjectMeta>],
    owner: Owner<'_>,
) -> Vec<ForeignObject> {
    planned
        .iter()
        .zip(live)
        .filter_map(|(item, live)| {
            let metadata = live.as_ref()?;
            (!is_owned_by(metadata, owner)).then(|| ForeignObject {
                resource: item.id.clone(),
                owner: owner_of(metadata),
            })
        })
        .collect()
}

/// The server's answer to applying one object: the object as it would be or is, or why
/// it was refused.
pub type ApplyResult = Result<Value, ClusterError>;

/// Sends one server-side apply of `item`.
async fn apply_one(cluster: &Cluster, item: &Planned, params: &PatchParams) -> ApplyResult {
    let mut params = params.clone();
    params.force |= item.force;
    let api = api_for(cluster, &item.kind, item.id.namespace.as_deref());
    api.patch(&item.id.name, &params, &Patch::Apply(&item.object))
        .await
        .map(|live| serde_json::to_value(live).unwrap_or(Value::Null))
        .map_err(|e| match e {
            // Fields another manager owns (kubectl scale, kubectl edit).
            kube::Error::Api(status) if status.code == 409 => ClusterError::Resource {
                resource: item.id.clone(),
                cause: Box::new(ClusterError::FieldConflict(status)),
            },
            e => resource_error(cluster, &item.id, e),
        })
}

fn patch_params(options: ApplyOptions) -> PatchParams {
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = options.force;
    params.dry_run = options.dry_run;
    params
}

/// Has the server check every object with a dry-run apply, all at once (within the
/// concurrency bound), and returns each answer in the order of `planned`. `None` for the
/// objects the server cannot check yet: those of a kind a CRD in the same plan defines,
/// those in a namespace the plan creates, and those in `missing_namespace` (one that
/// `--create-namespace` would create). Nothing is stored.
pub async fn dry_run_all(
    cluster: &Cluster,
    planned: &[Planned],
    force: bool,
    live: &[Option<ObjectMeta>],
    missing_namespace: Option<&str>,
) -> Vec<Option<ApplyResult>> {
    let params = patch_params(ApplyOptions {
        dry_run: true,
        force,
        ..ApplyOptions::default()
    });
    let mut created_namespaces = created_namespaces(planned, live);
    created_namespaces.extend(missing_namespace);
    let checkable = |item: &Planned| {
        !item.kind.from_pending_crd
            && !item
                .id
                .namespace
                .as_deref()
                .is_some_and(|ns| created_namespaces.contains(ns))
    };
    stream::iter(planned)
        .map(|item| {
            let params = &params;
            async move {
                if checkable(item) {
                    Some(apply_one(cluster, item, params).await)
                } else {
                    None
                }
            }
        })
        .buffered(cluster.concurrency)
        .collect()
        .await
}

/// The Namespaces among `planned` that do not exist yet (`live` is in the same order):
/// the server cannot check objects in them before they are created.
pub fn created_namespaces<'p>(
    planned: &'p [Planned],
    live: &[Option<ObjectMeta>],
) -> BTreeSet<&'p str> {
    planned
        .iter()
        .zip(live)
        .filter(|(item, live)| item.id.kind == "Namespace" && live.is_none())
        .map(|(item, _)| item.id.name.as_str())
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
    let params = patch_params(options);
    let mut answers: Vec<Option<Value>> = vec![None; planned.len()];
    for group in groups_in_install_order(planned) {
        let results: Vec<(usize, ApplyResult)> = stream::iter(group.iter().copied())
            .map(|index| {
                let item = &planned[index];
                let params = &params;
                async move {
                    // The server cannot check an object whose CRD it has not seen yet.
                    if params.dry_run && item.kind.from_pending_crd {
                        return (index, Ok(item.object.clone()));
                    }
                    (index, apply_one(cluster, item, params).await)
                }
            })
            .buffer_unordered(cluster.concurrency)
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
            wait_for_crds(cluster, planned, &group, options.crd_timeout).await?;
        }
    }
    Ok(answers.into_iter().map(Option::unwrap_or_default).collect())
}

/// How long a CustomResourceDefinition may take to be served, before objects of its kind
/// can be applied, unless [`ApplyOptions::crd_timeout`] says otherwise.
pub const DEFAULT_CRD_TIMEOUT: Duration = Duration::from_secs(60);

/// Waits until the CRDs among `group` are established, so the objects of their kinds
/// that come later in the install order can be created.
async fn wait_for_crds(
    cluster: &Cluster,
    planned: &[Planned],
    group: &[usize],
    timeout: Duration,
) -> Result<(), ClusterError> {
    for &index in group {
        let item = &planned[index];
        if item.id.kind != "CustomResourceDefinition" {
            continue;
        }
        let api: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
        let established = await_condition(api, &item.id.name, conditions::is_crd_established());
        match tokio::time::timeout(timeout, established).await {
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
                        "not established after {} (--timeout)",
                        humantime::format_duration(timeout)
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
/// owner's: an object another release took over is left alone and reported. Ownership
/// is read with one metadata LIST per kind and namespace; the objects of one kind are
/// deleted at once, each with its uid as a precondition, so an object replaced since it
/// was read is not deleted.
pub async fn delete_owned(
    cluster: &Cluster,
    catalog: &Catalog,
    resources: &[ResourceId],
    owner: Owner<'_>,
) -> Result<Deleted, ClusterError> {
    let mut report = Deleted::default();
    let mut targets: Vec<(KindInfo, ResourceId)> = Vec::new();
    for id in resources {
        // A kind the cluster no longer serves (its CRD was deleted) has no objects left.
        match catalog.resolve(&id.api_version, &id.kind) {
            Ok(kind) => targets.push((kind, id.clone())),
            Err(_) => report.missing.push(id.clone()),
        }
    }
    let live = fetch_metadata(cluster, &targets).await?;
    // Kinds in reverse install order, each with its objects and their uids.
    type ByKind<'a> =
        BTreeMap<(std::cmp::Reverse<usize>, &'a str), Vec<(&'a KindInfo, &'a ResourceId, String)>>;
    let mut by_kind: ByKind<'_> = BTreeMap::new();
    for ((kind, id), live) in targets.iter().zip(live) {
        match live {
            None => report.missing.push(id.clone()),
            Some(metadata) if !is_owned_by(&metadata, owner) => report.foreign.push(id.clone()),
            Some(metadata) => by_kind
                .entry((std::cmp::Reverse(install_rank(&id.kind)), id.kind.as_str()))
                .or_default()
                .push((kind, id, metadata.uid.unwrap_or_default())),
        }
    }
    for group in by_kind.into_values() {
        let results: Vec<(&ResourceId, Result<bool, ClusterError>)> = stream::iter(group)
            .map(|(kind, id, uid)| async move {
                let params = DeleteParams {
                    preconditions: Some(Preconditions {
                        uid: Some(uid),
                        resource_version: None,
                    }),
                    ..DeleteParams::background()
                };
                let deleted = match api_for(cluster, kind, id.namespace.as_deref())
                    .delete(&id.name, &params)
                    .await
                {
                    Ok(_) => Ok(true),
                    // Gone, or replaced by another object of the same name since it was read.
                    Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => {
                        Ok(false)
                    }
                    Err(e) => Err(resource_error(cluster, id, e)),
                };
                (id, deleted)
            })
            .buffered(cluster.concurrency)
            .collect()
            .await;
        for (id, deleted) in results {
            match deleted? {
                true => report.deleted.push(id.clone()),
                false => report.missing.push(id.clone()),
            }
        }
    }
    Ok(report)
}

/// Deletes one object if it is still the one with `uid`, and waits until it is gone, for
/// at most `timeout`: so that an object of the same name can be created in its place.
/// One that is already gone is fine.
pub async fn delete_and_await(
    cluster: &Cluster,
    kind: &KindInfo,
    id: &ResourceId,
    uid: &str,
    timeout: Duration,
) -> Result<(), ClusterError> {
    let api = api_for(cluster, kind, id.namespace.as_deref());
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some(uid.to_string()),
            resource_version: None,
        }),
        ..DeleteParams::background()
    };
    let failed = |message: String| ClusterError::Resource {
        resource: id.clone(),
        cause: Box::new(ClusterError::Manifest(message)),
    };
    match api.delete(&id.name, &params).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => {
            return Err(failed(
                "was replaced by another object of the same name while it was being deleted"
                    .to_string(),
            ));
        }
        Err(e) => return Err(resource_error(cluster, id, e)),
    }
    let gone = await_condition(api, &id.name, conditions::is_deleted(uid));
    match tokio::time::timeout(timeout, gone).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(failed(format!("waiting for it to be deleted: {error}"))),
        Err(_) => Err(failed(format!(
            "was still being deleted after {} (does a finalizer hold it?)",
            humantime::format_duration(timeout)
        ))),
    }
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
