//! A slow link: every answer comes later, as from a distant cluster.

use std::time::{Duration, Instant};

use rchart_test_apiserver::TestApiServer;
use serde_json::json;

use crate::support::{Client, config_map, event_summary};

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

#[test]
fn every_answer_comes_after_the_latency() {
    let latency = Duration::from_millis(200);
    let server = TestApiServer::builder().latency(latency).start().unwrap();
    let client = Client::new(&server);
    let started = Instant::now();
    assert_eq!(
        client.post(CONFIGMAPS, &config_map("a", json!({}))).status,
        201
    );
    assert!(started.elapsed() >= latency, "{:?}", started.elapsed());
    let started = Instant::now();
    assert_eq!(client.get("/api").status, 200);
    assert!(started.elapsed() >= latency, "{:?}", started.elapsed());
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn watches_get_the_latency_on_their_start_only() {
    let latency = Duration::from_millis(200);
    let server = TestApiServer::builder().latency(latency).start().unwrap();
    let client = Client::new(&server);
    let started = Instant::now();
    let from = server.resource_version();
    let watch = client.watch(&format!("{CONFIGMAPS}?watch=true&resourceVersion={from}"));
    assert!(started.elapsed() >= latency, "{:?}", started.elapsed());
    // Were events delayed by the latency, this one would not arrive in time.
    server.set_latency(Duration::from_secs(3600));
    server.create(config_map("later", json!({}))).unwrap();
    assert_eq!(
        event_summary(&watch.next_change()),
        ("ADDED".into(), "later".into())
    );
}

#[test]
fn the_latency_can_change_over_http() {
    let server = TestApiServer::start().unwrap();
    let client = Client::new(&server);
    assert_eq!(
        client.put("/__test/latency", &json!({"ms": 150})).status,
        204
    );
    assert_eq!(client.get("/__test/latency").body, json!({"ms": 150}));
    let started = Instant::now();
    client.get(CONFIGMAPS);
    assert!(started.elapsed() >= Duration::from_millis(150));
}
