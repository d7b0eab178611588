//! A real registry for tests: Debian's `docker-registry` (distribution 2.8) on a random
//! 127.0.0.1 port, with its storage in a temporary directory, stopped by pid on drop.
//!
//! Its access log (one line per request) is how tests count requests.

use std::io::Read as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command as TestCommand;

use crate::support::rchart;

const BINARY: &str = "docker-registry";

/// How the registry lets clients in.
pub enum Auth {
    Anonymous,
    /// HTTP Basic against an htpasswd file (bcrypt, made with `htpasswd -B`).
    Htpasswd {
        user: String,
        password: String,
    },
    /// Bearer tokens from a token service, checked against its certificate.
    Token {
        realm: String,
        service: String,
        issuer: String,
        certificate: PathBuf,
    },
}

pub struct TestRegistry {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

/// Whether a tool the tests need is installed. Without it a test skips, saying so; under
/// CI (`CI` set) a missing tool fails the test instead, since `.ci/run` installs it.
pub fn tool_available(program: &str, package: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{program} is not installed; .ci/run installs it (apt-get install {package})");
    }
    // Straight to stderr: the test harness hides what a passing test prints with eprintln.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED: {program} is not installed (apt-get install {package}); this test did not run"
    );
    false
}

impl TestRegistry {
    /// An anonymous registry, or `None` (the test skips) when the binary is missing.
    pub fn start() -> Option<Self> {
        Self::with(Auth::Anonymous)
    }

    pub fn with(auth: Auth) -> Option<Self> {
        Self::start_with(auth, None)
    }

    /// An anonymous registry serving HTTPS with a certificate from `tls`'s CA.
    pub fn with_tls(tls: &TlsFiles) -> Option<Self> {
        Self::start_with(Auth::Anonymous, Some(tls))
    }

    fn start_with(auth: Auth, tls: Option<&TlsFiles>) -> Option<Self> {
        if !tool_available(BINARY, "docker-registry") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let auth_section = match &auth {
            Auth::Anonymous => String::new(),
            Auth::Htpasswd { user, password } => {
                if !tool_available("htpasswd", "apache2-utils") {
                    return None;
                }
                let output = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .output()
                    .unwrap();
                assert!(output.status.success());
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, output.stdout).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: rchart-test\n    path: {}\n",
                    file.display()
                )
            }
            Auth::Token {
                realm,
                service,
                issuer,
                certificate,
            } => format!(
                "auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {}\n",
                certificate.display()
            ),
        };
        let tls_section = tls.map_or(String::new(), |tls| {
            format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                tls.certificate.display(),
                tls.key.display()
            )
        });
        // A port picked by the kernel may be taken again before the registry binds it.
        for _ in 0..5 {
            let port = free_port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: false\n\
                     storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                     http:\n  addr: 127.0.0.1:{port}\n  secret: rchart-test-secret\n{tls_section}{auth_section}",
                    dir.path().join("storage").display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.path().join("access.log")).unwrap();
            let errors = std::fs::File::create(dir.path().join("errors.log")).unwrap();
            let mut child = Command::new(BINARY)
                .arg("serve")
                .arg(&config)
                .stdout(log)
                .stderr(errors)
                .stdin(Stdio::null())
                .spawn()
                .expect("docker-registry starts");
            if wait_ready(&mut child, port, dir.path()) {
                return Some(TestRegistry { child, port, dir });
            }
            eprintln!("docker-registry could not bind port {port}; trying another");
        }
        panic!("docker-registry did not start on a free port in 5 tries");
    }

    /// `oci://127.0.0.1:PORT/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("oci://127.0.0.1:{}/{path}", self.port)
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Where the registry keeps blob `digest` (`sha256:…`).
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// A position in the access log; see [`TestRegistry::requests_since`].
    pub fn mark(&self) -> usize {
        self.log_lines().len()
    }

    /// `METHOD PATH STATUS` of each request after `mark`. The registry logs a request
    /// after answering it, so this waits until the log stops growing.
    pub fn requests_since(&self, mark: usize) -> Vec<String> {
        let mut lines = self.log_lines();
        let mut stable_since = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && stable_since.elapsed() < Duration::from_millis(150) {
            std::thread::sleep(Duration::from_millis(20));
            let now = self.log_lines();
            if now.len() != lines.len() {
                lines = now;
                stable_since = Instant::now();
            }
        }
        lines.into_iter().skip(mark).collect()
    }

    fn log_lines(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default();
        text.lines().filter_map(request_of_log_line).collect()
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA and a server certificate for 127.0.0.1 it signed, made with openssl.
pub struct TlsFiles {
    pub ca: PathBuf,
    pub certificate: PathBuf,
    pub key: PathBuf,
    _dir: tempfile::TempDir,
}

impl TlsFiles {
    pub fn generate() -> Option<Self> {
        if !tool_available("openssl", "openssl") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let steps: [&[&str]; 3] = [
            &[
                &["req", "-x509"],
                &ec[..],
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-subj",
                    "/CN=rchart test CA",
                    "-days",
                    "2",
                ],
            ]
            .concat(),
            &[
                &["req"],
                &ec[..],
                &[
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                    "-subj",
                    "/CN=127.0.0.1",
                ],
            ]
            .concat(),
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "2",
                "-extfile",
                "server.ext",
            ],
        ];
        for args in steps {
            openssl(dir.path(), args);
        }
        Some(TlsFiles {
            ca: dir.path().join("ca.pem"),
            certificate: dir.path().join("server.pem"),
            key: dir.path().join("server.key"),
            _dir: dir,
        })
    }
}

/// Runs `openssl ARGS` in `dir`, asserting success.
pub fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Whether the registry listens; false when it exited (its port was taken).
fn wait_ready(child: &mut Child, port: u16, dir: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            let mut errors = String::new();
            let _ = std::fs::File::open(dir.join("errors.log"))
                .and_then(|mut f| f.read_to_string(&mut errors));
            eprintln!("docker-registry exited ({status}): {errors}");
            return false;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    panic!("docker-registry did not listen on port {port} within 15 s");
}

/// `127.0.0.1 - - [date] "GET /v2/ HTTP/1.1" 200 2 "" "agent"` → `GET /v2/ 200`.
fn request_of_log_line(line: &str) -> Option<String> {
    let start = line.find('"')? + 1;
    let end = start + line[start..].find('"')?;
    let mut request = line[start..end].split(' ');
    let (method, path) = (request.next()?, request.next()?);
    let status = line[end + 1..].split_whitespace().next()?;
    Some(format!("{method} {path} {status}"))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A user's cache and Docker config, apart from the machine's.
pub struct OciUser {
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl OciUser {
    pub fn new() -> Self {
        OciUser {
            dir: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    /// Every command of this user runs with `key=value` too.
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    pub fn docker_config(&self) -> PathBuf {
        self.dir.path().join("docker/config.json")
    }

    /// `rchart` with this user's cache and Docker config.
    pub fn rchart(&self) -> TestCommand {
        let mut command = rchart();
        command
            .env("XDG_CACHE_HOME", self.cache_dir())
            .env("DOCKER_CONFIG", self.dir.path().join("docker"))
            .env("HOME", self.dir.path());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    /// Runs `rchart ARGS`, asserting success; returns stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let output = self.rchart().args(args).output().unwrap();
        assert!(
            output.status.success(),
            "rchart {args:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs `rchart ARGS`, asserting failure; returns stderr.
    pub fn fail(&self, args: &[&str]) -> String {
        let output = self.rchart().args(args).output().unwrap();
        assert!(
            !output.status.success(),
            "rchart {args:?} succeeded:\n{}",
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8(output.stderr).unwrap()
    }

    /// `rchart push ARCHIVE oci://…/PATH --plain-http`; returns the printed reference.
    pub fn push(&self, archive: &Path, destination: &str) -> String {
        let archive = archive.display().to_string();
        self.run(&["push", &archive, destination, "--plain-http"])
            .trim()
            .to_string()
    }

    /// `rchart registry login HOST -u USER --password-stdin`, the password on stdin.
    pub fn login(&self, host: &str, user: &str, password: &str) -> std::process::Output {
        self.rchart()
            .args([
                "registry",
                "login",
                host,
                "-u",
                user,
                "--password-stdin",
                "--plain-http",
            ])
            .write_stdin(format!("{password}\n"))
            .output()
            .unwrap()
    }
}

/// Packages a small chart NAME at VERSION into `out`; returns the archive's path.
pub fn package_chart(out: &Path, name: &str, version: &str) -> PathBuf {
    let chart = out.join(format!("src-{name}-{version}"));
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: 0.0.1\ndescription: a test chart\n"),
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), "greeting: hello\n").unwrap();
    std::fs::write(
        chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ release.name }}\ndata:\n  greeting: {{ values.greeting }}\n",
    )
    .unwrap();
    let output = rchart()
        .args(["package"])
        .arg(&chart)
        .arg("-d")
        .arg(out)
        .args(["--version", version])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out.join(format!("{name}-{version}.tgz"))
}

/// The digest part of `oci://…@sha256:…`.
pub fn digest_of(reference: &str) -> &str {
    &reference[reference.find("@sha256:").expect("a digest") + 1..]
}

/// Raw distribution-API calls, for putting in what rchart would not write and reading
/// back what it did (anonymous registries only).
impl TestRegistry {
    fn api(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/v2/{path}", self.port)
    }

    /// The manifest's exact bytes, as the registry serves them to an OCI client.
    pub fn raw_manifest(&self, repository: &str, reference: &str) -> Vec<u8> {
        let mut response = ureq::get(self.api(&format!("{repository}/manifests/{reference}")))
            .header("Accept", "application/vnd.oci.image.manifest.v1+json")
            .call()
            .expect("the manifest is there");
        response.body_mut().read_to_vec().unwrap()
    }

    pub fn tags(&self, repository: &str) -> Vec<String> {
        let mut response = ureq::get(self.api(&format!("{repository}/tags/list")))
            .call()
            .unwrap();
        let list: serde_json::Value =
            serde_json::from_slice(&response.body_mut().read_to_vec().unwrap()).unwrap();
        let mut tags: Vec<String> = list["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect();
        tags.sort();
        tags
    }

    /// Uploads a blob; returns its digest.
    pub fn raw_blob(&self, repository: &str, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        let response = ureq::post(self.api(&format!("{repository}/blobs/uploads/")))
            .send_empty()
            .unwrap();
        let location = response.headers()["location"].to_str().unwrap().to_string();
        let url = if location.starts_with('/') {
            format!("http://127.0.0.1:{}{location}", self.port)
        } else {
            location
        };
        let separator = if url.contains('?') { '&' } else { '?' };
        ureq::put(format!(
            "{url}{separator}digest={}",
            digest.replace(':', "%3A")
        ))
        .header("Content-Type", "application/octet-stream")
        .send(bytes)
        .unwrap();
        digest
    }

    /// Puts a manifest under `tag`, as any client might.
    pub fn raw_manifest_put(&self, repository: &str, tag: &str, manifest: &serde_json::Value) {
        ureq::put(self.api(&format!("{repository}/manifests/{tag}")))
            .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            .send(manifest.to_string().as_bytes())
            .unwrap();
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let hex: String = sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}
