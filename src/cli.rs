//! Command-line arguments: clap types and nothing else. `commands/` turns them into work.

use std::path::PathBuf;
use std::time::Duration;

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
    /// How long a release's lock outlives an operation that stopped renewing it
    #[arg(long, global = true, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub lock_timeout: Duration,
}

/// `90s`, `5m`, `1h30m`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (expected e.g. 90s, 5m, 1h)"))
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
    /// Install a chart as a new release
    Install(InstallArgs),
    /// Upgrade a release to a new chart or new values
    Upgrade(UpgradeArgs),
    /// Roll a release back to an earlier revision (as a new revision)
    Rollback(RollbackArgs),
    /// Delete a release's objects and records
    Uninstall(UninstallArgs),
    /// Show a release's revisions
    History(HistoryArgs),
    /// Show a release's state
    Status(StatusArgs),
    /// List releases
    List(ListArgs),
    /// Show a revision's values, manifest or notes
    #[command(subcommand)]
    Get(GetCommand),
    /// Show what an upgrade or rollback would change in the cluster, changing nothing
    ///
    /// Exit code 0: no changes; 2: changes; 1: an error
    #[command(subcommand)]
    Diff(DiffCommand),
    /// Push a chart package to an OCI registry, tagged with its version
    Push(PushArgs),
    /// Download a chart from an OCI registry
    Pull(PullArgs),
    /// Log in to or out of an OCI registry
    #[command(subcommand)]
    Registry(RegistryCommand),
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
    /// Print only the archive's digest, as JSON: {"sha256": "…"}
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

/// Flags shared by install and upgrade.
#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub values: ValuesArgs,
    /// Create the release namespace if it does not exist
    #[arg(long)]
    pub create_namespace: bool,
    /// Render and validate every object with the server (server-side dry run); store nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Description of the revision, shown by `rchart history`
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    #[command(flatten)]
    pub ownership: OwnershipArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[command(flatten)]
    pub history: HistoryMaxArgs,
}

#[derive(Debug, Args)]
pub struct OwnershipArgs {
    /// Adopt objects that already exist and belong to no release or to another one
    #[arg(long)]
    pub take_ownership: bool,
    /// Take over fields another field manager owns (after `kubectl scale` or `kubectl edit`)
    #[arg(long)]
    pub force_conflicts: bool,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Wait until every workload is ready (Deployments available, Jobs complete, PVCs bound)
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits before the operation fails
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = crate::cluster::wait::parse_timeout)]
    pub timeout: Duration,
    /// On failure, roll an upgrade back to the last deployed revision, or delete what an
    /// install created (implies --wait)
    #[arg(long, alias = "rollback-on-failure")]
    pub atomic: bool,
}

#[derive(Debug, Args)]
pub struct HistoryMaxArgs {
    /// Records to keep per release; older ones are deleted, never the deployed one (0: keep all)
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub history_max: usize,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Release name
    pub name: String,
    /// Chart directory or .tgz
    pub chart: PathBuf,
    #[command(flatten)]
    pub deploy: DeployArgs,
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// Release name
    pub name: String,
    /// Chart directory or .tgz
    pub chart: PathBuf,
    /// Install the release if it does not exist
    #[arg(short = 'i', long)]
    pub install: bool,
    /// Start from the previous revision's values, then apply the ones given now
    #[arg(long, conflicts_with = "reset_values")]
    pub reuse_values: bool,
    /// Use only the chart's defaults and the values given now (the default)
    #[arg(long)]
    pub reset_values: bool,
    #[command(flatten)]
    pub deploy: DeployArgs,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Release name
    pub name: String,
    /// Revision to restore (default: the one before the latest)
    pub revision: Option<u64>,
    /// Validate the rollback with the server; store nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Description of the new revision (default: "Rollback to N")
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    #[command(flatten)]
    pub ownership: OwnershipArgs,
    /// Wait until every workload is ready
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits before the rollback fails
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = crate::cluster::wait::parse_timeout)]
    pub timeout: Duration,
    #[command(flatten)]
    pub history: HistoryMaxArgs,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// Release name
    pub name: String,
    /// Keep the release's records, marked uninstalled
    #[arg(long)]
    pub keep_history: bool,
    /// Description recorded with --keep-history
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Release name
    pub name: String,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Release name
    pub name: String,
    /// Show this revision instead of the latest
    #[arg(long, value_name = "N")]
    pub revision: Option<u64>,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// List releases in every namespace
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Include uninstalled releases whose history was kept
    #[arg(short = 'a', long)]
    pub all: bool,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum GetCommand {
    /// The values of a revision (user-supplied, or all with --all)
    Values(GetValuesArgs),
    /// The rendered manifests of a revision
    Manifest(GetArgs),
    /// The notes of a revision
    Notes(GetArgs),
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Release name
    pub name: String,
    /// Revision to show (default: the latest)
    #[arg(long, value_name = "N")]
    pub revision: Option<u64>,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct GetValuesArgs {
    #[command(flatten)]
    pub get: GetArgs,
    /// Show the merged values templates saw, not only the user-supplied ones
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum DiffCommand {
    /// Compare the live objects with what `rchart upgrade` would apply
    Upgrade(DiffUpgradeArgs),
    /// Compare the live objects with what `rchart rollback` would apply
    Rollback(DiffRollbackArgs),
}

#[derive(Debug, Args)]
pub struct DiffUpgradeArgs {
    /// Release name
    pub name: String,
    /// Chart directory or .tgz
    pub chart: PathBuf,
    /// Start from the previous revision's values, then apply the ones given now
    #[arg(long, conflicts_with = "reset_values")]
    pub reuse_values: bool,
    /// Use only the chart's defaults and the values given now (the default)
    #[arg(long)]
    pub reset_values: bool,
    /// Compare as `rchart upgrade --take-ownership` would apply
    #[arg(long)]
    pub take_ownership: bool,
    #[command(flatten)]
    pub values: ValuesArgs,
    #[command(flatten)]
    pub output: DiffOutputArgs,
}

#[derive(Debug, Args)]
pub struct DiffRollbackArgs {
    /// Release name
    pub name: String,
    /// Revision to restore (default: the one before the latest)
    pub revision: Option<u64>,
    #[command(flatten)]
    pub output: DiffOutputArgs,
}

/// How the diff commands show their result.
#[derive(Debug, Args)]
pub struct DiffOutputArgs {
    /// Show Secret values, decoded, instead of masking them
    #[arg(long)]
    pub show_secrets: bool,
    /// Colour the diff: auto (on a terminal, unless NO_COLOR is set), always or never
    #[arg(long, value_enum, value_name = "WHEN", default_value_t)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// How to reach an OCI registry.
#[derive(Debug, Args, Default)]
pub struct RegistryArgs {
    /// Speak HTTP instead of HTTPS (asked for first unless the registry is a loopback address)
    #[arg(long)]
    pub plain_http: bool,
    /// Trust the CA certificates in this PEM file too
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate the registry presents
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The chart package (.tgz), e.g. from `rchart package`
    pub chart: PathBuf,
    /// Where to push: oci://HOST[:PORT]/PATH; the chart goes to PATH/NAME:VERSION
    pub destination: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// oci://HOST[:PORT]/PATH/NAME, optionally with :TAG or @sha256:DIGEST
    pub chart: String,
    /// An exact version (1.2.3) or a range (">=1.2 <2", "^1.2", "1.2.x"); default: the highest release
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,
    /// Directory to write NAME-VERSION.tgz to
    #[arg(short = 'd', long, value_name = "DIR", default_value = ".")]
    pub destination: PathBuf,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Check credentials with a registry and store them in Docker's config.json
    Login(RegistryLoginArgs),
    /// Remove a registry's credentials from Docker's config.json
    Logout(RegistryLogoutArgs),
}

#[derive(Debug, Args)]
pub struct RegistryLoginArgs {
    /// HOST[:PORT] of the registry
    pub registry: String,
    /// User name
    #[arg(short = 'u', long)]
    pub username: String,
    /// Read the password from stdin (the only way to give it)
    #[arg(long, required = true)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub connection: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct RegistryLogoutArgs {
    /// HOST[:PORT] of the registry
    pub registry: String,
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
    let matches = Cli::command()
        .try_get_matches()
        .unwrap_or_else(|error| exit_for(error));
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| exit_for(error));
    if let Some(values) = cli.command.values_args_mut() {
        values.sources = ordered_sources(&matches);
    }
    cli
}

/// Help and version exit 0; a bad command line exits 1 like every other error. (clap's
/// own code for usage errors is 2, which `rchart diff` reserves for "changes found".)
fn exit_for(error: clap::Error) -> ! {
    let code = if error.use_stderr() { 1 } else { 0 };
    let _ = error.print();
    std::process::exit(code)
}

impl Command {
    fn values_args_mut(&mut self) -> Option<&mut ValuesArgs> {
        match self {
            Command::Template(args) => Some(&mut args.values),
            Command::Lint(args) => Some(&mut args.values),
            Command::Install(args) => Some(&mut args.deploy.values),
            Command::Upgrade(args) => Some(&mut args.deploy.values),
            Command::Diff(DiffCommand::Upgrade(args)) => Some(&mut args.values),
            _ => None,
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
