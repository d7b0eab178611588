//! Project mode: from a copy of this repository's layout (rchart.yaml, chart/, values/),
//! the commands work as typed, with no other arguments, against the test API server.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

use crate::support::{TestCluster, copy_dir, repo_path, stderr_of, stdout_of};

/// A copy of the repository's project layout, in a directory of its own that is the
/// root of a repository (so the search for rchart.yaml stops there).
pub struct Layout {
    _temp: tempfile::TempDir,
    pub root: PathBuf,
}

impl Layout {
    pub fn copy() -> Self {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("repo");
        std::fs::create_dir_all(root.join(".git")).unwrap();
        for dir in ["chart", "values"] {
            copy_dir(Path::new(&repo_path(dir)), &root.join(dir));
        }
        std::fs::copy(repo_path("rchart.yaml"), root.join("rchart.yaml")).unwrap();
        Self { _temp: temp, root }
    }

    pub fn write(&self, path: &str, text: &str) {
        let path = self.root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// `rchart ARGS` run from the layout's root against the cluster.
pub fn rchart_in(cluster: &TestCluster, layout: &Layout, args: &[&str]) -> Output {
    cluster
        .rchart()
        .current_dir(&layout.root)
        .args(args)
        .output()
        .unwrap()
}

/// Runs `rchart ARGS` from the layout's root, asserting success: (stdout, stderr).
fn ok(cluster: &TestCluster, layout: &Layout, args: &[&str]) -> (String, String) {
    cluster.run_in(&layout.root, args)
}

/// Runs `rchart ARGS` from the layout's root, asserting exit code 1: stderr.
fn failed(cluster: &TestCluster, layout: &Layout, args: &[&str]) -> String {
    cluster.fail_in(&layout.root, args)
}

/// Production's namespace and the database Secret created there out of band.
fn production(cluster: &TestCluster) {
    cluster.create_namespace("backend");
    db_secret(cluster, "backend");
}

fn db_secret(cluster: &TestCluster, namespace: &str) {
    cluster
        .server
        .create(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "multiroute-db", "namespace": namespace},
            "stringData": {"db_pass": "from-the-vault"},
        }))
        .unwrap();
}

/// The names of the objects rchart manages in `namespace`, as `kind/name`.
fn managed(cluster: &TestCluster, namespace: &str) -> Vec<String> {
    let mut found = Vec::new();
    for resource in [
        "configmaps",
        "secrets",
        "services",
        "deployments",
        "ingresses",
        "poddisruptionbudgets",
    ] {
        for object in cluster.server.list(resource, Some(namespace)) {
            if object["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "rchart" {
                found.push(format!(
                    "{resource}/{}",
                    object["metadata"]["name"].as_str().unwrap()
                ));
            }
        }
    }
    found
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(std::fs::read(path).unwrap());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[test]
fn the_commands_work_as_typed_from_the_repository_root() {
    let cluster = TestCluster::start();
    production(&cluster);
    let layout = Layout::copy();
    let run = |args: &[&str]| ok(&cluster, &layout, args);

    // package: the project chart, into the current directory, with its digest.
    let (out, _) = run(&["package"]);
    let archive = layout.root.join("multiroute-0.1.0.tgz");
    assert!(archive.is_file(), "{out}");
    assert!(out.contains("multiroute-0.1.0.tgz"), "{out}");
    assert!(
        out.contains(&format!("sha256: {}", sha256_hex(&archive))),
        "{out}"
    );

    // template: the project's release and chart, offline.
    let (out, _) = run(&["template"]);
    assert!(
        out.contains("kind: Deployment") && out.contains("  name: multiroute\n"),
        "{out}"
    );

    // install -f values/prod.yaml: production's namespace, from rchart.yaml.
    let (out, err) = run(&["install", "-f", "values/prod.yaml"]);
    assert!(err.contains("namespace backend (environment prod"), "{err}");
    assert!(
        out.contains("NAME: multiroute") && out.contains("NAMESPACE: backend"),
        "{out}"
    );
    assert!(!err.contains("warning"), "multiroute-db exists: {err}");

    // Two upgrades, each with a different route text.
    for text in ["second", "third"] {
        let set = format!("routes./route1={text}");
        run(&["upgrade", "-f", "values/prod.yaml", "--set", &set]);
    }

    // rollback 2: revision 4 is deployed with revision 2's manifest.
    let (out, err) = run(&["rollback", "2"]);
    assert!(out.contains("REVISION: 4"), "{out}");
    assert!(
        err.contains("namespace backend (environment prod, where release multiroute is)"),
        "{err}"
    );
    let manifest = |revision: &str| run(&["get", "manifest", "--revision", revision]).0;
    assert_eq!(manifest("4"), manifest("2"));
    assert!(manifest("4").contains("route2's content") && manifest("4").contains("second"));

    let (out, _) = run(&["history", "-o", "json"]);
    let history: Vec<Value> = serde_json::from_str(&out).unwrap();
    let statuses: Vec<&str> = history
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["superseded", "superseded", "superseded", "deployed"]
    );
    assert_eq!(history[3]["description"], "Rollback to 2");
    let (out, _) = run(&["status"]);
    assert!(
        out.contains("REVISION: 4") && out.contains("STATUS: deployed"),
        "{out}"
    );

    // Every object and every record is in backend, and nowhere else.
    assert_eq!(
        cluster.records("backend"),
        (1..=4)
            .map(|r| format!("rchart.release.v1.multiroute.v{r}"))
            .collect::<Vec<_>>()
    );
    assert!(cluster.records("default").is_empty());
    assert!(managed(&cluster, "default").is_empty());
    let objects = managed(&cluster, "backend");
    for expected in [
        "services/multiroute",
        "deployments/multiroute",
        "ingresses/multiroute",
        "poddisruptionbudgets/multiroute",
    ] {
        assert!(objects.contains(&expected.to_string()), "{objects:?}");
    }
    let config = cluster.config_maps("backend");
    assert_eq!(config.len(), 1, "{config:?}");
    let routes = &cluster.get("configmaps", "backend", &config[0]).unwrap()["data"]["config.yml"];
    assert!(routes.as_str().unwrap().contains("second"), "{routes}");
    if let Some(mut kubectl) = cluster.kubectl() {
        let output = kubectl
            .args([
                "get",
                "deployments,services,configmaps,ingresses,poddisruptionbudgets",
                "--all-namespaces",
                "-l",
                "app.kubernetes.io/managed-by=rchart",
                "-o",
                "jsonpath={range .items[*]}{.metadata.namespace}{\"\\n\"}{end}",
            ])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        let namespaces = stdout_of(&output);
        assert_eq!(namespaces.lines().count(), 5, "{namespaces}");
        assert!(namespaces.lines().all(|ns| ns == "backend"), "{namespaces}");
    }

    // `list -A` reads every namespace, so no namespace choice is reported; plain `list`
    // reports it.
    let list = rchart_in(&cluster, &layout, &["list", "-A"]);
    assert!(list.status.success(), "{}", stderr_of(&list));
    assert!(
        stdout_of(&list).contains("multiroute   backend"),
        "{}",
        stdout_of(&list)
    );
    assert_eq!(stderr_of(&list), "");
    let list = rchart_in(&cluster, &layout, &["list"]);
    assert!(
        stderr_of(&list).starts_with("namespace default (the kube context's;"),
        "{}",
        stderr_of(&list)
    );

    // The diff commands find the release the same way.
    let diff = |args: &[&str]| {
        let output = rchart_in(&cluster, &layout, args);
        (output.status.code(), stderr_of(&output))
    };
    let same_as_4 = [
        "diff",
        "upgrade",
        "-f",
        "values/prod.yaml",
        "--set",
        "routes./route1=second",
    ];
    assert_eq!(diff(&same_as_4).0, Some(0), "no changes");
    let (code, err) = diff(&["diff", "rollback", "3"]);
    assert_eq!(code, Some(2), "revision 3 differs: {err}");
    assert!(
        err.contains("namespace backend (environment prod, where release multiroute is)"),
        "{err}"
    );

    // uninstall: everything goes but what was created out of band.
    let (out, _) = run(&["uninstall"]);
    assert!(out.contains("release \"multiroute\" uninstalled"), "{out}");
    assert!(cluster.records("backend").is_empty());
    assert!(managed(&cluster, "backend").is_empty());
    assert!(cluster.get("secrets", "backend", "multiroute-db").is_some());
}

#[test]
fn a_release_in_two_environments_asks_which_one() {
    let cluster = TestCluster::start();
    production(&cluster);
    let layout = Layout::copy();
    ok(
        &cluster,
        &layout,
        &["install", "-f", "values/dev.yaml", "--create-namespace"],
    );
    ok(&cluster, &layout, &["install", "-f", "values/prod.yaml"]);

    cluster.server.clear_requests();
    let err = failed(&cluster, &layout, &["status"]);
    assert_eq!(
        err.trim_end(),
        "error: release multiroute exists in backend-dev and backend; pass -e or -n"
    );
    // One list request per environment namespace, and nothing else.
    let requests = cluster.server.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/api/v1/namespaces/backend-dev/secrets",
            "/api/v1/namespaces/backend-staging/secrets",
            "/api/v1/namespaces/backend/secrets",
        ]
    );

    let (out, err) = ok(&cluster, &layout, &["status", "-e", "dev"]);
    assert!(out.contains("NAMESPACE: backend-dev"), "{out}");
    assert!(
        err.contains("namespace backend-dev (environment dev)"),
        "{err}"
    );
    let (out, _) = ok(&cluster, &layout, &["status", "-n", "backend"]);
    assert!(out.contains("NAMESPACE: backend"), "{out}");

    // A release in none of them: the kube context's namespace, as without a project.
    let err = failed(&cluster, &layout, &["history", "other"]);
    assert!(
        err.contains("namespace default (the kube context's; release other is in none of the environments of rchart.yaml)")
            && err.contains("release \"other\" not found in namespace \"default\""),
        "{err}"
    );
}

#[test]
fn a_numeric_release_name_is_refused_before_anything_changes() {
    let cluster = TestCluster::start();
    production(&cluster);
    let layout = Layout::copy();
    let before = cluster.server.resource_version();
    for args in [
        &["install", "123", "-f", "values/prod.yaml"][..],
        &["install", "123", "chart", "-f", "values/prod.yaml"],
        &["upgrade", "--install", "2", "-f", "values/prod.yaml"],
    ] {
        let err = failed(&cluster, &layout, args);
        assert!(
            err.contains("release name \"123\" is all digits")
                || err.contains("release name \"2\" is all digits"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(cluster.server.resource_version(), before, "nothing changed");
}

#[test]
fn n_overrides_the_environment_and_missing_references_are_named() {
    let cluster = TestCluster::start();
    let layout = Layout::copy();
    cluster.create_namespace("backend");
    // Without the out-of-band Secret, --strict-refs stops before any object or record
    // is written (the lock is taken and given back).
    cluster.server.clear_requests();
    let err = failed(
        &cluster,
        &layout,
        &["install", "-f", "values/prod.yaml", "--strict-refs"],
    );
    assert!(
        err.contains("Deployment backend/multiroute refers to Secret multiroute-db, which the chart does not render and namespace backend does not hold (--strict-refs)"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 2, "{err}");
    assert_only_the_lock_was_written(&cluster);
    assert!(cluster.names("leases", "backend").is_empty());

    // -n wins over the environment; without --strict-refs the reference is a warning.
    let (out, err) = ok(
        &cluster,
        &layout,
        &[
            "install",
            "-f",
            "values/prod.yaml",
            "-n",
            "other",
            "--create-namespace",
        ],
    );
    assert!(out.contains("NAMESPACE: other"), "{out}");
    assert!(
        err.contains("namespace other (-n, not environment prod's backend)"),
        "{err}"
    );
    assert!(
        err.contains("warning: Deployment other/multiroute refers to Secret multiroute-db, which the chart does not render and namespace other does not hold"),
        "{err}"
    );
    assert_eq!(
        cluster.records("other"),
        ["rchart.release.v1.multiroute.v1"]
    );
    assert!(managed(&cluster, "other").contains(&"deployments/multiroute".to_string()));
    assert!(cluster.records("backend").is_empty() && managed(&cluster, "backend").is_empty());
}

/// Since the requests were last cleared, the only writes were the lock's.
fn assert_only_the_lock_was_written(cluster: &TestCluster) {
    let writes: Vec<String> = cluster
        .server
        .requests()
        .iter()
        .filter(|r| r.is_write())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        !writes.is_empty() && writes.iter().all(|w| w.contains("/leases")),
        "{writes:?}"
    );
}

/// A template that puts a ConfigMap in a namespace of its own choosing.
const STRAY: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stray\n  namespace: elsewhere\ndata:\n  a: b\n";

#[test]
fn an_object_outside_the_release_namespace_is_refused_unless_the_chart_opts_in() {
    let cluster = TestCluster::start();
    production(&cluster);
    cluster.create_namespace("elsewhere");
    let layout = Layout::copy();
    layout.write("chart/templates/stray.yaml", STRAY);
    let expected = [
        "ConfigMap elsewhere/stray (templates/stray.yaml) is in namespace \"elsewhere\", not the release namespace \"backend\"",
        "annotations: {rchart.io/multi-namespace: \"true\"}",
    ];

    let err = failed(&cluster, &layout, &["template", "-e", "prod"]);
    for fragment in expected {
        assert!(err.contains(fragment), "template: {err}");
    }
    cluster.server.clear_requests();
    let err = failed(&cluster, &layout, &["install", "-f", "values/prod.yaml"]);
    for fragment in expected {
        assert!(err.contains(fragment), "install: {err}");
    }
    assert!(cluster.records("backend").is_empty());
    assert!(managed(&cluster, "backend").is_empty() && managed(&cluster, "elsewhere").is_empty());
    assert!(
        cluster.names("leases", "backend").is_empty(),
        "the lock was released"
    );
    assert_only_the_lock_was_written(&cluster);

    // A kind only the cluster knows is namespaced is refused when the install plans.
    cluster
        .server
        .create(json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "gadgets.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}],
            },
        }))
        .unwrap();
    // Served from now on, whatever delay the server's mode gives new CRDs.
    cluster.server.establish_crds();
    std::fs::remove_file(layout.root.join("chart/templates/stray.yaml")).unwrap();
    layout.write(
        "chart/templates/gadget.yaml",
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n  namespace: elsewhere\n",
    );
    ok(&cluster, &layout, &["template", "-e", "prod"]);
    let err = failed(&cluster, &layout, &["install", "-f", "values/prod.yaml"]);
    assert!(
        err.contains("Gadget elsewhere/g (templates/gadget.yaml) is in namespace \"elsewhere\""),
        "{err}"
    );
    assert!(cluster.records("backend").is_empty());

    // Opted in: both objects go where the chart says.
    layout.write("chart/templates/stray.yaml", STRAY);
    let chart_yaml = std::fs::read_to_string(layout.root.join("chart/Chart.yaml")).unwrap();
    layout.write(
        "chart/Chart.yaml",
        &format!("{chart_yaml}annotations:\n  rchart.io/multi-namespace: \"true\"\n"),
    );
    ok(&cluster, &layout, &["install", "-f", "values/prod.yaml"]);
    assert!(cluster.get("configmaps", "elsewhere", "stray").is_some());
    assert!(cluster.get("gadgets", "elsewhere", "g").is_some());
    assert_eq!(
        cluster.records("backend"),
        ["rchart.release.v1.multiroute.v1"]
    );
}

#[test]
fn the_environment_values_apply_before_the_files_given() {
    let cluster = TestCluster::start();
    let layout = Layout::copy();
    layout.write("values/extra.yaml", "replicas: 7\n");
    let (out, err) = ok(
        &cluster,
        &layout,
        &["template", "-e", "staging", "-f", "values/extra.yaml"],
    );
    assert!(
        err.contains("namespace backend-staging (environment staging)"),
        "{err}"
    );
    // staging.yaml's host, and extra.yaml's replicas over staging.yaml's 2.
    assert!(out.contains("multiroute.staging.example.com"), "{out}");
    assert!(out.contains("replicas: 7"), "{out}");
    assert!(out.contains("namespace: backend-staging"), "{out}");

    let err = failed(
        &cluster,
        &layout,
        &[
            "template",
            "-f",
            "values/dev.yaml",
            "-f",
            "values/prod.yaml",
        ],
    );
    assert!(
        err.contains("the -f files belong to different environments (-f values/dev.yaml is dev's, -f values/prod.yaml is prod's); pass -e to pick one, or -n"),
        "{err}"
    );
    let err = failed(&cluster, &layout, &["template", "-e", "qa"]);
    assert_eq!(
        err.trim_end(),
        "error: -e qa: rchart.yaml has no environment \"qa\" (it has: dev, staging, prod)"
    );
}

#[test]
fn without_a_project_the_chart_is_found_in_the_directory() {
    let cluster = TestCluster::start();
    let layout = Layout::copy();
    std::fs::remove_file(layout.root.join("rchart.yaml")).unwrap();
    // ./chart, named after the chart.
    let (out, err) = ok(&cluster, &layout, &["template"]);
    assert!(out.contains("  name: multiroute\n"), "{out}");
    assert!(err.is_empty(), "no project, nothing to say: {err}");
    // . inside the chart.
    let (out, _) = cluster.run_in(&layout.root.join("chart"), &["template"]);
    assert!(
        out.contains("# Source: multiroute/templates/deployment.yaml"),
        "{out}"
    );
    // Nowhere: an error saying where it looked.
    let output = cluster
        .rchart()
        .current_dir(layout.root.join("values"))
        .arg("template")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr_of(&output);
    assert!(
        err.starts_with("error: no chart given, and none found: no rchart.yaml in")
            && err.contains("no ./chart/Chart.yaml, no ./Chart.yaml"),
        "{err}"
    );
}
