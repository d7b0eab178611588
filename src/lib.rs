//! rchart: a Helm-style Kubernetes chart packager and release manager.
//!
//! The binary in `main.rs` is a thin shell over this library; see `docs/architecture.md`
//! for how the modules layer on each other.

pub mod action;
pub mod chart;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod http;
pub mod names;
pub mod oci;
pub mod project;
pub mod release;
pub mod render;
pub mod repo;
pub mod values;
pub mod version;
pub mod yaml;

/// Formats an error and its causes for the terminal: `error: what failed: why`, with
/// multi-line causes (Tera's code frames) kept whole on lines of their own.
pub fn error_report(error: &anyhow::Error) -> String {
    let mut report = String::from("error: ");
    for (index, cause) in error.chain().enumerate() {
        let text = cause.to_string();
        let text = text.strip_prefix("error: ").unwrap_or(&text);
        if index > 0 {
            report.push_str(if text.contains('\n') { "\n" } else { ": " });
        }
        report.push_str(text);
    }
    report
}
