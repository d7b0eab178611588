//! The release store against the test API server, through kube-rs and real HTTP.

use std::collections::BTreeMap;
use std::process::Command;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use rchart::release::{
    ReleaseRecord, ReleaseStore, Status, StoreError, StoredRelease, list_releases,
};
use rchart_test_apiserver::{
    Fault, FaultAction, KubeconfigOptions, Operation, RequestMatch, TestApiServer,
};
use serde_json::{Value, json};

const NAMESPACE: &str = "default";

async fn client_for(kubeconfig: &std::path::Path) -> kube::Client {
    let kubeconfig = Kubeconfig::read_from(kubeconfig).expect("the kubeconfig is readable");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("the kubeconfig is valid");
    kube::Client::try_from(config).expect("a client can be built")
}

async fn client(server: &TestApiServer) -> kube::Client {
    client_for(server.kubeconfig_path()).await
}

fn record(name: &str, revision: u64, status: Status) -> ReleaseRecord {
    record_in(NAMESPACE, name, revision, status)
}

fn record_in(namespace: &str, name: &str, revision: u64, status: Status) -> ReleaseRecord {
    serde_json::from_value(json!({
        "name": name,
        "namespace": namespace,
        "revision": revision,
        "status": status,
        "description": format!("revision {revision}"),
        "firstDeployed": "2026-01-02T03:04:05Z",
        "lastDeployed": "2026-01-02T03:04:05Z",
        "chart": {"apiVersion": "v2", "name": "web", "version": "1.0.0"},
        "chartDigest": "sha256:0123",
        "userValues": {"replicas": 2},
        "mergedValues": {"replicas": 2, "image": "nginx"},
        "manifest": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
        "resources": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "web"}],
    }))
    .expect("a valid record")
}

/// A record whose manifest is `len` bytes of random base64, which gzip barely shrinks.
fn big_record(name: &str, revision: u64, len: usize) -> ReleaseRecord {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut state: u64 = 0x2545_f491_4f6c_dd1d ^ len as u64;
    let manifest = (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            char::from(ALPHABET[(state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 58) as usize])
        })
        .collect();
    ReleaseRecord {
        manifest,
        ..record(name, revision, Status::PendingInstall)
    }
}

fn secret_names(server: &TestApiServer) -> Vec<String> {
    let mut names: Vec<String> = server
        .list("secrets", Some(NAMESPACE))
        .iter()
        .filter_map(|secret| secret["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

fn chunk_names(server: &TestApiServer, release: &str) -> Vec<String> {
    let prefix = format!("rchart.release.v1.{release}.");
    secret_names(server)
        .into_iter()
        .filter(|name| name.starts_with(&prefix) && name.contains(".chunk-"))
        .collect()
}

fn revisions(stored: &[StoredRelease]) -> Vec<u64> {
    stored.iter().map(|s| s.record.revision).collect()
}

/// The error of a call expected to fail, without printing a (possibly huge) success.
fn failure<T>(result: Result<T, StoreError>) -> StoreError {
    match result {
        Ok(_) => panic!("the call succeeded, expected an error"),
        Err(error) => error,
    }
}

/// The error and its causes, as a command would print them.
fn chain(error: &StoreError) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(error) = cause {
        text.push_str(": ");
        text.push_str(&error.to_string());
        cause = error.source();
    }
    text
}

#[tokio::test]
async fn create_load_update_and_delete_a_revision() {
    let server = TestApiServer::start().unwrap();
    let store = ReleaseStore::new(client(&server).await, NAMESPACE);
    assert_eq!(store.namespace(), NAMESPACE);

    let created = store
        .create(&record("web", 1, Status::PendingInstall))
        .await
        .unwrap();
    assert_eq!(created.secret_name, "rchart.release.v1.web.v1");
    assert_eq!(created.chunk_count(), 0);

    let secret = server
        .get("secrets", NAMESPACE, "rchart.release.v1.web.v1")
        .unwrap();
    assert_eq!(secret["type"], "rchart.io/release.v1");
    assert_eq!(
        secret["metadata"]["labels"],
        json!({"owner": "rchart", "name": "web", "status": "pending-install", "version": "1"})
    );
    assert_eq!(
        secret["metadata"]["resourceVersion"],
        created.resource_version.as_str()
    );

    let loaded = store.load("web", 1).await.unwrap();
    assert_eq!(loaded, created);

    let mut deployed = loaded.clone();
    deployed.record.status = Status::Deployed;
    deployed.record.description = "Install complete".into();
    let updated = store.update(&deployed).await.unwrap();
    assert_ne!(updated.resource_version, loaded.resource_version);
    let secret = server
        .get("secrets", NAMESPACE, "rchart.release.v1.web.v1")
        .unwrap();
    assert_eq!(secret["metadata"]["labels"]["status"], "deployed");
    let reloaded = store.load("web", 1).await.unwrap();
    assert_eq!(reloaded.record.status, Status::Deployed);
    assert_eq!(reloaded.record.description, "Install complete");

    store.delete(&reloaded).await.unwrap();
    assert!(
        server
            .get("secrets", NAMESPACE, "rchart.release.v1.web.v1")
            .is_none()
    );
    let error = store.load("web", 1).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "release web has no revision 1 in namespace default"
    );
    store
        .delete(&reloaded)
        .await
        .expect("deleting a deleted revision is not an error");
}

#[tokio::test]
async fn history_is_sorted_and_reports_unreadable_secrets_by_name() {
    let server = TestApiServer::start().unwrap();
    let client = client(&server).await;
    let store = ReleaseStore::new(client.clone(), NAMESPACE);
    for revision in [3, 1, 2] {
        store
            .create(&record("web", revision, Status::Superseded))
            .await
            .unwrap();
    }
    store
        .create(&record("other", 1, Status::Deployed))
        .await
        .unwrap();

    // Same labels as a revision, but the data is not a record.
    let garbled = Secret {
        metadata: ObjectMeta {
            name: Some("rchart.release.v1.web.v4".into()),
            labels: Some(BTreeMap::from([
                ("owner".into(), "rchart".into()),
                ("name".into(), "web".into()),
                ("status".into(), "deployed".into()),
                ("version".into(), "4".into()),
            ])),
            ..ObjectMeta::default()
        },
        type_: Some("rchart.io/release.v1".into()),
        data: Some(BTreeMap::from([(
            "release".into(),
            ByteString(b"{not gzip}".to_vec()),
        )])),
        ..Secret::default()
    };
    Api::<Secret>::namespaced(client, NAMESPACE)
        .create(&PostParams::default(), &garbled)
        .await
        .unwrap();

    let history = store.history("web").await.unwrap();
    assert_eq!(revisions(&history.revisions), [1, 2, 3]);
    assert_eq!(history.unreadable.len(), 1);
    let unreadable = &history.unreadable[0];
    assert_eq!(unreadable.secret_name, "rchart.release.v1.web.v4");
    assert_eq!(unreadable.revision, Some(4));
    assert_eq!(
        unreadable.to_string(),
        "cannot read the release record in Secret rchart.release.v1.web.v4 in namespace default: \
         its record cannot be decoded: the data is not gzip-compressed (it starts with 7b 6e, expected 1f 8b)"
    );
    assert_eq!(history.next_revision(), 5);

    let error = store.load("web", 4).await.unwrap_err();
    assert!(
        chain(&error)
            .starts_with("cannot read the release record in Secret rchart.release.v1.web.v4"),
        "{error}"
    );
    assert!(store.history("missing").await.unwrap().revisions.is_empty());
}

#[tokio::test]
async fn a_stale_update_or_delete_is_a_conflict() {
    let server = TestApiServer::start().unwrap();
    let store = ReleaseStore::new(client(&server).await, NAMESPACE);
    store
        .create(&record("web", 1, Status::PendingInstall))
        .await
        .unwrap();
    let first = store.load("web", 1).await.unwrap();
    let mut second = store.load("web", 1).await.unwrap();

    let mut deployed = first.clone();
    deployed.record.status = Status::Deployed;
    store.update(&deployed).await.unwrap();

    second.record.status = Status::Failed;
    let error = store.update(&second).await.unwrap_err();
    assert!(matches!(error, StoreError::Conflict { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "release web revision 1 (Secret rchart.release.v1.web.v1) was changed by another operation since it was read (409 Conflict)"
    );
    let error = store.delete(&second).await.unwrap_err();
    assert!(matches!(error, StoreError::Conflict { .. }), "{error:?}");
    assert_eq!(
        store.load("web", 1).await.unwrap().record.status,
        Status::Deployed
    );
}

#[tokio::test]
async fn creating_an_existing_revision_is_already_exists() {
    let server = TestApiServer::start().unwrap();
    let store = ReleaseStore::new(client(&server).await, NAMESPACE);
    store
        .create(&record("web", 1, Status::Deployed))
        .await
        .unwrap();
    let error = store
        .create(&record("web", 1, Status::PendingInstall))
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::AlreadyExists { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "release web revision 1 (Secret rchart.release.v1.web.v1) already exists: another operation created it at the same time (409 AlreadyExists)"
    );
}

#[tokio::test]
async fn a_ten_mib_record_is_chunked_read_back_and_deleted_whole() {
    let server = TestApiServer::start().unwrap();
    let store = ReleaseStore::new(client(&server).await, NAMESPACE);
    let big = big_record("big", 1, 10 * 1024 * 1024);
    let created = store.create(&big).await.unwrap();
    assert!(
        created.chunk_count() >= 8,
        "{} chunks",
        created.chunk_count()
    );
    let chunks = chunk_names(&server, "big");
    assert_eq!(chunks.len(), created.chunk_count());
    for chunk in &chunks {
        let secret = server.get("secrets", NAMESPACE, chunk).unwrap();
        assert_eq!(secret["type"], "rchart.io/release-chunk.v1");
        assert!(secret["metadata"]["labels"].get("status").is_none());
    }

    let history = store.history("big").await.unwrap();
    assert_eq!(
        revisions(&history.revisions),
        [1],
        "chunks are not revisions"
    );
    assert!(history.unreadable.is_empty());
    // Not assert_eq: a failure would print 10 MiB twice.
    assert!(
        history.revisions[0].record == big,
        "the record reads back identically"
    );

    store.delete(&history.revisions[0]).await.unwrap();
    assert_eq!(secret_names(&server), [] as [String; 0]);
}

#[tokio::test]
async fn updating_a_chunked_record_replaces_its_chunks() {
    let server = TestApiServer::start().unwrap();
    let store = ReleaseStore::new(client(&server).await, NAMESPACE);
    let created = store
        .create(&big_record("big", 1, 3_000_000))
        .await
        .unwrap();
    let old_chunks = chunk_names(&server, "big");
    assert_eq!(old_chunks.len(), 2);

    let mut deployed = created.clone();
    deployed.record.status = Status::Deployed;
    let updated = store.update(&deployed).await.unwrap();
    let new_chunks = chunk_names(&server, "big");
    assert_eq!(new_chunks.len(), 2);
    assert!(
        new_chunks.iter().all(|name| !old_chunks.contains(name)),
        "{old_chunks:?} were replaced by {new_chunks:?}"
    );
    assert!(
        store.load("big", 1).await.unwrap() == updated,
        "reads back as written"
    );

    // Small enough for one Secret again: the chunks go.
    let mut small = updated.clone();
    small.record.manifest = "kind: ConfigMap\n".into();
    let small = store.update(&small).await.unwrap();
    assert_eq!(small.chunk_count(), 0);
    assert_eq!(chunk_names(&server, "big"), [] as [String; 0]);
    assert_eq!(store.load("big", 1).await.unwrap().record, small.record);
}

#[tokio::test]
async fn a_missing_or_corrupt_chunk_is_named() {
    let server = TestApiServer::start().unwrap();
    let client = client(&server).await;
    let store = ReleaseStore::new(client.clone(), NAMESPACE);
    let secrets = Api::<Secret>::namespaced(client, NAMESPACE);
    store
        .create(&big_record("web", 1, 1_500_000))
        .await
        .unwrap();
    store
        .create(&big_record("web", 2, 1_500_000))
        .await
        .unwrap();
    store
        .create(&record("web", 3, Status::Deployed))
        .await
        .unwrap();
    let chunks = chunk_names(&server, "web");
    let first_chunk = chunks
        .iter()
        .find(|name| name.starts_with("rchart.release.v1.web.v1."))
        .unwrap();
    let second_chunk = chunks
        .iter()
        .find(|name| name.starts_with("rchart.release.v1.web.v2."))
        .unwrap();

    secrets
        .delete(first_chunk, &DeleteParams::default())
        .await
        .unwrap();
    let mut corrupt = secrets.get(second_chunk).await.unwrap();
    corrupt.data.as_mut().unwrap().get_mut("chunk").unwrap().0[100] ^= 0xff;
    secrets
        .replace(second_chunk, &PostParams::default(), &corrupt)
        .await
        .unwrap();

    let history = store.history("web").await.unwrap();
    assert_eq!(
        revisions(&history.revisions),
        [3],
        "the readable revision is still read"
    );
    let problems: Vec<String> = history.unreadable.iter().map(|u| u.to_string()).collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(
        problems[0],
        format!(
            "cannot read the release record in Secret rchart.release.v1.web.v1 in namespace default: chunk Secret {first_chunk} is missing"
        )
    );
    assert!(
        problems[1].contains(&format!("chunk Secret {second_chunk} is corrupt")),
        "{}",
        problems[1]
    );

    let error = failure(store.load("web", 1).await);
    assert!(
        chain(&error).ends_with(&format!("chunk Secret {first_chunk} is missing")),
        "{error}"
    );
}

#[tokio::test]
async fn history_create_and_update_of_a_small_record_take_three_requests() {
    let server = TestApiServer::start().unwrap();
    let store = ReleaseStore::new(client(&server).await, NAMESPACE);
    server.clear_requests();

    let history = store.history("web").await.unwrap();
    let created = store
        .create(&record(
            "web",
            history.next_revision(),
            Status::PendingInstall,
        ))
        .await
        .unwrap();
    let mut deployed = created;
    deployed.record.status = Status::Deployed;
    store.update(&deployed).await.unwrap();

    let requests: Vec<String> = server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        requests,
        [
            "GET /api/v1/namespaces/default/secrets",
            "POST /api/v1/namespaces/default/secrets",
            "PUT /api/v1/namespaces/default/secrets/rchart.release.v1.web.v1",
        ]
    );
}

#[tokio::test]
async fn pruning_keeps_the_deployed_and_newest_revisions() {
    let server = TestApiServer::start().unwrap();
    let store = ReleaseStore::new(client(&server).await, NAMESPACE);
    let statuses = [
        Status::Superseded,
        Status::Deployed,
        Status::Superseded,
        Status::Failed,
        Status::Failed,
    ];
    for (revision, status) in (1..).zip(statuses) {
        store
            .create(&record("web", revision, status))
            .await
            .unwrap();
    }
    let history = store.history("web").await.unwrap();

    let deleted = store.prune_history(&history.revisions, 2).await.unwrap();
    assert_eq!(deleted, [1, 3, 4]);
    let history = store.history("web").await.unwrap();
    assert_eq!(revisions(&history.revisions), [2, 5]);
    assert_eq!(
        store.prune_history(&history.revisions, 1).await.unwrap(),
        [] as [u64; 0],
        "deployed and newest stay"
    );
}

#[tokio::test]
async fn list_shows_the_latest_revision_of_each_release() {
    let server = TestApiServer::start().unwrap();
    server
        .create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}}))
        .unwrap();
    let client = client(&server).await;
    let default = ReleaseStore::new(client.clone(), NAMESPACE);
    let prod = ReleaseStore::new(client.clone(), "prod");
    default
        .create(&record("web", 1, Status::Superseded))
        .await
        .unwrap();
    default
        .create(&record("web", 2, Status::Deployed))
        .await
        .unwrap();
    default
        .create(&big_record("api", 1, 1_500_000))
        .await
        .unwrap();
    prod.create(&record_in("prod", "web", 7, Status::Failed))
        .await
        .unwrap();

    let summary = |listed: &rchart::release::ListedReleases| -> Vec<(String, String, u64)> {
        listed
            .releases
            .iter()
            .map(|s| {
                (
                    s.record.namespace.clone(),
                    s.record.name.clone(),
                    s.record.revision,
                )
            })
            .collect()
    };
    let listed = list_releases(&client, Some(NAMESPACE)).await.unwrap();
    assert_eq!(
        summary(&listed),
        [
            ("default".into(), "api".into(), 1),
            ("default".into(), "web".into(), 2)
        ]
    );
    let everywhere = list_releases(&client, None).await.unwrap();
    assert_eq!(
        summary(&everywhere),
        [
            ("default".into(), "api".into(), 1),
            ("default".into(), "web".into(), 2),
            ("prod".into(), "web".into(), 7)
        ]
    );
    assert!(everywhere.unreadable.is_empty());
}

#[tokio::test]
async fn api_errors_name_the_secret_and_status_and_clean_up_chunks() {
    let server = TestApiServer::start().unwrap();
    let store = ReleaseStore::new(client(&server).await, NAMESPACE);
    server.add_fault(Fault::fail_nth_write(1, 500, "etcd is unavailable"));
    let error = store
        .create(&record("web", 1, Status::PendingInstall))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Api { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "creating Secret rchart.release.v1.web.v1 of release web revision 1 in namespace default failed: 500 InternalError: etcd is unavailable"
    );

    // The head of a chunked record is refused after its one chunk was written: the chunk
    // is removed.
    server.add_fault(Fault::fail_nth_write(2, 403, "exceeded quota: secrets"));
    let error = failure(store.create(&big_record("big", 1, 1_500_000)).await);
    assert_eq!(
        error.to_string(),
        "creating Secret rchart.release.v1.big.v1 of release big revision 1 in namespace default failed: 403 Forbidden: exceeded quota: secrets"
    );
    assert_eq!(secret_names(&server), [] as [String; 0]);

    // One of two chunks fails: the other is removed and the error names the failed one.
    server.add_fault(Fault::fail_nth_write(1, 500, "etcd is unavailable"));
    let error = failure(store.create(&big_record("big", 1, 3_000_000)).await);
    assert!(
        error
            .to_string()
            .starts_with("creating chunk Secret rchart.release.v1.big.v1.chunk-"),
        "{error}"
    );
    assert_eq!(secret_names(&server), [] as [String; 0]);
}

#[tokio::test]
async fn chunks_of_a_head_write_with_unknown_outcome_stay_until_the_revision_is_deleted() {
    let server = TestApiServer::start().unwrap();
    let store = ReleaseStore::new(client(&server).await, NAMESPACE);
    // A 5xx may come after the write was applied, so the chunk the head may name stays.
    server.add_fault(Fault::fail_nth_write(
        2,
        500,
        "etcdserver: request timed out",
    ));
    failure(store.create(&big_record("big", 1, 1_500_000)).await);
    assert_eq!(chunk_names(&server, "big").len(), 1);
    let history = store.history("big").await.unwrap();
    assert!(history.revisions.is_empty() && history.unreadable.is_empty());

    let created = store
        .create(&big_record("big", 1, 1_500_000))
        .await
        .unwrap();
    assert_eq!(
        chunk_names(&server, "big").len(),
        2,
        "the retry wrote its own"
    );
    assert!(store.load("big", 1).await.unwrap().record == created.record);
    store.delete(&created).await.unwrap();
    assert_eq!(secret_names(&server), [] as [String; 0]);
}

#[tokio::test]
async fn an_unreachable_server_keeps_the_client_error() {
    let server = TestApiServer::start().unwrap();
    let kubeconfig = server
        .kubeconfig_with(&KubeconfigOptions::default().unreachable())
        .unwrap();
    let store = ReleaseStore::new(client_for(&kubeconfig).await, NAMESPACE);
    let error = store.history("web").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "listing the revisions of release web in namespace default failed"
    );
    assert!(matches!(error, StoreError::Request { .. }), "{error:?}");
    let kube_error = error.into_kube_error().expect("a connection error");
    assert!(!matches!(kube_error, kube::Error::Api(_)), "{kube_error:?}");
}

#[tokio::test]
async fn kubectl_sees_single_base64_gzip_json() {
    let Some(kubectl) = rchart_test_apiserver::kubectl() else {
        return;
    };
    let server = TestApiServer::start().unwrap();
    let store = ReleaseStore::new(client(&server).await, NAMESPACE);
    let created = store
        .create(&record("web", 1, Status::Deployed))
        .await
        .unwrap();

    let cache = tempfile::tempdir().unwrap();
    let script = format!(
        "{} get secret {} -o jsonpath='{{.data.release}}' | base64 -d | gunzip",
        kubectl.display(),
        created.secret_name
    );
    let output = Command::new("sh")
        .args(["-c", &script])
        .env("KUBECONFIG", server.kubeconfig_path())
        .env("KUBECACHEDIR", cache.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Value = serde_json::from_slice(&output.stdout).expect("the record is JSON");
    assert_eq!(json["name"], "web");
    assert_eq!(json["revision"], 1);
    assert_eq!(json["status"], "deployed");
}

/// `METHOD path -> status (handled, injected)` of every request since the log was
/// cleared.
fn exchanges(server: &TestApiServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| {
            format!(
                "{} {} -> {:?} (handled {:?}, {:?})",
                r.method, r.path, r.status, r.handled, r.injected
            )
        })
        .collect()
}

const SECRETS: &str = "/api/v1/namespaces/default/secrets";

/// Creates revision 1 of `web` while the server carries out `action` after committing
/// the create. Returns what the store answered, and every request it took.
async fn create_with_an_answer_after_commit(action: FaultAction) -> (StoredRelease, Vec<String>) {
    let server = TestApiServer::start().unwrap();
    let store = ReleaseStore::new(client(&server).await, NAMESPACE);
    server.clear_requests();
    server.add_fault(Fault::new(
        RequestMatch::of(Operation::Create).resource("secrets"),
        action.after_commit(),
    ));
    let created = store
        .create(&record("web", 1, Status::PendingInstall))
        .await
        .expect("the committed create counts");
    let requests = exchanges(&server);
    assert_eq!(
        store.load("web", 1).await.unwrap(),
        created,
        "what create answers is what is stored"
    );
    (created, requests)
}

/// A create the server commits but answers with a 500: the store reads the head back,
/// finds its own write id on it, and the create succeeds without being sent again.
#[tokio::test]
async fn a_create_answered_500_after_its_commit_is_read_back() {
    let (_, requests) =
        create_with_an_answer_after_commit(FaultAction::etcd_request_timed_out()).await;
    assert_eq!(
        requests,
        [
            format!("POST {SECRETS} -> Some(500) (handled Some(201), [Failed])"),
            format!("GET {SECRETS}/rchart.release.v1.web.v1 -> Some(200) (handled Some(200), [])"),
        ]
    );
}

/// A create answered 504 after its commit is sent again by the client, which then
/// meets its own first attempt (409): read back, it is this write, so it succeeded.
#[tokio::test]
async fn a_create_retried_after_a_timeout_meets_itself_and_succeeds() {
    let (_, requests) = create_with_an_answer_after_commit(FaultAction::timeout()).await;
    assert_eq!(
        requests,
        [
            format!("POST {SECRETS} -> Some(504) (handled Some(201), [Failed])"),
            format!("POST {SECRETS} -> Some(409) (handled Some(409), [])"),
            format!("GET {SECRETS}/rchart.release.v1.web.v1 -> Some(200) (handled Some(200), [])"),
        ]
    );
}

/// An update whose connection drops after the server committed it is read back too.
#[tokio::test]
async fn an_update_whose_answer_is_lost_after_its_commit_is_read_back() {
    let server = TestApiServer::start().unwrap();
    let store = ReleaseStore::new(client(&server).await, NAMESPACE);
    let created = store
        .create(&record("web", 1, Status::PendingInstall))
        .await
        .unwrap();
    server.clear_requests();
    server.add_fault(Fault::new(
        RequestMatch::of(Operation::Update).resource("secrets"),
        FaultAction::Drop.after_commit(),
    ));
    let mut deployed = created;
    deployed.record.status = Status::Deployed;
    let updated = store
        .update(&deployed)
        .await
        .expect("the committed update counts");
    assert_eq!(
        exchanges(&server)[0],
        format!("PUT {SECRETS}/rchart.release.v1.web.v1 -> None (handled Some(200), [Dropped])")
    );
    assert!(
        exchanges(&server)[1..]
            .iter()
            .all(|exchange| exchange.starts_with("GET ")),
        "read back, not written again: {:?}",
        exchanges(&server)
    );
    let loaded = store.load("web", 1).await.unwrap();
    assert_eq!(loaded.record.status, Status::Deployed);
    assert_eq!(loaded.resource_version, updated.resource_version);

    // The next update starts from what was read back, so it is no conflict.
    let mut failed = updated;
    failed.record.status = Status::Failed;
    store.update(&failed).await.unwrap();
}

/// A chunked record whose head create is committed but unanswered: its chunks stay, the
/// head is read back, and the record reads whole.
#[tokio::test]
async fn a_chunked_create_whose_head_answer_is_lost_keeps_its_chunks() {
    let server = TestApiServer::start().unwrap();
    let store = ReleaseStore::new(client(&server).await, NAMESPACE);
    let big = big_record("big", 1, 1_500_000);
    // One chunk, then the head.
    server.clear_requests();
    server.add_fault(Fault::new(
        RequestMatch::of(Operation::Create)
            .resource("secrets")
            .nth(2),
        FaultAction::Drop.after_commit(),
    ));
    let created = store.create(&big).await.expect("the committed head counts");
    assert_eq!(created.chunk_count(), 1);
    let posts: Vec<String> = exchanges(&server)
        .into_iter()
        .filter(|exchange| exchange.starts_with("POST"))
        .collect();
    assert_eq!(
        posts,
        [
            format!("POST {SECRETS} -> Some(201) (handled Some(201), [])"),
            format!("POST {SECRETS} -> None (handled Some(201), [Dropped])"),
        ]
    );
    assert_eq!(chunk_names(&server, "big").len(), 1);
    assert!(
        store.load("big", 1).await.unwrap().record == big,
        "the record reads back whole"
    );
}
