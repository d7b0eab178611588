//! The `kubectl` that tests cross-check with: the real client reading back what a test
//! wrote. One finder for every test that uses it, so they all skip or fail alike.
//!
//! Without kubectl installed, a check cannot run. With `CI` set (to anything but empty,
//! `0` or `false`) that fails the test, because CI is where the checks must run.
//! Elsewhere the check skips: it says so on stderr and, when `RCHART_TEST_SKIP_LOG`
//! names a file, adds one line to it (`tests/run` counts them in its summary, since the
//! test harness hides what passing tests print).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The variable naming the file a skipped check is noted in.
pub const SKIP_LOG_VARIABLE: &str = "RCHART_TEST_SKIP_LOG";

/// The kubectl binary, or `None` after saying that the calling test's kubectl check
/// skips. Panics when kubectl is missing and `CI` is set.
pub fn kubectl() -> Option<PathBuf> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    let found = FOUND.get_or_init(find).clone();
    if found.is_none() {
        skip();
    }
    found
}

/// `/usr/bin/kubectl`, `/usr/local/bin/kubectl`, then the first `kubectl` on `PATH`.
fn find() -> Option<PathBuf> {
    let fixed = [
        PathBuf::from("/usr/bin/kubectl"),
        PathBuf::from("/usr/local/bin/kubectl"),
    ];
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("kubectl"));
    fixed.into_iter().chain(on_path).find(|path| path.is_file())
}

/// Whether the tests run in CI, as CI services say with `CI`.
fn in_ci(value: Option<&str>) -> bool {
    value.is_some_and(|value| !matches!(value.trim(), "" | "0" | "false"))
}

fn skip() {
    let thread = std::thread::current();
    let check = thread.name().unwrap_or("a kubectl check");
    let ci = std::env::var("CI").ok();
    let log = std::env::var_os(SKIP_LOG_VARIABLE).map(PathBuf::from);
    skip_check(check, in_ci(ci.as_deref()), log.as_deref());
}

/// Fails `check` in CI; elsewhere says that it skips, on stderr and in `log`.
fn skip_check(check: &str, ci: bool, log: Option<&Path>) {
    if ci {
        panic!(
            "{check}: kubectl is not installed, and CI is set: the kubectl checks must run \
             there (install kubectl, or unset CI to let them skip)"
        );
    }
    eprintln!("skipping the kubectl part of {check}: kubectl is not installed");
    if let Some(log) = log {
        let line = format!("{check}: kubectl is not installed\n");
        // One write of one short line with O_APPEND: lines from parallel tests never mix.
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut file| file.write_all(line.as_bytes()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_is_set_by_any_value_but_empty_0_or_false() {
        for set in ["true", "1", "yes", "woodpecker"] {
            assert!(in_ci(Some(set)), "{set}");
        }
        for unset in [None, Some(""), Some("0"), Some("false")] {
            assert!(!in_ci(unset), "{unset:?}");
        }
    }

    #[test]
    fn a_skip_fails_in_ci_and_is_noted_elsewhere() {
        let failure = std::panic::catch_unwind(|| skip_check("releases::a_check", true, None))
            .expect_err("a kubectl check cannot skip in CI");
        let message = failure.downcast_ref::<String>().unwrap();
        assert!(
            message.starts_with("releases::a_check: kubectl is not installed, and CI is set"),
            "{message}"
        );

        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("skips");
        skip_check("releases::a_check", false, Some(&log));
        skip_check("store::another", false, Some(&log));
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "releases::a_check: kubectl is not installed\n\
             store::another: kubectl is not installed\n"
        );
    }
}
