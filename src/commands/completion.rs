//! `rchart completion SHELL`: the completion script clap derives from the command line
//! itself, so it never falls behind a new flag.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionArgs};

use super::Outcome;

pub fn run(args: CompletionArgs) -> anyhow::Result<Outcome> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "rchart", &mut script);
    out!("{}", String::from_utf8(script)?);
    Ok(Outcome::Success)
}
