//! `rchart install`, and `rchart upgrade --install` for a release that does not exist.
//!
//! An install runs, top to bottom: check the release name; unless it is a dry run,
//! create the namespace if asked, take the release's lock and, with `--atomic`, note
//! where the release stood; read the history (nothing may be installed or pending);
//! discover the cluster; render the chart (and post-render it); deploy the revision,
//! `pre-install` and `post-install` hooks around it ([`super::deploy`]); with `--atomic`,
//! delete what a failed install created; release the lock.

use std::path::Path;

use anyhow::{Context, bail};

use super::atomic::{self, AtomicOptions};
pub use super::deploy::Outcome;
use super::deploy::{ChartRevision, DeployOptions, NewRevision, deploy_chart_revision};
use super::render_release::{Pipeline, RenderedRelease, render_release_with};
use super::session::{Discovered, Session};
use crate::chart::Chart;
use crate::oci::ChartOrigin;
use crate::release::{History, Need, Status, Timestamp};
use crate::render::post_render::PostRenderer;
use crate::render::{ReleaseInfo, RenderOptions};
use crate::values::ValueSource;

#[derive(Clone, Copy)]
pub struct InstallOptions<'a> {
    pub name: &'a str,
    pub chart: &'a Path,
    pub sources: &'a [ValueSource],
    /// How far rendering may go (`--max-output`).
    pub render: RenderOptions,
    /// Rewrites the rendered manifests before anything else sees them.
    pub post_renderer: Option<&'a PostRenderer>,
    /// Where an `oci://` chart came from, for the record.
    pub origin: Option<&'a ChartOrigin>,
    pub description: Option<&'a str>,
    /// Create the release's namespace first if it does not exist.
    pub create_namespace: bool,
    /// On failure, delete what the install created (`--atomic`).
    pub atomic: Option<AtomicOptions>,
    pub deploy: DeployOptions,
}

/// Installs a release: the whole operation, lock and `--atomic` included.
pub async fn install(session: &Session, options: &InstallOptions<'_>) -> anyhow::Result<Outcome> {
    // Before anything is created in the cluster, the lock included.
    check_release_name(options.name)?;
    if options.deploy.dry_run {
        let namespace_missing = session
            .dry_run_namespace_missing(options.create_namespace)
            .await?;
        let options = InstallOptions {
            deploy: DeployOptions {
                namespace_missing,
                ..options.deploy
            },
            ..*options
        };
        return install_unlocked(session, &options).await;
    }
    if options.create_namespace {
        session.create_namespace().await?;
    }
    session
        .locked("install", options.name, async || {
            atomic::guarded(session, options.name, options.atomic, async || {
                install_unlocked(session, options).await
            })
            .await
        })
        .await
}

/// The install itself, for a caller that holds the lock (or a dry run, which needs none).
pub(super) async fn install_unlocked(
    session: &Session,
    options: &InstallOptions<'_>,
) -> anyhow::Result<Outcome> {
    let chart = Chart::load(options.chart)?;
    let (history, discovered) = session.history_and_discovery(options.name).await?;
    install_with(session, options, chart, history, discovered).await
}

/// The install of a loaded chart, given the release's history and what the cluster
/// serves.
pub(super) async fn install_with(
    session: &Session,
    options: &InstallOptions<'_>,
    chart: Chart,
    history: History,
    discovered: Discovered,
) -> anyhow::Result<Outcome> {
    history.require("install", &[Need::Latest])?;
    history.ensure_not_pending()?;
    if let Some(latest) = history.latest()
        && latest.record.status != Status::Uninstalled
    {
        bail!(
            "release \"{}\" already exists in namespace \"{}\" (revision {}, {}); use `rchart upgrade` to change it",
            options.name,
            session.namespace(),
            latest.record.revision,
            latest.record.status
        );
    }
    let Discovered {
        mut catalog,
        capabilities,
    } = discovered;
    let revision = history.next_revision();
    let release = ReleaseInfo::new(options.name, session.namespace(), revision, false);
    let RenderedRelease { values, rendered } = render_release_with(
        &chart,
        options.sources,
        &release,
        &capabilities,
        Pipeline {
            options: options.render,
            post_renderer: options.post_renderer,
        },
    )
    .with_context(|| format!("rendering chart \"{}\"", chart.metadata.name))?;
    let new_revision = NewRevision {
        name: options.name,
        revision,
        status: Status::PendingInstall,
        description: options
            .description
            .unwrap_or("Install in progress")
            .to_string(),
        first_deployed: Timestamp::now(),
        chart_origin: options.origin.cloned(),
    };
    deploy_chart_revision(
        session,
        &mut catalog,
        &history,
        ChartRevision {
            chart,
            values,
            rendered,
        },
        new_revision,
        options
            .description
            .unwrap_or("Install complete")
            .to_string(),
        options.deploy,
    )
    .await
}

pub fn check_release_name(name: &str) -> anyhow::Result<()> {
    match crate::names::release_name_problem(name) {
        Some(problem) => bail!("{problem}"),
        None => Ok(()),
    }
}
