//! Command-line arguments: clap types and nothing else. `commands/` turns them into work.

use std::path::PathBuf;

use clap::{ArgMatches, Args, Parser, Subcommand, ValueEnum};

use crate::values::ValueSource;

#[derive(Debug, Parser)]
#[command(
    name = "rchart",
    version,
    about = "Package Kubernetes charts and manage their releases"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts, as kubectl and Helm spell them.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Namespace of the release (default: the kubeconfig context's, else "default")
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use (default: the current context)
    #[arg(long, global = true, value_name = "NAME")]
    pub kube_context: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render a chart's manifests locally, without a cluster
    Template(TemplateArgs),
    /// Package a chart directory into a reproducible NAME-VERSION.tgz
    Package(PackageArgs),
    /// Check a chart for errors and risky practices
    Lint(LintArgs),
    /// Create a new chart with a Deployment and a Service
    Create(CreateArgs),
}

/// Values flags. Files apply left to right, then the `--set*` flags in command-line order.
#[derive(Debug, Args, Default)]
pub struct ValuesArgs {
    /// A values file (repeatable; later files win)
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Set values: a.b=c, list[0]=x, a=1,b=2 (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Like --set, but every value stays a string
    #[arg(long = "set-string", value_name = "KEY=VALUE")]
    pub set_string: Vec<String>,
    /// Set a value to the contents of a file: key=path
    #[arg(long = "set-file", value_name = "KEY=PATH")]
    pub set_file: Vec<String>,
    /// Set a value from JSON: key=<json>
    #[arg(long = "set-json", value_name = "KEY=JSON")]
    pub set_json: Vec<String>,
    /// Every source above in the order it applies; filled from the raw matches.
    #[arg(skip)]
    pub sources: Vec<ValueSource>,
}

#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// [NAME] CHART: the release name (default "release-name") and the chart directory or .tgz
    #[arg(value_name = "[NAME] CHART", num_args = 1..=2, required = true)]
    pub name_and_chart: Vec<String>,
    #[command(flatten)]
    pub values: ValuesArgs,
    /// Only print manifests from these templates, e.g. templates/service.yaml (repeatable)
    #[arg(short = 's', long = "show-only", value_name = "PATH")]
    pub show_only: Vec<String>,
    /// Write each template's manifests to DIR/<chart>/templates/<file> instead of stdout
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Kubernetes version to render for, e.g. 1.31.0
    #[arg(long, value_name = "VERSION")]
    pub kube_version: Option<String>,
    /// Extra API versions templates can test for, e.g. monitoring.coreos.com/v1 (repeatable, comma-separated)
    #[arg(
        short = 'a',
        long = "api-versions",
        value_name = "GROUP/VERSION",
        value_delimiter = ','
    )]
    pub api_versions: Vec<String>,
    /// Render as an upgrade rather than an install (sets release.is_upgrade)
    #[arg(long)]
    pub is_upgrade: bool,
}

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The chart directory
    pub chart: PathBuf,
    /// Directory to write the archive to
    #[arg(short = 'd', long, value_name = "DIR", default_value = ".")]
    pub destination: PathBuf,
    /// Set the chart version in the archive
    #[arg(long, value_name = "SEMVER")]
    pub version: Option<String>,
    /// Set the app version in the archive
    #[arg(long, value_name = "VERSION")]
    pub app_version: Option<String>,
    /// Print the archive's path and digest as JSON
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<PackageOutput>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PackageOutput {
    Json,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// The chart directory or .tgz
    pub chart: PathBuf,
    #[command(flatten)]
    pub values: ValuesArgs,
    /// Fail on warnings too
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Name of the chart; also the directory created
    pub name: String,
}

/// Output formats of read commands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    #[default]
    Table,
    Json,
    Yaml,
}

/// Parses the command line, recording the order values flags were given in.
pub fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Some(values) = cli.command.values_args_mut() {
        values.sources = ordered_sources(&matches);
    }
    cli
}

impl Command {
    fn values_args_mut(&mut self) -> Option<&mut ValuesArgs> {
        match self {
            Command::Template(args) => Some(&mut args.values),
            Command::Lint(args) => Some(&mut args.values),
            Command::Package(_) | Command::Create(_) => None,
        }
    }
}

/// Values files first, left to right; then every `--set*` flag by its position.
fn ordered_sources(matches: &ArgMatches) -> Vec<ValueSource> {
    let mut matches = matches;
    while let Some((_, sub)) = matches.subcommand() {
        matches = sub;
    }
    let positioned = |id: &str, make: fn(String) -> ValueSource| -> Vec<(usize, ValueSource)> {
        let Ok(Some(values)) = matches.try_get_many::<String>(id) else {
            return Vec::new();
        };
        let indices = matches.indices_of(id).into_iter().flatten();
        indices.zip(values.cloned().map(make)).collect()
    };
    let files = matches
        .try_get_many::<PathBuf>("files")
        .ok()
        .flatten()
        .into_iter()
        .flatten()
        .cloned()
        .map(ValueSource::File);
    let mut sets = [
        positioned("set", ValueSource::Set),
        positioned("set_string", ValueSource::SetString),
        positioned("set_file", ValueSource::SetFile),
        positioned("set_json", ValueSource::SetJson),
    ]
    .concat();
    sets.sort_by_key(|(index, _)| *index);
    files
        .chain(sets.into_iter().map(|(_, source)| source))
        .collect()
}
