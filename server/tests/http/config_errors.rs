use std::net::TcpListener;
use std::path::Path;

use serde_json::Value;

use crate::support::{CONFIG_V1, Launch, config_file};

/// Starts the server on a config that must be refused; returns the `invalid config` log line.
fn refused_config(path: &Path) -> Value {
    let (status, stderr) = Launch::new(path).run_to_exit();
    assert_eq!(status.code(), Some(1), "stderr:\n{stderr}");
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["message"] == "invalid config")
        .unwrap_or_else(|| panic!("no `invalid config` line in:\n{stderr}"))
}

fn assert_names_file_and_line(logged: &Value, path: &Path, line: u64) {
    let file = path.display().to_string();
    assert_eq!(logged["level"], "ERROR");
    assert_eq!(logged["file"], file.as_str());
    assert_eq!(logged["line"], line);
    let error = logged["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("{file}:{line}:")),
        "error does not point at {file}:{line}: {error}"
    );
}

#[test]
fn a_missing_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.yml");

    let logged = refused_config(&path);

    assert_eq!(logged["file"], path.display().to_string());
    let error = logged["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!("cannot read config file {}: ", path.display())),
        "{error}"
    );
    assert!(error.contains("No such file or directory"), "{error}");
}

#[test]
fn invalid_yaml_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = config_file(dir.path(), "routes:\n  /a: \"x\"\n /b: \"y\"\n");

    let logged = refused_config(&path);

    assert_names_file_and_line(&logged, &path, 3);
    assert!(
        logged["error"]
            .as_str()
            .unwrap()
            .contains("did not find expected key")
    );
}

#[test]
fn a_non_string_response_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = config_file(dir.path(), "routes:\n  /a: \"x\"\n  /b:\n    nested: map\n");

    let logged = refused_config(&path);

    assert_names_file_and_line(&logged, &path, 4);
    assert!(
        logged["error"]
            .as_str()
            .unwrap()
            .contains("invalid type: map, expected a string")
    );
}

#[test]
fn a_route_without_a_leading_slash_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = config_file(dir.path(), "routes:\n  /a: \"x\"\n  route2: \"y\"\n");

    let logged = refused_config(&path);

    assert_names_file_and_line(&logged, &path, 3);
    assert!(
        logged["error"]
            .as_str()
            .unwrap()
            .contains("route `route2` must start with `/`")
    );
}

#[test]
fn a_port_in_use_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();

    let (status, stderr) = Launch::new(&config_file(dir.path(), CONFIG_V1))
        .args(&["--listen", &addr])
        .without_listen_flag()
        .run_to_exit();

    assert_eq!(status.code(), Some(1));
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
}
