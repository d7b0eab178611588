//! push, pull, registry login and registry logout: charts in OCI registries.

use std::io::{BufRead as _, IsTerminal as _, Read as _, Write as _};

use anyhow::{Context, bail};

use crate::cli::{ChartSourceArgs, PullArgs, PushArgs, RegistryArgs, RegistryCommand};
use crate::oci::reference::{host_only, is_loopback, parse_registry};
use crate::oci::{self, RegistryOptions};

use super::{Outcome, block_on};

pub fn push(args: PushArgs) -> anyhow::Result<Outcome> {
    let options = registry_options(&args.registry, &args.destination)?;
    let pushed = block_on(oci::push_chart(
        &args.chart,
        &args.destination,
        &options,
        &report,
    ))?;
    outln!("{}", pushed.reference);
    Ok(Outcome::Success)
}

pub fn pull(args: PullArgs) -> anyhow::Result<Outcome> {
    let options = registry_options(&args.registry, &args.chart)?;
    let pulled = block_on(oci::pull_chart(
        &args.chart,
        args.version.as_deref(),
        &args.destination,
        &options,
        &report,
    ))?;
    outln!("Pulled {}", pulled.path.display());
    outln!("from: {}", pulled.chart.reference);
    Ok(Outcome::Success)
}

/// The chart a command renders: a local path as given, or an `oci://` reference resolved
/// to its cached package (downloaded when not cached), with where it came from. Runs
/// before the command's own runtime, as resolving needs one.
pub(super) fn locate(
    chart: &std::path::Path,
    source: &ChartSourceArgs,
) -> anyhow::Result<oci::LocatedChart> {
    let text = chart.to_string_lossy();
    let options = registry_options(&source.registry, &text)?;
    Ok(block_on(oci::locate_chart(
        &text,
        source.version.as_deref(),
        &options,
        &report,
    ))?)
}

pub fn registry(command: RegistryCommand) -> anyhow::Result<Outcome> {
    match command {
        RegistryCommand::Login(args) => {
            let password = read_password()?;
            let options = registry_options(&args.connection, &args.registry)?;
            let outcome = block_on(oci::login(
                &args.registry,
                &args.username,
                &password,
                &options,
            ))?;
            if !outcome.verified {
                eprintln!(
                    "warning: {} answers without credentials, so they could not be checked",
                    outcome.registry
                );
            }
            outln!(
                "Login succeeded: credentials for {} stored in {}",
                outcome.registry,
                outcome.config_path.display()
            );
        }
        RegistryCommand::Logout(args) => {
            let path = oci::logout(&args.registry, &RegistryOptions::default())?;
            outln!(
                "Removed the credentials for {} from {}",
                parse_registry(&args.registry).unwrap_or(args.registry),
                path.display()
            );
        }
    }
    Ok(Outcome::Success)
}

fn report(line: &str) {
    eprintln!("{line}");
}

/// The password from stdin, without its line ending.
fn read_password() -> anyhow::Result<String> {
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_to_string(&mut password)
        .context("reading the password from stdin")?;
    let password = password
        .strip_suffix('\n')
        .map(|p| p.strip_suffix('\r').unwrap_or(p))
        .unwrap_or(&password);
    if password.is_empty() {
        bail!("--password-stdin: stdin held no password");
    }
    Ok(password.to_string())
}

/// Connection flags as options. Plain HTTP to a host that is not a loopback address is
/// asked for on the terminal; without one, the client refuses it. `target` is the
/// reference or host the command names.
pub(super) fn registry_options(
    args: &RegistryArgs,
    target: &str,
) -> anyhow::Result<RegistryOptions> {
    let mut options = RegistryOptions {
        plain_http: args.plain_http,
        ca_file: args.ca_file.clone(),
        insecure_skip_tls_verify: args.insecure_skip_tls_verify,
        ..RegistryOptions::default()
    };
    let Ok(registry) = parse_registry(target) else {
        // The reference is parsed again, with the full message, where it is used.
        return Ok(options);
    };
    if args.plain_http && !is_loopback(host_only(&registry)) {
        options.plain_http_confirmed = confirm_plain_http(&registry)?;
    }
    Ok(options)
}

fn confirm_plain_http(registry: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Ok(false);
    }
    eprint!(
        "{registry} is not a loopback address: plain HTTP sends charts and credentials \
         unencrypted across the network. Continue? [y/N] "
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
