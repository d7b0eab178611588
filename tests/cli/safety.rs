//! Waiting for readiness, atomic operations, and every kind of injected failure leaving
//! the release in a well-defined state that the next operation can move on from.

use std::time::Duration;

use rchart_test_apiserver::{
    Fault, FaultAction, Operation, Readiness, ReadinessRule, RequestMatch, TestApiServer,
};
use serde_json::Value;

use crate::support::{
    DEV_NS, TestCluster, dev_chart_args, fail_after_check, real_writes_to, stderr_of,
};

/// The bundled chart's Deployment, as its requests' paths end.
const DEPLOYMENT_PATH: &str = "/apis/apps/v1/namespaces/backend-dev/deployments/web-multiroute";

const NS: &str = DEV_NS;

fn run(cluster: &TestCluster, verb: &[&str], extra: &[&str]) -> std::process::Output {
    cluster
        .rchart()
        .args(verb)
        .args(dev_chart_args(extra))
        .output()
        .unwrap()
}

fn with_namespace(builder: rchart_test_apiserver::Builder) -> TestCluster {
    let cluster = TestCluster::with(builder);
    cluster.create_namespace(NS);
    cluster
}

fn history(cluster: &TestCluster) -> Vec<Value> {
    cluster.history("web", NS)
}

fn statuses(cluster: &TestCluster) -> Vec<String> {
    history(cluster)
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn wait_succeeds_once_workloads_are_ready() {
    let cluster = with_namespace(TestApiServer::builder().readiness(ReadinessRule::kind(
        "Deployment",
        Readiness::after(Duration::from_millis(300)),
    )));
    let output = run(
        &cluster,
        &["install", "web"],
        &["--wait", "--timeout", "30s"],
    );
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("Deployment backend-dev/web-multiroute"),
        "progress names the Deployment:\n{stderr}"
    );
    assert_eq!(statuses(&cluster), ["deployed"]);
}

#[test]
fn a_wait_that_times_out_fails_the_revision_naming_what_was_not_ready() {
    let cluster = with_namespace(
        TestApiServer::builder().readiness(ReadinessRule::kind("Deployment", Readiness::Never)),
    );
    let output = run(
        &cluster,
        &["install", "web"],
        &["--wait", "--timeout", "1s"],
    );
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("timed out after 1s"), "{stderr}");
    assert!(
        stderr.contains("Deployment backend-dev/web-multiroute"),
        "{stderr}"
    );
    let revisions = history(&cluster);
    assert_eq!(revisions[0]["status"], "failed");
    assert!(
        revisions[0]["description"]
            .as_str()
            .unwrap()
            .contains("Deployment backend-dev/web-multiroute"),
        "{revisions:?}"
    );
}

/// `upgrade web --atomic` with the Deployment's next `failures` real writes refused (a
/// webhook timing out); asserts exit 1 and returns stderr and its `error:` lines.
fn atomic_upgrade_with_failing_deployment(
    cluster: &TestCluster,
    failures: u32,
) -> (String, Vec<String>) {
    cluster.server.clear_requests();
    let mut fault = fail_after_check(
        "deployments",
        "web-multiroute",
        500,
        "admission webhook timed out",
    );
    fault.times = failures;
    cluster.server.add_fault(fault);
    let output = run(
        cluster,
        &["upgrade", "web"],
        &[
            "--set",
            "routes./route1=broken",
            "--atomic",
            "--timeout",
            "20s",
        ],
    );
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let errors = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .map(str::to_string)
        .collect();
    (stderr, errors)
}

#[test]
fn an_atomic_upgrade_that_fails_rolls_back_and_says_why_first() {
    let cluster = with_namespace(TestApiServer::builder());
    run(&cluster, &["install", "web"], &[]);
    let before = cluster.config_maps(NS);
    let (stderr, lines) = atomic_upgrade_with_failing_deployment(&cluster, 1);
    assert!(
        lines[0].contains("admission webhook timed out"),
        "the cause comes first:\n{stderr}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .contains("revision 2 failed and was rolled back to revision 1 (now revision 3)"),
        "{stderr}"
    );
    assert_eq!(statuses(&cluster), ["superseded", "failed", "deployed"]);
    assert_eq!(history(&cluster)[2]["description"], "Rollback to 1");
    cluster.assert_fired(&[&format!(
        "PATCH {DEPLOYMENT_PATH}: failed, handled nothing, answered 500"
    )]);
    assert_eq!(
        cluster.config_maps(NS),
        before,
        "the old configuration is live again"
    );
}

/// When the rollback that undoes a failed upgrade fails too, the upgrade's cause still
/// comes first, and the failed rollback's record says what it was.
#[test]
fn an_atomic_upgrade_whose_undoing_fails_still_says_why_first() {
    let cluster = with_namespace(TestApiServer::builder());
    run(&cluster, &["install", "web"], &[]);
    let (stderr, errors) = atomic_upgrade_with_failing_deployment(&cluster, 2);
    assert_eq!(errors.len(), 2, "{stderr}");
    assert!(
        errors[0].contains("Deployment backend-dev/web-multiroute")
            && errors[0].contains("admission webhook timed out"),
        "the upgrade's cause comes first:\n{stderr}"
    );
    assert!(
        errors[1].starts_with(
            "error: release web failed (the error above), and undoing it failed too; `rchart history web` shows where it stands"
        ),
        "{stderr}"
    );
    cluster.assert_fired(&[
        &format!("PATCH {DEPLOYMENT_PATH}: failed, handled nothing, answered 500"),
        &format!("PATCH {DEPLOYMENT_PATH}: failed, handled nothing, answered 500"),
    ]);
    assert_eq!(statuses(&cluster), ["deployed", "failed", "failed"]);
    let description = history(&cluster)[2]["description"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        description.starts_with("Rollback to 1 failed: ")
            && description.contains("admission webhook timed out"),
        "{description}"
    );
    // The next plain upgrade moves on from there.
    let output = run(&cluster, &["upgrade", "web"], &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(statuses(&cluster).last().unwrap(), "deployed");
}

#[test]
fn an_atomic_install_that_fails_deletes_what_it_created() {
    let cluster = with_namespace(TestApiServer::builder());
    let fault = cluster.server.add_fault(fail_after_check(
        "deployments",
        "web-multiroute",
        500,
        "etcdserver: leader changed",
    ));
    let output = run(&cluster, &["install", "web"], &["--atomic"]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("etcdserver: leader changed"), "{stderr}");
    assert!(
        stderr.contains("everything it created was deleted"),
        "{stderr}"
    );
    assert!(cluster.config_maps(NS).is_empty());
    assert!(
        cluster
            .names("services", NS)
            .iter()
            .all(|n| !n.starts_with("web-"))
    );
    assert_eq!(statuses(&cluster), ["uninstalled"]);
    cluster.assert_fired(&[&format!(
        "PATCH {DEPLOYMENT_PATH}: failed, handled nothing, answered 500"
    )]);

    assert!(
        !cluster.server.remove_fault(fault),
        "the fault fired once and went away"
    );
    let output = run(&cluster, &["install", "web"], &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(statuses(&cluster), ["uninstalled", "deployed"]);
}

#[test]
fn a_quota_rejection_stops_the_install_before_anything_is_created() {
    let cluster = with_namespace(TestApiServer::builder());
    // The ResourceQuota admission plugin's answer: 403 Forbidden, for the check and for
    // the write alike.
    cluster.server.add_fault(
        Fault::new(
            RequestMatch::of(Operation::Write)
                .resource("deployments")
                .name("web-multiroute"),
            FaultAction::quota_exceeded("compute", 2),
        )
        .persistent(),
    );
    let output = run(&cluster, &["install", "web"], &["--atomic"]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rejected 1 object in a dry run, so nothing was changed")
            && stderr.contains("Deployment backend-dev/web-multiroute")
            && stderr.contains(
                "deployments.apps \"web-multiroute\" is forbidden: exceeded quota: compute, \
                 requested: count/deployments.apps=1, used: count/deployments.apps=2, \
                 limited: count/deployments.apps=2"
            ),
        "{stderr}"
    );
    assert!(cluster.config_maps(NS).is_empty(), "nothing was applied");
    assert!(cluster.records(NS).is_empty(), "nothing was recorded");
    cluster.assert_fired(&[&format!(
        "PATCH {DEPLOYMENT_PATH}: failed, handled nothing, answered 403"
    )]);
}

#[test]
fn an_admission_webhook_denial_stops_the_upgrade_before_anything_changes() {
    let cluster = with_namespace(TestApiServer::builder());
    run(&cluster, &["install", "web"], &[]);
    let config_maps = cluster.config_maps(NS);
    cluster.server.clear_requests();
    cluster.server.add_fault(
        Fault::webhook_denies("deployments", "policy.example.com", "no latest tags").persistent(),
    );
    let output = run(
        &cluster,
        &["upgrade", "web"],
        &["--set", "routes./route1=denied"],
    );
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rejected 1 object in a dry run, so nothing was changed")
            && stderr.contains(
                "admission webhook \"policy.example.com\" denied the request: no latest tags"
            ),
        "{stderr}"
    );
    assert_eq!(cluster.config_maps(NS), config_maps, "nothing was applied");
    assert_eq!(statuses(&cluster), ["deployed"], "nothing was recorded");
    cluster.assert_fired(&[&format!(
        "PATCH {DEPLOYMENT_PATH}: failed, handled nothing, answered 403"
    )]);
}

/// Every kind of failure the test server can inject, one after another on one release:
/// each leaves a well-defined status and a complete, readable history, and the next
/// operation works.
#[test]
fn injected_failures_leave_a_well_defined_release() {
    let cluster = with_namespace(TestApiServer::builder());
    run(&cluster, &["install", "web"], &[]);
    let record = |revision: u64| format!("rchart.release.v1.web.v{revision}");

    // A storage error on the apply of the Deployment (after its dry-run check passed).
    cluster.server.clear_requests();
    cluster.server.add_fault(Fault::new(
        real_writes_to("deployments", "web-multiroute"),
        FaultAction::etcd_request_timed_out(),
    ));
    let output = run(
        &cluster,
        &["upgrade", "web"],
        &["--set", "routes./route1=a"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("etcdserver: request timed out"),
        "{}",
        stderr_of(&output)
    );
    cluster.assert_fired(&[&format!(
        "PATCH {DEPLOYMENT_PATH}: failed, handled nothing, answered 500"
    )]);

    // A conflict on the record update that marks the revision deployed: the record is
    // read again and the update made on the fresh copy.
    cluster.server.clear_requests();
    cluster
        .server
        .add_fault(Fault::conflict_on_next_update("secrets", &record(3)));
    let output = run(
        &cluster,
        &["upgrade", "web"],
        &["--set", "routes./route1=b"],
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    cluster.assert_fired(&[&format!(
        "PUT /api/v1/namespaces/{NS}/secrets/{}: failed, handled nothing, answered 409",
        record(3)
    )]);

    // Slow responses: the operation just takes longer.
    cluster.server.clear_requests();
    let slow = cluster
        .server
        .add_fault(Fault::delay(None, Duration::from_millis(30)).persistent());
    let output = run(
        &cluster,
        &["upgrade", "web"],
        &["--set", "routes./route1=c"],
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    cluster.server.remove_fault(slow);
    let requests = cluster.server.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.injected == [rchart_test_apiserver::Injected::Delayed]),
        "every request was slowed down: {requests:#?}"
    );

    // The apply of the Deployment is committed, but its answer never comes: the
    // connection drops.
    cluster.server.clear_requests();
    cluster.server.add_fault(Fault::new(
        real_writes_to("deployments", "web-multiroute"),
        FaultAction::Drop.after_commit(),
    ));
    let output = run(
        &cluster,
        &["upgrade", "web"],
        &["--set", "routes./route1=committed-unanswered"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    cluster.assert_fired(&[&format!(
        "PATCH {DEPLOYMENT_PATH}: dropped, handled 200, answered nothing"
    )]);
    let new_config = cluster
        .config_maps(NS)
        .into_iter()
        .find(|name| {
            cluster.get("configmaps", NS, name).unwrap()["data"]["config.yml"]
                .as_str()
                .is_some_and(|config| config.contains("committed-unanswered"))
        })
        .expect("the new ConfigMap was applied");
    let volumes = &cluster.get("deployments", NS, "web-multiroute").unwrap()["spec"]["template"]["spec"]
        ["volumes"];
    assert!(
        volumes.to_string().contains(&format!("\"{new_config}\"")),
        "the Deployment write whose answer was lost was committed: {volumes}"
    );

    let revisions = history(&cluster);
    let numbers: Vec<u64> = revisions
        .iter()
        .map(|r| r["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(
        numbers,
        [1, 2, 3, 4, 5],
        "no revision lost or duplicated: {revisions:?}"
    );
    for revision in &revisions {
        let status = revision["status"].as_str().unwrap();
        assert!(
            !status.starts_with("pending-"),
            "nothing is left pending: {revisions:?}"
        );
    }
    assert_eq!(
        revisions
            .iter()
            .filter(|r| r["status"] == "deployed")
            .count(),
        1,
        "{revisions:?}"
    );
    for failed in [2, 5] {
        assert_eq!(revisions[failed - 1]["status"], "failed", "{revisions:?}");
        assert!(
            !revisions[failed - 1]["description"]
                .as_str()
                .unwrap()
                .is_empty()
        );
    }

    // And the next operation works.
    let output = run(
        &cluster,
        &["upgrade", "web"],
        &["--set", "routes./route1=e"],
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    let revisions = history(&cluster);
    assert_eq!(revisions.last().unwrap()["status"], "deployed");
    assert_eq!(
        revisions
            .iter()
            .filter(|r| r["status"] == "deployed")
            .count(),
        1
    );
}

/// A server that times out after committing an apply (504) is asked again by the
/// client, and server-side apply makes the second attempt harmless: the upgrade goes on.
#[test]
fn an_apply_answered_with_a_timeout_after_it_was_committed_is_sent_again() {
    let cluster = with_namespace(TestApiServer::builder());
    run(&cluster, &["install", "web"], &[]);
    cluster.server.clear_requests();
    cluster.server.add_fault(Fault::new(
        real_writes_to("deployments", "web-multiroute"),
        FaultAction::timeout().after_commit(),
    ));
    let output = run(
        &cluster,
        &["upgrade", "web"],
        &["--set", "routes./route1=retried"],
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    cluster.assert_fired(&[&format!(
        "PATCH {DEPLOYMENT_PATH}: failed, handled 200, answered 504"
    )]);
    let applies: Vec<Option<u16>> = cluster
        .server
        .requests()
        .iter()
        .filter(|r| {
            r.method == "PATCH" && r.path == DEPLOYMENT_PATH && r.query_param("dryRun").is_none()
        })
        .map(|r| r.status)
        .collect();
    assert_eq!(applies, [Some(504), Some(200)], "the apply was sent again");
    assert_eq!(statuses(&cluster), ["superseded", "deployed"]);
}

/// A chart with a Deployment `steady`, and with `--set extra=true` a Deployment `extra`
/// too, in namespace backend-dev.
fn two_deployments_chart(dir: &std::path::Path) -> String {
    let deployment = |name: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n        - name: app\n          image: example/app:1\n"
        )
    };
    let extra = format!(
        "{{% if values.extra %}}\n{}{{% endif %}}\n",
        deployment("extra")
    );
    crate::support::write_chart(
        &dir.join("pair"),
        &[
            ("Chart.yaml", "apiVersion: v2\nname: pair\nversion: 0.1.0\n"),
            ("values.yaml", "extra: false\n"),
            ("templates/steady.yaml", &deployment("steady")),
            ("templates/extra.yaml", &extra),
        ],
    )
    .display()
    .to_string()
}

/// `--atomic` waits without `--wait`, so a rollout that fails is noticed and rolled back;
/// `--rollback-on-failure` is the same flag. Without either, the same upgrade succeeds,
/// since nothing waits for the rollout.
#[test]
fn atomic_implies_wait_and_rollback_on_failure_is_its_alias() {
    let cluster = with_namespace(TestApiServer::builder().readiness(ReadinessRule::named(
        "Deployment",
        "extra",
        Readiness::failing_after(Duration::ZERO),
    )));
    let dir = tempfile::tempdir().unwrap();
    let chart = two_deployments_chart(dir.path());
    let upgrade = |flag: Option<&str>| {
        let mut args = vec!["upgrade", "pair", &chart, "-n", NS, "--set", "extra=true"];
        args.extend(flag);
        cluster.rchart().args(&args).output().unwrap()
    };
    let pair_statuses = || -> Vec<String> {
        cluster
            .history("pair", NS)
            .iter()
            .map(|r| r["status"].as_str().unwrap().to_string())
            .collect()
    };
    cluster.run(&["install", "pair", &chart, "-n", NS]);

    for (flag, back_to, revisions) in [
        (
            "--atomic",
            1,
            ["superseded", "failed", "deployed"].as_slice(),
        ),
        (
            "--rollback-on-failure",
            3,
            ["superseded", "failed", "superseded", "failed", "deployed"].as_slice(),
        ),
    ] {
        let output = upgrade(Some(flag));
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(1), "{flag}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "Deployment {NS}/extra failed: progress deadline exceeded"
            )),
            "{flag} waited for the rollout: {stderr}"
        );
        assert!(
            stderr.contains(&format!("was rolled back to revision {back_to}")),
            "{stderr}"
        );
        assert_eq!(pair_statuses(), revisions, "{flag}");
        assert!(
            cluster.get("deployments", NS, "extra").is_none(),
            "{flag}: the rollback pruned it"
        );
    }

    let output = upgrade(None);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(pair_statuses().last().unwrap(), "deployed");
    assert!(cluster.get("deployments", NS, "extra").is_some());
}
