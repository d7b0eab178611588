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

mod completion;
mod create;
mod dependency;
mod diff;
mod install;
mod lint;
mod oci;
mod output;
mod package;
pub mod progress;
mod pull_repo;
mod query;
mod repo;
mod report;
mod rollback;
mod show;
mod template;
mod test;
mod uninstall;
mod unlock;
mod upgrade;
mod version;

use std::process::ExitCode;
use std::sync::Arc;

use crate::action::session::Session;
use crate::action::target::{self, TargetRequest};
use crate::cli::{Cli, Command, GlobalArgs};
use crate::project::{Selection, Workspace};

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
        Command::Show(command) => show::run(command),
        Command::Completion(args) => completion::run(args),
        Command::Version(args) => version::run(args),
        Command::Install(args) => install::run(&cli.global, args),
        Command::Upgrade(args) => upgrade::run(&cli.global, args),
        Command::Rollback(args) => rollback::run(&cli.global, args),
        Command::Test(args) => test::run(&cli.global, args),
        Command::Uninstall(args) => uninstall::run(&cli.global, args),
        Command::Unlock(args) => unlock::run(&cli.global, args),
        Command::History(args) => query::history(&cli.global, args),
        Command::Status(args) => query::status(&cli.global, args),
        Command::List(args) => query::list(&cli.global, args),
        Command::Get(command) => query::get(&cli.global, command),
        Command::Diff(command) => diff::run(&cli.global, command),
        Command::Dependency(command) => dependency::run(command),
        Command::Repo(command) => repo::run(command),
        Command::Search(command) => repo::search(command),
        Command::Push(args) => oci::push(args),
        Command::Pull(args) => pull_repo::pull(args),
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

/// A session where the global flags and the environment `-e` or the `-f` files chose,
/// reporting on stderr. Within a project without either, the kube context's namespace.
async fn open_session(
    global: &GlobalArgs,
    workspace: &Workspace,
    selection: Option<Selection<'_>>,
) -> anyhow::Result<Session> {
    let request = target_request(global, workspace, selection, None);
    target::open_session(&request, Arc::new(report::StderrReporter)).await
}

/// A session for `list`; with `-A` the namespace it has does not matter, and is not shown.
async fn open_list_session(
    global: &GlobalArgs,
    workspace: &Workspace,
    selection: Option<Selection<'_>>,
    all_namespaces: bool,
) -> anyhow::Result<Session> {
    let request = TargetRequest {
        all_namespaces,
        ..target_request(global, workspace, selection, None)
    };
    target::open_session(&request, Arc::new(report::StderrReporter)).await
}

/// A session for a command on the existing release `name`: given no `-n` and no `-e`, in
/// the project environment whose namespace holds it.
async fn open_release_session(
    global: &GlobalArgs,
    workspace: &Workspace,
    name: &str,
) -> anyhow::Result<Session> {
    let selection = workspace.environment(global.environment.as_deref(), &[], false)?;
    let request = target_request(global, workspace, selection, Some(name));
    target::open_session(&request, Arc::new(report::StderrReporter)).await
}

fn target_request<'a>(
    global: &'a GlobalArgs,
    workspace: &'a Workspace,
    selection: Option<Selection<'a>>,
    find_release: Option<&'a str>,
) -> TargetRequest<'a> {
    TargetRequest {
        kubeconfig: global.kubeconfig.as_deref(),
        context: global.kube_context.as_deref(),
        namespace: global.namespace.as_deref(),
        lock_timeout: global.lock_timeout,
        concurrency: global.concurrency,
        project: workspace.project.as_ref(),
        selection,
        find_release,
        all_namespaces: false,
    }
}

/// The environment `-e` names, or the one every `-f` file belongs to.
fn environment<'w>(
    global: &GlobalArgs,
    workspace: &'w Workspace,
    files: &[std::path::PathBuf],
) -> anyhow::Result<Option<Selection<'w>>> {
    Ok(workspace.environment(
        global.environment.as_deref(),
        files,
        global.namespace.is_some(),
    )?)
}

/// The namespace of a command that needs no cluster (`template`, `lint`): `-n`, else the
/// environment's, else "default". Within a project, the choice is shown on stderr.
fn offline_namespace(
    global: &GlobalArgs,
    workspace: &Workspace,
    selection: Option<Selection<'_>>,
) -> String {
    if let Some(namespace) = &global.namespace {
        return namespace.clone();
    }
    if let Some(selection) = selection {
        eprintln!(
            "namespace {} (environment {})",
            selection.environment.namespace, selection.environment.name
        );
        return selection.environment.namespace.clone();
    }
    if workspace.project.is_some() {
        eprintln!(
            "namespace default (no environment chosen: -e, or -f with an environment's values file)"
        );
    }
    "default".to_string()
}

/// What a command that renders a chart for a release works on, defaults filled in.
struct ChartRelease<'w> {
    name: String,
    chart: std::path::PathBuf,
    selection: Option<Selection<'w>>,
    /// The environment's values files first, then the command's own values flags.
    sources: Vec<crate::values::ValueSource>,
    /// For an `oci://` chart, the reference and manifest digest the record keeps.
    origin: Option<crate::oci::ChartOrigin>,
}

/// `[NAME] [CHART]` and the values flags of install, upgrade and diff upgrade, with the
/// defaults of the workspace.
fn chart_release<'w>(
    global: &GlobalArgs,
    workspace: &'w Workspace,
    name: Option<String>,
    chart: Option<std::path::PathBuf>,
    values: &crate::cli::ValuesArgs,
    source: &crate::cli::ChartSourceArgs,
) -> anyhow::Result<ChartRelease<'w>> {
    let (name, chart) = crate::project::name_or_chart(name, chart);
    let name = workspace.release_name(name.as_deref(), chart.as_deref())?;
    let chart = workspace.chart(chart.as_deref())?;
    let located = pull_repo::locate(&chart, source)?;
    let selection = environment(global, workspace, &values.files)?;
    let sources = values_sources(workspace, selection, &values.sources);
    Ok(ChartRelease {
        name,
        chart: located.path,
        origin: located.origin,
        selection,
        sources,
    })
}

/// The values a command renders with: the environment's files first, then its own.
fn values_sources(
    workspace: &Workspace,
    selection: Option<Selection<'_>>,
    sources: &[crate::values::ValueSource],
) -> Vec<crate::values::ValueSource> {
    match selection {
        Some(selection) => selection.values_sources(&workspace.cwd, sources),
        None => sources.to_vec(),
    }
}

/// The post-renderer `--post-renderer` and `--post-renderer-args` name, if any.
fn post_renderer(
    args: &crate::cli::PostRendererArgs,
) -> Option<crate::render::post_render::PostRenderer> {
    args.post_renderer
        .as_ref()
        .map(|program| crate::render::post_render::PostRenderer {
            program: program.clone(),
            args: args.post_renderer_args.clone(),
        })
}

/// Prints chart warnings to stderr, where they do not mix with manifests.
fn print_warnings(warnings: &[String]) {
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
}
