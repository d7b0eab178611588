//! The HTTP client every remote read uses: chart repositories and OCI registries alike.
//!
//! reqwest on rustls with the `ring` provider, the TLS stack kube already brings, so the
//! binary carries one TLS implementation and one set of roots for the cluster,
//! repositories and registries, and no OpenSSL or aws-lc.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot read the CA file {}", .path.display())]
    ReadCa {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("CA file {}: not PEM certificates: {message}", .path.display())]
    NotPem { path: PathBuf, message: String },
    #[error("cannot set up HTTPS: {0}")]
    Build(String),
}

/// A client trusting the system's roots, plus the PEM certificates in `ca_file`, or any
/// certificate at all with `insecure_skip_tls_verify`.
pub fn client(
    ca_file: Option<&Path>,
    insecure_skip_tls_verify: bool,
) -> Result<reqwest::Client, SetupError> {
    crate::oci::install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("rchart/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(120));
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|source| SetupError::ReadCa {
            path: path.to_path_buf(),
            source,
        })?;
        let certificates =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| SetupError::NotPem {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        builder = builder.tls_certs_merge(certificates);
    }
    if insecure_skip_tls_verify {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    builder
        .build()
        .map_err(|e| SetupError::Build(e.to_string()))
}
