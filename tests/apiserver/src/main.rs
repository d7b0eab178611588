//! `rchart-apiserver`: run the test API server by hand and point `kubectl`
//! or `rchart` at it.

use std::time::Duration;

use clap::Parser;
use rchart_test_apiserver::{CrdEstablishment, DiscoveryMode, Readiness, TestApiServer};

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
    /// How /api and /apis answer: `aggregated` (Kubernetes 1.27 and later) or
    /// `legacy` (older servers and proxies: never an aggregated document).
    #[arg(long, default_value = "aggregated")]
    discovery: DiscoveryMode,
    /// Answer every request this much later, as a distant cluster would (`25ms`).
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    latency: Duration,
    /// When new CRDs are established: `immediate`, a delay like `100ms`, `never`
    /// or `manual` (POST /__test/crds/establish).
    #[arg(long, default_value = "immediate", value_parser = parse_crd_establishment)]
    crd_establishment: CrdEstablishment,
    /// Let kube-controller-manager write more than status on applied objects
    /// (a Deployment's revision annotation, a claim's volume).
    #[arg(long)]
    foreign_managers: bool,
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
    let mut builder = TestApiServer::builder()
        .port(args.port)
        .namespace(&args.namespace)
        .default_readiness(args.ready_after)
        .discovery(args.discovery)
        .latency(args.latency)
        .crd_establishment(args.crd_establishment)
        .foreign_managers(args.foreign_managers);
    if let Some(token) = &args.token {
        builder = builder.token(token);
    }
    let server = match builder.start() {
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
    eprintln!("press Ctrl-C to stop");
    wait_for_ctrl_c();
    drop(server);
    std::process::ExitCode::SUCCESS
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
