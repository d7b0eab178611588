//! `rchart upgrade`: render the chart again and move the release to the result.
//!
//! An upgrade runs, top to bottom: check the release name; unless it is a dry run,
//! create the namespace if asked (only with `--install`), take the release's lock and,
//! with `--atomic`, note where the release stood; read the history (a release that is not
//! installed is installed with `--install`, else refused; a pending one is refused);
//! render the chart with the values the mode says (and post-render it); deploy the
//! revision, `pre-upgrade` and `post-upgrade` hooks around it ([`super::deploy`]); with
//! `--atomic`, roll a failed upgrade back to the revision that was deployed (a failed
//! hook included); release the lock.

use std::path::Path;

use anyhow::{Context, bail};

use super::atomic::{self, AtomicOptions};
use super::deploy::{ChartRevision, DeployOptions, NewRevision, Outcome, deploy_chart_revision};
use super::install::{InstallOptions, check_release_name, install_with};
use super::render_release::{Pipeline, RenderedRelease, render_resolved_with};
use super::session::{Discovered, Session};
use crate::chart::Chart;
use crate::cluster::Catalog;
use crate::oci::ChartOrigin;
use crate::release::{History, Need, Status, Timestamp};
use crate::render::post_render::PostRenderer;
use crate::render::{ReleaseInfo, RenderOptions};
use crate::values::{self, ResolvedValues, ValueSource};

/// What happens to the values of the previous revision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ValuesMode {
    /// Start from the new chart's defaults and only the values given now. The same
    /// command always gives the same result, whatever ran before.
    #[default]
    Reset,
    /// Start from the new chart's defaults, lay the previous revision's user values
    /// over them, then the values given now.
    Reuse,
}

impl ValuesMode {
    /// The mode `--reuse-values` asks for; without it, [`ValuesMode::Reset`].
    pub fn from_reuse_flag(reuse_values: bool) -> Self {
        if reuse_values {
            Self::Reuse
        } else {
            Self::Reset
        }
    }
}

#[derive(Clone, Copy)]
pub struct UpgradeOptions<'a> {
    pub name: &'a str,
    pub chart: &'a Path,
    pub sources: &'a [ValueSource],
    /// How far rendering may go (`--max-output`).
    pub render: RenderOptions,
    /// Rewrites the rendered manifests before anything else sees them.
    pub post_renderer: Option<&'a PostRenderer>,
    /// Where an `oci://` chart came from, for the record.
    pub origin: Option<&'a ChartOrigin>,
    pub values_mode: ValuesMode,
    /// Install the release when it does not exist (or was uninstalled).
    pub install: bool,
    pub description: Option<&'a str>,
    /// With `install`: create the release's namespace first if it does not exist.
    pub create_namespace: bool,
    /// On failure, roll back to the revision deployed before, or delete what an install
    /// created (`--atomic`).
    pub atomic: Option<AtomicOptions>,
    pub deploy: DeployOptions,
}

/// Upgrades a release: the whole operation, lock and `--atomic` included.
pub async fn upgrade(session: &Session, options: &UpgradeOptions<'_>) -> anyhow::Result<Outcome> {
    check_release_name(options.name)?;
    if options.deploy.dry_run {
        let namespace_missing = options.install
            && session
                .dry_run_namespace_missing(options.create_namespace)
                .await?;
        let options = UpgradeOptions {
            deploy: DeployOptions {
                namespace_missing,
                ..options.deploy
            },
            ..*options
        };
        return upgrade_unlocked(session, &options).await;
    }
    // An upgrade without --install never creates anything for a release that is missing.
    if options.create_namespace && options.install {
        session.create_namespace().await?;
    }
    session
        .locked("upgrade", options.name, async || {
            atomic::guarded(session, options.name, options.atomic, async || {
                upgrade_unlocked(session, options).await
            })
            .await
        })
        .await
}

async fn upgrade_unlocked(
    session: &Session,
    options: &UpgradeOptions<'_>,
) -> anyhow::Result<Outcome> {
    let (history, discovered) = session.history_and_discovery(options.name).await?;
    history.require("upgrade", &[Need::Latest, Need::Deployed])?;
    if !history.is_installed() {
        if !options.install {
            bail!(
                "release \"{}\" not found in namespace \"{}\" (use --install to install it)",
                options.name,
                session.namespace()
            );
        }
        let chart = Chart::load(options.chart)?;
        return install_with(
            session,
            &InstallOptions {
                name: options.name,
                chart: options.chart,
                sources: options.sources,
                render: options.render,
                post_renderer: options.post_renderer,
                origin: options.origin,
                description: options.description,
                create_namespace: options.create_namespace,
                atomic: options.atomic,
                deploy: options.deploy,
            },
            chart,
            history,
            discovered,
        )
        .await;
    }
    history.ensure_not_pending()?;
    let mut prepared = prepare_upgrade(
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
    let new_revision = NewRevision {
        name: options.name,
        revision: prepared.revision,
        status: Status::PendingUpgrade,
        description: options
            .description
            .unwrap_or("Upgrade in progress")
            .to_string(),
        first_deployed: prepared.first_deployed,
        chart_origin: options.origin.cloned(),
    };
    deploy_chart_revision(
        session,
        &mut prepared.catalog,
        &history,
        prepared.content,
        new_revision,
        options
            .description
            .unwrap_or("Upgrade complete")
            .to_string(),
        options.deploy,
    )
    .await
}

/// What an upgrade would deploy: the next revision, rendered from the new chart.
pub struct PreparedUpgrade {
    pub catalog: Catalog,
    pub revision: u64,
    pub first_deployed: Timestamp,
    pub content: ChartRevision,
}

/// What an upgrade renders: the chart, the values given now and how the previous
/// revision's values count, and how far rendering may go.
pub struct UpgradeSource<'a> {
    pub chart: &'a Path,
    pub sources: &'a [ValueSource],
    pub values_mode: ValuesMode,
    pub render: RenderOptions,
    /// Rewrites the rendered manifests before anything else sees them.
    pub post_renderer: Option<&'a PostRenderer>,
}

/// Renders the next revision of an installed release (`history` must have a readable
/// revision): the values per the mode, the capabilities from the cluster. Changes
/// nothing, so `rchart diff upgrade` shares it.
pub fn prepare_upgrade(
    session: &Session,
    history: &History,
    discovered: Discovered,
    name: &str,
    source: &UpgradeSource<'_>,
) -> anyhow::Result<PreparedUpgrade> {
    let latest = history.latest().expect("an installed release has history");
    let current = history.deployed().unwrap_or(latest);
    let chart = Chart::load(source.chart)?;
    let Discovered {
        catalog,
        capabilities,
    } = discovered;
    let (sources, mode, render) = (source.sources, source.values_mode, source.render);
    let revision = history.next_revision();
    let release = ReleaseInfo::new(name, session.namespace(), revision, true);
    let values = match mode {
        ValuesMode::Reset => values::resolve(&chart.default_values, sources)?,
        ValuesMode::Reuse => {
            let mut user = current.record.user_values.clone();
            values::merge_values(&mut user, values::user_values(sources)?);
            let merged = values::coalesce(&chart.default_values, &user);
            ResolvedValues { user, merged }
        }
    };
    let RenderedRelease { values, rendered } = render_resolved_with(
        &chart,
        values,
        &release,
        &capabilities,
        Pipeline {
            options: render,
            post_renderer: source.post_renderer,
        },
    )
    .with_context(|| format!("rendering chart \"{}\"", chart.metadata.name))?;
    Ok(PreparedUpgrade {
        catalog,
        revision,
        first_deployed: current.record.first_deployed.clone(),
        content: ChartRevision {
            chart,
            values,
            rendered,
        },
    })
}
