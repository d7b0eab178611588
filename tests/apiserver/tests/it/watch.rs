//! Watch streams.

use std::time::Duration;

use rchart_test_apiserver::TestApiServer;
use serde_json::json;

use crate::support::{Client, config_map, event_summary, labelled_config_map};

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

fn summary(kind: &str, name: &str) -> (String, String) {
    (kind.to_string(), name.to_string())
}

#[test]
fn changes_after_the_listed_version_arrive_in_order() {
    let server = TestApiServer::start().unwrap();
    let client = Client::new(&server);
    client.post(CONFIGMAPS, &config_map("before", json!({})));
    let version = client.get(CONFIGMAPS).body["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let watch = client.watch(&format!(
        "{CONFIGMAPS}?watch=true&resourceVersion={version}"
    ));

    client.post(CONFIGMAPS, &config_map("w", json!({"a": "1"})));
    client.patch(
        &format!("{CONFIGMAPS}/w"),
        "application/merge-patch+json",
        r#"{"data":{"a":"2"}}"#,
    );
    client.delete(&format!("{CONFIGMAPS}/w"));

    let added = watch.next_change();
    assert_eq!(event_summary(&added), summary("ADDED", "w"));
    assert_eq!(
        added["object"]["kind"], "ConfigMap",
        "watch objects carry their kind"
    );
    let modified = watch.next_change();
    assert_eq!(event_summary(&modified), summary("MODIFIED", "w"));
    assert_eq!(modified["object"]["data"]["a"], "2");
    let deleted = watch.next_change();
    assert_eq!(event_summary(&deleted), summary("DELETED", "w"));
    let versions: Vec<u64> = [&added, &modified, &deleted]
        .iter()
        .map(|e| {
            e["object"]["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(
        versions.windows(2).all(|pair| pair[0] < pair[1]),
        "{versions:?}"
    );
}

#[test]
fn watching_from_zero_starts_with_every_current_object() {
    let server = TestApiServer::start().unwrap();
    let client = Client::new(&server);
    client.post(CONFIGMAPS, &labelled_config_map("one", json!({"set": "a"})));
    client.post(CONFIGMAPS, &labelled_config_map("two", json!({"set": "a"})));
    let watch = client.watch(&format!(
        "{CONFIGMAPS}?watch=1&resourceVersion=0&labelSelector=set%3Da"
    ));
    assert_eq!(event_summary(&watch.next_change()), summary("ADDED", "one"));
    assert_eq!(event_summary(&watch.next_change()), summary("ADDED", "two"));
}

#[test]
fn selectors_filter_and_report_objects_leaving_them() {
    let server = TestApiServer::start().unwrap();
    let client = Client::new(&server);
    let version = server.resource_version();
    let watch = client.watch(&format!(
        "{CONFIGMAPS}?watch=true&resourceVersion={version}&labelSelector=app%3Dweb"
    ));
    client.post(
        CONFIGMAPS,
        &labelled_config_map("other", json!({"app": "api"})),
    );
    client.post(
        CONFIGMAPS,
        &labelled_config_map("web", json!({"app": "web"})),
    );
    client.patch(
        &format!("{CONFIGMAPS}/web"),
        "application/merge-patch+json",
        r#"{"metadata":{"labels":{"app":"api"}}}"#,
    );
    client.patch(
        &format!("{CONFIGMAPS}/other"),
        "application/merge-patch+json",
        r#"{"metadata":{"labels":{"app":"web"}}}"#,
    );
    assert_eq!(event_summary(&watch.next_change()), summary("ADDED", "web"));
    assert_eq!(
        event_summary(&watch.next_change()),
        summary("DELETED", "web"),
        "relabelled out of the selector"
    );
    assert_eq!(
        event_summary(&watch.next_change()),
        summary("ADDED", "other"),
        "relabelled into the selector"
    );

    let by_name = client.watch(&format!(
        "{CONFIGMAPS}?watch=true&resourceVersion={}&fieldSelector=metadata.name%3Dpicked",
        server.resource_version()
    ));
    client.post(CONFIGMAPS, &config_map("ignored", json!({})));
    client.post(CONFIGMAPS, &config_map("picked", json!({})));
    assert_eq!(
        event_summary(&by_name.next_change()),
        summary("ADDED", "picked")
    );
}

#[test]
fn watches_end_after_their_timeout() {
    let server = TestApiServer::start().unwrap();
    let client = Client::new(&server);
    let watch = client.watch(&format!(
        "{CONFIGMAPS}?watch=true&resourceVersion={}&timeoutSeconds=1",
        server.resource_version()
    ));
    assert!(
        watch.ends_within(Duration::from_secs(15)),
        "the server closes the stream"
    );
}

#[test]
fn bookmarks_and_initial_events_end() {
    let server = TestApiServer::builder()
        .bookmark_interval(Duration::from_millis(100))
        .start()
        .unwrap();
    let client = Client::new(&server);
    client.post(CONFIGMAPS, &config_map("present", json!({})));
    let watch = client.watch(&format!(
        "{CONFIGMAPS}?watch=true&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion="
    ));
    let mut initial = Vec::new();
    let end = loop {
        let event = watch.next();
        if event["type"] == "BOOKMARK" {
            break event;
        }
        initial.push(event_summary(&event).1);
    };
    assert!(initial.contains(&"present".to_string()), "{initial:?}");
    assert_eq!(
        end["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert_eq!(end["object"]["kind"], "ConfigMap");

    let periodic = watch.next();
    assert_eq!(periodic["type"], "BOOKMARK");
    assert!(
        periodic["object"]["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
}

#[test]
fn resuming_from_a_version_older_than_the_history_is_expired() {
    let server = TestApiServer::builder().watch_history(5).start().unwrap();
    let client = Client::new(&server);
    let old = server.resource_version();
    for n in 0..10 {
        client.post(CONFIGMAPS, &config_map(&format!("c{n}"), json!({})));
    }
    let watch = client.watch(&format!("{CONFIGMAPS}?watch=true&resourceVersion={old}"));
    let error = watch.next();
    assert_eq!(error["type"], "ERROR");
    assert_eq!(error["object"]["code"], 410);
    assert_eq!(error["object"]["reason"], "Expired");
    assert!(watch.ends_within(Duration::from_secs(5)));
}
