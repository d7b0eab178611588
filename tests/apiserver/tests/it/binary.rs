//! The `rchart-apiserver` binary, as a person starts it by hand.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::support::PATIENCE;

#[test]
fn prints_a_kubeconfig_and_serves_until_stopped() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rchart-apiserver"))
        .args(["--token", "hand-typed", "--namespace", "sandbox"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start rchart-apiserver");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_line = || lines.next().expect("more output").expect("readable output");
    let listening = next_line();
    let url = listening
        .strip_prefix("rchart test API server listening on ")
        .expect(&listening)
        .to_string();
    let kubeconfig = next_line();
    let path = kubeconfig
        .strip_prefix("kubeconfig: ")
        .expect(&kubeconfig)
        .to_string();
    assert_eq!(next_line(), format!("export KUBECONFIG={path}"));

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&format!("server: {url}")), "{text}");
    assert!(text.contains("token: \"hand-typed\""), "{text}");
    assert!(text.contains("namespace: \"sandbox\""), "{text}");

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(PATIENCE))
        .build()
        .into();
    let mut response = agent
        .get(format!("{url}/version"))
        .header("Authorization", "Bearer hand-typed")
        .call()
        .expect("the server answers");
    let version: serde_json::Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(version["major"], "1");

    child.kill().expect("stop the server");
    child.wait().expect("reap the server");
}
