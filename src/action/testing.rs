//! `rchart test`: run the `test` hooks of a release's deployed revision.
//!
//! A test run, top to bottom: take the release's lock (the run writes to the record);
//! find the deployed revision and its tests, narrowed by `--filter`; run them as hooks
//! are run ([`super::hooks`]), but through every weight group even after a failure, and
//! reading every test's log with `--logs` before a policy deletes it; keep each test's
//! phase, start and completion time in the record, whose status does not change; release
//! the lock.

use std::time::Duration;

use anyhow::bail;

use super::hooks::{HookResult, RunSettings, Runner, plan_hooks, recorded_hooks};
use super::session::Session;
use crate::cluster::{Catalog, Owner};
use crate::release::{HookRecord, Need};
use crate::render::HookEvent;

pub struct TestOptions<'a> {
    pub name: &'a str,
    pub filter: &'a TestFilter,
    /// Read every test's log, to print.
    pub logs: bool,
    /// How long the tests may take together.
    pub timeout: Duration,
}

/// Which tests run: `--filter name=X` keeps only those named, `--filter !name=X` leaves
/// those out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestFilter {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl TestFilter {
    /// Reads `name=X` and `!name=X` entries.
    pub fn parse(entries: &[String]) -> anyhow::Result<Self> {
        let mut filter = TestFilter::default();
        for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let (list, rest) = match entry.strip_prefix('!') {
                Some(rest) => (&mut filter.exclude, rest),
                None => (&mut filter.include, entry),
            };
            match rest.split_once('=') {
                Some(("name", name)) if !name.is_empty() => list.push(name.to_string()),
                _ => bail!("--filter {entry}: expected name=NAME or !name=NAME"),
            }
        }
        Ok(filter)
    }

    fn keeps(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|n| n == name))
            && !self.exclude.iter().any(|n| n == name)
    }
}

/// How the tests of a revision went.
pub struct TestReport {
    pub name: String,
    pub revision: u64,
    /// In the order they ran.
    pub results: Vec<HookResult>,
    pub timeout: Duration,
}

impl TestReport {
    pub fn passed(&self) -> bool {
        self.results
            .iter()
            .all(|r| r.phase == crate::release::HookPhase::Succeeded)
    }
}

/// Runs the tests: the whole operation, lock included.
pub async fn test(session: &Session, options: &TestOptions<'_>) -> anyhow::Result<TestReport> {
    session
        .locked("test", options.name, async || {
            test_unlocked(session, options).await
        })
        .await
}

async fn test_unlocked(session: &Session, options: &TestOptions<'_>) -> anyhow::Result<TestReport> {
    let history = session.existing_history(options.name).await?;
    history.require("test", &[Need::Deployed])?;
    let Some(deployed) = history.deployed() else {
        bail!(
            "release \"{}\" has no deployed revision to test",
            options.name
        );
    };
    let mut stored = deployed.clone();
    let record = &stored.record;
    let tests: Vec<&HookRecord> = record
        .hooks
        .iter()
        .filter(|hook| hook.events.contains(&HookEvent::Test))
        .collect();
    let known: Vec<&str> = tests.iter().map(|t| t.resource.name.as_str()).collect();
    for name in options.filter.include.iter().chain(&options.filter.exclude) {
        if !known.contains(&name.as_str()) {
            bail!(
                "--filter: revision {} of release \"{}\" has no test named \"{name}\" (tests: {})",
                record.revision,
                options.name,
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
        }
    }
    let selected: Vec<usize> = record
        .hooks
        .iter()
        .enumerate()
        .filter(|(_, hook)| hook.events.contains(&HookEvent::Test))
        .filter(|(_, hook)| options.filter.keeps(&hook.resource.name))
        .map(|(index, _)| index)
        .collect();
    let mut report = TestReport {
        name: options.name.to_string(),
        revision: record.revision,
        results: Vec::new(),
        timeout: options.timeout,
    };
    if selected.is_empty() {
        return Ok(report);
    }
    let owner = Owner {
        release: options.name,
        namespace: session.namespace(),
    };
    let mut catalog = Catalog::discover(&session.cluster).await?;
    // Only the tests are planned: a hook of another event whose kind the cluster no
    // longer serves is no reason not to test.
    let chosen: Vec<HookRecord> = selected.iter().map(|&i| record.hooks[i].clone()).collect();
    let hooks = recorded_hooks(&record.chart.name, &chosen)?;
    let hooks = plan_hooks(session, &mut catalog, hooks, owner, None)
        .await?
        .recorded_at(selected);
    let runner = Runner::new(session, &catalog, owner, &hooks, options.timeout);
    let settings = RunSettings {
        keep_going: true,
        all_logs: options.logs,
        only: None,
    };
    report.results = runner.run(HookEvent::Test, &mut stored, &settings).await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_keep_or_leave_out_tests_by_name() {
        let filter = TestFilter::parse(&["name=a".into(), "name=b".into()]).unwrap();
        assert!(filter.keeps("a") && filter.keeps("b") && !filter.keeps("c"));
        let filter = TestFilter::parse(&["!name=a".into()]).unwrap();
        assert!(!filter.keeps("a") && filter.keeps("b"));
        let error = TestFilter::parse(&["app=a".into()]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "--filter app=a: expected name=NAME or !name=NAME"
        );
    }
}
