//! Asking the cluster for both sides of a diff: GETs for what is live, a dry-run apply
//! for what would be, and the prune inventory for what would go. Nothing is written.

use kube::api::DynamicObject;
use serde_json::Value;

use super::normalize::normalize;
use super::{Change, Proposal, ResourceDiff};
use crate::action::deploy::{Claimed, obsolete, plan_and_claim};
use crate::action::session::Session;
use crate::cluster::{ApplyOptions, Owner, apply_all, get_live, is_owned_by};
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
    let options = ApplyOptions {
        dry_run: true,
        force: false,
    };
    let proposed = apply_all(cluster, &planned, options).await?;

    let mut diffs = Vec::new();
    for ((item, live), proposed) in planned.iter().zip(live).zip(proposed) {
        let live = live.map(to_json);
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

    for id in obsolete(&previous, &planned) {
        // Like the real prune: gone already, or taken over by someone else, means untouched.
        let Ok(kind) = proposal.catalog.resolve(&id.api_version, &id.kind) else {
            continue;
        };
        let Some(object) = get_live(cluster, &kind, &id).await? else {
            continue;
        };
        if !is_owned_by(&object, owner) {
            continue;
        }
        diffs.push(ResourceDiff {
            id,
            change: Change::Prune,
            live: Some(to_json(object)),
            proposed: None,
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
