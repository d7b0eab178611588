//! `rchart-apiserver`: run the test API server by hand and point `kubectl`
//! or `rchart` at it.

use std::time::Duration;

use clap::Parser;
use rchart_test_apiserver::{
    Builder, CrdEstablishment, DiscoveryMode, MODES_VARIABLE, Mode, Readiness, TestApiServer,
};

/// Serve the Kubernetes API on 127.0.0.1 until Ctrl-C, for trying rchart or
/// kubectl without a cluster. Test controls live under /__test/ (see README).
#[derive(Debug, Parser)]
#[command(name = "rchart-apiserver", version)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Bearer token to accept (random when not given).
    #[arg(long)]
    token: Option<String>,
    /// Namespace the printed kubeconfig selects.
    #[arg(long, default_value = "default")]
    namespace: String,
    /// When workloads become ready: a delay like `2s`, `never`, `fail` or `fail:<delay>`.
    #[arg(long, default_value = "0", value_parser = parse_readiness)]
    ready_after: Readiness,
    /// Shapes of cluster, a comma list of `legacy-discovery`,
    /// `lagging-controllers`, `slow-link` and `foreign-managers`; the flags
    /// below win over them.
    #[arg(long, env = MODES_VARIABLE, default_value = "", value_parser = parse_modes)]
    modes: Modes,
    /// How /api and /apis answer: `aggregated` (Kubernetes 1.27 and later) or
    /// `legacy` (older servers and proxies: never an aggregated document).
    #[arg(long)]
    discovery: Option<DiscoveryMode>,
    /// Answer every request this much later, as a distant cluster would (`25ms`).
    #[arg(long, value_parser = humantime::parse_duration)]
    latency: Option<Duration>,
    /// Write each controller status this long after the change it reacts to (`50ms`).
    #[arg(long, value_parser = humantime::parse_duration)]
    controller_lag: Option<Duration>,
    /// When new CRDs are established: `immediate`, a delay like `100ms`, `never`
    /// or `manual` (POST /__test/crds/establish).
    #[arg(long, value_parser = parse_crd_establishment)]
    crd_establishment: Option<CrdEstablishment>,
    /// Let kube-controller-manager write more than status on applied objects
    /// (a Deployment's revision annotation, a claim's volume).
    #[arg(long)]
    foreign_managers: bool,
}

/// The modes given, as one value (clap would read a `Vec` as repeated flags).
#[derive(Debug, Clone)]
struct Modes(Vec<Mode>);

fn parse_modes(text: &str) -> Result<Modes, String> {
    Mode::parse_list(text)
        .map(Modes)
        .map_err(|error| error.to_string())
}

fn parse_readiness(text: &str) -> Result<Readiness, String> {
    Readiness::parse(text).ok_or_else(|| {
        format!("expected a delay like `2s`, `never`, `fail` or `fail:<delay>`, got `{text}`")
    })
}

fn parse_crd_establishment(text: &str) -> Result<CrdEstablishment, String> {
    CrdEstablishment::parse(text).ok_or_else(|| {
        format!("expected `immediate`, a delay like `100ms`, `never` or `manual`, got `{text}`")
    })
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let server = match builder(&args).start() {
        Ok(server) => server,
        Err(error) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let kubeconfig = server.kubeconfig_path().display();
    println!("rchart test API server listening on {}", server.url());
    println!("kubeconfig: {kubeconfig}");
    println!("export KUBECONFIG={kubeconfig}");
    if !args.modes.0.is_empty() {
        let modes: Vec<&str> = args.modes.0.iter().map(|mode| mode.name()).collect();
        eprintln!("modes: {}", modes.join(", "));
    }
    eprintln!("press Ctrl-C to stop");
    wait_for_ctrl_c();
    drop(server);
    std::process::ExitCode::SUCCESS
}

/// The modes, then the flags given.
fn builder(args: &Args) -> Builder {
    let mut builder = TestApiServer::builder()
        .modes(&args.modes.0)
        .port(args.port)
        .namespace(&args.namespace)
        .default_readiness(args.ready_after);
    if let Some(token) = &args.token {
        builder = builder.token(token);
    }
    if let Some(discovery) = args.discovery {
        builder = builder.discovery(discovery);
    }
    if let Some(latency) = args.latency {
        builder = builder.latency(latency);
    }
    if let Some(lag) = args.controller_lag {
        builder = builder.controller_lag(lag);
    }
    if let Some(establishment) = args.crd_establishment {
        builder = builder.crd_establishment(establishment);
    }
    if args.foreign_managers {
        builder = builder.foreign_managers(true);
    }
    builder
}

fn wait_for_ctrl_c() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => {
            let _ = runtime.block_on(tokio::signal::ctrl_c());
        }
        // Without a runtime there is no signal handling; serve until killed.
        Err(_) => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
    }
}
