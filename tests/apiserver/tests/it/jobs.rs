//! Jobs and Pods that run to completion, for hooks and `rchart test`: the
//! Job's Pod, both driven to success or failure by a rule, container logs,
//! and garbage collection of a Job's Pods.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use kube::runtime::wait::{await_condition, conditions};
use rchart_test_apiserver::{Readiness, ReadinessRule, Run, RunRule, TestApiServer};
use serde_json::{Value, json};

use crate::kube_client::client;
use crate::support::{Client, PATIENCE, eventually, item_names};

const JOBS: &str = "/apis/batch/v1/namespaces/default/jobs";
const PODS: &str = "/api/v1/namespaces/default/pods";

fn job(name: &str) -> Value {
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}
            }
        }
    })
}

fn bare_pod(name: &str, containers: &[&str], restart_policy: &str) -> Value {
    let containers: Vec<Value> = containers
        .iter()
        .map(|c| json!({"name": c, "image": "busybox"}))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"restartPolicy": restart_policy, "containers": containers}
    })
}

fn condition_types(object: &Value) -> Vec<String> {
    object["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The Job once it has a terminal condition.
fn finished(server: &TestApiServer, name: &str) -> Value {
    let last = std::cell::RefCell::new(None);
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        eventually("the job to finish", || {
            let job = server.get("jobs", "default", name)?;
            *last.borrow_mut() = Some(job.clone());
            let types = condition_types(&job);
            (types.contains(&"Complete".to_string()) || types.contains(&"Failed".to_string()))
                .then_some(job)
        })
    }));
    found.unwrap_or_else(|_| {
        panic!(
            "job {name} never finished; last seen: {:#}\npods: {:#}",
            last.borrow().clone().unwrap_or_default(),
            Value::from(server.list("pods", Some("default")))
        )
    })
}

/// The Job's one Pod, found as clients find it: by the controller-uid label.
fn pod_of(client: &Client, job: &Value) -> Value {
    let uid = job["metadata"]["uid"].as_str().unwrap();
    let pods = client
        .get(&format!(
            "{PODS}?labelSelector=batch.kubernetes.io%2Fcontroller-uid%3D{uid}"
        ))
        .body;
    assert_eq!(item_names(&pods).len(), 1, "{pods}");
    pods["items"][0].clone()
}

#[test]
fn a_job_runs_one_pod_to_success() {
    let server = TestApiServer::start().unwrap();
    let client = Client::new(&server);
    let watch = client.watch(&format!(
        "{JOBS}?watch=true&resourceVersion={}",
        server.resource_version()
    ));
    client.post(JOBS, &job("migrate"));
    let mut seen = Vec::new();
    while !seen.contains(&"Complete".to_string()) {
        let event = watch.next_change();
        let types = condition_types(&event["object"]);
        if seen.last() != types.last() {
            seen.extend(types.last().cloned());
        }
    }
    assert_eq!(seen, ["SuccessCriteriaMet", "Complete"], "one at a time");

    let job = finished(&server, "migrate");
    let status = &job["status"];
    assert_eq!(
        (&status["succeeded"], &status["active"]),
        (&json!(1), &Value::Null)
    );
    assert!(status["startTime"].is_string() && status["completionTime"].is_string());
    assert_eq!(status["conditions"][1]["reason"], "CompletionsReached");

    let pod = pod_of(&client, &job);
    let uid = job["metadata"]["uid"].as_str().unwrap();
    let labels = &pod["metadata"]["labels"];
    for (label, value) in [
        ("batch.kubernetes.io/controller-uid", uid),
        ("batch.kubernetes.io/job-name", "migrate"),
        ("controller-uid", uid),
        ("job-name", "migrate"),
        ("app", "migrate"),
    ] {
        assert_eq!(labels[label], value, "{label}");
    }
    assert_eq!(
        pod["metadata"]["ownerReferences"],
        json!([{"apiVersion": "batch/v1", "kind": "Job", "name": "migrate", "uid": uid, "controller": true, "blockOwnerDeletion": true}])
    );
    assert!(
        pod["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("migrate-")
    );
    assert_eq!(pod["spec"]["nodeName"], "node-1");
    assert_eq!(pod["status"]["phase"], "Succeeded");
    assert_eq!(
        pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
        0
    );
}

#[test]
fn a_failing_job_reports_backoff_limit_exceeded_and_keeps_its_log() {
    let log = "connecting\nmigrating users\nerror: relation \"users\" already exists\n";
    let server = TestApiServer::builder()
        .run(RunRule::job("migrate", Run::failing().log(log)))
        .start()
        .unwrap();
    let client = Client::new(&server);
    client.post(JOBS, &job("migrate"));
    let job = finished(&server, "migrate");
    assert_eq!(condition_types(&job), ["FailureTarget", "Failed"]);
    assert_eq!(
        job["status"]["conditions"][1]["reason"],
        "BackoffLimitExceeded"
    );
    assert_eq!(job["status"]["failed"], 1);
    assert!(job["status"].get("completionTime").is_none());

    let pod = pod_of(&client, &job);
    assert_eq!(pod["status"]["phase"], "Failed");
    let name = pod["metadata"]["name"].as_str().unwrap();
    let logs = client.get(&format!("{PODS}/{name}/log"));
    assert_eq!(
        (logs.status, logs.content_type.as_str()),
        (200, "text/plain")
    );
    assert_eq!(logs.text, log);
    let tail = client.get(&format!("{PODS}/{name}/log?container=main&tailLines=1"));
    assert_eq!(tail.text, "error: relation \"users\" already exists\n");
    let previous = client.get(&format!("{PODS}/{name}/log?previous=true"));
    assert_eq!(
        (previous.status, previous.body["message"].as_str()),
        (
            400,
            Some(
                format!("previous terminated container \"main\" in pod \"{name}\" not found")
                    .as_str()
            )
        )
    );
    let stamped = client.get(&format!("{PODS}/{name}/log?timestamps=true&tailLines=1"));
    let (time, line) = stamped.text.split_once(' ').unwrap();
    assert!(humantime::parse_rfc3339(time).is_ok(), "{time}");
    assert_eq!(line, "error: relation \"users\" already exists\n");
}

#[test]
fn a_held_run_ends_when_the_test_finishes_it() {
    let server = TestApiServer::builder()
        .run(RunRule::job("slow", Run::succeeding().held()))
        .start()
        .unwrap();
    let client = Client::new(&server);
    client.post(JOBS, &job("slow"));
    let job = eventually("the job's pod to run", || {
        let job = server.get("jobs", "default", "slow")?;
        (job["status"]["ready"] == 1).then_some(job)
    });
    assert_eq!(pod_of(&client, &job)["status"]["phase"], "Running");
    assert!(condition_types(&job).is_empty(), "held: not finished");
    assert!(
        server.finish_run("Job", "default", "slow"),
        "it was waiting"
    );
    assert_eq!(
        condition_types(&finished(&server, "slow")),
        ["SuccessCriteriaMet", "Complete"]
    );
}

#[test]
fn bare_pods_that_run_to_completion_end_as_the_rule_says() {
    let server = TestApiServer::builder()
        .run(RunRule::pod(
            "*-test",
            Run::failing()
                .after(Duration::from_millis(20))
                .log("FAIL: no route\n"),
        ))
        .start()
        .unwrap();
    let client = Client::new(&server);
    client.post(PODS, &bare_pod("web-test", &["check", "sidecar"], "Never"));
    client.post(PODS, &bare_pod("smoke", &["check"], "OnFailure"));
    let phase = |name: &str| {
        eventually("the pod to end", || {
            let pod = server.get("pods", "default", name)?;
            let phase = pod["status"]["phase"].as_str()?.to_string();
            matches!(phase.as_str(), "Succeeded" | "Failed").then_some(phase)
        })
    };
    assert_eq!(phase("web-test"), "Failed");
    assert_eq!(
        phase("smoke"),
        "Succeeded",
        "readiness decides without a rule"
    );

    let unnamed = client.get(&format!("{PODS}/web-test/log"));
    assert_eq!(
        (unnamed.status, unnamed.body["message"].as_str()),
        (
            400,
            Some(
                "a container name must be specified for pod web-test, choose one of: [check sidecar]"
            )
        )
    );
    assert_eq!(
        client
            .get(&format!("{PODS}/web-test/log?container=check"))
            .text,
        "FAIL: no route\n"
    );
    assert_eq!(
        client
            .get(&format!("{PODS}/web-test/log?container=sidecar"))
            .text,
        ""
    );
    let bogus = client.get(&format!("{PODS}/web-test/log?container=bogus"));
    assert_eq!(
        (bogus.status, bogus.body["message"].as_str()),
        (400, Some("container bogus is not valid for pod web-test"))
    );
    let missing = client.get(&format!("{PODS}/gone/log"));
    assert_eq!(
        (missing.status, missing.body["message"].as_str()),
        (404, Some("pods \"gone\" not found"))
    );
}

#[test]
fn logs_of_a_pod_whose_container_has_not_started_are_refused() {
    let server = TestApiServer::builder()
        .readiness(ReadinessRule::named("Pod", "stuck", Readiness::Never))
        .start()
        .unwrap();
    let client = Client::new(&server);
    client.post(PODS, &bare_pod("stuck", &["main"], "Always"));
    // A new Pod is `Pending` from its creation on; the kubelet's first status, after
    // the Pod is bound to the node, has the container waiting.
    eventually("the kubelet to report the pod", || {
        server
            .get("pods", "default", "stuck")?
            .pointer("/status/containerStatuses/0/state/waiting")
            .map(|_| ())
    });
    let waiting = client.get(&format!("{PODS}/stuck/log"));
    assert_eq!(
        (waiting.status, waiting.body["message"].as_str()),
        (
            400,
            Some("container \"main\" in pod \"stuck\" is waiting to start: ContainerCreating")
        )
    );
    server.pause_controller();
    client.post(PODS, &bare_pod("unscheduled", &["main"], "Never"));
    let nothing = client.get(&format!("{PODS}/unscheduled/log"));
    assert_eq!(
        (nothing.status, nothing.text.as_str()),
        (200, ""),
        "no node, no kubelet to ask"
    );
}

#[test]
fn deleting_a_job_deletes_or_orphans_its_pods() {
    let server = TestApiServer::start().unwrap();
    let client = Client::new(&server);
    for name in ["background", "foreground", "orphaned"] {
        client.post(JOBS, &job(name));
    }
    let pods: Vec<String> = ["background", "foreground", "orphaned"]
        .iter()
        .map(|name| {
            let job = finished(&server, name);
            pod_of(&client, &job)["metadata"]["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();

    let background = client.delete(&format!("{JOBS}/background?propagationPolicy=Background"));
    assert_eq!(background.status, 200);
    assert!(background.header("warning").is_none());
    assert!(server.get("pods", "default", &pods[0]).is_none());

    let foreground = client.delete_with(
        &format!("{JOBS}/foreground"),
        &json!({"propagationPolicy": "Foreground"}),
    );
    assert_eq!(
        foreground.body["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );
    assert!(server.get("pods", "default", &pods[1]).is_none());
    assert!(server.get("jobs", "default", "foreground").is_none());

    let orphaning = client.delete(&format!("{JOBS}/orphaned"));
    assert_eq!(
        orphaning.header("warning"),
        Some(
            "299 - \"child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning\""
        )
    );
    assert_eq!(orphaning.body["metadata"]["finalizers"], json!(["orphan"]));
    let orphan = server
        .get("pods", "default", &pods[2])
        .expect("the pod stays");
    assert!(orphan["metadata"].get("ownerReferences").is_none());
}

#[tokio::test]
async fn kube_waits_for_jobs_and_reads_pod_logs() {
    let server = TestApiServer::builder()
        .run(RunRule::job(
            "report",
            Run::succeeding().log("1 of 3\n2 of 3\n3 of 3\n"),
        ))
        .start()
        .unwrap();
    let client = client(server.kubeconfig_path()).await;
    let jobs: Api<Job> = Api::default_namespaced(client.clone());
    jobs.create(
        &Default::default(),
        &serde_json::from_value(job("report")).unwrap(),
    )
    .await
    .unwrap();
    tokio::time::timeout(
        PATIENCE,
        await_condition(jobs, "report", conditions::is_job_completed()),
    )
    .await
    .expect("completed in time")
    .unwrap();
    let pods: Api<Pod> = Api::default_namespaced(client);
    let listed = pods
        .list(&kube::api::ListParams::default().labels("job-name=report"))
        .await
        .unwrap();
    let name = listed.items[0].metadata.name.clone().unwrap();
    let tail = pods
        .logs(
            &name,
            &LogParams {
                tail_lines: Some(2),
                ..LogParams::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(tail, "2 of 3\n3 of 3\n");
}

#[test]
fn runs_are_controlled_over_http() {
    let server = TestApiServer::start().unwrap();
    let client = Client::new(&server);
    let rule = json!({"resource": "Job", "name": "wait-*", "run": {"outcome": "fail", "when": "held", "log": "bye\n"}});
    assert_eq!(client.post("/__test/runs/rules", &rule).status, 201);
    assert_eq!(
        client.get("/__test/readiness").body["runs"][0]["run"],
        rule["run"]
    );
    client.post(JOBS, &job("wait-here"));
    eventually("the pod to run", || {
        (server.get("jobs", "default", "wait-here")?["status"]["ready"] == 1).then_some(())
    });
    let finished_over_http = client.post(
        "/__test/runs/finish?resource=jobs&namespace=default&name=wait-here",
        &json!({}),
    );
    assert_eq!(finished_over_http.body, json!({"waiting": true}));
    assert_eq!(
        condition_types(&finished(&server, "wait-here")),
        ["FailureTarget", "Failed"]
    );
}
