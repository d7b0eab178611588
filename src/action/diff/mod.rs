//! `rchart diff upgrade` and `rchart diff rollback`: what an upgrade or a rollback would
//! change in the cluster, object by object, without changing anything.
//!
//! The proposed side is the server's answer to a dry-run server-side apply of the
//! planned objects, so defaults, admission and field ownership are accounted for the
//! way the real operation would see them. The live side is a plain GET. Both are
//! stripped of bookkeeping noise before they are compared.

mod compare;
mod normalize;
mod secrets;
mod unified;

use std::path::Path;

use anyhow::bail;
use serde_json::Value;

use super::rollback::{rollback_target, target_manifests};
use super::session::Session;
use super::upgrade::{UpgradeSource, ValuesMode, prepare_upgrade};
use crate::chart::Metadata;
use crate::cluster::Catalog;
use crate::release::{History, Need};
use crate::render::{Manifest, ResourceId};
use crate::values::ValueSource;

pub use unified::DiffDisplay;

/// What `rchart diff upgrade` compares against the cluster.
pub struct DiffUpgradeOptions<'a> {
    pub name: &'a str,
    pub chart: &'a Path,
    pub sources: &'a [ValueSource],
    /// How far rendering may go (`--max-output`).
    pub render: crate::render::RenderOptions,
    /// Rewrites the rendered manifests, as `rchart upgrade --post-renderer` would.
    pub post_renderer: Option<&'a crate::render::post_render::PostRenderer>,
    pub values_mode: ValuesMode,
    /// Compare as `rchart upgrade --take-ownership` would apply: objects that belong to
    /// no release or another one are shown as adopted instead of stopping the diff.
    pub take_ownership: bool,
}

/// What `rchart diff rollback` compares against the cluster.
pub struct DiffRollbackOptions<'a> {
    pub name: &'a str,
    /// The revision to restore; `None` means the one before the latest.
    pub revision: Option<u64>,
}

/// What the operation would do to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// Exists and would be changed.
    Modify,
    /// Does not exist and would be created.
    Add,
    /// Exists, belongs to the release, and would be deleted.
    Prune,
}

/// One object that would change, with both sides stripped of noise. Secret values are
/// still in clear here; [`DiffReport::render`] masks them.
#[derive(Debug, Clone)]
pub struct ResourceDiff {
    pub id: ResourceId,
    pub change: Change,
    /// What is in the cluster now (`None` for an addition).
    pub live: Option<Value>,
    /// What the cluster would hold afterwards (`None` for a prune); for a conflict, what
    /// it would hold with `--force-conflicts`.
    pub proposed: Option<Value>,
    /// Fields another field manager owns, which the operation would stop at: the
    /// server's message, naming the manager.
    pub conflict: Option<String>,
}

/// Every difference between the cluster and a proposed revision.
#[derive(Debug, Clone)]
pub struct DiffReport {
    /// The revision number the operation would create.
    pub revision: u64,
    /// For a rollback, the revision whose manifest would be restored.
    pub rollback_of: Option<u64>,
    /// Objects that would change, in install order.
    pub resources: Vec<ResourceDiff>,
}

impl DiffReport {
    pub fn has_changes(&self) -> bool {
        !self.resources.is_empty()
    }

    fn count(&self, change: Change) -> usize {
        self.resources.iter().filter(|r| r.change == change).count()
    }

    /// `2 to change, 1 to add, 1 to prune`, or `no changes`, and the conflicts.
    pub fn summary(&self) -> String {
        if !self.has_changes() {
            return "no changes".to_string();
        }
        let mut summary = format!(
            "{} to change, {} to add, {} to prune",
            self.count(Change::Modify),
            self.count(Change::Add),
            self.count(Change::Prune)
        );
        let conflicts = self
            .resources
            .iter()
            .filter(|r| r.conflict.is_some())
            .count();
        if conflicts > 0 {
            let objects = if conflicts == 1 { "object" } else { "objects" };
            summary.push_str(&format!(
                "; {conflicts} {objects} with fields another manager owns: the operation stops there unless --force-conflicts takes them over"
            ));
        }
        summary
    }
}

/// Compares the cluster with what `rchart upgrade` would apply. Reads only.
pub async fn diff_upgrade(
    session: &Session,
    options: &DiffUpgradeOptions<'_>,
) -> anyhow::Result<DiffReport> {
    let (history, discovered) = session.history_and_discovery(options.name).await?;
    installed(session, &history, options.name)?;
    history.ensure_not_pending()?;
    let prepared = prepare_upgrade(
        session,
        &history,
        discovered,
        options.name,
        &UpgradeSource {
            chart: options.chart,
            sources: options.sources,
            values_mode: options.values_mode,
            render: options.render,
            post_renderer: options.post_renderer,
        },
    )?;
    let (mut catalog, revision, rendered) = (
        prepared.catalog,
        prepared.revision,
        prepared.content.rendered,
    );
    let proposal = Proposal {
        release: options.name,
        catalog: &mut catalog,
        manifests: &rendered.manifests,
        history: &history,
        take_ownership: options.take_ownership,
        chart: Some(&prepared.content.chart.metadata),
    };
    let resources = compare::compare(session, proposal).await?;
    Ok(DiffReport {
        revision,
        rollback_of: None,
        resources,
    })
}

/// Compares the cluster with what `rchart rollback` would apply. Reads only.
pub async fn diff_rollback(
    session: &Session,
    options: &DiffRollbackOptions<'_>,
) -> anyhow::Result<DiffReport> {
    let (history, mut catalog) = session.existing_history_and_catalog(options.name).await?;
    let target = rollback_target(&history, options.name, options.revision)?;
    let wanted = target.record.revision;
    let manifests = target_manifests(target)?;
    let proposal = Proposal {
        release: options.name,
        catalog: &mut catalog,
        manifests: &manifests,
        history: &history,
        take_ownership: false,
        chart: None,
    };
    let resources = compare::compare(session, proposal).await?;
    Ok(DiffReport {
        revision: history.next_revision(),
        rollback_of: Some(wanted),
        resources,
    })
}

/// A revision that is not applied, only compared.
struct Proposal<'a> {
    release: &'a str,
    catalog: &'a mut Catalog,
    manifests: &'a [Manifest],
    /// The release's history before the proposed revision, for the prune inventory.
    history: &'a History,
    take_ownership: bool,
    /// The chart rendered for an upgrade, whose objects must stay in the release
    /// namespace; `None` for a rollback, which restores what was recorded.
    chart: Option<&'a Metadata>,
}

/// Refuses a release that is not installed now: an uninstalled one has nothing live to
/// compare with, which `rchart upgrade` would also refuse.
fn installed(session: &Session, history: &History, name: &str) -> anyhow::Result<()> {
    history.require("diff upgrade", &[Need::Latest, Need::Deployed])?;
    if !history.is_installed() {
        bail!(
            "release \"{name}\" not found in namespace \"{}\"",
            session.namespace()
        );
    }
    Ok(())
}
