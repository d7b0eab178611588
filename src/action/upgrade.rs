//! `rchart upgrade`: render the chart again and move the release to the result.

use std::path::Path;

use anyhow::{Context, bail};

use super::deploy::{DeployOptions, Deployed, Deployment, deploy};
use super::install::{InstallOptions, Outcome, chart_digest, install};
use super::render_release::{RenderedRelease, render_resolved};
use super::session::{Session, deployed, ensure_not_pending};
use crate::chart::Chart;
use crate::release::{ReleaseRecord, Status, Timestamp};
use crate::render::{ReleaseInfo, to_multi_document};
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
    let installed = history
        .last()
        .is_some_and(|r| r.record.status != Status::Uninstalled);
    if !installed {
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
    let latest = history.last().expect("an installed release has history");
    let current = deployed(&history).unwrap_or(latest);

    let chart = Chart::load(options.chart)?;
    let (catalog, capabilities) = session.discover().await?;
    let revision = latest.record.revision + 1;
    let release = ReleaseInfo::new(options.name, session.namespace(), revision, true);
    let values = match options.values_mode {
        ValuesMode::Reset => values::resolve(&chart.default_values, options.sources)?,
        ValuesMode::Reuse => {
            let mut user = current.record.user_values.clone();
            values::merge_values(&mut user, values::user_values(options.sources)?);
            let merged = values::coalesce(&chart.default_values, &user);
            ResolvedValues { user, merged }
        }
    };
    let RenderedRelease { values, rendered } =
        render_resolved(&chart, values, &release, &capabilities)
            .with_context(|| format!("rendering chart \"{}\"", chart.metadata.name))?;
    let manifest = to_multi_document(&chart.metadata.name, &rendered.manifests);

    let record = ReleaseRecord {
        name: options.name.to_string(),
        namespace: session.namespace().to_string(),
        revision,
        status: Status::PendingUpgrade,
        description: options
            .description
            .unwrap_or("Upgrade in progress")
            .to_string(),
        first_deployed: current.record.first_deployed.clone(),
        last_deployed: Timestamp::now(),
        deleted: None,
        chart: chart.metadata.clone(),
        chart_digest: chart_digest(&chart)?,
        user_values: values.user,
        merged_values: values.merged,
        manifest: manifest.clone(),
        notes: rendered.notes.clone(),
        resources: Vec::new(),
        kept_resources: Vec::new(),
        rollback_of: None,
    };
    let deployment = Deployment {
        session,
        catalog: &catalog,
        record,
        manifests: rendered.manifests,
        history: &history,
        success_description: options
            .description
            .unwrap_or("Upgrade complete")
            .to_string(),
    };
    let record = match deploy(deployment, options.deploy).await? {
        Deployed::Recorded(record) => Some(*record),
        Deployed::DryRun(_) => None,
    };
    Ok(Outcome {
        manifest,
        notes: rendered.notes,
        record,
    })
}
