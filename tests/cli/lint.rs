use crate::support::{chart_copy, fixture, rchart, stdout_of, write_chart};

#[test]
fn a_clean_chart_passes_strict_lint() {
    let (_temp, chart) = chart_copy("charts/full");
    let output = rchart()
        .args(["lint", "--strict", "-n", "shop"])
        .arg(&chart)
        .output()
        .unwrap();
    let text = stdout_of(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("0 error(s), 0 warning(s)"), "{text}");
}

/// A chart with every risky practice lint looks for.
const RISKY_DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ release.name }}-risky
spec:
  selector: {matchLabels: {app: risky}}
  template:
    metadata: {labels: {app: risky}}
    spec:
      containers:
        - name: app
          image: {{ values.image }}
";

const RISKY_SECRET: &str = "apiVersion: v1
kind: Secret
metadata:
  name: {{ release.name }}-db
data:
  password: {{ values.password | b64enc }}
";

#[test]
fn warnings_name_the_resource_and_fail_only_with_strict() {
    let dir = tempfile::tempdir().unwrap();
    let chart = write_chart(
        &dir.path().join("risky"),
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: risky\nversion: 0.1.0\n",
            ),
            ("values.yaml", "image: nginx:1.27\npassword: \"\"\n"),
            ("templates/deployment.yaml", RISKY_DEPLOYMENT),
            ("templates/secret.yaml", RISKY_SECRET),
        ],
    );
    let dev = dir.path().join("dev.yaml");
    std::fs::write(&dev, "password: committed-pass\n").unwrap();
    let lint = |strict: bool| {
        let mut command = rchart();
        command.arg("lint").arg(&chart).arg("-f").arg(&dev);
        if strict {
            command.arg("--strict");
        }
        command.output().unwrap()
    };
    let output = lint(false);
    let text = stdout_of(&output);
    assert!(output.status.success(), "{text}");
    for expected in [
        "[WARNING] Deployment \"risky-risky\" (templates/deployment.yaml): container \"app\" image \"nginx:1.27\" is not pinned by digest",
        "[WARNING] Secret \"risky-db\" (templates/secret.yaml): key \"password\" comes from committed values file",
        "dev.yaml (key password)",
        "container \"app\" has no resource requests",
        "container \"app\" has no resource limits",
        "container \"app\" has no livenessProbe",
        "container \"app\" has no readinessProbe",
        "goes into the \"default\" namespace",
    ] {
        assert!(text.contains(expected), "expected {expected:?} in:\n{text}");
    }
    assert_eq!(lint(true).status.code(), Some(1));

    // The same chart in its own namespace, with the password given at install time,
    // has no Secret warning and no namespace warning.
    let output = rchart()
        .arg("lint")
        .arg(&chart)
        .args(["-n", "shop", "--set", "password=from-the-pipeline"])
        .output()
        .unwrap();
    let text = stdout_of(&output);
    assert!(
        !text.contains("committed values file") && !text.contains("\"default\" namespace"),
        "{text}"
    );
}

#[test]
fn errors_fail_lint_and_name_the_values_file() {
    let output = rchart()
        .arg("lint")
        .arg(fixture("charts/full"))
        .arg("-f")
        .arg(fixture("values/list.yaml"))
        .output()
        .unwrap();
    let text = stdout_of(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("[ERROR] with "), "{text}");
    assert!(
        text.contains("list.yaml: expected a map of values"),
        "{text}"
    );

    let output = rchart()
        .arg("lint")
        .arg(fixture("bad/non-semver"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout_of(&output).contains("[ERROR] chart"),
        "{}",
        stdout_of(&output)
    );

    let output = rchart()
        .arg("lint")
        .arg(fixture("bad/invalid-yaml-output"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout_of(&output).contains("rendered output is not valid YAML"));
}
