//! HTTP for chart repositories, on the client [`crate::http`] sets up for registries too.
//!
//! - Reads are bounded: a body over its limit stops being read at the limit, whatever
//!   `Content-Length` says.
//! - Credentials (HTTP Basic) go only to URLs with the repository's own scheme, host and
//!   port, unless the repository was added with `--pass-credentials`; reqwest drops them
//!   on a redirect to another host.
//! - Every error names the URL.

use std::path::Path;

use reqwest::StatusCode;

use super::RepoError;
use super::config::Repository;

/// How to reach one repository.
pub struct Http {
    client: reqwest::Client,
    credentials: Option<Credentials>,
}

struct Credentials {
    /// The repository URL: credentials go to its origin only.
    origin: reqwest::Url,
    username: String,
    password: String,
    everywhere: bool,
}

impl Http {
    /// A client with the TLS settings and credentials of `repository`.
    pub fn for_repository(repository: &Repository) -> Result<Self, RepoError> {
        let ca_file = (!repository.ca_file.is_empty()).then(|| Path::new(&repository.ca_file));
        let client = crate::http::client(ca_file, repository.insecure_skip_tls_verify)
            .map_err(|e| RepoError::Usage(e.to_string()))?;
        let credentials = if repository.username.is_empty() && repository.password.is_empty() {
            None
        } else {
            Some(Credentials {
                origin: reqwest::Url::parse(&repository.url).map_err(|e| {
                    RepoError::Usage(format!(
                        "{} is not a URL: {e}",
                        crate::http::redact(&repository.url)
                    ))
                })?,
                username: repository.username.clone(),
                password: repository.password.clone(),
                everywhere: repository.pass_credentials_all,
            })
        };
        Ok(Self {
            client,
            credentials,
        })
    }

    /// GETs `url`, reading at most `limit` bytes of body.
    pub async fn get(&self, url: &str, limit: u64) -> Result<Vec<u8>, RepoError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| RepoError::Unreachable {
            url: url.to_string(),
            cause: format!("not a URL: {e}"),
        })?;
        let mut request = self.client.get(parsed.clone());
        if let Some(credentials) = &self.credentials
            && (credentials.everywhere || same_origin(&credentials.origin, &parsed))
        {
            request = request.basic_auth(&credentials.username, Some(&credentials.password));
        }
        let mut response = request.send().await.map_err(|e| RepoError::Unreachable {
            url: url.to_string(),
            cause: causes(&e.without_url()),
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(RepoError::Status {
                url: url.to_string(),
                status: status.to_string(),
                hint: match status {
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                        if self.credentials.is_none() =>
                    {
                        "; the repository wants credentials: rchart repo add NAME URL --username USER --password-stdin"
                    }
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                        "; the credentials were refused"
                    }
                    _ => "",
                },
            });
        }
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return Err(RepoError::TooLarge {
                url: url.to_string(),
                limit,
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| RepoError::Unreachable {
            url: url.to_string(),
            cause: causes(&e.without_url()),
        })? {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(RepoError::TooLarge {
                    url: url.to_string(),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

fn same_origin(a: &reqwest::Url, b: &reqwest::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// An error and its causes on one line: reqwest's own message says little
/// ("error sending request"); the cause says why (connection refused, certificate).
fn causes(error: &dyn std::error::Error) -> String {
    // reqwest's own words repeat the URL the message already names
    let (mut text, mut source) = match error.source() {
        Some(cause) if error.to_string().starts_with("error sending request") => {
            (cause.to_string(), cause.source())
        }
        _ => (error.to_string(), error.source()),
    };
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
