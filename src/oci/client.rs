//! The registry HTTP API (OCI distribution spec), with authentication.
//!
//! Every request is first sent with what this client already holds: nothing, HTTP Basic
//! credentials the registry asked for before, or a bearer token for the repository. A
//! `401` with a `WWW-Authenticate` challenge is answered once:
//! - `Basic`: the request is sent again with the credentials, if there are any;
//! - `Bearer realm=…,service=…`: a token is fetched from the realm for the repository
//!   (`pull`, or `pull,push` when pushing), with the credentials or anonymously, and the
//!   request is sent again with it.
//!
//! So an anonymous registry costs no extra request at all, and a registry that wants a
//! login costs one extra request (Basic) or two (Bearer: the refused request and the
//! token) per command. A second `401` is an error that names the registry and says what
//! was sent. Credentials and tokens are only ever sent to the registry's own origin (and
//! to the token realm it names); redirects elsewhere, for blob downloads, drop them.
//!
//! Reads are bounded: a manifest may be at most [`MAX_MANIFEST_SIZE`], a blob at most the
//! size its manifest declares, checked before anything is read; error bodies are read up
//! to 16 KiB.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{
    ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, LOCATION, WWW_AUTHENTICATE,
};
use reqwest::{Method, Response, StatusCode};
use sha2::{Digest as _, Sha256};

use super::RegistryOptions;
use super::credentials::{Credentials, Secret};
use super::error::OciError;
use super::reference::{Digest, host_only, is_loopback, version_of_tag};

/// Largest manifest read, in bytes: distribution's own limit.
pub const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;

const MAX_ERROR_BODY: u64 = 16 * 1024;

/// Every manifest type a registry may hold, so that it answers with what it has (the
/// distribution registry answers 404 for an OCI manifest without an OCI `Accept`) and
/// rchart can say what it found.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
     application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.docker.distribution.manifest.list.v2+json";

/// What a command does with a repository; bearer tokens are asked for this scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Pull,
    Push,
}

impl Access {
    fn actions(self) -> &'static str {
        match self {
            Access::Pull => "pull",
            Access::Push => "pull,push",
        }
    }
}

/// A connection to one registry.
pub struct Client {
    http: reqwest::Client,
    /// `https://host:port` or `http://host:port`.
    base: String,
    registry: String,
    plain_http: bool,
    access: Access,
    credentials: Option<Credentials>,
    auth: Mutex<Auth>,
}

#[derive(Default)]
struct Auth {
    /// The registry asked for HTTP Basic authentication.
    basic: bool,
    /// Bearer tokens by scope (`""` when no repository was involved).
    tokens: HashMap<String, String>,
}

/// What a request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Nothing,
    Basic,
    Bearer,
}

/// A manifest as the registry sent it, with its digest checked.
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub digest: Digest,
    pub content_type: Option<String>,
}

struct Call<'a> {
    method: Method,
    url: String,
    repository: Option<&'a str>,
    headers: Vec<(&'static str, String)>,
    body: Option<Bytes>,
}

impl<'a> Call<'a> {
    fn new(method: Method, url: String, repository: Option<&'a str>) -> Self {
        Call {
            method,
            url,
            repository,
            headers: Vec::new(),
            body: None,
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn body(mut self, body: Bytes) -> Self {
        self.body = Some(body);
        self
    }

    fn describe(&self) -> String {
        format!("{} {}", self.method, self.url)
    }
}

impl Client {
    /// A client for `registry` (`host[:port]`). Plain HTTP is refused for a host that is
    /// not a loopback address unless the user confirmed it.
    pub fn connect(
        registry: &str,
        access: Access,
        options: &RegistryOptions,
        credentials: Option<Credentials>,
    ) -> Result<Self, OciError> {
        if options.plain_http && !is_loopback(host_only(registry)) && !options.plain_http_confirmed
        {
            return Err(OciError::PlainHttpRefused {
                registry: registry.to_string(),
            });
        }
        let http =
            crate::http::client(options.ca_file.as_deref(), options.insecure_skip_tls_verify)
                .map_err(|error| match error {
                    crate::http::SetupError::ReadCa { path, source } => {
                        OciError::io("cannot read --ca-file", path)(source)
                    }
                    crate::http::SetupError::NotPem { path, message } => OciError::Usage(format!(
                        "--ca-file {}: not PEM certificates: {message}",
                        path.display()
                    )),
                    other => OciError::Usage(other.to_string()),
                })?;
        let scheme = if options.plain_http { "http" } else { "https" };
        Ok(Client {
            http,
            base: format!("{scheme}://{registry}"),
            registry: registry.to_string(),
            plain_http: options.plain_http,
            access,
            credentials,
            auth: Mutex::default(),
        })
    }

    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// `GET /v2/`: whether the credentials are accepted. Returns what was sent: nothing
    /// when the registry needs no login.
    pub async fn check_login(&self) -> Result<Sent, OciError> {
        let call = Call::new(Method::GET, format!("{}/v2/", self.base), None);
        let (response, sent) = self.send(&call).await?;
        if response.status().is_success() {
            return Ok(sent);
        }
        Err(self.status_error(&call, response).await)
    }

    /// The manifest `reference` (a tag or a digest) of `repository`, its digest checked
    /// against the registry's `Docker-Content-Digest` and against `reference` when that
    /// is a digest.
    pub async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<FetchedManifest, OciError> {
        let call = Call::new(
            Method::GET,
            format!("{}/v2/{repository}/manifests/{reference}", self.base),
            Some(repository),
        )
        .header(ACCEPT.as_str(), MANIFEST_ACCEPT);
        let (response, _) = self.send(&call).await?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => {
                let codes = error_codes(&read_error_body(response).await);
                return Err(self.manifest_not_found(repository, reference, &codes).await);
            }
            _ => return Err(self.status_error(&call, response).await),
        }
        let headers = response.headers().clone();
        let what = format!("manifest {repository}:{reference}");
        let bytes = self
            .read_limited(response, MAX_MANIFEST_SIZE, &what)
            .await?;
        let digest = Digest::of(&bytes);
        let claimed = [
            header_text(&headers, "docker-content-digest"),
            reference
                .starts_with("sha256:")
                .then(|| reference.to_string()),
        ];
        for expected in claimed.into_iter().flatten() {
            if expected != digest.as_str() {
                return Err(OciError::DigestMismatch {
                    registry: self.registry.clone(),
                    what,
                    expected,
                    actual: digest.to_string(),
                });
            }
        }
        Ok(FetchedManifest {
            bytes,
            digest,
            content_type: header_text(&headers, CONTENT_TYPE.as_str()),
        })
    }

    /// Every tag of `repository`, following `Link: <…>; rel="next"` pages.
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>, OciError> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut url = format!("{}/v2/{repository}/tags/list", self.base);
        let mut tags: Vec<String> = Vec::new();
        // A registry that ignores paging sends everything each time: stop when a page
        // brings nothing new.
        for _ in 0..10_000 {
            let call = Call::new(Method::GET, url.clone(), Some(repository));
            let (response, _) = self.send(&call).await?;
            match response.status() {
                StatusCode::OK => {}
                StatusCode::NOT_FOUND => {
                    return Err(OciError::RepositoryNotFound {
                        registry: self.registry.clone(),
                        repository: repository.to_string(),
                    });
                }
                _ => return Err(self.status_error(&call, response).await),
            }
            let next = next_link(response.headers());
            let what = format!("tag list of {repository}");
            let body = self
                .read_limited(response, MAX_MANIFEST_SIZE, &what)
                .await?;
            let page: Page = serde_json::from_slice(&body).map_err(|e| OciError::Protocol {
                registry: self.registry.clone(),
                problem: format!("{what} is not JSON: {e}"),
            })?;
            let before = tags.len();
            for tag in page.tags.unwrap_or_default() {
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
            match next {
                Some(next) if tags.len() > before => url = self.resolve(&next),
                _ => break,
            }
        }
        Ok(tags)
    }

    pub async fn blob_exists(&self, repository: &str, digest: &Digest) -> Result<bool, OciError> {
        let call = Call::new(
            Method::HEAD,
            format!("{}/v2/{repository}/blobs/{digest}", self.base),
            Some(repository),
        );
        let (response, _) = self.send(&call).await?;
        match response.status() {
            status if status.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.status_error(&call, response).await),
        }
    }

    /// Downloads blob `digest` of `size` bytes into memory and checks it. A blob over
    /// `limit` is refused before it is requested; a registry sending more than `size`
    /// bytes is cut off.
    pub async fn download_blob(
        &self,
        repository: &str,
        digest: &Digest,
        size: u64,
        limit: u64,
    ) -> Result<Vec<u8>, OciError> {
        let what = format!("layer {digest} of {repository}");
        if size > limit {
            return Err(OciError::TooLarge {
                what: format!("{what} (as its manifest declares)"),
                size,
                limit,
            });
        }
        let call = Call::new(
            Method::GET,
            format!("{}/v2/{repository}/blobs/{digest}", self.base),
            Some(repository),
        );
        let (mut response, _) = self.send(&call).await?;
        if !response.status().is_success() {
            return Err(self.status_error(&call, response).await);
        }
        let mismatch = |actual: String| OciError::DigestMismatch {
            registry: self.registry.clone(),
            what: what.clone(),
            expected: digest.to_string(),
            actual,
        };
        if let Some(length) = response.content_length().filter(|&l| l != size) {
            return Err(mismatch(format!(
                "{length} bytes where the manifest declares {size}; nothing was read"
            )));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        let mut hasher = Sha256::new();
        while let Some(chunk) = response.chunk().await.map_err(|source| OciError::Body {
            registry: self.registry.clone(),
            source,
        })? {
            if (bytes.len() + chunk.len()) as u64 > size {
                return Err(mismatch(format!(
                    "more than the {size} bytes the manifest declares; stopped reading"
                )));
            }
            hasher.update(&chunk);
            bytes.extend_from_slice(&chunk);
        }
        let actual = Digest::from_hasher(hasher);
        if &actual != digest {
            return Err(mismatch(actual.to_string()));
        }
        Ok(bytes)
    }

    /// Uploads a blob in one `PUT` after `POST …/blobs/uploads/`.
    pub async fn upload_blob(
        &self,
        repository: &str,
        digest: &Digest,
        bytes: Bytes,
    ) -> Result<(), OciError> {
        let start = Call::new(
            Method::POST,
            format!("{}/v2/{repository}/blobs/uploads/", self.base),
            Some(repository),
        )
        .header(CONTENT_LENGTH.as_str(), "0");
        let (response, _) = self.send(&start).await?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(self.status_error(&start, response).await);
        }
        let location = header_text(response.headers(), LOCATION.as_str()).ok_or_else(|| {
            OciError::Protocol {
                registry: self.registry.clone(),
                problem: format!("{} answered 202 without a Location", start.describe()),
            }
        })?;
        let mut url = self.resolve(&location);
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("digest=");
        url.push_str(&utf8_percent_encode(digest.as_str(), NON_ALPHANUMERIC).to_string());
        let length = bytes.len().to_string();
        let finish = Call::new(Method::PUT, url, Some(repository))
            .header(CONTENT_TYPE.as_str(), "application/octet-stream")
            .header(CONTENT_LENGTH.as_str(), length)
            .body(bytes);
        let (response, _) = self.send(&finish).await?;
        if response.status() != StatusCode::CREATED {
            return Err(self.status_error(&finish, response).await);
        }
        Ok(())
    }

    /// Puts a manifest under `tag`; returns the digest the registry reports, if any.
    pub async fn put_manifest(
        &self,
        repository: &str,
        tag: &str,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<Option<String>, OciError> {
        let call = Call::new(
            Method::PUT,
            format!("{}/v2/{repository}/manifests/{tag}", self.base),
            Some(repository),
        )
        .header(CONTENT_TYPE.as_str(), media_type)
        .body(bytes);
        let (response, _) = self.send(&call).await?;
        if response.status() != StatusCode::CREATED {
            return Err(self.status_error(&call, response).await);
        }
        Ok(header_text(response.headers(), "docker-content-digest"))
    }

    /// Sends `call`, answering one authentication challenge.
    async fn send(&self, call: &Call<'_>) -> Result<(Response, Sent), OciError> {
        let mut answered = false;
        loop {
            let (request, sent) = self.request(call);
            let response = request
                .send()
                .await
                .map_err(|source| self.connect_error(&call.url, source))?;
            if response.status() != StatusCode::UNAUTHORIZED {
                return Ok((response, sent));
            }
            let challenge = header_text(response.headers(), WWW_AUTHENTICATE.as_str())
                .map(|text| Challenge::parse(&text));
            let detail = error_message(&read_error_body(response).await);
            if answered {
                return Err(self.unauthorized(call, sent, challenge.as_ref(), &detail));
            }
            match &challenge {
                Some(Challenge::Basic)
                    if sent != Sent::Basic
                        && matches!(
                            self.credentials,
                            Some(Credentials {
                                secret: Secret::Password(_),
                                ..
                            })
                        ) =>
                {
                    self.auth.lock().expect("auth lock").basic = true;
                }
                Some(Challenge::Bearer(params)) => {
                    let token = self.fetch_token(params, call.repository).await?;
                    let scope = self.scope(call.repository);
                    let mut auth = self.auth.lock().expect("auth lock");
                    auth.tokens.insert(scope, token);
                }
                _ => return Err(self.unauthorized(call, sent, challenge.as_ref(), &detail)),
            }
            answered = true;
        }
    }

    fn request(&self, call: &Call<'_>) -> (reqwest::RequestBuilder, Sent) {
        let mut request = self.http.request(call.method.clone(), &call.url);
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        if let Some(body) = &call.body {
            request = request.body(body.clone());
        }
        // Never send credentials or tokens to another origin (an upload Location may
        // point anywhere).
        if !call.url.starts_with(&format!("{}/", self.base)) {
            return (request, Sent::Nothing);
        }
        let auth = self.auth.lock().expect("auth lock");
        if let Some(token) = auth.tokens.get(&self.scope(call.repository)) {
            return (request.bearer_auth(token), Sent::Bearer);
        }
        if auth.basic
            && let Some(Credentials {
                username,
                secret: Secret::Password(password),
                ..
            }) = &self.credentials
        {
            return (request.basic_auth(username, Some(password)), Sent::Basic);
        }
        (request, Sent::Nothing)
    }

    fn scope(&self, repository: Option<&str>) -> String {
        repository
            .map(|r| format!("repository:{r}:{}", self.access.actions()))
            .unwrap_or_default()
    }

    /// Asks the token service a challenge names for a token.
    async fn fetch_token(
        &self,
        challenge: &BearerChallenge,
        repository: Option<&str>,
    ) -> Result<String, OciError> {
        let scope = repository
            .map(|_| self.scope(repository))
            .or_else(|| challenge.scope.clone());
        let mut query = Vec::new();
        if let Some(service) = &challenge.service {
            query.push(("service", service.clone()));
        }
        if let Some(scope) = &scope {
            query.push(("scope", scope.clone()));
        }
        let who = match &self.credentials {
            Some(c) => format!(
                "the credentials of user {:?} (from {})",
                c.username, c.source
            ),
            None => "an anonymous request (no credentials are stored for this registry)".into(),
        };
        let request = match &self.credentials {
            Some(Credentials {
                secret: Secret::IdentityToken(token),
                ..
            }) => {
                query.push(("grant_type", "refresh_token".into()));
                query.push(("refresh_token", token.clone()));
                query.push(("client_id", "rchart".into()));
                self.http
                    .post(&challenge.realm)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(encode_query(&query))
            }
            Some(Credentials {
                username,
                secret: Secret::Password(password),
                ..
            }) => self
                .http
                .get(with_query(&challenge.realm, &query))
                .basic_auth(username, Some(password)),
            None => self.http.get(with_query(&challenge.realm, &query)),
        };
        let response = request
            .send()
            .await
            .map_err(|source| self.connect_error(&challenge.realm, source))?;
        let status = response.status();
        let body = read_error_body(response).await;
        if !status.is_success() {
            let message = error_message(&body);
            return Err(OciError::TokenRefused {
                registry: self.registry.clone(),
                realm: challenge.realm.clone(),
                who,
                status: status.as_u16(),
                detail: if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                },
            });
        }
        #[derive(serde::Deserialize)]
        struct TokenAnswer {
            token: Option<String>,
            access_token: Option<String>,
        }
        let answer: TokenAnswer =
            serde_json::from_slice(&body).map_err(|e| OciError::Protocol {
                registry: self.registry.clone(),
                problem: format!(
                    "the token service {} answered no JSON: {e}",
                    challenge.realm
                ),
            })?;
        answer
            .token
            .or(answer.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OciError::Protocol {
                registry: self.registry.clone(),
                problem: format!("the token service {} answered no token", challenge.realm),
            })
    }

    fn unauthorized(
        &self,
        call: &Call<'_>,
        sent: Sent,
        challenge: Option<&Challenge>,
        detail: &str,
    ) -> OciError {
        let login = format!("rchart registry login {}", self.registry);
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!(" (the registry says: {detail})")
        };
        let text = match (sent, &self.credentials) {
            (Sent::Nothing, None) => format!(
                "no credentials were sent: none are stored for {}; log in with `{login}`",
                self.registry
            ),
            (Sent::Nothing, Some(c)) => match challenge {
                Some(Challenge::Other(scheme)) => format!(
                    "no credentials were sent: it asks for {scheme} authentication, which rchart does not speak"
                ),
                _ => format!(
                    "no credentials were sent: the stored ones (user {:?}, from {}) do not fit the authentication it asks for",
                    c.username, c.source
                ),
            },
            (Sent::Basic, Some(c)) => format!(
                "the credentials of user {:?} (from {}) were sent and refused; check them, or log in again with `{login}`",
                c.username, c.source
            ),
            (Sent::Bearer, Some(c)) => format!(
                "a token obtained with the credentials of user {:?} (from {}) was sent and refused for {}: the user may not {} {}",
                c.username,
                c.source,
                call.describe(),
                self.access.actions(),
                call.repository.unwrap_or("this registry"),
            ),
            (_, None) => format!(
                "an anonymous token was sent and refused for {}: log in with `{login}`",
                call.describe()
            ),
        };
        OciError::Unauthorized {
            registry: self.registry.clone(),
            detail: format!("{text}{detail}"),
        }
    }

    async fn manifest_not_found(
        &self,
        repository: &str,
        reference: &str,
        codes: &[String],
    ) -> OciError {
        let not_found = || OciError::RepositoryNotFound {
            registry: self.registry.clone(),
            repository: repository.to_string(),
        };
        if codes.iter().any(|c| c == "NAME_UNKNOWN") {
            return not_found();
        }
        // A bare 404 does not say which is missing; the tag list does.
        let tags = match self.tags(repository).await {
            Ok(tags) => tags,
            Err(OciError::RepositoryNotFound { .. }) => return not_found(),
            Err(error) => return error,
        };
        if reference.starts_with("sha256:") {
            return OciError::ManifestNotFound {
                registry: self.registry.clone(),
                repository: repository.to_string(),
                digest: reference.to_string(),
            };
        }
        OciError::TagNotFound {
            registry: self.registry.clone(),
            repository: repository.to_string(),
            tag: reference.to_string(),
            known: known_tags(&tags),
        }
    }

    async fn status_error(&self, call: &Call<'_>, response: Response) -> OciError {
        let status = response.status().as_u16();
        let message = error_message(&read_error_body(response).await);
        let message = if message.is_empty() {
            String::new()
        } else {
            format!(": {message}")
        };
        if status == 403 {
            return OciError::Forbidden {
                registry: self.registry.clone(),
                repository: call.repository.unwrap_or("/v2/").to_string(),
                detail: message,
            };
        }
        OciError::Status {
            registry: self.registry.clone(),
            method: call.method.to_string(),
            url: call.url.clone(),
            status,
            message,
        }
    }

    fn connect_error(&self, url: &str, source: reqwest::Error) -> OciError {
        let chain = error_chain(&source);
        let hint = if chain.contains("certificate") || chain.contains("UnknownIssuer") {
            " (if it uses a private CA, pass it with --ca-file)"
        } else if !self.plain_http && is_loopback(host_only(&self.registry)) {
            " (if it serves plain HTTP, add --plain-http)"
        } else {
            ""
        };
        OciError::Connect {
            registry: if url.starts_with(&self.base) {
                self.registry.clone()
            } else {
                format!("{} (at {url})", self.registry)
            },
            hint,
            source,
        }
    }

    async fn read_limited(
        &self,
        mut response: Response,
        limit: u64,
        what: &str,
    ) -> Result<Vec<u8>, OciError> {
        if let Some(length) = response.content_length().filter(|&l| l > limit) {
            return Err(OciError::TooLarge {
                what: what.to_string(),
                size: length,
                limit,
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|source| OciError::Body {
            registry: self.registry.clone(),
            source,
        })? {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(OciError::TooLarge {
                    what: format!("{what} (stopped reading)"),
                    size: (body.len() + chunk.len()) as u64,
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// A `Location` or `Link` target: absolute, or a path on this registry.
    fn resolve(&self, target: &str) -> String {
        if target.starts_with("http://") || target.starts_with("https://") {
            target.to_string()
        } else if target.starts_with('/') {
            format!("{}{target}", self.base)
        } else {
            format!("{}/{target}", self.base)
        }
    }
}

/// A `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Challenge {
    Basic,
    Bearer(BearerChallenge),
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct BearerChallenge {
    realm: String,
    service: Option<String>,
    scope: Option<String>,
}

impl Challenge {
    /// `Basic realm="…"` or `Bearer realm="…",service="…",scope="…"`.
    fn parse(text: &str) -> Self {
        let (scheme, params) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Challenge::Basic;
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Challenge::Other(scheme.to_string());
        }
        let params = parse_params(params);
        let get = |name: &str| {
            params
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.clone())
        };
        match get("realm") {
            Some(realm) => Challenge::Bearer(BearerChallenge {
                realm,
                service: get("service"),
                scope: get("scope"),
            }),
            None => Challenge::Other("Bearer without a realm".into()),
        }
    }
}

/// `key="value", key=value` pairs; quoted values may hold commas and `\"`.
fn parse_params(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        if key.is_empty() || chars.next() != Some('=') {
            return pairs;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect();
        }
        pairs.push((key.trim().to_string(), value.trim().to_string()));
    }
}

/// The `rel="next"` target of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find(|link| link.contains("rel=\"next\"") || link.contains("rel=next"))
        .and_then(|link| {
            let start = link.find('<')? + 1;
            let end = link.find('>')?;
            Some(link[start..end].to_string())
        })
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn encode_query(query: &[(&str, String)]) -> String {
    query
        .iter()
        .map(|(key, value)| format!("{key}={}", utf8_percent_encode(value, NON_ALPHANUMERIC)))
        .collect::<Vec<_>>()
        .join("&")
}

fn with_query(url: &str, query: &[(&str, String)]) -> String {
    if query.is_empty() {
        return url.to_string();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{}", encode_query(query))
}

async fn read_error_body(mut response: Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() as u64 >= MAX_ERROR_BODY {
            body.truncate(MAX_ERROR_BODY as usize);
            break;
        }
    }
    body
}

#[derive(serde::Deserialize)]
struct ErrorEnvelope {
    errors: Vec<RegistryErrorItem>,
}

#[derive(serde::Deserialize)]
struct RegistryErrorItem {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

fn error_codes(body: &[u8]) -> Vec<String> {
    serde_json::from_slice::<ErrorEnvelope>(body)
        .map(|e| e.errors.into_iter().map(|item| item.code).collect())
        .unwrap_or_default()
}

/// The registry's own words: `CODE: message; …` from an error envelope, else the text.
fn error_message(body: &[u8]) -> String {
    if let Ok(envelope) = serde_json::from_slice::<ErrorEnvelope>(body) {
        return envelope
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.code, e.message))
            .collect::<Vec<_>>()
            .join("; ");
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

fn known_tags(tags: &[String]) -> String {
    if tags.is_empty() {
        return "; it has no tags".to_string();
    }
    let mut sorted: Vec<&String> = tags.iter().collect();
    sorted.sort_by(|a, b| version_of_tag(b).cmp(&version_of_tag(a)).then(b.cmp(a)));
    let shown: Vec<&str> = sorted.iter().take(10).map(|t| t.as_str()).collect();
    let more = if tags.len() > shown.len() {
        format!(" and {} more", tags.len() - shown.len())
    } else {
        String::new()
    };
    format!("; its tags: {}{more}", shown.join(", "))
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&format!("{cause:?}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse() {
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="http://127.0.0.1:1/token",service="reg, one",scope="repository:a/b:pull,push""#
            ),
            Challenge::Bearer(BearerChallenge {
                realm: "http://127.0.0.1:1/token".into(),
                service: Some("reg, one".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        assert_eq!(Challenge::parse(r#"Basic realm="x""#), Challenge::Basic);
        assert_eq!(
            Challenge::parse("Negotiate"),
            Challenge::Other("Negotiate".into())
        );
    }

    #[test]
    fn links_and_errors() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "link",
            r#"</v2/a/tags/list?n=2&last=b>; rel="next""#.parse().unwrap(),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("/v2/a/tags/list?n=2&last=b")
        );
        let body = br#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#;
        assert_eq!(error_codes(body), ["NAME_UNKNOWN"]);
        assert_eq!(
            error_message(body),
            "NAME_UNKNOWN: repository name not known to registry"
        );
        assert_eq!(
            known_tags(&["0.9.0".into(), "1.0.0_b".into(), "latest".into()]),
            "; its tags: 1.0.0_b, 0.9.0, latest"
        );
    }
}
