//! `rchart diff upgrade` and `rchart diff rollback` against the test API server: what
//! they print, their exit codes, and that they change nothing.

use std::process::Output;

use crate::support::{
    DEV_NS, TestCluster, as_strs, bundled_chart, dev_args, dev_chart_args, stderr_of, stdout_of,
};

const NS: &str = DEV_NS;

/// `rchart diff upgrade NAME <bundled chart> -f values/dev.yaml -n backend-dev EXTRA…`
fn diff_upgrade(cluster: &TestCluster, name: &str, extra: &[&str]) -> Output {
    cluster
        .rchart()
        .args(["diff", "upgrade", name])
        .args(dev_chart_args(extra))
        .output()
        .unwrap()
}

fn diff_rollback(cluster: &TestCluster, args: &[&str]) -> Output {
    cluster
        .rchart()
        .args(["diff", "rollback"])
        .args(args)
        .args(["-n", NS])
        .output()
        .unwrap()
}

/// Asserts the exit code and returns stdout.
fn expect(output: &Output, code: i32) -> String {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout_of(output),
        stderr_of(output)
    );
    stdout_of(output)
}

/// The name in a header line such as `+++ ConfigMap backend-dev/NAME (revision 2)`.
fn name_in_header<'a>(diff: &'a str, prefix: &str, suffix: &str) -> &'a str {
    diff.lines()
        .find_map(|line| line.strip_prefix(prefix)?.strip_suffix(suffix))
        .unwrap_or_else(|| panic!("no line `{prefix}…{suffix}` in:\n{diff}"))
}

/// One object's diff: its `--- ID (…)` header line and every line up to the next
/// object's header or the summary line.
fn section(diff: &str, id: &str) -> String {
    let header = format!("--- {id} (");
    let mut lines = diff
        .lines()
        .skip_while(|line| !strip_colour(line).starts_with(&header));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no diff for {id} in:\n{diff}"));
    let body = lines.take_while(|line| {
        let line = strip_colour(line);
        !line.starts_with("--- ") && line.starts_with([' ', '-', '+', '@'])
    });
    std::iter::once(first)
        .chain(body)
        .map(|line| format!("{line}\n"))
        .collect()
}

fn strip_colour(line: &str) -> &str {
    line.strip_prefix('\x1b')
        .and_then(|rest| rest.split_once('m'))
        .map_or(line, |(_, text)| text)
}

/// The removed (`-`) or added (`+`) lines of a diff section, without the marker and
/// indentation, leaving out the `---`/`+++` headers.
fn changed_lines(section: &str, marker: char) -> Vec<String> {
    let header = format!("{marker}{marker}{marker} ");
    section
        .lines()
        .filter(|line| line.starts_with(marker) && !line.starts_with(&header))
        .map(|line| line[1..].trim().to_string())
        .collect()
}

/// Runs `check`, then asserts it wrote nothing: no record, no object, and only reads and
/// dry-run patches reached the server.
fn assert_read_only(cluster: &TestCluster, check: impl FnOnce()) {
    // The simulated controllers write status on their own, later when they lag: paused,
    // any write the resourceVersion shows is the diff's.
    cluster.server.pause_controller();
    let version = cluster.server.resource_version();
    let records = cluster.records(NS);
    cluster.server.clear_requests();
    check();
    assert_eq!(
        cluster.server.resource_version(),
        version,
        "nothing was stored"
    );
    cluster.server.resume_controller();
    assert_eq!(cluster.records(NS), records);
    let requests = cluster.server.requests();
    let writes: Vec<String> = requests
        .iter()
        .filter(|r| {
            r.method != "GET"
                && !(r.method == "PATCH" && r.query_param("dryRun").as_deref() == Some("All"))
        })
        .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
        .collect();
    assert!(
        writes.is_empty(),
        "only GETs and dry-run patches: {writes:?}"
    );
    assert!(
        requests.iter().any(|r| r.method == "PATCH"),
        "the proposed side comes from the server"
    );
}

#[test]
fn upgrade_with_the_same_values_has_no_changes() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    assert_read_only(&cluster, || {
        let out = expect(&diff_upgrade(&cluster, "web", &[]), 0);
        assert_eq!(out, "no changes\n");
    });
}

#[test]
fn a_changed_route_adds_a_config_map_prunes_the_old_one_and_changes_the_deployment() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    let old_config = cluster.config_maps(NS).remove(0);

    let mut out = String::new();
    assert_read_only(&cluster, || {
        out = expect(
            &diff_upgrade(&cluster, "web", &["--set", "routes./route1=changed"]),
            2,
        );
    });

    assert!(
        !out.contains('\x1b'),
        "no colour when stdout is not a terminal:\n{out}"
    );
    let new_config =
        name_in_header(&out, "+++ ConfigMap backend-dev/", " (revision 2)").to_string();
    assert_ne!(new_config, old_config);
    assert!(
        out.contains(&format!(
            "--- ConfigMap backend-dev/{new_config} (absent)\n"
        )),
        "{out}"
    );
    let added = section(&out, &format!("ConfigMap backend-dev/{new_config}"));
    assert!(
        added.contains("\n@@ -0,0 +1,"),
        "the whole object is added:\n{added}"
    );
    assert!(
        changed_lines(&added, '+').contains(&"/route1: changed".to_string()),
        "{added}"
    );
    assert!(changed_lines(&added, '-').is_empty(), "{added}");
    assert!(
        out.contains(&format!(
            "--- ConfigMap backend-dev/{old_config} (live)\n+++ ConfigMap backend-dev/{old_config} (pruned by revision 2)\n"
        )),
        "{out}"
    );
    assert!(
        out.contains("--- Deployment backend-dev/web-multiroute (live)\n+++ Deployment backend-dev/web-multiroute (revision 2)\n"),
        "{out}"
    );
    let deployment = section(&out, "Deployment backend-dev/web-multiroute");
    assert_eq!(
        changed_lines(&deployment, '-'),
        [format!("name: {old_config}")],
        "{deployment}"
    );
    assert_eq!(
        changed_lines(&deployment, '+'),
        [format!("name: {new_config}")],
        "{deployment}"
    );
    for noise in [
        "managedFields",
        "resourceVersion",
        "uid:",
        "creationTimestamp",
        "generation",
        "status:",
    ] {
        assert!(!out.contains(noise), "{noise} is noise:\n{out}");
    }
    assert!(
        out.ends_with("\n1 to change, 1 to add, 1 to prune\n"),
        "{out}"
    );

    // The diff predicted what the upgrade really does.
    cluster.run(&as_strs(&dev_args(
        "upgrade",
        "web",
        &["--set", "routes./route1=changed"],
    )));
    assert_eq!(cluster.config_maps(NS), [new_config]);
    let out = expect(
        &diff_upgrade(&cluster, "web", &["--set", "routes./route1=changed"]),
        0,
    );
    assert_eq!(out, "no changes\n");
}

#[test]
fn secret_values_are_masked_unless_shown_on_request() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    let args = ["--set", "db.password=s3cr3t-n3w"];

    let masked = expect(&diff_upgrade(&cluster, "web", &args), 2);
    assert!(
        masked.contains("--- Secret backend-dev/web-multiroute-dev-db (live)\n"),
        "{masked}"
    );
    assert!(
        masked.contains("\n-  db_pass: \"*** (before)\"\n+  db_pass: \"*** (after)\"\n"),
        "{masked}"
    );
    // Neither value, nor its base64 form, appears anywhere.
    for secret in [
        "dev-only-password",
        "ZGV2LW9ubHktcGFzc3dvcmQ",
        "s3cr3t-n3w",
        "czNjcjN0LW4zdw",
    ] {
        assert!(!masked.contains(secret), "{secret} leaked:\n{masked}");
    }

    let shown = expect(
        &diff_upgrade(&cluster, "web", &[&args[..], &["--show-secrets"]].concat()),
        2,
    );
    assert!(
        shown.contains("\n-  db_pass: dev-only-password\n+  db_pass: s3cr3t-n3w\n"),
        "{shown}"
    );
}

#[test]
fn rollback_diff_shows_the_reverse_change_and_none_for_the_deployed_revision() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    let first_config = cluster.config_maps(NS).remove(0);
    cluster.run(&as_strs(&dev_args(
        "upgrade",
        "web",
        &["--set", "routes./route1=changed"],
    )));
    let second_config = cluster.config_maps(NS).remove(0);

    let mut out = String::new();
    assert_read_only(&cluster, || {
        out = expect(&diff_rollback(&cluster, &["web", "1"]), 2)
    });
    let restored = "(revision 3, rollback to 1)";
    assert!(out.contains(&format!("--- ConfigMap backend-dev/{first_config} (absent)\n+++ ConfigMap backend-dev/{first_config} {restored}\n")), "{out}");
    assert!(
        out.contains(&format!(
            "+++ ConfigMap backend-dev/{second_config} (pruned by revision 3, rollback to 1)\n"
        )),
        "{out}"
    );
    let deployment = section(&out, "Deployment backend-dev/web-multiroute");
    assert_eq!(
        changed_lines(&deployment, '-'),
        [format!("name: {second_config}")],
        "{deployment}"
    );
    assert_eq!(
        changed_lines(&deployment, '+'),
        [format!("name: {first_config}")],
        "{deployment}"
    );
    assert!(
        out.ends_with("\n1 to change, 1 to add, 1 to prune\n"),
        "{out}"
    );

    let default_target = expect(&diff_rollback(&cluster, &["web"]), 2);
    assert_eq!(
        default_target, out,
        "the default is the revision before the latest"
    );

    let out = expect(&diff_rollback(&cluster, &["web", "2"]), 0);
    assert_eq!(out, "no changes\n");
}

#[test]
fn kept_objects_are_not_listed_for_pruning() {
    let cluster = TestCluster::start();
    let temp = tempfile::tempdir().unwrap();
    let chart = crate::support::write_chart(
        &temp.path().join("keeper"),
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: keeper\nversion: 0.1.0\n",
            ),
            ("values.yaml", "enabled: true\n"),
            (
                "templates/configmaps.yaml",
                "{%- if values.enabled %}\n\
                 apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n  annotations:\n    rchart.io/resource-policy: keep\ndata:\n  a: \"1\"\n\
                 ---\n\
                 apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pruned\ndata:\n  a: \"1\"\n\
                 {%- endif %}\n",
            ),
        ],
    );
    let chart = chart.display().to_string();
    cluster.run(&["install", "keep", &chart, "-n", NS, "--create-namespace"]);

    let output = cluster
        .rchart()
        .args([
            "diff",
            "upgrade",
            "keep",
            &chart,
            "-n",
            NS,
            "--set",
            "enabled=false",
        ])
        .output()
        .unwrap();
    let out = expect(&output, 2);
    assert!(
        out.contains("+++ ConfigMap backend-dev/pruned (pruned by revision 2)\n"),
        "{out}"
    );
    assert!(!out.contains("ConfigMap backend-dev/kept"), "{out}");
    assert!(
        out.ends_with("\n0 to change, 0 to add, 1 to prune\n"),
        "{out}"
    );
}

#[test]
fn reuse_values_starts_from_the_deployed_revisions_values() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    let without_values = |extra: &[&str]| {
        let output = cluster
            .rchart()
            .args(["diff", "upgrade", "web", &bundled_chart(), "-n", NS])
            .args(extra)
            .output()
            .unwrap();
        expect(&output, if extra.is_empty() { 2 } else { 0 })
    };
    assert_eq!(without_values(&["--reuse-values"]), "no changes\n");
    assert!(
        without_values(&[]).contains("--- Deployment backend-dev/web-multiroute (live)"),
        "the chart's defaults differ"
    );
}

#[test]
fn objects_of_someone_else_stop_the_diff_unless_ownership_is_taken() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    // Two replicas add a PodDisruptionBudget; one with its name already exists.
    cluster
        .server
        .create(serde_json::json!({
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "web-multiroute", "namespace": NS},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "other"}}}
        }))
        .unwrap();
    let output = diff_upgrade(&cluster, "web", &["--set", "replicas=2"]);
    expect(&output, 1);
    let stderr = stderr_of(&output);
    assert!(stderr.contains("refusing to change objects that belong to something else: PodDisruptionBudget backend-dev/web-multiroute (no release)"), "{stderr}");

    let out = expect(
        &diff_upgrade(
            &cluster,
            "web",
            &["--set", "replicas=2", "--take-ownership"],
        ),
        2,
    );
    let adopted = section(&out, "PodDisruptionBudget backend-dev/web-multiroute");
    assert!(
        adopted.contains("+++ PodDisruptionBudget backend-dev/web-multiroute (revision 2)\n"),
        "{out}"
    );
    let added = changed_lines(&adopted, '+');
    assert!(
        added.contains(&"rchart.io/release-name: web".to_string()),
        "{adopted}"
    );
    assert!(
        added.contains(&"app.kubernetes.io/instance: web".to_string()),
        "{adopted}"
    );
    assert!(
        changed_lines(&adopted, '-').contains(&"app: other".to_string()),
        "{adopted}"
    );
}

#[test]
fn colour_can_be_forced_over_no_color_and_turned_off() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    let change = ["--set", "routes./route1=changed"];

    // The test environment sets NO_COLOR; an explicit choice wins over it.
    let coloured = expect(
        &diff_upgrade(
            &cluster,
            "web",
            &[&change[..], &["--color", "always"]].concat(),
        ),
        2,
    );
    let deployment = section(&coloured, "Deployment backend-dev/web-multiroute");
    assert!(
        deployment.contains("\n\x1b[31m-          name: web-multiroute-config-"),
        "{coloured}"
    );
    assert!(
        deployment.contains("\n\x1b[32m+          name: web-multiroute-config-"),
        "{coloured}"
    );
    assert!(
        coloured.contains("\x1b[1m--- Deployment backend-dev/web-multiroute (live)\x1b[0m"),
        "{coloured}"
    );

    let never = expect(
        &diff_upgrade(
            &cluster,
            "web",
            &[&change[..], &["--color", "never"]].concat(),
        ),
        2,
    );
    assert!(!never.contains('\x1b'), "{never}");
    let auto = cluster
        .rchart()
        .env_remove("NO_COLOR")
        .arg("diff")
        .args(dev_args("upgrade", "web", &change))
        .output()
        .unwrap();
    assert!(
        !expect(&auto, 2).contains('\x1b'),
        "auto colours only a terminal"
    );
}

/// Runs `rchart ARGS` with stdout and stderr on a terminal (a pseudo-terminal from
/// util-linux's `script`), with `NO_COLOR` set to `no_color` or unset; returns the exit
/// code and what the terminal showed.
fn on_a_terminal(cluster: &TestCluster, args: &[String], no_color: Option<&str>) -> (i32, String) {
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_rchart").to_string())
        .chain(args.iter().cloned())
        .map(|arg| format!("'{}'", arg.replace('\'', r"'\''")))
        .collect();
    let mut command = std::process::Command::new("script");
    command
        .args([
            "--quiet",
            "--return",
            "--command",
            &quoted.join(" "),
            "/dev/null",
        ])
        .env("KUBECONFIG", cluster.server.kubeconfig_path())
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null());
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    let output = command
        .output()
        .expect("util-linux's `script` runs (it gives rchart a terminal)");
    (output.status.code().unwrap(), stdout_of(&output))
}

/// On a terminal the diff is coloured, unless NO_COLOR is set to anything; an empty
/// NO_COLOR does not count (<https://no-color.org>).
#[test]
fn a_terminal_gets_colour_unless_no_color_is_set() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    let mut args = vec!["diff".to_string()];
    args.extend(dev_args(
        "upgrade",
        "web",
        &["--set", "routes./route1=changed"],
    ));

    let (code, shown) = on_a_terminal(&cluster, &args, None);
    assert_eq!(code, 2, "{shown}");
    assert!(
        shown.contains("\x1b[32m+          name: web-multiroute-config-"),
        "a terminal gets colour:\n{shown}"
    );
    let (code, shown) = on_a_terminal(&cluster, &args, Some(""));
    assert_eq!(code, 2, "{shown}");
    assert!(
        shown.contains('\x1b'),
        "an empty NO_COLOR is no request:\n{shown}"
    );

    let (code, shown) = on_a_terminal(&cluster, &args, Some("1"));
    assert_eq!(code, 2, "{shown}");
    assert!(
        shown.contains("+          name: web-multiroute-config-"),
        "the same diff:\n{shown}"
    );
    assert!(
        !shown.contains('\x1b'),
        "NO_COLOR turns colour off:\n{shown}"
    );
}

#[test]
fn errors_exit_1_with_the_messages_other_commands_give() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");

    let output = diff_upgrade(&cluster, "nope", &[]);
    expect(&output, 1);
    assert_eq!(
        stderr_of(&output),
        "error: release \"nope\" not found in namespace \"backend-dev\"\n"
    );
    let output = diff_rollback(&cluster, &["nope"]);
    expect(&output, 1);
    assert_eq!(
        stderr_of(&output),
        "error: release \"nope\" not found in namespace \"backend-dev\"\n"
    );

    let output = diff_rollback(&cluster, &["web", "7"]);
    expect(&output, 1);
    assert!(
        stderr_of(&output)
            .contains("release \"web\" has no revision 7 to roll back to (revisions: 1)"),
        "{}",
        stderr_of(&output)
    );

    let output = diff_upgrade(&cluster, "web", &["--set", "replicas=many"]);
    expect(&output, 1);
    let stderr = stderr_of(&output);
    assert!(
        stderr.starts_with("error: rendering chart \"multiroute\"") && stderr.contains("replicas"),
        "{stderr}"
    );

    let unreachable = cluster
        .server
        .kubeconfig_with(&rchart_test_apiserver::KubeconfigOptions::default().unreachable())
        .unwrap();
    let output = crate::support::rchart()
        .env("KUBECONFIG", &unreachable)
        .args(["diff", "rollback", "web"])
        .output()
        .unwrap();
    expect(&output, 1);
    assert!(
        stderr_of(&output)
            .starts_with("error: cannot reach the Kubernetes API at http://127.0.0.1:1"),
        "{}",
        stderr_of(&output)
    );
}
