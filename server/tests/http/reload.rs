use crate::support::{CONFIG_V1, ConfigMapVolume, Launch, config_file, eventually};

const CONFIG_V2: &str =
    "routes:\n  /route1: \"route1's new content\"\n  /route3: \"route3's content\"\n";

/// Valid YAML, but `/route2` has a number as its content.
const CONFIG_NON_STRING: &str = "routes:\n  /route1: \"x\"\n  /route2: 42\n";

#[test]
fn a_configmap_update_swaps_the_routes_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut volume = ConfigMapVolume::new(dir.path(), CONFIG_V1);
    let server = Launch::new(&volume.config_path())
        .args(&["--reload-interval", "100ms"])
        .start();
    assert_eq!(server.get("/route3").status, 404);

    volume.update(CONFIG_V2);

    let route3 = eventually("/route3 to be served", || {
        Some(server.get("/route3")).filter(|response| response.status == 200)
    });
    assert_eq!(
        route3.body,
        "Hello, You are at /route3, Got: route3's content"
    );
    assert_eq!(
        server.get("/route1").body,
        "Hello, You are at /route1, Got: route1's new content"
    );
    assert_eq!(server.get("/route2").status, 404);
    let reloaded = server
        .logs
        .wait_for("a reload", |line| line["message"] == "config reloaded");
    assert_eq!(reloaded["trigger"], "file changed");
    assert_eq!(reloaded["routes"], 2);
}

#[test]
fn an_invalid_update_is_logged_once_and_the_last_good_routes_keep_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut volume = ConfigMapVolume::new(dir.path(), CONFIG_V1);
    let server = Launch::new(&volume.config_path())
        .args(&["--reload-interval", "100ms"])
        .start();

    volume.update(CONFIG_NON_STRING);

    let rejected = server.logs.wait_for("a rejected config", |line| {
        line["message"] == "config rejected; the previous routes keep serving"
    });
    assert_eq!(rejected["level"], "ERROR");
    assert_eq!(rejected["file"], volume.config_path().display().to_string());
    assert_eq!(rejected["line"], 3);
    let error = rejected["error"].as_str().unwrap();
    assert!(error.contains("config.yml:3:"), "{error}");
    assert!(error.contains("expected a string"), "{error}");

    assert_eq!(
        server.get("/route2").body,
        "Hello, You are at /route2, Got: route2's content"
    );
    let ready = server.get("/readyz");
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["last_reload_failed"], true);
    let metrics = server.get("/metrics").body;
    assert!(metrics.contains("multiroute_config_reloads_total{result=\"failure\"} 1\n"));
    assert!(metrics.contains("multiroute_config_last_reload_successful 0\n"));

    // Fixing the file recovers; the bad version was reported exactly once meanwhile.
    volume.update(CONFIG_V2);
    eventually("/route3 to be served", || {
        Some(server.get("/route3")).filter(|response| response.status == 200)
    });
    assert_eq!(
        server
            .logs
            .count(|line| line["message"] == "config rejected; the previous routes keep serving"),
        1
    );
    assert_eq!(server.get("/readyz").json()["last_reload_failed"], false);
}

#[test]
fn sighup_reloads_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = config_file(dir.path(), CONFIG_V1);
    // Polling off: only the signal can cause the reload.
    let server = Launch::new(&path)
        .args(&["--reload-interval", "0s"])
        .start();

    std::fs::write(&path, CONFIG_V2).unwrap();
    server.signal("HUP");

    let reloaded = server
        .logs
        .wait_for("a reload", |line| line["message"] == "config reloaded");
    assert_eq!(reloaded["trigger"], "SIGHUP");
    assert_eq!(server.get("/route3").status, 200);
    assert_eq!(server.get("/route2").status, 404);
}

#[test]
fn sighup_with_an_invalid_config_keeps_the_routes() {
    let dir = tempfile::tempdir().unwrap();
    let path = config_file(dir.path(), CONFIG_V1);
    let server = Launch::new(&path)
        .args(&["--reload-interval", "0s"])
        .start();

    std::fs::write(&path, "routes:\n  route9: \"no leading slash\"\n").unwrap();
    server.signal("HUP");

    let rejected = server.logs.wait_for("a rejected config", |line| {
        line["message"] == "config rejected; the previous routes keep serving"
    });
    assert_eq!(rejected["trigger"], "SIGHUP");
    assert_eq!(rejected["line"], 2);
    assert!(
        rejected["error"]
            .as_str()
            .unwrap()
            .contains("route `route9` must start with `/`")
    );
    assert_eq!(server.get("/route1").status, 200);
    assert_eq!(server.get("/route9").status, 404);
}
