//! `multiroute`: a routed HTTP server whose routes come from a hot-reloaded YAML config.
//! `multiroute check` asks a running one for URLs and checks the answers ([`check`]).
//!
//! Exit codes: 0 after a clean shutdown, 1 when the server cannot start (bad config, port in
//! use), 2 for invalid arguments.

mod app;
mod check;
mod cli;
mod config;
mod listener;
mod logging;
mod metrics;
mod reload;
mod routes;
mod serve;

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use crate::app::App;
use crate::cli::{Cli, Command};
use crate::config::ConfigError;
use crate::metrics::Metrics;
use crate::reload::Reloader;
use crate::routes::RouteTable;
use crate::serve::{ShutdownTiming, StopSignals};

/// Environment variable holding the database password, mounted from a Secret.
const DB_PASS_VAR: &str = "DB_PASS";

/// Why the server could not start or keep serving.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot build the async runtime: {0}")]
    Runtime(io::Error),
    #[error("cannot install signal handlers: {0}")]
    Signals(io::Error),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: io::Error },
    #[error("server stopped unexpectedly: {0}")]
    Serve(io::Error),
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    if let Some(Command::Check(args)) = &cli.command {
        let check = matches
            .subcommand_matches("check")
            .expect("the check subcommand was given");
        let at = |id: &str, values: &[String]| -> Vec<(usize, String)> {
            let indices = check.indices_of(id).into_iter().flatten();
            indices.zip(values.iter().cloned()).collect()
        };
        let expectations = check::pair(&at("urls", &args.urls), &at("expect", &args.expect))
            .unwrap_or_else(|message| {
                Cli::command()
                    .error(clap::error::ErrorKind::ArgumentConflict, message)
                    .exit()
            });
        return check::run(&expectations, args.timeout);
    }
    logging::init(cli.log_format, cli.log_level);
    match start(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(err)) => {
            reload::log_config_error(&err, None, "invalid config");
            ExitCode::FAILURE
        }
        Err(err) => {
            tracing::error!(error = %err, "server failed");
            ExitCode::FAILURE
        }
    }
}

fn start(cli: Cli) -> Result<(), Failure> {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(workers) = cli.workers {
        runtime.worker_threads(workers.get());
    }
    let runtime = runtime.build().map_err(Failure::Runtime)?;
    let result = runtime.block_on(run(cli));
    // Connections still open after the drain are dropped here, without waiting for them.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let config_path = cli.config.clone().expect("--config is required to serve");
    let (config, content) = config::load(&config_path)?;

    let metrics = Metrics::default();
    let routes = RouteTable::build(&config, &metrics);
    let db_pass_set = std::env::var_os(DB_PASS_VAR).is_some_and(|value| !value.is_empty());
    let app = Arc::new(App::new(routes, metrics, db_pass_set, cli.access_log));

    let stop_signals = StopSignals::install().map_err(Failure::Signals)?;
    let hangups = signal(SignalKind::hangup()).map_err(Failure::Signals)?;
    let reloader = Arc::new(Reloader::new(
        config_path.clone(),
        Arc::clone(&app),
        content,
    ));
    reload::spawn_on_sighup(Arc::clone(&reloader), hangups);
    if !cli.reload_interval.is_zero() {
        reload::spawn_polling(reloader, cli.reload_interval);
    }

    let listener = TcpListener::bind(cli.listen)
        .await
        .map_err(|source| Failure::Listen {
            addr: cli.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Failure::Listen {
        addr: cli.listen,
        source,
    })?;
    tracing::info!(
        addr = %addr,
        config = %config_path.display(),
        routes = config.routes.len(),
        db_pass_set,
        access_log = cli.access_log,
        reload_interval_ms = u64::try_from(cli.reload_interval.as_millis()).unwrap_or(u64::MAX),
        "listening"
    );

    let timing = ShutdownTiming {
        delay: cli.shutdown_delay,
        drain_timeout: cli.drain_timeout,
    };
    serve::serve(listener, app, stop_signals, timing)
        .await
        .map_err(Failure::Serve)
}
