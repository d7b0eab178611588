//! Suite modes: every shape of cluster at once, as a suite run with
//! `RCHART_TEST_APISERVER_MODES` naming them all gets.

use std::time::Instant;

use rchart_test_apiserver::{
    CONTROLLER_LAG, CRD_ESTABLISHMENT_DELAY, Mode, SLOW_LINK_LATENCY, TestApiServer,
};

use crate::support::{Client, deployment, eventually, widgets_crd};

#[test]
fn every_mode_gives_its_shape() {
    let server = TestApiServer::builder().modes(&Mode::ALL).start().unwrap();
    let client = Client::new(&server);

    let started = Instant::now();
    let groups = client.send_with_accept(
        "/apis",
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
    );
    assert!(started.elapsed() >= SLOW_LINK_LATENCY, "slow-link");
    assert_eq!(groups.body["kind"], "APIGroupList", "legacy-discovery");

    let watch = client.watch(&format!(
        "/apis/apps/v1/namespaces/default/deployments?watch=true&resourceVersion={}",
        server.resource_version()
    ));
    let written = Instant::now();
    client.post(
        "/apis/apps/v1/namespaces/default/deployments",
        &deployment("web", 1, "nginx:1"),
    );
    assert_eq!(watch.next_change()["type"], "ADDED");
    let first = watch.next_change();
    assert!(written.elapsed() >= CONTROLLER_LAG, "lagging-controllers");
    assert_eq!(
        first["object"]["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1",
        "foreign-managers"
    );

    let created = Instant::now();
    client.post(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        &widgets_crd(),
    );
    eventually("the CRD to be served", || {
        (client.get("/apis/example.com/v1").status == 200).then_some(())
    });
    assert!(
        created.elapsed() >= CRD_ESTABLISHMENT_DELAY,
        "lagging-controllers: CRDs"
    );
}
