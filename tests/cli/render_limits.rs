//! `template`, `lint` and `install` judge rendered output alike: a chart that `template`
//! and `lint` accept does not fail `install` on its own output, and each says in plain
//! words which limit was passed and where. The whole output is capped (`--max-output`).

use crate::support::{TestCluster, fixture, rchart, stderr_of, stdout_of};

fn chart() -> String {
    fixture("charts/render-limits").display().to_string()
}

/// `rchart template CHART ARGS`: exit code, stdout, stderr.
fn template(args: &[&str]) -> (Option<i32>, String, String) {
    let output = rchart()
        .arg("template")
        .arg(chart())
        .args(args)
        .output()
        .unwrap();
    (output.status.code(), stdout_of(&output), stderr_of(&output))
}

const TOO_DEEP: &str =
    "templates/deep.yaml: nesting deeper than 64 levels at line 5 of the rendered output";
const BOMB: &str = "templates/bomb.yaml: more than 250000 values (mappings, lists and scalars) in one document once aliases are expanded at line 11 of the rendered output";

#[test]
fn template_refuses_output_past_the_reading_limits_in_plain_words() {
    let (code, _, stderr) = template(&["--set", "depth=63"]);
    assert_eq!(
        code,
        Some(0),
        "64 levels in all is within the limit: {stderr}"
    );
    for (set, message) in [("depth=64", TOO_DEEP), ("bomb=true", BOMB)] {
        let (code, stdout, stderr) = template(&["--set", set]);
        assert_eq!(code, Some(1), "{set}: {stderr}");
        assert!(stdout.is_empty(), "{set}: nothing printed");
        assert_eq!(
            stderr.trim_end(),
            format!("error: rendering chart \"render-limits\": {message}"),
            "{set}"
        );
    }
}

#[test]
fn lint_reports_the_same_limits_as_errors() {
    for (set, message) in [("depth=64", TOO_DEEP), ("bomb=true", BOMB)] {
        let output = rchart()
            .args(["lint", &chart(), "--set", set])
            .output()
            .unwrap();
        let stdout = stdout_of(&output);
        assert_eq!(output.status.code(), Some(1), "{set}: {stdout}");
        assert!(
            stdout.contains(&format!(
                "[ERROR] with the chart's default values: {message}"
            )),
            "{set}: {stdout}"
        );
    }
}

#[test]
fn install_refuses_what_template_refuses_and_installs_what_it_accepts() {
    let cluster = TestCluster::start();
    let chart = chart();
    for (set, message) in [("depth=64", TOO_DEEP), ("bomb=true", BOMB)] {
        let stderr = cluster.fail(&["install", "limits", &chart, "-n", "default", "--set", set]);
        assert!(stderr.contains(message), "{set}: {stderr}");
    }
    assert!(cluster.records("default").is_empty());
    cluster.run(&[
        "install", "limits", &chart, "-n", "default", "--set", "depth=63",
    ]);
    let deep = cluster
        .get("configmaps", "default", "deep")
        .expect("installed");
    let mut level = &deep["nested"];
    let mut depth = 1;
    while let Some(inner) = level.get(0) {
        level = inner;
        depth += 1;
    }
    assert_eq!(depth, 63, "{deep}");
}

#[test]
fn the_rendered_output_is_capped_naming_the_template_and_the_flag() {
    let (code, stdout, stderr) = template(&["--set", "rows=20", "--max-output", "16KiB"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(
        stderr.trim_end(),
        "error: rendering chart \"render-limits\": templates/big.yaml: the chart's rendered output passed the 16KiB limit, so rendering stopped; raise the limit with --max-output, e.g. --max-output 32KiB"
    );
    let (code, stdout, stderr) = template(&["--set", "rows=20", "--max-output", "32KiB"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.matches("kind: ConfigMap").count(), 21);

    let output = rchart()
        .args([
            "lint",
            &chart(),
            "--set",
            "rows=20",
            "--max-output",
            "16KiB",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout_of(&output).contains("the chart's rendered output passed the 16KiB limit"));

    let (code, _, stderr) = template(&["--max-output", "lots"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("\"lots\" is not a size (expected e.g. 64MiB, 1GiB, 500MB)"),
        "{stderr}"
    );
}

#[test]
fn install_upgrade_and_diff_honour_max_output() {
    let cluster = TestCluster::start();
    let chart = chart();
    let capped = "the chart's rendered output passed the 16KiB limit";
    let args = [
        "limits",
        chart.as_str(),
        "-n",
        "default",
        "--set",
        "rows=20",
    ];
    let stderr = cluster.fail(&[&["install"], &args[..], &["--max-output", "16KiB"]].concat());
    assert!(stderr.contains(capped), "{stderr}");
    assert!(
        cluster.records("default").is_empty(),
        "nothing was recorded"
    );
    cluster.run(&[&["install"], &args[..], &["--max-output", "32KiB"]].concat());
    for verb in [&["upgrade"][..], &["diff", "upgrade"][..]] {
        let stderr = cluster.fail(&[verb, &args[..], &["--max-output", "16KiB"]].concat());
        assert!(stderr.contains(capped), "{verb:?}: {stderr}");
    }
    assert_eq!(cluster.records("default").len(), 1);
}

#[test]
fn the_default_cap_is_64_mib() {
    // 62,000 ConfigMaps of about 1.1 KB: about 68 MB.
    let (code, stdout, stderr) = template(&["--set", "rows=62000"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("passed the 64MiB limit, so rendering stopped; raise the limit with --max-output, e.g. --max-output 128MiB"),
        "{stderr}"
    );
    let (code, _, stderr) = template(&["--set", "rows=62000", "--max-output", "128MiB"]);
    assert_eq!(code, Some(0), "{stderr}");
}
