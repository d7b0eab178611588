//! `rchart rollback`: a new revision that puts an earlier one's manifest and values back.

use anyhow::Context;

use super::deploy::{DeployOptions, Deployed, Deployment, deploy, finish};
use super::session::{Session, deployed};
use crate::cluster::Catalog;
use crate::release::{ReleaseRecord, Status, StoredRelease, Timestamp};
use crate::render::parse_multi_document;

pub struct RollbackOptions<'a> {
    pub name: &'a str,
    /// The revision to restore; `None` means the one before the latest.
    pub revision: Option<u64>,
    pub description: Option<&'a str>,
    pub deploy: DeployOptions,
}

/// Rolls back. A release left pending by an interrupted operation can always be rolled
/// back: the pending revision is marked failed first.
pub async fn rollback(
    session: &Session,
    options: &RollbackOptions<'_>,
) -> anyhow::Result<ReleaseRecord> {
    let mut history = session.existing_history(options.name).await?;
    let target = rollback_target(&history, options.name, options.revision)?.clone();
    let wanted = target.record.revision;
    let latest_revision = history
        .last()
        .expect("history is not empty")
        .record
        .revision;
    let revision = latest_revision + 1;
    if !options.deploy.dry_run {
        history = fail_interrupted(session, history, revision).await?;
    }
    let mut catalog = Catalog::discover(&session.cluster).await?;
    let manifests = parse_multi_document(&target.record.chart.name, &target.record.manifest)
        .with_context(|| format!("reading the manifest of revision {wanted}"))?;
    let first_deployed = deployed(&history)
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
    let deployment = Deployment {
        session,
        catalog: &mut catalog,
        record,
        manifests,
        history: &history,
        success_description: description,
    };
    match deploy(deployment, options.deploy).await? {
        Deployed::Recorded(record) => Ok(*record),
        Deployed::DryRun(_) => Ok(target.record),
    }
}

/// The revision a rollback restores: the one asked for, or the one before the latest.
pub fn rollback_target<'h>(
    history: &'h [StoredRelease],
    name: &str,
    revision: Option<u64>,
) -> anyhow::Result<&'h StoredRelease> {
    let latest = history
        .last()
        .expect("history is not empty")
        .record
        .revision;
    let wanted = revision.unwrap_or(latest.saturating_sub(1));
    history
        .iter()
        .find(|r| r.record.revision == wanted)
        .ok_or_else(|| {
            let known: Vec<String> = history
                .iter()
                .map(|r| r.record.revision.to_string())
                .collect();
            anyhow::anyhow!(
                "release \"{name}\" has no revision {wanted} to roll back to (revisions: {})",
                known.join(", ")
            )
        })
}

/// Marks revisions an interrupted operation left pending as failed, saying which
/// revision took over. Returns the history as it now stands.
async fn fail_interrupted(
    session: &Session,
    history: Vec<StoredRelease>,
    rollback_revision: u64,
) -> anyhow::Result<Vec<StoredRelease>> {
    let mut updated = Vec::with_capacity(history.len());
    for stored in history {
        if stored.record.status.is_pending() {
            let description = format!(
                "Interrupted while {} (since {}); rolled back by revision {rollback_revision}",
                stored.record.status, stored.record.last_deployed
            );
            updated.push(finish(session, stored, Status::Failed, description).await?);
        } else {
            updated.push(stored);
        }
    }
    Ok(updated)
}
