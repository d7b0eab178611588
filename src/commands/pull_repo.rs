//! `rchart pull REPO/CHART`, and charts named `REPO/CHART` for the commands that render.

use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::action::repo::{self, parse_repo_chart};
use crate::cli::{ChartSourceArgs, RepoPullArgs};
use crate::repo::RepoPaths;

use super::report::StderrReporter;
use super::{Outcome, block_on};

pub fn run(args: RepoPullArgs) -> anyhow::Result<Outcome> {
    let paths = RepoPaths::from_env()?;
    let Some(reference) = parse_repo_chart(&args.chart, &paths) else {
        bail!(
            "{}: expected REPO/CHART with REPO an added repository (rchart repo list shows them)",
            args.chart
        );
    };
    let path = block_on(repo::pull(
        &paths,
        &reference,
        args.version.as_deref(),
        &args.destination,
        args.untar,
        &StderrReporter,
    ))?;
    outln!("{}", path.display());
    Ok(Outcome::Success)
}

/// The local chart a command works on: `chart` itself, after `--dependency-update` when
/// asked, or for `REPO/CHART` the package downloaded into the cache.
pub(super) fn locate(chart: PathBuf, source: &ChartSourceArgs) -> anyhow::Result<PathBuf> {
    let paths = RepoPaths::from_env()?;
    if let Some(text) = chart.to_str()
        && let Some(reference) = parse_repo_chart(text, &paths)
    {
        if source.dependency_update {
            bail!(
                "--dependency-update: {text} is a repository chart; its dependencies come packaged in it"
            );
        }
        return block_on(repo::cached_chart(
            &paths,
            &reference,
            source.version.as_deref(),
            &StderrReporter,
        ));
    }
    if let Some(version) = &source.version {
        bail!(
            "--version {version}: {} is a local chart; --version picks among the versions of a repository's chart (REPO/CHART)",
            chart.display()
        );
    }
    if source.dependency_update {
        dependency_update(&chart)?;
    }
    Ok(chart)
}

/// `--dependency-update`: `rchart dependency update` on a chart directory.
pub(super) fn dependency_update(chart: &Path) -> anyhow::Result<()> {
    if !chart.is_dir() {
        bail!(
            "--dependency-update: {} is not a chart directory",
            chart.display()
        );
    }
    super::dependency::update(chart)?;
    Ok(())
}
