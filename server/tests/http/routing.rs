use crate::support::{CONFIG_V1, Launch, config_file, request};

#[test]
fn configured_routes_answer_with_the_compatible_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = Launch::new(&config_file(dir.path(), CONFIG_V1)).start();

    let route1 = server.get("/route1");
    assert_eq!(route1.status, 200);
    assert_eq!(
        route1.body,
        "Hello, You are at /route1, Got: route1's content"
    );
    assert_eq!(
        route1.header("content-type"),
        Some("text/plain; charset=utf-8")
    );

    let route2 = server.get("/route2");
    assert_eq!(route2.status, 200);
    assert_eq!(
        route2.body,
        "Hello, You are at /route2, Got: route2's content"
    );
}

#[test]
fn unknown_paths_answer_404() {
    let dir = tempfile::tempdir().unwrap();
    let server = Launch::new(&config_file(dir.path(), CONFIG_V1)).start();

    for path in ["/", "/route3", "/ROUTE1"] {
        let response = server.get(path);
        assert_eq!(response.status, 404, "{path}");
        assert_eq!(response.body, "404 page not found\n", "{path}");
    }
}

#[test]
fn routes_match_the_whole_decoded_path() {
    let dir = tempfile::tempdir().unwrap();
    let server = Launch::new(&config_file(dir.path(), CONFIG_V1)).start();

    // An Ingress with `pathType: Prefix` forwards these; the server still answers 404.
    assert_eq!(server.get("/route1/").status, 404);
    assert_eq!(server.get("/route1/x").status, 404);
    assert_eq!(server.get("/route1x").status, 404);

    let encoded = server.get("/r%6Fute1");
    assert_eq!(encoded.status, 200);
    assert_eq!(
        encoded.body,
        "Hello, You are at /route1, Got: route1's content"
    );

    let with_query = server.get("/route1?lang=en");
    assert_eq!(with_query.status, 200);
}

#[test]
fn paths_with_spaces_and_non_ascii_characters_match_when_encoded() {
    let dir = tempfile::tempdir().unwrap();
    let config = "routes:\n  \"/caf\u{e9} menu\": \"\u{2615}\"\n";
    let server = Launch::new(&config_file(dir.path(), config)).start();

    let response = server.get("/caf%C3%A9%20menu");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.body,
        "Hello, You are at /caf\u{e9} menu, Got: \u{2615}"
    );
}

#[test]
fn head_is_answered_and_other_methods_are_not_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Launch::new(&config_file(dir.path(), CONFIG_V1)).start();

    let head = request(server.addr, "HEAD", "/route1");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("48"));
    assert_eq!(head.body, "");

    for method in ["POST", "PUT", "DELETE"] {
        let response = request(server.addr, method, "/route1");
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.header("allow"), Some("GET, HEAD"), "{method}");
    }
    assert_eq!(request(server.addr, "POST", "/healthz").status, 405);
    assert_eq!(request(server.addr, "POST", "/nowhere").status, 404);
}

#[test]
fn health_and_readiness_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let server = Launch::new(&config_file(dir.path(), CONFIG_V1)).start();

    let health = server.get("/healthz");
    assert_eq!(health.status, 200);
    assert_eq!(health.body, "ok\n");

    let ready = server.get("/readyz");
    assert_eq!(ready.status, 200);
    assert_eq!(ready.header("content-type"), Some("application/json"));
    let body = ready.json();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["routes"], 2);
    assert_eq!(body["last_reload_failed"], false);
    assert_eq!(body["db_pass_set"], false);
}

/// 127.0.0.2 is loopback on Linux but is neither the default (0.0.0.0:3000) nor what the
/// other tests use, so the server can only listen there if it read the variable.
#[test]
fn listen_address_can_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let server = Launch::new(&config_file(dir.path(), CONFIG_V1))
        .env("MULTIROUTE_LISTEN", "127.0.0.2:0")
        .without_listen_flag()
        .start();

    assert_eq!(
        server.addr.ip(),
        std::net::IpAddr::from([127, 0, 0, 2]),
        "listening on {}",
        server.addr
    );
    assert_ne!(server.addr.port(), 3000);
    assert_eq!(server.get("/route1").status, 200);
}
