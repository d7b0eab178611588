//! `rchart test`: the bundled chart's own test, passing and failing, `--logs` for Pods and
//! Jobs, `--filter`, and what the record keeps.

use rchart_test_apiserver::{Run, RunRule};
use serde_json::json;

use crate::hooks::{HookChart, NS, documents, hooks, install, job, phase, pod, uid};
use crate::support::{DEV_NS, TestCluster, stderr_of, stdout_of};

const TEST_POD: &str = "web-multiroute-test";

/// `rchart test ARGS` against the cluster; the whole output.
fn test(cluster: &TestCluster, args: &[&str]) -> std::process::Output {
    cluster.rchart().arg("test").args(args).output().unwrap()
}

#[test]
fn the_bundled_charts_test_passes_and_the_record_keeps_the_run() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    let report = "ok: GET http://web-multiroute.backend-dev.svc:3000/route1\n3 of 3 URLs answered as expected\n";
    cluster
        .server
        .add_run_rule(RunRule::pod(TEST_POD, Run::succeeding().log(report)));

    let output = test(&cluster, &["web", "-n", DEV_NS, "--logs"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let stdout = stdout_of(&output);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[..2], ["NAME: web", "REVISION: 1"]);
    assert!(lines[2].starts_with("TEST "), "{stdout}");
    assert!(
        lines[3].starts_with("Pod backend-dev/web-multiroute-test   Succeeded   "),
        "{stdout}"
    );
    assert!(
        stdout.ends_with(&format!(
            "\n--- log of Pod backend-dev/{TEST_POD} (container check) ---\n{report}"
        )),
        "the log is read before hook-succeeded deletes the Pod:\n{stdout}"
    );
    assert!(
        cluster.get("pods", DEV_NS, TEST_POD).is_none(),
        "hook-succeeded"
    );

    let status = cluster.run(&["status", "web", "-n", DEV_NS]);
    assert!(
        status.contains(&format!(
            "TESTS:\n  Pod backend-dev/{TEST_POD}: Succeeded, "
        )),
        "{status}"
    );
    assert!(status.contains("STATUS: deployed"), "{status}");
    assert_eq!(cluster.history("web", DEV_NS).len(), 1, "no new revision");
}

#[test]
fn a_failing_test_exits_1_with_its_log_and_stays_for_a_look() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    let log = "ok: GET http://web-multiroute.backend-dev.svc:3000/route1\nfailed: GET http://web-multiroute.backend-dev.svc:3000/route2: status 404, body \"404 page not found\\n\"\n1 of 2 URLs answered as expected\n";
    cluster
        .server
        .add_run_rule(RunRule::pod(TEST_POD, Run::failing().log(log)));

    let output = test(&cluster, &["web", "-n", DEV_NS]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = stdout_of(&output);
    let row: Vec<&str> = stdout.lines().nth(3).unwrap().split_whitespace().collect();
    assert_eq!(
        [row[0], row[1], row[2]],
        ["Pod", &format!("backend-dev/{TEST_POD}"), "Failed"],
        "{stdout}"
    );
    assert!(
        stdout.contains("   container \"check\" exited with code 1 (Error)\n"),
        "{stdout}"
    );
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains(&format!(
            "error: 1 of 1 tests of release \"web\" failed\ntest hook Pod backend-dev/{TEST_POD} failed: container \"check\" exited with code 1 (Error)\n  last 3 lines of the log of Pod backend-dev/{TEST_POD} (container check):\n    ok: GET "
        )),
        "{stderr}"
    );
    assert!(
        cluster.get("pods", DEV_NS, TEST_POD).is_some(),
        "a failed test Pod is kept"
    );
    let status = cluster.run(&["status", "web", "-n", DEV_NS]);
    assert!(
        status.contains(&format!("  Pod backend-dev/{TEST_POD}: Failed, "))
            && status.contains("STATUS: deployed"),
        "{status}"
    );

    // With --logs the log is printed once, with the table.
    let output = test(&cluster, &["web", "-n", DEV_NS, "--logs"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout_of(&output).ends_with(log), "{}", stdout_of(&output));
    assert!(!stderr_of(&output).contains("last 3 lines"));
}

/// A chart with two tests, a Job and a Pod, of different weights.
fn two_tests() -> HookChart {
    HookChart::new(&[(
        "tests.yaml",
        documents(&[
            job(
                "smoke",
                &[("rchart.io/hook", "test"), ("rchart.io/hook-weight", "1")],
            ),
            pod("ping", &[("helm.sh/hook", "test-success")]),
        ]),
    )])
}

#[test]
fn a_jobs_log_is_read_from_its_own_pods_and_every_test_runs_after_a_failure() {
    let cluster = TestCluster::start();
    let chart = two_tests();
    install(&cluster, &chart, &[]);
    cluster.server.add_run_rule(RunRule::pod(
        "ping",
        Run::failing().log("no route to host\n"),
    ));
    cluster.server.add_run_rule(RunRule::job(
        "smoke",
        Run::succeeding().log("smoke: all good\n"),
    ));
    // A Pod that looks like the Job's but is not: another Job of the same name left it.
    cluster.server.add_run_rule(RunRule::pod(
        "smoke-stale",
        Run::succeeding().log("stale\n"),
    ));
    cluster
        .server
        .create(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "smoke-stale", "namespace": NS, "labels": {
                "job-name": "smoke", "batch.kubernetes.io/job-name": "smoke",
                "controller-uid": "0000", "batch.kubernetes.io/controller-uid": "0000"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "smoke", "image": "busybox"}]},
        }))
        .unwrap();

    let output = test(&cluster, &["hk", "-n", NS, "--logs"]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = stdout_of(&output);
    let ping = stdout.find("Pod shop/ping ").expect("ping ran");
    let smoke = stdout
        .find("Job shop/smoke ")
        .expect("smoke ran after ping failed");
    assert!(ping < smoke, "weight 0 before weight 1:\n{stdout}");
    assert!(stdout.contains("smoke: all good\n"), "{stdout}");
    assert!(!stdout.contains("stale"), "{stdout}");
    assert!(
        stdout.contains("\n--- log of Pod shop/smoke-"),
        "the Job's Pod by name:\n{stdout}"
    );
    let recorded = hooks(&cluster, Some(1));
    assert_eq!(phase(&recorded, "ping"), "Failed");
    assert_eq!(phase(&recorded, "smoke"), "Succeeded");
    assert!(
        stderr_of(&output).contains(
            "error: 1 of 2 tests of release \"hk\" failed: test hook Pod shop/ping failed: container \"ping\" exited with code 1 (Error)\n"
        ),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn filters_choose_the_tests_by_name() {
    let cluster = TestCluster::start();
    let chart = two_tests();
    install(&cluster, &chart, &[]);

    let output = test(&cluster, &["hk", "-n", NS, "--filter", "name=smoke"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(!stdout_of(&output).contains("ping"));
    assert!(uid(&cluster, "pods", "ping").is_none(), "ping did not run");

    let output = test(&cluster, &["hk", "-n", NS, "--filter", "!name=smoke"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(!stdout_of(&output).contains("smoke"));

    let stderr = cluster.fail(&["test", "hk", "-n", NS, "--filter", "name=nope"]);
    assert!(
        stderr.contains(
            "error: --filter: revision 1 of release \"hk\" has no test named \"nope\" (tests: ping, smoke)"
        ),
        "{stderr}"
    );
}

#[test]
fn a_release_without_tests_passes_with_nothing_to_run() {
    let cluster = TestCluster::start();
    let chart = HookChart::new(&[crate::hooks::settings()]);
    install(&cluster, &chart, &[]);
    let output = test(&cluster, &["hk", "-n", NS]);
    assert!(output.status.success());
    assert_eq!(stdout_of(&output), "NAME: hk\nREVISION: 1\nTESTS: none\n");
}
