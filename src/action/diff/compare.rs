//! Asking the cluster for both sides of a diff: GETs for what is live, a dry-run apply
//! for what would be, and the prune inventory for what would go. Nothing is written.

use std::collections::BTreeSet;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use kube::api::{Api, DynamicObject};
use serde_json::Value;

use super::normalize::normalize;
use super::{Change, Proposal, ResourceDiff};
use crate::action::deploy::live_inventory;
use crate::action::session::Session;
use crate::cluster::{
    ApplyOptions, Cluster, ClusterError, KindInfo, Owner, Planned, RELEASE_NAME_ANNOTATION,
    RELEASE_NAMESPACE_ANNOTATION, apply_all, check_ownership, plan,
};
use crate::render::{ResourceId, install_rank};

/// GETs in flight at once, as many as apply sends.
const CONCURRENCY: usize = 8;

/// Every object the proposal would change, add or prune, in install order.
pub(super) async fn compare(
    session: &Session,
    proposal: &Proposal<'_>,
) -> anyhow::Result<Vec<ResourceDiff>> {
    let cluster = &session.cluster;
    let owner = proposal.owner(session);
    let planned = plan(proposal.catalog, proposal.manifests, owner)?;
    let (previous, previous_kept) = live_inventory(proposal.history);

    if !proposal.take_ownership {
        // The same check, with the same message, as the real operation makes first.
        let new_objects: Vec<Planned> = planned
            .iter()
            .filter(|p| !previous.contains(&p.id))
            .cloned()
            .collect();
        check_ownership(cluster, &new_objects, owner).await?;
    }
    let live = fetch_all(cluster, &planned).await?;
    let options = ApplyOptions {
        dry_run: true,
        force: proposal.take_ownership,
    };
    let proposed = apply_all(cluster, &planned, options).await?;

    let mut diffs = Vec::new();
    for ((item, live), proposed) in planned.iter().zip(live).zip(proposed) {
        let proposed = normalize(proposed);
        let change = match &live {
            None => Change::Add,
            Some(live) if *live != proposed => Change::Modify,
            Some(_) => continue,
        };
        diffs.push(ResourceDiff {
            id: item.id.clone(),
            change,
            live,
            proposed: Some(proposed),
        });
    }

    let current: BTreeSet<&ResourceId> = planned.iter().map(|p| &p.id).collect();
    let obsolete = previous
        .iter()
        .filter(|id| !current.contains(id) && !previous_kept.contains(*id));
    for id in obsolete {
        // Like the real prune: gone already, or taken over by someone else, means untouched.
        let kind = proposal
            .catalog
            .resolve(&id.api_version, &id.kind)
            .map_err(|cause| ClusterError::Resource {
                resource: id.clone(),
                cause: Box::new(cause),
            })?;
        let Some(object) = fetch(cluster, &kind, id).await? else {
            continue;
        };
        if !is_owned_by(&object, owner) {
            continue;
        }
        diffs.push(ResourceDiff {
            id: id.clone(),
            change: Change::Prune,
            live: Some(normalize(object)),
            proposed: None,
        });
    }

    diffs.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
    Ok(diffs)
}

/// Install order, then kind, then identity: a renamed object's addition and prune end up
/// next to each other.
fn order_key(diff: &ResourceDiff) -> (usize, &str, &ResourceId, Change) {
    (
        install_rank(&diff.id.kind),
        &diff.id.kind,
        &diff.id,
        diff.change,
    )
}

/// The live, normalized version of every planned object (`None` where there is none), in
/// the order of `planned`.
async fn fetch_all(
    cluster: &Cluster,
    planned: &[Planned],
) -> Result<Vec<Option<Value>>, ClusterError> {
    stream::iter(planned)
        .map(|item| async move { Ok(fetch(cluster, &item.kind, &item.id).await?.map(normalize)) })
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

/// One object as JSON, or `None` when it does not exist.
async fn fetch(
    cluster: &Cluster,
    kind: &KindInfo,
    id: &ResourceId,
) -> Result<Option<Value>, ClusterError> {
    let api: Api<DynamicObject> = match id.namespace.as_deref() {
        Some(ns) => Api::namespaced_with(cluster.client.clone(), ns, &kind.resource),
        None => Api::all_with(cluster.client.clone(), &kind.resource),
    };
    let object = api
        .get_opt(&id.name)
        .await
        .map_err(|error| match cluster.describe(error) {
            // Whole-cluster problems are about the cluster, not this object.
            e @ (ClusterError::Unreachable { .. } | ClusterError::Unauthorized { .. }) => e,
            cause => ClusterError::Resource {
                resource: id.clone(),
                cause: Box::new(cause),
            },
        })?;
    Ok(object.map(|object| {
        serde_json::to_value(object).expect("an object read from JSON serialises to JSON")
    }))
}

/// Whether an object is stamped as the owner's, which the real prune requires before it
/// deletes anything.
fn is_owned_by(object: &Value, owner: Owner<'_>) -> bool {
    let stamp = |key: &str| object.pointer("/metadata/annotations")?.get(key)?.as_str();
    stamp(RELEASE_NAME_ANNOTATION) == Some(owner.release)
        && stamp(RELEASE_NAMESPACE_ANNOTATION) == Some(owner.namespace)
}
