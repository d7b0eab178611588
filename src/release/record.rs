//! What rchart remembers about each revision of a release.
//!
//! A record holds what is needed to show, compare, roll back and prune a revision: the
//! rendered manifest, the values, the chart's metadata and digest, and the inventory of
//! objects. It deliberately does not hold the chart's files, which is what pushes Helm's
//! records toward the 1 MiB Secret limit.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::chart::Metadata;
use crate::render::{DeletePolicy, HookEvent, ResourceId};
use crate::values::Values;

/// One revision of a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRecord {
    pub name: String,
    pub namespace: String,
    /// 1 for the install, then one more for each upgrade or rollback.
    pub revision: u64,
    pub status: Status,
    pub description: String,
    /// When revision 1 was deployed; carried over to every later revision.
    pub first_deployed: Timestamp,
    /// When this revision was applied.
    pub last_deployed: Timestamp,
    /// When the release was uninstalled, for records kept with `--keep-history`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Timestamp>,
    /// `Chart.yaml` of the chart this revision was rendered from.
    pub chart: Metadata,
    /// sha256 of the chart's reproducible package, so two revisions can be compared
    /// without storing the chart.
    pub chart_digest: String,
    /// For a chart installed from an OCI registry: its reference and the manifest digest
    /// it resolved to. A rollback keeps it and never asks the registry again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_origin: Option<crate::oci::ChartOrigin>,
    /// The values the user supplied (with their nulls), for `--reuse-values`.
    pub user_values: Values,
    /// The values the templates saw.
    pub merged_values: Values,
    /// The rendered manifests, as `rchart template` prints them.
    pub manifest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Every object this revision applied, in install order. Pruning compares inventories.
    pub resources: Vec<ResourceId>,
    /// Objects whose manifest asked never to be deleted (`rchart.io/resource-policy: keep`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_resources: Vec<ResourceId>,
    /// For a rollback, the revision it restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<u64>,
    /// The hooks of this revision, with how each last ran. Not part of the inventory:
    /// hooks are never pruned as ordinary objects. Absent from records written before
    /// rchart had hooks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookRecord>,
}

/// One hook of a revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookRecord {
    /// The object, with the namespace it goes to.
    pub resource: ResourceId,
    /// Chart-relative path of the template that rendered it.
    pub source: String,
    pub events: Vec<HookEvent>,
    #[serde(default)]
    pub weight: i64,
    /// As annotated; empty means the default, `before-hook-creation`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_policies: Vec<DeletePolicy>,
    /// The document as rendered (and post-rendered).
    pub manifest: String,
    /// How it last ran for this revision; `None` until it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<HookRun>,
}

/// How a hook ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookRun {
    pub phase: HookPhase,
    /// When it was created.
    pub started: Timestamp,
    /// When it succeeded or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<Timestamp>,
    /// Why it failed, or what is known of an outcome that was not seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Where a hook's run stands, in the words of Pod phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HookPhase {
    Running,
    Succeeded,
    Failed,
    /// It was running when the operation stopped (interrupted, or its lock taken over):
    /// how it ended was not seen.
    Unknown,
}

impl HookPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            HookPhase::Running => "Running",
            HookPhase::Succeeded => "Succeeded",
            HookPhase::Failed => "Failed",
            HookPhase::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for HookPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a revision stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    PendingInstall,
    PendingUpgrade,
    PendingRollback,
    /// The one revision that describes what runs now.
    Deployed,
    /// An earlier revision that was deployed and has been replaced.
    Superseded,
    /// The operation that created this revision failed; the description says why.
    Failed,
    Uninstalling,
    Uninstalled,
}

impl Status {
    /// An operation started this revision and has not finished.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback
        )
    }

    /// An operation started this revision and did not finish: pending, or an uninstall
    /// in progress.
    pub fn is_unfinished(self) -> bool {
        self.is_pending() || self == Status::Uninstalling
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
            Status::Deployed => "deployed",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::Uninstalled => "uninstalled",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A UTC time, stored as RFC 3339 with seconds, as Kubernetes writes times.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub String);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_system(std::time::SystemTime::now())
    }

    pub fn from_system(time: std::time::SystemTime) -> Self {
        Self(humantime::format_rfc3339_seconds(time).to_string())
    }

    /// The time this stands for, if it is well formed.
    pub fn to_system(&self) -> Option<std::time::SystemTime> {
        humantime::parse_rfc3339_weak(&self.0).ok()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_and_read_back() {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(951_782_400);
        let stamp = Timestamp::from_system(time);
        assert_eq!(stamp.0, "2000-02-29T00:00:00Z");
        assert_eq!(stamp.to_system(), Some(time));
    }

    #[test]
    fn hooks_are_camel_case_and_old_records_have_none() {
        let hook: HookRecord = serde_json::from_value(serde_json::json!({
            "resource": {"apiVersion": "batch/v1", "kind": "Job", "namespace": "shop", "name": "migrate"},
            "source": "templates/migrate.yaml",
            "events": ["pre-upgrade", "pre-install"],
            "deletePolicies": ["hook-succeeded"],
            "manifest": "apiVersion: batch/v1\nkind: Job\n",
            "lastRun": {"phase": "Succeeded", "started": "2026-01-02T03:04:05Z", "completed": "2026-01-02T03:04:09Z"},
        }))
        .unwrap();
        assert_eq!(hook.events, [HookEvent::PreUpgrade, HookEvent::PreInstall]);
        assert_eq!(hook.weight, 0);
        assert_eq!(hook.last_run.unwrap().phase, HookPhase::Succeeded);
    }

    #[test]
    fn statuses_are_kebab_case() {
        assert_eq!(
            serde_json::to_string(&Status::PendingUpgrade).unwrap(),
            "\"pending-upgrade\""
        );
        assert_eq!(Status::PendingRollback.to_string(), "pending-rollback");
        assert!(Status::PendingInstall.is_pending() && !Status::Failed.is_pending());
    }
}
