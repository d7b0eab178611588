//! Waiting for readiness against the test API server, whose simulated controller makes
//! workloads ready after a delay, never, or fails them.

use std::collections::BTreeMap;
use std::time::Duration;

use rchart::cluster::wait::{WaitError, WaitTarget, wait_until_ready};
use rchart::cluster::{Cluster, ConnectOptions, connect};
use rchart::commands::progress::LineProgress;
use rchart::render::ResourceId;
use rchart_test_apiserver::{
    Fault, FaultAction, Operation, Readiness, ReadinessRule, RecordedRequest, RequestMatch,
    TestApiServer,
};
use serde_json::{Value, json};

const NAMESPACE: &str = "default";
/// Long enough never to be reached when things work, even on a loaded machine.
const GENEROUS: Duration = Duration::from_secs(20);
/// The label the test objects share, as a release's objects would.
const INSTANCE_LABEL: (&str, &str) = ("app.kubernetes.io/instance", "shop");

fn ready_after(millis: u64) -> Readiness {
    Readiness::after(Duration::from_millis(millis))
}

async fn cluster(server: &TestApiServer) -> Cluster {
    let options = ConnectOptions {
        kubeconfig: Some(server.kubeconfig_path()),
        context: None,
        namespace: None,
        concurrency: rchart::cluster::DEFAULT_CONCURRENCY,
    };
    connect(&options)
        .await
        .expect("the test kubeconfig is usable")
}

fn metadata(name: &str) -> Value {
    json!({"name": name, "namespace": NAMESPACE, "labels": {INSTANCE_LABEL.0: INSTANCE_LABEL.1}})
}

fn pod_template(name: &str, restart_policy: &str) -> Value {
    json!({
        "metadata": {"labels": {"app": name}},
        "spec": {"restartPolicy": restart_policy, "containers": [{"name": "app", "image": "nginx:1.27"}]},
    })
}

fn deployment(name: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata(name),
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": pod_template(name, "Always")},
    })
}

fn stateful_set(name: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": metadata(name),
        "spec": {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": {"app": name}},
                 "template": pod_template(name, "Always")},
    })
}

fn daemon_set(name: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": metadata(name),
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": pod_template(name, "Always")},
    })
}

fn job(name: &str) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": metadata(name),
        "spec": {"backoffLimit": 2, "template": pod_template(name, "Never")},
    })
}

fn claim(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata(name),
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    })
}

fn config_map(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(name), "data": {"mode": "test"}})
}

/// Creates the objects and answers targets for them, labelled as the objects are.
fn create_all(server: &TestApiServer, objects: &[Value]) -> Vec<WaitTarget> {
    objects
        .iter()
        .map(|object| {
            server
                .create(object.clone())
                .expect("the test object is valid");
            let text = |pointer: &str| {
                object
                    .pointer(pointer)
                    .and_then(Value::as_str)
                    .unwrap()
                    .to_string()
            };
            WaitTarget {
                id: ResourceId {
                    api_version: text("/apiVersion"),
                    kind: text("/kind"),
                    namespace: Some(NAMESPACE.to_string()),
                    name: text("/metadata/name"),
                },
                labels: BTreeMap::from([(
                    INSTANCE_LABEL.0.to_string(),
                    INSTANCE_LABEL.1.to_string(),
                )]),
            }
        })
        .collect()
}

/// Waits with a plain-line reporter; answers the outcome and the lines printed.
async fn wait(
    cluster: &Cluster,
    targets: &[WaitTarget],
    timeout: Duration,
) -> (Result<(), WaitError>, String) {
    let mut out = Vec::new();
    let outcome =
        wait_until_ready(cluster, targets, timeout, &mut LineProgress::new(&mut out)).await;
    (outcome, String::from_utf8(out).expect("progress is text"))
}

/// Waits until `condition` holds, for something the test does not control the timing
/// of (the simulated controller); fails clearly after [`GENEROUS`].
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let polled = async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    if tokio::time::timeout(GENEROUS, polled).await.is_err() {
        panic!("waited {GENEROUS:?} for {what}");
    }
}

fn lines_about<'a>(progress: &'a str, resource: &str) -> Vec<&'a str> {
    progress
        .lines()
        .filter(|line| line.contains(&format!("{resource}:")) || line.starts_with(resource))
        .collect()
}

fn list_and_watch_counts(requests: &[RecordedRequest]) -> (usize, usize) {
    let watches = requests.iter().filter(|r| r.is_watch()).count();
    (requests.len() - watches, watches)
}

#[tokio::test]
async fn deployments_that_become_ready_end_the_wait_with_each_change_reported_once() {
    let server = TestApiServer::builder()
        .readiness(ReadinessRule::kind("Deployment", ready_after(200)))
        .start()
        .unwrap();
    let cluster = cluster(&server).await;
    let targets = create_all(&server, &[deployment("web", 3), deployment("api", 1)]);

    let (outcome, progress) = wait(&cluster, &targets, GENEROUS).await;

    outcome.expect("the deployments become ready");
    for (name, replicas) in [("web", 3), ("api", 1)] {
        let live = server.get("deployments", NAMESPACE, name).unwrap();
        assert_eq!(
            live["status"]["availableReplicas"], replicas,
            "{name} was ready when the wait ended"
        );
        let lines = lines_about(&progress, &format!("Deployment default/{name}"));
        assert_eq!(
            lines.last(),
            Some(&format!("Deployment default/{name} is ready").as_str()),
            "{progress}"
        );
        let mut deduplicated = lines.clone();
        deduplicated.dedup();
        assert_eq!(
            lines, deduplicated,
            "a line is printed only when the state changes:\n{progress}"
        );
    }
    assert!(
        progress.starts_with("waiting up to 20s for 2 resources to be ready\n"),
        "{progress}"
    );
}

#[tokio::test]
async fn a_timeout_names_every_resource_not_ready_and_why() {
    let server = TestApiServer::builder()
        .readiness(ReadinessRule::kind("Deployment", ready_after(0)))
        .readiness(ReadinessRule::named(
            "Deployment",
            "stuck-*",
            Readiness::Never,
        ))
        .start()
        .unwrap();
    let cluster = cluster(&server).await;
    let targets = create_all(
        &server,
        &[
            deployment("stuck-web", 3),
            deployment("fine", 1),
            deployment("stuck-api", 2),
        ],
    );
    // Ready before the wait starts, so the short timeout below is all the stuck ones'.
    eventually("fine to roll out", || {
        server.get("deployments", NAMESPACE, "fine").unwrap()["status"]["availableReplicas"] == 1
    })
    .await;

    let (outcome, progress) = wait(&cluster, &targets, Duration::from_secs(1)).await;

    let error = outcome.expect_err("two deployments never become ready");
    assert!(matches!(error, WaitError::TimedOut { .. }), "{error:?}");
    let progressing = |name: &str| {
        let live = server.get("deployments", NAMESPACE, name).unwrap();
        let condition = live["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Progressing")
            .cloned();
        let message = condition.unwrap()["message"]
            .as_str()
            .unwrap()
            .trim_end_matches('.')
            .to_string();
        assert!(
            message.starts_with(&format!("ReplicaSet \"{name}-"))
                && message.ends_with("\" is progressing")
        );
        message
    };
    assert_eq!(
        error.to_string(),
        format!(
            "timed out after 1s; still not ready: \
             Deployment default/stuck-api: 0 of 2 replicas available (Progressing: {}); \
             Deployment default/stuck-web: 0 of 3 replicas available (Progressing: {})",
            progressing("stuck-api"),
            progressing("stuck-web"),
        )
    );
    assert!(
        progress.contains("Deployment default/fine is ready\n"),
        "{progress}"
    );
    assert!(!progress.contains("stuck-web is ready"), "{progress}");
}

#[tokio::test]
async fn a_job_that_completes_is_ready_and_a_job_that_fails_ends_the_wait_with_its_message() {
    let server = TestApiServer::builder()
        .readiness(ReadinessRule::kind("Job", ready_after(150)))
        .readiness(ReadinessRule::named(
            "Job",
            "broken",
            Readiness::failing_after(Duration::from_millis(150)),
        ))
        .readiness(ReadinessRule::named("Deployment", "slow", Readiness::Never))
        .start()
        .unwrap();
    let cluster = cluster(&server).await;

    let completing = create_all(&server, &[job("migrate")]);
    let (outcome, progress) = wait(&cluster, &completing, GENEROUS).await;
    outcome.expect("the job completes");
    assert!(
        progress.ends_with("Job default/migrate is ready\n"),
        "{progress}"
    );

    // The never-ready Deployment shows the failure does not wait for the timeout.
    let failing = create_all(&server, &[job("broken"), deployment("slow", 1)]);
    let (outcome, progress) = wait(&cluster, &failing, GENEROUS).await;
    let error = outcome.expect_err("the job fails");
    assert!(matches!(error, WaitError::Failed { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "Job default/broken failed: Job has reached the specified backoff limit (BackoffLimitExceeded)"
    );
    assert!(
        progress.contains("Job default/broken failed: Job has reached the specified backoff limit (BackoffLimitExceeded)\n"),
        "{progress}"
    );
}

#[tokio::test]
async fn a_deployment_past_its_progress_deadline_fails_the_wait() {
    let server = TestApiServer::builder()
        .readiness(ReadinessRule::kind(
            "Deployment",
            Readiness::failing_after(Duration::from_millis(100)),
        ))
        .start()
        .unwrap();
    let cluster = cluster(&server).await;
    let targets = create_all(&server, &[deployment("web", 2)]);

    let (outcome, _) = wait(&cluster, &targets, GENEROUS).await;

    let error = outcome.expect_err("the rollout fails");
    let message = error.to_string();
    assert!(
        message.starts_with(
            "Deployment default/web failed: progress deadline exceeded: ReplicaSet \"web-"
        ) && message.ends_with("\" has timed out progressing"),
        "{message}"
    );
}

#[tokio::test]
async fn a_claim_is_ready_once_bound() {
    let server = TestApiServer::builder()
        .readiness(ReadinessRule::kind(
            "PersistentVolumeClaim",
            ready_after(200),
        ))
        .start()
        .unwrap();
    let cluster = cluster(&server).await;
    let targets = create_all(&server, &[claim("data")]);

    let (outcome, progress) = wait(&cluster, &targets, GENEROUS).await;

    outcome.expect("the claim is bound");
    assert_eq!(
        server.get("pvc", NAMESPACE, "data").unwrap()["status"]["phase"],
        "Bound"
    );
    assert!(
        progress.ends_with("PersistentVolumeClaim default/data is ready\n"),
        "{progress}"
    );
}

#[tokio::test]
async fn an_unbound_claim_times_out_with_its_phase() {
    let server = TestApiServer::builder()
        .readiness(ReadinessRule::kind(
            "PersistentVolumeClaim",
            Readiness::Never,
        ))
        .start()
        .unwrap();
    let cluster = cluster(&server).await;
    let targets = create_all(&server, &[claim("data")]);

    let (outcome, _) = wait(&cluster, &targets, Duration::from_secs(1)).await;

    assert_eq!(
        outcome.unwrap_err().to_string(),
        "timed out after 1s; still not ready: PersistentVolumeClaim default/data: phase Pending, not Bound"
    );
}

#[tokio::test]
async fn stateful_sets_and_daemon_sets_are_waited_for() {
    let server = TestApiServer::builder()
        .readiness(ReadinessRule::kind("StatefulSet", ready_after(200)))
        .readiness(ReadinessRule::kind("DaemonSet", ready_after(250)))
        .start()
        .unwrap();
    let cluster = cluster(&server).await;
    let targets = create_all(&server, &[stateful_set("db", 3), daemon_set("agent")]);

    let (outcome, progress) = wait(&cluster, &targets, GENEROUS).await;

    outcome.expect("both become ready");
    let db = server.get("statefulsets", NAMESPACE, "db").unwrap();
    assert_eq!(db["status"]["readyReplicas"], 3);
    assert_eq!(
        db["status"]["currentRevision"],
        db["status"]["updateRevision"]
    );
    assert_eq!(
        server.get("daemonsets", NAMESPACE, "agent").unwrap()["status"]["numberAvailable"],
        1
    );
    assert!(
        progress.contains("StatefulSet default/db is ready\n"),
        "{progress}"
    );
    assert!(
        progress.contains("DaemonSet default/agent is ready\n"),
        "{progress}"
    );
}

#[tokio::test]
async fn stateful_sets_and_daemon_sets_that_never_roll_out_say_what_is_missing() {
    let server = TestApiServer::builder()
        .default_readiness(Readiness::Never)
        .start()
        .unwrap();
    let cluster = cluster(&server).await;
    let targets = create_all(&server, &[stateful_set("db", 3), daemon_set("agent")]);

    let (outcome, _) = wait(&cluster, &targets, Duration::from_secs(1)).await;

    assert_eq!(
        outcome.unwrap_err().to_string(),
        "timed out after 1s; still not ready: StatefulSet default/db: 0 of 3 replicas ready; \
         DaemonSet default/agent: 0 of 1 pods updated"
    );
}

#[tokio::test]
async fn a_mix_of_kinds_needs_one_list_and_one_watch_per_kind_with_a_readiness() {
    let server = TestApiServer::builder()
        .default_readiness(ready_after(200))
        .start()
        .unwrap();
    let cluster = cluster(&server).await;
    let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": metadata("web"),
                         "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}});
    let targets = create_all(
        &server,
        &[
            config_map("settings"),
            service,
            deployment("web", 2),
            deployment("worker", 1),
            stateful_set("db", 1),
            daemon_set("agent"),
            job("migrate"),
            claim("data"),
        ],
    );
    server.clear_requests();

    let (outcome, progress) = wait(&cluster, &targets, GENEROUS).await;

    outcome.expect("everything becomes ready");
    let requests = server.requests();
    let waited_kinds = [
        "/api/v1/namespaces/default/persistentvolumeclaims",
        "/apis/apps/v1/namespaces/default/daemonsets",
        "/apis/apps/v1/namespaces/default/deployments",
        "/apis/apps/v1/namespaces/default/statefulsets",
        "/apis/batch/v1/namespaces/default/jobs",
    ];
    for path in waited_kinds {
        let of_kind: Vec<RecordedRequest> = requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect();
        let (lists, watches) = list_and_watch_counts(&of_kind);
        assert!(
            lists == 1 && watches <= 1,
            "one list and at most one watch for {path}: {requests:#?}"
        );
    }
    assert!(
        requests
            .iter()
            .all(|r| waited_kinds.contains(&r.path.as_str())),
        "{requests:#?}"
    );
    assert!(
        progress.starts_with("waiting up to 20s for 6 resources to be ready\n"),
        "{progress}"
    );
    assert!(
        !progress.contains("ConfigMap") && !progress.contains("Service"),
        "ready once applied:\n{progress}"
    );
}

/// Waits for `targets` while the controller is paused until the wait's watch was sent:
/// the list finds nothing ready, so the wait has to watch, however slow the machine.
async fn wait_through_a_watch(
    server: &TestApiServer,
    cluster: &Cluster,
    targets: &[WaitTarget],
) -> (Result<(), WaitError>, String) {
    server.pause_controller();
    let watch = server.hold(RequestMatch::of(Operation::Watch));
    let waiting = tokio::spawn({
        let (cluster, targets) = (cluster.clone(), targets.to_vec());
        async move { wait(&cluster, &targets, GENEROUS).await }
    });
    tokio::task::block_in_place(|| watch.wait_for(1));
    server.resume_controller();
    drop(watch);
    waiting.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_deployments_cost_one_list_and_one_watch_however_long_the_wait() {
    let server = TestApiServer::builder()
        .readiness(ReadinessRule::kind("Deployment", ready_after(100)))
        .start()
        .unwrap();
    let cluster = cluster(&server).await;
    // Someone else's Deployment in the namespace, never ready and not waited for.
    let mut other = deployment("other-team", 1);
    other["metadata"]["labels"] = json!({"team": "other"});
    other["metadata"]["annotations"] = json!({"apiserver.rchart.test/readiness": "never"});
    server.create(other).unwrap();
    server.pause_controller();
    let deployments: Vec<Value> = (0..10)
        .map(|i| deployment(&format!("web-{i}"), 2))
        .collect();
    let targets = create_all(&server, &deployments);
    server.clear_requests();

    let (outcome, progress) = wait_through_a_watch(&server, &cluster, &targets).await;

    outcome.expect("all ten become ready");
    let requests = server.requests();
    assert_eq!(list_and_watch_counts(&requests), (1, 1), "{requests:#?}");
    let selector = "app.kubernetes.io/instance=shop";
    assert!(
        requests
            .iter()
            .all(|r| r.query_param("labelSelector").as_deref() == Some(selector)),
        "the list and watch are narrowed to the objects' shared labels: {requests:#?}"
    );
    assert_eq!(progress.matches(" is ready\n").count(), 10, "{progress}");

    // One Deployment: the watch is narrowed to its name.
    server.pause_controller();
    let single = create_all(&server, &[deployment("solo", 1)]);
    server.clear_requests();
    wait_through_a_watch(&server, &cluster, &single)
        .await
        .0
        .expect("solo becomes ready");
    let requests = server.requests();
    assert_eq!(list_and_watch_counts(&requests), (1, 1), "{requests:#?}");
    assert!(
        requests
            .iter()
            .all(|r| r.query_param("fieldSelector").as_deref() == Some("metadata.name=solo")),
        "{requests:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_watch_is_resumed_and_the_wait_still_succeeds() {
    let server = TestApiServer::start().unwrap();
    let cluster = cluster(&server).await;
    // Not ready until the second watch was sent, however slow the machine.
    server.pause_controller();
    let targets = create_all(&server, &[deployment("web", 1)]);
    server.clear_requests();
    let watches = server.hold(RequestMatch::of(Operation::Watch));
    let waiting = tokio::spawn({
        let (cluster, targets) = (cluster.clone(), targets.clone());
        async move { wait(&cluster, &targets, GENEROUS).await }
    });
    tokio::task::block_in_place(|| {
        watches.wait_for(1).drop_connections(1);
        watches.wait_for(1);
    });
    server.resume_controller();
    drop(watches);
    let (outcome, progress) = waiting.await.unwrap();

    outcome.expect("the watch is retried");
    let requests = server.requests();
    let watches: Vec<Option<u16>> = requests
        .iter()
        .filter(|r| r.is_watch())
        .map(|r| r.status)
        .collect();
    assert_eq!(watches, [None, Some(200)], "{requests:#?}");
    assert!(
        progress.contains("warning: watching Deployments in namespace default failed, retrying: "),
        "{progress}"
    );
    assert!(
        progress.ends_with("Deployment default/web is ready\n"),
        "{progress}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_too_far_behind_relists_and_sees_objects_created_after_the_wait_began() {
    // Keep so little history that the watch below cannot resume from the list.
    let server = TestApiServer::builder()
        .watch_history(3)
        .default_readiness(ready_after(0))
        .start()
        .unwrap();
    let cluster = cluster(&server).await;
    let names: Vec<String> = (0..4).map(|i| format!("web-{i}")).collect();
    let targets: Vec<WaitTarget> = names
        .iter()
        .map(|name| {
            WaitTarget::from(ResourceId {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: Some(NAMESPACE.into()),
                name: name.clone(),
            })
        })
        .collect();
    // Hold the first watch back, sent after the first list, while the objects are
    // created and rolled out.
    let first_watch = server.hold(RequestMatch::of(Operation::Watch));

    let waiting = tokio::spawn({
        let cluster = cluster.clone();
        async move {
            let mut out = Vec::new();
            let outcome = wait_until_ready(
                &cluster,
                &targets,
                GENEROUS,
                &mut LineProgress::new(&mut out),
            )
            .await;
            (outcome, String::from_utf8(out).unwrap())
        }
    });
    tokio::task::block_in_place(|| first_watch.wait_for(1));
    // One at a time: the simulated controller, too, reads the short history.
    for name in &names {
        server.create(deployment(name, 1)).unwrap();
        eventually("the controller to roll it out", || {
            server.get("deployments", NAMESPACE, name).unwrap()["status"]["availableReplicas"] == 1
        })
        .await;
    }
    // The held watch goes on, from the list's resourceVersion, long gone from history.
    drop(first_watch);
    let (outcome, progress) = waiting.await.unwrap();

    outcome.expect("the relist finds every deployment ready");
    let requests = server.requests();
    // The watch answered 410 Gone; the relist found everything ready, so no second watch.
    assert_eq!(
        list_and_watch_counts(&requests),
        (2, 1),
        "a relist after 410 Gone: {requests:#?}"
    );
    assert!(
        progress.contains("waiting for Deployment default/web-0: not found\n"),
        "{progress}"
    );
    assert!(
        progress.contains("Expired"),
        "the 410 is reported: {progress}"
    );
    assert_eq!(progress.matches(" is ready\n").count(), 4, "{progress}");
}

#[tokio::test]
async fn a_forbidden_watch_fails_at_once_instead_of_retrying_until_the_timeout() {
    let server = TestApiServer::start().unwrap();
    let cluster = cluster(&server).await;
    let targets = create_all(&server, &[deployment("web", 1)]);
    let lists = RequestMatch {
        path_contains: Some("/deployments".into()),
        ..RequestMatch::default()
    };
    let forbidden = FaultAction::Fail {
        code: 403,
        reason: None,
        message: Some(
            "deployments.apps is forbidden: User \"ci\" cannot list resource \"deployments\""
                .into(),
        ),
    };
    server.add_fault(Fault::new(lists, forbidden).persistent());

    let (outcome, _) = wait(&cluster, &targets, GENEROUS).await;

    let error = outcome.expect_err("no permission to watch");
    assert!(matches!(error, WaitError::Watch { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "cannot watch Deployments in namespace default: deployments.apps is forbidden: \
         User \"ci\" cannot list resource \"deployments\" (Forbidden, HTTP 403)"
    );
}

#[tokio::test]
async fn nothing_to_wait_for_sends_no_request() {
    let server = TestApiServer::start().unwrap();
    let cluster = cluster(&server).await;
    let targets = create_all(&server, &[config_map("settings")]);
    server.clear_requests();

    let (outcome, progress) = wait(&cluster, &targets, GENEROUS).await;

    outcome.expect("a ConfigMap is ready once applied");
    assert_eq!(server.requests(), []);
    assert_eq!(progress, "");
}

/// A Deployment whose status is for an older generation is not ready, however ready
/// that status looks: the controller has not acted on the change yet (it is paused).
#[tokio::test]
async fn a_status_for_an_older_generation_does_not_end_the_wait() {
    let server = TestApiServer::start().unwrap();
    let cluster = cluster(&server).await;
    let targets = create_all(&server, &[deployment("web", 2)]);
    wait(&cluster, &targets, GENEROUS)
        .await
        .0
        .expect("the first rollout ends");

    server.pause_controller();
    let mut changed = deployment("web", 2);
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.28");
    let live = server.replace(changed).unwrap();
    assert_eq!(live["metadata"]["generation"], 2);
    assert_eq!(
        live["status"]["availableReplicas"], 2,
        "the old status stays"
    );

    let (outcome, _) = wait(&cluster, &targets, Duration::from_secs(1)).await;
    assert_eq!(
        outcome.unwrap_err().to_string(),
        "timed out after 1s; still not ready: Deployment default/web: \
         the controller has not seen the latest change yet (generation 2, observed 1)"
    );

    server.resume_controller();
    let (outcome, progress) = wait(&cluster, &targets, GENEROUS).await;
    outcome.expect("the controller catches up");
    assert!(
        progress.ends_with("Deployment default/web is ready\n"),
        "{progress}"
    );
    assert_eq!(
        server.get("deployments", NAMESPACE, "web").unwrap()["status"]["observedGeneration"],
        2
    );
}
