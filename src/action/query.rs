//! The read-only release commands: history, status, list and get.

use anyhow::bail;
use serde::Serialize;

use super::session::Session;
use crate::release::{
    HookPhase, HookRecord, HookRun, Need, ReleaseRecord, Status, UnreadableRecord, list_releases,
};
use crate::render::{HookEvent, ResourceId};

/// One line of `rchart history` or `rchart list`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionSummary {
    pub name: String,
    pub namespace: String,
    pub revision: u64,
    pub updated: String,
    /// A revision's status, or `unreadable` for a record that cannot be read.
    pub status: String,
    pub chart: String,
    pub app_version: String,
    pub description: String,
}

impl From<&ReleaseRecord> for RevisionSummary {
    fn from(record: &ReleaseRecord) -> Self {
        Self {
            name: record.name.clone(),
            namespace: record.namespace.clone(),
            revision: record.revision,
            updated: record.last_deployed.to_string(),
            status: record.status.to_string(),
            chart: format!("{}-{}", record.chart.name, record.chart.version),
            app_version: record.chart.app_version.clone().unwrap_or_default(),
            description: record.description.clone(),
        }
    }
}

/// `rchart status`: a revision without its manifest and values.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    #[serde(flatten)]
    pub summary: RevisionSummary,
    pub first_deployed: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
    pub chart_digest: String,
    /// For a chart from an OCI registry: its reference and manifest digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart_origin: Option<crate::oci::ChartOrigin>,
    pub resources: Vec<ResourceId>,
    /// The hooks operations run, and how each last ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookView>,
    /// The tests (`test` hooks), and how each last ran with `rchart test`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<HookView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// A hook of a revision, without its manifest.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookView {
    pub resource: ResourceId,
    pub events: Vec<HookEvent>,
    pub weight: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<HookRun>,
}

impl From<&HookRecord> for HookView {
    fn from(hook: &HookRecord) -> Self {
        Self {
            resource: hook.resource.clone(),
            events: hook.events.clone(),
            weight: hook.weight,
            last_run: hook.last_run.clone(),
        }
    }
}

impl HookView {
    /// `Succeeded, 2026-01-02T03:04:05Z to 2026-01-02T03:04:09Z`, or `not run`.
    pub fn run_summary(&self) -> String {
        describe_run(self.last_run.as_ref())
    }
}

/// How a hook last ran, in a few words.
pub fn describe_run(run: Option<&HookRun>) -> String {
    let Some(run) = run else {
        return "not run".to_string();
    };
    let mut text = match (&run.completed, run.phase) {
        (Some(completed), _) => format!("{}, {} to {completed}", run.phase, run.started),
        (None, HookPhase::Running) => format!("Running since {}", run.started),
        (None, phase) => format!("{phase}, started {}", run.started),
    };
    if let Some(message) = &run.message {
        text.push_str(": ");
        text.push_str(message);
    }
    text
}

/// Revisions to show, one row each; records that cannot be read have rows too, marked
/// `unreadable`, and were reported as warnings.
pub struct HistoryView {
    pub revisions: Vec<RevisionSummary>,
}

/// The status shown for a record that cannot be read.
const UNREADABLE: &str = "unreadable";

impl RevisionSummary {
    /// A row for a record that cannot be read: what its labels say, and why.
    fn unreadable(entry: &UnreadableRecord) -> Option<Self> {
        Some(Self {
            name: entry.release.clone()?,
            namespace: entry.namespace.clone(),
            revision: entry.revision.unwrap_or_default(),
            updated: String::new(),
            status: UNREADABLE.to_string(),
            chart: String::new(),
            app_version: String::new(),
            description: entry.to_string(),
        })
    }
}

pub async fn history(session: &Session, name: &str) -> anyhow::Result<HistoryView> {
    let history = session.history(name).await?;
    if history.is_empty() {
        bail!(
            "release \"{name}\" not found in namespace \"{}\"",
            session.namespace()
        );
    }
    let mut revisions: Vec<RevisionSummary> = history
        .revisions
        .iter()
        .map(|s| RevisionSummary::from(&s.record))
        .chain(
            history
                .unreadable
                .iter()
                .filter_map(RevisionSummary::unreadable),
        )
        .collect();
    revisions.sort_by_key(|summary| summary.revision);
    Ok(HistoryView { revisions })
}

/// What a command given no revision shows when the latest record cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenLatestIsDamaged {
    /// The newest readable revision, which names itself (`status`); the damaged record
    /// is warned about.
    ShowNewestReadable,
    /// An error naming it: the output (`get values`, say) would not say which revision
    /// it came from, and a script would take an older revision's for the latest.
    Refuse,
}

/// A revision: the given one, or the latest (see [`WhenLatestIsDamaged`]).
pub async fn revision(
    session: &Session,
    name: &str,
    revision: Option<u64>,
    damaged: WhenLatestIsDamaged,
) -> anyhow::Result<ReleaseRecord> {
    match revision {
        Some(revision) => Ok(session
            .store
            .load(name, revision)
            .await
            .map_err(|e| session.explain(e))?
            .record),
        None => {
            let history = session.existing_history(name).await?;
            if damaged == WhenLatestIsDamaged::Refuse {
                history.require(
                    "showing the latest revision (or pass --revision)",
                    &[Need::Latest],
                )?;
            }
            if let Some(latest) = history.latest() {
                return Ok(latest.record.clone());
            }
            // Only damaged records: say which, and how to get rid of them.
            history.require("showing the release", &[Need::Latest])?;
            bail!("release \"{name}\" has no record that can be read")
        }
    }
}

pub fn status_view(record: &ReleaseRecord) -> StatusView {
    StatusView {
        summary: RevisionSummary::from(record),
        first_deployed: record.first_deployed.to_string(),
        deleted: record.deleted.as_ref().map(ToString::to_string),
        chart_digest: record.chart_digest.clone(),
        chart_origin: record.chart_origin.clone(),
        resources: record.resources.clone(),
        hooks: record
            .hooks
            .iter()
            .filter(|hook| hook.events.iter().any(|&e| e != HookEvent::Test))
            .map(HookView::from)
            .collect(),
        tests: record
            .hooks
            .iter()
            .filter(|hook| hook.events.contains(&HookEvent::Test))
            .map(HookView::from)
            .collect(),
        notes: record.notes.clone(),
    }
}

/// The latest revision of each release, in one namespace or all of them. A release
/// whose latest record cannot be read is listed, marked `unreadable`.
pub async fn list(
    session: &Session,
    all_namespaces: bool,
    include_uninstalled: bool,
) -> anyhow::Result<HistoryView> {
    let namespace = (!all_namespaces).then(|| session.namespace().to_string());
    let listed = list_releases(&session.cluster.client, namespace.as_deref())
        .await
        .map_err(|e| session.explain(e))?;
    session.report_unreadable(&listed.unreadable);
    let mut revisions: Vec<RevisionSummary> = listed
        .releases
        .iter()
        .filter(|s| include_uninstalled || s.record.status != Status::Uninstalled)
        .map(|s| RevisionSummary::from(&s.record))
        .chain(
            listed
                .unreadable
                .iter()
                .filter_map(RevisionSummary::unreadable),
        )
        .collect();
    revisions.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Ok(HistoryView { revisions })
}
