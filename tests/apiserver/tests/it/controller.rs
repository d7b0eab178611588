//! The simulated controller: status after a delay, never, or failure.

use std::time::Duration;

use rchart_test_apiserver::{READINESS_ANNOTATION, Readiness, ReadinessRule, TestApiServer};
use serde_json::{Value, json};

use crate::support::{Client, deployment, eventually};

const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";

fn condition<'a>(object: &'a Value, kind: &str) -> Option<&'a Value> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn progressing_reason(object: &Value) -> Option<String> {
    condition(object, "Progressing")
        .and_then(|c| c["reason"].as_str())
        .map(str::to_string)
}

/// The Deployment `web` once `check` holds for it.
fn web_when(client: &Client, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    eventually(what, || {
        let object = client.get(&format!("{DEPLOYMENTS}/web")).body;
        check(&object).then_some(object)
    })
}

#[test]
fn deployments_become_ready_after_the_delay() {
    let server = TestApiServer::builder()
        .readiness(ReadinessRule::kind(
            "Deployment",
            Readiness::after(Duration::from_millis(300)),
        ))
        .start()
        .unwrap();
    let client = Client::new(&server);
    let watch = client.watch(&format!(
        "{DEPLOYMENTS}?watch=true&resourceVersion={}",
        server.resource_version()
    ));
    client.post(DEPLOYMENTS, &deployment("web", 3, "nginx:1"));

    let progressing = eventually("progressing status", || {
        let object = client.get(&format!("{DEPLOYMENTS}/web")).body;
        progressing_reason(&object).map(|_| object)
    });
    assert_eq!(
        progressing_reason(&progressing).as_deref(),
        Some("ReplicaSetUpdated")
    );
    assert_eq!(progressing["status"]["observedGeneration"], 1);
    assert_eq!(
        condition(&progressing, "Available").unwrap()["status"],
        "False"
    );

    let ready = eventually("ready status", || {
        let object = client.get(&format!("{DEPLOYMENTS}/web")).body;
        (progressing_reason(&object).as_deref() == Some("NewReplicaSetAvailable")).then_some(object)
    });
    let status = &ready["status"];
    assert_eq!(
        (
            status["replicas"].as_i64(),
            status["updatedReplicas"].as_i64()
        ),
        (Some(3), Some(3))
    );
    assert_eq!(
        (
            status["readyReplicas"].as_i64(),
            status["availableReplicas"].as_i64()
        ),
        (Some(3), Some(3))
    );
    assert_eq!(
        condition(&ready, "Available").unwrap()["reason"],
        "MinimumReplicasAvailable"
    );

    // Status changes reach watchers.
    let mut reasons = Vec::new();
    while reasons.last().map(String::as_str) != Some("NewReplicaSetAvailable") {
        let event = watch.next_change();
        reasons.extend(progressing_reason(&event["object"]));
    }
    assert_eq!(reasons, ["ReplicaSetUpdated", "NewReplicaSetAvailable"]);
}

#[test]
fn a_new_generation_rolls_out_again() {
    let server = TestApiServer::start().unwrap();
    let client = Client::new(&server);
    client.post(DEPLOYMENTS, &deployment("web", 1, "nginx:1"));
    web_when(&client, "first rollout", |object| {
        progressing_reason(object).as_deref() == Some("NewReplicaSetAvailable")
    });
    client.patch(
        &format!("{DEPLOYMENTS}/web"),
        "application/merge-patch+json",
        r#"{"spec":{"replicas":2}}"#,
    );
    let object = web_when(&client, "second rollout", |object| {
        object["status"]["observedGeneration"] == 2 && object["status"]["availableReplicas"] == 2
    });
    assert_eq!(
        progressing_reason(&object).as_deref(),
        Some("NewReplicaSetAvailable")
    );
}

#[test]
fn never_ready_stays_progressing_with_a_reason() {
    let server = TestApiServer::builder()
        .default_readiness(Readiness::Never)
        .start()
        .unwrap();
    let client = Client::new(&server);
    client.post(DEPLOYMENTS, &deployment("stuck", 1, "nginx:1"));
    eventually("progressing status", || {
        progressing_reason(&client.get(&format!("{DEPLOYMENTS}/stuck")).body)
    });
    std::thread::sleep(Duration::from_millis(300));
    let object = client.get(&format!("{DEPLOYMENTS}/stuck")).body;
    let progressing = condition(&object, "Progressing").unwrap();
    assert_eq!(progressing["reason"], "ReplicaSetUpdated");
    assert!(
        progressing["message"]
            .as_str()
            .unwrap()
            .ends_with("is progressing.")
    );
    assert_eq!(
        condition(&object, "Available").unwrap()["reason"],
        "MinimumReplicasUnavailable"
    );
    assert!(object["status"].get("availableReplicas").is_none());
}

#[test]
fn annotations_and_name_patterns_choose_per_object() {
    let server = TestApiServer::builder()
        .default_readiness(Readiness::Never)
        .start()
        .unwrap();
    server.add_readiness_rule(ReadinessRule::named(
        "deploy",
        "fast-*",
        Readiness::after(Duration::ZERO),
    ));
    let client = Client::new(&server);
    client.post(DEPLOYMENTS, &deployment("fast-1", 1, "nginx:1"));
    let mut failing = deployment("doomed", 1, "nginx:1");
    failing["metadata"]["annotations"] = json!({READINESS_ANNOTATION: "fail"});
    client.post(DEPLOYMENTS, &failing);

    eventually("fast-1 ready", || {
        (progressing_reason(&client.get(&format!("{DEPLOYMENTS}/fast-1")).body).as_deref()
            == Some("NewReplicaSetAvailable"))
        .then_some(())
    });
    let doomed = eventually("doomed failed", || {
        let object = client.get(&format!("{DEPLOYMENTS}/doomed")).body;
        (progressing_reason(&object).as_deref() == Some("ProgressDeadlineExceeded"))
            .then_some(object)
    });
    assert_eq!(
        condition(&doomed, "Progressing").unwrap()["status"],
        "False"
    );
}

#[test]
fn other_workloads_get_their_real_status_shapes() {
    let server = TestApiServer::start().unwrap();
    let client = Client::new(&server);
    let template = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}});
    let selector = json!({"matchLabels": {"app": "x"}});
    client.post(
        "/apis/apps/v1/namespaces/default/statefulsets",
        &json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {"replicas": 2, "serviceName": "db", "selector": selector, "template": template}}),
    );
    client.post(
        "/apis/apps/v1/namespaces/default/daemonsets",
        &json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"}, "spec": {"selector": selector, "template": template}}),
    );
    client.post(
        "/apis/batch/v1/namespaces/default/jobs",
        &json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1"}]}}}}),
    );
    client.post(
        "/api/v1/namespaces/default/persistentvolumeclaims",
        &json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
    );
    client.post(
        "/api/v1/namespaces/default/pods",
        &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "test"}, "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1"}]}}),
    );

    let sts = eventually("statefulset ready", || {
        let object = client
            .get("/apis/apps/v1/namespaces/default/statefulsets/db")
            .body;
        (object["status"]["readyReplicas"] == 2).then_some(object)
    });
    assert_eq!(
        sts["status"]["currentRevision"],
        sts["status"]["updateRevision"]
    );
    assert_eq!(sts["status"]["observedGeneration"], 1);

    let ds = eventually("daemonset ready", || {
        let object = client
            .get("/apis/apps/v1/namespaces/default/daemonsets/agent")
            .body;
        (object["status"]["numberReady"] == 1).then_some(object)
    });
    assert_eq!(
        ds["status"]["desiredNumberScheduled"],
        ds["status"]["numberAvailable"]
    );
    assert_eq!(ds["status"]["updatedNumberScheduled"], 1);

    // The Job controller counts the succeeded Pod before it writes `Complete`, in a
    // later status write: wait for the condition, the last of them.
    let job = eventually("job complete", || {
        let object = client
            .get("/apis/batch/v1/namespaces/default/jobs/migrate")
            .body;
        object["status"]["conditions"]
            .as_array()?
            .iter()
            .any(|c| c["type"] == "Complete" && c["status"] == "True")
            .then_some(object)
    });
    assert_eq!(job["status"]["succeeded"], 1, "{job}");

    eventually("pvc bound", || {
        (client
            .get("/api/v1/namespaces/default/persistentvolumeclaims/data")
            .body["status"]["phase"]
            == "Bound")
            .then_some(())
    });
    eventually("pod succeeded", || {
        (client.get("/api/v1/namespaces/default/pods/test").body["status"]["phase"] == "Succeeded")
            .then_some(())
    });
}

#[test]
fn failing_jobs_report_backoff_limit_exceeded() {
    let server = TestApiServer::builder()
        .readiness(ReadinessRule::kind(
            "Job",
            Readiness::failing_after(Duration::from_millis(50)),
        ))
        .start()
        .unwrap();
    let client = Client::new(&server);
    client.post(
        "/apis/batch/v1/namespaces/default/jobs",
        &json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "broken"}, "spec": {"backoffLimit": 1, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1"}]}}}}),
    );
    let job = eventually("job failed", || {
        let object = client
            .get("/apis/batch/v1/namespaces/default/jobs/broken")
            .body;
        object["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "Failed")
            .cloned()
    });
    assert_eq!(job["reason"], "BackoffLimitExceeded");
}

#[test]
fn paused_controllers_leave_status_stale_until_resumed() {
    let server = TestApiServer::start().unwrap();
    let client = Client::new(&server);
    client.post(DEPLOYMENTS, &deployment("web", 1, "nginx:1"));
    web_when(&client, "first rollout", |object| {
        object["status"]["availableReplicas"] == 1
    });

    server.pause_controller();
    let patched = client.patch(
        &format!("{DEPLOYMENTS}/web"),
        "application/merge-patch+json",
        r#"{"spec":{"replicas":2}}"#,
    );
    assert_eq!(patched.body["metadata"]["generation"], 2);
    client.patch(
        &format!("{DEPLOYMENTS}/web"),
        "application/merge-patch+json",
        r#"{"metadata":{"labels":{"touched":"yes"}}}"#,
    );
    let stale = client.get(&format!("{DEPLOYMENTS}/web")).body;
    assert_eq!(
        (
            &stale["metadata"]["generation"],
            &stale["status"]["observedGeneration"]
        ),
        (&json!(2), &json!(1)),
        "nothing is written while paused"
    );

    server.resume_controller();
    web_when(&client, "the held-back rollout", |object| {
        object["status"]["observedGeneration"] == 2 && object["status"]["availableReplicas"] == 2
    });
}

#[test]
fn lagging_controllers_write_status_after_the_lag() {
    let lag = Duration::from_millis(300);
    let server = TestApiServer::builder()
        .controller_lag(lag)
        .start()
        .unwrap();
    let client = Client::new(&server);
    let watch = client.watch(&format!(
        "{DEPLOYMENTS}?watch=true&resourceVersion={}",
        server.resource_version()
    ));
    let written = std::time::Instant::now();
    client.post(DEPLOYMENTS, &deployment("web", 1, "nginx:1"));
    assert_eq!(watch.next_change()["type"], "ADDED");
    let observed = watch.next_change();
    assert!(
        written.elapsed() >= lag,
        "status came {:?} after the write",
        written.elapsed()
    );
    assert_eq!(observed["object"]["status"]["observedGeneration"], 1);
}

#[test]
fn the_pace_can_change_over_http() {
    let server = TestApiServer::start().unwrap();
    let client = Client::new(&server);
    assert_eq!(
        client.get("/__test/controller").body,
        json!({"lag_ms": 0, "paused": false, "foreign_managers": false})
    );
    let changed = client.put("/__test/controller", &json!({"lag_ms": 50, "paused": true}));
    assert_eq!(
        changed.body,
        json!({"lag_ms": 50, "paused": true, "foreign_managers": false})
    );
    client.post(DEPLOYMENTS, &deployment("web", 1, "nginx:1"));
    assert!(
        client
            .get(&format!("{DEPLOYMENTS}/web"))
            .body
            .get("status")
            .is_none()
    );
    client.put("/__test/controller", &json!({"paused": false}));
    web_when(&client, "status after resuming", |object| {
        object["status"]["availableReplicas"] == 1
    });
}
