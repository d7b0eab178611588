//! A small chart repository server on 127.0.0.1 for the tests: static files from a
//! directory, optional HTTP Basic authentication, optional TLS with a CA made for the
//! test. It records each request's path and whether it carried credentials, and stops
//! when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use base64::Engine as _;

/// One request the server answered.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub authorization: Option<String>,
}

pub struct RepoServer {
    pub addr: SocketAddr,
    scheme: &'static str,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The CA that signed the server's certificate, PEM, when serving TLS.
    pub ca_pem: Option<String>,
}

#[derive(Default)]
pub struct Options {
    /// Require these credentials.
    pub basic_auth: Option<(String, String)>,
    pub tls: bool,
}

impl RepoServer {
    /// Serves `root` over plain HTTP, no authentication.
    pub fn start(root: &Path) -> Self {
        Self::with(root, Options::default())
    }

    pub fn with(root: &Path, options: Options) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tls, ca_pem) = if options.tls {
            let (config, ca) = tls_config();
            (Some(Arc::new(config)), Some(ca))
        } else {
            (None, None)
        };
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let context = Arc::new(Context {
            root: root.to_path_buf(),
            expected_auth: options.basic_auth.map(|(user, password)| {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
                )
            }),
            seen: Arc::clone(&seen),
        });
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let context = Arc::clone(&context);
                    let tls = tls.clone();
                    std::thread::spawn(move || {
                        let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
                        match tls {
                            Some(config) => {
                                let Ok(connection) = rustls::ServerConnection::new(config) else {
                                    return;
                                };
                                let mut tls_stream = rustls::StreamOwned::new(connection, stream);
                                context.serve(&mut tls_stream);
                            }
                            None => {
                                let mut stream = stream;
                                context.serve(&mut stream);
                            }
                        }
                    });
                }
            })
        };
        Self {
            addr,
            scheme: if options.tls { "https" } else { "http" },
            seen,
            stop,
            thread: Some(thread),
            ca_pem,
        }
    }

    /// `http://127.0.0.1:PORT/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}://{}/{}",
            self.scheme,
            self.addr,
            path.trim_start_matches('/')
        )
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for RepoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Context {
    root: PathBuf,
    expected_auth: Option<String>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Context {
    fn serve(&self, stream: &mut (impl Read + Write)) {
        let mut reader = BufReader::new(&mut *stream);
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() || request_line.is_empty() {
            return;
        }
        let mut authorization = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("authorization")
            {
                authorization = Some(value.trim().to_string());
            }
        }
        drop(reader);
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .split('?')
            .next()
            .unwrap_or("/")
            .to_string();
        self.seen.lock().unwrap().push(Seen {
            path: path.clone(),
            authorization: authorization.clone(),
        });
        if let Some(expected) = &self.expected_auth
            && authorization.as_ref() != Some(expected)
        {
            respond(
                stream,
                "401 Unauthorized",
                &[("WWW-Authenticate", "Basic realm=\"charts\"")],
                b"unauthorized\n",
            );
            return;
        }
        let relative = path.trim_start_matches('/');
        let file = self.root.join(relative);
        match (relative.contains(".."), std::fs::read(&file)) {
            (false, Ok(body)) => respond(stream, "200 OK", &[], &body),
            _ => respond(stream, "404 Not Found", &[], b"not found\n"),
        }
    }
}

fn respond(stream: &mut impl Write, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

/// A server configuration with a certificate for 127.0.0.1 and localhost, signed by a CA
/// made here; returns the CA as PEM.
fn tls_config() -> (rustls::ServerConfig, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "rchart test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let certificate = params.signed_by(&key, &ca).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![certificate.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    (config, ca.pem())
}

/// A place for one test: a temporary directory with the repository config and cache
/// inside it, so tests never read or write the user's.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// `rchart` with this directory's repository config and cache.
    pub fn rchart(&self) -> assert_cmd::Command {
        let mut command = crate::support::rchart();
        command
            .env(
                "RCHART_REPOSITORY_CONFIG",
                self.path("config/repositories.yaml"),
            )
            .env("RCHART_REPOSITORY_CACHE", self.path("cache"));
        command
    }

    /// Runs `rchart ARGS`, expecting success; returns stdout.
    pub fn run(&self, args: &[&str]) -> String {
        self.run_with(&[], args)
    }

    /// Runs `rchart ARGS` with more environment, expecting success; returns stdout.
    pub fn run_with(&self, env: &[(&str, &str)], args: &[&str]) -> String {
        let mut command = self.rchart();
        for (key, value) in env {
            command.env(key, value);
        }
        let output = command.args(args).output().unwrap();
        assert!(
            output.status.success(),
            "rchart {args:?} failed:\n{}",
            crate::support::stderr_of(&output)
        );
        crate::support::stdout_of(&output)
    }

    /// Runs `rchart ARGS`, expecting exit code 1; returns stderr.
    pub fn fail(&self, args: &[&str]) -> String {
        let output = self.rchart().args(args).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(1),
            "rchart {args:?} should fail:\n{}",
            crate::support::stdout_of(&output)
        );
        crate::support::stderr_of(&output)
    }

    /// Writes a chart's files under `relative`; `Chart.yaml` gets `apiVersion: v2` first.
    pub fn chart(&self, relative: &str, files: &[(&str, &str)]) -> PathBuf {
        let root = self.path(relative);
        for (path, contents) in files {
            let path_on_disk = root.join(path);
            std::fs::create_dir_all(path_on_disk.parent().unwrap()).unwrap();
            let contents = if *path == "Chart.yaml" {
                format!("apiVersion: v2\n{contents}")
            } else {
                contents.to_string()
            };
            std::fs::write(path_on_disk, contents).unwrap();
        }
        root
    }

    pub fn path_str(&self, relative: &str) -> String {
        self.path(relative).display().to_string()
    }
}

/// A ConfigMap template that shows the given expressions as JSON, one data key each:
/// `key: '{"a":1}'`.
pub fn config_map(name: &str, data: &[(&str, &str)]) -> String {
    let mut text = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n");
    for (key, expression) in data {
        text.push_str(&format!("  {key}: '{{{{ {expression} | to_json }}}}'\n"));
    }
    text
}

/// Every file under `dir` with its bytes, sorted by path.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap().display().to_string();
                files.push((relative, std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}
