use crate::action::lint::{LintOptions, Severity, lint};
use crate::cli::{GlobalArgs, LintArgs};
use crate::project::Workspace;
use crate::values::ValueSource;

use super::{Outcome, environment};

pub fn run(global: &GlobalArgs, args: LintArgs) -> anyhow::Result<Outcome> {
    let workspace = Workspace::current()?;
    let chart = workspace.chart(args.chart.as_deref())?;
    let selection = environment(global, &workspace, &args.values.files)?;
    // Each environment file is linted as the files given with -f are.
    let mut values_files: Vec<std::path::PathBuf> = selection
        .iter()
        .flat_map(|s| s.environment.values.iter().map(|v| v.path.clone()))
        .collect();
    values_files.extend(args.values.files.iter().cloned());
    let namespace = super::offline_namespace(global, &workspace, selection);
    // As `template` names it; a chart too broken to name is reported by the lint itself.
    let release = workspace
        .release_name(None, args.chart.as_deref())
        .unwrap_or_else(|_| "release-name".to_string());
    let overrides: Vec<ValueSource> = args
        .values
        .sources
        .iter()
        .filter(|source| !matches!(source, ValueSource::File(_)))
        .cloned()
        .collect();
    let findings = lint(&LintOptions {
        chart: &chart,
        values_files: &values_files,
        overrides: &overrides,
        namespace: &namespace,
        release: &release,
        max_output: args.output_limit.max_output,
    });
    outln!("==> Linting {}", chart.display());
    for finding in &findings {
        outln!("{finding}");
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    outln!("1 chart linted: {errors} error(s), {warnings} warning(s)");
    let failed = errors > 0 || (args.strict && warnings > 0);
    Ok(if failed {
        Outcome::Failure
    } else {
        Outcome::Success
    })
}
