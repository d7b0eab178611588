//! `--atomic` (alias `--rollback-on-failure`): undo a failed install or upgrade, so the
//! release is left as it was. History keeps both the failed revision and what undid it.

use std::time::Duration;

use anyhow::bail;

use super::deploy::{DeployOptions, error_text};
use super::hooks::HookOptions;
use super::rollback::{RollbackOptions, rollback_unlocked};
use super::session::Session;
use super::uninstall::{UninstallOptions, uninstall_unlocked};
use crate::release::Status;

/// How to undo a failed operation.
#[derive(Debug, Clone, Copy)]
pub struct AtomicOptions {
    /// How long the rollback that undoes a failed upgrade waits for its workloads, and
    /// the hooks of each event of the undoing operation may take.
    pub timeout: Duration,
    pub history_max: usize,
    /// Run the hooks of the undoing operation (rollback, or delete); not with `--no-hooks`.
    pub hooks: bool,
}

/// Runs `operation` (with the release's lock held); with `atomic`, a failure is undone
/// and reported as the cause followed by what was done about it.
pub async fn guarded<T>(
    session: &Session,
    name: &str,
    atomic: Option<AtomicOptions>,
    operation: impl AsyncFnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let Some(atomic) = atomic else {
        return operation().await;
    };
    let before = before(session, name).await?;
    let error = match operation().await {
        Ok(outcome) => return Ok(outcome),
        Err(error) => error,
    };
    let cause = error_text(&error);
    // The cause first, then what was done about it, or why it could not be.
    match undo_failed(session, name, before, &cause, atomic).await {
        Ok(None) => Err(error),
        Ok(Some(undone)) => {
            session.reporter.error(&cause);
            bail!("release {name}: {undone}")
        }
        Err(undo_error) => {
            session.reporter.error(&cause);
            Err(undo_error.context(format!(
                "release {name} failed (the error above), and undoing it failed too; `rchart history {name}` shows where it stands"
            )))
        }
    }
}

/// Where a release stood before an operation, to know what undoing it means.
#[derive(Debug, Clone, Copy, Default)]
struct Before {
    latest: Option<u64>,
    deployed: Option<u64>,
}

async fn before(session: &Session, name: &str) -> anyhow::Result<Before> {
    let history = session.history(name).await?;
    Ok(Before {
        latest: history.latest().map(|r| r.record.revision),
        deployed: history.deployed().map(|r| r.record.revision),
    })
}

/// Undoes the revision a failed operation recorded: rolls back to the revision that
/// was deployed before (waiting for it too), or, for a failed install, deletes what it
/// created, keeping `cause` in the record. Says what it did; `None` when there was
/// nothing to undo (the operation failed before recording a revision, or its revision
/// got deployed after all).
async fn undo_failed(
    session: &Session,
    name: &str,
    before: Before,
    cause: &str,
    atomic: AtomicOptions,
) -> anyhow::Result<Option<String>> {
    let history = session.history(name).await?;
    let Some(failed) = history
        .latest()
        .filter(|r| Some(r.record.revision) > before.latest && r.record.status != Status::Deployed)
    else {
        return Ok(None);
    };
    let failed_revision = failed.record.revision;
    let hooks = HookOptions {
        run: atomic.hooks,
        timeout: atomic.timeout,
    };
    match before.deployed {
        Some(target) => {
            let options = RollbackOptions {
                name,
                revision: Some(target),
                description: None,
                deploy: DeployOptions {
                    take_ownership: false,
                    dry_run: false,
                    history_max: atomic.history_max,
                    wait: true,
                    timeout: atomic.timeout,
                    force_conflicts: false,
                    namespace_missing: false,
                    strict_refs: false,
                    hooks,
                },
            };
            let record = rollback_unlocked(session, &options).await?;
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
                hooks,
            };
            uninstall_unlocked(session, &options).await?;
            Ok(Some(format!(
                "revision {failed_revision} failed, so everything it created was deleted"
            )))
        }
    }
}
