//! Other field managers: with the mode on, kube-controller-manager writes
//! fields of applied objects besides status, so managedFields carry several
//! managers and re-applying never conflicts.

use rchart_test_apiserver::TestApiServer;
use serde_json::{Value, json};

use crate::support::{Client, eventually};

const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/default/deployments/web?fieldManager=rchart";
const CLAIM: &str = "/api/v1/namespaces/default/persistentvolumeclaims/data?fieldManager=rchart";
const APPLY: &str = "application/apply-patch+yaml";

fn web_config(image: &str, replicas: u32) -> String {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "annotations": {"team": "platform"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]}
            }
        }
    })
    .to_string()
}

/// `manager operation [subresource]` of each managedFields entry.
fn managers(object: &Value) -> Vec<String> {
    object["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            ["manager", "operation", "subresource"]
                .iter()
                .filter_map(|field| entry[*field].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn entry<'a>(object: &'a Value, manager: &str, subresource: Option<&str>) -> &'a Value {
    object["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == manager && e["subresource"].as_str() == subresource)
        .unwrap_or_else(|| panic!("no entry for {manager} {subresource:?}: {object}"))
}

/// The Deployment once it is ready at `generation` with `revision`.
fn web_at(server: &TestApiServer, generation: i64, revision: &str) -> Value {
    eventually("the rollout", || {
        let web = server.get("deployments", "default", "web")?;
        let done = web["status"]["observedGeneration"] == generation
            && web["status"]["availableReplicas"].is_number()
            && web["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == revision;
        done.then_some(web)
    })
}

#[test]
fn deployments_get_a_revision_annotation_from_another_manager() {
    let server = TestApiServer::builder()
        .foreign_managers(true)
        .start()
        .unwrap();
    let client = Client::new(&server);
    let applied = client.patch(DEPLOYMENT, APPLY, &web_config("nginx:1", 1));
    assert_eq!(applied.status, 201, "{}", applied.body);
    let web = web_at(&server, 1, "1");
    assert_eq!(
        managers(&web),
        [
            "rchart Apply",
            "kube-controller-manager Update",
            "kube-controller-manager Update status"
        ]
    );
    assert_eq!(
        entry(&web, "kube-controller-manager", None)["fieldsV1"],
        json!({"f:metadata": {"f:annotations": {"f:deployment.kubernetes.io/revision": {}}}})
    );

    let new_image = client.patch(DEPLOYMENT, APPLY, &web_config("nginx:2", 1));
    assert_eq!(new_image.status, 200, "no conflict: {}", new_image.body);
    assert_eq!(
        new_image.body["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1",
        "the applier's write keeps the other manager's field"
    );
    web_at(&server, 2, "2");
    let applied = client.patch(DEPLOYMENT, APPLY, &web_config("nginx:2", 3));
    assert_eq!(applied.status, 200, "{}", applied.body);
    let scaled = web_at(&server, 3, "2");
    assert_eq!(
        scaled["metadata"]["annotations"],
        json!({"team": "platform", "deployment.kubernetes.io/revision": "2"}),
        "scaling is no new revision"
    );
}

#[test]
fn bound_claims_get_their_volume_from_another_manager() {
    let server = TestApiServer::builder()
        .foreign_managers(true)
        .start()
        .unwrap();
    let client = Client::new(&server);
    let claim = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    })
    .to_string();
    let created = client.patch(CLAIM, APPLY, &claim);
    let uid = created.body["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let bound = eventually("the claim to bind", || {
        let claim = server.get("pvc", "default", "data")?;
        (claim["status"]["phase"] == "Bound").then_some(claim)
    });
    assert_eq!(bound["spec"]["volumeName"], format!("pvc-{uid}"));
    assert_eq!(
        bound["metadata"]["annotations"],
        json!({"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes"})
    );
    let reapplied = client.patch(CLAIM, APPLY, &claim);
    assert_eq!(reapplied.status, 200, "{}", reapplied.body);
    assert_eq!(reapplied.body["spec"]["volumeName"], format!("pvc-{uid}"));
}

#[test]
fn without_the_mode_only_status_has_another_manager() {
    let server = TestApiServer::start().unwrap();
    let client = Client::new(&server);
    client.patch(DEPLOYMENT, APPLY, &web_config("nginx:1", 1));
    let web = eventually("ready", || {
        let web = server.get("deployments", "default", "web")?;
        (web["status"]["availableReplicas"] == 1).then_some(web)
    });
    assert_eq!(web["metadata"]["annotations"], json!({"team": "platform"}));
    assert_eq!(
        managers(&web),
        ["rchart Apply", "kube-controller-manager Update status"]
    );
}
