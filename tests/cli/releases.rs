//! Releases against the test API server: the real binary, real HTTP, real state.

use rchart_test_apiserver::{CrdEstablishment, Operation, RequestMatch};
use serde_json::{Value, json};

use crate::support::{
    DEV_NS, TestCluster, as_strs, bundled_chart, dev_args, dev_chart_args, fail_after_check,
    stderr_of, stdout_of, write_chart,
};

const NS: &str = DEV_NS;

/// The bundled chart's Deployment, as its requests' paths end.
const DEPLOYMENT_PATH: &str = "/apis/apps/v1/namespaces/backend-dev/deployments/web-multiroute";

fn record_status(cluster: &TestCluster, name: &str, revision: u64) -> String {
    let secret = cluster
        .get(
            "secrets",
            NS,
            &format!("rchart.release.v1.{name}.v{revision}"),
        )
        .unwrap_or_else(|| panic!("no record for revision {revision}"));
    secret["metadata"]["labels"]["status"]
        .as_str()
        .unwrap()
        .to_string()
}

fn deployment_config_map(cluster: &TestCluster, name: &str) -> String {
    let deployment = cluster
        .get("deployments", NS, &format!("{name}-multiroute"))
        .expect("the Deployment exists");
    deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|v| v["configMap"]["name"].as_str())
        .expect("the Deployment mounts a ConfigMap")
        .to_string()
}

fn assert_stamped(object: &Value, release: &str) {
    let metadata = &object["metadata"];
    assert_eq!(
        metadata["labels"]["app.kubernetes.io/managed-by"], "rchart",
        "{metadata}"
    );
    assert_eq!(
        metadata["annotations"]["rchart.io/release-name"], release,
        "{metadata}"
    );
    assert_eq!(
        metadata["annotations"]["rchart.io/release-namespace"], NS,
        "{metadata}"
    );
}

#[test]
fn install_upgrade_rollback_and_history() {
    let cluster = TestCluster::start();

    // 1. Install: revision 1 deployed, every object present and stamped, NOTES printed.
    let out = cluster.install_dev("web");
    assert!(
        out.contains("REVISION: 1") && out.contains("STATUS: deployed"),
        "{out}"
    );
    assert!(out.contains("NOTES:"), "{out}");
    assert_eq!(cluster.records(NS), ["rchart.release.v1.web.v1"]);
    assert_eq!(record_status(&cluster, "web", 1), "deployed");
    let first_config = cluster.config_maps(NS);
    assert_eq!(first_config.len(), 1, "{first_config:?}");
    for (resource, name) in [
        ("configmaps", first_config[0].as_str()),
        ("secrets", "web-multiroute-dev-db"),
        ("services", "web-multiroute"),
        ("deployments", "web-multiroute"),
        ("ingresses", "web-multiroute"),
    ] {
        let object = cluster
            .get(resource, NS, name)
            .unwrap_or_else(|| panic!("{resource}/{name} is missing"));
        assert_stamped(&object, "web");
    }
    assert_eq!(deployment_config_map(&cluster, "web"), first_config[0]);

    // 2. Upgrade with a changed route: a new ConfigMap, the old one pruned.
    let out = cluster.run(&as_strs(&dev_args(
        "upgrade",
        "web",
        &["--set", "routes./route1=changed"],
    )));
    assert!(out.contains("REVISION: 2"), "{out}");
    assert_eq!(record_status(&cluster, "web", 1), "superseded");
    assert_eq!(record_status(&cluster, "web", 2), "deployed");
    let second_config = cluster.config_maps(NS);
    assert_eq!(
        second_config.len(),
        1,
        "the old ConfigMap is pruned: {second_config:?}"
    );
    assert_ne!(second_config, first_config);
    assert_eq!(deployment_config_map(&cluster, "web"), second_config[0]);
    let data = &cluster.get("configmaps", NS, &second_config[0]).unwrap()["data"]["config.yml"];
    assert!(data.as_str().unwrap().contains("changed"), "{data}");

    // 3. Rollback to 1: revision 3 with revision 1's manifest; the old ConfigMap is back.
    let out = cluster.run(&["rollback", "web", "1", "-n", NS]);
    assert!(out.contains("revision 3"), "{out}");
    assert_eq!(cluster.config_maps(NS), first_config);
    assert_eq!(deployment_config_map(&cluster, "web"), first_config[0]);
    assert_eq!(record_status(&cluster, "web", 2), "superseded");
    assert_eq!(record_status(&cluster, "web", 3), "deployed");
    let manifest =
        |revision: &str| cluster.run(&["get", "manifest", "web", "-n", NS, "--revision", revision]);
    assert_eq!(manifest("3"), manifest("1"));

    // 4. History in table and JSON form; values of one revision.
    let table = cluster.run(&["history", "web", "-n", NS]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(
        lines[0].starts_with("REVISION") && lines[3].contains("Rollback to 1"),
        "{table}"
    );
    let json: Value =
        serde_json::from_str(&cluster.run(&["history", "web", "-n", NS, "-o", "json"])).unwrap();
    let statuses: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["superseded", "superseded", "deployed"]);
    assert_eq!(json[2]["description"], "Rollback to 1");
    let values = cluster.run(&["get", "values", "web", "-n", NS, "--revision", "2"]);
    assert!(values.contains("/route1: changed"), "{values}");
    let yaml = cluster.run(&["history", "web", "-n", NS, "-o", "yaml"]);
    assert!(yaml.contains("status: deployed"), "{yaml}");
}

#[test]
fn uninstall_removes_objects_and_records_unless_history_is_kept() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    cluster.run(&["uninstall", "web", "-n", NS, "--keep-history"]);
    assert!(cluster.config_maps(NS).is_empty());
    assert!(cluster.names("deployments", NS).is_empty());
    assert_eq!(cluster.records(NS), ["rchart.release.v1.web.v1"]);
    assert_eq!(record_status(&cluster, "web", 1), "uninstalled");
    let listed = cluster.run(&["list", "-n", NS, "--all"]);
    assert!(listed.contains("uninstalled"), "{listed}");
    assert!(!cluster.run(&["list", "-n", NS]).contains("web"));

    cluster.run(&["uninstall", "web", "-n", NS]);
    assert!(cluster.records(NS).is_empty());

    cluster.install_dev("api");
    cluster.run(&["uninstall", "api", "-n", NS]);
    assert!(cluster.records(NS).is_empty());
    for resource in [
        "configmaps",
        "secrets",
        "services",
        "deployments",
        "ingresses",
    ] {
        let left: Vec<String> = cluster
            .names(resource, NS)
            .into_iter()
            .filter(|n| n.starts_with("api-"))
            .collect();
        assert!(left.is_empty(), "{resource}: {left:?}");
    }
}

#[test]
fn upgrade_install_installs_and_install_refuses_an_existing_name() {
    let cluster = TestCluster::start();
    let out = cluster.run(&as_strs(&dev_args(
        "upgrade",
        "web",
        &["--install", "--create-namespace"],
    )));
    assert!(
        out.contains("REVISION: 1") && out.contains("STATUS: deployed"),
        "{out}"
    );
    let err = cluster.fail(&as_strs(&dev_args("install", "web", &[])));
    assert!(
        err.contains("release \"web\" already exists in namespace \"backend-dev\""),
        "{err}"
    );
    let err = cluster.fail(&["upgrade", "nope", &bundled_chart(), "-n", NS]);
    assert!(
        err.contains("release \"nope\" not found") && err.contains("--install"),
        "{err}"
    );
}

/// `--dry-run` on install and on upgrade: the manifests are printed and checked by the
/// server (`dryRun=All`), and nothing is written, not even the lock.
#[test]
fn dry_runs_store_nothing() {
    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    let dry_run = |verb: &str, extra: &[&str]| {
        let mut args = extra.to_vec();
        args.push("--dry-run");
        cluster.server.clear_requests();
        // Lagging controllers may still be writing the status of what came before: they
        // wait, so that any write now would be the dry run's.
        cluster.server.pause_controller();
        let before = cluster.server.resource_version();
        let printed = cluster.run(&as_strs(&dev_args(verb, "web", &args)));
        assert!(printed.contains("kind: Deployment"), "{printed}");
        assert_eq!(
            cluster.server.resource_version(),
            before,
            "{verb}: nothing was written"
        );
        cluster.server.resume_controller();
        let requests = cluster.server.requests();
        let checks = requests
            .iter()
            .filter(|r| r.method == "PATCH" && r.query_param("dryRun").as_deref() == Some("All"))
            .count();
        assert_eq!(checks, 5, "{verb}: every object is validated by the server");
        assert!(
            requests
                .iter()
                .filter(|r| r.is_write())
                .all(|r| r.query_param("dryRun").as_deref() == Some("All")),
            "{verb}: no write but dry runs: {requests:#?}"
        );
        printed
    };

    dry_run("install", &[]);
    assert!(cluster.records(NS).is_empty());
    assert!(cluster.config_maps(NS).is_empty() && cluster.names("deployments", NS).is_empty());

    cluster.install_dev("web");
    let config_maps = cluster.config_maps(NS);
    let printed = dry_run("upgrade", &["--set", "routes./route1=dry"]);
    assert!(printed.contains("/route1: dry"), "{printed}");
    assert_eq!(cluster.records(NS), ["rchart.release.v1.web.v1"]);
    assert_eq!(cluster.config_maps(NS), config_maps);
}

/// A dry run into a namespace that does not exist says what the real run would: without
/// `--create-namespace` the same error, and with it, a preview in which the server checks
/// the Namespace (as a dry run) and nothing in it, which it cannot.
#[test]
fn a_dry_run_into_a_missing_namespace_says_what_the_real_run_would() {
    let cluster = TestCluster::start();
    let err = cluster.fail(&as_strs(&dev_args("install", "web", &["--dry-run"])));
    assert_eq!(
        err.trim_end(),
        "error: namespace \"backend-dev\" does not exist (install and upgrade create it with --create-namespace)"
    );
    for verb in [&["install"][..], &["upgrade", "--install"]] {
        cluster.server.clear_requests();
        let mut args = verb.to_vec();
        args.push("web");
        let extra = ["--create-namespace", "--dry-run"];
        let (printed, stderr) =
            cluster.run_with_stderr(&[args, as_strs(&dev_chart_args(&extra))].concat());
        assert!(printed.contains("kind: Deployment"), "{printed}");
        assert!(
            stderr.contains("dry run: the namespace does not exist yet, so the server checked only the namespace and the objects outside it; nothing was stored"),
            "{stderr}"
        );
        let writes: Vec<String> = cluster
            .server
            .requests()
            .iter()
            .filter(|r| r.is_write())
            .map(|r| {
                format!(
                    "{} {} dryRun={:?}",
                    r.method,
                    r.path,
                    r.query_param("dryRun")
                )
            })
            .collect();
        assert_eq!(
            writes,
            ["POST /api/v1/namespaces dryRun=Some(\"All\")"],
            "{verb:?}"
        );
        assert!(cluster.server.get("namespaces", "", NS).is_none());
    }
    // The real run does what the preview said.
    cluster.run(&as_strs(&dev_args(
        "install",
        "web",
        &["--create-namespace"],
    )));
    assert_eq!(cluster.records(NS), ["rchart.release.v1.web.v1"]);
}

#[test]
fn foreign_objects_in_the_way_stop_the_install_before_any_change() {
    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    cluster
        .server
        .create(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-multiroute", "namespace": NS}, "spec": {"ports": [{"port": 80}]}}))
        .unwrap();
    let other_release =
        json!({"rchart.io/release-name": "other", "rchart.io/release-namespace": NS});
    cluster
        .server
        .create(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web-multiroute-dev-db", "namespace": NS, "annotations": other_release}}))
        .unwrap();
    let version_of = |resource: &str, name: &str| {
        cluster.get(resource, NS, name).unwrap()["metadata"]["resourceVersion"].clone()
    };
    let before = (
        version_of("services", "web-multiroute"),
        version_of("secrets", "web-multiroute-dev-db"),
    );
    let err = cluster.fail(&as_strs(&dev_args("install", "web", &[])));
    assert!(
        err.contains("Service backend-dev/web-multiroute (no release)"),
        "{err}"
    );
    assert!(
        err.contains("Secret backend-dev/web-multiroute-dev-db (release backend-dev/other)"),
        "{err}"
    );
    assert!(
        err.contains("nothing was changed") && err.contains("--take-ownership"),
        "{err}"
    );
    let after = (
        version_of("services", "web-multiroute"),
        version_of("secrets", "web-multiroute-dev-db"),
    );
    assert_eq!(before, after, "the foreign objects are untouched");
    assert!(cluster.records(NS).is_empty());
    assert!(cluster.config_maps(NS).is_empty() && cluster.names("deployments", NS).is_empty());
    assert!(
        cluster.names("leases", NS).is_empty(),
        "the lock was released"
    );

    let out = cluster.run(&as_strs(&dev_args("install", "web", &["--take-ownership"])));
    assert!(out.contains("STATUS: deployed"), "{out}");
    assert_stamped(
        &cluster.get("services", NS, "web-multiroute").unwrap(),
        "web",
    );
    assert_stamped(
        &cluster.get("secrets", NS, "web-multiroute-dev-db").unwrap(),
        "web",
    );
}

#[test]
fn a_failing_object_fails_the_revision_and_a_later_upgrade_recovers() {
    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    cluster.server.add_fault(fail_after_check(
        "deployments",
        "web-multiroute",
        500,
        "etcdserver: request timed out",
    ));
    let err = cluster.fail(&as_strs(&dev_args("install", "web", &[])));
    assert!(
        err.contains("Deployment backend-dev/web-multiroute"),
        "{err}"
    );
    assert!(err.contains("etcdserver: request timed out"), "{err}");
    cluster.assert_fired(&[&format!(
        "PATCH {DEPLOYMENT_PATH}: failed, handled nothing, answered 500"
    )]);
    assert_eq!(record_status(&cluster, "web", 1), "failed");
    let status: Value =
        serde_json::from_str(&cluster.run(&["status", "web", "-n", NS, "-o", "json"])).unwrap();
    assert!(
        status["description"]
            .as_str()
            .unwrap()
            .contains("web-multiroute"),
        "{status}"
    );

    let out = cluster.run(&as_strs(&dev_args("upgrade", "web", &[])));
    assert!(
        out.contains("REVISION: 2") && out.contains("STATUS: deployed"),
        "{out}"
    );
    assert!(cluster.get("deployments", NS, "web-multiroute").is_some());
    assert_eq!(record_status(&cluster, "web", 1), "failed");
}

#[test]
fn an_invalid_object_is_reported_with_the_servers_reason_before_anything_changes() {
    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    cluster.server.add_fault(
        rchart_test_apiserver::Fault::fail_writes_to(
            "ingresses",
            "web-multiroute",
            422,
            "spec.rules[0].host: Invalid value",
        )
        .persistent(),
    );
    cluster.server.add_fault(
        rchart_test_apiserver::Fault::fail_writes_to(
            "services",
            "web-multiroute",
            422,
            "spec.ports[0].port: Invalid value: 0",
        )
        .persistent(),
    );
    let err = cluster.fail(&as_strs(&dev_args("install", "web", &[])));
    assert!(
        err.contains("the API server rejected 2 objects in a dry run, so nothing was changed"),
        "{err}"
    );
    // Every rejection, in one message.
    assert!(
        err.contains("Ingress backend-dev/web-multiroute")
            && err.contains("spec.rules[0].host: Invalid value"),
        "{err}"
    );
    assert!(
        err.contains("Service backend-dev/web-multiroute")
            && err.contains("spec.ports[0].port: Invalid value: 0"),
        "{err}"
    );
    assert!(cluster.records(NS).is_empty(), "no revision was recorded");
    assert!(cluster.config_maps(NS).is_empty(), "nothing was applied");
    let mut fired = cluster.fired();
    fired.sort();
    assert_eq!(
        fired,
        [
            format!(
                "PATCH /api/v1/namespaces/{NS}/services/web-multiroute: failed, handled nothing, answered 422"
            ),
            format!(
                "PATCH /apis/networking.k8s.io/v1/namespaces/{NS}/ingresses/web-multiroute: failed, handled nothing, answered 422"
            ),
        ],
        "only the dry-run checks were sent, and both were refused"
    );
}

#[test]
fn an_unreachable_server_or_bad_credentials_give_one_clear_line() {
    let cluster = TestCluster::start();
    let unreachable = cluster
        .server
        .kubeconfig_with(&rchart_test_apiserver::KubeconfigOptions::default().unreachable())
        .unwrap();
    let output = crate::support::rchart()
        .env("KUBECONFIG", &unreachable)
        .args(["list"])
        .output()
        .unwrap();
    let stderr = crate::support::stderr_of(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.starts_with("error: cannot reach the Kubernetes API at http://127.0.0.1:1"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");

    let wrong = cluster
        .server
        .kubeconfig_with(&rchart_test_apiserver::KubeconfigOptions::default().wrong_token())
        .unwrap();
    let output = crate::support::rchart()
        .env("KUBECONFIG", &wrong)
        .args(["history", "web"])
        .output()
        .unwrap();
    let stderr = crate::support::stderr_of(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains(&format!(
            "the Kubernetes API at {} rejected the credentials",
            cluster.server.url()
        )),
        "{stderr}"
    );
}

#[test]
fn installing_the_bundled_chart_stays_within_the_request_budget() {
    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    cluster.server.clear_requests();
    cluster.run(&as_strs(&dev_args("install", "web", &[])));
    let requests = cluster.server.requests();
    // Per object: one dry-run check and one apply; per kind (one object each here): one
    // LIST of metadata for ownership. Besides: the lock (2), discovery (3), the history
    // (1) and the record (2). A server without aggregated discovery is also asked about
    // each group version the chart uses (v1, apps/v1, networking.k8s.io/v1), no others.
    let objects = 5;
    let group_discovery = requests
        .iter()
        .filter(|r| r.method == "GET" && is_group_version_discovery(&r.path))
        .count();
    assert!(
        group_discovery <= 3,
        "{group_discovery} group versions asked about"
    );
    assert!(
        requests.len() <= objects * 3 + 8 + group_discovery,
        "{} requests for {objects} objects:\n{}",
        requests.len(),
        requests
            .iter()
            .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// `/api/v1` or `/apis/GROUP/VERSION`: the resource list of one group version.
fn is_group_version_discovery(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    matches!(segments.as_slice(), ["api", _] | ["apis", _, _])
}

#[test]
fn kubectl_reads_what_rchart_wrote() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    let Some(mut kubectl) = cluster.kubectl() else {
        return;
    };
    let output = kubectl
        .args([
            "get",
            "secret",
            "rchart.release.v1.web.v1",
            "-n",
            NS,
            "-o",
            "jsonpath={.data.release}",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        crate::support::stderr_of(&output)
    );
    use base64::Engine as _;
    let gzipped = base64::engine::general_purpose::STANDARD
        .decode(&output.stdout)
        .unwrap();
    let mut json = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gzipped[..]), &mut json)
        .unwrap();
    let record: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(record["name"], "web");
    assert_eq!(record["status"], "deployed");

    let Some(mut kubectl) = cluster.kubectl() else {
        return;
    };
    let output = kubectl
        .args([
            "get",
            "deployments",
            "-n",
            NS,
            "-l",
            "app.kubernetes.io/managed-by=rchart",
            "-o",
            "name",
        ])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&output).trim(), "deployment.apps/web-multiroute");
}

#[test]
fn without_aggregated_discovery_only_the_groups_the_manifests_use_are_queried() {
    // Kubernetes before 1.27 answers /api and /apis with the plain documents, whatever
    // the client asks for.
    let cluster = TestCluster::with(
        rchart_test_apiserver::TestApiServer::builder()
            .discovery(rchart_test_apiserver::DiscoveryMode::Legacy),
    );
    cluster.create_namespace(NS);
    cluster.server.clear_requests();
    cluster.run(&as_strs(&dev_args("install", "web", &[])));
    let discovery: Vec<String> = cluster
        .server
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && !r.path.contains("/namespaces/"))
        .map(|r| r.path.clone())
        .collect();
    for needed in ["/api/v1", "/apis/apps/v1", "/apis/networking.k8s.io/v1"] {
        assert!(
            discovery.iter().any(|p| p == needed),
            "{needed} in {discovery:?}"
        );
    }
    for unused in [
        "/apis/batch/v1",
        "/apis/rbac.authorization.k8s.io/v1",
        "/apis/storage.k8s.io/v1",
    ] {
        assert!(
            !discovery.iter().any(|p| p == unused),
            "{unused} was not needed: {discovery:?}"
        );
    }
    assert_eq!(cluster.history("web", NS)[0]["status"], "deployed");
    assert!(cluster.get("deployments", NS, "web-multiroute").is_some());
}

/// A chart that guards an object with `capabilities.api_versions` must get it on every
/// server: with legacy discovery, kube-rs's aggregated discovery reads no groups at all,
/// and the guarded Deployment would be skipped while the release says `deployed`.
#[test]
fn capability_guarded_objects_are_installed_whatever_the_discovery() {
    for mode in [
        rchart_test_apiserver::DiscoveryMode::Aggregated,
        rchart_test_apiserver::DiscoveryMode::Legacy,
    ] {
        let cluster =
            TestCluster::with(rchart_test_apiserver::TestApiServer::builder().discovery(mode));
        let dir = tempfile::tempdir().unwrap();
        let chart = write_chart(
            &dir.path().join("guarded"),
            &[
                (
                    "Chart.yaml",
                    "apiVersion: v2\nname: guarded\nversion: 1.0.0\n",
                ),
                ("values.yaml", ""),
                (
                    "templates/config.yaml",
                    "{% if \"v1\" in capabilities.api_versions %}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: guarded-config\n{% endif %}\n\
                     ---\n{% if \"apps/v1\" in capabilities.api_versions %}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: guarded\nspec:\n  selector:\n    matchLabels: {app: guarded}\n  template:\n    metadata:\n      labels: {app: guarded}\n    spec:\n      containers:\n        - name: app\n          image: example/app:1\n{% endif %}\n",
                ),
            ],
        );
        cluster.run(&["install", "g", chart.to_str().unwrap(), "-n", "default"]);
        assert!(
            cluster.get("deployments", "default", "guarded").is_some(),
            "{mode:?}: the guarded Deployment is installed"
        );
        assert!(
            cluster
                .get("configmaps", "default", "guarded-config")
                .is_some(),
            "{mode:?}: the guarded ConfigMap is installed"
        );
    }
}

#[test]
fn an_invalid_release_name_is_refused_before_anything_is_created() {
    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    let before = cluster.server.resource_version();
    let err = cluster.fail(&["install", "Web_1", &bundled_chart(), "-n", NS]);
    assert!(err.contains("release name \"Web_1\" is invalid"), "{err}");
    assert_eq!(
        cluster.server.resource_version(),
        before,
        "not even a lock was taken"
    );
}

/// A chart whose one ConfigMap has a fixed name, so two releases collide on it.
fn fixed_name_chart(dir: &std::path::Path) -> String {
    write_chart(
        &dir.join("fixed"),
        &[
            ("Chart.yaml", "apiVersion: v2\nname: fixed\nversion: 0.1.0\n"),
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata:\n  owner: {{ release.name }}\n",
            ),
        ],
    )
    .display()
    .to_string()
}

#[test]
fn an_uninstalled_release_does_not_take_back_what_another_release_now_owns() {
    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    let dir = tempfile::tempdir().unwrap();
    let chart = fixed_name_chart(dir.path());
    cluster.run(&["install", "a", &chart, "-n", NS]);
    cluster.run(&["upgrade", "a", &chart, "-n", NS]);
    cluster.run(&["uninstall", "a", "-n", NS, "--keep-history"]);
    cluster.run(&["install", "b", &chart, "-n", NS]);

    let err = cluster.fail(&["install", "a", &chart, "-n", NS]);
    assert!(
        err.contains("ConfigMap backend-dev/shared (release backend-dev/b)"),
        "{err}"
    );
    let err = cluster.fail(&["upgrade", "a", &chart, "-n", NS, "--install"]);
    assert!(err.contains("(release backend-dev/b)"), "{err}");
    let live = cluster.get("configmaps", NS, "shared").unwrap();
    assert_eq!(live["data"]["owner"], "b");
    assert_eq!(
        live["metadata"]["annotations"]["rchart.io/release-name"],
        "b"
    );
}

#[test]
fn a_field_another_manager_changed_stops_the_upgrade_until_forced() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    // `kubectl scale` takes .spec.replicas over.
    let url = format!(
        "{}/apis/apps/v1/namespaces/{NS}/deployments/web-multiroute?fieldManager=kubectl-scale",
        cluster.server.url()
    );
    ureq::patch(&url)
        .header(
            "Authorization",
            &format!("Bearer {}", cluster.server.token()),
        )
        .header("Content-Type", "application/merge-patch+json")
        .send(r#"{"spec":{"replicas":3}}"#.as_bytes())
        .unwrap();
    let config_maps = cluster.config_maps(NS);
    let args = dev_args("upgrade", "web", &["--set", "routes./route1=changed"]);
    let args = as_strs(&args);
    let err = cluster.fail(&args);
    assert!(
        err.contains("Deployment backend-dev/web-multiroute"),
        "{err}"
    );
    assert!(err.contains("kubectl-scale"), "{err}");
    assert!(
        err.contains("--force-conflicts takes these fields over"),
        "{err}"
    );
    // Nothing is half-applied: the new configuration was not created either.
    assert_eq!(cluster.config_maps(NS), config_maps);
    assert_eq!(cluster.records(NS).len(), 1, "no revision was recorded");

    // diff shows the conflict as a finding, and what forcing would do.
    let mut diff = vec!["diff"];
    diff.extend(&args);
    let output = cluster.rchart().args(&diff).output().unwrap();
    let shown = stdout_of(&output);
    assert_eq!(output.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("! conflict: ") && shown.contains("kubectl-scale"),
        "{shown}"
    );
    assert!(shown.contains("-  replicas: 3\n+  replicas: 1"), "{shown}");
    assert!(
        shown.contains("--force-conflicts takes them over"),
        "{shown}"
    );

    let mut forced = args.to_vec();
    forced.push("--force-conflicts");
    cluster.run(&forced);
    let deployment = cluster.get("deployments", NS, "web-multiroute").unwrap();
    assert_eq!(deployment["spec"]["replicas"], 1);
}

#[test]
fn a_plain_rollback_restores_the_last_revision_that_was_deployed() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    for _ in 0..2 {
        cluster.server.clear_requests();
        cluster.server.add_fault(fail_after_check(
            "deployments",
            "web-multiroute",
            500,
            "boom",
        ));
        let err = cluster.fail(&as_strs(&dev_args("upgrade", "web", &[])));
        assert!(err.contains("boom"), "{err}");
        cluster.assert_fired(&[&format!(
            "PATCH {DEPLOYMENT_PATH}: failed, handled nothing, answered 500"
        )]);
    }
    let out = cluster.run(&["rollback", "web", "-n", NS]);
    assert!(out.contains("REVISION: 4"), "{out}");
    let history = cluster.history("web", NS);
    assert_eq!(history[3]["description"], "Rollback to 1");
    assert_eq!(history[3]["status"], "deployed");
}

/// The requests to the record of revision 1 of `web`, as `METHOD status`.
fn record_requests(cluster: &TestCluster) -> Vec<String> {
    let head = format!("/api/v1/namespaces/{NS}/secrets/rchart.release.v1.web.v1");
    cluster
        .server
        .requests()
        .iter()
        .filter(|r| r.path == head)
        .map(|r| format!("{} {:?}", r.method, r.status))
        .collect()
}

#[test]
fn a_record_update_that_fails_once_is_tried_again() {
    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    // The update that marks revision 1 deployed fails once with a server error, before
    // it is committed.
    cluster
        .server
        .add_fault(rchart_test_apiserver::Fault::fail_writes_to(
            "secrets",
            "rchart.release.v1.web.v1",
            500,
            "etcd timeout",
        ));
    let out = cluster.run(&as_strs(&dev_args("install", "web", &[])));
    assert!(out.contains("STATUS: deployed"), "{out}");
    assert_eq!(cluster.history("web", NS)[0]["status"], "deployed");
    cluster.assert_fired(&[&format!(
        "PUT /api/v1/namespaces/{NS}/secrets/rchart.release.v1.web.v1: failed, handled nothing, answered 500"
    )]);
    let requests = record_requests(&cluster);
    assert_eq!(
        requests.iter().filter(|r| r.starts_with("PUT")).count(),
        2,
        "the update was sent again: {requests:?}"
    );
}

/// A record update that the server commits but answers with a 500 is read back: the
/// record carries this write's id, so the write succeeded and is not sent again.
#[test]
fn a_record_update_answered_with_an_error_after_its_commit_is_read_back() {
    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    cluster.server.add_fault(rchart_test_apiserver::Fault::new(
        RequestMatch::of(Operation::Update)
            .resource("secrets")
            .name("rchart.release.v1.web.v1"),
        rchart_test_apiserver::FaultAction::etcd_request_timed_out().after_commit(),
    ));
    let out = cluster.run(&as_strs(&dev_args("install", "web", &[])));
    assert!(out.contains("STATUS: deployed"), "{out}");
    assert_eq!(cluster.history("web", NS)[0]["status"], "deployed");
    cluster.assert_fired(&[&format!(
        "PUT /api/v1/namespaces/{NS}/secrets/rchart.release.v1.web.v1: failed, handled 200, answered 500"
    )]);
    assert_eq!(
        record_requests(&cluster),
        ["PUT Some(500)", "GET Some(200)"],
        "one update, read back"
    );
}

#[test]
fn history_max_deletes_the_oldest_records_but_never_the_deployed_one() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    for route in ["a", "b", "c", "d"] {
        cluster.run(&as_strs(&dev_args(
            "upgrade",
            "web",
            &[
                "--set",
                &format!("routes./route1={route}"),
                "--history-max",
                "3",
            ],
        )));
    }
    let revisions: Vec<u64> = cluster
        .history("web", NS)
        .iter()
        .map(|r| r["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(revisions, [3, 4, 5]);
    assert_eq!(cluster.records(NS).len(), 3);

    // Rolled back to revision 4, then upgraded with a limit of 1: only the new one stays.
    cluster.run(&["rollback", "web", "4", "-n", NS]);
    cluster.run(&as_strs(&dev_args(
        "upgrade",
        "web",
        &["--history-max", "1"],
    )));
    let history = cluster.history("web", NS);
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["status"], "deployed");
    assert_eq!(history[0]["revision"], 7);
}

/// A chart that carries a CustomResourceDefinition and an object of its kind.
fn crd_chart(dir: &std::path::Path) -> String {
    const CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
";
    write_chart(
        &dir.join("gadgets"),
        &[
            ("Chart.yaml", "apiVersion: v2\nname: gadgets\nversion: 0.1.0\n"),
            ("values.yaml", "size: 1\n"),
            ("templates/crd.yaml", CRD),
            (
                "templates/gadget.yaml",
                "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: {{ release.name }}-gadget\nspec:\n  size: {{ values.size }}\n",
            ),
        ],
    )
    .display()
    .to_string()
}

#[test]
fn a_chart_can_carry_a_crd_and_objects_of_its_kind() {
    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    let dir = tempfile::tempdir().unwrap();
    let chart = crd_chart(dir.path());

    let printed = cluster.run(&["install", "g", &chart, "-n", NS, "--dry-run"]);
    assert!(printed.contains("kind: Gadget"), "{printed}");
    assert!(
        cluster
            .get("customresourcedefinitions", "", "gadgets.example.com")
            .is_none()
    );

    cluster.run(&["install", "g", &chart, "-n", NS]);
    assert!(
        cluster
            .get("customresourcedefinitions", "", "gadgets.example.com")
            .is_some()
    );
    let gadget = cluster
        .get("gadgets", NS, "g-gadget")
        .expect("the Gadget exists");
    assert_eq!(gadget["spec"]["size"], 1);

    cluster.run(&["upgrade", "g", &chart, "-n", NS, "--set", "size=2"]);
    assert_eq!(
        cluster.get("gadgets", NS, "g-gadget").unwrap()["spec"]["size"],
        2
    );

    // Deleting a CRD would delete every Gadget in the cluster: it is kept.
    let out = cluster.run(&["uninstall", "g", "-n", NS]);
    assert!(out.contains("kept"), "{out}");
    assert!(cluster.get("gadgets", NS, "g-gadget").is_none());
    assert!(
        cluster
            .get("customresourcedefinitions", "", "gadgets.example.com")
            .is_some()
    );
}

/// The objects of a CRD the chart carries are applied only once the CRD is established,
/// however long that takes: here, until the test establishes it.
#[test]
fn objects_of_a_new_crd_wait_until_it_is_established() {
    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    cluster
        .server
        .set_crd_establishment(CrdEstablishment::Manual);
    let dir = tempfile::tempdir().unwrap();
    let chart = crd_chart(dir.path());
    let crd_watch = cluster
        .server
        .hold(RequestMatch::of(Operation::Watch).resource("customresourcedefinitions"));
    let install = cluster.spawn(&["install", "g", &chart, "-n", NS]);

    // rchart watches the CRD it applied, which is not established.
    crd_watch.wait_for(1);
    let crd = cluster
        .get("customresourcedefinitions", "", "gadgets.example.com")
        .expect("the CRD was applied first");
    assert!(
        !crd["status"]["conditions"]
            .to_string()
            .contains(r#""type":"Established","status":"True""#),
        "{crd}"
    );
    assert!(cluster.get("gadgets", NS, "g-gadget").is_none());
    assert_eq!(
        cluster.server.establish_crds(),
        ["gadgets.example.com"],
        "the CRD was still waiting"
    );
    drop(crd_watch);

    let output = install.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(
        cluster.get("gadgets", NS, "g-gadget").unwrap()["spec"]["size"],
        1
    );
    assert_eq!(cluster.history("g", NS)[0]["status"], "deployed");
}

/// A CRD that is never established fails the operation after `--timeout`, naming it;
/// once the CRD is established, the next upgrade goes through.
#[test]
fn a_crd_never_established_fails_the_install_after_the_timeout() {
    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    cluster
        .server
        .set_crd_establishment(CrdEstablishment::Never);
    let dir = tempfile::tempdir().unwrap();
    let chart = crd_chart(dir.path());

    let err = cluster.fail(&["install", "g", &chart, "-n", NS, "--timeout", "1s"]);
    assert!(
        err.contains(
            "CustomResourceDefinition gadgets.example.com: not established after 1s (--timeout)"
        ),
        "{err}"
    );
    assert!(cluster.get("gadgets", NS, "g-gadget").is_none());
    let history = cluster.history("g", NS);
    assert_eq!(history[0]["status"], "failed");
    assert!(
        history[0]["description"]
            .as_str()
            .unwrap()
            .contains("not established after 1s"),
        "{history:?}"
    );

    assert_eq!(cluster.server.establish_crds(), ["gadgets.example.com"]);
    cluster.run(&["upgrade", "g", &chart, "-n", NS]);
    assert!(cluster.get("gadgets", NS, "g-gadget").is_some());
}

/// One object of each of seven kinds (plus `base`, always there, and `kept`, annotated
/// `rchart.io/resource-policy: keep`) while `full` is true; only `base` without it.
fn every_kind_chart(dir: &std::path::Path) -> String {
    const OBJECTS: &str = "{% if values.full %}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
    - http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: example/app:1}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 80}]
---
apiVersion: v1
kind: Secret
metadata: {name: web}
data: {a: YQ==}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web}
data: {a: \"1\"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: kept
  annotations: {rchart.io/resource-policy: keep}
data: {a: \"1\"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: web}
rules: [{apiGroups: [\"\"], resources: [pods], verbs: [get]}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web}
---
{% endif %}
apiVersion: v1
kind: ConfigMap
metadata: {name: base}
data: {a: \"1\"}
";
    write_chart(
        &dir.join("kinds"),
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: kinds\nversion: 0.1.0\n",
            ),
            ("values.yaml", "full: true\n"),
            ("templates/objects.yaml", OBJECTS),
        ],
    )
    .display()
    .to_string()
}

/// `RESOURCE/NAME` of each object deleted since the log was cleared, in the order of
/// the requests, leaving out the lock.
fn deleted_objects(cluster: &TestCluster) -> Vec<String> {
    cluster
        .server
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE" && !r.path.contains("/leases/"))
        .map(|r| {
            let segments: Vec<&str> = r.path.rsplitn(3, '/').collect();
            format!("{}/{}", segments[1], segments[0])
        })
        .collect()
}

/// Pruning on upgrade deletes what the new revision no longer has in reverse install
/// order (what routes to a workload first, what everything depends on last), and never
/// an object annotated `rchart.io/resource-policy: keep`; nor does uninstall.
#[test]
fn pruning_goes_in_reverse_install_order_and_spares_kept_objects() {
    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    let dir = tempfile::tempdir().unwrap();
    let chart = every_kind_chart(dir.path());
    cluster.run(&["install", "kinds", &chart, "-n", NS]);
    assert!(cluster.get("configmaps", NS, "kept").is_some());

    cluster.server.clear_requests();
    cluster.run(&["upgrade", "kinds", &chart, "-n", NS, "--set", "full=false"]);
    assert_eq!(
        deleted_objects(&cluster),
        [
            "ingresses/web",
            "deployments/web",
            "services/web",
            "secrets/web",
            "configmaps/web",
            "roles/web",
            "serviceaccounts/web",
        ]
    );
    assert!(
        cluster.get("configmaps", NS, "kept").is_some(),
        "the kept object outlives the prune"
    );
    assert_eq!(
        cluster.names("configmaps", NS),
        ["base", "kept", "kube-root-ca.crt"]
    );

    cluster.server.clear_requests();
    cluster.run(&["uninstall", "kinds", "-n", NS]);
    assert_eq!(deleted_objects(&cluster)[0], "configmaps/base");
    assert!(
        cluster.get("configmaps", NS, "kept").is_some(),
        "uninstall keeps it too"
    );
}

/// `--reuse-values` starts from the previous revision's user values, over the new
/// chart's defaults; without it, only the values given now count.
#[test]
fn reuse_values_carries_the_previous_user_values_over_the_new_defaults() {
    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    let dir = tempfile::tempdir().unwrap();
    let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: {{ values.a }}\n  b: {{ values.b }}\n  c: {{ values.c }}\n";
    let chart = |c_default: &str| {
        write_chart(
            &dir.path().join("settings"),
            &[
                (
                    "Chart.yaml",
                    "apiVersion: v2\nname: settings\nversion: 0.1.0\n",
                ),
                (
                    "values.yaml",
                    &format!("a: default-a\nb: default-b\nc: {c_default}\n"),
                ),
                ("templates/settings.yaml", template),
            ],
        )
        .display()
        .to_string()
    };
    let live = || {
        let data = &cluster.get("configmaps", NS, "settings").unwrap()["data"];
        ["a", "b", "c"].map(|key| data[key].as_str().unwrap().to_string())
    };

    cluster.run(&[
        "install",
        "s",
        &chart("old-c"),
        "-n",
        NS,
        "--set",
        "a=first",
    ]);
    assert_eq!(live(), ["first", "default-b", "old-c"]);

    let new_chart = chart("new-c");
    cluster.run(&[
        "upgrade",
        "s",
        &new_chart,
        "-n",
        NS,
        "--reuse-values",
        "--set",
        "b=second",
    ]);
    assert_eq!(live(), ["first", "second", "new-c"]);
    let values: Value =
        serde_json::from_str(&cluster.run(&["get", "values", "s", "-n", NS, "-o", "json"]))
            .unwrap();
    assert_eq!(values, json!({"a": "first", "b": "second"}));

    cluster.run(&["upgrade", "s", &new_chart, "-n", NS, "--set", "b=third"]);
    assert_eq!(live(), ["default-a", "third", "new-c"]);
}

/// A revision's record holds the rendered manifest, the values and the chart's digest
/// (the sha256 `rchart package` gives), not the chart's files.
#[test]
fn the_record_holds_the_charts_digest_not_the_chart() {
    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    let dir = tempfile::tempdir().unwrap();
    let chart = write_chart(
        &dir.path().join("noted"),
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: noted\nversion: 0.1.0\n",
            ),
            ("README.md", "README-ONLY-TEXT\n"),
            ("files/unused.txt", "FILE-ONLY-TEXT\n"),
            (
                "templates/cm.yaml",
                "{# TEMPLATE-ONLY-TEXT #}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: noted\ndata:\n  a: rendered-text\n",
            ),
        ],
    );
    let packaged = crate::support::rchart()
        .args(["package", chart.to_str().unwrap(), "-o", "json", "-d"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(packaged.status.success(), "{}", stderr_of(&packaged));
    let digest: Value = serde_json::from_slice(&packaged.stdout).unwrap();
    cluster.run(&["install", "n", chart.to_str().unwrap(), "-n", NS]);

    let record = decoded_record(&cluster, "rchart.release.v1.n.v1");
    assert_eq!(
        record["chartDigest"],
        format!("sha256:{}", digest["sha256"].as_str().unwrap())
    );
    let text = record.to_string();
    assert!(text.contains("rendered-text"), "the manifest is kept");
    for chart_only in ["README-ONLY-TEXT", "FILE-ONLY-TEXT", "TEMPLATE-ONLY-TEXT"] {
        assert!(!text.contains(chart_only), "{chart_only} is in the record");
    }
}

/// The record in a release Secret, decoded as `kubectl get secret … | base64 -d | gunzip`
/// would.
fn decoded_record(cluster: &TestCluster, secret: &str) -> Value {
    use base64::Engine as _;
    let secret = cluster
        .get("secrets", NS, secret)
        .expect("the record exists");
    let gzipped = base64::engine::general_purpose::STANDARD
        .decode(secret["data"]["release"].as_str().unwrap())
        .unwrap();
    let mut json = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gzipped[..]), &mut json)
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

/// Without `--history-max`, ten records are kept.
#[test]
fn ten_records_are_kept_by_default() {
    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    let dir = tempfile::tempdir().unwrap();
    let chart = fixed_name_chart(dir.path());
    cluster.run(&["install", "a", &chart, "-n", NS]);
    for _ in 0..11 {
        cluster.run(&["upgrade", "a", &chart, "-n", NS]);
    }
    let revisions: Vec<u64> = cluster
        .history("a", NS)
        .iter()
        .map(|r| r["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(revisions, (3..=12).collect::<Vec<u64>>());
    assert_eq!(cluster.records(NS).len(), 10);
}
