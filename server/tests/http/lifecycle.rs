use std::io::Write;
use std::net::TcpStream;

use crate::support::{CONFIG_V1, Launch, Server, config_file, connect, eventually, read_response};

/// Opens a connection and sends a request head without its final empty line, so the server
/// holds a request that is still arriving.
fn start_partial_request(server: &Server, path: &str) -> TcpStream {
    let mut stream = connect(server.addr);
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
    )
    .unwrap();
    stream.flush().unwrap();
    stream
}

fn finish_request(stream: &mut TcpStream) {
    stream.write_all(b"\r\n").unwrap();
}

/// Waits until the server has accepted `count` connections (the scrape itself included).
fn wait_for_open_connections(server: &Server, count: usize) {
    let expected = format!("multiroute_http_connections_open {count}\n");
    eventually("the connections to be accepted", || {
        server
            .get("/metrics")
            .body
            .contains(&expected)
            .then_some(())
    });
}

fn wait_until_refused(server: &Server) {
    eventually("the listener to close", || {
        TcpStream::connect(server.addr).is_err().then_some(())
    });
}

#[test]
fn sigterm_stops_accepting_and_lets_requests_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Launch::new(&config_file(dir.path(), CONFIG_V1))
        .args(&["--drain-timeout", "60s"])
        .start();
    let mut route = start_partial_request(&server, "/route1");
    let mut readiness = start_partial_request(&server, "/readyz");
    wait_for_open_connections(&server, 3);

    server.signal("TERM");
    server.logs.wait_for("the drain to start", |line| {
        line["message"] == "listener closed; draining requests in flight"
    });
    wait_until_refused(&server);

    finish_request(&mut route);
    let response = read_response(&mut route);
    assert_eq!(response.status, 200);
    assert_eq!(
        response.body,
        "Hello, You are at /route1, Got: route1's content"
    );

    finish_request(&mut readiness);
    let response = read_response(&mut readiness);
    assert_eq!(response.status, 503);
    assert_eq!(response.json()["status"], "draining");

    let status = server.wait_for_exit();
    assert_eq!(status.code(), Some(0));
    server.logs.wait_for("the drain to end", |line| {
        line["message"] == "drained; exiting"
    });
}

#[test]
fn the_drain_timeout_bounds_the_wait_for_unfinished_requests() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Launch::new(&config_file(dir.path(), CONFIG_V1))
        .args(&["--drain-timeout", "1s"])
        .start();
    let _never_finished = start_partial_request(&server, "/route1");
    wait_for_open_connections(&server, 2);

    server.signal("TERM");

    let status = server.wait_for_exit();
    assert_eq!(status.code(), Some(0));
    let timed_out = server.logs.wait_for("the drain timeout", |line| {
        line["message"] == "drain timeout reached; closing the remaining connections"
    });
    assert_eq!(timed_out["level"], "WARN");
    assert_eq!(timed_out["connections_open"], 1);
}

#[test]
fn during_the_shutdown_delay_readiness_fails_while_connections_are_still_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Launch::new(&config_file(dir.path(), CONFIG_V1))
        .args(&["--shutdown-delay", "60s"])
        .start();
    assert_eq!(server.get("/readyz").status, 200);

    server.signal("TERM");
    server.logs.wait_for("shutdown to start", |line| {
        line["message"] == "shutdown started; readiness is now failing"
    });

    let ready = server.get("/readyz");
    assert_eq!(ready.status, 503);
    assert_eq!(ready.json()["status"], "draining");
    assert_eq!(server.get("/route1").status, 200);
    assert_eq!(server.get("/healthz").status, 200);

    // A second signal cuts the delay short.
    server.signal("INT");
    let status = server.wait_for_exit();
    assert_eq!(status.code(), Some(0));
    server.logs.wait_for("the early exit", |line| {
        line["message"] == "second stop signal; exiting without draining"
    });
}
