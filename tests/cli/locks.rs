//! Release locks: one operation at a time, fast failure for the others, and recovery
//! when a holder dies.
//!
//! Nothing here races the clock: an operation is stopped where a test needs it by
//! holding one of its requests at a gate of the test API server, and a dead holder's
//! lock is made to look old by moving its Lease's renewal time, not by waiting.

use std::process::{Child, Output};
use std::time::Duration;

use rchart_test_apiserver::{FaultAction, Gate, Operation, RequestMatch, TimeShift};
use serde_json::Value;

use crate::support::{
    DEV_NS, TestCluster, as_strs, dev_args, real_writes_to, stderr_of, stdout_of,
};

const NS: &str = DEV_NS;
const LEASE: &str = "rchart.release.web";

fn upgrade_args(route: &str, extra: &[&str]) -> Vec<String> {
    let set = format!("routes./route1={route}");
    let mut args = vec!["--set", set.as_str()];
    args.extend(extra);
    dev_args("upgrade", "web", &args)
}

fn spawn(cluster: &TestCluster, args: &[String]) -> Child {
    cluster.spawn(&as_strs(args))
}

/// Holds the real apply (not the dry-run check) of the bundled chart's Deployment. An
/// operation held there has taken its lock and recorded its revision as pending.
fn hold_the_deployment_apply(cluster: &TestCluster) -> Gate {
    cluster
        .server
        .hold(real_writes_to("deployments", "web-multiroute"))
}

fn history(cluster: &TestCluster) -> Vec<Value> {
    cluster.history("web", NS)
}

fn status_of(cluster: &TestCluster, revision: u64) -> String {
    let record = cluster
        .get("secrets", NS, &format!("rchart.release.v1.web.v{revision}"))
        .unwrap_or_else(|| panic!("revision {revision} is recorded"));
    record["metadata"]["labels"]["status"]
        .as_str()
        .unwrap()
        .to_string()
}

fn assert_one_deployed_and_contiguous(cluster: &TestCluster) -> Vec<Value> {
    let revisions = history(cluster);
    let numbers: Vec<u64> = revisions
        .iter()
        .map(|r| r["revision"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (1..=numbers.len() as u64).collect();
    assert_eq!(numbers, expected, "revisions are contiguous");
    let deployed = revisions
        .iter()
        .filter(|r| r["status"] == "deployed")
        .count();
    assert_eq!(
        deployed, 1,
        "exactly one revision is deployed: {revisions:?}"
    );
    assert_eq!(
        cluster.records(NS).len(),
        revisions.len(),
        "one record per revision"
    );
    revisions
}

#[test]
fn two_upgrades_that_start_together_contend_and_the_loser_names_the_winner() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    cluster.server.clear_requests();
    // Both lock requests wait at the gate until both were sent, so they really meet.
    let lock_creates = cluster
        .server
        .hold(RequestMatch::of(Operation::Create).resource("leases"));
    let first = spawn(&cluster, &upgrade_args("first", &[]));
    let second = spawn(&cluster, &upgrade_args("second", &[]));
    let pids = [first.id(), second.id()];
    lock_creates.wait_for(2);
    drop(lock_creates);

    let outputs: Vec<Output> = [first, second]
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect();
    let winners: Vec<usize> = (0..2).filter(|&i| outputs[i].status.success()).collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one wins:\n{}\n{}",
        stderr_of(&outputs[0]),
        stderr_of(&outputs[1])
    );
    let (winner, loser) = (winners[0], 1 - winners[0]);
    let stderr = stderr_of(&outputs[loser]);
    assert_eq!(outputs[loser].status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: release web is locked by {} pid {} (rchart upgrade web) since ",
            this_host(),
            pids[winner]
        )),
        "the loser names the winner:\n{stderr}"
    );
    let lock_creates: Vec<Option<u16>> = cluster
        .server
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/leases"))
        .map(|r| r.status)
        .collect();
    let mut statuses = lock_creates.clone();
    statuses.sort();
    assert_eq!(statuses, [Some(201), Some(409)], "{lock_creates:?}");
    let revisions = assert_one_deployed_and_contiguous(&cluster);
    assert_eq!(revisions.len(), 2, "the winner made one revision, no more");
    assert!(
        cluster.names("leases", NS).is_empty(),
        "the lock was released"
    );
}

#[test]
fn every_changing_operation_fails_at_once_while_another_holds_the_lock() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    let apply = hold_the_deployment_apply(&cluster);
    let holder = spawn(&cluster, &upgrade_args("held", &[]));
    apply.wait_for(1);

    let locked = format!(
        "release web is locked by {} pid {} (rchart upgrade web) since ",
        this_host(),
        holder.id()
    );
    for args in [
        upgrade_args("second", &[]),
        dev_args("install", "web", &[]),
        ["rollback", "web", "1", "-n", NS]
            .map(String::from)
            .to_vec(),
        ["uninstall", "web", "-n", NS].map(String::from).to_vec(),
    ] {
        let error = cluster.fail(&as_strs(&args));
        assert!(error.contains(&locked), "rchart {}: {error}", args[0]);
    }
    assert_eq!(status_of(&cluster, 2), "pending-upgrade");

    apply.release_all();
    let output = holder.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(assert_one_deployed_and_contiguous(&cluster).len(), 2);
}

#[test]
fn a_killed_upgrade_is_recovered_once_its_lock_has_expired() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    let apply = hold_the_deployment_apply(&cluster);
    let mut child = spawn(&cluster, &upgrade_args("killed", &[]));
    apply.wait_for(1);
    assert_eq!(status_of(&cluster, 2), "pending-upgrade");
    child.kill().unwrap();
    child.wait().unwrap();
    // What the dead process sent never arrives.
    apply.drop_connections(1);
    drop(apply);

    // The lock stands until it expires (the default --lock-timeout, 5m).
    let error = cluster.fail(&as_strs(&upgrade_args("too-early", &[])));
    assert!(error.contains("release web is locked by"), "{error}");
    assert!(error.contains(", in 4m"), "{error}");

    // Ten minutes later, as far as the Lease says.
    cluster
        .server
        .shift_lease(NS, LEASE, TimeShift::Earlier(Duration::from_secs(600)))
        .unwrap();
    let (out, err) = cluster.run_with_stderr(&as_strs(&upgrade_args("recovered", &[])));
    assert!(out.contains("STATUS: deployed"), "{out}");
    assert!(
        err.contains("took over the lock of release web from ") && err.contains("had expired"),
        "{err}"
    );

    let revisions = assert_one_deployed_and_contiguous(&cluster);
    let killed = &revisions[1];
    assert_eq!(killed["status"], "failed");
    assert!(
        killed["description"]
            .as_str()
            .unwrap()
            .starts_with("Abandoned: the operation of "),
        "{killed}"
    );
    assert_eq!(
        revisions.len(),
        3,
        "the attempt while locked recorded nothing: {revisions:?}"
    );
}

/// Starts `args`, holds it at the apply of the Deployment, kills it (SIGKILL: nothing is
/// cleaned up) and removes its lock by hand, as someone who deletes the Lease would.
fn killed_and_unlocked_by_hand(cluster: &TestCluster, args: &[String]) {
    let apply = hold_the_deployment_apply(cluster);
    let mut child = spawn(cluster, args);
    apply.wait_for(1);
    child.kill().unwrap();
    child.wait().unwrap();
    apply.drop_connections(1);
    cluster.server.delete("leases", NS, LEASE).unwrap();
}

#[test]
fn a_revision_left_pending_without_its_lock_blocks_operations_until_a_rollback() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    killed_and_unlocked_by_hand(&cluster, &upgrade_args("stuck", &[]));
    assert_eq!(status_of(&cluster, 2), "pending-upgrade");

    let error = cluster.fail(&as_strs(&upgrade_args("next", &[])));
    assert!(
        error.contains("another operation is in progress on release web (revision 2, since "),
        "{error}"
    );
    assert!(
        error.contains("`rchart rollback web` marks it failed and restores the previous revision"),
        "{error}"
    );
    assert_eq!(cluster.records(NS).len(), 2, "the refusal recorded nothing");

    let out = cluster.run(&["rollback", "web", "-n", NS]);
    assert!(out.contains("REVISION: 3"), "{out}");
    let revisions = assert_one_deployed_and_contiguous(&cluster);
    assert_eq!(revisions[1]["status"], "failed");
    assert_eq!(revisions[2]["description"], "Rollback to 1");
    cluster.run(&as_strs(&upgrade_args("next", &[])));
    assert_eq!(status_of(&cluster, 4), "deployed");
}

#[test]
fn an_install_left_pending_without_its_lock_names_uninstall_as_the_way_out() {
    let cluster = TestCluster::start();
    cluster.create_namespace(NS);
    killed_and_unlocked_by_hand(&cluster, &dev_args("install", "web", &[]));
    assert_eq!(status_of(&cluster, 1), "pending-install");

    let error = cluster.fail(&as_strs(&upgrade_args("next", &[])));
    assert!(
        error.contains("another operation is in progress on release web (revision 1, since ")
            && error.contains("`rchart uninstall web` removes it"),
        "{error}"
    );
    cluster.run(&["uninstall", "web", "-n", NS]);
    assert!(cluster.records(NS).is_empty());
    cluster.install_dev("web");
    assert_eq!(status_of(&cluster, 1), "deployed");
}

/// Stops an upgrade with `signal` while it applies, and returns its output.
fn interrupted_upgrade(cluster: &TestCluster, signal: &str) -> Output {
    cluster.install_dev("web");
    let apply = hold_the_deployment_apply(cluster);
    let child = spawn(cluster, &upgrade_args("interrupted", &[]));
    apply.wait_for(1);
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    // The apply it left behind never arrives.
    apply.drop_connections(1);
    output
}

fn assert_interrupted_cleanly(cluster: &TestCluster, output: &Output, signal: &str) {
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(output));
    assert!(
        stderr_of(output).contains(&format!(
            "error: interrupted by {signal}; the revision in progress was marked failed"
        )),
        "{}",
        stderr_of(output)
    );
    assert!(
        cluster.names("leases", NS).is_empty(),
        "the lock was released"
    );
    let revisions = history(cluster);
    assert_eq!(revisions[1]["status"], "failed");
    assert_eq!(
        revisions[1]["description"],
        format!("Interrupted by {signal} before it finished")
    );
    // The next operation needs no waiting.
    let out = cluster.run(&as_strs(&upgrade_args("after", &[])));
    assert!(
        out.contains("REVISION: 3") && out.contains("STATUS: deployed"),
        "{out}"
    );
}

#[test]
fn sigterm_marks_the_revision_failed_and_releases_the_lock() {
    let cluster = TestCluster::start();
    let output = interrupted_upgrade(&cluster, "TERM");
    assert_interrupted_cleanly(&cluster, &output, "SIGTERM");
}

/// Ctrl-C in a terminal sends SIGINT to the foreground process.
#[test]
fn ctrl_c_marks_the_revision_failed_and_releases_the_lock() {
    let cluster = TestCluster::start();
    let output = interrupted_upgrade(&cluster, "INT");
    assert_interrupted_cleanly(&cluster, &output, "SIGINT");
}

#[test]
fn an_uncontended_lock_costs_two_requests() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    cluster.server.clear_requests();
    cluster.run(&as_strs(&upgrade_args("cheap", &[])));
    let lease_requests: Vec<String> = cluster
        .server
        .requests()
        .iter()
        .filter(|r| r.path.contains("/leases"))
        .map(|r| format!("{} {} {:?}", r.method, r.path, r.status))
        .collect();
    assert_eq!(
        lease_requests,
        [
            format!("POST /apis/coordination.k8s.io/v1/namespaces/{NS}/leases Some(201)"),
            format!("DELETE /apis/coordination.k8s.io/v1/namespaces/{NS}/leases/{LEASE} Some(200)"),
        ]
    );
}

#[test]
fn a_failed_lock_renewal_is_retried_and_the_lock_still_released() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    let apply = hold_the_deployment_apply(&cluster);
    let renewals = cluster
        .server
        .hold(RequestMatch::of(Operation::Update).resource("leases"));
    cluster.server.clear_requests();
    // A 1 s lease is renewed every third of a second.
    let child = spawn(
        &cluster,
        &upgrade_args("renewed", &["--lock-timeout", "1s"]),
    );
    apply.wait_for(1);
    // The first renewal fails with a 500, which the client does not retry by itself...
    renewals.wait_for(1);
    renewals.fail(1, FaultAction::etcd_request_timed_out());
    // ...so the renewal that comes next, while the operation still runs, is rchart's.
    renewals.wait_for(1);
    renewals.release(1);
    drop(renewals);
    apply.release_all();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stdout_of(&output).contains("STATUS: deployed"));

    let renewals: Vec<String> = cluster
        .server
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.path.ends_with(&format!("/leases/{LEASE}")))
        .map(|r| format!("{:?} {:?}", r.injected, r.status))
        .take(2)
        .collect();
    assert_eq!(
        renewals,
        ["[Held, Failed] Some(500)", "[Held] Some(200)"],
        "the failed renewal, then the one that retried it"
    );
    assert!(
        cluster.names("leases", NS).is_empty(),
        "the lock was released"
    );
}

/// The host name rchart puts in a lock's holder identity.
fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}
