//! `rchart registry login` and `logout`.

use std::path::PathBuf;

use super::client::{Access, Client, Sent};
use super::credentials::{Credentials, DockerConfig, Secret};
use super::error::OciError;
use super::reference::parse_registry;
use super::{RegistryOptions, docker_config_path};

/// What a login did.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    /// `host[:port]`, as the credentials are keyed.
    pub registry: String,
    /// The `config.json` the credentials went to (or whose helper stored them).
    pub config_path: PathBuf,
    /// False when the registry let us in without credentials, so they were not checked.
    pub verified: bool,
}

/// Checks `username`/`password` against `registry` (`GET /v2/`, answering its Basic or
/// Bearer challenge), then stores them in Docker's `config.json`.
pub async fn login(
    registry: &str,
    username: &str,
    password: &str,
    options: &RegistryOptions,
) -> Result<LoginOutcome, OciError> {
    let registry = parse_registry(registry)
        .map_err(|problem| OciError::Usage(format!("registry {registry:?}: {problem}")))?;
    if username.is_empty() || password.is_empty() {
        return Err(OciError::Usage(
            "a login needs a user name (-u) and a password (on stdin)".into(),
        ));
    }
    let credentials = Credentials {
        username: username.to_string(),
        secret: Secret::Password(password.to_string()),
        source: "the command line".into(),
    };
    let client = Client::connect(&registry, Access::Pull, options, Some(credentials))?;
    let sent = client.check_login().await?;
    let config_path = docker_config_path(options)?;
    let mut config = DockerConfig::load(&config_path)?;
    config.store(&registry, username, password)?;
    Ok(LoginOutcome {
        registry,
        config_path,
        verified: sent != Sent::Nothing,
    })
}

/// Forgets the credentials stored for `registry`; returns the `config.json` they were
/// removed from. Having none is an error.
pub fn logout(registry: &str, options: &RegistryOptions) -> Result<PathBuf, OciError> {
    let registry = parse_registry(registry)
        .map_err(|problem| OciError::Usage(format!("registry {registry:?}: {problem}")))?;
    let config_path = docker_config_path(options)?;
    let mut config = DockerConfig::load(&config_path)?;
    if !config.erase(&registry)? {
        return Err(OciError::Credentials(format!(
            "not logged in to {registry}: {} holds no credentials for it",
            config_path.display()
        )));
    }
    Ok(config_path)
}
