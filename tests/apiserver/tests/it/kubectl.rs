//! kubectl against the server, as a person would use it. Each test skips
//! (and says so) when kubectl is not installed.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use rchart_test_apiserver::{KubeconfigOptions, TestApiServer};
use serde_json::Value;

use crate::support::{Kubectl, PATIENCE, kubectl};

const MANIFESTS: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: demo
  labels:
    app: web
data:
  mode: \"0644\"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
";

fn setup() -> Option<(TestApiServer, Kubectl, tempfile::TempDir)> {
    let binary = kubectl()?;
    let server = TestApiServer::start().expect("start server");
    let kubectl = Kubectl::new(binary, server.kubeconfig_path());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.yaml"), MANIFESTS).unwrap();
    Some((server, kubectl, dir))
}

#[test]
fn create_apply_get_and_delete() {
    let Some((server, kubectl, dir)) = setup() else {
        return;
    };
    let manifests = dir.path().join("app.yaml");
    assert_eq!(
        kubectl.ok(&["create", "namespace", "demo"]).trim(),
        "namespace/demo created"
    );
    let applied = kubectl.ok(&["apply", "--server-side", "-f", manifests.to_str().unwrap()]);
    assert_eq!(
        applied,
        "configmap/web-config serverside-applied\ndeployment.apps/web serverside-applied\n"
    );

    let config_map: Value = serde_json::from_str(&kubectl.ok(&[
        "get",
        "configmap",
        "web-config",
        "-n",
        "demo",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(config_map["data"]["mode"], "0644");
    let deployment: Value =
        serde_json::from_str(&kubectl.ok(&["get", "deploy", "web", "-n", "demo", "-o", "json"]))
            .unwrap();
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
    let stored = server.get("deployments", "demo", "web").unwrap();
    assert_eq!(stored["metadata"]["managedFields"][0]["manager"], "kubectl");
    assert_eq!(stored["metadata"]["managedFields"][0]["operation"], "Apply");

    let yaml = kubectl.ok(&["get", "cm", "web-config", "-n", "demo", "-o", "yaml"]);
    assert!(yaml.contains("name: web-config"), "{yaml}");

    let selected = kubectl.ok(&[
        "get",
        "cm,deploy",
        "-n",
        "demo",
        "-l",
        "app=web",
        "-o",
        "name",
    ]);
    assert_eq!(selected, "configmap/web-config\ndeployment.apps/web\n");
    let none = kubectl.ok(&[
        "get",
        "cm",
        "-n",
        "demo",
        "-l",
        "app in (api,db)",
        "-o",
        "name",
    ]);
    assert_eq!(none, "");

    kubectl.ok(&[
        "wait",
        "--for=condition=Available",
        "deploy/web",
        "-n",
        "demo",
        "--timeout=20s",
    ]);
    let rollout = kubectl.ok(&[
        "rollout",
        "status",
        "deploy/web",
        "-n",
        "demo",
        "--timeout=20s",
    ]);
    assert!(rollout.contains("successfully rolled out"), "{rollout}");

    assert_eq!(
        kubectl.ok(&["delete", "-f", manifests.to_str().unwrap()]),
        "configmap \"web-config\" deleted\ndeployment.apps \"web\" deleted\n"
    );
    let missing = kubectl.run(&["get", "cm", "web-config", "-n", "demo"]);
    assert!(!missing.status.success());
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr),
        "Error from server (NotFound): configmaps \"web-config\" not found\n"
    );
}

#[test]
fn create_and_patch_commands() {
    let Some((server, kubectl, _dir)) = setup() else {
        return;
    };
    kubectl.ok(&["create", "configmap", "settings", "--from-literal=a=1"]);
    kubectl.ok(&[
        "create",
        "secret",
        "generic",
        "creds",
        "--from-literal=user=admin",
    ]);
    kubectl.ok(&["create", "serviceaccount", "robot"]);
    kubectl.ok(&["create", "service", "clusterip", "front", "--tcp=80:8080"]);
    let service = server.get("svc", "default", "front").unwrap();
    assert_eq!(service["spec"]["ports"][0]["targetPort"], 8080);
    assert_eq!(service["spec"]["selector"]["app"], "front");
    kubectl.ok(&["label", "configmap", "settings", "tier=front"]);
    kubectl.ok(&["annotate", "configmap", "settings", "note=hi"]);
    kubectl.ok(&[
        "patch",
        "configmap",
        "settings",
        "-p",
        r#"{"data":{"b":"2"}}"#,
    ]);
    kubectl.ok(&[
        "patch",
        "configmap",
        "settings",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/data/a"}]"#,
    ]);
    let settings = server.get("cm", "default", "settings").unwrap();
    assert_eq!(settings["data"], serde_json::json!({"b": "2"}));
    assert_eq!(settings["metadata"]["labels"]["tier"], "front");
    assert_eq!(settings["metadata"]["annotations"]["note"], "hi");
    let secret = server.get("secret", "default", "creds").unwrap();
    assert_eq!(secret["data"]["user"], "YWRtaW4=");
    assert!(server.get("sa", "default", "robot").is_some());
}

#[test]
fn stale_updates_and_bad_credentials_are_reported() {
    let Some((server, kubectl, dir)) = setup() else {
        return;
    };
    kubectl.ok(&["create", "configmap", "raced", "--from-literal=a=1"]);
    let snapshot = dir.path().join("raced.json");
    std::fs::write(&snapshot, kubectl.ok(&["get", "cm", "raced", "-o", "json"])).unwrap();
    kubectl.ok(&["label", "cm", "raced", "changed=yes"]);
    let stale = kubectl.run(&["replace", "-f", snapshot.to_str().unwrap()]);
    assert!(!stale.status.success());
    let stderr = String::from_utf8_lossy(&stale.stderr);
    assert!(
        stderr.contains(
            "Operation cannot be fulfilled on configmaps \"raced\": the object has been modified"
        ),
        "{stderr}"
    );

    let wrong = server
        .kubeconfig_with(&KubeconfigOptions::default().wrong_token())
        .unwrap();
    // kubectl only sends tokens over TLS, so against this plain-HTTP server a
    // kubeconfig is only refused when it points nowhere.
    let unreachable = server
        .kubeconfig_with(&KubeconfigOptions::default().unreachable())
        .unwrap();
    let output = kubectl
        .with_kubeconfig(&unreachable)
        .run(&["get", "cm", "--request-timeout=5s"]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("connection refused"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        kubectl
            .with_kubeconfig(&wrong)
            .run(&["get", "cm"])
            .status
            .success()
    );
}

#[test]
fn watch_streams_changes() {
    let Some((_server, kubectl, _dir)) = setup() else {
        return;
    };
    let mut watcher = kubectl
        .command(&[
            "get",
            "configmaps",
            "--watch",
            "--output-watch-events",
            "-o",
            "jsonpath={.type} {.object.metadata.name}{\"\\n\"}",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kubectl --watch");
    let stdout = watcher.stdout.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    // The initial list comes first; wait for it before changing anything.
    assert_eq!(
        received.recv_timeout(PATIENCE).unwrap(),
        "ADDED kube-root-ca.crt"
    );
    kubectl.ok(&["create", "configmap", "watched", "--from-literal=a=1"]);
    kubectl.ok(&["delete", "configmap", "watched"]);
    let mut seen = Vec::new();
    while seen.len() < 2 {
        seen.push(received.recv_timeout(PATIENCE).expect("watch event"));
    }
    let _ = watcher.kill();
    let _ = watcher.wait();
    assert_eq!(seen, ["ADDED watched", "DELETED watched"]);
}
