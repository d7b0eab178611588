//! `multiroute check`: the chart's test hook, asking a running server for URLs.

use std::process::{Command, Output};

use crate::support::{CONFIG_V1, Launch, config_file};

fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_multiroute"))
        .arg("check")
        .args(args)
        .env_remove("MULTIROUTE_CONFIG")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn every_url_must_answer_exactly_what_is_expected() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        "routes:\n  /route1: \"route1's content\"\n  \"/caf\u{e9} au lait\": \"na\u{ef}ve\"\n";
    let server = Launch::new(&config_file(dir.path(), config)).start();
    let base = format!("http://{}", server.addr);

    let passing = check(&[
        &format!("{base}/route1"),
        "--expect",
        "Hello, You are at /route1, Got: route1's content",
        &format!("{base}/caf\u{e9} au lait"),
        "--expect",
        "Hello, You are at /caf\u{e9} au lait, Got: na\u{ef}ve",
    ]);
    assert!(passing.status.success(), "{}", text(&passing.stdout));
    assert_eq!(
        text(&passing.stdout),
        format!(
            "ok: GET {base}/route1\nok: GET {base}/caf\u{e9} au lait\n2 of 2 URLs answered as expected\n"
        )
    );

    let failing = check(&[
        &format!("{base}/route1"),
        "--expect",
        "Hello, You are at /route1, Got: something else",
        &format!("{base}/route9"),
        "--expect",
        "x",
    ]);
    assert_eq!(failing.status.code(), Some(1));
    let out = text(&failing.stdout);
    assert!(
        out.contains(&format!(
            "failed: GET {base}/route1: expected the body \"Hello, You are at /route1, Got: something else\", got \"Hello, You are at /route1, Got: route1's content\"\n"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "failed: GET {base}/route9: status 404, body \"404 page not found\\n\"\n"
        )),
        "{out}"
    );
    assert!(out.ends_with("0 of 2 URLs answered as expected\n"), "{out}");
}

#[test]
fn a_server_that_is_not_there_fails_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = Launch::new(&config_file(dir.path(), CONFIG_V1)).start();
    let gone = format!("http://{}/route1", server.addr);
    drop(server);
    let output = check(&[&gone, "--expect", "x", "--timeout", "1s"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stdout).starts_with(&format!("failed: GET {gone}: no answer: ")),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn each_url_needs_its_own_expect() {
    let output = check(&[
        "http://127.0.0.1:1/a",
        "http://127.0.0.1:1/b",
        "--expect",
        "x",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("error: http://127.0.0.1:1/a has no --expect after it"),
        "{}",
        text(&output.stderr)
    );
}
