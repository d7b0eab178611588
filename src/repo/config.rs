//! Where repositories are kept: `repositories.yaml` in the user's config directory, and
//! their downloaded indexes in the cache directory.
//!
//! - config: `$RCHART_REPOSITORY_CONFIG`, else `$XDG_CONFIG_HOME/rchart/repositories.yaml`,
//!   else `~/.config/rchart/repositories.yaml`;
//! - cache: `$RCHART_REPOSITORY_CACHE`, else `$XDG_CACHE_HOME/rchart/repository`, else
//!   `~/.cache/rchart/repository`; `NAME-index.yaml` per repository, and downloaded
//!   charts under `charts/NAME/`.
//!
//! The file is Helm's `repositories.yaml` layout, so its fields read the same. It may hold
//! passwords, so it is written with mode 0600.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::RepoError;
use crate::chart::escape::escape_name;

/// One repository added with `rchart repo add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Repository {
    pub name: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    #[serde(rename = "caFile", default, skip_serializing_if = "String::is_empty")]
    pub ca_file: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub insecure_skip_tls_verify: bool,
    /// Send the credentials to chart URLs on other hosts too.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pass_credentials_all: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// `repositories.yaml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RepositoryFile {
    #[serde(rename = "apiVersion", default)]
    pub api_version: String,
    #[serde(default)]
    pub repositories: Vec<Repository>,
}

/// The files repositories live in.
#[derive(Debug, Clone)]
pub struct RepoPaths {
    pub config: PathBuf,
    pub cache: PathBuf,
}

impl RepoPaths {
    /// The paths from the environment (see the module documentation).
    pub fn from_env() -> Result<Self, RepoError> {
        let home = || std::env::var_os("HOME").map(PathBuf::from);
        let dir = |var: &str, fallback: &str| -> Option<PathBuf> {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| home().map(|h| h.join(fallback)))
        };
        let config = match std::env::var_os("RCHART_REPOSITORY_CONFIG").filter(|v| !v.is_empty()) {
            Some(path) => PathBuf::from(path),
            None => dir("XDG_CONFIG_HOME", ".config")
                .ok_or(RepoError::NoHome)?
                .join("rchart/repositories.yaml"),
        };
        let cache = match std::env::var_os("RCHART_REPOSITORY_CACHE").filter(|v| !v.is_empty()) {
            Some(path) => PathBuf::from(path),
            None => dir("XDG_CACHE_HOME", ".cache")
                .ok_or(RepoError::NoHome)?
                .join("rchart/repository"),
        };
        Ok(Self { config, cache })
    }

    /// Where the index of repository `name` is cached.
    pub fn index(&self, name: &str) -> PathBuf {
        self.cache.join(format!("{name}-index.yaml"))
    }

    /// Where charts downloaded from repository `name` are cached.
    pub fn charts(&self, name: &str) -> PathBuf {
        self.cache.join("charts").join(name)
    }
}

impl RepositoryFile {
    /// Reads the file; a missing file is an empty list.
    pub fn load(path: &Path) -> Result<Self, RepoError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(RepoError::Io {
                    action: "cannot read",
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let file: Self = crate::yaml::from_str(&text).map_err(|e| RepoError::Config {
            path: path.to_path_buf(),
            problem: crate::values::plain_yaml_message(&e),
        })?;
        for (index, repository) in file.repositories.iter().enumerate() {
            if let Err(problem) = check_name(&repository.name) {
                return Err(RepoError::Config {
                    path: path.to_path_buf(),
                    problem: format!("repositories[{index}].name: {problem}"),
                });
            }
        }
        Ok(file)
    }

    /// Writes the file with mode 0600, replacing it whole.
    pub fn save(&self, path: &Path) -> Result<(), RepoError> {
        let mut text = crate::yaml::to_yaml(self).map_err(|problem| RepoError::Config {
            path: path.to_path_buf(),
            problem,
        })?;
        text.push('\n');
        write_private(path, text.as_bytes())
    }

    pub fn get(&self, name: &str) -> Option<&Repository> {
        self.repositories.iter().find(|r| r.name == name)
    }
}

/// Repository names become file names in the cache and the first part of `NAME/CHART`.
pub fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "\"{}\" is not a repository name (letters, digits, '-', '_' and '.', not starting with '.')",
            escape_name(name)
        ))
    }
}

/// Writes `bytes` to `path` through a temporary file, readable by the owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), RepoError> {
    let error = |source| RepoError::Io {
        action: "cannot write",
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(error)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(error)?;
    io::Write::write_all(&mut temp, bytes).map_err(error)?;
    temp.persist(path).map_err(|e| error(e.error))?;
    Ok(())
}
