//! `rchart upgrade`: render the chart again and move the release to the result.

use std::path::Path;

use anyhow::{Context, bail};

use super::deploy::{DeployOptions, NewRevision, Outcome, Rendering, deploy_rendering};
use super::install::{InstallOptions, install};
use super::render_release::{RenderedRelease, render_resolved};
use super::session::{Session, deployed, ensure_not_pending, is_installed, next_revision};
use crate::chart::Chart;
use crate::cluster::Catalog;
use crate::release::{Status, StoredRelease, Timestamp};
use crate::render::ReleaseInfo;
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

pub struct UpgradeOptions<'a> {
    pub name: &'a str,
    pub chart: &'a Path,
    pub sources: &'a [ValueSource],
    pub values_mode: ValuesMode,
    /// Install the release when it does not exist (or was uninstalled).
    pub install: bool,
    pub description: Option<&'a str>,
    pub deploy: DeployOptions,
}

pub async fn upgrade(session: &Session, options: &UpgradeOptions<'_>) -> anyhow::Result<Outcome> {
    let history = session.history(options.name).await?;
    if !is_installed(&history) {
        if !options.install {
            bail!(
                "release \"{}\" not found in namespace \"{}\" (use --install to install it)",
                options.name,
                session.namespace()
            );
        }
        return install(
            session,
            &InstallOptions {
                name: options.name,
                chart: options.chart,
                sources: options.sources,
                description: options.description,
                deploy: options.deploy,
            },
        )
        .await;
    }
    ensure_not_pending(options.name, &history)?;
    let mut prepared = prepare_upgrade(
        session,
        &history,
        options.name,
        options.chart,
        options.sources,
        options.values_mode,
    )
    .await?;
    let new_revision = NewRevision {
        name: options.name,
        revision: prepared.revision,
        status: Status::PendingUpgrade,
        description: options
            .description
            .unwrap_or("Upgrade in progress")
            .to_string(),
        first_deployed: prepared.first_deployed,
    };
    deploy_rendering(
        session,
        &mut prepared.catalog,
        &history,
        prepared.rendering,
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
    pub rendering: Rendering,
}

/// Renders the next revision of an installed release (`history` must not be empty):
/// the values per `mode`, the capabilities from the cluster. Changes nothing, so
/// `rchart diff upgrade` shares it.
pub async fn prepare_upgrade(
    session: &Session,
    history: &[StoredRelease],
    name: &str,
    chart_path: &Path,
    sources: &[ValueSource],
    mode: ValuesMode,
) -> anyhow::Result<PreparedUpgrade> {
    let latest = history.last().expect("an installed release has history");
    let current = deployed(history).unwrap_or(latest);
    let chart = Chart::load(chart_path)?;
    let (catalog, capabilities) = session.discover().await?;
    let revision = next_revision(history);
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
    let RenderedRelease { values, rendered } =
        render_resolved(&chart, values, &release, &capabilities)
            .with_context(|| format!("rendering chart \"{}\"", chart.metadata.name))?;
    Ok(PreparedUpgrade {
        catalog,
        revision,
        first_deployed: current.record.first_deployed.clone(),
        rendering: Rendering {
            chart,
            values,
            rendered,
        },
    })
}
