//! Charts in OCI registries: push, pull, resolve references for install and upgrade,
//! and registry logins. See `docs/oci.md` for the format and the commands.
//!
//! - [`reference`]: `oci://HOST[:PORT]/PATH[:TAG][@sha256:…]`, tags and digests;
//! - [`versions`]: Helm-style version constraints (`1.2.3` is exact);
//! - [`manifest`]: rchart's media types, the reproducible manifest, and what is refused;
//! - [`client`]: the registry HTTP API with anonymous, Basic and Bearer authentication;
//! - [`credentials`]: Docker's `config.json` and `docker-credential-*` helpers;
//! - [`cache`]: pulled charts by manifest digest.
//!
//! The entry points are [`push_chart`], [`resolve_chart`], [`pull_chart`], [`login`] and
//! [`logout`]. Nothing here prints: progress goes to the [`Reporter`] the caller passes.

pub mod cache;
pub mod client;
pub mod credentials;
pub mod error;
mod login;
pub mod manifest;
mod pull;
mod push;
pub mod reference;
/// Helm-style version constraints, shared with chart dependencies and repositories.
pub use crate::chart::versions;

use std::path::PathBuf;

pub use error::OciError;
pub use login::{LoginOutcome, login, logout};
pub use pull::{ChartOrigin, Pulled, ResolvedChart, pull_chart, resolve_chart};
pub use push::{Pushed, push_chart};
pub use reference::{Digest, Reference};

/// Receives one line per step ("Pulling …", "… from the cache"), for stderr.
pub type Reporter<'a> = &'a (dyn Fn(&str) + Sync);

/// How to reach registries, and where credentials and the cache live.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Speak HTTP instead of HTTPS.
    pub plain_http: bool,
    /// The user agreed to plain HTTP to a host that is not a loopback address.
    pub plain_http_confirmed: bool,
    /// PEM certificates to trust besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate.
    pub insecure_skip_tls_verify: bool,
    /// Docker's `config.json`; `None`: `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
    /// `None`: `$XDG_CACHE_HOME/rchart` or `~/.cache/rchart`.
    pub cache_dir: Option<PathBuf>,
}

/// The chart a command names: a local directory or `.tgz`, or an `oci://` reference.
pub struct LocatedChart {
    /// What `Chart::load` reads: the local path as given, or the cached package.
    pub path: PathBuf,
    /// For an `oci://` chart, what the release record keeps.
    pub origin: Option<ChartOrigin>,
}

/// Finds the chart `chart` names for install, upgrade, template, diff upgrade and show:
/// a local path is returned as it is (and `version` must be `None`); an `oci://`
/// reference is resolved with [`resolve_chart`].
pub async fn locate_chart(
    chart: &str,
    version: Option<&str>,
    options: &RegistryOptions,
    report: Reporter<'_>,
) -> Result<LocatedChart, OciError> {
    if !Reference::is_oci(chart) {
        if let Some(version) = version {
            return Err(OciError::Usage(format!(
                "--version {version}: {chart} is a local chart; --version picks among the \
                 versions of an oci:// chart"
            )));
        }
        return Ok(LocatedChart {
            path: PathBuf::from(chart),
            origin: None,
        });
    }
    let resolved = resolve_chart(chart, version, options, report).await?;
    Ok(LocatedChart {
        origin: Some(resolved.origin()),
        path: resolved.archive_path,
    })
}

fn docker_config_path(options: &RegistryOptions) -> Result<PathBuf, OciError> {
    match &options.docker_config {
        Some(path) => Ok(path.clone()),
        None => credentials::default_config_path(),
    }
}

fn credentials_for(
    registry: &str,
    options: &RegistryOptions,
) -> Result<Option<credentials::Credentials>, OciError> {
    credentials::DockerConfig::load(&docker_config_path(options)?)?.lookup(registry)
}

/// rustls needs one process-wide crypto provider; rchart uses `ring`, as kube does.
/// Installing it twice is harmless, so library users need not think of it.
#[allow(deprecated)]
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
