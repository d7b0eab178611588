//! What can go wrong talking to a registry. Every message names the registry (and the
//! repository, tag or digest where there is one), and a refusal says whether
//! credentials were sent.

use std::path::PathBuf;

use super::reference::ReferenceError;

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error(transparent)]
    Reference(#[from] ReferenceError),

    #[error("{0}")]
    Usage(String),

    #[error(
        "refusing plain HTTP to {registry}: it is not a loopback address, so charts and \
         credentials would cross the network unencrypted; confirm it when asked (on a terminal)"
    )]
    PlainHttpRefused { registry: String },

    #[error("cannot reach registry {registry}{hint}")]
    Connect {
        registry: String,
        hint: &'static str,
        #[source]
        source: reqwest::Error,
    },

    #[error("registry {registry} refused the request (401 Unauthorized): {detail}")]
    Unauthorized { registry: String, detail: String },

    #[error("registry {registry}: the token service {realm} refused {who} (HTTP {status}){detail}")]
    TokenRefused {
        registry: String,
        realm: String,
        who: String,
        status: u16,
        detail: String,
    },

    #[error("registry {registry} denied access to {repository} (403 Forbidden){detail}")]
    Forbidden {
        registry: String,
        repository: String,
        detail: String,
    },

    #[error("registry {registry} has no repository {repository:?} (404)")]
    RepositoryNotFound {
        registry: String,
        repository: String,
    },

    #[error("registry {registry}: repository {repository:?} has no tag {tag:?} (404){known}")]
    TagNotFound {
        registry: String,
        repository: String,
        tag: String,
        known: String,
    },

    #[error("registry {registry}: repository {repository:?} has no manifest {digest} (404)")]
    ManifestNotFound {
        registry: String,
        repository: String,
        digest: String,
    },

    #[error("{reference}: no version matches {spec}{known}")]
    NoMatchingVersion {
        reference: String,
        spec: String,
        known: String,
    },

    #[error("{reference} is not an rchart chart: {found}; rchart reads only {expected}")]
    NotAChart {
        reference: String,
        found: String,
        expected: String,
    },

    #[error("{what} from {registry} does not match its digest: expected {expected}, got {actual}")]
    DigestMismatch {
        registry: String,
        what: String,
        expected: String,
        actual: String,
    },

    #[error("{what} is {size} bytes; the limit is {limit} bytes")]
    TooLarge { what: String, size: u64, limit: u64 },

    #[error("registry {registry}: {method} {url} answered HTTP {status}{message}")]
    Status {
        registry: String,
        method: String,
        url: String,
        status: u16,
        message: String,
    },

    #[error("registry {registry}: {problem}")]
    Protocol { registry: String, problem: String },

    #[error("reading the answer of registry {registry}")]
    Body {
        registry: String,
        #[source]
        source: reqwest::Error,
    },

    #[error(transparent)]
    Chart(#[from] crate::chart::ChartError),

    #[error("{what} {}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{0}")]
    Credentials(String),
}

impl OciError {
    pub(crate) fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| OciError::Io { what, path, source }
    }
}
