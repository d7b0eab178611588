//! A Secret's values never reach an error message: the code frame of "rendered output is
//! not valid YAML" masks `data` and `stringData` in a Secret, or in a document whose kind
//! cannot be told, keeping line numbers and keys. Errors end up in CI logs.

use crate::support::{TestCluster, fixture, rchart, stderr_of, stdout_of};

/// The secrets the fixtures render, in plain text and base64.
const SECRETS: &[&str] = &[
    "s3cr3t-Hunter2-value",
    "s3cr3t-token-value",
    "czNjcjN0LUh1bnRlcjItdmFsdWU=",
];

fn bad_chart(case: &str) -> String {
    fixture(&format!("bad/{case}")).display().to_string()
}

/// Fails with exit 1, shows the frame around `frame` with `masked` lines, leaks nothing.
fn assert_masked(output: &std::process::Output, frame: &str, masked: &[&str]) {
    let everything = format!("{}{}", stdout_of(output), stderr_of(output));
    assert_eq!(output.status.code(), Some(1), "{everything}");
    assert!(
        everything.contains(frame),
        "expected {frame:?} in:\n{everything}"
    );
    for line in masked {
        assert!(
            everything.contains(line),
            "expected {line:?} in:\n{everything}"
        );
    }
    for secret in SECRETS {
        assert!(
            !everything.contains(secret),
            "{secret} leaked:\n{everything}"
        );
    }
}

const SECRET_FRAME: &str = "templates/secret.yaml: rendered output is not valid YAML at line 9";
const SECRET_LINES: &[&str] = &[
    "    7 |   config.yml: ***",
    "    8 |     ***",
    ">    9 |   hosts: ***",
];

const UNKNOWN_FRAME: &str = "templates/secret.yaml: rendered output is not valid YAML at line 6";
const UNKNOWN_LINES: &[&str] = &["    5 |   password: ***", ">    6 | kind: \"Secret"];

#[test]
fn template_masks_secret_values_in_the_frame() {
    let output = rchart()
        .args(["template", &bad_chart("secret-invalid-yaml")])
        .output()
        .unwrap();
    assert_masked(&output, SECRET_FRAME, SECRET_LINES);
    assert!(stdout_of(&output).is_empty());
}

#[test]
fn template_masks_data_when_the_kind_cannot_be_read() {
    let output = rchart()
        .args(["template", &bad_chart("secret-unknown-kind")])
        .output()
        .unwrap();
    assert_masked(&output, UNKNOWN_FRAME, UNKNOWN_LINES);
}

#[test]
fn lint_masks_secret_values_in_its_findings() {
    for (case, frame, lines) in [
        ("secret-invalid-yaml", SECRET_FRAME, SECRET_LINES),
        ("secret-unknown-kind", UNKNOWN_FRAME, UNKNOWN_LINES),
    ] {
        let output = rchart().args(["lint", &bad_chart(case)]).output().unwrap();
        assert_masked(&output, frame, lines);
        assert!(stdout_of(&output).contains("[ERROR]"), "{case}");
    }
}

#[test]
fn install_and_upgrade_mask_secret_values() {
    let cluster = TestCluster::start();
    let chart = bad_chart("secret-invalid-yaml");
    let output = cluster
        .rchart()
        .args(["install", "db", &chart, "-n", "default"])
        .output()
        .unwrap();
    assert_masked(&output, SECRET_FRAME, SECRET_LINES);
    assert!(cluster.records("default").is_empty(), "nothing recorded");

    cluster.run(&[
        "install",
        "db",
        &chart,
        "-n",
        "default",
        "--set-string",
        "hosts=db-0",
    ]);
    let output = cluster
        .rchart()
        .args(["upgrade", "db", &chart, "-n", "default"])
        .output()
        .unwrap();
    assert_masked(&output, SECRET_FRAME, SECRET_LINES);
    assert_eq!(
        cluster.records("default").len(),
        1,
        "the upgrade recorded nothing"
    );
}
