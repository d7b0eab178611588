use crate::support::{assert_golden, chart_copy, fixture, rchart, stderr_of, stdout_of};

#[test]
fn renders_the_full_fixture_with_defaults() {
    let output = rchart()
        .arg("template")
        .arg(fixture("charts/full"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_golden("full-defaults.yaml", &stdout_of(&output));
}

#[test]
fn renders_with_values_files_and_set_flags_in_order() {
    let output = rchart()
        .args(["template", "web"])
        .arg(fixture("charts/full"))
        .args(["-n", "shop", "-f"])
        .arg(fixture("values/full-prod.yaml"))
        .args([
            "--set",
            "replicas=3",
            "--set-string",
            "image.tag=3.0.0",
            "--set",
            "bigNumber=2000000",
        ])
        .args(["--kube-version", "1.31.2", "--is-upgrade"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_golden("full-prod.yaml", &stdout_of(&output));
}

#[test]
fn rendering_twice_gives_identical_output() {
    let run = || {
        let output = rchart()
            .arg("template")
            .arg(fixture("charts/full"))
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        stdout_of(&output)
    };
    let first = run();
    assert!(first.contains("kind: Deployment"), "{first}");
    assert_eq!(first, run());
}

#[test]
fn later_set_flags_win_whatever_their_kind() {
    let render = |args: &[&str]| {
        let output = rchart()
            .arg("template")
            .arg(fixture("charts/full"))
            .args(["--show-only", "templates/deployment.yaml"])
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        stdout_of(&output)
    };
    let json_last = render(&["--set", "replicas=3", "--set-json", "replicas=4"]);
    assert!(json_last.contains("replicas: 4"), "{json_last}");
    let set_last = render(&["--set-json", "replicas=4", "--set", "replicas=3"]);
    assert!(set_last.contains("replicas: 3"), "{set_last}");
}

#[test]
fn integers_never_become_floats() {
    let output = rchart()
        .arg("template")
        .arg(fixture("charts/full"))
        .args([
            "--set",
            "bigNumber=1000000",
            "--show-only",
            "templates/configmap.yaml",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = stdout_of(&output);
    assert!(text.contains("big: \"1000000\""), "{text}");
    assert!(
        !text.contains("1e+06") && !text.contains("1000000.0"),
        "{text}"
    );
}

#[test]
fn show_only_limits_output_and_rejects_unknown_templates() {
    let output = rchart()
        .arg("template")
        .arg(fixture("charts/full"))
        .args(["--show-only", "full/templates/configmap.yaml"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = stdout_of(&output);
    assert_eq!(text.matches("# Source:").count(), 1, "{text}");
    assert!(text.contains("kind: ConfigMap"));

    let output = rchart()
        .arg("template")
        .arg(fixture("charts/full"))
        .args(["--show-only", "templates/nope.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output)
            .contains("--show-only templates/nope.yaml: chart \"full\" has no such template"),
        "{}",
        stderr_of(&output)
    );
    assert!(output.stdout.is_empty(), "{}", stdout_of(&output));
}

#[test]
fn output_dir_writes_one_file_per_template() {
    let out = tempfile::tempdir().unwrap();
    let output = rchart()
        .arg("template")
        .arg(fixture("charts/full"))
        .arg("--output-dir")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let dir = out.path().join("full/templates");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["configmap.yaml", "deployment.yaml", "namespace.yaml"]
    );
    let deployment = std::fs::read_to_string(dir.join("deployment.yaml")).unwrap();
    assert_eq!(
        deployment
            .matches("# Source: full/templates/deployment.yaml")
            .count(),
        2
    );
    assert!(stdout_of(&output).contains("wrote "));
}

#[test]
fn empty_documents_are_dropped() {
    let output = rchart()
        .arg("template")
        .arg(fixture("charts/full"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = stdout_of(&output);
    assert!(text.contains("# Source: full/templates/"), "{text}");
    assert!(
        !text.contains("---\n---"),
        "no empty document between two:\n{text}"
    );
    assert!(
        !text.contains("templates/secret.yaml"),
        "the disabled Secret renders nothing:\n{text}"
    );
    assert!(!text.contains("templates/ingress.yaml"), "{text}");
}

#[test]
fn renders_a_packaged_chart_like_its_directory() {
    let out = tempfile::tempdir().unwrap();
    let packaged = rchart()
        .arg("package")
        .arg(fixture("charts/full"))
        .arg("-d")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(packaged.status.success(), "{}", stderr_of(&packaged));
    let from_dir = rchart()
        .arg("template")
        .arg(fixture("charts/full"))
        .output()
        .unwrap();
    assert!(from_dir.status.success(), "{}", stderr_of(&from_dir));
    let from_tgz = rchart()
        .arg("template")
        .arg(out.path().join("full-1.2.3.tgz"))
        .output()
        .unwrap();
    assert!(from_tgz.status.success(), "{}", stderr_of(&from_tgz));
    assert!(stdout_of(&from_dir).contains("kind: Deployment"));
    assert_eq!(stdout_of(&from_dir), stdout_of(&from_tgz));
}

#[test]
fn kube_version_outside_the_chart_range_is_refused() {
    let output = rchart()
        .arg("template")
        .arg(fixture("charts/full"))
        .args(["--kube-version", "1.27.0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "{}", stdout_of(&output));
    assert!(
        stderr_of(&output).contains("requires Kubernetes >=1.28.0-0, but the target is v1.27.0"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn api_versions_reach_capabilities() {
    let (_temp, chart) = chart_copy("charts/full");
    std::fs::write(
        chart.join("templates/monitor.yaml"),
        "{% if \"monitoring.coreos.com/v1\" in capabilities.api_versions %}apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: m\n{% endif %}",
    )
    .unwrap();
    let without = rchart().arg("template").arg(&chart).output().unwrap();
    assert!(without.status.success(), "{}", stderr_of(&without));
    assert!(!stdout_of(&without).contains("ServiceMonitor"));
    let with = rchart()
        .arg("template")
        .arg(&chart)
        .args(["--api-versions", "monitoring.coreos.com/v1"])
        .output()
        .unwrap();
    assert!(with.status.success(), "{}", stderr_of(&with));
    assert!(
        stdout_of(&with).contains("kind: ServiceMonitor"),
        "{}",
        stderr_of(&with)
    );
}

#[test]
fn unknown_chart_fields_are_warned_about_on_stderr() {
    let (_temp, chart) = chart_copy("charts/full");
    let chart_yaml = chart.join("Chart.yaml");
    let text = std::fs::read_to_string(&chart_yaml).unwrap() + "icon: logo.png\n";
    std::fs::write(&chart_yaml, text).unwrap();
    let output = rchart().arg("template").arg(&chart).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("warning: Chart.yaml: unknown field \"icon\" is ignored"));
    assert!(!stdout_of(&output).contains("icon"));
}
