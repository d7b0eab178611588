use std::io::Read;

use crate::support::{chart_copy, fixture, rchart, stderr_of, stdout_of};

fn package(
    chart: &std::path::Path,
    dest: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    rchart()
        .arg("package")
        .arg(chart)
        .arg("-d")
        .arg(dest)
        .args(extra)
        .output()
        .unwrap()
}

/// (path, mode, uid, gid, mtime, uname, gname, is_dir) of every entry.
type Entry = (String, u32, u64, u64, u64, String, String, bool);

fn entries(archive: &std::path::Path) -> Vec<Entry> {
    let file = std::fs::File::open(archive).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    tar.entries()
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let header = entry.header();
            (
                entry.path().unwrap().to_string_lossy().into_owned(),
                header.mode().unwrap(),
                header.uid().unwrap(),
                header.gid().unwrap(),
                header.mtime().unwrap(),
                header.username().unwrap().unwrap_or_default().to_string(),
                header.groupname().unwrap().unwrap_or_default().to_string(),
                header.entry_type().is_dir(),
            )
        })
        .collect()
}

#[test]
fn writes_name_version_tgz_and_prints_path_and_digest() {
    let out = tempfile::tempdir().unwrap();
    let output = package(&fixture("charts/full"), out.path(), &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let archive = out.path().join("full-1.2.3.tgz");
    let bytes = std::fs::read(&archive).unwrap();
    let digest = sha256_hex(&bytes);
    let text = stdout_of(&output);
    assert!(text.contains(&archive.display().to_string()), "{text}");
    assert!(text.contains(&format!("sha256: {digest}")), "{text}");
}

#[test]
fn json_output_is_the_digest_alone() {
    let out = tempfile::tempdir().unwrap();
    let output = package(&fixture("charts/full"), out.path(), &["-o", "json"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let bytes = std::fs::read(out.path().join("full-1.2.3.tgz")).unwrap();
    assert_eq!(json, serde_json::json!({ "sha256": sha256_hex(&bytes) }));
}

#[test]
fn archives_are_reproducible_with_fixed_metadata() {
    let (_temp, chart) = chart_copy("charts/full");
    // Modification times must not leak into the archive: package the same tree with
    // every file dated 2001, then with every file dated 2033.
    let date_every_file = |seconds: u64| {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
        for entry in walk(&chart) {
            let file = std::fs::File::options().append(true).open(&entry).unwrap();
            file.set_modified(time).unwrap();
            assert_eq!(file.metadata().unwrap().modified().unwrap(), time);
        }
    };
    date_every_file(1_000_000_000);
    let first = tempfile::tempdir().unwrap();
    let output = package(&chart, first.path(), &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    date_every_file(2_000_000_000);
    let second = tempfile::tempdir().unwrap();
    let output = package(&chart, second.path(), &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let a = std::fs::read(first.path().join("full-1.2.3.tgz")).unwrap();
    let b = std::fs::read(second.path().join("full-1.2.3.tgz")).unwrap();
    assert_eq!(a, b, "two packages of the same tree differ");
    assert_eq!(&a[4..8], &[0, 0, 0, 0], "gzip header mtime is 0");

    let listed = entries(&first.path().join("full-1.2.3.tgz"));
    let paths: Vec<&str> = listed.iter().map(|e| e.0.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "entries are sorted");
    assert!(
        paths.iter().all(|p| *p == "full" || p.starts_with("full/")),
        "{paths:?}"
    );
    assert!(
        !paths
            .iter()
            .any(|p| p.contains("scratch") || p.ends_with(".bak")),
        ".rchartignore is honoured: {paths:?}"
    );
    for (path, mode, uid, gid, mtime, uname, gname, is_dir) in &listed {
        let expected_mode = if *is_dir { 0o755 } else { 0o644 };
        assert_eq!(
            (*mode, *uid, *gid, *mtime),
            (expected_mode, 0, 0, 0),
            "{path}"
        );
        assert!(uname.is_empty() && gname.is_empty(), "{path}");
    }
}

#[test]
fn source_date_epoch_sets_entry_times() {
    let out = tempfile::tempdir().unwrap();
    let output = rchart()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .arg("package")
        .arg(fixture("charts/full"))
        .arg("-d")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    for entry in entries(&out.path().join("full-1.2.3.tgz")) {
        assert_eq!(entry.4, 1_700_000_000, "{}", entry.0);
    }
}

#[test]
fn version_overrides_apply_to_the_archive_only() {
    let (_temp, chart) = chart_copy("charts/full");
    let before = std::fs::read_to_string(chart.join("Chart.yaml")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = package(
        &chart,
        out.path(),
        &["--version", "2.0.0-rc.1", "--app-version", "9.9"],
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(
        std::fs::read_to_string(chart.join("Chart.yaml")).unwrap(),
        before
    );
    let archive = out.path().join("full-2.0.0-rc.1.tgz");
    let file = std::fs::File::open(&archive).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut chart_yaml = String::new();
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_string_lossy() == "full/Chart.yaml" {
            entry.read_to_string(&mut chart_yaml).unwrap();
        }
    }
    assert!(
        chart_yaml.contains("version: \"2.0.0-rc.1\""),
        "{chart_yaml}"
    );
    assert!(chart_yaml.contains("appVersion: \"9.9\""), "{chart_yaml}");
}

#[test]
fn bad_charts_and_versions_leave_no_archive() {
    let out = tempfile::tempdir().unwrap();
    let output = package(&fixture("charts/full"), out.path(), &["--version", "2.0"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr_of(&output).contains("--version \"2.0\" is not a semantic version"));
    let output = package(&fixture("bad/non-semver"), out.path(), &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr_of(&output).contains("field \"version\""));
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "no archive on error"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
