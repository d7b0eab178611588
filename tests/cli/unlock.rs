//! Stale locks a person can understand: the "locked by" error says when the lock expires
//! and how to remove it now; `rchart unlock` removes a lock whose holder is gone, and
//! refuses while the holder runs on this host; a takeover says so on stderr.

use std::time::Duration;

use serde_json::json;

use crate::support::{
    DEV_NS, TestCluster, as_strs, dev_chart_args, real_writes_to, stderr_of, stdout_of,
};

const NS: &str = DEV_NS;
const LEASE: &str = "rchart.release.web";

fn upgrade_args(extra: &[&str]) -> Vec<String> {
    let mut args = vec!["upgrade".to_string(), "web".to_string()];
    args.extend(dev_chart_args(extra));
    args
}

/// A Lease as another machine's rchart leaves it, renewed `renewed_ago` ago.
fn foreign_lease(cluster: &TestCluster, renewed_ago: Duration, duration_seconds: u64) {
    let renewed = std::time::SystemTime::now() - renewed_ago;
    let time = humantime::format_rfc3339_micros(renewed).to_string();
    cluster
        .server
        .create(json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": LEASE, "namespace": NS, "labels": {"owner": "rchart"}},
            "spec": {
                "holderIdentity": "build-agent-7 pid 4242 (rchart upgrade web)",
                "leaseDurationSeconds": duration_seconds,
                "acquireTime": time,
                "renewTime": time,
                "leaseTransitions": 0,
            },
        }))
        .unwrap();
}

#[test]
fn the_locked_error_says_when_the_lock_expires_and_how_to_remove_it() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    foreign_lease(&cluster, Duration::ZERO, 300);
    let error = cluster.fail(
        &upgrade_args(&[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(
        error.contains(
            "release web is locked by build-agent-7 pid 4242 (rchart upgrade web) since "
        ),
        "{error}"
    );
    assert!(
        error.contains("the next operation takes it over after ") && error.contains(", in 4m"),
        "{error}"
    );
    assert!(
        error.contains("`rchart unlock web` removes the lock now"),
        "{error}"
    );
}

#[test]
fn unlock_removes_a_lock_whose_holder_is_elsewhere_and_says_whom() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    foreign_lease(&cluster, Duration::ZERO, 300);
    let out = cluster.run(&["unlock", "web", "-n", NS]);
    assert!(
        out.contains("removed the lock of release web held by build-agent-7 pid 4242 (rchart upgrade web) since "),
        "{out}"
    );
    assert!(cluster.get("leases", NS, LEASE).is_none());
    cluster.run(
        &upgrade_args(&[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );

    let error = cluster.fail(&["unlock", "web", "-n", NS]);
    assert!(
        error.contains("release web is not locked in namespace backend-dev"),
        "{error}"
    );
}

#[test]
fn unlock_refuses_while_the_holder_runs_here_and_frees_the_release_once_it_is_gone() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    // An upgrade held at the apply of its Deployment holds the lock.
    let apply = cluster
        .server
        .hold(real_writes_to("deployments", "web-multiroute"));
    let mut holder = cluster.spawn(&as_strs(&upgrade_args(&["--set", "routes./route1=new"])));
    apply.wait_for(1);
    assert_eq!(
        cluster
            .get("secrets", NS, "rchart.release.v1.web.v2")
            .unwrap()["metadata"]["labels"]["status"],
        "pending-upgrade"
    );

    let error = cluster.fail(&["unlock", "web", "-n", NS]);
    assert!(
        error.contains(&format!(
            "which is still running on this host (pid {})",
            holder.id()
        )),
        "{error}"
    );
    assert!(cluster.get("leases", NS, LEASE).is_some(), "the lock stays");

    // The holder dies without cleaning up (SIGKILL): now unlock frees the release.
    holder.kill().unwrap();
    holder.wait().unwrap();
    apply.drop_connections(1);
    drop(apply);
    let out = cluster.run(&["unlock", "web", "-n", NS]);
    assert!(out.contains("removed the lock of release web"), "{out}");
    assert!(
        out.contains("revision 2, left unfinished by that operation, is marked failed"),
        "{out}"
    );
    let history = cluster.history("web", NS);
    assert_eq!(history[1]["status"], "failed");
    assert!(
        history[1]["description"]
            .as_str()
            .unwrap()
            .contains("its lock was removed by `rchart unlock`"),
        "{history:?}"
    );
    cluster.run(
        &upgrade_args(&[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
}

#[test]
fn taking_over_an_expired_lock_says_so_on_stderr() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    foreign_lease(&cluster, Duration::from_secs(600), 300);
    let output = cluster.rchart().args(upgrade_args(&[])).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("took over the lock of release web"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("from build-agent-7 pid 4242 (rchart upgrade web)")
            && lines[0].contains("had expired"),
        "{stderr}"
    );
    assert!(stdout_of(&output).contains("REVISION: 2"));
}
