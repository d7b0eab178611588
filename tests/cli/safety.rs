//! Waiting for readiness, atomic operations, and every kind of injected failure leaving
//! the release in a well-defined state that the next operation can move on from.

use std::time::Duration;

use rchart_test_apiserver::{Fault, Readiness, ReadinessRule, TestApiServer};
use serde_json::Value;

use crate::support::{DEV_NS, TestCluster, dev_chart_args, fail_after_check, stderr_of};

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

#[test]
fn an_atomic_upgrade_that_fails_rolls_back_and_says_why_first() {
    let cluster = with_namespace(TestApiServer::builder());
    run(&cluster, &["install", "web"], &[]);
    let before = cluster.config_maps(NS);
    cluster.server.add_fault(fail_after_check(
        "deployments",
        "web-multiroute",
        500,
        "admission webhook timed out",
    ));
    let output = run(
        &cluster,
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
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
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
    assert_eq!(
        cluster.config_maps(NS),
        before,
        "the old configuration is live again"
    );
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

    cluster.server.remove_fault(fault);
    let output = run(&cluster, &["install", "web"], &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(statuses(&cluster), ["uninstalled", "deployed"]);
}

#[test]
fn a_quota_rejection_stops_the_install_before_anything_is_created() {
    let cluster = with_namespace(TestApiServer::builder());
    cluster.server.add_fault(
        Fault::fail_writes_to(
            "deployments",
            "web-multiroute",
            403,
            "deployments.apps \"web-multiroute\" is forbidden: exceeded quota: compute, requested: limits.cpu=500m, used: limits.cpu=2, limited: limits.cpu=2",
        )
        .persistent(),
    );
    let output = run(&cluster, &["install", "web"], &["--atomic"]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rejected 1 object in a dry run, so nothing was changed")
            && stderr.contains("Deployment backend-dev/web-multiroute")
            && stderr.contains("exceeded quota"),
        "{stderr}"
    );
    assert!(cluster.config_maps(NS).is_empty(), "nothing was applied");
    assert!(cluster.records(NS).is_empty(), "nothing was recorded");
}

/// Every kind of failure the test server can inject, one after another on one release:
/// each leaves a well-defined status and a complete, readable history, and the next
/// operation works.
#[test]
fn injected_failures_leave_a_well_defined_release() {
    let cluster = with_namespace(TestApiServer::builder());
    run(&cluster, &["install", "web"], &[]);
    let record = |revision: u64| format!("rchart.release.v1.web.v{revision}");

    // The Nth write fails: the upgrade takes the lock (1), checks its 5 objects with
    // dry runs (5), records the revision (1), and its next write is the first apply.
    cluster
        .server
        .add_fault(Fault::fail_nth_write(8, 500, "etcd leader changed"));
    let output = run(
        &cluster,
        &["upgrade", "web"],
        &["--set", "routes./route1=a"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("etcd leader changed"),
        "{}",
        stderr_of(&output)
    );

    // A conflict on the record update that marks the revision deployed: the record is
    // read again and the update made on the fresh copy.
    cluster
        .server
        .add_fault(Fault::conflict_on_next_update("secrets", &record(3)));
    let output = run(
        &cluster,
        &["upgrade", "web"],
        &["--set", "routes./route1=b"],
    );
    assert!(output.status.success(), "{}", stderr_of(&output));

    // Slow responses: the operation just takes longer.
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

    // A dropped connection while applying the Deployment.
    // The first PATCH is the dry-run check, the second the apply.
    let apply_of_the_deployment = rchart_test_apiserver::RequestMatch {
        method: Some("PATCH".to_string()),
        path_contains: Some("/deployments/web-multiroute".to_string()),
        nth: Some(2),
        ..Default::default()
    };
    cluster.server.add_fault(Fault::new(
        apply_of_the_deployment,
        rchart_test_apiserver::FaultAction::Drop,
    ));
    let output = run(
        &cluster,
        &["upgrade", "web"],
        &["--set", "routes./route1=d"],
    );
    assert_eq!(output.status.code(), Some(1));

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
