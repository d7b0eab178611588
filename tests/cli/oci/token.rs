//! A token service for the registry's bearer authentication, as Docker Hub and GHCR
//! run one: `GET /token?service=…&scope=repository:NAME:pull,push`, with HTTP Basic
//! credentials or none, answers `{"token": JWT}`. The JWT is ES256, signed with a key
//! whose self-signed certificate the registry trusts (`auth.token.rootcertbundle`) and
//! that travels in the token's `x5c` header. Known users get the actions they ask for;
//! an anonymous request gets a token that grants nothing; a wrong password gets 401.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};

use super::registry::{Auth, openssl, tool_available};
use super::serve::Served;

pub const SERVICE: &str = "rchart-test-registry";
pub const ISSUER: &str = "rchart-test-token-service";

pub struct TokenServer {
    pub port: u16,
    requests: Arc<AtomicUsize>,
    _served: Served,
    certificate: PathBuf,
    _dir: tempfile::TempDir,
}

struct Service {
    users: Vec<(String, String)>,
    key: EcdsaKeyPair,
    certificate_der: Vec<u8>,
    requests: Arc<AtomicUsize>,
}

impl TokenServer {
    /// A token service for `users` (name, password); `None` without openssl.
    pub fn start(users: &[(&str, &str)]) -> Option<Self> {
        if !tool_available("openssl", "openssl") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let openssl = |args: &[&str]| openssl(dir.path(), args);
        openssl(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "key.pem",
        ]);
        openssl(&[
            "pkcs8", "-topk8", "-nocrypt", "-in", "key.pem", "-outform", "DER", "-out", "key.der",
        ]);
        openssl(&[
            "req",
            "-x509",
            "-new",
            "-key",
            "key.pem",
            "-subj",
            "/CN=rchart test token service",
            "-days",
            "2",
            "-out",
            "cert.pem",
        ]);
        openssl(&[
            "x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der",
        ]);
        let pkcs8 = std::fs::read(dir.path().join("key.der")).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &pkcs8,
            &SystemRandom::new(),
        )
        .expect("openssl's PKCS#8 P-256 key");
        let requests = Arc::new(AtomicUsize::new(0));
        let service = Arc::new(Service {
            users: users
                .iter()
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .collect(),
            key,
            certificate_der: std::fs::read(dir.path().join("cert.der")).unwrap(),
            requests: requests.clone(),
        });
        let served = Served::start(
            axum::Router::new()
                .route("/token", axum::routing::get(token))
                .with_state(service),
        );
        Some(TokenServer {
            port: served.port,
            requests,
            _served: served,
            certificate: dir.path().join("cert.pem"),
            _dir: dir,
        })
    }

    /// The registry settings that send clients here.
    pub fn registry_auth(&self) -> Auth {
        Auth::Token {
            realm: format!("http://127.0.0.1:{}/token", self.port),
            service: SERVICE.to_string(),
            issuer: ISSUER.to_string(),
            certificate: self.certificate.clone(),
        }
    }

    /// Token requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn token(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    service.requests.fetch_add(1, Ordering::SeqCst);
    let user = match basic_user(&headers) {
        None => None,
        Some((user, password)) => {
            if !service
                .users
                .iter()
                .any(|(u, p)| *u == user && *p == password)
            {
                return (
                    StatusCode::UNAUTHORIZED,
                    r#"{"details":"incorrect username or password"}"#,
                )
                    .into_response();
            }
            Some(user)
        }
    };
    let mut access = Vec::new();
    if user.is_some()
        && let Some(scope) = query.get("scope")
    {
        let parts: Vec<&str> = scope.splitn(3, ':').collect();
        if let [kind, name, actions] = parts[..] {
            access.push(serde_json::json!({
                "type": kind,
                "name": name,
                "actions": actions.split(',').collect::<Vec<_>>(),
            }));
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({
        "typ": "JWT",
        "alg": "ES256",
        "x5c": [STANDARD.encode(&service.certificate_der)],
    });
    let claims = serde_json::json!({
        "iss": ISSUER,
        "sub": user.clone().unwrap_or_default(),
        "aud": query.get("service").cloned().unwrap_or_default(),
        "exp": now + 300,
        "nbf": now - 10,
        "iat": now,
        "jti": format!("{now}-{}", service.requests.load(Ordering::SeqCst)),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = service
        .key
        .sign(&SystemRandom::new(), signing_input.as_bytes())
        .unwrap();
    let jwt = format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    );
    axum::Json(serde_json::json!({ "token": jwt, "expires_in": 300 })).into_response()
}

fn basic_user(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}
