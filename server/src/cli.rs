//! Command-line arguments. Every option can also be set through a `MULTIROUTE_*` variable.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand};

use crate::logging::{LogFormat, LogLevel};

/// A routed HTTP server whose routes come from a YAML file that is reloaded when it changes.
#[derive(Debug, Parser)]
#[command(name = "multiroute", version, subcommand_negates_reqs = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// YAML file with the route table, e.g. a ConfigMap volume's `config.yml`
    #[arg(long, env = "MULTIROUTE_CONFIG", value_name = "FILE", required = true)]
    pub config: Option<PathBuf>,

    /// Address and port to listen on
    #[arg(
        long,
        env = "MULTIROUTE_LISTEN",
        value_name = "ADDR:PORT",
        default_value = "0.0.0.0:3000"
    )]
    pub listen: SocketAddr,

    /// How often to check the config file for changes; 0s turns polling off (SIGHUP still reloads)
    #[arg(
        long,
        env = "MULTIROUTE_RELOAD_INTERVAL",
        value_name = "DURATION",
        default_value = "2s",
        value_parser = humantime::parse_duration
    )]
    pub reload_interval: Duration,

    /// After SIGTERM, how long requests in flight may take to finish before the process exits
    #[arg(
        long,
        env = "MULTIROUTE_DRAIN_TIMEOUT",
        value_name = "DURATION",
        default_value = "10s",
        value_parser = humantime::parse_duration
    )]
    pub drain_timeout: Duration,

    /// After SIGTERM, how long to keep accepting connections while /readyz already fails
    #[arg(
        long,
        env = "MULTIROUTE_SHUTDOWN_DELAY",
        value_name = "DURATION",
        default_value = "0s",
        value_parser = humantime::parse_duration
    )]
    pub shutdown_delay: Duration,

    /// Log one line per request (the variable takes true/false, yes/no, on/off or 1/0)
    #[arg(
        long,
        env = "MULTIROUTE_ACCESS_LOG",
        action = ArgAction::SetTrue,
        value_parser = BoolishValueParser::new()
    )]
    pub access_log: bool,

    /// Log line format
    #[arg(long, env = "MULTIROUTE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,

    /// Least severe level to log
    #[arg(long, env = "MULTIROUTE_LOG_LEVEL", value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,

    /// Threads that answer requests [default: the CPUs available to the process]
    #[arg(long, env = "MULTIROUTE_WORKERS", value_name = "N")]
    pub workers: Option<NonZeroUsize>,
}

/// What else the binary does besides serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ask a running server for each URL, and check that it answers 200 with exactly the
    /// text expected (the chart's test hook): `check URL --expect TEXT [URL --expect TEXT]...`
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A URL to ask, http://HOST[:PORT]/PATH, each followed by its --expect
    #[arg(required = true, value_name = "URL")]
    pub urls: Vec<String>,

    /// The body the URL before it must answer with, exactly
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub expect: Vec<String>,

    /// How long to keep asking a URL that does not answer yet (no connection, or a 5xx)
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "10s",
        value_parser = humantime::parse_duration
    )]
    pub timeout: Duration,
}
