//! `rchart install`, and `rchart upgrade --install` for a release that does not exist.

use std::path::Path;

use anyhow::{Context, bail};

pub use super::deploy::Outcome;
use super::deploy::{DeployOptions, NewRevision, Rendering, deploy_rendering};
use super::render_release::{RenderedRelease, render_release};
use super::session::{Session, ensure_not_pending, next_revision};
use crate::chart::Chart;
use crate::release::{Status, Timestamp};
use crate::render::ReleaseInfo;
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
    let (mut catalog, capabilities) = session.discover().await?;
    let revision = next_revision(&history);
    let release = ReleaseInfo::new(options.name, session.namespace(), revision, false);
    let RenderedRelease { values, rendered } =
        render_release(&chart, options.sources, &release, &capabilities)
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
    };
    deploy_rendering(
        session,
        &mut catalog,
        &history,
        Rendering {
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
