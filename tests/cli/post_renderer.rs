//! `--post-renderer`: any executable rewrites the rendered manifests, hooks included, for
//! template, install, upgrade and diff upgrade; one that fails changes nothing.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use crate::hooks::{HookChart, NS, history, install, settings, upgrade};
use crate::support::{TestCluster, rchart, stderr_of, stdout_of};

/// An executable shell script `name` in `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Labels every object `post-rendered: <its first argument>`, as a kustomize overlay
/// would; the test charts' objects have no labels of their own.
fn labeller(dir: &Path) -> PathBuf {
    script(
        dir,
        "label.sh",
        r#"awk -v value="$1" '{ print } /^metadata:$/ { print "  labels:"; print "    post-rendered: \"" value "\"" }'"#,
    )
}

/// The test chart, with a hook and a Secret besides the ConfigMap.
fn chart() -> HookChart {
    HookChart::new(&[
        settings(),
        (
            "hook.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: announce\n  annotations:\n    rchart.io/hook: post-install,post-upgrade\ndata:\n  from: hook\n".to_string(),
        ),
        (
            "secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: correct-horse-battery\n".to_string(),
        ),
    ])
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_renderer_that_adds_a_label_reaches_the_record_and_the_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let label = labeller(dir.path());
    let chart = chart();

    let output = rchart()
        .args([
            "template",
            "hk",
            chart.path(),
            "--post-renderer",
            path(&label),
        ])
        .args(["--post-renderer-args", "blue"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let printed = stdout_of(&output);
    assert_eq!(
        printed.matches("    post-rendered: \"blue\"\n").count(),
        3,
        "{printed}"
    );
    assert!(
        printed.contains("# Source: hk/templates/settings.yaml\n")
            && printed.ends_with("# Source: hk/templates/hook.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    post-rendered: \"blue\"\n  name: announce\n  annotations:\n    rchart.io/hook: post-install,post-upgrade\ndata:\n  from: hook\n"),
        "each object keeps its template, and the hook comes last:\n{printed}"
    );

    let cluster = TestCluster::start();
    install(
        &cluster,
        &chart,
        &[
            "--post-renderer",
            path(&label),
            "--post-renderer-args",
            "blue",
        ],
    );
    let manifest = cluster.run(&["get", "manifest", "hk", "-n", NS]);
    assert_eq!(
        manifest.matches("post-rendered: \"blue\"").count(),
        2,
        "{manifest}"
    );
    let hooks = cluster.run(&["get", "hooks", "hk", "-n", NS, "-o", "yaml"]);
    assert!(hooks.contains("post-rendered: \"blue\""), "{hooks}");
    for (resource, name) in [
        ("configmaps", "settings"),
        ("secrets", "db"),
        ("configmaps", "announce"),
    ] {
        let object = cluster.get(resource, NS, name).unwrap();
        assert_eq!(
            object["metadata"]["labels"]["post-rendered"], "blue",
            "{name}"
        );
    }
    if let Some(mut kubectl) = cluster.kubectl() {
        let shown = kubectl
            .args([
                "get",
                "configmap",
                "settings",
                "-n",
                NS,
                "-o",
                "jsonpath={.metadata.labels.post-rendered}",
            ])
            .output()
            .unwrap();
        assert_eq!(stdout_of(&shown), "blue");
    }

    // diff upgrade rewrites what it compares the same way.
    let output = cluster
        .rchart()
        .args([
            "diff",
            "upgrade",
            "hk",
            chart.path(),
            "-n",
            NS,
            "--color",
            "never",
        ])
        .args([
            "--post-renderer",
            path(&label),
            "--post-renderer-args",
            "green",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    let diff = stdout_of(&output);
    assert!(
        diff.contains("-    post-rendered: blue\n") && diff.contains("+    post-rendered: green\n"),
        "{diff}"
    );
}

#[test]
fn a_failing_renderer_changes_nothing_and_its_stderr_is_shown_masked() {
    let dir = tempfile::tempdir().unwrap();
    let failing = script(
        dir.path(),
        "fail.sh",
        "cat >/dev/null\necho 'error: cannot patch Secret db:' >&2\necho 'stringData:' >&2\necho '  password: correct-horse-battery' >&2\necho 'value correct-horse-battery is too weak' >&2\nexit 3",
    );
    let chart = chart();
    let cluster = TestCluster::start();
    let stderr = cluster.fail(&[
        "install",
        "hk",
        chart.path(),
        "-n",
        NS,
        "--create-namespace",
        "--post-renderer",
        path(&failing),
    ]);
    assert!(
        stderr.contains(&format!(
            "post-renderer {} exited with status 3, so nothing was changed\nits stderr:\nerror: cannot patch Secret db:\nstringData:\n  password: ***\nvalue *** is too weak\n",
            path(&failing)
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("correct-horse"), "{stderr}");
    assert!(cluster.records(NS).is_empty());
    assert!(cluster.get("configmaps", NS, "settings").is_none());

    // On upgrade, too: no new revision, no object changed.
    install(&cluster, &chart, &[]);
    let output = upgrade(
        &cluster,
        &chart,
        &["--set", "mode=b", "--post-renderer", path(&failing)],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(history(&cluster).len(), 1);
    assert_eq!(
        cluster.get("configmaps", NS, "settings").unwrap()["data"]["mode"],
        "a"
    );
}

#[test]
fn output_that_is_not_manifests_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let chart = chart();
    let template = |renderer: &Path, extra: &[&str]| {
        let output = rchart()
            .args([
                "template",
                "hk",
                chart.path(),
                "--post-renderer",
                path(renderer),
            ])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        stderr_of(&output)
    };

    // (script, its body, extra flags, what the error says)
    let cases: [(&str, &str, &[&str], &str); 4] = [
        (
            "broken.sh",
            "cat >/dev/null\nprintf 'apiVersion: v1\\nkind: [ConfigMap\\n'",
            &[],
            "printed manifests rchart cannot use, so nothing was changed: post-renderer output: rendered output is not valid YAML at line 2",
        ),
        (
            "silent.sh",
            "cat >/dev/null",
            &[],
            "printed nothing for 3 rendered objects, so nothing was changed",
        ),
        (
            "chatty.sh",
            "cat\nyes 'filler: text' | head -c 200000",
            &["--max-output", "64KiB"],
            "printed more than 64KiB, so it was stopped and nothing was changed; raise the limit with --max-output",
        ),
        (
            "twice.sh",
            "cat\ncat <<EOF\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\nEOF",
            &[],
            "ConfigMap settings is rendered twice, by templates/settings.yaml and by post-renderer output",
        ),
    ];
    for (name, body, extra, expected) in cases {
        let stderr = template(&script(dir.path(), name, body), extra);
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
    let stderr = template(&dir.path().join("missing"), &[]);
    assert!(stderr.contains("missing: cannot run it: "), "{stderr}");
}
