//! Failure injection through the Rust API and the HTTP controls.

use std::time::{Duration, Instant};

use rchart_test_apiserver::{Fault, TestApiServer};
use serde_json::json;

use crate::support::{Client, config_map};

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

fn server() -> (TestApiServer, Client) {
    let server = TestApiServer::start().expect("start server");
    let client = Client::new(&server);
    (server, client)
}

#[test]
fn the_nth_write_fails_with_the_given_status() {
    let (server, client) = server();
    server.add_fault(Fault::fail_nth_write(2, 503, "etcd is unavailable"));
    assert_eq!(client.get(CONFIGMAPS).status, 200, "reads are not counted");
    assert_eq!(
        client.post(CONFIGMAPS, &config_map("a", json!({}))).status,
        201
    );
    let failed = client.post(CONFIGMAPS, &config_map("b", json!({})));
    assert_eq!(failed.status, 503);
    assert_eq!(
        failed.body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "etcd is unavailable", "reason": "ServiceUnavailable", "code": 503})
    );
    assert_eq!(
        client.get(&format!("{CONFIGMAPS}/b")).status,
        404,
        "the failed write did nothing"
    );
    assert_eq!(
        client.post(CONFIGMAPS, &config_map("b", json!({}))).status,
        201,
        "one-shot faults fire once"
    );
}

#[test]
fn writes_to_a_named_object_fail_until_cleared() {
    let (server, client) = server();
    client.post(CONFIGMAPS, &config_map("locked", json!({})));
    server.add_fault(Fault::fail_writes_to("configmaps", "locked", 500, "boom").persistent());
    for _ in 0..2 {
        let reply = client.patch(
            &format!("{CONFIGMAPS}/locked"),
            "application/merge-patch+json",
            r#"{"data":{"a":"1"}}"#,
        );
        assert_eq!(
            (reply.status, reply.body["reason"].as_str()),
            (500, Some("InternalError"))
        );
    }
    assert_eq!(
        client
            .post(CONFIGMAPS, &config_map("other", json!({})))
            .status,
        201
    );
    server.clear_faults();
    assert_eq!(
        client
            .patch(
                &format!("{CONFIGMAPS}/locked"),
                "application/merge-patch+json",
                "{}"
            )
            .status,
        200
    );
}

#[test]
fn the_next_update_of_an_object_conflicts() {
    let (server, client) = server();
    client.post(CONFIGMAPS, &config_map("raced", json!({})));
    server.add_fault(Fault::conflict_on_next_update("ConfigMap", "raced"));
    let conflict = client.patch(
        &format!("{CONFIGMAPS}/raced"),
        "application/merge-patch+json",
        r#"{"data":{"a":"1"}}"#,
    );
    assert_eq!(conflict.status, 409);
    assert_eq!(
        conflict.body["message"],
        "Operation cannot be fulfilled on configmaps \"raced\": the object has been modified; please apply your changes to the latest version and try again"
    );
    assert_eq!(
        client
            .patch(
                &format!("{CONFIGMAPS}/raced"),
                "application/merge-patch+json",
                r#"{"data":{"a":"1"}}"#
            )
            .status,
        200
    );
}

#[test]
fn matching_requests_are_delayed() {
    let (server, client) = server();
    server.add_fault(Fault::delay(Some("/configmaps"), Duration::from_millis(300)).persistent());
    let started = Instant::now();
    assert_eq!(client.get(CONFIGMAPS).status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn dropped_connections_get_no_response() {
    let (server, client) = server();
    server.add_fault(Fault::drop_connection("/secrets"));
    let dropped = client.try_send("GET", "/api/v1/namespaces/default/secrets", None, None);
    assert!(
        dropped.is_err(),
        "expected a connection error, got {dropped:?}"
    );
    let last = server.requests().pop().unwrap();
    assert_eq!(
        (last.path.as_str(), last.status),
        ("/api/v1/namespaces/default/secrets", None)
    );
    assert_eq!(
        client.get("/api/v1/namespaces/default/secrets").status,
        200,
        "one-shot"
    );
}

#[test]
fn controls_work_over_http() {
    let (server, client) = server();
    let fault = json!({"when": {"operation": "create", "resource": "cm"}, "action": {"fail": {"code": 429, "message": "slow down"}}, "persistent": true});
    let added = client.post("/__test/faults", &fault);
    assert_eq!(added.status, 201);
    let id = added.body["id"].as_u64().unwrap();
    assert_eq!(client.get("/__test/faults").body[0]["id"], id);
    let limited = client.post(CONFIGMAPS, &config_map("x", json!({})));
    assert_eq!(
        (limited.status, limited.body["reason"].as_str()),
        (429, Some("TooManyRequests"))
    );
    assert_eq!(client.delete(&format!("/__test/faults/{id}")).status, 204);
    assert_eq!(
        client.post(CONFIGMAPS, &config_map("x", json!({}))).status,
        201
    );

    let log = client.get("/__test/requests").body;
    let paths: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, [CONFIGMAPS, CONFIGMAPS], "controls are not logged");
    assert_eq!(client.delete("/__test/requests").status, 204);
    assert!(server.requests().is_empty());

    let rule =
        json!({"resource": "Deployment", "name": "slow-*", "readiness": {"ready_after_ms": 5000}});
    assert_eq!(client.post("/__test/readiness/rules", &rule).status, 201);
    let settings = client.get("/__test/readiness").body;
    assert_eq!(
        settings["rules"][0]["readiness"],
        json!({"ready_after_ms": 5000})
    );
    assert_eq!(
        client
            .put(
                "/__test/readiness",
                &json!({"default": "never", "rules": []})
            )
            .body["default"],
        "never"
    );
    assert_eq!(client.delete("/__test/readiness").status, 204);

    let kubeconfig = client.get_text("/__test/kubeconfig?token=wrong&namespace=prod");
    assert!(kubeconfig.contains("namespace: \"prod\""), "{kubeconfig}");
    assert!(kubeconfig.contains(&server.url()), "{kubeconfig}");
}
