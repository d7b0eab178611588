//! Status changes of stored revisions: the bookkeeping every operation ends with.

use std::time::Duration;

use super::error::StoreError;
use super::store::{ReleaseStore, StoredRelease};
use super::{HookPhase, Status};

/// How often a status change is tried before it fails: a revision left pending blocks
/// the release until a rollback.
const ATTEMPTS: u32 = 3;

/// A revision could not be marked superseded.
#[derive(Debug, thiserror::Error)]
#[error("marking revision {revision} superseded")]
pub struct SupersedeError {
    pub revision: u64,
    #[source]
    pub source: StoreError,
}

impl ReleaseStore {
    /// Sets the status (and description) of a revision. A record changed since it was
    /// read is read again and the change made on the fresh copy: the release is locked,
    /// so the change that got in between is someone editing by hand, not another
    /// operation. Server errors and lost answers are tried again too.
    pub async fn set_status(
        &self,
        stored: StoredRelease,
        status: Status,
        description: String,
    ) -> Result<StoredRelease, StoreError> {
        let mut stored = stored;
        for attempt in 1..=ATTEMPTS {
            stored.record.status = status;
            stored.record.description = description.clone();
            let error = match self.update(&stored).await {
                Ok(updated) => return Ok(updated),
                Err(error) if attempt == ATTEMPTS => return Err(error),
                Err(error) => error,
            };
            let server_trouble = match &error {
                StoreError::Conflict { .. } => false,
                StoreError::Api { status, .. } => status.code >= 500,
                StoreError::Request { .. } => true,
                _ => return Err(error),
            };
            if server_trouble {
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            stored = self
                .load(&stored.record.name, stored.record.revision)
                .await?;
        }
        unreachable!("the last attempt returns")
    }

    /// Marks every revision an operation left unfinished (pending, or uninstalling) as
    /// failed, with `why` as its description, and its hooks that were running as
    /// `Unknown`. Returns the revisions as they now stand.
    pub async fn fail_unfinished(
        &self,
        revisions: Vec<StoredRelease>,
        why: impl Fn(&StoredRelease) -> String,
    ) -> Result<Vec<StoredRelease>, StoreError> {
        let mut updated = Vec::with_capacity(revisions.len());
        for mut stored in revisions {
            if stored.record.status.is_unfinished() {
                let description = why(&stored);
                // Its hooks that were running were not seen to end.
                for hook in &mut stored.record.hooks {
                    if let Some(run) = hook
                        .last_run
                        .as_mut()
                        .filter(|r| r.phase == HookPhase::Running)
                    {
                        run.phase = HookPhase::Unknown;
                        run.message = Some("the operation stopped before it ended".to_string());
                    }
                }
                updated.push(self.set_status(stored, Status::Failed, description).await?);
            } else {
                updated.push(stored);
            }
        }
        Ok(updated)
    }

    /// Marks every deployed revision among `revisions` superseded, so that the one just
    /// deployed is the only one. Returns the revisions as they now stand.
    pub async fn supersede_others(
        &self,
        revisions: &[StoredRelease],
    ) -> Result<Vec<StoredRelease>, SupersedeError> {
        let mut updated = Vec::with_capacity(revisions.len());
        for stored in revisions {
            if stored.record.status != Status::Deployed {
                updated.push(stored.clone());
                continue;
            }
            let revision = stored.record.revision;
            let description = stored.record.description.clone();
            let stored = self
                .set_status(stored.clone(), Status::Superseded, description)
                .await
                .map_err(|source| SupersedeError { revision, source })?;
            updated.push(stored);
        }
        Ok(updated)
    }
}
