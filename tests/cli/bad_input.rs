//! Every kind of bad input: a clear cause naming the file, line or key, exit code 1,
//! and no output file left behind.

use crate::support::{fixture, rchart, stderr_of};

/// Runs `rchart template` with `--output-dir`, expects failure, and checks that the
/// error mentions every `expected` fragment and that nothing was written.
fn assert_template_fails(chart: &std::path::Path, extra: &[&str], expected: &[&str]) {
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("rendered");
    let output = rchart()
        .arg("template")
        .arg(chart)
        .args(extra)
        .arg("--output-dir")
        .arg(&target)
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        output.stdout.is_empty(),
        "nothing on stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    for fragment in expected {
        assert!(
            stderr.contains(fragment),
            "expected {fragment:?} in:\n{stderr}"
        );
    }
    assert!(!target.exists(), "no output may be written on error");
}

fn bad(case: &str) -> std::path::PathBuf {
    fixture(&format!("bad/{case}"))
}

#[test]
fn missing_chart_directory() {
    assert_template_fails(&bad("does-not-exist"), &[], &["does-not-exist\" not found"]);
}

#[test]
fn missing_chart_yaml() {
    assert_template_fails(&bad("no-chart-yaml"), &[], &["no Chart.yaml"]);
}

#[test]
fn invalid_chart_yaml() {
    assert_template_fails(
        &bad("chart-yaml-syntax"),
        &[],
        &["Chart.yaml:3:", "unclosed bracket"],
    );
}

#[test]
fn non_semver_version() {
    assert_template_fails(
        &bad("non-semver"),
        &[],
        &["Chart.yaml: field \"version\": \"1.2\" is not a semantic version"],
    );
}

#[test]
fn template_syntax_error_keeps_teras_code_frame() {
    assert_template_fails(
        &bad("template-syntax"),
        &[],
        &["--> templates/cm.yaml:4:", "name: {{ release.name }"],
    );
}

#[test]
fn undefined_value() {
    assert_template_fails(
        &bad("undefined-value"),
        &[],
        &["Field `missing` is not defined", "--> templates/cm.yaml:6:"],
    );
}

#[test]
fn required_value_left_missing() {
    assert_template_fails(
        &bad("required-missing"),
        &[],
        &[
            "db.host is required: set it with --set db.host=...",
            "--> templates/cm.yaml:6:",
        ],
    );
    let ok = rchart()
        .arg("template")
        .arg(bad("required-missing"))
        .args(["--set", "db.host=db.internal"])
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", stderr_of(&ok));
}

#[test]
fn bad_set_expressions() {
    let chart = fixture("charts/full");
    assert_template_fails(&chart, &["--set", "replicas"], &["--set \"replicas\""]);
    assert_template_fails(&chart, &["--set", "a..b=1"], &["--set \"a..b=***\""]);
    assert_template_fails(
        &chart,
        &["--set", "ports[x]=1"],
        &["--set \"ports[x]=***\": list index \"x\" is not a number"],
    );
    // A comma in a password ends its value; the error names the key, never the value.
    let password = rchart()
        .arg("template")
        .arg(&chart)
        .args(["--set", "db.password=pa55,w0rd"])
        .output()
        .unwrap();
    assert_eq!(password.status.code(), Some(1));
    assert_eq!(
        stderr_of(&password).trim_end(),
        r#"error: rendering chart "full": --set "db.password=***": after the value of "db.password": missing "=" (expected key=value) (a comma inside a value is written \,)"#
    );
    assert_template_fails(
        &chart,
        &["--set-json", "replicas={oops"],
        &["--set-json", "replicas"],
    );
}

#[test]
fn values_file_that_is_not_a_map() {
    let list = fixture("values/list.yaml");
    assert_template_fails(
        &fixture("charts/full"),
        &["-f", list.to_str().unwrap()],
        &["list.yaml: expected a map of values at the top level, found a list"],
    );
    assert_template_fails(
        &bad("values-not-a-map"),
        &[],
        &["values.yaml: expected a map of values at the top level, found a list"],
    );
}

#[test]
fn missing_values_file() {
    assert_template_fails(
        &fixture("charts/full"),
        &["-f", "/nonexistent/values.yaml"],
        &["/nonexistent/values.yaml"],
    );
}

#[test]
fn schema_violations_name_the_key_path() {
    assert_template_fails(
        &bad("schema-violation"),
        &[],
        &["image: missing required key \"repository\""],
    );
    assert_template_fails(
        &fixture("charts/full"),
        &["--set", "replicas=0", "--set-string", "ports[0]=http"],
        &[
            "replicas: 0 is less than the minimum of 1",
            "ports[0]: expected integer, got string",
        ],
    );
}

#[test]
fn unreadable_set_file() {
    assert_template_fails(
        &fixture("charts/full"),
        &["--set-file", "config.CERT=/nonexistent/cert.pem"],
        &["/nonexistent/cert.pem", "config.CERT"],
    );
}

#[test]
fn rendered_output_that_is_not_yaml_names_template_and_line() {
    assert_template_fails(
        &bad("invalid-yaml-output"),
        &[],
        &[
            "templates/cm.yaml: rendered output is not valid YAML at line 6",
            ">    6 |   list: [a, b",
        ],
    );
}

#[test]
fn a_document_that_is_not_a_kubernetes_object() {
    assert_template_fails(
        &bad("missing-kind"),
        &[],
        &["templates/cm.yaml", "missing kind"],
    );
}

#[test]
fn hostile_archives_are_rejected_before_anything_is_written() {
    let cases = [
        ("absolute-path.tgz", "absolute"),
        ("parent-dir.tgz", ".."),
        ("symlink.tgz", "symlink"),
        ("hardlink.tgz", "hardlink"),
        ("char-device.tgz", "device"),
        ("block-device.tgz", "device"),
        ("fifo.tgz", "fifo"),
        ("two-top-dirs.tgz", "top"),
        ("large-file.tgz", "5 MiB"),
        ("gzip-bomb.tgz", "50 MiB"),
        ("not-gzip.tgz", "gzip"),
        ("truncated.tgz", "truncated"),
    ];
    for (archive, reason) in cases {
        let path = fixture(&format!("hostile/{archive}"));
        let out = tempfile::tempdir().unwrap();
        let output = rchart()
            .arg("template")
            .arg(&path)
            .arg("--output-dir")
            .arg(out.path().join("o"))
            .output()
            .unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(1), "{archive}: {stderr}");
        assert!(
            stderr.contains(archive),
            "{archive}: the error names the archive: {stderr}"
        );
        assert!(
            stderr.to_lowercase().contains(&reason.to_lowercase()),
            "{archive}: expected {reason:?} in {stderr}"
        );
        assert!(!out.path().join("o").exists(), "{archive}: nothing written");
    }
}

#[test]
fn a_bad_command_line_exits_1_and_help_exits_0() {
    let output = rchart()
        .args(["template", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "2 is reserved for `rchart diff` finding changes"
    );
    assert!(stderr_of(&output).contains("--no-such-flag"));
    let output = rchart().arg("--help").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("Usage: rchart"));
}

#[test]
fn an_object_rendered_twice_names_both_templates() {
    assert_template_fails(
        &bad("duplicate-object"),
        &[],
        &["ConfigMap same is rendered twice, by templates/a.yaml and by templates/b.yaml"],
    );
}

/// Project files that are wrong: one line naming the file, the line and the key, exit
/// code 1, and not a single request to the cluster, whatever the command.
#[test]
fn bad_project_files_name_the_file_line_and_key_and_change_nothing() {
    let cases = [
        (
            "unknown-key.yaml",
            "error: rchart.yaml:5: environments.prod.kubecontext: unknown key (expected namespace, values and kubeContext)",
        ),
        (
            "missing-values-file.yaml",
            "error: rchart.yaml:9: environments.prod.values[1]: values/prod-secrets.yaml does not exist (paths are relative to ",
        ),
        (
            "values-file-in-two-environments.yaml",
            "error: rchart.yaml:5: environments.prod.values[0]: values/staging.yaml is listed under environments staging and prod; a values file belongs to one environment, so that -f values/staging.yaml can select it",
        ),
        (
            "environment-without-namespace.yaml",
            "error: rchart.yaml:5: environments.prod: missing key \"namespace\": every environment names the namespace its release lives in",
        ),
    ];
    let cluster = crate::support::TestCluster::start();
    cluster.create_namespace("backend");
    let before = cluster.server.resource_version();
    for (case, expected) in cases {
        let layout = crate::project::Layout::copy();
        let text = std::fs::read_to_string(bad(&format!("project/{case}"))).unwrap();
        layout.write("rchart.yaml", &text);
        for args in [
            &["install", "-f", "values/prod.yaml"][..],
            &["rollback", "2"],
            &["template"],
            &["package"],
        ] {
            let output = crate::project::rchart_in(&cluster, &layout, args);
            let stderr = stderr_of(&output);
            assert_eq!(output.status.code(), Some(1), "{case} {args:?}: {stderr}");
            assert!(
                stderr.starts_with(expected),
                "{case} {args:?}:\n  expected: {expected}\n  got:      {stderr}"
            );
            assert_eq!(stderr.lines().count(), 1, "{case} {args:?}: {stderr}");
            assert!(output.stdout.is_empty(), "{case} {args:?}");
        }
    }
    assert_eq!(cluster.server.resource_version(), before, "nothing changed");
    assert!(cluster.server.requests().is_empty(), "not even a read");
    assert!(cluster.records("backend").is_empty());
}
