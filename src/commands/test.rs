//! `rchart test`.

use std::time::SystemTime;

use crate::action::hooks::HooksFailed;
use crate::action::testing::{TestFilter, TestOptions, TestReport, test};
use crate::cli::{GlobalArgs, TestArgs};
use crate::project::Workspace;
use crate::release::Timestamp;
use crate::render::HookEvent;

use super::output::print_table;
use super::{Outcome, block_on, open_release_session};

pub fn run(global: &GlobalArgs, args: TestArgs) -> anyhow::Result<Outcome> {
    let workspace = Workspace::current()?;
    let name = workspace.release_name(args.name.as_deref(), None)?;
    let filter = TestFilter::parse(&args.filter)?;
    let report = block_on(async {
        let session = open_release_session(global, &workspace, &name).await?;
        let options = TestOptions {
            name: &name,
            filter: &filter,
            logs: args.logs,
            timeout: args.timeout,
        };
        test(&session, &options).await
    })?;
    print_report(&report, args.logs)?;
    if report.passed() {
        return Ok(Outcome::Success);
    }
    let mut failed = HooksFailed::from_results(HookEvent::Test, report.timeout, &report.results)
        .expect("a run that did not pass has failures");
    if args.logs {
        // Printed whole already.
        for failure in &mut failed.failures {
            failure.logs.clear();
        }
    }
    let count = failed.failures.len();
    Err(anyhow::Error::new(failed).context(format!(
        "{count} of {} tests of release \"{}\" failed",
        report.results.len(),
        report.name
    )))
}

fn print_report(report: &TestReport, logs: bool) -> anyhow::Result<()> {
    outln!("NAME: {}", report.name);
    outln!("REVISION: {}", report.revision);
    if report.results.is_empty() {
        outln!("TESTS: none");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = report
        .results
        .iter()
        .map(|result| {
            vec![
                result.resource.to_string(),
                result.phase.to_string(),
                duration(&result.started, result.completed.as_ref()),
                result.message.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print_table(&["TEST", "PHASE", "DURATION", "MESSAGE"], &rows)?;
    if logs {
        for result in &report.results {
            for log in &result.logs {
                let whose = if log.container.is_empty() {
                    log.pod.clone()
                } else {
                    format!("Pod {} (container {})", log.pod, log.container)
                };
                outln!("\n--- log of {whose} ---");
                match &log.text {
                    Ok(text) if text.is_empty() => outln!("(empty)"),
                    Ok(text) => out!("{}{}", text, if text.ends_with('\n') { "" } else { "\n" }),
                    Err(why) => outln!("(could not be read: {why})"),
                }
            }
        }
    }
    Ok(())
}

/// `3s`, from the start to the completion (or now, for a run not seen to end).
fn duration(started: &Timestamp, completed: Option<&Timestamp>) -> String {
    let end = completed
        .and_then(Timestamp::to_system)
        .unwrap_or_else(SystemTime::now);
    match started
        .to_system()
        .and_then(|start| end.duration_since(start).ok())
    {
        Some(elapsed) => {
            humantime::format_duration(std::time::Duration::from_secs(elapsed.as_secs()))
                .to_string()
        }
        None => String::new(),
    }
}
