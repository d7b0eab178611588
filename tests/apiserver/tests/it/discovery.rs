//! Legacy discovery mode: the shape of Kubernetes before 1.27 and of
//! proxies, which answer `/api` and `/apis` with the plain documents
//! whatever the client asks for.

use kube::core::GroupVersionKind;
use kube::discovery::Discovery;
use rchart_test_apiserver::{DiscoveryMode, TestApiServer};

use crate::kube_client::client;
use crate::support::{Client, Kubectl, kubectl};

const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

fn legacy_server() -> TestApiServer {
    TestApiServer::builder()
        .discovery(DiscoveryMode::Legacy)
        .start()
        .expect("start server")
}

#[test]
fn legacy_servers_answer_the_plain_documents_whatever_the_accept_header_asks_for() {
    let server = legacy_server();
    let client = Client::new(&server);
    for accept in [AGGREGATED, &format!("{AGGREGATED},application/json")] {
        let core = client.send_with_accept("/api", accept);
        assert_eq!(
            (core.status, core.content_type.as_str()),
            (200, "application/json")
        );
        assert_eq!(core.body["kind"], "APIVersions");
        assert_eq!(core.body["versions"][0], "v1");
        let groups = client.send_with_accept("/apis", accept);
        assert_eq!(
            (groups.status, groups.content_type.as_str()),
            (200, "application/json")
        );
        assert_eq!(groups.body["kind"], "APIGroupList");
        assert!(
            groups.body["groups"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["name"] == "apps")
        );
    }
    let apps = client.send_with_accept("/apis/apps/v1", AGGREGATED);
    assert_eq!(
        (apps.status, apps.body["kind"].as_str()),
        (200, Some("APIResourceList"))
    );
    assert_eq!(client.get("/api/v1").body["groupVersion"], "v1");
}

#[test]
fn aggregated_servers_answer_v2_only() {
    let server = TestApiServer::start().unwrap();
    let client = Client::new(&server);
    let aggregated = client.send_with_accept("/apis", &format!("{AGGREGATED},application/json"));
    assert_eq!(aggregated.content_type, AGGREGATED);
    assert_eq!(aggregated.body["kind"], "APIGroupDiscoveryList");
    let v2beta1 = client.send_with_accept(
        "/apis",
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json",
    );
    assert_eq!(
        (v2beta1.content_type.as_str(), v2beta1.body["kind"].as_str()),
        ("application/json", Some("APIGroupList")),
        "1.33 and later no longer serve v2beta1"
    );
}

#[tokio::test]
async fn kube_aggregated_discovery_finds_nothing_on_a_legacy_server_and_legacy_discovery_works() {
    let server = legacy_server();
    let client = client(server.kubeconfig_path()).await;
    let deployment = GroupVersionKind::gvk("apps", "v1", "Deployment");

    // The trap: the legacy document parses as an aggregated list with no items.
    let aggregated = Discovery::new(client.clone())
        .run_aggregated()
        .await
        .expect("aggregated discovery answers Ok");
    assert_eq!(aggregated.groups().count(), 0);
    assert!(aggregated.resolve_gvk(&deployment).is_none());

    let legacy = Discovery::new(client)
        .run()
        .await
        .expect("legacy discovery");
    let (resource, _) = legacy.resolve_gvk(&deployment).expect("deployments");
    assert_eq!(resource.plural, "deployments");
}

#[test]
fn kubectl_works_against_a_legacy_server() {
    let Some(binary) = kubectl() else { return };
    let server = legacy_server();
    let kubectl = Kubectl::new(binary, server.kubeconfig_path());
    let resources = kubectl.ok(&["api-resources", "--api-group=apps", "-o", "name"]);
    assert!(
        resources.lines().any(|l| l == "deployments.apps"),
        "{resources}"
    );
    let requests = server.requests();
    assert!(
        requests.iter().any(|r| r.path == "/apis/apps/v1"),
        "kubectl falls back to per-group discovery: {requests:?}"
    );
}
