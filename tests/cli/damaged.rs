//! One damaged record never takes a release hostage: every command reads the records it
//! can, warns once about each it cannot, and only refuses when it needs the damaged one,
//! saying which and how to get past it.

use std::time::Duration;

use rchart_test_apiserver::{Readiness, ReadinessRule};

use crate::support::{DEV_NS, TestCluster, dev_chart_args, stderr_of, stdout_of};

const NS: &str = DEV_NS;

/// `web` at revision 3: install, then two upgrades.
fn three_revisions() -> TestCluster {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    for replicas in ["replicas=2", "replicas=3"] {
        cluster.run(&refs(&upgrade_args(&["--set", replicas])));
    }
    cluster
}

/// `upgrade web <bundled chart> -f values/dev.yaml -n backend-dev EXTRA…`
fn upgrade_args(extra: &[&str]) -> Vec<String> {
    let mut args = vec!["upgrade".to_string(), "web".to_string()];
    args.extend(dev_chart_args(extra));
    args
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn run(cluster: &TestCluster, args: &[String]) -> std::process::Output {
    cluster.rchart().args(args).output().unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn an_old_damaged_record_is_shown_warned_once_and_never_blocks_the_release() {
    let cluster = three_revisions();
    cluster.garble_record(NS, "web", 1);

    let history = run(&cluster, &strings(&["history", "web", "-n", NS]));
    assert_eq!(history.status.code(), Some(0), "{}", stderr_of(&history));
    let table = stdout_of(&history);
    let row = table
        .lines()
        .find(|line| line.starts_with("1 "))
        .unwrap_or_else(|| panic!("revision 1 has a row:\n{table}"));
    assert!(row.contains("unreadable"), "{row}");
    assert!(row.contains("not gzip") || row.contains("gzip"), "{row}");
    let warnings = stderr_of(&history);
    assert_eq!(
        warnings.matches("rchart.release.v1.web.v1").count(),
        1,
        "one warning naming the Secret: {warnings}"
    );

    let status = cluster.run(&["status", "web", "-n", NS]);
    assert!(status.contains("REVISION: 3"), "{status}");

    // --atomic reads the history several times; the warning still comes once.
    let upgrade = run(
        &cluster,
        &upgrade_args(&["--atomic", "--set", "replicas=1"]),
    );
    assert_eq!(upgrade.status.code(), Some(0), "{}", stderr_of(&upgrade));
    assert_eq!(
        stderr_of(&upgrade)
            .matches("rchart.release.v1.web.v1")
            .count(),
        1,
        "{}",
        stderr_of(&upgrade)
    );
    cluster.run(&["rollback", "web", "2", "-n", NS]);
    let json = cluster.history("web", NS);
    let statuses: Vec<(u64, &str)> = json
        .iter()
        .map(|r| {
            (
                r["revision"].as_u64().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (1, "unreadable"),
            (2, "superseded"),
            (3, "superseded"),
            (4, "superseded"),
            (5, "deployed")
        ]
    );

    let list = run(&cluster, &strings(&["list", "-n", NS]));
    assert_eq!(list.status.code(), Some(0));
    assert!(stdout_of(&list).contains("web"), "{}", stdout_of(&list));

    cluster.run(&["uninstall", "web", "-n", NS]);
    assert_eq!(
        cluster.records(NS),
        Vec::<String>::new(),
        "the damaged record went with the others"
    );
}

#[test]
fn a_damaged_latest_record_stops_upgrade_naming_it_and_the_way_out() {
    let cluster = three_revisions();
    cluster.garble_record(NS, "web", 3);
    // A lagging controller may still write the last rollout's status: it waits, so
    // that any change to the Deployment now would be the upgrade's.
    cluster.server.pause_controller();
    let before = cluster.get("deployments", NS, "web-multiroute").unwrap();

    let error = cluster.fail(&refs(&upgrade_args(&["--set", "replicas=1"])));
    assert!(
        error.contains("upgrade needs revision 3 of release web (the latest revision)"),
        "{error}"
    );
    assert!(
        error.contains("kubectl delete secret -n backend-dev rchart.release.v1.web.v3"),
        "{error}"
    );
    let after = cluster.get("deployments", NS, "web-multiroute").unwrap();
    assert_eq!(
        before["metadata"]["resourceVersion"], after["metadata"]["resourceVersion"],
        "nothing changed"
    );
    cluster.server.resume_controller();
    assert_eq!(cluster.records(NS).len(), 3, "no revision was recorded");

    // Status still shows what can be read.
    let status = run(&cluster, &strings(&["status", "web", "-n", NS]));
    assert_eq!(status.status.code(), Some(0));
    assert!(stdout_of(&status).contains("REVISION: 2"));
    assert!(stderr_of(&status).contains("rchart.release.v1.web.v3"));
    // `get` output does not say which revision it is from: it refuses, naming the
    // record, rather than give revision 2's values as the latest.
    let values = run(&cluster, &strings(&["get", "values", "web", "-n", NS]));
    assert_eq!(values.status.code(), Some(1));
    assert_eq!(stdout_of(&values), "");
    assert!(
        stderr_of(&values).contains(
            "showing the latest revision (or pass --revision) needs revision 3 of release web (the latest revision)"
        ),
        "{}",
        stderr_of(&values)
    );
    let values = run(
        &cluster,
        &strings(&["get", "values", "web", "-n", NS, "--revision", "2"]),
    );
    assert_eq!(values.status.code(), Some(0), "{}", stderr_of(&values));

    // The way out the error names works.
    let kubectl_delete = cluster.kubectl().map(|mut kubectl| {
        kubectl
            .args(["delete", "secret", "-n", NS, "rchart.release.v1.web.v3"])
            .status()
            .unwrap()
    });
    match kubectl_delete {
        Some(status) => assert!(status.success()),
        None => cluster.delete("secrets", NS, "rchart.release.v1.web.v3"),
    }
    cluster.run(&refs(&upgrade_args(&["--set", "replicas=1"])));
    assert_eq!(
        cluster.get("deployments", NS, "web-multiroute").unwrap()["spec"]["replicas"],
        1
    );
}

#[test]
fn a_damaged_deployed_record_stops_uninstall_and_a_damaged_target_stops_rollback() {
    let cluster = three_revisions();
    // Revision 4 fails (its Deployment fails to roll out), so revision 3 stays the
    // deployed one.
    cluster.server.add_readiness_rule(ReadinessRule::kind(
        "Deployment",
        Readiness::failing_after(Duration::ZERO),
    ));
    cluster.fail(&refs(&upgrade_args(&["--wait", "--set", "replicas=1"])));
    cluster.server.reset_readiness();
    cluster.garble_record(NS, "web", 3);

    let error = cluster.fail(&["uninstall", "web", "-n", NS]);
    assert!(
        error.contains("uninstall needs revision 3 of release web (the deployed revision)"),
        "{error}"
    );
    assert!(cluster.get("deployments", NS, "web-multiroute").is_some());

    let error = cluster.fail(&["rollback", "web", "3", "-n", NS]);
    assert!(
        error.contains("rollback needs revision 3 of release web (the revision to roll back to)"),
        "{error}"
    );
    // Without a revision, rollback would restore revision 3 too: it says so rather
    // than quietly restoring revision 2.
    let error = cluster.fail(&["rollback", "web", "-n", NS]);
    assert!(error.contains("needs revision 3"), "{error}");

    let restored = cluster.run(&["rollback", "web", "2", "-n", NS]);
    assert!(restored.contains("REVISION: 5"), "{restored}");
}

#[test]
fn a_missing_chunk_makes_only_its_revision_unreadable() {
    let cluster = TestCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let chart = crate::large::chart_of_size(dir.path(), 2);
    let chart = chart.to_str().unwrap();
    cluster.run(&["install", "big", chart, "-n", NS, "--create-namespace"]);
    cluster.run(&[
        "upgrade",
        "big",
        chart,
        "-n",
        NS,
        "--set-string",
        "version=2",
    ]);
    let chunk = cluster
        .names("secrets", NS)
        .into_iter()
        .find(|name| name.starts_with("rchart.release.v1.big.v1.chunk-"))
        .expect("revision 1 is chunked");
    cluster.delete("secrets", NS, &chunk);

    let history = run(
        &cluster,
        &strings(&["history", "big", "-n", NS, "-o", "json"]),
    );
    assert_eq!(history.status.code(), Some(0), "{}", stderr_of(&history));
    assert!(
        stderr_of(&history).contains(&chunk),
        "{}",
        stderr_of(&history)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(rows[0]["status"], "unreadable");
    assert_eq!(rows[1]["status"], "deployed");

    cluster.run(&[
        "upgrade",
        "big",
        chart,
        "-n",
        NS,
        "--set-string",
        "version=3",
    ]);
    cluster.run(&["uninstall", "big", "-n", NS]);
    assert!(
        cluster
            .names("secrets", NS)
            .iter()
            .all(|name| !name.starts_with("rchart.release.v1.big")),
        "every record and chunk is gone: {:?}",
        cluster.names("secrets", NS)
    );
}

#[test]
fn list_marks_a_release_whose_latest_record_is_damaged() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    cluster.install_dev("api");
    cluster.garble_record(NS, "api", 1);
    let list = run(&cluster, &strings(&["list", "-n", NS]));
    assert_eq!(list.status.code(), Some(0), "{}", stderr_of(&list));
    let table = stdout_of(&list);
    let api = table
        .lines()
        .find(|line| line.starts_with("api "))
        .unwrap_or_else(|| panic!("api is listed:\n{table}"));
    assert!(api.contains("unreadable"), "{api}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("web ") && l.contains("deployed"))
    );
    assert!(stderr_of(&list).contains("rchart.release.v1.api.v1"));
}
