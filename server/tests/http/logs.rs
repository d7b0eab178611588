use serde_json::Value;

use crate::support::{Launch, config_file, request};

#[test]
fn db_pass_is_reported_as_set_but_never_shown() {
    let secret = "s3cr3t-Pa55-7f1e9";
    let dir = tempfile::tempdir().unwrap();
    // The content holds a `$DB_PASS` reference, which must stay literal text.
    let config = "routes:\n  /route1: \"uses $DB_PASS\"\n";
    let path = config_file(dir.path(), config);
    let mut server = Launch::new(&path)
        .env("DB_PASS", secret)
        .args(&[
            "--access-log",
            "--log-level",
            "debug",
            "--reload-interval",
            "0s",
        ])
        .start();

    let ready = server.get("/readyz");
    assert_eq!(ready.json()["db_pass_set"], true);
    let mut bodies = vec![ready.body];
    for path in [
        "/route1",
        "/healthz",
        "/metrics",
        "/nowhere",
        "/route1?DB_PASS=1",
    ] {
        bodies.push(server.get(path).body);
    }
    bodies.push(request(server.addr, "POST", "/route1").body);
    assert_eq!(
        server.get("/route1").body,
        "Hello, You are at /route1, Got: uses $DB_PASS"
    );

    // A rejected reload and the shutdown log too.
    std::fs::write(&path, "routes: [").unwrap();
    server.signal("HUP");
    server.logs.wait_for("a rejected config", |line| {
        line["message"] == "config rejected; the previous routes keep serving"
    });
    server.signal("TERM");
    assert_eq!(server.wait_for_exit().code(), Some(0));

    for body in &bodies {
        assert!(!body.contains(secret), "a response shows DB_PASS: {body}");
    }
    let logs = server.logs.text();
    assert!(!logs.contains(secret), "the logs show DB_PASS:\n{logs}");
    assert!(logs.contains("\"db_pass_set\":true"), "{logs}");
}

#[test]
fn every_log_line_is_one_json_event_and_access_logs_are_optional() {
    let dir = tempfile::tempdir().unwrap();
    let path = config_file(dir.path(), "routes:\n  /a: \"x\"\n");

    let mut quiet = Launch::new(&path).start();
    quiet.get("/a");
    quiet.signal("TERM");
    quiet.wait_for_exit();
    assert_eq!(quiet.logs.count(|line| line["message"] == "request"), 0);

    let mut logged = Launch::new(&path).args(&["--access-log"]).start();
    logged.get("/a?token=abc");
    logged.get("/b");
    logged.signal("TERM");
    logged.wait_for_exit();
    let access = logged.logs.wait_for("an access log line", |line| {
        line["message"] == "request" && line["path"] == "/a"
    });
    assert_eq!(access["method"], "GET");
    assert_eq!(access["status"], 200);
    assert!(access["duration_us"].is_u64());
    assert!(access["remote"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(logged.logs.count(|line| line["message"] == "request"), 2);
    assert!(
        !logged.logs.text().contains("token=abc"),
        "the query string is logged"
    );

    for line in quiet.logs.lines().iter().chain(&logged.logs.lines()) {
        let event: Value = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("not a JSON line ({err}): {line}"));
        for field in ["timestamp", "level", "message"] {
            assert!(event[field].is_string(), "no {field} in {line}");
        }
    }
}

#[test]
fn access_log_can_be_switched_through_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = config_file(dir.path(), "routes:\n  /a: \"x\"\n");

    for (value, expected) in [
        ("true", true),
        ("false", false),
        ("1", true),
        ("off", false),
    ] {
        let mut server = Launch::new(&path)
            .env("MULTIROUTE_ACCESS_LOG", value)
            .start();
        server.get("/a");
        server.signal("TERM");
        server.wait_for_exit();
        let logged = server.logs.count(|line| line["message"] == "request") == 1;
        assert_eq!(logged, expected, "MULTIROUTE_ACCESS_LOG={value}");
    }
}
