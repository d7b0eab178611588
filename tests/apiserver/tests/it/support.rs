//! Helpers shared by the integration tests: a small HTTP client, object
//! builders, polling and a kubectl runner.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rchart_test_apiserver::{RecordedRequest, TestApiServer};
use serde_json::{Value, json};

/// Generous, because the machine running tests may be busy.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A server with default options and a client for it.
pub fn server() -> (TestApiServer, Client) {
    let server = TestApiServer::start().expect("start server");
    let client = Client::new(&server);
    (server, client)
}

/// The last logged request with this method.
pub fn last_request(server: &TestApiServer, method: &str) -> RecordedRequest {
    server
        .requests()
        .into_iter()
        .rfind(|r| r.method == method)
        .unwrap_or_else(|| panic!("no {method} request was logged"))
}

/// A response: status, content type, headers, the body as text and as JSON
/// (Null when not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub body: Value,
}

impl Reply {
    /// A response header, by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// An HTTP client for one server, sending its bearer token.
pub struct Client {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl Client {
    pub fn new(server: &TestApiServer) -> Client {
        Client::with_token(server, Some(server.token()))
    }

    pub fn with_token(server: &TestApiServer, token: Option<&str>) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(PATIENCE))
            .build()
            .into();
        Client {
            base: server.url(),
            token: token.map(str::to_string),
            agent,
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(
            "POST",
            path,
            Some("application/json"),
            Some(body.to_string()),
        )
    }

    pub fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(
            "PUT",
            path,
            Some("application/json"),
            Some(body.to_string()),
        )
    }

    pub fn patch(&self, path: &str, content_type: &str, body: &str) -> Reply {
        self.send("PATCH", path, Some(content_type), Some(body.to_string()))
    }

    pub fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, None, None)
    }

    pub fn delete_with(&self, path: &str, options: &Value) -> Reply {
        self.send(
            "DELETE",
            path,
            Some("application/json"),
            Some(options.to_string()),
        )
    }

    /// Send a request; `Err` when the connection failed without a response.
    pub fn try_send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<String>,
    ) -> Result<Reply, ureq::Error> {
        let headers: Vec<(&str, &str)> = content_type
            .map(|c| ("Content-Type", c))
            .into_iter()
            .collect();
        self.request(method, path, &headers, body)
    }

    /// GET a non-JSON body as text.
    pub fn get_text(&self, path: &str) -> String {
        let mut response = self
            .agent
            .get(format!("{}{path}", self.base))
            .call()
            .unwrap_or_else(|error| panic!("GET {path} failed: {error}"));
        response.body_mut().read_to_string().expect("text body")
    }

    /// GET with an `Accept` header.
    pub fn send_with_accept(&self, path: &str, accept: &str) -> Reply {
        self.request("GET", path, &[("Accept", accept)], None)
            .unwrap_or_else(|error| panic!("GET {path} failed: {error}"))
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Reply, ureq::Error> {
        let url = format!("{}{path}", self.base);
        let mut request = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(body.unwrap_or_default())
            .expect("valid request");
        let mut response = self.agent.run(request)?;
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    value.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let content_type = headers
            .iter()
            .find(|(name, _)| name == "content-type")
            .map(|(_, value)| value.clone())
            .unwrap_or_default();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Reply {
            status,
            content_type,
            headers,
            text,
            body,
        })
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<String>,
    ) -> Reply {
        self.try_send(method, path, content_type, body)
            .unwrap_or_else(|error| panic!("{method} {path} failed: {error}"))
    }

    /// Send from another thread, for requests a test holds; join to get the reply.
    pub fn send_in_background(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<String>,
    ) -> std::thread::JoinHandle<Result<Reply, ureq::Error>> {
        let client = Client {
            base: self.base.clone(),
            token: self.token.clone(),
            agent: self.agent.clone(),
        };
        let (method, path) = (method.to_string(), path.to_string());
        let content_type = content_type.map(str::to_string);
        std::thread::spawn(move || client.try_send(&method, &path, content_type.as_deref(), body))
    }

    /// POST a JSON body from another thread (see [`Client::send_in_background`]).
    pub fn post_in_background(
        &self,
        path: &str,
        body: &Value,
    ) -> std::thread::JoinHandle<Result<Reply, ureq::Error>> {
        self.send_in_background(
            "POST",
            path,
            Some("application/json"),
            Some(body.to_string()),
        )
    }

    /// Open a watch; events arrive on the returned stream as they are read.
    pub fn watch(&self, path: &str) -> Watch {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.get(&url);
        if let Some(token) = &self.token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let response = request
            .call()
            .unwrap_or_else(|error| panic!("watch {path} failed: {error}"));
        assert_eq!(response.status().as_u16(), 200, "watch {path}");
        let (sender, events) = mpsc::channel();
        let reader = BufReader::new(response.into_body().into_reader());
        std::thread::spawn(move || {
            for line in reader.lines() {
                let Ok(line) = line else { break };
                let Ok(event) = serde_json::from_str::<Value>(&line) else {
                    break;
                };
                if sender.send(event).is_err() {
                    break;
                }
            }
        });
        Watch { events }
    }
}

/// Events of an open watch.
pub struct Watch {
    events: mpsc::Receiver<Value>,
}

impl Watch {
    /// The next event, waiting up to [`PATIENCE`].
    pub fn next(&self) -> Value {
        self.events
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|error| panic!("no watch event within {PATIENCE:?}: {error}"))
    }

    /// The next event that is not a bookmark.
    pub fn next_change(&self) -> Value {
        loop {
            let event = self.next();
            if event["type"] != "BOOKMARK" {
                return event;
            }
        }
    }

    /// Whether the server ended the stream within `wait`.
    pub fn ends_within(&self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(_) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => return true,
                Err(mpsc::RecvTimeoutError::Timeout) => return false,
            }
        }
    }
}

/// `(type, name)` of a watch event.
pub fn event_summary(event: &Value) -> (String, String) {
    (
        event["type"].as_str().unwrap_or_default().to_string(),
        event["object"]["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

pub fn config_map(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
}

pub fn labelled_config_map(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}})
}

pub fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

pub fn deployment(name: &str, replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]}
            }
        }
    })
}

/// A namespaced CustomResourceDefinition for `widgets.example.com/v1`.
pub fn widgets_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object"}}}]
        }
    })
}

/// Names of the items of a list body.
pub fn item_names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    i["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Poll `check` until it returns `Some`, for up to [`PATIENCE`].
pub fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The kubectl binary: see [`rchart_test_apiserver::kubectl`] for when it skips and when
/// it fails.
pub use rchart_test_apiserver::kubectl;

/// Runs kubectl against one server with its own cache directory.
pub struct Kubectl {
    binary: PathBuf,
    kubeconfig: PathBuf,
    cache: tempfile::TempDir,
}

impl Kubectl {
    pub fn new(binary: PathBuf, kubeconfig: &Path) -> Kubectl {
        Kubectl {
            binary,
            kubeconfig: kubeconfig.to_path_buf(),
            cache: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The same kubectl with another kubeconfig.
    pub fn with_kubeconfig(&self, kubeconfig: &Path) -> Kubectl {
        Kubectl::new(self.binary.clone(), kubeconfig)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run kubectl")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            // A fresh discovery cache: ports are reused across test runs.
            .env("KUBECACHEDIR", self.cache.path())
            .env_remove("HTTPS_PROXY")
            .env_remove("HTTP_PROXY");
        command
    }

    /// Run and require success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}
