//! `rchart rollback`: a new revision that puts an earlier one's manifest and values back.
//!
//! A rollback runs, top to bottom: unless it is a dry run, take the release's lock; read
//! the history and pick the target; mark revisions an interrupted operation left
//! unfinished as failed (this is the way out of a stuck release); discover the cluster;
//! deploy the target's recorded manifest as a new revision, with the target's recorded
//! `pre-rollback` and `post-rollback` hooks around it ([`super::deploy`]); release the
//! lock.

use anyhow::Context;

use super::deploy::{DeployOptions, Deployed, PendingRevision, deploy};
use super::hooks::recorded_hooks;
use super::session::Session;
use crate::release::{History, Need, ReleaseRecord, Status, StoredRelease, Timestamp};
use crate::render::{Manifest, parse_multi_document};

pub struct RollbackOptions<'a> {
    pub name: &'a str,
    /// The revision to restore; `None` means the newest earlier one that was deployed.
    pub revision: Option<u64>,
    pub description: Option<&'a str>,
    pub deploy: DeployOptions,
}

/// Rolls back: the whole operation, lock included. Returns the new revision, or for a
/// dry run the revision that would be restored.
pub async fn rollback(
    session: &Session,
    options: &RollbackOptions<'_>,
) -> anyhow::Result<ReleaseRecord> {
    if options.deploy.dry_run {
        return rollback_unlocked(session, options).await;
    }
    session
        .locked("rollback", options.name, async || {
            rollback_unlocked(session, options).await
        })
        .await
}

/// The rollback itself, for a caller that holds the lock (or a dry run). A release left
/// pending by an interrupted operation can always be rolled back: the pending revision
/// is marked failed first.
pub(super) async fn rollback_unlocked(
    session: &Session,
    options: &RollbackOptions<'_>,
) -> anyhow::Result<ReleaseRecord> {
    let (mut history, mut catalog) = session.existing_history_and_catalog(options.name).await?;
    let target = rollback_target(&history, options.name, options.revision)?.clone();
    let wanted = target.record.revision;
    let revision = history.next_revision();
    if !options.deploy.dry_run {
        let revisions = std::mem::take(&mut history.revisions);
        history.revisions = session
            .store
            .fail_unfinished(revisions, |stored| {
                format!(
                    "Interrupted while {} (since {}); rolled back by revision {revision}",
                    stored.record.status, stored.record.last_deployed
                )
            })
            .await
            .map_err(|e| session.explain(e))?;
    }
    let manifests = target_manifests(&target)?;
    let hooks = recorded_hooks(&target.record.chart.name, &target.record.hooks)?;
    let first_deployed = history
        .deployed()
        .map(|r| r.record.first_deployed.clone())
        .unwrap_or_else(|| target.record.first_deployed.clone());
    let description = options
        .description
        .map_or_else(|| format!("Rollback to {wanted}"), str::to_string);
    let record = ReleaseRecord {
        revision,
        status: Status::PendingRollback,
        description: description.clone(),
        first_deployed,
        last_deployed: Timestamp::now(),
        deleted: None,
        resources: Vec::new(),
        kept_resources: Vec::new(),
        rollback_of: Some(wanted),
        namespace: session.namespace().to_string(),
        ..target.record.clone()
    };
    let pending = PendingRevision {
        session,
        catalog: &mut catalog,
        record,
        manifests,
        hooks,
        history: &history,
        success_description: description,
    };
    match deploy(pending, options.deploy).await? {
        Deployed::Recorded(record) => Ok(*record),
        Deployed::DryRun => Ok(target.record),
    }
}

/// What a rollback to `target` applies: the manifest recorded with it.
pub fn target_manifests(target: &StoredRelease) -> anyhow::Result<Vec<Manifest>> {
    parse_multi_document(&target.record.chart.name, &target.record.manifest).with_context(|| {
        format!(
            "reading the manifest of revision {}",
            target.record.revision
        )
    })
}

/// The revision a rollback restores: the one asked for, or the newest earlier one that
/// was deployed. A damaged record in that place is an error naming it: restoring another
/// revision than the user meant would be worse.
pub fn rollback_target<'h>(
    history: &'h History,
    name: &str,
    revision: Option<u64>,
) -> anyhow::Result<&'h StoredRelease> {
    let target = readable_rollback_target(&history.revisions, name, revision);
    let wanted = match (&target, revision) {
        (_, Some(wanted)) => Some(wanted),
        (Ok(found), None) => newer_damaged_candidate(history, found.record.revision),
        (Err(_), None) => newer_damaged_candidate(history, 0),
    };
    if let Some(wanted) = wanted {
        history.require("rollback", &[Need::RollbackTarget(wanted)])?;
    }
    target
}

/// An unreadable revision that was deployed, newer than `than` and older than the latest:
/// what a rollback without a revision would restore, if it could be read.
fn newer_damaged_candidate(history: &History, than: u64) -> Option<u64> {
    let latest = history.latest().map_or(0, |r| r.record.revision);
    history
        .unreadable
        .iter()
        .filter(|entry| {
            (entry.labelled(Status::Deployed) || entry.labelled(Status::Superseded))
                && entry.revision.is_some_and(|r| r > than && r < latest)
        })
        .filter_map(|entry| entry.revision)
        .max()
}

fn readable_rollback_target<'h>(
    history: &'h [StoredRelease],
    name: &str,
    revision: Option<u64>,
) -> anyhow::Result<&'h StoredRelease> {
    let known = || {
        history
            .iter()
            .map(|r| r.record.revision.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match revision {
        Some(wanted) => history.iter().find(|r| r.record.revision == wanted).ok_or_else(|| {
            anyhow::anyhow!("release \"{name}\" has no revision {wanted} to roll back to (revisions: {})", known())
        }),
        // The newest earlier revision that was deployed: rolling back to one that failed
        // would fail again.
        None => history[..history.len().saturating_sub(1)]
            .iter()
            .rev()
            .find(|r| matches!(r.record.status, Status::Deployed | Status::Superseded))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "release \"{name}\" has no earlier revision that was deployed to roll back to (revisions: {}); name one, or uninstall",
                    known()
                )
            }),
    }
}
