//! Every question about a release's revision list, answered in one place.

use std::collections::BTreeSet;

use super::Status;
use super::error::UnreadableRecord;
use super::store::StoredRelease;
use crate::render::ResourceId;

/// Every revision of one release.
#[derive(Debug, Default)]
pub struct History {
    /// The readable revisions, oldest first.
    pub revisions: Vec<StoredRelease>,
    /// Secrets labelled as revisions of the release that could not be read.
    pub unreadable: Vec<UnreadableRecord>,
}

/// Objects that earlier revisions may have left in the cluster.
#[derive(Debug, Default, Clone)]
pub struct LiveInventory {
    pub resources: BTreeSet<ResourceId>,
    /// Those of them annotated `rchart.io/resource-policy: keep`.
    pub kept: BTreeSet<ResourceId>,
}

/// An operation found the release's latest revision unfinished.
#[derive(Debug, thiserror::Error)]
#[error(
    "another operation is in progress on release {release} (revision {revision}, since {since}); if it was interrupted, {way_out}"
)]
pub struct OperationInProgress {
    pub release: String,
    pub revision: u64,
    pub since: String,
    way_out: String,
}

impl History {
    /// No revision at all, readable or not: the release was never installed.
    pub fn is_empty(&self) -> bool {
        self.revisions.is_empty() && self.unreadable.is_empty()
    }

    /// The newest readable revision.
    pub fn latest(&self) -> Option<&StoredRelease> {
        self.revisions.last()
    }

    /// The revision number a new revision gets: one more than any revision present,
    /// including unreadable ones, whose Secrets still hold their names.
    pub fn next_revision(&self) -> u64 {
        let readable = self.revisions.iter().map(|stored| stored.record.revision);
        let unreadable = self.unreadable.iter().filter_map(|entry| entry.revision);
        readable.chain(unreadable).max().unwrap_or(0) + 1
    }

    /// The revision that describes what runs now, if any.
    pub fn deployed(&self) -> Option<&StoredRelease> {
        self.revisions
            .iter()
            .rev()
            .find(|r| r.record.status == Status::Deployed)
    }

    /// Whether the release exists and is not uninstalled (kept history does not count).
    pub fn is_installed(&self) -> bool {
        self.latest()
            .is_some_and(|latest| latest.record.status != Status::Uninstalled)
    }

    /// Refuses while another operation's revision is unfinished (its lock was removed by
    /// hand, or it ran without one), saying how to get out.
    pub fn ensure_not_pending(&self) -> Result<(), OperationInProgress> {
        let Some(latest) = self.latest() else {
            return Ok(());
        };
        if !latest.record.status.is_unfinished() {
            return Ok(());
        }
        let name = &latest.record.name;
        let way_out = if self.revisions.len() > 1 {
            format!("`rchart rollback {name}` marks it failed and restores the previous revision")
        } else {
            format!("`rchart uninstall {name}` removes it")
        };
        Err(OperationInProgress {
            release: name.clone(),
            revision: latest.record.revision,
            since: latest.record.last_deployed.to_string(),
            way_out,
        })
    }

    /// Objects that earlier revisions may have left in the cluster: those of the deployed
    /// revision and of every later one (a failed upgrade can have applied some objects),
    /// and nothing from before the last uninstall.
    pub fn live_inventory(&self) -> LiveInventory {
        let revisions = &self.revisions;
        let after_uninstall = revisions
            .iter()
            .rposition(|r| r.record.status == Status::Uninstalled)
            .map_or(0, |index| index + 1);
        let from_deployed = revisions
            .iter()
            .rposition(|r| r.record.status == Status::Deployed)
            .unwrap_or(0);
        let mut inventory = LiveInventory::default();
        for stored in &revisions[after_uninstall.max(from_deployed)..] {
            inventory
                .resources
                .extend(stored.record.resources.iter().cloned());
            inventory
                .kept
                .extend(stored.record.kept_resources.iter().cloned());
        }
        inventory
    }
}
