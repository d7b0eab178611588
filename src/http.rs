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

/// How long one request may take, body included. The read timeout alone lets a server
/// that sends a byte now and then hold a command for ever; the size limits would take
/// months to reach at that pace. A chart archive at its 50 MiB limit still has five
/// minutes, over a link of 200 KB/s.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(300);

/// A client trusting the system's roots, plus the PEM certificates in `ca_file`, or any
/// certificate at all with `insecure_skip_tls_verify`.
pub fn client(
    ca_file: Option<&Path>,
    insecure_skip_tls_verify: bool,
) -> Result<reqwest::Client, SetupError> {
    client_within(ca_file, insecure_skip_tls_verify, REQUEST_DEADLINE)
}

fn client_within(
    ca_file: Option<&Path>,
    insecure_skip_tls_verify: bool,
    deadline: Duration,
) -> Result<reqwest::Client, SetupError> {
    crate::oci::install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("rchart/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(120))
        .timeout(deadline);
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

/// `url` as messages and listings show it: a password written in it is masked.
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn a_password_in_a_url_is_masked() {
        assert_eq!(
            redact("https://u:s3cret@charts.example.com/stable/index.yaml"),
            "https://u:***@charts.example.com/stable/index.yaml"
        );
        assert_eq!(
            redact("https://charts.example.com/x"),
            "https://charts.example.com/x"
        );
        assert_eq!(redact("not a url"), "not a url");
    }

    /// A server that answers at once and then sends a byte every 100 ms never trips the
    /// read timeout; the deadline still ends the request.
    #[tokio::test]
    async fn a_trickling_body_is_cut_off_at_the_deadline() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
            while stream.write_all(b"a").is_ok() {
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let client = client_within(None, false, Duration::from_millis(800)).unwrap();
        let read = async {
            let response = client
                .get(format!("http://127.0.0.1:{port}/index.yaml"))
                .send()
                .await?;
            response.bytes().await
        };
        // Without the deadline the body would take more than a day.
        let outcome = tokio::time::timeout(Duration::from_secs(60), read)
            .await
            .expect("the deadline ends the request");
        let error = outcome.expect_err("the body never ends");
        assert!(error.is_timeout(), "{error}");
    }
}
