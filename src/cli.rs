//! Command-line arguments: clap types and nothing else. `commands/` turns them into work.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgMatches, Args, Parser, Subcommand, ValueEnum};

use crate::values::{STDIN_ARG, ValueSource};

#[derive(Debug, Parser)]
#[command(
    name = "rchart",
    version,
    about = "Package Kubernetes charts and manage their releases",
    after_help = DEFAULTS_HELP
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
    /// Namespace of the release (default: the environment's, else the kube context's, else "default")
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use (default: the environment's, else the current context)
    #[arg(long, global = true, value_name = "NAME")]
    pub kube_context: Option<String>,
    /// Act in this environment of rchart.yaml: its namespace and context, and its values
    /// files before any -f
    #[arg(short = 'e', long = "env", global = true, value_name = "NAME")]
    pub environment: Option<String>,
    /// How long a release's lock outlives an operation that stopped renewing it
    #[arg(long, global = true, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub lock_timeout: Duration,
    /// Requests in flight at once when many objects are read, checked, applied or
    /// deleted (64 stays within what the API server's default fairness rules give one user)
    #[arg(long, global = true, value_name = "N", default_value_t = crate::cluster::DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
}

/// How commands fill in what is left out; shown by `--help`.
pub const DEFAULTS_HELP: &str = "\
Defaults for what is left out (rchart.yaml is looked up from the current directory to the
repository root; see docs/project.md):
  CHART      rchart.yaml's chart; else ./chart if ./chart/Chart.yaml exists; else . if
             ./Chart.yaml exists
  NAME       rchart.yaml's release (for its chart); else the chart's name
  namespace  -n; else the environment -e names, or the one every -f file belongs to (its
             values files apply first); else, for a command on an existing release, the
             environment whose namespace holds it; else the kube context's
  context    --kube-context; else the environment's kubeContext; else the current context
Inside a project, the namespace chosen and why is printed on stderr. A lone argument is the
CHART when it is a path (it has a / or a .) or a chart is there, else the NAME; for rollback,
a lone number is the REVISION.";

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
    /// Run the test hooks of a release's deployed revision
    ///
    /// Exit code 0: every test passed; 1: a test failed, or an error
    Test(TestArgs),
    /// Delete a release's objects and records
    Uninstall(UninstallArgs),
    /// Remove a release's lock left by an operation that is gone, instead of waiting
    /// for it to expire; refuses while its holder runs on this host
    Unlock(UnlockArgs),
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
    /// Show a chart's Chart.yaml, values.yaml or README
    #[command(subcommand)]
    Show(ShowCommand),
    /// Print a shell completion script: source it, or install it where your shell looks
    ///
    /// e.g. `rchart completion bash > /etc/bash_completion.d/rchart`, or
    /// `rchart completion zsh > "${fpath[1]}/_rchart"`
    Completion(CompletionArgs),
    /// Show the version, git commit, Rust version and supported Kubernetes versions
    Version(VersionArgs),
    /// Manage a chart's dependencies: fill charts/ from Chart.yaml and Chart.lock
    #[command(subcommand, visible_alias = "dep")]
    Dependency(DependencyCommand),
    /// Add, list, update and remove chart repositories, and index one
    #[command(subcommand)]
    Repo(RepoCommand),
    /// Search the added repositories for charts
    #[command(subcommand)]
    Search(SearchCommand),
    /// Push a chart package to an OCI registry, tagged with its version
    Push(PushArgs),
    /// Download a chart: oci://… from a registry, or REPO/CHART from an added repository
    Pull(PullArgs),
    /// Log in to or out of an OCI registry
    #[command(subcommand)]
    Registry(RegistryCommand),
}

/// Values flags. Files apply left to right, then the `--set*` flags in command-line order.
#[derive(Debug, Args, Default)]
pub struct ValuesArgs {
    /// A values file, or - for stdin (repeatable; later files win)
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
#[command(after_help = DEFAULTS_HELP)]
pub struct TemplateArgs {
    /// Release name
    pub name: Option<String>,
    /// Chart directory or .tgz, oci://…, or REPO/CHART from an added repository
    pub chart: Option<PathBuf>,
    #[command(flatten)]
    pub source: ChartSourceArgs,
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
    /// Leave the hooks out (they are printed after the other manifests)
    #[arg(long)]
    pub no_hooks: bool,
    /// Leave the test hooks out
    #[arg(long)]
    pub skip_tests: bool,
    #[command(flatten)]
    pub output_limit: OutputLimitArgs,
    #[command(flatten)]
    pub post_renderer: PostRendererArgs,
}

#[derive(Debug, Args)]
#[command(after_help = DEFAULTS_HELP)]
pub struct PackageArgs {
    /// The chart directory
    pub chart: Option<PathBuf>,
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
    /// Run `rchart dependency update` on the chart directory first
    #[arg(long)]
    pub dependency_update: bool,
}

#[derive(Debug, Subcommand)]
pub enum DependencyCommand {
    /// Resolve the version ranges of Chart.yaml, download into charts/ and write Chart.lock
    Update(DependencyArgs),
    /// Restore charts/ exactly as Chart.lock says (as update when there is no lock)
    Build(DependencyArgs),
    /// Show each dependency and what charts/ holds for it
    List(DependencyListArgs),
}

#[derive(Debug, Args)]
#[command(after_help = DEFAULTS_HELP)]
pub struct DependencyArgs {
    /// The chart directory
    pub chart: Option<PathBuf>,
    /// How to reach the registries of oci:// dependencies
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
#[command(after_help = DEFAULTS_HELP)]
pub struct DependencyListArgs {
    /// The chart directory
    pub chart: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum RepoCommand {
    /// Add a chart repository (its index.yaml is fetched to check it)
    Add(RepoAddArgs),
    /// List the added repositories
    List,
    /// Fetch the latest index of every added repository, or of those named
    Update(RepoUpdateArgs),
    /// Remove repositories
    Remove(RepoRemoveArgs),
    /// Write index.yaml for the chart archives in a directory
    Index(RepoIndexArgs),
}

#[derive(Debug, Args)]
pub struct RepoAddArgs {
    /// The name charts are found under (NAME/CHART)
    pub name: String,
    /// The repository URL: where its index.yaml is served
    pub url: String,
    /// User name for HTTP Basic authentication
    #[arg(long)]
    pub username: Option<String>,
    /// Read the password from stdin
    #[arg(long)]
    pub password_stdin: bool,
    /// PEM certificates to trust for this repository, besides the system's
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate (never for production)
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
    /// Send the credentials to chart URLs on other hosts too
    #[arg(long)]
    pub pass_credentials: bool,
    /// Replace a repository of the same name
    #[arg(long)]
    pub force_update: bool,
}

#[derive(Debug, Args)]
pub struct RepoUpdateArgs {
    /// Repositories to update (default: all)
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RepoRemoveArgs {
    /// Repositories to remove
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RepoIndexArgs {
    /// The directory holding the chart archives (and its subdirectories, one level down)
    pub dir: PathBuf,
    /// The URL the directory is served at; archives are listed relative to the index otherwise
    #[arg(long)]
    pub url: Option<String>,
    /// An index whose entries are kept (an archive listed there unchanged keeps its created time)
    #[arg(long, value_name = "INDEX")]
    pub merge: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SearchCommand {
    /// Search the indexes of the added repositories (as of the last add or update)
    Repo(SearchRepoArgs),
}

#[derive(Debug, Args)]
pub struct SearchRepoArgs {
    /// Text to find in chart names, descriptions and keywords (empty: every chart)
    #[arg(default_value = "")]
    pub keyword: String,
    /// Show every version, not just the newest
    #[arg(long)]
    pub versions: bool,
    /// Only versions in this range, e.g. ">=1.2 <2"
    #[arg(long, value_name = "RANGE")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PackageOutput {
    Json,
}

#[derive(Debug, Args)]
#[command(after_help = DEFAULTS_HELP)]
pub struct LintArgs {
    /// The chart directory or .tgz
    pub chart: Option<PathBuf>,
    #[command(flatten)]
    pub values: ValuesArgs,
    /// Fail on warnings too
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub output_limit: OutputLimitArgs,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Directory to create; its last part is the chart's name (`path/to/shop`: chart "shop")
    pub path: PathBuf,
    /// Also write a project file (rchart.yaml) next to the chart, with dev and prod
    /// environments and their values files
    #[arg(long)]
    pub project: bool,
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
    /// Fail, instead of warning, when a workload refers to a Secret or ConfigMap that
    /// neither the chart renders nor the namespace holds
    #[arg(long)]
    pub strict_refs: bool,
    /// Do not run the chart's hooks (they are still recorded, and tests still run with
    /// `rchart test`)
    #[arg(long)]
    pub no_hooks: bool,
    #[command(flatten)]
    pub output_limit: OutputLimitArgs,
    #[command(flatten)]
    pub post_renderer: PostRendererArgs,
}

/// An executable that rewrites the rendered manifests, for every command that renders
/// for a release.
#[derive(Debug, Args)]
pub struct PostRendererArgs {
    /// An executable that reads the rendered manifests (hooks included) on stdin and
    /// prints the manifests to use on stdout, e.g. a script running kustomize
    #[arg(long, value_name = "PATH")]
    pub post_renderer: Option<PathBuf>,
    /// An argument for --post-renderer (repeatable, in order)
    #[arg(
        long = "post-renderer-args",
        value_name = "ARG",
        requires = "post_renderer",
        allow_hyphen_values = true
    )]
    pub post_renderer_args: Vec<String>,
}

/// Where rendering stops, for every command that renders.
#[derive(Debug, Args)]
pub struct OutputLimitArgs {
    /// Stop rendering once the chart's output passes SIZE, e.g. 64MiB, 1GiB
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = crate::render::parse_size)]
    pub max_output: u64,
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
    /// How long --wait waits, how long the hooks of each event may take, and how long the
    /// chart's CRDs may take to be established, before the operation fails
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
#[command(after_help = DEFAULTS_HELP)]
pub struct InstallArgs {
    /// Release name
    pub name: Option<String>,
    /// Chart directory or .tgz, oci://…, or REPO/CHART from an added repository
    pub chart: Option<PathBuf>,
    #[command(flatten)]
    pub source: ChartSourceArgs,
    #[command(flatten)]
    pub deploy: DeployArgs,
}

#[derive(Debug, Args)]
#[command(after_help = DEFAULTS_HELP)]
pub struct UpgradeArgs {
    /// Release name
    pub name: Option<String>,
    /// Chart directory or .tgz, oci://…, or REPO/CHART from an added repository
    pub chart: Option<PathBuf>,
    #[command(flatten)]
    pub source: ChartSourceArgs,
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
#[command(after_help = DEFAULTS_HELP)]
pub struct RollbackArgs {
    /// Release name
    pub name: Option<String>,
    /// Revision to restore (default: the newest earlier one that was deployed)
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
    /// How long --wait waits, how long the hooks of each event may take, and how long the
    /// CRDs may take to be established, before the rollback fails
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = crate::cluster::wait::parse_timeout)]
    pub timeout: Duration,
    /// Do not run the pre-rollback and post-rollback hooks
    #[arg(long)]
    pub no_hooks: bool,
    #[command(flatten)]
    pub history: HistoryMaxArgs,
}

#[derive(Debug, Args)]
#[command(after_help = DEFAULTS_HELP)]
pub struct UninstallArgs {
    /// Release name
    pub name: Option<String>,
    /// Keep the release's records, marked uninstalled
    #[arg(long)]
    pub keep_history: bool,
    /// Description recorded with --keep-history
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Do not run the pre-delete and post-delete hooks (the objects earlier hooks left
    /// are still deleted)
    #[arg(long)]
    pub no_hooks: bool,
    /// How long the hooks of each event may take before the uninstall fails
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = crate::cluster::wait::parse_timeout)]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
#[command(after_help = DEFAULTS_HELP)]
pub struct TestArgs {
    /// Release name
    pub name: Option<String>,
    /// Print the log of each test's Pods (a Job's Pods too)
    #[arg(long)]
    pub logs: bool,
    /// Run only the tests named so (name=NAME), or all but them (!name=NAME); repeatable,
    /// or comma-separated
    #[arg(long, value_name = "name=NAME", value_delimiter = ',')]
    pub filter: Vec<String>,
    /// How long the tests may take together
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = crate::cluster::wait::parse_timeout)]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
#[command(after_help = DEFAULTS_HELP)]
pub struct UnlockArgs {
    /// Release name
    pub name: Option<String>,
}

#[derive(Debug, Args)]
#[command(after_help = DEFAULTS_HELP)]
pub struct HistoryArgs {
    /// Release name
    pub name: Option<String>,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
#[command(after_help = DEFAULTS_HELP)]
pub struct StatusArgs {
    /// Release name
    pub name: Option<String>,
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
    /// The hooks of a revision and how each last ran; -o yaml prints their manifests
    Hooks(GetArgs),
}

#[derive(Debug, Args)]
#[command(after_help = DEFAULTS_HELP)]
pub struct GetArgs {
    /// Release name
    pub name: Option<String>,
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
    Upgrade(Box<DiffUpgradeArgs>),
    /// Compare the live objects with what `rchart rollback` would apply
    Rollback(DiffRollbackArgs),
}

#[derive(Debug, Args)]
#[command(after_help = DEFAULTS_HELP)]
pub struct DiffUpgradeArgs {
    /// Release name
    pub name: Option<String>,
    /// Chart directory or .tgz, oci://…, or REPO/CHART from an added repository
    pub chart: Option<PathBuf>,
    #[command(flatten)]
    pub source: ChartSourceArgs,
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
    #[command(flatten)]
    pub output_limit: OutputLimitArgs,
    #[command(flatten)]
    pub post_renderer: PostRendererArgs,
}

#[derive(Debug, Args)]
#[command(after_help = DEFAULTS_HELP)]
pub struct DiffRollbackArgs {
    /// Release name
    pub name: Option<String>,
    /// Revision to restore (default: the newest earlier one that was deployed)
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

#[derive(Debug, Subcommand)]
pub enum ShowCommand {
    /// Chart.yaml, as written
    Chart(ShowArgs),
    /// values.yaml, byte for byte
    Values(ShowArgs),
    /// The README (README.md, README.txt or README, in any case)
    Readme(ShowArgs),
    /// Chart.yaml, values.yaml and the README, separated by `---`
    All(ShowArgs),
}

#[derive(Debug, Args)]
#[command(after_help = DEFAULTS_HELP)]
pub struct ShowArgs {
    /// Chart directory or .tgz, oci://…, or REPO/CHART from an added repository
    pub chart: Option<PathBuf>,
    #[command(flatten)]
    pub source: ChartSourceArgs,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Print the same as JSON
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<VersionOutput>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VersionOutput {
    Json,
}

/// Which version of an `oci://` or `REPO/CHART` chart, how to reach its registry, and
/// `--dependency-update` for a chart directory.
#[derive(Debug, Args, Default)]
pub struct ChartSourceArgs {
    /// For an oci:// or REPO/CHART chart: an exact version (1.2.3) or a range (">=1.2 <2",
    /// "^1.2"); default: the highest release
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,
    /// For a chart directory: run `rchart dependency update` on it first
    #[arg(long)]
    pub dependency_update: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
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
    /// oci://HOST[:PORT]/PATH/NAME, optionally with :TAG or @sha256:DIGEST; or
    /// REPO/CHART, with REPO added by `rchart repo add`
    pub chart: String,
    /// An exact version (1.2.3) or a range (">=1.2 <2", "^1.2", "1.2.x"); default: the highest release
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,
    /// Directory to write NAME-VERSION.tgz to
    #[arg(short = 'd', long, value_name = "DIR", default_value = ".")]
    pub destination: PathBuf,
    /// For REPO/CHART: unpack the chart into DIR/NAME instead
    #[arg(long)]
    pub untar: bool,
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
        let from_stdin = values.files.iter().filter(|f| f.as_os_str() == STDIN_ARG);
        if from_stdin.count() > 1 {
            exit_for(Cli::command().error(
                clap::error::ErrorKind::ArgumentConflict,
                "-f - (values from stdin) may be given only once",
            ));
        }
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
