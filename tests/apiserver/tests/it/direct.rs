//! Writes a test makes as `test-setup`: moving a Lease in time, setting
//! status and conditions as of a time, and damaging stored state. Each is a
//! normal write: a new resourceVersion, an event for watchers, managedFields.

use std::time::{Duration, SystemTime};

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use rchart_test_apiserver::{Condition, TEST_MANAGER, TestApiServer, TimeShift};
use serde_json::{Value, json};

use crate::kube_client::client;
use crate::support::{Client, deployment, eventually, server};

const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
const SECRETS: &str = "/api/v1/namespaces/default/secrets";

fn managers(object: &Value) -> Vec<(String, Option<String>)> {
    object["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["manager"].as_str().unwrap().to_string(),
                entry["subresource"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn micro_time(time: SystemTime) -> String {
    humantime::format_rfc3339_micros(time).to_string()
}

fn lease(renewed: SystemTime) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "lock"},
        "spec": {
            "holderIdentity": "host-a",
            "leaseDurationSeconds": 30,
            "acquireTime": micro_time(renewed),
            "renewTime": micro_time(renewed),
        }
    })
}

#[tokio::test]
async fn a_lease_moved_into_the_past_is_another_clients_write() {
    let (server, client) = server();
    let renewed = SystemTime::now();
    let created = client.post(&format!("{LEASES}?fieldManager=rchart"), &lease(renewed));
    let watch = client.watch(&format!(
        "{LEASES}?watch=true&resourceVersion={}",
        server.resource_version()
    ));

    let shifted = server
        .shift_lease(
            "default",
            "lock",
            TimeShift::Earlier(Duration::from_secs(60)),
        )
        .unwrap();
    let expected = micro_time(renewed - Duration::from_secs(60));
    assert_eq!(shifted["spec"]["renewTime"], expected);
    assert_eq!(shifted["spec"]["acquireTime"], expected);
    assert_ne!(
        shifted["metadata"]["resourceVersion"],
        created.body["metadata"]["resourceVersion"]
    );
    let event = watch.next_change();
    assert_eq!(
        (&event["type"], &event["object"]["spec"]["renewTime"]),
        (&json!("MODIFIED"), &json!(expected))
    );
    assert_eq!(
        managers(&shifted),
        [("rchart".into(), None), (TEST_MANAGER.into(), None)]
    );

    let later = server
        .shift_lease("default", "lock", TimeShift::Later(Duration::from_secs(90)))
        .unwrap();
    assert_eq!(
        later["spec"]["renewTime"],
        micro_time(renewed + Duration::from_secs(30))
    );
    // The shape clients decode: k8s-openapi reads the MicroTime back.
    let leases: Api<Lease> = Api::default_namespaced(client_for(&server).await);
    let read = leases.get("lock").await.unwrap();
    assert_eq!(
        read.spec.unwrap().holder_identity.as_deref(),
        Some("host-a")
    );
}

async fn client_for(server: &TestApiServer) -> kube::Client {
    client(server.kubeconfig_path()).await
}

#[test]
fn conditions_are_set_as_of_a_given_time_through_the_status_subresource() {
    let (server, client) = server();
    client.post(
        "/apis/apps/v1/namespaces/default/deployments",
        &deployment("web", 1, "nginx:1"),
    );
    eventually("ready", || {
        let web = server.get("deployments", "default", "web")?;
        (web["status"]["availableReplicas"] == 1).then_some(())
    });
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let condition = Condition::new("Progressing", "False")
        .reason("ProgressDeadlineExceeded")
        .message("ReplicaSet \"web-1\" has timed out progressing.")
        .at(an_hour_ago);
    let web = server
        .set_condition("deployments", "default", "web", condition)
        .unwrap();
    let conditions = web["status"]["conditions"].as_array().unwrap();
    let progressing = conditions
        .iter()
        .find(|c| c["type"] == "Progressing")
        .unwrap();
    let hour_ago = humantime::format_rfc3339_seconds(an_hour_ago).to_string();
    assert_eq!(
        progressing,
        &json!({"type": "Progressing", "status": "False", "lastUpdateTime": hour_ago,
            "lastTransitionTime": hour_ago, "reason": "ProgressDeadlineExceeded",
            "message": "ReplicaSet \"web-1\" has timed out progressing."})
    );
    assert!(
        conditions.iter().any(|c| c["type"] == "Available"),
        "others stay"
    );
    assert!(managers(&web).contains(&(TEST_MANAGER.into(), Some("status".into()))));
}

#[test]
fn status_is_replaced_whole() {
    let (server, client) = server();
    server.pause_controller();
    client.post(
        "/apis/apps/v1/namespaces/default/deployments",
        &deployment("web", 2, "nginx:1"),
    );
    let status = json!({"observedGeneration": 1, "replicas": 2, "readyReplicas": 1});
    let web = server
        .set_status("deploy", "default", "web", status.clone())
        .unwrap();
    assert_eq!(web["status"], status);
    assert_eq!(
        web["metadata"]["generation"], 1,
        "status writes keep the generation"
    );
}

#[test]
fn stored_state_can_be_damaged_within_what_the_server_accepts() {
    let (server, client) = server();
    let secret = |name: &str, data: Value| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "labels": {"owner": "rchart"}}, "data": data});
    client.post(
        SECRETS,
        &secret("record", json!({"release": "SDRzSUFBQUFBQUFBLw=="})),
    );
    client.post(SECRETS, &secret("record.chunk-2", json!({"part": "AAAA"})));

    let garbled = server
        .replace(secret("record", json!({"release": "bm90IGd6aXA="})))
        .unwrap();
    assert_eq!(garbled["data"]["release"], "bm90IGd6aXA=");
    assert_eq!(
        client.get(&format!("{SECRETS}/record")).body["data"]["release"],
        "bm90IGd6aXA="
    );
    let refused = server
        .replace(secret("record", json!({"release": "%%% not base64"})))
        .unwrap_err();
    assert_eq!(refused.code, 400, "{refused}");

    server
        .delete("secrets", "default", "record.chunk-2")
        .unwrap();
    assert_eq!(client.get(&format!("{SECRETS}/record.chunk-2")).status, 404);
    let missing = server
        .delete("secrets", "default", "record.chunk-2")
        .unwrap_err();
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
}

#[test]
fn direct_writes_work_over_http() {
    let server = TestApiServer::start().unwrap();
    let client = Client::new(&server);
    let renewed = SystemTime::now();
    client.post(LEASES, &lease(renewed));
    let shifted = client.post(
        "/__test/leases/shift?namespace=default&name=lock",
        &json!({"ms": -5000}),
    );
    assert_eq!(
        shifted.body["spec"]["renewTime"],
        micro_time(renewed - Duration::from_secs(5))
    );
    server.pause_controller();
    client.post(
        "/apis/apps/v1/namespaces/default/deployments",
        &deployment("web", 1, "nginx:1"),
    );
    let status = client.put(
        "/__test/status?resource=deployments&name=web",
        &json!({"replicas": 1}),
    );
    assert_eq!(status.body["status"], json!({"replicas": 1}));
    let condition = json!({"type": "Available", "status": "True", "time": "2026-01-02T03:04:05Z"});
    let with_condition = client.post(
        "/__test/conditions?resource=deployments&namespace=default&name=web",
        &condition,
    );
    assert_eq!(
        with_condition.body["status"]["conditions"][0],
        json!({"type": "Available", "status": "True", "lastUpdateTime": "2026-01-02T03:04:05Z", "lastTransitionTime": "2026-01-02T03:04:05Z"})
    );
    let replaced = client.put(
        "/__test/objects",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new"}, "data": {"a": "b"}}),
    );
    assert_eq!(
        (replaced.status, replaced.body["reason"].as_str()),
        (404, Some("NotFound"))
    );
    let deleted = client.delete("/__test/objects?resource=leases&namespace=default&name=lock");
    assert_eq!(deleted.status, 200);
    assert_eq!(client.get(&format!("{LEASES}/lock")).status, 404);
}
