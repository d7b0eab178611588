use crate::action::package::{PackageOptions, mtime_from_env, package};
use crate::cli::{PackageArgs, PackageOutput};
use crate::project::Workspace;

use super::Outcome;

pub fn run(args: PackageArgs) -> anyhow::Result<Outcome> {
    let chart = Workspace::current()?.chart(args.chart.as_deref())?;
    if args.dependency_update {
        super::pull_repo::dependency_update(&chart)?;
    }
    let packaged = package(&PackageOptions {
        chart_dir: &chart,
        destination: &args.destination,
        version: args.version.as_deref(),
        app_version: args.app_version.as_deref(),
        mtime: mtime_from_env()?,
    })?;
    match args.output {
        // The digest alone: the file name is NAME-VERSION.tgz in the -d directory.
        Some(PackageOutput::Json) => {
            outln!("{}", serde_json::json!({ "sha256": packaged.sha256 }))
        }
        None => {
            outln!("Packaged {}", packaged.path.display());
            outln!("sha256: {}", packaged.sha256);
        }
    }
    Ok(Outcome::Success)
}
