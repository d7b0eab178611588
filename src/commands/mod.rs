//! One module per verb: turn parsed arguments into options, call an action, print.

/// `println!` that reports a closed stdout (`rchart list | head`) as an error, which
/// `main` treats as a normal end, instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

/// `print!` with the same behaviour as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

mod create;
mod diff;
mod lint;
mod oci;
mod output;
mod package;
mod query;
mod release;
mod template;

use std::process::ExitCode;

use crate::action::session::Target;
use crate::cli::{Cli, Command, GlobalArgs};

/// How a successful run ends; errors are reported by `main`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The command ran but found problems (lint errors, `--strict` warnings).
    Failure,
    /// `rchart diff` found differences; CI pipelines gate on this exit code.
    Changes,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Success => ExitCode::SUCCESS,
            Outcome::Failure => ExitCode::from(1),
            Outcome::Changes => ExitCode::from(2),
        }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Template(args) => template::run(&cli.global, args),
        Command::Package(args) => package::run(args),
        Command::Lint(args) => lint::run(&cli.global, args),
        Command::Create(args) => create::run(args),
        Command::Install(args) => release::install_command(&cli.global, args),
        Command::Upgrade(args) => release::upgrade_command(&cli.global, args),
        Command::Rollback(args) => release::rollback_command(&cli.global, args),
        Command::Uninstall(args) => release::uninstall_command(&cli.global, args),
        Command::History(args) => query::history(&cli.global, args),
        Command::Status(args) => query::status(&cli.global, args),
        Command::List(args) => query::list(&cli.global, args),
        Command::Get(command) => query::get(&cli.global, command),
        Command::Diff(command) => diff::run(&cli.global, command),
        Command::Push(args) => oci::push(args),
        Command::Pull(args) => oci::pull(args),
        Command::Registry(command) => oci::registry(command),
    }
}

/// Runs a cluster command. One thread is plenty: the work is waiting on the network.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded runtime can always be built")
        .block_on(future)
}

fn target(global: &GlobalArgs) -> Target<'_> {
    Target {
        kubeconfig: global.kubeconfig.as_deref(),
        context: global.kube_context.as_deref(),
        namespace: global.namespace.as_deref(),
        lock_timeout: global.lock_timeout,
    }
}

/// Prints chart warnings to stderr, where they do not mix with manifests.
fn print_warnings(warnings: &[String]) {
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
}
