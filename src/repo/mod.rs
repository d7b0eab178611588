//! Chart repositories over HTTP: an `index.yaml` listing chart archives, as Helm serves
//! them. See `docs/repositories.md`.
//!
//! - [`config`]: the repositories the user added, and where their indexes are cached;
//! - [`index`]: `index.yaml`, read and written in Helm's format;
//! - [`http`]: the bounded HTTP client, with TLS options and credentials.
//!
//! [`fetch_index`] and [`download_chart`] are what the commands build on. A download is
//! read into memory, held to [`MAX_CHART_SIZE`], checked against the index's sha256 and
//! then read with the archive rules of local charts ([`crate::chart::archive`]); nothing
//! is written before all of that passed.

pub mod config;
pub mod http;
pub mod index;

use std::io;
use std::path::PathBuf;

use crate::chart::archive::{ArchiveError, ChartArchive, read_archive};
use crate::chart::escape::escape_name;
use crate::chart::files::{MAX_CHART_SIZE, format_size};
use crate::chart::package::sha256_hex;
use crate::chart::versions::VersionSpec;

pub use config::{RepoPaths, Repository, RepositoryFile};
pub use http::Http;
pub use index::{ChartVersion, IndexFile, MAX_INDEX_SIZE, resolve_url};

/// Everything that can go wrong with a repository; each message names the URL, file or
/// repository.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("cannot tell where the config and cache directories are: HOME is not set")]
    NoHome,
    #[error("{action} {}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: {problem}", .path.display())]
    Config { path: PathBuf, problem: String },
    #[error("no repository named \"{}\" (rchart repo list shows them; rchart repo add NAME URL adds one)", escape_name(.0))]
    NotAdded(String),
    #[error("cannot reach {}: {cause}", crate::http::redact(url))]
    Unreachable { url: String, cause: String },
    #[error("GET {}: {status}{hint}", crate::http::redact(url))]
    Status {
        url: String,
        status: String,
        hint: &'static str,
    },
    #[error("{} is larger than {}; stopped reading", crate::http::redact(url), format_size(*limit))]
    TooLarge { url: String, limit: u64 },
    #[error("{0}")]
    Index(String),
    #[error("repository {repo} has no chart \"{}\"", escape_name(chart))]
    NoChart { repo: String, chart: String },
    #[error(
        "repository {repo} has no version of \"{}\" matching {spec} (it has {available})",
        escape_name(chart)
    )]
    NoVersion {
        repo: String,
        chart: String,
        spec: String,
        available: String,
    },
    #[error("index of {repo} lists {} {version} without a URL", escape_name(chart))]
    NoUrl {
        repo: String,
        chart: String,
        version: String,
    },
    #[error(
        "index of {repo} gives no digest for {} {version}; every download is checked against the index's sha256",
        escape_name(chart)
    )]
    NoDigest {
        repo: String,
        chart: String,
        version: String,
    },
    #[error(
        "{}: the download's sha256 is {actual}, but the index says {expected}; nothing was written",
        crate::http::redact(url)
    )]
    DigestMismatch {
        url: String,
        expected: String,
        actual: String,
    },
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(
        "{} holds chart \"{}\" {found_version}, but the index lists \"{}\" {version}",
        crate::http::redact(url),
        escape_name(found),
        escape_name(chart)
    )]
    WrongChart {
        url: String,
        chart: String,
        version: String,
        found: String,
        found_version: String,
    },
    #[error("{0}")]
    Usage(String),
}

/// A repository's index, fetched.
pub struct FetchedIndex {
    pub index: IndexFile,
    /// The bytes as served, for the cache.
    pub bytes: Vec<u8>,
}

/// GETs `index.yaml` of the repository at `url` (relative to it, keeping its query).
pub async fn fetch_index(http: &Http, url: &str) -> Result<FetchedIndex, RepoError> {
    let index_url = resolve_url(url, "index.yaml").map_err(RepoError::Usage)?;
    let bytes = http.get(&index_url, MAX_INDEX_SIZE).await?;
    let text = String::from_utf8(bytes.clone())
        .map_err(|_| RepoError::Index(format!("{index_url} is not UTF-8 text")))?;
    let index = IndexFile::parse(&text, &index_url).map_err(RepoError::Index)?;
    Ok(FetchedIndex { index, bytes })
}

/// Reads a cached index.
pub fn read_cached_index(path: &std::path::Path) -> Result<Option<IndexFile>, RepoError> {
    match std::fs::read_to_string(path) {
        Ok(text) => IndexFile::parse(&text, &path.display().to_string())
            .map(Some)
            .map_err(RepoError::Index),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(RepoError::Io {
            action: "cannot read",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The version of `chart` that `spec` picks from `index`; `repo` names the repository.
pub fn pick<'i>(
    index: &'i IndexFile,
    repo: &str,
    chart: &str,
    spec: &VersionSpec,
) -> Result<&'i ChartVersion, RepoError> {
    let Some(versions) = index.entries.get(chart) else {
        return Err(RepoError::NoChart {
            repo: repo.to_string(),
            chart: chart.to_string(),
        });
    };
    index.find(chart, spec).ok_or_else(|| RepoError::NoVersion {
        repo: repo.to_string(),
        chart: chart.to_string(),
        spec: spec.to_string(),
        available: versions
            .iter()
            .take(10)
            .map(|v| v.version.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// A chart archive downloaded and checked.
pub struct Downloaded {
    pub url: String,
    pub bytes: Vec<u8>,
    pub archive: ChartArchive,
    pub sha256: String,
}

/// Downloads the archive of `entry` from the repository at `repo_url`, checks it against
/// the index's digest, then reads it as a chart archive and checks it is the chart and
/// version the index says.
pub async fn download_chart(
    http: &Http,
    repo_url: &str,
    entry: &ChartVersion,
) -> Result<Downloaded, RepoError> {
    let version = entry.version.to_string();
    let Some(first) = entry.urls.first() else {
        return Err(RepoError::NoUrl {
            repo: repo_url.to_string(),
            chart: entry.name.clone(),
            version,
        });
    };
    let Some(expected) = entry.digest.as_deref().filter(|d| !d.is_empty()) else {
        return Err(RepoError::NoDigest {
            repo: repo_url.to_string(),
            chart: entry.name.clone(),
            version,
        });
    };
    let url = resolve_url(repo_url, first).map_err(RepoError::Usage)?;
    let bytes = http.get(&url, MAX_CHART_SIZE).await?;
    let sha256 = sha256_hex(&bytes);
    if sha256 != expected {
        return Err(RepoError::DigestMismatch {
            url,
            expected: expected.to_string(),
            actual: sha256,
        });
    }
    let archive = read_archive(&url, io::Cursor::new(&bytes))?;
    let parsed = archive
        .files
        .get(crate::chart::CHART_FILE)
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .and_then(|text| crate::chart::Metadata::parse(text).ok());
    let (found, found_version) = parsed
        .map(|p| (p.metadata.name, p.metadata.version.to_string()))
        .unwrap_or_else(|| ("(no valid Chart.yaml)".to_string(), String::new()));
    if found != entry.name || found_version != version {
        return Err(RepoError::WrongChart {
            url,
            chart: entry.name.clone(),
            version,
            found,
            found_version,
        });
    }
    Ok(Downloaded {
        url,
        bytes,
        archive,
        sha256,
    })
}
