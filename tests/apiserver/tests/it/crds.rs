//! When CustomResourceDefinitions become established: at once, after a
//! delay, never, or when the test says so. Until then their kind is 404 and
//! absent from discovery.

use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;
use kube::runtime::wait::{await_condition, conditions};
use rchart_test_apiserver::{CrdEstablishment, Operation, RequestMatch, TestApiServer};
use serde_json::{Value, json};

use crate::kube_client::client;
use crate::support::{Client, PATIENCE, widgets_crd};

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const WIDGETS: &str = "/apis/example.com/v1/namespaces/default/widgets";

fn widget() -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
}

fn server_with(establishment: CrdEstablishment) -> (TestApiServer, Client) {
    let server = TestApiServer::builder()
        .crd_establishment(establishment)
        .start()
        .unwrap();
    let client = Client::new(&server);
    (server, client)
}

fn condition_types(crd: &Value) -> Vec<String> {
    crd["status"]["conditions"]
        .as_array()
        .map(|conditions| {
            conditions
                .iter()
                .filter(|c| c["status"] == "True")
                .map(|c| c["type"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn served(client: &Client) -> bool {
    let groups = client.get("/apis").body;
    let listed = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["name"] == "example.com");
    let list = client.get(WIDGETS).status;
    assert_eq!(listed, list == 200, "discovery and serving agree");
    listed
}

#[test]
fn a_waiting_crd_is_not_served_until_the_test_establishes_it() {
    let (server, client) = server_with(CrdEstablishment::Manual);
    let created = client.post(CRDS, &widgets_crd());
    assert_eq!(created.status, 201);
    assert_eq!(
        created.body["status"],
        json!({"acceptedNames": {"plural": "", "kind": ""}, "storedVersions": ["v1"]})
    );
    assert!(!served(&client));
    let missing = client.post(WIDGETS, &widget());
    assert_eq!(
        (missing.status, missing.body["message"].as_str()),
        (
            404,
            Some("the server could not find the requested resource")
        )
    );
    assert_eq!(client.get("/apis/example.com/v1").status, 404);

    assert_eq!(server.establish_crds(), ["widgets.example.com"]);
    assert!(served(&client));
    let crd = client.get(&format!("{CRDS}/widgets.example.com")).body;
    assert_eq!(condition_types(&crd), ["NamesAccepted", "Established"]);
    assert_eq!(crd["status"]["acceptedNames"]["kind"], "Widget");
    assert_eq!(client.post(WIDGETS, &widget()).status, 201);
    assert!(server.establish_crds().is_empty(), "nothing left waiting");
}

#[test]
fn a_delayed_crd_is_established_after_the_delay() {
    let delay = Duration::from_millis(300);
    let (server, client) = server_with(CrdEstablishment::after(delay));
    let watch = client.watch(&format!(
        "{CRDS}?watch=true&resourceVersion={}",
        server.resource_version()
    ));
    let created = Instant::now();
    client.post(CRDS, &widgets_crd());
    assert_eq!(watch.next_change()["type"], "ADDED");
    let established = watch.next_change();
    assert!(created.elapsed() >= delay, "{:?}", created.elapsed());
    assert_eq!(
        condition_types(&established["object"]),
        ["NamesAccepted", "Established"]
    );
    assert!(served(&client));
}

#[test]
fn a_crd_that_is_never_established_stays_unserved_through_updates() {
    let (server, client) = server_with(CrdEstablishment::Never);
    client.post(CRDS, &widgets_crd());
    client.patch(
        &format!("{CRDS}/widgets.example.com"),
        "application/merge-patch+json",
        r#"{"metadata":{"labels":{"touched":"yes"}}}"#,
    );
    let crd = client.get(&format!("{CRDS}/widgets.example.com")).body;
    assert!(condition_types(&crd).is_empty());
    assert!(!served(&client));
    server.set_crd_establishment(CrdEstablishment::Immediate);
    client.patch(
        &format!("{CRDS}/widgets.example.com"),
        "application/merge-patch+json",
        r#"{"metadata":{"labels":{"touched":"again"}}}"#,
    );
    assert!(served(&client), "a change after the switch establishes it");
}

#[tokio::test]
async fn kube_waits_for_establishment_until_the_test_establishes() {
    let server = TestApiServer::builder()
        .crd_establishment(CrdEstablishment::Manual)
        .start()
        .unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client(server.kubeconfig_path()).await);
    crds.create(
        &Default::default(),
        &serde_json::from_value(widgets_crd()).unwrap(),
    )
    .await
    .unwrap();
    // Hold the watch so the client has surely seen the CRD waiting first.
    let gate =
        server.hold(RequestMatch::of(Operation::Watch).resource("customresourcedefinitions"));
    let waiting = tokio::spawn(await_condition(
        crds,
        "widgets.example.com",
        conditions::is_crd_established(),
    ));
    let gate = tokio::task::spawn_blocking(move || {
        gate.wait_for(1);
        gate
    })
    .await
    .unwrap();
    assert!(!waiting.is_finished());
    server.establish_crds();
    gate.release_all();
    tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("established in time")
        .unwrap()
        .unwrap();
}

#[test]
fn establishment_is_controlled_over_http() {
    let (_server, client) = server_with(CrdEstablishment::Immediate);
    let changed = client.put("/__test/crds", &json!({"establishment": "manual"}));
    assert_eq!(
        changed.body,
        json!({"establishment": "manual", "waiting": []})
    );
    client.post(CRDS, &widgets_crd());
    assert_eq!(
        client.get("/__test/crds").body["waiting"],
        json!(["widgets.example.com"])
    );
    assert_eq!(
        client.post("/__test/crds/establish", &json!({})).body,
        json!({"established": ["widgets.example.com"]})
    );
    assert!(served(&client));
}
