//! The commands that describe rather than change.

use serde_json::Value;

use crate::support::{bundled_chart, chart_copy, rchart, repo_path, stderr_of, stdout_of};

#[test]
fn show_prints_the_charts_own_files_byte_for_byte() {
    let values = std::fs::read(repo_path("chart/values.yaml")).unwrap();
    let chart_yaml = std::fs::read(repo_path("chart/Chart.yaml")).unwrap();
    let show = |what: &str, chart: &str| {
        let output = rchart().args(["show", what, chart]).output().unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        output.stdout
    };
    assert_eq!(show("values", &bundled_chart()), values);
    assert_eq!(show("chart", &bundled_chart()), chart_yaml);

    // The same from the packaged chart.
    let dir = tempfile::tempdir().unwrap();
    let output = rchart()
        .args(["package", &bundled_chart(), "-d"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let archive = dir.path().join("multiroute-0.1.0.tgz");
    assert_eq!(show("values", archive.to_str().unwrap()), values);

    // A README in any case; `all` joins the three.
    let (_temp, chart) = chart_copy("charts/full");
    std::fs::write(chart.join("ReadMe.md"), "# full\n\nA chart.\n").unwrap();
    let chart = chart.display().to_string();
    assert_eq!(show("readme", &chart), b"# full\n\nA chart.\n");
    let all = String::from_utf8(show("all", &chart)).unwrap();
    assert!(
        all.starts_with("---\napiVersion: v2\n") && all.ends_with("---\n# full\n\nA chart.\n"),
        "{all}"
    );
    assert!(show("readme", &bundled_chart()).is_empty(), "no README");

    let output = rchart()
        .args(["show", "values", "/nonexistent/chart"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr_of(&output).contains("/nonexistent/chart"));
}

#[test]
fn version_names_the_build_and_the_supported_kubernetes_versions() {
    let output = rchart().arg("version").output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = stdout_of(&output);
    assert!(
        text.starts_with(&format!("rchart {}\n", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("\nrust: rustc 1."), "{text}");
    assert!(text.contains("\nkubernetes: 1.30 to 1.34\n"), "{text}");

    let output = rchart().args(["version", "-o", "json"]).output().unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let commit = json["gitCommit"].as_str().unwrap();
    assert!(
        commit == "unknown"
            || (commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{commit}"
    );
    assert!(text.contains(&format!("git commit: {commit}\n")), "{text}");
    assert_eq!(json["kubernetesVersions"][4], "1.34");
    assert!(json["rustVersion"].as_str().unwrap().starts_with("rustc "));
}

#[test]
fn completion_scripts_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let output = rchart().args(["completion", shell]).output().unwrap();
        assert!(output.status.success(), "{shell}: {}", stderr_of(&output));
        let script = stdout_of(&output);
        assert!(
            script.contains("rchart") && script.contains("rollback"),
            "{shell}"
        );
    }
    let output = rchart().args(["completion", "tcsh"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
}
