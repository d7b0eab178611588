//! Small helpers that keep each test a few readable lines.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The `rchart` binary with an environment that cannot leak in from the machine. It runs
/// outside any project, in an empty directory that is a repository root of its own, so
/// that the repository's rchart.yaml gives no defaults: tests name what they use, and
/// `project.rs` runs inside project layouts of its own.
pub fn rchart() -> Command {
    let mut command = Command::cargo_bin("rchart").expect("the rchart binary is built");
    command
        .env_remove("KUBECONFIG")
        .env_remove("SOURCE_DATE_EPOCH")
        .env("NO_COLOR", "1")
        .current_dir(outside_any_project());
    command
}

/// An empty directory holding only `.git`, where the search for rchart.yaml stops.
fn outside_any_project() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("outside-any-project");
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    dir
}

pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

/// Compares `actual` with `tests/golden/<name>`. Run with `UPDATE_GOLDEN=1` to rewrite
/// the golden file after an intended change: a file that changes is written and the test
/// fails naming it, so an update never passes unseen; review the diff, then run again
/// without the variable.
pub fn assert_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    check_golden(&path, actual, std::env::var_os("UPDATE_GOLDEN").is_some());
}

/// [`assert_golden`] for the file at `path`, updating it when `update`.
fn check_golden(path: &Path, actual: &str, update: bool) {
    let expected = std::fs::read_to_string(path);
    if update {
        if expected.as_deref().ok() != Some(actual) {
            std::fs::write(path, actual).unwrap();
            panic!(
                "UPDATE_GOLDEN: rewrote {}; review the change, then run again without UPDATE_GOLDEN",
                path.display()
            );
        }
        return;
    }
    let expected = expected.unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    if expected != actual {
        let diff = first_difference(&expected, actual);
        panic!(
            "output differs from {}\n{diff}\n--- actual ---\n{actual}",
            path.display()
        );
    }
}

#[test]
fn a_golden_update_writes_the_file_then_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.yaml");
    std::fs::write(&path, "old\n").unwrap();
    let failure = std::panic::catch_unwind(|| check_golden(&path, "new\n", true))
        .expect_err("an update that changes the file fails");
    let message = failure.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with(&format!("UPDATE_GOLDEN: rewrote {}", path.display())),
        "{message}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
    // Nothing to change: nothing to review, so it passes; so does the next plain run.
    check_golden(&path, "new\n", true);
    check_golden(&path, "new\n", false);
    assert!(std::panic::catch_unwind(|| check_golden(&path, "other\n", false)).is_err());
}

fn first_difference(expected: &str, actual: &str) -> String {
    for (number, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
        if e != a {
            return format!("line {}:\n  expected: {e}\n  actual:   {a}", number + 1);
        }
    }
    format!(
        "lengths differ: expected {} lines, got {}",
        expected.lines().count(),
        actual.lines().count()
    )
}

/// Copies a fixture chart into a temporary directory so a test can change it.
pub fn chart_copy(fixture_path: &str) -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let source = fixture(fixture_path);
    let target = temp.path().join(source.file_name().unwrap());
    copy_dir(&source, &target);
    (temp, target)
}

/// Writes a chart (or any tree of files) into `dir`: each `(path, text)` relative to it,
/// with the directories it needs. Returns `dir`.
pub fn write_chart(dir: &Path, files: &[(&str, &str)]) -> PathBuf {
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    dir.to_path_buf()
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// A test API server with the `rchart` binary pointed at it.
pub struct TestCluster {
    pub server: rchart_test_apiserver::TestApiServer,
    /// kubectl's discovery cache: per cluster, because ports are reused between tests.
    kubectl_cache: tempfile::TempDir,
}

impl TestCluster {
    pub fn start() -> Self {
        Self::with(rchart_test_apiserver::TestApiServer::builder())
    }

    /// A test API server from `builder`, in the shapes `RCHART_TEST_APISERVER_MODES` names
    /// (legacy discovery, lagging controllers, a slow link, other field managers), so the
    /// whole suite can run against each.
    pub fn with(builder: rchart_test_apiserver::Builder) -> Self {
        let builder = builder
            .modes_from_env()
            .expect("RCHART_TEST_APISERVER_MODES names known modes");
        Self {
            server: builder.start().expect("the test API server starts"),
            kubectl_cache: tempfile::tempdir().unwrap(),
        }
    }

    /// `rchart` with this cluster's kubeconfig.
    pub fn rchart(&self) -> Command {
        let mut command = rchart();
        command.env("KUBECONFIG", self.server.kubeconfig_path());
        command
    }

    /// Starts `rchart ARGS` against this cluster without waiting for it, with stdout and
    /// stderr piped, in the same environment as [`TestCluster::rchart`].
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        std::process::Command::new(env!("CARGO_BIN_EXE_rchart"))
            .args(args)
            .env_remove("SOURCE_DATE_EPOCH")
            .env("KUBECONFIG", self.server.kubeconfig_path())
            .env("NO_COLOR", "1")
            .current_dir(outside_any_project())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("rchart starts")
    }

    /// Runs `rchart ARGS`, asserting success; returns stdout.
    pub fn run(&self, args: &[&str]) -> String {
        self.run_in(&outside_any_project(), args).0
    }

    /// Runs `rchart ARGS`, asserting success; returns stdout and stderr.
    pub fn run_with_stderr(&self, args: &[&str]) -> (String, String) {
        self.run_in(&outside_any_project(), args)
    }

    /// Runs `rchart ARGS` in `dir`, asserting success; returns stdout and stderr.
    pub fn run_in(&self, dir: &Path, args: &[&str]) -> (String, String) {
        let output = self.rchart().current_dir(dir).args(args).output().unwrap();
        assert!(
            output.status.success(),
            "rchart {} failed:\n{}{}",
            args.join(" "),
            stdout_of(&output),
            stderr_of(&output)
        );
        (stdout_of(&output), stderr_of(&output))
    }

    /// Runs `rchart ARGS`, asserting exit code 1; returns stderr.
    pub fn fail(&self, args: &[&str]) -> String {
        self.fail_in(&outside_any_project(), args)
    }

    /// Runs `rchart ARGS` in `dir`, asserting exit code 1; returns stderr.
    pub fn fail_in(&self, dir: &Path, args: &[&str]) -> String {
        let output = self.rchart().current_dir(dir).args(args).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(1),
            "rchart {} should fail:\n{}{}",
            args.join(" "),
            stdout_of(&output),
            stderr_of(&output)
        );
        stderr_of(&output)
    }

    pub fn get(&self, resource: &str, namespace: &str, name: &str) -> Option<serde_json::Value> {
        self.server.get(resource, namespace, name)
    }

    /// Names of the objects of one kind in a namespace.
    pub fn names(&self, resource: &str, namespace: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .server
            .list(resource, Some(namespace))
            .iter()
            .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        names.sort();
        names
    }

    /// Release record Secrets in a namespace, by name.
    pub fn records(&self, namespace: &str) -> Vec<String> {
        self.names("secrets", namespace)
            .into_iter()
            .filter(|name| name.starts_with("rchart.release.v1."))
            .collect()
    }

    /// `kubectl` against this cluster, or `None` when kubectl is not installed: the check
    /// then skips, visibly, or fails when `CI` is set ([`rchart_test_apiserver::kubectl`]).
    pub fn kubectl(&self) -> Option<std::process::Command> {
        let mut command = std::process::Command::new(rchart_test_apiserver::kubectl()?);
        command
            .env("KUBECONFIG", self.server.kubeconfig_path())
            .env("KUBECACHEDIR", self.kubectl_cache.path());
        Some(command)
    }

    /// What injected faults did since the log was last cleared, one line per request:
    /// `PATCH /apis/apps/v1/namespaces/ns/deployments/web: failed, handled 200, answered
    /// 504`. A test asserts on it to show that the fault it set up really fired.
    pub fn fired(&self) -> Vec<String> {
        self.server
            .requests()
            .iter()
            .filter(|r| !r.injected.is_empty())
            .map(describe_fired)
            .collect()
    }

    /// Asserts that faults acted on exactly the requests `expected` describes, in order
    /// (see [`TestCluster::fired`]).
    #[track_caller]
    pub fn assert_fired(&self, expected: &[&str]) {
        assert_eq!(self.fired(), expected, "what the injected faults did");
    }
}

fn describe_fired(request: &rchart_test_apiserver::RecordedRequest) -> String {
    let injected: Vec<String> = request
        .injected
        .iter()
        .map(|i| format!("{i:?}").to_lowercase())
        .collect();
    let code = |status: Option<u16>| status.map_or("nothing".to_string(), |s| s.to_string());
    format!(
        "{} {}: {}, handled {}, answered {}",
        request.method,
        request.path,
        injected.join(" then "),
        code(request.handled),
        code(request.status)
    )
}

/// A fault on the real write of one object, not on the dry-run check every change sends
/// first: the apply after a passing check fails, as a server error mid-apply would.
pub fn fail_after_check(
    resource: &str,
    name: &str,
    code: u16,
    message: &str,
) -> rchart_test_apiserver::Fault {
    let mut fault = rchart_test_apiserver::Fault::fail_writes_to(resource, name, code, message);
    fault.when.dry_run = Some(false);
    fault
}

/// The real writes (not dry runs) of one object: `PATCH`, `PUT`, `POST` or `DELETE`.
pub fn real_writes_to(resource: &str, name: &str) -> rchart_test_apiserver::RequestMatch {
    rchart_test_apiserver::RequestMatch::of(rchart_test_apiserver::Operation::Write)
        .resource(resource)
        .name(name)
        .dry_run(false)
}

/// The repository's own chart and environment values.
pub fn repo_path(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

/// The namespace `values/dev.yaml` deploys into.
pub const DEV_NS: &str = "backend-dev";

/// The bundled chart, `chart/`.
pub fn bundled_chart() -> String {
    repo_path("chart")
}

/// The development values of the bundled chart.
pub fn dev_values() -> String {
    repo_path("values/dev.yaml")
}

/// `<bundled chart> -f values/dev.yaml -n backend-dev EXTRA…`: what a command on the
/// bundled chart passes after its verb and release name.
pub fn dev_chart_args(extra: &[&str]) -> Vec<String> {
    let mut args = vec![bundled_chart(), "-f".to_string(), dev_values()];
    args.extend(["-n", DEV_NS].iter().chain(extra).map(|s| s.to_string()));
    args
}

/// `VERB NAME <bundled chart> -f values/dev.yaml -n backend-dev EXTRA…`, e.g.
/// `dev_args("upgrade", "web", &["--set", "replicaCount=2"])`.
pub fn dev_args(verb: &str, name: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![verb.to_string(), name.to_string()];
    args.extend(dev_chart_args(extra));
    args
}

/// The arguments as the `&[&str]` that [`TestCluster::run`] and friends take.
pub fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

impl TestCluster {
    /// Installs the bundled chart with the development values as `name`.
    pub fn install_dev(&self, name: &str) -> String {
        self.run(&as_strs(&dev_args(
            "install",
            name,
            &["--create-namespace"],
        )))
    }

    /// The content-hashed ConfigMaps of the bundled chart in `namespace`.
    pub fn config_maps(&self, namespace: &str) -> Vec<String> {
        self.names("configmaps", namespace)
            .into_iter()
            .filter(|name| name.contains("-config-"))
            .collect()
    }

    pub fn create_namespace(&self, namespace: &str) {
        self.server
            .create(serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}))
            .unwrap();
    }

    /// `rchart history NAME -o json`.
    pub fn history(&self, name: &str, namespace: &str) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.run(&["history", name, "-n", namespace, "-o", "json"])).unwrap()
    }
}

impl TestCluster {
    /// Overwrites an object through the API, as a person with kubectl would.
    pub fn replace(&self, object: &serde_json::Value) {
        let metadata = &object["metadata"];
        let name = metadata["name"].as_str().expect("the object has a name");
        let namespace = metadata["namespace"]
            .as_str()
            .expect("the object has a namespace");
        let plural = format!("{}s", object["kind"].as_str().unwrap().to_ascii_lowercase());
        let url = format!(
            "{}/api/v1/namespaces/{namespace}/{plural}/{name}",
            self.server.url()
        );
        let response = ureq::put(&url)
            .header("Authorization", &format!("Bearer {}", self.server.token()))
            .header("Content-Type", "application/json")
            .send(serde_json::to_string(object).unwrap().as_bytes())
            .expect("the object is replaced");
        assert_eq!(response.status(), 200);
    }

    /// Deletes a core (`v1`) object through the API.
    pub fn delete(&self, plural: &str, namespace: &str, name: &str) {
        let url = format!(
            "{}/api/v1/namespaces/{namespace}/{plural}/{name}",
            self.server.url()
        );
        let response = ureq::delete(&url)
            .header("Authorization", &format!("Bearer {}", self.server.token()))
            .call()
            .expect("the object is deleted");
        assert_eq!(response.status(), 200);
    }

    /// Makes a release record unreadable, as a bad hand edit would: its data is no
    /// longer gzip.
    pub fn garble_record(&self, namespace: &str, release: &str, revision: u64) {
        let name = format!("rchart.release.v1.{release}.v{revision}");
        let mut secret = self
            .get("secrets", namespace, &name)
            .unwrap_or_else(|| panic!("Secret {name} exists"));
        secret["data"]["release"] = serde_json::json!("bm90IGd6aXA=");
        self.replace(&secret);
    }
}
