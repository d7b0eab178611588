//! Test helpers: run the real `multiroute` binary, talk HTTP/1.1 to it over TCP, and lay out
//! config files the way a ConfigMap volume does.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Long enough for a loaded 2-core machine; tests poll and return as soon as they can.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub const CONFIG_V1: &str =
    "routes:\n  /route1: \"route1's content\"\n  /route2: \"route2's content\"\n";

/// A running `multiroute` process, killed when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub logs: Logs,
}

/// How to start a server.
pub struct Launch {
    command: Command,
    listen_flag: bool,
}

impl Launch {
    /// `multiroute --config <config>`, listening on a free port of 127.0.0.1.
    pub fn new(config: &Path) -> Self {
        Self::with_binary(Path::new(env!("CARGO_BIN_EXE_multiroute")), config)
    }

    /// Like [`Launch::new`], for another build of the binary.
    pub fn with_binary(binary: &Path, config: &Path) -> Self {
        let mut command = Command::new(binary);
        command.arg("--config").arg(config);
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy().into_owned();
            if name.starts_with("MULTIROUTE_") || name == "DB_PASS" {
                command.env_remove(name);
            }
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        Self {
            command,
            listen_flag: true,
        }
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.command.args(args);
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.command.env(name, value);
        self
    }

    /// Leaves `--listen` out, e.g. to give the address through the environment instead.
    pub fn without_listen_flag(mut self) -> Self {
        self.listen_flag = false;
        self
    }

    /// Starts the server and waits until it logs the address it listens on.
    pub fn start(mut self) -> Server {
        if self.listen_flag {
            self.command.args(["--listen", "127.0.0.1:0"]);
        }
        let mut child = self.command.spawn().expect("start multiroute");
        let logs = Logs::capture(&mut child);
        let listening = logs.wait_for("the `listening` log line", |line| {
            line["message"] == "listening"
        });
        let addr = listening["addr"]
            .as_str()
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address in {listening}"));
        Server { child, addr, logs }
    }

    /// Runs a server that is expected to fail to start; returns its exit status and stderr.
    pub fn run_to_exit(mut self) -> (ExitStatus, String) {
        if self.listen_flag {
            self.command.args(["--listen", "127.0.0.1:0"]);
        }
        let mut child = self.command.spawn().expect("start multiroute");
        let logs = Logs::capture(&mut child);
        let status = wait_for_exit(&mut child);
        logs.wait_for_end();
        (status, logs.text())
    }
}

impl Server {
    /// Sends a signal by name (`TERM`, `HUP`, …) to the server.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Waits until the server exits by itself.
    pub fn wait_for_exit(&mut self) -> ExitStatus {
        let status = wait_for_exit(&mut self.child);
        self.logs.wait_for_end();
        status
    }

    pub fn get(&self, path: &str) -> Response {
        request(self.addr, "GET", path)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn wait_for_exit(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().expect("poll multiroute") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("multiroute did not exit within {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The server's stderr, collected line by line as it is written.
#[derive(Clone)]
pub struct Logs {
    shared: Arc<(Mutex<LogState>, Condvar)>,
}

#[derive(Default)]
struct LogState {
    lines: Vec<String>,
    ended: bool,
}

impl Logs {
    fn capture(child: &mut Child) -> Self {
        let stderr = child.stderr.take().expect("stderr is piped");
        let logs = Self {
            shared: Arc::default(),
        };
        let writer = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let (state, changed) = &*writer.shared;
                state.lock().unwrap().lines.push(line);
                changed.notify_all();
            }
            let (state, changed) = &*writer.shared;
            state.lock().unwrap().ended = true;
            changed.notify_all();
        });
        logs
    }

    /// Every line so far, joined.
    pub fn text(&self) -> String {
        self.lines().join("\n")
    }

    pub fn lines(&self) -> Vec<String> {
        self.shared.0.lock().unwrap().lines.clone()
    }

    /// Waits for a JSON log line that satisfies `matches`, and returns it.
    pub fn wait_for(&self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let (state, changed) = &*self.shared;
        let deadline = Instant::now() + PATIENCE;
        let mut state = state.lock().unwrap();
        loop {
            let found = state
                .lines
                .iter()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find(|line| matches(line));
            if let Some(line) = found {
                return line;
            }
            let now = Instant::now();
            if state.ended || now > deadline {
                panic!("no log line with {what}; logs:\n{}", state.lines.join("\n"));
            }
            state = changed.wait_timeout(state, deadline - now).unwrap().0;
        }
    }

    /// Number of JSON log lines that satisfy `matches`.
    pub fn count(&self, matches: impl Fn(&Value) -> bool) -> usize {
        self.lines()
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| matches(line))
            .count()
    }

    fn wait_for_end(&self) {
        let (state, changed) = &*self.shared;
        let state = state.lock().unwrap();
        let _ended = changed
            .wait_timeout_while(state, PATIENCE, |state| !state.ended)
            .unwrap();
    }
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("body is not JSON ({err}): {}", self.body))
    }
}

/// Sends one request on a new connection and reads the whole response.
pub fn request(addr: SocketAddr, method: &str, path: &str) -> Response {
    let mut stream = connect(addr);
    stream
        .write_all(request_head(method, path).as_bytes())
        .expect("send request");
    read_response(&mut stream)
}

/// A complete request head that asks the server to close the connection afterwards.
pub fn request_head(method: &str, path: &str) -> String {
    format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect to multiroute");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Reads a response until the server closes the connection.
pub fn read_response(stream: &mut TcpStream) -> Response {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let raw = String::from_utf8(raw).expect("response is UTF-8");
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("incomplete response: {raw:?}"));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {raw:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// Calls `probe` until it returns `Some`, or panics after [`PATIENCE`].
pub fn eventually<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A plain config file in a temporary directory.
pub fn config_file(dir: &Path, content: &str) -> PathBuf {
    let path = dir.join("config.yml");
    std::fs::write(&path, content).unwrap();
    path
}

/// A directory laid out like a ConfigMap volume, updated the way the kubelet does it:
///
/// ```text
/// ..2026_11_27_10_00_00.000000001/config.yml
/// ..data -> ..2026_11_27_10_00_00.000000001
/// config.yml -> ..data/config.yml
/// ```
///
/// An update writes a new timestamped directory, points a `..data_tmp` symlink at it,
/// renames that over `..data`, and removes the old directory.
pub struct ConfigMapVolume {
    dir: PathBuf,
    current: PathBuf,
    version: u32,
}

impl ConfigMapVolume {
    pub fn new(dir: &Path, content: &str) -> Self {
        let mut volume = Self {
            dir: dir.to_owned(),
            current: PathBuf::new(),
            version: 0,
        };
        volume.current = volume.write_version(content);
        std::os::unix::fs::symlink(volume.current.file_name().unwrap(), dir.join("..data"))
            .unwrap();
        std::os::unix::fs::symlink("..data/config.yml", dir.join("config.yml")).unwrap();
        volume
    }

    /// The path the server is given: the `config.yml` symlink.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.yml")
    }

    pub fn update(&mut self, content: &str) {
        let next = self.write_version(content);
        let tmp_link = self.dir.join("..data_tmp");
        std::os::unix::fs::symlink(next.file_name().unwrap(), &tmp_link).unwrap();
        std::fs::rename(&tmp_link, self.dir.join("..data")).unwrap();
        std::fs::remove_dir_all(&self.current).unwrap();
        self.current = next;
    }

    fn write_version(&mut self, content: &str) -> PathBuf {
        self.version += 1;
        let dir = self
            .dir
            .join(format!("..2026_11_27_10_00_00.{:09}", self.version));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("config.yml"), content).unwrap();
        dir
    }
}
