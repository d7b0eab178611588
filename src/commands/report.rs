//! Where operations' progress and warnings go: stderr, away from the data on stdout.

use crate::action::report::Reporter;
use crate::cluster::wait::WaitProgress;

use super::progress::stderr_progress;

/// Prints each message on a line of its own on stderr.
pub struct StderrReporter;

impl Reporter for StderrReporter {
    fn info(&self, message: &str) {
        eprintln!("{message}");
    }

    fn warn(&self, message: &str) {
        eprintln!("warning: {message}");
    }

    fn error(&self, message: &str) {
        eprintln!("error: {message}");
    }

    fn wait_progress(&self) -> Box<dyn WaitProgress> {
        stderr_progress()
    }
}
