//! `rchart install`, and `rchart upgrade --install` for a release that does not exist.

use std::path::Path;

use anyhow::{Context, bail};

use super::deploy::{DeployOptions, Deployed, Deployment, deploy};
use super::render_release::{RenderedRelease, render_release};
use super::session::{Session, ensure_not_pending};
use crate::chart::{Chart, package};
use crate::release::{ReleaseRecord, Status, Timestamp};
use crate::render::{ReleaseInfo, to_multi_document};
use crate::values::ValueSource;

/// Release names become object name prefixes and Secret names: DNS labels, short enough
/// to leave room for suffixes.
const MAX_RELEASE_NAME: usize = 53;

pub struct InstallOptions<'a> {
    pub name: &'a str,
    pub chart: &'a Path,
    pub sources: &'a [ValueSource],
    pub description: Option<&'a str>,
    pub deploy: DeployOptions,
}

/// What an install or upgrade did, for the command to print.
pub struct Outcome {
    /// The rendered manifests, as `rchart template` prints them.
    pub manifest: String,
    pub notes: Option<String>,
    /// The stored revision; `None` for a dry run.
    pub record: Option<ReleaseRecord>,
}

pub async fn install(session: &Session, options: &InstallOptions<'_>) -> anyhow::Result<Outcome> {
    check_release_name(options.name)?;
    let chart = Chart::load(options.chart)?;
    let history = session.history(options.name).await?;
    ensure_not_pending(options.name, &history)?;
    if let Some(latest) = history.last()
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
    let (catalog, capabilities) = session.discover().await?;
    let revision = history.last().map_or(1, |r| r.record.revision + 1);
    let release = ReleaseInfo::new(options.name, session.namespace(), revision, false);
    let RenderedRelease { values, rendered } =
        render_release(&chart, options.sources, &release, &capabilities)
            .with_context(|| format!("rendering chart \"{}\"", chart.metadata.name))?;
    let manifest = to_multi_document(&chart.metadata.name, &rendered.manifests);

    let now = Timestamp::now();
    let record = ReleaseRecord {
        name: options.name.to_string(),
        namespace: session.namespace().to_string(),
        revision,
        status: Status::PendingInstall,
        description: options
            .description
            .unwrap_or("Install in progress")
            .to_string(),
        first_deployed: now.clone(),
        last_deployed: now,
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
            .unwrap_or("Install complete")
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

pub fn check_release_name(name: &str) -> anyhow::Result<()> {
    let valid = !name.is_empty()
        && name.len() <= MAX_RELEASE_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid {
        bail!(
            "release name \"{name}\" is invalid: use at most {MAX_RELEASE_NAME} lowercase letters, digits and '-', starting and ending with a letter or digit"
        );
    }
    Ok(())
}

/// sha256 of the chart's reproducible package: equal charts give equal digests.
pub fn chart_digest(chart: &Chart) -> anyhow::Result<String> {
    let digest = package::package_digest(&chart.files, &chart.metadata.name, 0)?;
    Ok(format!("sha256:{digest}"))
}
