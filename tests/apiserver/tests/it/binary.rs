//! The `rchart-apiserver` binary, as a person starts it by hand.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::PATIENCE;

const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// A running `rchart-apiserver`, stopped when dropped.
struct Running {
    child: Child,
    url: String,
    kubeconfig: String,
}

impl Running {
    fn start(args: &[&str], modes: Option<&str>) -> Running {
        let mut command = Command::new(env!("CARGO_BIN_EXE_rchart-apiserver"));
        command
            .args(args)
            .env_remove("RCHART_TEST_APISERVER_MODES")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(modes) = modes {
            command.env("RCHART_TEST_APISERVER_MODES", modes);
        }
        let mut child = command.spawn().expect("start rchart-apiserver");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut next_line = || lines.next().expect("more output").expect("readable output");
        let listening = next_line();
        let url = listening
            .strip_prefix("rchart test API server listening on ")
            .expect(&listening)
            .to_string();
        let kubeconfig = next_line();
        let kubeconfig = kubeconfig
            .strip_prefix("kubeconfig: ")
            .expect(&kubeconfig)
            .to_string();
        assert_eq!(next_line(), format!("export KUBECONFIG={kubeconfig}"));
        Running {
            child,
            url,
            kubeconfig,
        }
    }

    /// GET `path` without credentials (served as the anonymous user).
    fn get(&self, path: &str, accept: &str) -> (String, Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(PATIENCE))
            .build()
            .into();
        let mut response = agent
            .get(format!("{}{path}", self.url))
            .header("Accept", accept)
            .call()
            .expect("the server answers");
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
        (content_type, body)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn prints_a_kubeconfig_and_serves_until_stopped() {
    let server = Running::start(&["--token", "hand-typed", "--namespace", "sandbox"], None);
    let text = std::fs::read_to_string(&server.kubeconfig).unwrap();
    assert!(text.contains(&format!("server: {}", server.url)), "{text}");
    assert!(text.contains("token: \"hand-typed\""), "{text}");
    assert!(text.contains("namespace: \"sandbox\""), "{text}");
    let (_, version) = server.get("/version", "application/json");
    assert_eq!(version["major"], "1");
}

#[test]
fn modes_come_from_the_environment_and_flags_win_over_them() {
    let server = Running::start(&[], Some("legacy-discovery,slow-link"));
    let started = Instant::now();
    let (content_type, groups) = server.get("/apis", AGGREGATED);
    assert!(started.elapsed() >= Duration::from_millis(25), "slow-link");
    assert_eq!(
        (content_type.as_str(), groups["kind"].as_str()),
        ("application/json", Some("APIGroupList")),
        "legacy-discovery"
    );
    drop(server);

    let server = Running::start(&["--discovery", "aggregated"], Some("legacy-discovery"));
    let (content_type, _) = server.get("/apis", AGGREGATED);
    assert_eq!(content_type, AGGREGATED);
}

#[test]
fn unknown_modes_are_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_rchart-apiserver"))
        .args(["--modes", "legacy-discovery,fast-link"])
        .output()
        .expect("run rchart-apiserver");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown test API server mode `fast-link`; the modes are legacy-discovery, lagging-controllers, slow-link, foreign-managers"),
        "{stderr}"
    );
}
