//! One module per verb: turn parsed arguments into options, call an action, print.

mod create;
mod lint;
mod package;
mod template;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// How a successful run ends; errors are reported by `main`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The command ran but found problems (lint errors, `--strict` warnings).
    Failure,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Success => ExitCode::SUCCESS,
            Outcome::Failure => ExitCode::from(1),
        }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Template(args) => template::run(&cli.global, args),
        Command::Package(args) => package::run(args),
        Command::Lint(args) => lint::run(&cli.global, args),
        Command::Create(args) => create::run(args),
    }
}

/// Prints chart warnings to stderr, where they do not mix with manifests.
fn print_warnings(warnings: &[String]) {
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
}
