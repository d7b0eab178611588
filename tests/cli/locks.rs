//! Release locks: one operation at a time, fast failure for the others, and recovery
//! when a holder dies.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rchart_test_apiserver::Fault;
use serde_json::Value;

use crate::support::{DEV_NS, TestCluster, dev_chart_args, stderr_of};

const NS: &str = DEV_NS;

fn upgrade_args(route: &str) -> Vec<String> {
    let mut args = vec!["upgrade".to_string(), "web".to_string()];
    args.extend(dev_chart_args(&[
        "--set",
        &format!("routes./route1={route}"),
    ]));
    args
}

fn install(cluster: &TestCluster) {
    cluster.install_dev("web");
}

fn spawn(cluster: &TestCluster, args: &[String]) -> Child {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rchart"));
    command
        .args(args)
        .env("KUBECONFIG", cluster.server.kubeconfig_path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command.spawn().unwrap()
}

fn history(cluster: &TestCluster) -> Vec<Value> {
    cluster.history("web", NS)
}

/// Waits until revision `revision` is recorded as pending.
fn wait_for_pending(cluster: &TestCluster, revision: u64) {
    let name = format!("rchart.release.v1.web.v{revision}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(secret) = cluster.get("secrets", NS, &name)
            && secret["metadata"]["labels"]["status"]
                .as_str()
                .is_some_and(|s| s.starts_with("pending-"))
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("revision {revision} never became pending");
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
fn concurrent_upgrades_take_turns_or_fail_with_the_lock_message() {
    let cluster = TestCluster::start();
    install(&cluster);
    // Slow the applies down so the processes overlap.
    cluster
        .server
        .add_fault(Fault::delay(Some("/deployments/"), Duration::from_millis(150)).persistent());
    let children: Vec<Child> = (0..8)
        .map(|i| spawn(&cluster, &upgrade_args(&format!("version-{i}"))))
        .collect();
    let mut succeeded = 0;
    for child in children {
        let output = child.wait_with_output().unwrap();
        if output.status.success() {
            succeeded += 1;
        } else {
            let stderr = stderr_of(&output);
            assert_eq!(output.status.code(), Some(1), "{stderr}");
            assert!(
                stderr.contains("error: release web is locked by ")
                    && stderr.contains("(rchart upgrade web) since "),
                "a process failed for another reason than the lock:\n{stderr}"
            );
        }
    }
    assert!(succeeded >= 1);
    let revisions = assert_one_deployed_and_contiguous(&cluster);
    assert_eq!(
        revisions.len(),
        1 + succeeded,
        "every success made one revision, no more"
    );
    assert!(
        cluster.names("leases", NS).is_empty(),
        "every lock was released"
    );
}

#[test]
fn a_killed_upgrade_is_recovered_after_the_lock_timeout() {
    let cluster = TestCluster::start();
    install(&cluster);
    let slow = cluster
        .server
        .add_fault(Fault::delay(Some("/deployments/"), Duration::from_secs(20)).persistent());
    let mut args = upgrade_args("killed");
    args.extend(["--lock-timeout".to_string(), "2s".to_string()]);
    let mut child = spawn(&cluster, &args);
    wait_for_pending(&cluster, 2);
    child.kill().unwrap();
    child.wait().unwrap();
    cluster.server.remove_fault(slow);

    // The lock still stands until it expires.
    let err = cluster.fail(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(err.contains("release web is locked by"), "{err}");

    std::thread::sleep(Duration::from_millis(2500));
    let mut retry = upgrade_args("recovered");
    retry.extend(["--lock-timeout".to_string(), "2s".to_string()]);
    let out = cluster.run(&retry.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.contains("STATUS: deployed"), "{out}");

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
    assert_eq!(revisions[2]["status"], "deployed");
}

#[test]
fn sigterm_marks_the_revision_failed_and_releases_the_lock() {
    let cluster = TestCluster::start();
    install(&cluster);
    let slow = cluster
        .server
        .add_fault(Fault::delay(Some("/deployments/"), Duration::from_secs(20)).persistent());
    let child = spawn(&cluster, &upgrade_args("interrupted"));
    wait_for_pending(&cluster, 2);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("interrupted by SIGTERM"),
        "{}",
        stderr_of(&output)
    );
    cluster.server.remove_fault(slow);

    assert!(
        cluster.names("leases", NS).is_empty(),
        "the lock was released"
    );
    let revisions = history(&cluster);
    assert_eq!(revisions[1]["status"], "failed");
    assert_eq!(
        revisions[1]["description"],
        "Interrupted by SIGTERM before it finished"
    );
    // The next operation needs no waiting.
    let out = cluster.run(
        &upgrade_args("after")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(
        out.contains("REVISION: 3") && out.contains("STATUS: deployed"),
        "{out}"
    );
}

#[test]
fn an_uncontended_lock_costs_two_requests() {
    let cluster = TestCluster::start();
    install(&cluster);
    cluster.server.clear_requests();
    cluster.run(
        &upgrade_args("cheap")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let lease_requests: Vec<String> = cluster
        .server
        .requests()
        .iter()
        .filter(|r| r.path.contains("/leases"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(lease_requests.len(), 2, "{lease_requests:?}");
    assert!(lease_requests[0].starts_with("POST") && lease_requests[1].starts_with("DELETE"));
}

#[test]
fn a_failed_lock_renewal_is_retried_and_the_lock_still_released() {
    let cluster = TestCluster::start();
    install(&cluster);
    // Long enough for several renewals at a 1 s lock timeout (one every 333 ms).
    let slow = cluster
        .server
        .add_fault(Fault::delay(Some("/deployments/"), Duration::from_millis(1500)).persistent());
    cluster.server.add_fault(Fault::fail_writes_to(
        "leases",
        "rchart.release.web",
        500,
        "etcd timeout",
    ));
    cluster.server.clear_requests();
    let mut args = upgrade_args("renewed");
    args.extend(["--lock-timeout".to_string(), "1s".to_string()]);
    cluster.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    cluster.server.remove_fault(slow);
    let renewals = cluster
        .server
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.path.contains("/leases/"))
        .count();
    assert!(
        renewals >= 2,
        "the failed renewal was retried: {renewals} renewals"
    );
    assert!(
        cluster.names("leases", NS).is_empty(),
        "the lock was released"
    );
}
