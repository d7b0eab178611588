//! `rchart pull REPO/CHART` (an `oci://` chart goes to `commands/oci.rs`), and charts
//! named `REPO/CHART` for the commands that render.

use std::path::Path;

use anyhow::bail;

use crate::action::repo::{self, parse_repo_chart};
use crate::cli::{ChartSourceArgs, PullArgs};
use crate::oci::{LocatedChart, Reference};
use crate::repo::RepoPaths;

use super::report::StderrReporter;
use super::{Outcome, block_on};

pub fn pull(args: PullArgs) -> anyhow::Result<Outcome> {
    if Reference::is_oci(&args.chart) {
        if args.untar {
            bail!("--untar: only for REPO/CHART; unpack an oci:// chart's package with tar");
        }
        return super::oci::pull(args);
    }
    let paths = RepoPaths::from_env()?;
    let Some(reference) = parse_repo_chart(&args.chart, &paths) else {
        bail!(
            "{}: expected oci://HOST/PATH/NAME, or REPO/CHART with REPO an added repository (rchart repo list shows them)",
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
    outln!("Pulled {}", path.display());
    Ok(Outcome::Success)
}

/// The local chart a command works on: for `REPO/CHART`, the package downloaded into
/// the cache; for `oci://…`, what `commands/oci.rs` finds; else the path itself, after
/// `--dependency-update` when asked.
pub(super) fn locate(chart: &Path, source: &ChartSourceArgs) -> anyhow::Result<LocatedChart> {
    let text = chart.to_string_lossy();
    let is_oci = Reference::is_oci(&text);
    if source.dependency_update && (is_oci || !chart.is_dir()) {
        bail!(
            "--dependency-update: {} is not a chart directory; a packaged chart carries its dependencies",
            chart.display()
        );
    }
    // Only a name that is not a local path may be REPO/CHART
    if !is_oci && !chart.exists() {
        let paths = RepoPaths::from_env()?;
        if let Some(reference) = parse_repo_chart(&text, &paths) {
            let path = block_on(repo::cached_chart(
                &paths,
                &reference,
                source.version.as_deref(),
                &StderrReporter,
            ))?;
            return Ok(LocatedChart { path, origin: None });
        }
    }
    if source.dependency_update {
        super::dependency::update(chart, &source.registry)?;
    }
    super::oci::locate(chart, source)
}

/// `package --dependency-update`: `rchart dependency update` on a chart directory.
pub(super) fn dependency_update(chart: &Path) -> anyhow::Result<()> {
    if !chart.is_dir() {
        bail!(
            "--dependency-update: {} is not a chart directory",
            chart.display()
        );
    }
    super::dependency::update(chart, &crate::cli::RegistryArgs::default())?;
    Ok(())
}
