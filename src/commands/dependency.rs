//! `rchart dependency update|build|list`.

use crate::action::dependency::{self, DependencyOptions, Fetched};
use crate::action::package::source_date_epoch;
use crate::cli::{DependencyCommand, RegistryArgs};
use crate::project::Workspace;
use crate::repo::RepoPaths;

use super::output::print_table;
use super::report::StderrReporter;
use super::{Outcome, block_on};

pub fn run(command: DependencyCommand) -> anyhow::Result<Outcome> {
    let workspace = Workspace::current()?;
    match command {
        DependencyCommand::Update(args) => {
            let chart = workspace.chart(args.chart.as_deref())?;
            let fetched = update(&chart, &args.registry)?;
            print_fetched(&fetched)
        }
        DependencyCommand::Build(args) => {
            let chart = workspace.chart(args.chart.as_deref())?;
            let paths = RepoPaths::from_env()?;
            let registry = super::oci::registry_options(&args.registry, "")?;
            let options = DependencyOptions {
                chart_dir: &chart,
                paths: &paths,
                source_date_epoch: source_date_epoch()?,
                registry: &registry,
            };
            let fetched = block_on(dependency::build(&options, &StderrReporter))?;
            print_fetched(&fetched)
        }
        DependencyCommand::List(args) => {
            let chart = workspace.chart(args.chart.as_deref())?;
            let rows = dependency::list(&chart)?;
            if rows.is_empty() {
                outln!("chart has no dependencies");
                return Ok(Outcome::Success);
            }
            let mut table = Vec::with_capacity(rows.len());
            for row in rows {
                let status = match (&row.found, row.status) {
                    (Some(found), dependency::Status::WrongVersion) => {
                        format!("wrong version ({found} in charts/)")
                    }
                    _ => row.status.as_str().to_string(),
                };
                table.push(vec![
                    row.dependency.key().to_string(),
                    row.dependency.version.clone(),
                    row.dependency.repository.clone(),
                    status,
                ]);
            }
            print_table(&["NAME", "VERSION", "REPOSITORY", "STATUS"], &table)?;
            Ok(Outcome::Success)
        }
    }
}

/// `rchart dependency update` on `chart`, for `--dependency-update` too.
pub(super) fn update(chart: &std::path::Path, registry: &RegistryArgs) -> anyhow::Result<Fetched> {
    let paths = RepoPaths::from_env()?;
    let registry = super::oci::registry_options(registry, "")?;
    let options = DependencyOptions {
        chart_dir: chart,
        paths: &paths,
        source_date_epoch: source_date_epoch()?,
        registry: &registry,
    };
    block_on(dependency::update(&options, &StderrReporter))
}

fn print_fetched(fetched: &Fetched) -> anyhow::Result<Outcome> {
    for name in &fetched.written {
        outln!("charts/{name}");
    }
    for name in &fetched.removed {
        eprintln!("removed charts/{name}");
    }
    if fetched.lock_written {
        eprintln!("wrote Chart.lock");
    }
    Ok(Outcome::Success)
}
