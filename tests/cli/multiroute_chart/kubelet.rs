//! Playing the kubelet: the Deployment's container started as a local process, with its
//! volumes, arguments and environment resolved from the rendered manifests.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::http::http_get;
use super::manifests::{Rendered, container, decoded_secret_value, resolve_container_port};
use crate::support::{stderr_of, stdout_of};

/// Long enough for a loaded 2-core machine; every wait polls and returns as soon as it can.
pub(super) const PATIENCE: Duration = Duration::from_secs(60);

/// A Secret that exists in the cluster without being part of the release.
pub(super) struct ExternalSecret {
    pub(super) namespace: &'static str,
    pub(super) name: &'static str,
    pub(super) key: &'static str,
    pub(super) value: &'static str,
}

/// The Deployment's container running as a local `multiroute` process.
pub(super) struct RunningPod {
    _process: Process,
    addr: SocketAddr,
    /// The container port the server listens on inside the pod.
    pub(super) container_port: u16,
    log: PathBuf,
    _volumes: tempfile::TempDir,
}

impl RunningPod {
    pub(super) fn get(&self, path: &str) -> (u16, String) {
        http_get(self.addr, path)
            .unwrap_or_else(|e| panic!("GET {path}: {e}\nserver log:\n{}", read_log(&self.log)))
    }
}

/// A child process that is killed when dropped, also when a test fails half-way.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the Deployment's container as the kubelet would: its volumes populated, its
/// arguments and environment resolved, then waits until its readiness probe passes.
/// Only the listen address differs: a free port of 127.0.0.1 instead of the pod's own IP.
pub(super) fn start_pod(rendered: &Rendered, external_secrets: &[ExternalSecret]) -> RunningPod {
    let deployment = rendered.one("Deployment");
    let namespace = deployment["metadata"]["namespace"].as_str().unwrap();
    let pod = &deployment["spec"]["template"]["spec"];
    let container = container(deployment);
    let volumes = tempfile::tempdir().unwrap();

    let mounts = populate_volumes(rendered, namespace, pod, container, volumes.path());
    let arguments = command_line(container, &mounts);
    let mut environment = environment(rendered, namespace, container, external_secrets);

    // The listen address the chart gives the server must be the port that the probes and
    // the Service reach; the process then listens on a free local port instead.
    let listen = environment
        .iter()
        .position(|(name, _)| name == "MULTIROUTE_LISTEN")
        .expect("the chart sets the listen address (MULTIROUTE_LISTEN) explicitly");
    let declared: SocketAddr = environment[listen].1.parse().unwrap();
    let container_port = resolve_container_port(container, &Value::from("http"));
    assert_eq!(
        declared.port(),
        container_port,
        "MULTIROUTE_LISTEN must be the container port named http"
    );

    let readiness_path = container["readinessProbe"]["httpGet"]["path"]
        .as_str()
        .unwrap();
    let log = volumes.path().join("server.log");
    // A port found free can be taken by someone else before the server binds it: the
    // server then exits, and another port is tried.
    let mut attempts = 3;
    loop {
        let addr = free_local_address();
        environment[listen].1 = addr.to_string();
        let log_file = std::fs::File::create(&log).unwrap();
        let mut process = Process(
            Command::new(multiroute_binary())
                .args(&arguments)
                .env_clear()
                .envs(environment.iter().map(|(name, value)| (name, value)))
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().unwrap())
                .stderr(log_file)
                .spawn()
                .expect("start multiroute"),
        );
        attempts -= 1;
        match wait_until_ready(&mut process, addr, readiness_path, &log) {
            Ok(()) => {
                return RunningPod {
                    _process: process,
                    addr,
                    container_port,
                    log,
                    _volumes: volumes,
                };
            }
            Err(log_text) if log_text.contains("cannot listen") && attempts > 0 => {}
            Err(log_text) => {
                panic!("multiroute exited before it was ready: {arguments:?}\n{log_text}")
            }
        }
    }
}

/// Runs the chart's `test` hook Pod as the kubelet would, against the running server: its
/// container is the image's `multiroute` binary with the Pod's arguments, and the Service
/// address those name is where `pod` listens. Panics unless every route checks out.
pub(super) fn run_test_pod(rendered: &Rendered, pod: &RunningPod) {
    let test = rendered
        .all("Pod")
        .into_iter()
        .find(|p| p["metadata"]["annotations"]["rchart.io/hook"] == "test")
        .expect("the chart renders a test hook Pod");
    assert_eq!(test["spec"]["restartPolicy"], "Never");
    let service = rendered.one("Service");
    let port = &service["spec"]["ports"][0];
    assert_eq!(
        resolve_container_port(container(rendered.one("Deployment")), &port["targetPort"]),
        pod.container_port,
        "the Service's port reaches the server"
    );
    let through_service = format!(
        "http://{}.{}.svc:{}/",
        service["metadata"]["name"].as_str().unwrap(),
        service["metadata"]["namespace"].as_str().unwrap(),
        port["port"]
    );
    let check = &test["spec"]["containers"][0];
    assert!(
        check.get("command").is_none(),
        "the image's entrypoint runs"
    );
    assert_eq!(
        check["image"],
        container(rendered.one("Deployment"))["image"]
    );
    let arguments: Vec<String> = check["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|argument| {
            let argument = argument.as_str().unwrap();
            match argument.strip_prefix(&through_service) {
                Some(path) => format!("http://{}/{path}", pod.addr),
                None => argument.to_string(),
            }
        })
        .collect();
    let output = Command::new(multiroute_binary())
        .args(&arguments)
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .expect("run multiroute check");
    assert!(
        output.status.success(),
        "the test Pod failed: {arguments:?}\n{}{}",
        stdout_of(&output),
        stderr_of(&output)
    );
}

/// Writes each mounted ConfigMap's data into a directory standing in for its volume, and
/// returns mount path → directory. The ConfigMap must be part of the release, in the
/// pod's namespace, since the kubelet would not start the pod otherwise.
fn populate_volumes(
    rendered: &Rendered,
    namespace: &str,
    pod: &Value,
    container: &Value,
    root: &Path,
) -> Vec<(String, PathBuf)> {
    let mut mounts = Vec::new();
    for mount in container["volumeMounts"].as_array().unwrap() {
        let name = mount["name"].as_str().unwrap();
        let volume = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|volume| volume["name"] == name)
            .unwrap_or_else(|| panic!("volumeMount {name} has no volume"));
        let config_map_name = volume["configMap"]["name"]
            .as_str()
            .unwrap_or_else(|| panic!("volume {name} is not a ConfigMap"));
        let config_map = rendered
            .named("ConfigMap", config_map_name)
            .unwrap_or_else(|| {
                panic!(
                    "the pod mounts ConfigMap {config_map_name}, which the chart does not render"
                )
            });
        assert_eq!(config_map["metadata"]["namespace"], namespace);
        let directory = root.join(name);
        std::fs::create_dir(&directory).unwrap();
        for (file, content) in config_map["data"].as_object().unwrap() {
            std::fs::write(directory.join(file), content.as_str().unwrap()).unwrap();
        }
        let mount_path = mount["mountPath"].as_str().unwrap();
        mounts.push((mount_path.trim_end_matches('/').to_string(), directory));
    }
    mounts
}

/// The container's arguments with paths under a mount moved to its stand-in directory.
/// The image's entrypoint is the `multiroute` binary; a `command` may only name it again.
fn command_line(container: &Value, mounts: &[(String, PathBuf)]) -> Vec<String> {
    let strings = |field: &str| -> Vec<String> {
        container[field]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|item| item.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let command = strings("command");
    if let Some(program) = command.first() {
        assert!(
            program.ends_with("/multiroute") || program == "multiroute",
            "the container runs {program}, not the multiroute server"
        );
    }
    command
        .into_iter()
        .skip(1)
        .chain(strings("args"))
        .map(|argument| {
            for (mount_path, directory) in mounts {
                if let Some(rest) = argument.strip_prefix(&format!("{mount_path}/")) {
                    return directory.join(rest).display().to_string();
                }
            }
            argument
        })
        .collect()
}

/// The container's environment, `secretKeyRef`s resolved from the release's Secrets or
/// from Secrets created out of band, in the pod's namespace.
fn environment(
    rendered: &Rendered,
    namespace: &str,
    container: &Value,
    external_secrets: &[ExternalSecret],
) -> Vec<(String, String)> {
    container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|variable| {
            let name = variable["name"].as_str().unwrap().to_string();
            if let Some(value) = variable["value"].as_str() {
                return (name, value.to_string());
            }
            let reference = &variable["valueFrom"]["secretKeyRef"];
            let secret_name = reference["name"]
                .as_str()
                .unwrap_or_else(|| panic!("env {name}: only value and secretKeyRef are supported"));
            let key = reference["key"].as_str().unwrap();
            let value = match rendered.named("Secret", secret_name) {
                Some(secret) => {
                    assert_eq!(secret["metadata"]["namespace"], namespace);
                    decoded_secret_value(secret, key)
                }
                None => external_secrets
                    .iter()
                    .find(|s| s.namespace == namespace && s.name == secret_name && s.key == key)
                    .unwrap_or_else(|| {
                        panic!("env {name}: Secret {namespace}/{secret_name} key {key} exists neither in the release nor in the cluster")
                    })
                    .value
                    .to_string(),
            };
            (name, value)
        })
        .collect()
}

/// Polls the readiness probe like the kubelet. `Err` holds the log when the process exits.
fn wait_until_ready(
    process: &mut Process,
    addr: SocketAddr,
    readiness_path: &str,
    log: &Path,
) -> Result<(), String> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = process.0.try_wait().unwrap() {
            return Err(format!("{status}\n{}", read_log(log)));
        }
        match http_get(addr, readiness_path) {
            Ok((200, _)) => return Ok(()),
            // 503 is "not ready yet"; anything else will never turn into 200.
            Ok((status, body)) if status != 503 => {
                panic!("readiness probe GET {readiness_path} answered {status}: {body}")
            }
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "multiroute was not ready within {PATIENCE:?}\n{}",
            read_log(log)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn free_local_address() -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap()
}

/// The `multiroute` binary, built once per test run. It belongs to another package, so
/// cargo does not provide it to rchart's tests; cargo's JSON messages say where it is,
/// whatever the target directory. It is built with the whole workspace's features, as
/// `cargo test --workspace` builds it: built for its package alone, its dependencies'
/// features differ, and cargo would rebuild it (and them) on every alternation.
fn multiroute_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
        let mut command = Command::new(cargo);
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--workspace", "--bin", "multiroute"])
            .arg("--message-format=json-render-diagnostics");
        if !cfg!(debug_assertions) {
            command.arg("--release");
        }
        let output = command.stderr(Stdio::piped()).output().expect("run cargo");
        assert!(
            output.status.success(),
            "cargo build --workspace --bin multiroute failed:\n{}",
            stderr_of(&output)
        );
        stdout_of(&output)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|message| {
                message["reason"] == "compiler-artifact"
                    && message["target"]["name"] == "multiroute"
                    && message["target"]["kind"]
                        .as_array()
                        .is_some_and(|kinds| kinds.iter().any(|kind| kind == "bin"))
            })
            .find_map(|message| message["executable"].as_str().map(PathBuf::from))
            .expect("cargo reported no multiroute executable")
    })
}
