//! Showing a wait as it happens, on stderr: on a terminal a live line per resource,
//! otherwise (CI logs, pipes) a plain line each time a resource's state changes.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cluster::wait::{ReadyState, WaitProgress};
use crate::render::ResourceId;

/// The display for stderr: live lines on a terminal, plain lines otherwise (also when
/// `TERM=dumb`). Colours follow `NO_COLOR` and `CLICOLOR`.
pub fn stderr_progress() -> Box<dyn WaitProgress> {
    let dumb_terminal = std::env::var_os("TERM").is_some_and(|term| term == "dumb");
    if std::io::stderr().is_terminal() && !dumb_terminal {
        Box::new(TerminalProgress::new())
    } else {
        Box::new(LineProgress::new(std::io::stderr()))
    }
}

fn waiting_line(resource: &ResourceId, reason: &str) -> String {
    format!("waiting for {resource}: {reason}")
}

fn ready_line(resource: &ResourceId) -> String {
    format!("{resource} is ready")
}

fn failed_line(resource: &ResourceId, reason: &str) -> String {
    format!("{resource} failed: {reason}")
}

fn header(count: usize, timeout: Duration) -> String {
    let resources = if count == 1 { "resource" } else { "resources" };
    format!(
        "waiting up to {} for {count} {resources} to be ready",
        humantime::format_duration(timeout)
    )
}

/// Plain lines, one per change of state: for logs and pipes.
pub struct LineProgress<W> {
    out: W,
}

impl<W: Write + Send> LineProgress<W> {
    pub fn new(out: W) -> Self {
        LineProgress { out }
    }

    fn line(&mut self, text: &str) {
        // Progress is a courtesy: a closed stderr must not fail the wait.
        let _ = writeln!(self.out, "{text}");
    }
}

impl<W: Write + Send> WaitProgress for LineProgress<W> {
    fn begin(&mut self, resources: &[ResourceId], timeout: Duration) {
        if !resources.is_empty() {
            self.line(&header(resources.len(), timeout));
        }
    }

    fn update(&mut self, resource: &ResourceId, state: &ReadyState) {
        let text = match state {
            ReadyState::Ready => ready_line(resource),
            ReadyState::Waiting(reason) => waiting_line(resource, reason),
            ReadyState::Failed(reason) => failed_line(resource, reason),
        };
        self.line(&text);
    }

    fn warn(&mut self, message: &str) {
        self.line(&format!("warning: {message}"));
    }

    fn end(&mut self) {
        let _ = self.out.flush();
    }
}

/// A live line per resource, redrawn in place as its state changes, under a spinner
/// that counts the resources ready and the time spent.
pub struct TerminalProgress {
    multi: MultiProgress,
    summary: Option<ProgressBar>,
    lines: BTreeMap<ResourceId, ProgressBar>,
}

impl TerminalProgress {
    pub fn new() -> Self {
        TerminalProgress {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            summary: None,
            lines: BTreeMap::new(),
        }
    }
}

impl Default for TerminalProgress {
    fn default() -> Self {
        Self::new()
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).expect("the progress templates are valid")
}

/// Marks a resource's line: `·` waiting, `✓` ready, `✗` failed. The mark is the
/// spinner's only frame, so changing it draws nothing until the message changes too, and
/// the line never shows a new mark beside an old message.
fn mark(line: &ProgressBar, state: &ReadyState) {
    let (template, symbol) = match state {
        ReadyState::Waiting(_) => ("  {spinner:.dim} {msg}", "·"),
        ReadyState::Ready => ("  {spinner:.green} {msg}", "✓"),
        ReadyState::Failed(_) => ("  {spinner:.red} {msg}", "✗"),
    };
    line.set_style(style(template).tick_strings(&[symbol, symbol]));
}

impl WaitProgress for TerminalProgress {
    fn begin(&mut self, resources: &[ResourceId], timeout: Duration) {
        if resources.is_empty() {
            return;
        }
        // One ticking bar animates the display; the resource lines redraw on change, so a
        // wait for fifty Deployments does not run fifty ticker threads.
        let summary = ProgressBar::new(resources.len() as u64)
            .with_style(style(
                "{spinner:.cyan} {pos}/{len} ready, {elapsed} of {msg}",
            ))
            .with_message(humantime::format_duration(timeout).to_string());
        let summary = self.multi.add(summary);
        summary.enable_steady_tick(Duration::from_millis(120));
        self.summary = Some(summary);
        for resource in resources {
            let line = self.multi.add(ProgressBar::new_spinner());
            self.lines.insert(resource.clone(), line);
            self.update(resource, &ReadyState::unobserved());
        }
    }

    fn update(&mut self, resource: &ResourceId, state: &ReadyState) {
        let Some(line) = self.lines.get(resource) else {
            return;
        };
        mark(line, state);
        match state {
            ReadyState::Waiting(reason) => line.set_message(waiting_line(resource, reason)),
            ReadyState::Ready => {
                line.finish_with_message(ready_line(resource));
                if let Some(summary) = &self.summary {
                    summary.inc(1);
                }
            }
            ReadyState::Failed(reason) => line.finish_with_message(failed_line(resource, reason)),
        }
    }

    fn warn(&mut self, message: &str) {
        let _ = self.multi.println(format!("warning: {message}"));
    }

    fn end(&mut self) {
        if let Some(summary) = self.summary.take() {
            summary.finish_and_clear();
        }
        // Leave every resource's last state on screen.
        for line in self.lines.values().filter(|line| !line.is_finished()) {
            line.abandon();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(name: &str) -> ResourceId {
        ResourceId {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some("backend".into()),
            name: name.into(),
        }
    }

    #[test]
    fn plain_lines_say_what_changed() {
        let mut out = Vec::new();
        let mut reporter = LineProgress::new(&mut out);
        let web = deployment("web");
        reporter.begin(std::slice::from_ref(&web), Duration::from_secs(90));
        reporter.update(&web, &ReadyState::Waiting("1 of 3 replicas ready".into()));
        reporter.warn("watching Deployments in backend failed, retrying: connection reset");
        reporter.update(&web, &ReadyState::Ready);
        reporter.update(
            &deployment("api"),
            &ReadyState::Failed("progress deadline exceeded".into()),
        );
        reporter.end();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "waiting up to 1m 30s for 1 resource to be ready\n\
             waiting for Deployment backend/web: 1 of 3 replicas ready\n\
             warning: watching Deployments in backend failed, retrying: connection reset\n\
             Deployment backend/web is ready\n\
             Deployment backend/api failed: progress deadline exceeded\n"
        );
    }

    #[test]
    fn nothing_to_wait_for_prints_nothing() {
        let mut out = Vec::new();
        let mut reporter = LineProgress::new(&mut out);
        reporter.begin(&[], Duration::from_secs(300));
        reporter.end();
        assert!(out.is_empty());
    }
}
