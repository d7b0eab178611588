//! Hold faults: requests wait at a gate until the test lets them go, so a
//! test orders events without sleeping.

use rchart_test_apiserver::{FaultAction, Injected, Operation, RequestMatch};
use serde_json::json;

use crate::support::{Client, config_map, event_summary, server};

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";
const MERGE: &str = "application/merge-patch+json";

#[test]
fn a_held_write_waits_until_released_while_other_requests_go_on() {
    let (server, client) = server();
    client.post(CONFIGMAPS, &config_map("settings", json!({"mode": "a"})));
    server.clear_requests();
    let gate = server.hold(RequestMatch::of(Operation::Update).name("settings"));

    let patch = client.send_in_background(
        "PATCH",
        &format!("{CONFIGMAPS}/settings"),
        Some(MERGE),
        Some(r#"{"data":{"mode":"b"}}"#.into()),
    );
    gate.wait_for(1);
    assert_eq!(
        client.get(&format!("{CONFIGMAPS}/settings")).body["data"]["mode"],
        "a"
    );
    let held = &server.requests()[0];
    assert_eq!(
        (held.method.as_str(), held.status, held.handled),
        ("PATCH", None, None)
    );
    assert_eq!(held.injected, [Injected::Held]);

    assert_eq!(gate.release_all(), 1);
    assert_eq!(patch.join().unwrap().unwrap().status, 200);
    assert_eq!(
        client.get(&format!("{CONFIGMAPS}/settings")).body["data"]["mode"],
        "b"
    );
    let log = server.requests();
    assert_eq!(
        log.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
        ["PATCH", "GET", "GET"],
        "the log keeps arrival order"
    );
    assert_eq!((log[0].status, log[0].handled), (Some(200), Some(200)));
}

#[test]
fn held_requests_leave_one_by_one_released_failed_or_dropped() {
    let (server, client) = server();
    let gate = server.hold(RequestMatch::of(Operation::Create).resource("configmaps"));
    let creates: Vec<_> = ["first", "second", "third"]
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let create = client.post_in_background(CONFIGMAPS, &config_map(name, json!({})));
            gate.wait_for(i + 1);
            create
        })
        .collect();
    let [first, second, third] = <[_; 3]>::try_from(creates).ok().unwrap();

    assert_eq!(gate.release(1), 1);
    assert_eq!(first.join().unwrap().unwrap().status, 201);
    assert_eq!(
        gate.fail(1, FaultAction::fail(503, "etcd is unavailable")),
        1
    );
    let failed = second.join().unwrap().unwrap();
    assert_eq!(
        (failed.status, failed.body["message"].as_str()),
        (503, Some("etcd is unavailable"))
    );
    assert_eq!(gate.drop_connections(1), 1);
    assert!(third.join().unwrap().is_err(), "no answer");

    assert!(server.get("configmaps", "default", "first").is_some());
    for never in ["second", "third"] {
        assert!(server.get("configmaps", "default", never).is_none());
    }
    let log = server.requests();
    let outcomes: Vec<_> = log
        .iter()
        .map(|r| (r.status, r.handled, r.injected.clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (Some(201), Some(201), vec![Injected::Held]),
            (Some(503), None, vec![Injected::Held, Injected::Failed]),
            (None, None, vec![Injected::Held, Injected::Dropped]),
        ]
    );
}

#[test]
fn a_held_watch_starts_when_released_and_misses_nothing() {
    let (server, client) = server();
    let gate = server.hold(RequestMatch::of(Operation::Watch).resource("configmaps"));
    let from = server.resource_version();
    let watcher = {
        let client = Client::new(&server);
        std::thread::spawn(move || {
            let watch = client.watch(&format!("{CONFIGMAPS}?watch=true&resourceVersion={from}"));
            event_summary(&watch.next_change())
        })
    };
    gate.wait_for(1);
    client.post(CONFIGMAPS, &config_map("while-held", json!({})));
    gate.release_all();
    assert_eq!(
        watcher.join().unwrap(),
        ("ADDED".to_string(), "while-held".to_string())
    );
}

#[test]
fn dropping_the_gate_removes_its_fault_and_lets_held_requests_go() {
    let (server, client) = server();
    let gate = server.hold(RequestMatch::default().path_contains("/configmaps"));
    let list = client.send_in_background("GET", CONFIGMAPS, None, None);
    gate.wait_for(1);
    assert_eq!(server.gate(gate.name()).held(), 1);
    drop(gate);
    assert_eq!(list.join().unwrap().unwrap().status, 200);
    assert!(server.faults().is_empty());
    assert_eq!(client.get(CONFIGMAPS).status, 200, "not held any more");
}

#[test]
fn gates_work_over_http() {
    let (server, client) = server();
    let fault = json!({"when": {"operation": "create"}, "action": {"hold": {"gate": "creates"}}, "times": 2});
    assert_eq!(client.post("/__test/faults", &fault).status, 201);
    let first = client.post_in_background(CONFIGMAPS, &config_map("a", json!({})));
    let waited = client.get("/__test/gates/creates?wait_for=1");
    assert_eq!(
        (waited.status, waited.body["held"].as_u64()),
        (200, Some(1))
    );
    let released = client.post(
        "/__test/gates/creates/release",
        &json!({"count": 1, "answer": FaultAction::timeout()}),
    );
    assert_eq!(released.body, json!({"released": 1}));
    let timed_out = first.join().unwrap().unwrap();
    assert_eq!(
        (timed_out.status, timed_out.body["reason"].as_str()),
        (504, Some("Timeout"))
    );

    let second = client.post_in_background(CONFIGMAPS, &config_map("b", json!({})));
    server.gate("creates").wait_for(1);
    assert_eq!(
        client
            .post("/__test/gates/creates/release", &json!({}))
            .body,
        json!({"released": 1})
    );
    assert_eq!(second.join().unwrap().unwrap().status, 201);
}
