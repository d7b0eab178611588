//! The read-only release commands: history, status, list and get.

use anyhow::bail;
use serde::Serialize;

use super::session::Session;
use crate::release::{ReleaseRecord, Status, list_releases};
use crate::render::ResourceId;

/// One line of `rchart history` or `rchart list`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionSummary {
    pub name: String,
    pub namespace: String,
    pub revision: u64,
    pub updated: String,
    pub status: Status,
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
            status: record.status,
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
    pub resources: Vec<ResourceId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// Readable revisions, plus the records that could not be read (named by Secret).
pub struct HistoryView {
    pub revisions: Vec<RevisionSummary>,
    pub unreadable: Vec<String>,
}

pub async fn history(session: &Session, name: &str) -> anyhow::Result<HistoryView> {
    let history = session
        .store
        .history(name)
        .await
        .map_err(|e| session.explain(e))?;
    if history.is_empty() {
        bail!(
            "release \"{name}\" not found in namespace \"{}\"",
            session.namespace()
        );
    }
    Ok(HistoryView {
        revisions: history
            .revisions
            .iter()
            .map(|s| RevisionSummary::from(&s.record))
            .collect(),
        unreadable: history.unreadable.iter().map(|e| e.to_string()).collect(),
    })
}

/// A revision: the given one, or the latest.
pub async fn revision(
    session: &Session,
    name: &str,
    revision: Option<u64>,
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
            Ok(history
                .revisions
                .into_iter()
                .next_back()
                .expect("history is not empty")
                .record)
        }
    }
}

pub fn status_view(record: &ReleaseRecord) -> StatusView {
    StatusView {
        summary: RevisionSummary::from(record),
        first_deployed: record.first_deployed.to_string(),
        deleted: record.deleted.as_ref().map(ToString::to_string),
        chart_digest: record.chart_digest.clone(),
        resources: record.resources.clone(),
        notes: record.notes.clone(),
    }
}

/// The latest revision of each release, in one namespace or all of them.
pub async fn list(
    session: &Session,
    all_namespaces: bool,
    include_uninstalled: bool,
) -> anyhow::Result<HistoryView> {
    let namespace = (!all_namespaces).then(|| session.namespace().to_string());
    let listed = list_releases(&session.cluster.client, namespace.as_deref())
        .await
        .map_err(|e| session.explain(e))?;
    let mut revisions: Vec<RevisionSummary> = listed
        .releases
        .iter()
        .filter(|s| include_uninstalled || s.record.status != Status::Uninstalled)
        .map(|s| RevisionSummary::from(&s.record))
        .collect();
    revisions.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Ok(HistoryView {
        revisions,
        unreadable: listed.unreadable.iter().map(|e| e.to_string()).collect(),
    })
}
