//! `--atomic` (alias `--rollback-on-failure`): undo a failed install or upgrade, so the
//! release is left as it was. History keeps both the failed revision and what undid it.

use std::time::Duration;

use super::deploy::DeployOptions;
use super::rollback::{RollbackOptions, rollback};
use super::session::{Session, deployed};
use super::uninstall::{UninstallOptions, uninstall};
use crate::release::Status;

/// Where a release stood before an operation, to know what undoing it means.
#[derive(Debug, Clone, Copy, Default)]
pub struct Before {
    pub latest: Option<u64>,
    pub deployed: Option<u64>,
}

pub async fn before(session: &Session, name: &str) -> anyhow::Result<Before> {
    let history = session.history(name).await?;
    Ok(Before {
        latest: history.last().map(|r| r.record.revision),
        deployed: deployed(&history).map(|r| r.record.revision),
    })
}

/// Undoes the revision a failed operation recorded: rolls back to the revision that
/// was deployed before (waiting for it too), or, for a failed install, deletes what it
/// created, keeping `cause` in the record. Says what it did; `None` when there was
/// nothing to undo (the operation failed before recording a revision, or its revision
/// got deployed after all).
pub async fn undo_failed(
    session: &Session,
    name: &str,
    before: Before,
    cause: &str,
    timeout: Duration,
    history_max: usize,
) -> anyhow::Result<Option<String>> {
    let history = session.history(name).await?;
    let Some(failed) = history
        .last()
        .filter(|r| Some(r.record.revision) > before.latest && r.record.status != Status::Deployed)
    else {
        return Ok(None);
    };
    let failed_revision = failed.record.revision;
    match before.deployed {
        Some(target) => {
            let options = RollbackOptions {
                name,
                revision: Some(target),
                description: None,
                deploy: DeployOptions {
                    take_ownership: false,
                    dry_run: false,
                    history_max,
                    wait: Some(timeout),
                    force_conflicts: false,
                },
            };
            let record = rollback(session, &options).await?;
            Ok(Some(format!(
                "revision {failed_revision} failed and was rolled back to revision {target} (now revision {})",
                record.revision
            )))
        }
        None => {
            let description =
                format!("Install failed, so everything it created was deleted: {cause}");
            let options = UninstallOptions {
                name,
                keep_history: true,
                description: Some(&description),
            };
            uninstall(session, &options).await?;
            Ok(Some(format!(
                "revision {failed_revision} failed, so everything it created was deleted"
            )))
        }
    }
}
