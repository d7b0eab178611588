//! What the real control plane puts in every new namespace: the `default`
//! ServiceAccount and the `kube-root-ca.crt` ConfigMap.

use serde_json::{Value, json};

use super::{Target, WriteOptions, write};
use crate::objects;
use crate::store::Store;

/// A placeholder cluster CA, shaped like the real one (clients only read it).
const ROOT_CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhyY2hhcnQt\ndGVzdC1hcGlzZXJ2ZXItY2EwHhcNMjYwMTAxMDAwMDAwWhcNMzYwMTAxMDAwMDAw\nWjAjMSEwHwYDVQQDDBhyY2hhcnQtdGVzdC1hcGlzZXJ2ZXItY2E=\n-----END CERTIFICATE-----\n";

/// Create the per-namespace objects after a Namespace was stored.
pub fn populate(store: &mut Store, target: &Target, namespace: &Value) {
    if target.resource.custom || target.resource.kind != "Namespace" {
        return;
    }
    let name = objects::meta_str(namespace, "name")
        .unwrap_or_default()
        .to_string();
    let options = WriteOptions {
        dry_run: false,
        manager: "kube-controller-manager".to_string(),
        time: objects::now(),
    };
    let children = [
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}}),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "kube-root-ca.crt", "namespace": name, "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
            "data": {"ca.crt": ROOT_CA},
        }),
    ];
    for child in children {
        let kind = child["kind"].as_str().unwrap_or_default().to_string();
        let Some(resource) = store.catalogue.find_kind("v1", &kind) else {
            continue;
        };
        let child_target = Target {
            resource,
            namespace: Some(name.clone()),
            name: None,
            status: false,
            scale: false,
        };
        // Both are new in a new namespace; a failure here would only mean they exist already.
        let _ = write::create_object(
            store,
            &child_target,
            &options,
            child,
            write::Ownership::RecordUpdate,
        );
    }
}
