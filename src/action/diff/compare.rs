//! Asking the cluster for both sides of a diff: GETs for what is live, a dry-run apply
//! for what would be, and the prune inventory for what would go. Nothing is written.
//! A field another manager owns is a finding, not a failure: the diff shows it, and what
//! `--force-conflicts` would make of the object.

use kube::api::DynamicObject;
use serde_json::Value;

use super::normalize::normalize;
use super::{Change, Proposal, ResourceDiff};
use crate::action::deploy::{Claimed, obsolete, plan_and_claim};
use crate::action::session::Session;
use crate::cluster::{ClusterError, Owner, dry_run_all, fetch_live, get_live, is_owned_by};
use crate::render::{ResourceId, install_rank};

/// Every object the proposal would change, add or prune, in install order.
pub(super) async fn compare(
    session: &Session,
    proposal: Proposal<'_>,
) -> anyhow::Result<Vec<ResourceDiff>> {
    let cluster = &session.cluster;
    let owner = Owner {
        release: proposal.release,
        namespace: session.namespace(),
    };
    // The same reads and the same refusal as the real operation makes first.
    let Claimed {
        planned,
        live,
        previous,
    } = plan_and_claim(
        session,
        proposal.catalog,
        proposal.manifests,
        proposal.history,
        owner,
        proposal.take_ownership,
        proposal.chart,
    )
    .await?;
    let live_objects = fetch_live(cluster, &planned).await?;
    let checked = dry_run_all(cluster, &planned, false, &live, None).await;
    let mut rejected = Vec::new();
    let mut diffs = Vec::new();
    for ((item, live), checked) in planned.iter().zip(live_objects).zip(checked) {
        let (proposed, conflict) = match checked {
            Some(Ok(proposed)) => (proposed, None),
            // Objects the server cannot check yet (a CRD or namespace the plan creates).
            None => (item.object.clone(), None),
            // A conflict is a finding: show what forcing it would do.
            Some(Err(error)) if error.is_field_conflict() => {
                let forced =
                    dry_run_all(cluster, std::slice::from_ref(item), true, &[None], None).await;
                match forced.into_iter().next().flatten() {
                    Some(Ok(proposed)) => (proposed, Some(error.cause_text())),
                    Some(Err(other)) => {
                        rejected.push(other);
                        continue;
                    }
                    None => (item.object.clone(), Some(error.cause_text())),
                }
            }
            Some(Err(error)) => {
                rejected.push(error);
                continue;
            }
        };
        let live = live.map(to_json);
        let proposed = normalize(proposed);
        let change = match &live {
            None => Change::Add,
            Some(live) if *live != proposed || conflict.is_some() => Change::Modify,
            Some(_) => continue,
        };
        diffs.push(ResourceDiff {
            id: item.id.clone(),
            change,
            live,
            proposed: Some(proposed),
            conflict,
        });
    }
    if let Some(error) = ClusterError::rejected(rejected) {
        return Err(error.into());
    }

    for id in obsolete(&previous, &planned) {
        // Like the real prune: gone already, or taken over by someone else, means untouched.
        let Ok(kind) = proposal.catalog.resolve(&id.api_version, &id.kind) else {
            continue;
        };
        let Some(object) = get_live(cluster, &kind, &id).await? else {
            continue;
        };
        if !is_owned_by(&object.metadata, owner) {
            continue;
        }
        diffs.push(ResourceDiff {
            id,
            change: Change::Prune,
            live: Some(to_json(object)),
            proposed: None,
            conflict: None,
        });
    }

    diffs.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
    Ok(diffs)
}

/// A live object as normalized JSON.
fn to_json(object: DynamicObject) -> Value {
    normalize(serde_json::to_value(object).expect("an object read from JSON serialises to JSON"))
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
