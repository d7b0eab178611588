//! Hooks against the test API server: the order they run in, what a failure says and
//! leaves, delete policies, `--no-hooks`, uninstall's hooks, timeouts and `--atomic`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rchart_test_apiserver::{Run, RunRule};
use serde_json::Value;

use crate::support::{TestCluster, stderr_of};

pub(crate) const NS: &str = "shop";

/// A chart named `hk` in a temporary directory, with these templates (shared with the
/// tests of `rchart test` and of post-renderers).
pub(crate) struct HookChart {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl HookChart {
    pub(crate) fn new(templates: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hk");
        std::fs::create_dir_all(path.join("templates")).unwrap();
        std::fs::write(
            path.join("Chart.yaml"),
            "apiVersion: v2\nname: hk\nversion: 0.1.0\n",
        )
        .unwrap();
        for (name, text) in templates {
            std::fs::write(path.join("templates").join(name), text).unwrap();
        }
        HookChart { _dir: dir, path }
    }

    pub(crate) fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

/// The ordinary object of every test chart, whose data `--set mode=X` changes.
pub(crate) fn settings() -> (&'static str, String) {
    (
        "settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: \"{{ values.mode | default(value='a') }}\"\n".to_string(),
    )
}

/// `key: value` lines under `metadata.annotations`.
fn annotations(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(key, value)| format!("    {key}: \"{value}\"\n"))
        .collect()
}

pub(crate) fn job(name: &str, pairs: &[(&str, &str)]) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations:\n{}spec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: {name}\n          image: busybox\n",
        annotations(pairs)
    )
}

pub(crate) fn pod(name: &str, pairs: &[(&str, &str)]) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  annotations:\n{}spec:\n  restartPolicy: Never\n  containers:\n    - name: {name}\n      image: busybox\n",
        annotations(pairs)
    )
}

fn config_map(name: &str, pairs: &[(&str, &str)]) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  annotations:\n{}data:\n  from: hook\n",
        annotations(pairs)
    )
}

pub(crate) fn documents(docs: &[String]) -> String {
    docs.join("---\n")
}

/// What the requests since the log was cleared did: `PATCH jobs/migrate` for an apply
/// (not a dry-run check), `DELETE configmaps/settings` for a delete, in arrival order.
fn writes(cluster: &TestCluster) -> Vec<String> {
    cluster
        .server
        .requests()
        .iter()
        .filter(|r| {
            (r.method == "PATCH" && r.query_param("dryRun").is_none()) || r.method == "DELETE"
        })
        .filter(|r| !r.path.contains("/secrets") && !r.path.contains("/leases"))
        .map(|r| {
            let mut parts = r.path.rsplit('/');
            let name = parts.next().unwrap_or_default();
            let resource = parts.next().unwrap_or_default();
            format!("{} {resource}/{name}", r.method)
        })
        .collect()
}

fn position(list: &[String], item: &str) -> usize {
    list.iter()
        .position(|entry| entry == item)
        .unwrap_or_else(|| panic!("{item} is not among {list:#?}"))
}

pub(crate) fn uid(cluster: &TestCluster, resource: &str, name: &str) -> Option<String> {
    cluster
        .get(resource, NS, name)
        .map(|object| object["metadata"]["uid"].as_str().unwrap().to_string())
}

pub(crate) fn history(cluster: &TestCluster) -> Vec<(String, String)> {
    cluster
        .history("hk", NS)
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_string(),
                r["description"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `rchart get hooks hk -o json`, by object name.
pub(crate) fn hooks(cluster: &TestCluster, revision: Option<u64>) -> Vec<(String, Value)> {
    let mut args = vec!["get", "hooks", "hk", "-n", NS, "-o", "json"];
    let revision = revision.map(|r| r.to_string());
    if let Some(revision) = &revision {
        args.extend(["--revision", revision]);
    }
    let hooks: Vec<Value> = serde_json::from_str(&cluster.run(&args)).unwrap();
    hooks
        .into_iter()
        .map(|hook| (hook["resource"]["name"].as_str().unwrap().to_string(), hook))
        .collect()
}

pub(crate) fn phase(hooks: &[(String, Value)], name: &str) -> String {
    let hook = &hooks.iter().find(|(n, _)| n == name).unwrap().1;
    hook["lastRun"]["phase"]
        .as_str()
        .unwrap_or("not run")
        .to_string()
}

/// The chart with one hook Job, named `name`, that runs on `events`; installed.
fn installed_with_job(cluster: &TestCluster, name: &str, events: &str) -> HookChart {
    let chart = HookChart::new(&[
        settings(),
        ("hook.yaml", job(name, &[("rchart.io/hook", events)])),
    ]);
    install(cluster, &chart, &[]);
    chart
}

pub(crate) fn install(cluster: &TestCluster, chart: &HookChart, extra: &[&str]) -> String {
    let mut args = vec![
        "install",
        "hk",
        chart.path(),
        "-n",
        NS,
        "--create-namespace",
    ];
    args.extend(extra);
    cluster.run(&args)
}

pub(crate) fn upgrade(
    cluster: &TestCluster,
    chart: &HookChart,
    extra: &[&str],
) -> std::process::Output {
    cluster
        .rchart()
        .args(["upgrade", "hk", chart.path(), "-n", NS])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn hooks_run_by_weight_then_install_order_then_name_around_the_objects() {
    let cluster = TestCluster::start();
    let pre = |weight| {
        [
            ("helm.sh/hook", "pre-install"),
            ("helm.sh/hook-weight", weight),
        ]
    };
    let chart = HookChart::new(&[
        settings(),
        (
            "hooks.yaml",
            documents(&[
                pod("second-pod", &pre("0")),
                job("first", &pre("-5")),
                config_map("second-config", &pre("0")),
                config_map("a-config", &pre("0")),
                job(
                    "last",
                    &[
                        ("rchart.io/hook", "post-install"),
                        ("rchart.io/hook-weight", "3"),
                    ],
                ),
                pod("smoke", &[("rchart.io/hook", "test")]),
            ]),
        ),
    ]);
    cluster.create_namespace(NS);
    cluster.server.clear_requests();
    let (_, stderr) = cluster.run_in(
        Path::new(env!("CARGO_TARGET_TMPDIR")),
        &["install", "hk", chart.path(), "-n", NS],
    );

    let writes = writes(&cluster);
    let first = position(&writes, "PATCH jobs/first");
    let group: Vec<usize> = [
        "configmaps/a-config",
        "configmaps/second-config",
        "pods/second-pod",
    ]
    .iter()
    .map(|object| position(&writes, &format!("PATCH {object}")))
    .collect();
    let settings = position(&writes, "PATCH configmaps/settings");
    let last = position(&writes, "PATCH jobs/last");
    assert!(
        group.iter().all(|&g| first < g && g < settings),
        "{writes:#?}"
    );
    assert!(settings < last, "{writes:#?}");
    assert!(
        !writes.iter().any(|w| w.ends_with("/smoke")),
        "a test hook does not run on install"
    );
    // Weight -5 was awaited before weight 0 started: its Job was watched in between.
    let requests = cluster.server.requests();
    let watched_first = requests
        .iter()
        .position(|r| r.method == "GET" && r.path.ends_with("/jobs") && r.query.contains("first"))
        .expect("the Job of weight -5 is watched");
    let group_applied = requests
        .iter()
        .position(|r| {
            r.method == "PATCH"
                && r.query_param("dryRun").is_none()
                && r.path.ends_with("/a-config")
        })
        .unwrap();
    assert!(watched_first < group_applied);
    assert!(
        stderr.contains(
            "running 3 pre-install hooks of weight 0: ConfigMap shop/a-config, ConfigMap shop/second-config, Pod shop/second-pod\n"
        ),
        "{stderr}"
    );

    // The record keeps each hook's run; hooks are not in the inventory.
    let recorded = hooks(&cluster, None);
    for name in ["first", "second-pod", "second-config", "a-config", "last"] {
        assert_eq!(phase(&recorded, name), "Succeeded", "{name}");
    }
    assert_eq!(phase(&recorded, "smoke"), "not run");
    let (_, first_hook) = recorded.iter().find(|(n, _)| n == "first").unwrap();
    assert!(
        first_hook["lastRun"]["started"].as_str() <= first_hook["lastRun"]["completed"].as_str()
    );
    assert_eq!(first_hook["weight"], -5);
    let status = cluster.run(&["status", "hk", "-n", NS]);
    assert!(
        status.contains("RESOURCES:\n  ConfigMap shop/settings\nHOOKS:\n"),
        "{status}"
    );
    assert!(
        status.contains("  Job shop/first (pre-install): Succeeded, "),
        "{status}"
    );
    assert!(
        status.contains("TESTS:\n  Pod shop/smoke: not run\n"),
        "{status}"
    );
    let table = cluster.run(&["get", "hooks", "hk", "-n", NS]);
    assert!(table.starts_with("HOOK "), "{table}");
    let manifests = cluster.run(&["get", "hooks", "hk", "-n", NS, "-o", "yaml"]);
    assert!(
        manifests.contains("# Source: hk/templates/hooks.yaml\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: first\n"),
        "{manifests}"
    );
}

#[test]
fn a_failing_pre_upgrade_job_fails_the_revision_with_its_log_and_the_next_upgrade_succeeds() {
    let cluster = TestCluster::start();
    let chart = installed_with_job(&cluster, "migrate", "pre-upgrade");
    let log: String = (1..=25).map(|n| format!("step {n}\n")).collect();
    cluster.server.add_run_rule(RunRule::job(
        "migrate",
        Run::failing().log(&format!("{log}error: relation \"users\" already exists\n")),
    ));

    let output = upgrade(&cluster, &chart, &["--set", "mode=b"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains(
            "error: pre-upgrade hook Job shop/migrate failed: Job has reached the specified backoff limit (BackoffLimitExceeded)\n  last 20 lines of the log of Pod shop/migrate-"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("    step 7\n")
            && stderr.ends_with("    error: relation \"users\" already exists\n"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("    step 6\n"),
        "only the last 20 lines: {stderr}"
    );
    assert_eq!(
        history(&cluster),
        [
            ("deployed".to_string(), "Install complete".to_string()),
            (
                "failed".to_string(),
                "pre-upgrade hook Job shop/migrate failed: Job has reached the specified backoff limit (BackoffLimitExceeded)".to_string()
            ),
        ]
    );
    let mode = |cluster: &TestCluster| {
        cluster.get("configmaps", NS, "settings").unwrap()["data"]["mode"].clone()
    };
    assert_eq!(mode(&cluster), "a", "nothing of the revision was applied");
    assert!(
        cluster.names("leases", NS).is_empty(),
        "the lock was released"
    );
    let failed_job = uid(&cluster, "jobs", "migrate").expect("the failed Job stays for a look");

    cluster.server.reset_readiness();
    let output = upgrade(&cluster, &chart, &["--set", "mode=b"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(history(&cluster)[2].0, "deployed");
    assert_eq!(mode(&cluster), "b");
    assert_ne!(
        uid(&cluster, "jobs", "migrate"),
        Some(failed_job),
        "before-hook-creation replaced the failed Job"
    );
    assert_eq!(phase(&hooks(&cluster, Some(2)), "migrate"), "Failed");
    assert_eq!(phase(&hooks(&cluster, Some(3)), "migrate"), "Succeeded");
}

#[test]
fn delete_policies_decide_which_hook_objects_stay() {
    let cluster = TestCluster::start();
    let chart = HookChart::new(&[
        settings(),
        (
            "hooks.yaml",
            documents(&[
                job("keeps", &[("rchart.io/hook", "pre-install,pre-upgrade")]),
                job(
                    "tidy",
                    &[
                        ("rchart.io/hook", "pre-install,pre-upgrade"),
                        ("rchart.io/hook-delete-policy", "hook-succeeded"),
                    ],
                ),
                job(
                    "once",
                    &[
                        ("rchart.io/hook", "post-install,post-upgrade"),
                        ("rchart.io/hook-delete-policy", "hook-failed"),
                    ],
                ),
            ]),
        ),
    ]);
    install(&cluster, &chart, &[]);
    let keeps = uid(&cluster, "jobs", "keeps").expect("before-hook-creation keeps the last run");
    assert!(
        uid(&cluster, "jobs", "tidy").is_none(),
        "hook-succeeded deletes it"
    );
    assert!(
        uid(&cluster, "jobs", "once").is_some(),
        "hook-failed keeps a success"
    );

    // Without before-hook-creation, the object of the last run is in the way.
    let output = upgrade(&cluster, &chart, &[]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains(
            "post-upgrade hook Job shop/once failed: Job shop/once is still there from an earlier run; add before-hook-creation to its delete policy, or delete it"
        ),
        "{stderr}"
    );
    assert_ne!(
        uid(&cluster, "jobs", "keeps"),
        Some(keeps),
        "run again, as a new Job"
    );
    assert!(uid(&cluster, "jobs", "tidy").is_none());

    // A failure: hook-failed deletes it once its log is read.
    cluster.delete_job("once");
    cluster.server.add_run_rule(RunRule::job(
        "once",
        Run::failing().log("cannot reach the queue\n"),
    ));
    let output = upgrade(&cluster, &chart, &[]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("    cannot reach the queue\n"), "{stderr}");
    assert!(
        uid(&cluster, "jobs", "once").is_none(),
        "hook-failed deleted it"
    );
}

impl TestCluster {
    fn delete_job(&self, name: &str) {
        self.server.delete("jobs", NS, name).unwrap();
    }
}

#[test]
fn no_hooks_runs_none_but_records_them_and_uninstall_still_deletes_what_hooks_left() {
    let cluster = TestCluster::start();
    let chart = HookChart::new(&[
        settings(),
        (
            "hooks.yaml",
            documents(&[
                job(
                    "migrate",
                    &[("rchart.io/hook", "pre-install,pre-upgrade,pre-rollback")],
                ),
                job("goodbye", &[("rchart.io/hook", "pre-delete")]),
            ]),
        ),
    ]);
    install(&cluster, &chart, &["--no-hooks"]);
    assert!(cluster.names("jobs", NS).is_empty());
    assert_eq!(phase(&hooks(&cluster, None), "migrate"), "not run");

    install_hooks_then(&cluster, &chart);
    let migrate = uid(&cluster, "jobs", "migrate").unwrap();
    let output = upgrade(&cluster, &chart, &["--no-hooks", "--set", "mode=c"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    cluster.run(&["rollback", "hk", "-n", NS, "--no-hooks"]);
    assert_eq!(
        uid(&cluster, "jobs", "migrate"),
        Some(migrate),
        "no hook ran again"
    );

    cluster.run(&["uninstall", "hk", "-n", NS, "--no-hooks"]);
    assert!(
        cluster.names("jobs", NS).is_empty(),
        "no pre-delete hook ran, and the Job a hook left is gone"
    );
}

/// Upgrades with hooks, so that the pre-upgrade hook leaves its Job.
fn install_hooks_then(cluster: &TestCluster, chart: &HookChart) {
    let output = upgrade(cluster, chart, &["--set", "mode=b"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
}

#[test]
fn uninstall_runs_pre_delete_and_post_delete_hooks_around_the_deletions() {
    let cluster = TestCluster::start();
    let chart = HookChart::new(&[
        settings(),
        (
            "hooks.yaml",
            documents(&[
                job("drain", &[("rchart.io/hook", "pre-delete")]),
                job("farewell", &[("helm.sh/hook", "post-delete")]),
                job(
                    "archive",
                    &[
                        ("rchart.io/hook", "pre-install"),
                        ("rchart.io/resource-policy", "keep"),
                    ],
                ),
                job("seed", &[("rchart.io/hook", "post-install")]),
            ]),
        ),
    ]);
    install(&cluster, &chart, &[]);

    // A failing pre-delete hook stops the uninstall before anything is deleted.
    cluster.server.add_run_rule(RunRule::job(
        "drain",
        Run::failing().log("connections still open\n"),
    ));
    let stderr = cluster.fail(&["uninstall", "hk", "-n", NS]);
    assert!(
        stderr.contains("error: pre-delete hook Job shop/drain failed: ")
            && stderr.contains("    connections still open\n"),
        "{stderr}"
    );
    assert!(cluster.get("configmaps", NS, "settings").is_some());
    assert_eq!(
        history(&cluster).last().unwrap().1,
        "Uninstall failed: pre-delete hook Job shop/drain failed: Job has reached the specified backoff limit (BackoffLimitExceeded)"
    );

    cluster.server.reset_readiness();
    cluster.server.clear_requests();
    let out = cluster.run(&["uninstall", "hk", "-n", NS]);
    assert!(
        out.contains("kept (resource policy \"keep\"): Job shop/archive\n"),
        "{out}"
    );
    let writes = writes(&cluster);
    let drain = position(&writes, "PATCH jobs/drain");
    let settings = position(&writes, "DELETE configmaps/settings");
    let farewell = position(&writes, "PATCH jobs/farewell");
    assert!(drain < settings && settings < farewell, "{writes:#?}");
    // The Jobs hooks left go last (the drain of the failed attempt went first too, as
    // before-hook-creation deleted it).
    for leftover in ["drain", "farewell", "seed"] {
        let deleted = format!("DELETE jobs/{leftover}");
        let last = writes.iter().rposition(|w| *w == deleted);
        assert!(last > Some(farewell), "{deleted}: {writes:#?}");
    }
    assert_eq!(
        cluster.names("jobs", NS),
        ["archive"],
        "only the kept hook stays"
    );
    assert!(cluster.records(NS).is_empty());
}

#[test]
fn a_hook_that_does_not_finish_in_time_fails_the_revision_and_leaves_nothing_pending() {
    let cluster = TestCluster::start();
    let chart = installed_with_job(&cluster, "migrate", "pre-upgrade");
    cluster.server.add_run_rule(RunRule::job(
        "migrate",
        Run::succeeding().held().log("waiting for a table lock\n"),
    ));

    let started = std::time::Instant::now();
    let output = upgrade(&cluster, &chart, &["--timeout", "2s"]);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains(
            "error: pre-upgrade hook Job shop/migrate did not finish within --timeout 2s: 0 of 1 completions succeeded, 1 active\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("    waiting for a table lock\n"),
        "{stderr}"
    );
    let statuses: Vec<String> = history(&cluster).into_iter().map(|(s, _)| s).collect();
    assert_eq!(statuses, ["deployed", "failed"]);
    assert!(
        cluster.names("leases", NS).is_empty(),
        "the lock was released"
    );
    assert_eq!(phase(&hooks(&cluster, Some(2)), "migrate"), "Failed");
    cluster.server.finish_run("Job", NS, "migrate");
}

#[test]
fn atomic_rolls_back_an_upgrade_whose_post_upgrade_hook_failed() {
    let cluster = TestCluster::start();
    let chart = installed_with_job(&cluster, "verify", "post-upgrade");
    cluster.server.add_run_rule(RunRule::job(
        "verify",
        Run::failing().log("smoke test: 500 from /orders\n"),
    ));

    let output = upgrade(&cluster, &chart, &["--atomic", "--set", "mode=broken"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("    smoke test: 500 from /orders\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: release hk: revision 2 failed and was rolled back to revision 1 (now revision 3)"),
        "{stderr}"
    );
    let statuses: Vec<String> = history(&cluster).into_iter().map(|(s, _)| s).collect();
    assert_eq!(statuses, ["superseded", "failed", "deployed"]);
    assert_eq!(
        cluster.get("configmaps", NS, "settings").unwrap()["data"]["mode"],
        "a"
    );
}

#[test]
fn hook_objects_are_never_pruned_as_ordinary_objects() {
    let cluster = TestCluster::start();
    let with_hook = HookChart::new(&[
        settings(),
        (
            "hooks.yaml",
            documents(&[
                job("migrate", &[("rchart.io/hook", "pre-install")]),
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata:\n  from: chart\n".to_string(),
            ]),
        ),
    ]);
    install(&cluster, &with_hook, &[]);
    // The next chart has no pre-install hook, and makes `shared` a hook.
    let without = HookChart::new(&[
        settings(),
        (
            "shared.yaml",
            config_map("shared", &[("rchart.io/hook", "post-upgrade")]),
        ),
    ]);
    let output = upgrade(&cluster, &without, &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        uid(&cluster, "jobs", "migrate").is_some(),
        "the hook's Job is not pruned"
    );
    let shared = cluster.get("configmaps", NS, "shared").expect("not pruned");
    assert_eq!(shared["data"]["from"], "hook");
    let status = cluster.run(&["status", "hk", "-n", NS]);
    assert!(
        status.contains("RESOURCES:\n  ConfigMap shop/settings\nHOOKS:\n"),
        "{status}"
    );
}

#[test]
fn an_invalid_hook_stops_the_install_before_anything_changes() {
    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    let unknown = HookChart::new(&[
        settings(),
        (
            "crd.yaml",
            job("migrate", &[("helm.sh/hook", "crd-install")]),
        ),
    ]);
    let stderr = cluster.fail(&["install", "hk", unknown.path(), "-n", NS]);
    assert!(
        stderr.contains(
            "templates/crd.yaml: Job migrate: unknown hook event \"crd-install\" in annotation helm.sh/hook (known: pre-install, post-install, pre-upgrade, post-upgrade, pre-rollback, post-rollback, pre-delete, post-delete, test)"
        ),
        "{stderr}"
    );

    // The server refuses the hook's name in the dry run every change starts with.
    let refused = HookChart::new(&[
        settings(),
        (
            "bad.yaml",
            pod("Bad_Name", &[("rchart.io/hook", "post-install")]),
        ),
    ]);
    let stderr = cluster.fail(&["install", "hk", refused.path(), "-n", NS]);
    assert!(
        stderr.contains("the API server rejected 1 object in a dry run, so nothing was changed:\n  Pod shop/Bad_Name: "),
        "{stderr}"
    );
    assert!(cluster.records(NS).is_empty());
    assert!(cluster.get("configmaps", NS, "settings").is_none());
}

#[test]
fn a_release_recorded_without_hooks_reads_and_upgrades_to_a_chart_with_hooks() {
    let cluster = TestCluster::start();
    let plain = HookChart::new(&[settings()]);
    install(&cluster, &plain, &[]);
    let status = cluster.run(&["status", "hk", "-n", NS]);
    assert!(
        !status.contains("HOOKS:") && !status.contains("TESTS:"),
        "{status}"
    );
    assert_eq!(
        cluster
            .run(&["get", "hooks", "hk", "-n", NS, "-o", "json"])
            .trim(),
        "[]"
    );

    let hooked = HookChart::new(&[
        settings(),
        (
            "migrate.yaml",
            job("migrate", &[("rchart.io/hook", "pre-upgrade,pre-rollback")]),
        ),
    ]);
    let output = upgrade(&cluster, &hooked, &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    cluster.run(&["rollback", "hk", "1", "-n", NS]);
    assert_eq!(
        hooks(&cluster, Some(3)).len(),
        0,
        "the rollback restores revision 1, which had no hooks"
    );
}

#[test]
fn a_chart_without_hooks_sends_no_request_about_them() {
    let cluster = TestCluster::start();
    let chart = HookChart::new(&[settings()]);
    cluster.server.clear_requests();
    install(&cluster, &chart, &[]);
    let output = upgrade(&cluster, &chart, &["--set", "mode=b"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    cluster.run(&["rollback", "hk", "-n", NS]);
    cluster.run(&["uninstall", "hk", "-n", NS]);
    let about_runs: Vec<String> = cluster
        .server
        .requests()
        .iter()
        .filter(|r| r.path.contains("/jobs") || r.path.contains("/pods"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(about_runs.is_empty(), "{about_runs:#?}");
}

#[test]
fn an_interrupted_hook_leaves_its_revision_failed_and_its_run_unknown() {
    let cluster = TestCluster::start();
    let chart = installed_with_job(&cluster, "migrate", "pre-upgrade");
    cluster
        .server
        .add_run_rule(RunRule::job("migrate", Run::succeeding().held()));
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_rchart"))
        .args(["upgrade", "hk", chart.path(), "-n", NS])
        .env("KUBECONFIG", cluster.server.kubeconfig_path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The hook runs once the record says so.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while cluster.records(NS).len() < 2 || phase(&hooks(&cluster, Some(2)), "migrate") != "Running"
    {
        assert!(std::time::Instant::now() < deadline, "the hook never ran");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));

    assert_eq!(
        history(&cluster)[1],
        (
            "failed".to_string(),
            "Interrupted by SIGINT before it finished".to_string()
        )
    );
    let recorded = hooks(&cluster, Some(2));
    let (_, migrate) = recorded.iter().find(|(n, _)| n == "migrate").unwrap();
    assert_eq!(migrate["lastRun"]["phase"], "Unknown");
    assert_eq!(
        migrate["lastRun"]["message"],
        "the operation stopped before it ended"
    );
    assert!(cluster.names("leases", NS).is_empty());
    cluster.server.finish_run("Job", NS, "migrate");
}

#[test]
fn template_prints_hooks_last_and_a_dry_run_checks_the_hooks_it_would_run() {
    let chart = HookChart::new(&[
        settings(),
        (
            "hooks.yaml",
            documents(&[
                job("migrate", &[("rchart.io/hook", "pre-install")]),
                pod("smoke", &[("rchart.io/hook", "test")]),
            ]),
        ),
    ]);
    let template = |extra: &[&str]| {
        let output = crate::support::rchart()
            .args(["template", "hk", chart.path(), "-n", NS])
            .args(extra)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        crate::support::stdout_of(&output)
    };
    let names = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|line| line.strip_prefix("  name: "))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(names(&template(&[])), ["settings", "smoke", "migrate"]);
    assert_eq!(names(&template(&["--skip-tests"])), ["settings", "migrate"]);
    assert_eq!(names(&template(&["--no-hooks"])), ["settings"]);

    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    cluster.server.clear_requests();
    let printed = cluster.run(&["install", "hk", chart.path(), "-n", NS, "--dry-run"]);
    assert_eq!(printed, template(&[]));
    let checked: Vec<String> = cluster
        .server
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.query_param("dryRun").as_deref() == Some("All"))
        .map(|r| r.path.rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(
        checked.len(),
        2,
        "the object and the pre-install hook, not the test: {checked:?}"
    );
    assert!(checked.contains(&"migrate".to_string()), "{checked:?}");
    assert!(cluster.names("jobs", NS).is_empty() && cluster.records(NS).is_empty());
}
