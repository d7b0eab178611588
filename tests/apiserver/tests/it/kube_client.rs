//! kube-rs, the client rchart uses, against the server: discovery,
//! server-side apply of dynamic objects, waiting, watching and errors.

use std::path::Path;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::discovery::{Discovery, Scope};
use kube::runtime::wait::{await_condition, conditions};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Config};
use rchart_test_apiserver::{KubeconfigOptions, Readiness, ReadinessRule, TestApiServer};
use serde_json::json;

use crate::support::PATIENCE;

pub async fn client(kubeconfig: &Path) -> Client {
    let kubeconfig = Kubeconfig::read_from(kubeconfig).expect("read kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("load kubeconfig");
    Client::try_from(config).expect("build client")
}

fn deployment_gvk() -> GroupVersionKind {
    GroupVersionKind::gvk("apps", "v1", "Deployment")
}

#[tokio::test]
async fn discovery_resolves_kinds_both_ways() {
    let server = TestApiServer::start().unwrap();
    let client = client(server.kubeconfig_path()).await;
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    let (resource, capabilities) = discovery
        .resolve_gvk(&deployment_gvk())
        .expect("deployments discovered");
    assert_eq!(resource.plural, "deployments");
    assert_eq!(capabilities.scope, Scope::Namespaced);
    let (namespaces, capabilities) = discovery
        .resolve_gvk(&GroupVersionKind::gvk("", "v1", "Namespace"))
        .unwrap();
    assert_eq!(
        (namespaces.plural.as_str(), capabilities.scope),
        ("namespaces", Scope::Cluster)
    );

    let aggregated = Discovery::new(client)
        .run_aggregated()
        .await
        .expect("aggregated discovery");
    let (resource, _) = aggregated
        .resolve_gvk(&deployment_gvk())
        .expect("deployments in aggregated discovery");
    assert_eq!(resource.plural, "deployments");
}

#[tokio::test]
async fn server_side_apply_of_dynamic_objects_and_waiting_for_rollout() {
    let server = TestApiServer::builder()
        .readiness(ReadinessRule::kind(
            "Deployment",
            Readiness::after(Duration::from_millis(200)),
        ))
        .start()
        .unwrap();
    let client = client(server.kubeconfig_path()).await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let (resource, _) = discovery.resolve_gvk(&deployment_gvk()).unwrap();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &resource);
    let manifest: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app.kubernetes.io/managed-by": "rchart"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}
        }
    }))
    .unwrap();
    let params = PatchParams::apply("rchart").force();
    let applied = api
        .patch("web", &params, &Patch::Apply(&manifest))
        .await
        .expect("apply");
    let managers = applied.metadata.managed_fields.clone().unwrap_or_default();
    assert_eq!(managers[0].manager.as_deref(), Some("rchart"));
    assert_eq!(managers[0].operation.as_deref(), Some("Apply"));

    let dry = api
        .patch(
            "web",
            &PatchParams::apply("rchart").force().dry_run(),
            &Patch::Apply(&manifest),
        )
        .await
        .expect("dry-run apply");
    assert_eq!(dry.metadata.name.as_deref(), Some("web"));

    let deployments: Api<Deployment> = Api::namespaced(client, "default");
    let ready = tokio::time::timeout(
        PATIENCE,
        await_condition(deployments, "web", conditions::is_deployment_completed()),
    )
    .await
    .expect("deployment completes in time")
    .expect("watch works");
    let status = ready.and_then(|d| d.status).expect("status");
    assert_eq!(status.available_replicas, Some(2));
}

#[tokio::test]
async fn errors_map_to_kube_status_helpers() {
    let server = TestApiServer::start().unwrap();
    let client = client(server.kubeconfig_path()).await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client, "default");

    let missing = config_maps.get("missing").await.unwrap_err();
    assert!(
        matches!(&missing, kube::Error::Api(status) if status.is_not_found()),
        "{missing:?}"
    );

    let object: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "x"}, "data": {"a": "1"}})).unwrap();
    let created = config_maps
        .create(&PostParams::default(), &object)
        .await
        .unwrap();
    let duplicate = config_maps
        .create(&PostParams::default(), &object)
        .await
        .unwrap_err();
    assert!(
        matches!(&duplicate, kube::Error::Api(status) if status.is_already_exists()),
        "{duplicate:?}"
    );

    let mut changed = created.clone();
    changed.data = Some([("a".to_string(), "2".to_string())].into());
    config_maps
        .replace("x", &PostParams::default(), &changed)
        .await
        .unwrap();
    let stale = config_maps
        .replace("x", &PostParams::default(), &changed)
        .await
        .unwrap_err();
    assert!(
        matches!(&stale, kube::Error::Api(status) if status.is_conflict()),
        "{stale:?}"
    );

    let mut too_big = object.clone();
    too_big.metadata.name = Some("big".into());
    too_big.data = Some([("a".to_string(), "x".repeat(1_048_577))].into());
    let invalid = config_maps
        .create(&PostParams::default(), &too_big)
        .await
        .unwrap_err();
    assert!(
        matches!(&invalid, kube::Error::Api(status) if status.is_invalid()),
        "{invalid:?}"
    );

    config_maps
        .delete("x", &DeleteParams::background())
        .await
        .expect("delete");

    let wrong = client_with(&server, KubeconfigOptions::default().wrong_token()).await;
    let rejected = Api::<ConfigMap>::namespaced(wrong, "default")
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&rejected, kube::Error::Api(status) if status.code == 401 && status.reason == "Unauthorized"),
        "{rejected:?}"
    );
}

async fn client_with(server: &TestApiServer, options: KubeconfigOptions) -> Client {
    client(&server.kubeconfig_with(&options).unwrap()).await
}

#[tokio::test]
async fn watchers_see_changes_in_both_list_modes() {
    let server = TestApiServer::start().unwrap();
    let client = client(server.kubeconfig_path()).await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client, "default");
    for streaming in [false, true] {
        let name = format!("watched-{streaming}");
        let config = if streaming {
            watcher::Config::default().streaming_lists()
        } else {
            watcher::Config::default()
        };
        let mut events = watcher(config_maps.clone(), config.labels("watched=yes"))
            .applied_objects()
            .boxed();
        let object: ConfigMap = serde_json::from_value(
            json!({"metadata": {"name": name, "labels": {"watched": "yes"}}}),
        )
        .unwrap();
        config_maps
            .create(&PostParams::default(), &object)
            .await
            .unwrap();
        let seen = tokio::time::timeout(PATIENCE, async {
            loop {
                let object = events
                    .try_next()
                    .await
                    .expect("watch event")
                    .expect("stream continues");
                if object.metadata.name.as_deref() == Some(name.as_str()) {
                    return object;
                }
            }
        })
        .await
        .expect("the created object is seen");
        assert_eq!(seen.metadata.labels.unwrap()["watched"], "yes");
    }
}
