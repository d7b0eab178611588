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

/// A revision an operation cannot do without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The newest revision: it says whether an operation is unfinished, and what a failed
    /// upgrade may have applied.
    Latest,
    /// The deployed revision: it says what runs now.
    Deployed,
    /// The revision a rollback restores.
    RollbackTarget(u64),
}

impl Need {
    fn role(self) -> &'static str {
        match self {
            Need::Latest => "the latest revision",
            Need::Deployed => "the deployed revision",
            Need::RollbackTarget(_) => "the revision to roll back to",
        }
    }
}

/// A record an operation needs cannot be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "{operation} needs revision {revision} of release {release} ({role}), but {problem}; to go on without it, delete its Secrets: `kubectl delete secret -n {namespace} {secret}` and `kubectl delete secret -n {namespace} -l '{chunks}'` (objects only that revision recorded are then no longer tracked by rchart)",
    role = need.role(),
    chunks = chunk_selector(release, *revision),
)]
pub struct DamagedRecord {
    pub operation: String,
    pub release: String,
    pub revision: u64,
    pub need: Need,
    pub secret: String,
    pub namespace: String,
    /// The unreadable record's own message, with its cause.
    pub problem: String,
}

fn chunk_selector(release: &str, revision: u64) -> String {
    super::secrets::chunks_selector(release, &[revision])
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

    /// Fails, naming the record and the way out, when a revision `operation` needs is
    /// unreadable. A damaged record the operation can do without is no obstacle.
    pub fn require(&self, operation: &str, needs: &[Need]) -> Result<(), Box<DamagedRecord>> {
        for &need in needs {
            if let Some(entry) = self.unreadable_for(need) {
                return Err(Box::new(DamagedRecord {
                    operation: operation.to_string(),
                    release: entry.release.clone().unwrap_or_default(),
                    revision: entry.revision.unwrap_or_default(),
                    need,
                    secret: entry.secret_name.clone(),
                    namespace: entry.namespace.clone(),
                    problem: entry.to_string(),
                }));
            }
        }
        Ok(())
    }

    /// The unreadable record that stands where `need` is, if any: a newer revision than
    /// any readable one, one labelled deployed after the readable deployed one, or the
    /// revision asked for.
    fn unreadable_for(&self, need: Need) -> Option<&UnreadableRecord> {
        let latest = self.latest().map(|r| r.record.revision);
        let deployed = self.deployed().map(|r| r.record.revision);
        let mut entries = self.unreadable.iter();
        match need {
            // With no readable revision at all, any damaged one may be the latest.
            Need::Latest => entries
                .filter(|entry| latest.is_none() || entry.revision > latest)
                .max_by_key(|entry| entry.revision),
            Need::Deployed => entries
                .filter(|entry| {
                    entry.labelled(Status::Deployed)
                        && entry.revision.is_some()
                        && entry.revision > deployed
                })
                .max_by_key(|entry| entry.revision),
            Need::RollbackTarget(wanted) => entries.find(|entry| entry.revision == Some(wanted)),
        }
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
