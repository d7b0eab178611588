//! Failure injection through the Rust API and the HTTP controls.

use std::time::{Duration, Instant};

use rchart_test_apiserver::{Fault, FaultAction, Injected, Operation, RequestMatch};
use serde_json::json;

use crate::support::{config_map, event_summary, last_request, server};

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

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

#[test]
fn failures_after_commit_apply_the_write_and_then_answer_5xx() {
    let (server, client) = server();
    let before = server.resource_version();
    let watch = client.watch(&format!("{CONFIGMAPS}?watch=true&resourceVersion={before}"));
    server.add_fault(Fault::new(
        RequestMatch::of(Operation::Create).resource("configmaps"),
        FaultAction::timeout().after_commit(),
    ));
    let timed_out = client.post(CONFIGMAPS, &config_map("committed", json!({"k": "v"})));
    assert_eq!(
        timed_out.body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Timeout: request did not complete within requested timeout - context deadline exceeded",
            "reason": "Timeout", "details": {}, "code": 504})
    );
    assert_eq!(timed_out.status, 504);
    assert_eq!(
        event_summary(&watch.next_change()),
        ("ADDED".into(), "committed".into())
    );
    assert!(server.resource_version() > before);
    assert_eq!(
        client.get(&format!("{CONFIGMAPS}/committed")).body["data"]["k"],
        "v"
    );
    let logged = last_request(&server, "POST");
    assert_eq!((logged.status, logged.handled), (Some(504), Some(201)));
    assert_eq!(logged.injected, [Injected::Failed]);
}

#[test]
fn connections_dropped_after_commit_leave_the_write_applied() {
    let (server, client) = server();
    client.post(CONFIGMAPS, &config_map("settings", json!({"mode": "a"})));
    server.add_fault(Fault::drop_connection("/configmaps/settings").after_commit());
    let dropped = client.try_send(
        "PATCH",
        &format!("{CONFIGMAPS}/settings"),
        Some("application/merge-patch+json"),
        Some(r#"{"data":{"mode":"b"}}"#.into()),
    );
    assert!(dropped.is_err(), "no answer: {dropped:?}");
    assert_eq!(
        client.get(&format!("{CONFIGMAPS}/settings")).body["data"]["mode"],
        "b"
    );
    let patch = last_request(&server, "PATCH");
    assert_eq!((patch.status, patch.handled), (None, Some(200)));
    assert_eq!(patch.injected, [Injected::Dropped]);
}

#[test]
fn an_answer_held_after_commit_lets_the_test_see_the_write_first() {
    let (server, client) = server();
    server.add_fault(
        Fault::hold(
            "answers",
            RequestMatch::of(Operation::Create).resource("configmaps"),
        )
        .after_commit(),
    );
    let create = client.post_in_background(CONFIGMAPS, &config_map("early", json!({})));
    let gate = server.gate("answers");
    gate.wait_for(1);
    assert!(
        server.get("configmaps", "default", "early").is_some(),
        "committed before the answer"
    );
    gate.fail(1, FaultAction::etcd_request_timed_out());
    let answer = create.join().unwrap().unwrap();
    assert_eq!(
        answer.body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "etcdserver: request timed out", "code": 500})
    );
}

#[test]
fn quota_rejections_are_403_and_name_the_object() {
    let (server, client) = server();
    server.add_fault(Fault::quota_exceeded("configmaps", "object-counts", 5));
    let rejected = client.post(CONFIGMAPS, &config_map("one-too-many", json!({})));
    assert_eq!(rejected.status, 403);
    assert_eq!(
        rejected.body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "configmaps \"one-too-many\" is forbidden: exceeded quota: object-counts, requested: count/configmaps=1, used: count/configmaps=5, limited: count/configmaps=5",
            "reason": "Forbidden", "details": {"name": "one-too-many", "kind": "configmaps"}, "code": 403})
    );
    assert!(
        server
            .get("configmaps", "default", "one-too-many")
            .is_none()
    );
}

#[test]
fn webhook_denials_carry_the_webhook_name() {
    let (server, client) = server();
    server.add_fault(Fault::webhook_denies(
        "deployments",
        "policy.example.com",
        "image tag must not be latest",
    ));
    let denied = client.post(
        "/apis/apps/v1/namespaces/default/deployments",
        &crate::support::deployment("web", 1, "nginx:latest"),
    );
    assert_eq!(
        (denied.status, denied.body["reason"].as_str()),
        (403, Some("Forbidden"))
    );
    assert_eq!(
        denied.body["message"],
        "admission webhook \"policy.example.com\" denied the request: image tag must not be latest"
    );
}

#[test]
fn throttled_requests_get_the_plain_text_429_of_priority_and_fairness() {
    let (server, client) = server();
    server.add_fault(Fault::new(
        RequestMatch::default(),
        FaultAction::too_many_requests(),
    ));
    let throttled = client.get(CONFIGMAPS);
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.content_type, "text/plain; charset=utf-8");
    assert_eq!(
        throttled.text,
        "Too many requests, please try again later.\n"
    );
    assert_eq!(throttled.header("retry-after"), Some("1"));
    assert_eq!(throttled.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(client.get(CONFIGMAPS).status, 200, "one-shot");
}

#[test]
fn status_bodies_are_sent_as_given_with_retry_after() {
    let (server, client) = server();
    let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "storage is (re)initializing", "reason": "TooManyRequests",
        "details": {"retryAfterSeconds": 2}, "code": 429});
    server.add_fault(Fault::new(
        RequestMatch::default(),
        FaultAction::Status(status.clone()),
    ));
    let reply = client.get(CONFIGMAPS);
    assert_eq!(
        (reply.status, reply.header("retry-after")),
        (429, Some("2"))
    );
    assert_eq!(reply.body, status);
}
