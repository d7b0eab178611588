use crate::action::lint::{LintOptions, Severity, lint};
use crate::cli::{GlobalArgs, LintArgs};
use crate::values::ValueSource;

use super::Outcome;

pub fn run(global: &GlobalArgs, args: LintArgs) -> anyhow::Result<Outcome> {
    let overrides: Vec<ValueSource> = args
        .values
        .sources
        .iter()
        .filter(|source| !matches!(source, ValueSource::File(_)))
        .cloned()
        .collect();
    let findings = lint(&LintOptions {
        chart: &args.chart,
        values_files: &args.values.files,
        overrides: &overrides,
        namespace: global.namespace.as_deref().unwrap_or("default"),
        max_output: args.output_limit.max_output,
    });
    outln!("==> Linting {}", args.chart.display());
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
