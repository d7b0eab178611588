//! Every input is bounded and every message is the user's: values files and `--set-file`
//! read at most 5 MiB from any source, `-f -` reads stdin, one entry count for every
//! command, chart-supplied names escaped, include cycles reported once, and no library
//! internals in what users read.

use std::path::{Path, PathBuf};

use crate::support::{TestCluster, fixture, rchart, stderr_of, stdout_of, write_chart};

const MIB: usize = 1024 * 1024;

const TOO_LARGE: &str = "it holds more than 5 MiB; rchart reads at most 5 MiB from one file, as from any file in a chart";

/// A chart whose one ConfigMap shows `values.name`.
fn small_chart(dir: &Path) -> PathBuf {
    write_chart(
        &dir.join("small"),
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: small\nversion: 0.1.0\n",
            ),
            ("values.yaml", "name: default\n"),
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ values.name }}\n",
            ),
        ],
    )
}

fn run(args: &[&str], stdin: Option<Vec<u8>>) -> std::process::Output {
    let mut command = rchart();
    command.args(args);
    if let Some(input) = stdin {
        command.write_stdin(input);
    }
    command.output().unwrap()
}

/// Runs `rchart ARGS`, expects exit 1 with nothing on stdout, and returns stderr.
fn fails(args: &[&str], stdin: Option<Vec<u8>>) -> String {
    let output = run(args, stdin);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "rchart {args:?}: {stderr}");
    assert!(
        output.stdout.is_empty(),
        "rchart {args:?} printed: {}",
        stdout_of(&output)
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

/// [`fails`], and stderr says `expected`.
fn fails_saying(args: &[&str], stdin: Option<Vec<u8>>, expected: impl AsRef<str>) -> String {
    let stderr = fails(args, stdin);
    assert!(
        stderr.contains(expected.as_ref()),
        "expected {:?} in:\n{stderr}",
        expected.as_ref()
    );
    stderr
}

/// Runs `rchart ARGS`, expects success, and returns stdout.
fn succeeds(args: &[&str], stdin: Option<Vec<u8>>) -> String {
    let output = run(args, stdin);
    assert!(
        output.status.success(),
        "rchart {args:?}: {}",
        stderr_of(&output)
    );
    stdout_of(&output)
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_values_file_without_end_is_cut_off_at_5_mib() {
    let dir = tempfile::tempdir().unwrap();
    let chart = small_chart(dir.path());
    fails_saying(
        &["template", text(&chart), "-f", "/dev/zero"],
        None,
        format!("cannot read values file /dev/zero: {TOO_LARGE}"),
    );
}

#[test]
fn a_values_file_over_5_mib_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let chart = small_chart(dir.path());
    let big = dir.path().join("big.yaml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(5 * MIB as u64 + 1)
        .unwrap();
    fails_saying(
        &["template", text(&chart), "-f", text(&big)],
        None,
        format!("cannot read values file {}: {TOO_LARGE}", big.display()),
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_that_never_ends_is_cut_off_at_5_mib() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let chart = small_chart(dir.path());
    let fifo = dir.path().join("values.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let writer_path = fifo.clone();
    // Writes until the reader goes away; the write then fails and the thread ends
    std::thread::spawn(move || {
        let mut pipe = std::fs::OpenOptions::new()
            .write(true)
            .open(writer_path)
            .unwrap();
        let line = "key: value\n".repeat(4096);
        while pipe.write_all(line.as_bytes()).is_ok() {}
    });
    fails_saying(
        &["template", text(&chart), "-f", text(&fifo)],
        None,
        format!("cannot read values file {}: {TOO_LARGE}", fifo.display()),
    );
}

#[test]
fn set_file_reads_at_most_5_mib_and_only_text() {
    let dir = tempfile::tempdir().unwrap();
    let chart = small_chart(dir.path());
    fails_saying(
        &["template", text(&chart), "--set-file", "cert=/dev/zero"],
        None,
        format!(
            "--set-file \"cert=/dev/zero\": cannot read file \"/dev/zero\" for key \"cert\": {TOO_LARGE}"
        ),
    );

    let at_limit = dir.path().join("at-limit.txt");
    std::fs::write(&at_limit, "x".repeat(5 * MIB)).unwrap();
    let expression = format!("blob={}", at_limit.display());
    succeeds(&["template", text(&chart), "--set-file", &expression], None);

    let binary = dir.path().join("binary.der");
    std::fs::write(&binary, b"\x30\x82\xff\xfe").unwrap();
    let expression = format!("cert={}", binary.display());
    fails_saying(
        &["template", text(&chart), "--set-file", &expression],
        None,
        format!(
            "cannot read file \"{}\" for key \"cert\": it is not UTF-8 text",
            binary.display()
        ),
    );
}

#[test]
fn values_come_from_stdin_with_a_dash() {
    let dir = tempfile::tempdir().unwrap();
    let chart = small_chart(dir.path());
    let out = succeeds(
        &["template", text(&chart), "-f", "-"],
        Some(b"name: from-stdin\n".to_vec()),
    );
    assert!(out.contains("name: from-stdin"), "{out}");

    // Later sources still win over stdin
    let out = succeeds(
        &[
            "template",
            text(&chart),
            "-f",
            "-",
            "--set",
            "name=from-set",
        ],
        Some(b"name: from-stdin\n".to_vec()),
    );
    assert!(out.contains("name: from-set"), "{out}");

    // lint reads its values files twice; stdin is read once and kept
    let out = succeeds(
        &["lint", text(&chart), "-f", "-"],
        Some(b"name: linted\n".to_vec()),
    );
    assert!(out.contains("0 error(s)"), "{out}");
}

#[test]
fn stdin_values_are_named_stdin_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let chart = small_chart(dir.path());
    let stderr = fails_saying(
        &["template", text(&chart), "-f", "-"],
        Some(b"name: [unclosed\n".to_vec()),
        "invalid YAML in <stdin>: line 1 column 7",
    );
    assert!(stderr.contains("--> <stdin>:1:7"), "{stderr}");

    fails_saying(
        &["template", text(&chart), "-f", "-"],
        Some(vec![b'#'; 5 * MIB + 1]),
        format!("cannot read values file <stdin>: {TOO_LARGE}"),
    );

    fails_saying(
        &["template", text(&chart), "-f", "-", "-f", "-"],
        Some(b"name: twice\n".to_vec()),
        "-f - (values from stdin) may be given only once",
    );
}

#[test]
fn install_with_an_unbounded_values_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let chart = small_chart(dir.path());
    let cluster = TestCluster::start();
    cluster.create_namespace("bounded");
    let before = cluster.names("configmaps", "bounded");
    let stderr = cluster.fail(&[
        "install",
        "web",
        text(&chart),
        "-n",
        "bounded",
        "-f",
        "/dev/zero",
    ]);
    assert!(
        stderr.contains(&format!("cannot read values file /dev/zero: {TOO_LARGE}")),
        "{stderr}"
    );
    assert!(cluster.records("bounded").is_empty());
    assert_eq!(cluster.names("configmaps", "bounded"), before);
}

/// A chart directory whose package holds `entries` entries: the top directory,
/// templates/, files/, Chart.yaml, the template, and files to fill up.
fn chart_with_entries(dir: &Path, entries: usize) -> PathBuf {
    let chart = write_chart(
        &dir.join("many"),
        &[
            ("Chart.yaml", "apiVersion: v2\nname: many\nversion: 0.1.0\n"),
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: many\n",
            ),
        ],
    );
    std::fs::create_dir_all(chart.join("files")).unwrap();
    for i in 0..entries - 5 {
        std::fs::write(chart.join(format!("files/f{i:05}.txt")), "").unwrap();
    }
    chart
}

#[test]
fn every_command_counts_a_directory_charts_entries_as_its_package_holds_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // Exactly the limit: renders, lints, packages, and the package loads
    let chart = chart_with_entries(dir.path(), 10_000);
    succeeds(&["template", text(&chart)], None);
    succeeds(&["lint", text(&chart)], None);
    succeeds(&["package", text(&chart), "-d", text(&out)], None);
    let package = out.join("many-0.1.0.tgz");
    succeeds(&["template", text(&package)], None);

    // One file more: 9,996 files in the directory, but 10,001 entries in its package
    std::fs::write(chart.join("files/one-more.txt"), "").unwrap();
    let refused = format!(
        "chart directory \"{}\" has more than 10000 entries (files and the directories holding them, as its package would)",
        chart.display()
    );
    let stderr = fails(&["template", text(&chart)], None);
    assert!(stderr.contains(&refused), "{stderr}");
    let stderr = fails(&["package", text(&chart), "-d", text(&out)], None);
    assert!(stderr.contains(&refused), "{stderr}");
    let lint = run(&["lint", text(&chart)], None);
    assert_eq!(lint.status.code(), Some(1));
    assert!(stdout_of(&lint).contains(&refused), "{}", stdout_of(&lint));

    let cluster = TestCluster::start();
    cluster.create_namespace("many");
    let before = cluster.names("configmaps", "many");
    let stderr = cluster.fail(&["install", "many", text(&chart), "-n", "many"]);
    assert!(stderr.contains(&refused), "{stderr}");
    assert!(cluster.records("many").is_empty());
    assert_eq!(cluster.names("configmaps", "many"), before);

    // Ignored files count for nothing
    std::fs::write(chart.join(".rchartignore"), "files/one-more.txt\n").unwrap();
    std::fs::remove_file(chart.join("files/f00000.txt")).unwrap();
    succeeds(&["template", text(&chart)], None);
    succeeds(&["package", text(&chart), "-d", text(&out)], None);
}

/// Control characters and bidi overrides that must never reach a terminal raw.
fn assert_no_raw_controls(stderr: &str) {
    for raw in ['\u{1b}', '\u{7}', '\r', '\u{202e}'] {
        assert!(!stderr.contains(raw), "raw {raw:?} in:\n{stderr:?}");
    }
}

const TRICK_SHOWN: &str = "\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\rok\\u{202e}gnp.yaml";

#[test]
fn archive_entry_names_are_escaped_in_messages() {
    let archive = fixture("hostile/escape-in-entry-name.tgz");
    let stderr = fails(&["template", text(&archive)], None);
    assert_no_raw_controls(&stderr);
    assert!(
        stderr.contains(&format!(
            "entry \"mychart/templates/{TRICK_SHOWN}\" is a symlink to \"/etc/{TRICK_SHOWN}\""
        )),
        "{stderr}"
    );
}

#[test]
fn template_names_are_escaped_in_code_frames() {
    let archive = fixture("hostile/escape-in-template-name.tgz");
    let stderr = fails(&["template", text(&archive)], None);
    assert_no_raw_controls(&stderr);
    assert!(
        stderr.contains(&format!(" --> templates/{TRICK_SHOWN}:1:17")),
        "{stderr}"
    );

    // The same from a chart directory
    let dir = tempfile::tempdir().unwrap();
    let chart = small_chart(dir.path());
    std::fs::write(
        chart.join("templates/evil\u{1b}[2J\r\u{202e}.yaml"),
        "kind: {{ values.missing }}\n",
    )
    .unwrap();
    let stderr = fails(&["template", text(&chart)], None);
    assert_no_raw_controls(&stderr);
    assert!(
        stderr.contains(" --> templates/evil\\u{1b}[2J\\r\\u{202e}.yaml:1:17"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn directory_entry_names_are_escaped_in_messages() {
    let dir = tempfile::tempdir().unwrap();
    let chart = small_chart(dir.path());
    std::os::unix::fs::symlink("/etc/passwd", chart.join("files\u{1b}[2J\u{7}")).unwrap();
    let stderr = fails(&["template", text(&chart)], None);
    assert_no_raw_controls(&stderr);
    assert!(
        stderr.contains("small/files\\u{1b}[2J\\u{7}\" points to \"/etc/passwd\""),
        "{stderr}"
    );
}

#[test]
fn an_include_cycle_is_reported_once() {
    let stderr = fails(&["template", text(&fixture("bad/include-cycle"))], None);
    assert_eq!(
        stderr.lines().take(2).collect::<Vec<_>>(),
        [
            "error: rendering chart \"include-cycle\"",
            "include cycle: templates/_a.tpl → templates/_b.tpl → templates/_a.tpl (stopped after 20 nested calls)"
        ],
        "{stderr}"
    );
    assert_eq!(stderr.matches("error").count(), 1, "{stderr}");
    let frames: Vec<&str> = stderr.lines().filter(|l| l.starts_with(" --> ")).collect();
    assert_eq!(
        frames,
        [
            " --> templates/_b.tpl:1:10",
            " --> templates/_a.tpl:2:9",
            " --> templates/cm.yaml:6:14"
        ],
        "{stderr}"
    );
    assert!(
        stderr.contains("   ... 18 more frames around the same cycle"),
        "{stderr}"
    );
}

#[test]
fn a_tpl_cycle_is_reported_once() {
    let stderr = fails_saying(
        &["template", text(&fixture("bad/tpl-cycle"))],
        None,
        "tpl cycle: tpl \"{{ values.annotation | tpl }}\" → tpl \"{{ values.annotation | tpl }}\"",
    );
    assert_eq!(stderr.matches("error").count(), 1, "{stderr}");
    assert!(stderr.contains(" --> <tpl value>:1:24"), "{stderr}");
    assert!(stderr.contains(" --> templates/cm.yaml:6:34"), "{stderr}");
    assert!(!stderr.contains("__tera"), "{stderr}");
}

/// Words that belong to the libraries rchart is built on, not to its users.
const INTERNALS: &[&str] = &[
    "budget",
    "Depth {",
    "Nodes {",
    "breached",
    "Options",
    "Option<",
    "resolve-http",
    "resolve-file",
    "feature",
    "registry",
    "resolver",
    "meta-schema",
];

fn assert_plain(case: &str, expected: &[&str]) {
    let stderr = fails(&["template", text(&fixture(&format!("bad/{case}")))], None);
    for fragment in expected {
        assert!(
            stderr.contains(fragment),
            "{case}: expected {fragment:?} in:\n{stderr}"
        );
    }
    for internal in INTERNALS {
        assert!(
            !stderr.contains(internal),
            "{case}: {internal:?} in:\n{stderr}"
        );
    }
}

#[test]
fn yaml_limits_in_values_are_said_in_plain_words() {
    assert_plain(
        "values-too-deep",
        &[
            "invalid YAML in values.yaml: line 3",
            "nesting deeper than 64 levels",
        ],
    );
    assert_plain(
        "values-alias-bomb",
        &[
            "invalid YAML in values.yaml: line 7",
            "more than 250000 values in one document",
        ],
    );
    assert_plain(
        "values-binary-not-text",
        &[
            "values.yaml: line 2",
            "a !!binary value here must be UTF-8 text",
        ],
    );
}

#[test]
fn chart_yaml_problems_are_said_in_plain_words() {
    assert_plain(
        "chart-yaml-too-deep",
        &["Chart.yaml:4: nesting deeper than 64 levels"],
    );
    assert_plain(
        "chart-yaml-binary",
        &["Chart.yaml:2: a !!binary value here must be UTF-8 text"],
    );
    assert_plain(
        "chart-yaml-duplicate-key",
        &["Chart.yaml:4: duplicate mapping key `name` is not allowed here"],
    );
}

#[test]
fn schema_references_are_said_in_plain_words() {
    let prefix = "schema file values.schema.json is not a valid JSON schema: ";
    let not_fetched = "another file or a URL, and rchart does not fetch schemas \
                       (copy the definition into this file under \"$defs\" and refer to it as \"#/$defs/NAME\")";
    assert_plain(
        "schema-ref-url",
        &[&format!(
            "{prefix}properties.replicas.$ref: refers to \"https://example.com/schemas/replicas.json\", {not_fetched}"
        )],
    );
    assert_plain(
        "schema-ref-file",
        &[&format!(
            "{prefix}properties.image.$ref: refers to \"common.schema.json#/$defs/image\", {not_fetched}"
        )],
    );
    assert_plain(
        "schema-ref-missing",
        &[&format!(
            "{prefix}properties.replicas.$ref: refers to \"#/$defs/replica-count\", which does not exist in this schema"
        )],
    );
    assert_plain(
        "schema-unknown-draft",
        &[&format!(
            "{prefix}$schema: \"https://example.com/my-draft/schema\" is not a JSON Schema draft rchart knows \
             (drafts 4, 6, 7, 2019-09 and 2020-12 are)"
        )],
    );
}

#[test]
fn b64dec_says_which_character_is_not_base64_without_showing_the_value() {
    let stderr = fails_saying(
        &["template", text(&fixture("bad/b64dec-not-base64"))],
        None,
        "b64dec: not valid base64: \"$\" at character 3 is not a base64 character",
    );
    assert!(stderr.contains(" --> templates/cm.yaml:6:28"), "{stderr}");
    assert!(!stderr.contains("Invalid symbol"), "{stderr}");
    assert!(!stderr.contains("pa$$word"), "{stderr}");
}

#[test]
fn value_keys_are_escaped_in_schema_violations() {
    let stderr = fails_saying(
        &[
            "template",
            text(&fixture("bad/schema-violation-escaped-key")),
        ],
        None,
        "  clear\\u{1b}\\[2J\\u{202e}me: unknown key (additionalProperties is false)",
    );
    assert_no_raw_controls(&stderr);
}

#[test]
fn a_line_break_in_a_template_name_adds_no_line_to_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let chart = small_chart(dir.path());
    std::fs::write(
        chart.join("templates/x\nkind: Secret.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    )
    .unwrap();
    let out = succeeds(&["template", text(&chart)], None);
    assert!(
        out.contains("# Source: small/templates/x\\nkind: Secret.yaml\n"),
        "{out}"
    );
    assert!(
        !out.lines().any(|line| line.starts_with("kind: Secret")),
        "{out}"
    );
}
