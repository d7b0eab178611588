//! Field defaults the real server fills in on every write, for the common
//! built-in kinds. Only defaults that clients commonly read or diff against
//! are covered.

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Map, Value, json};

use crate::catalogue::ResourceType;

/// Fill in defaults for an object being created or updated.
pub fn apply(resource: &ResourceType, object: &mut Value) {
    let Value::Object(map) = object else {
        return;
    };
    match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "Namespace") => namespace(map),
        ("", "Secret") => secret(map),
        ("", "Service") => service(map),
        ("", "PersistentVolumeClaim") => {
            set_default(map, "spec", json!({}));
            set_default(obj(map, "spec"), "volumeMode", json!("Filesystem"));
        }
        ("", "Pod") => {
            pod_spec(obj(map, "spec"));
            set_default(obj(map, "status"), "phase", json!("Pending"));
        }
        ("apps", "Deployment") => {
            let spec = obj(map, "spec");
            set_default(spec, "replicas", json!(1));
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(spec, "progressDeadlineSeconds", json!(600));
            rolling_update(
                spec,
                "strategy",
                json!({"maxSurge": "25%", "maxUnavailable": "25%"}),
            );
            template(spec);
        }
        ("apps", "StatefulSet") => {
            let spec = obj(map, "spec");
            set_default(spec, "replicas", json!(1));
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(spec, "podManagementPolicy", json!("OrderedReady"));
            rolling_update(spec, "updateStrategy", json!({"partition": 0}));
            template(spec);
        }
        ("apps", "DaemonSet") => {
            let spec = obj(map, "spec");
            set_default(spec, "revisionHistoryLimit", json!(10));
            rolling_update(
                spec,
                "updateStrategy",
                json!({"maxSurge": 0, "maxUnavailable": 1}),
            );
            template(spec);
        }
        ("apps", "ReplicaSet") => {
            let spec = obj(map, "spec");
            set_default(spec, "replicas", json!(1));
            template(spec);
        }
        ("batch", "Job") => job(map),
        ("batch", "CronJob") => {
            let spec = obj(map, "spec");
            set_default(spec, "concurrencyPolicy", json!("Allow"));
            set_default(spec, "suspend", json!(false));
            set_default(spec, "successfulJobsHistoryLimit", json!(3));
            set_default(spec, "failedJobsHistoryLimit", json!(1));
            if let Some(job_spec) = spec
                .get_mut("jobTemplate")
                .and_then(|t| t.get_mut("spec"))
                .and_then(Value::as_object_mut)
            {
                template(job_spec);
            }
        }
        _ => {}
    }
}

fn namespace(map: &mut Map<String, Value>) {
    let name = map
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let metadata = obj(map, "metadata");
    obj(metadata, "labels").insert("kubernetes.io/metadata.name".into(), name.into());
    set_default(obj(map, "spec"), "finalizers", json!(["kubernetes"]));
    set_default(obj(map, "status"), "phase", json!("Active"));
}

fn secret(map: &mut Map<String, Value>) {
    set_default(map, "type", json!("Opaque"));
    // `stringData` is write-only: it is merged into `data` and never stored.
    if let Some(Value::Object(string_data)) = map.shift_remove("stringData") {
        use base64::Engine as _;
        let data = obj(map, "data");
        for (key, value) in string_data {
            let text = value.as_str().unwrap_or_default();
            data.insert(
                key,
                base64::engine::general_purpose::STANDARD
                    .encode(text)
                    .into(),
            );
        }
    }
}

fn service(map: &mut Map<String, Value>) {
    let spec = obj(map, "spec");
    set_default(spec, "type", json!("ClusterIP"));
    set_default(spec, "sessionAffinity", json!("None"));
    let headless_or_external = spec.get("type").and_then(Value::as_str) == Some("ExternalName");
    if !headless_or_external {
        set_default(spec, "clusterIP", json!(next_cluster_ip()));
        let ip = spec.get("clusterIP").cloned().unwrap_or_default();
        set_default(spec, "clusterIPs", json!([ip]));
        set_default(spec, "ipFamilies", json!(["IPv4"]));
        set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            set_default(port, "protocol", json!("TCP"));
            if let Some(number) = port.get("port").cloned() {
                set_default(port, "targetPort", number);
            }
        }
    }
    set_default(obj(map, "status"), "loadBalancer", json!({}));
}

fn job(map: &mut Map<String, Value>) {
    let uid = map
        .get("metadata")
        .and_then(|m| m.get("uid"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let name = map
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let spec = obj(map, "spec");
    set_default(spec, "parallelism", json!(1));
    set_default(spec, "completions", json!(1));
    set_default(spec, "backoffLimit", json!(6));
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    // The job controller selects its pods by the job's UID.
    let manual = spec.get("manualSelector").and_then(Value::as_bool) == Some(true);
    if !manual && !uid.is_empty() {
        set_default(
            spec,
            "selector",
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
        );
        let labels = obj(obj(obj(spec, "template"), "metadata"), "labels");
        for (key, value) in [
            ("batch.kubernetes.io/controller-uid", &uid),
            ("batch.kubernetes.io/job-name", &name),
            ("controller-uid", &uid),
            ("job-name", &name),
        ] {
            set_default(labels, key, json!(value));
        }
    }
    if let Some(pod) = spec
        .get_mut("template")
        .and_then(|t| t.get_mut("spec"))
        .and_then(Value::as_object_mut)
    {
        pod_spec(pod);
    }
}

fn rolling_update(spec: &mut Map<String, Value>, field: &str, rolling: Value) {
    let strategy = obj(spec, field);
    set_default(strategy, "type", json!("RollingUpdate"));
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
        let params = obj(strategy, "rollingUpdate");
        if let Value::Object(defaults) = rolling {
            for (key, value) in defaults {
                set_default(params, &key, value);
            }
        }
    }
}

fn template(spec: &mut Map<String, Value>) {
    if let Some(pod) = spec
        .get_mut("template")
        .and_then(|t| t.get_mut("spec"))
        .and_then(Value::as_object_mut)
    {
        pod_spec(pod);
    }
}

fn pod_spec(spec: &mut Map<String, Value>) {
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    for field in ["containers", "initContainers"] {
        if let Some(Value::Array(containers)) = spec.get_mut(field) {
            for container in containers.iter_mut().filter_map(Value::as_object_mut) {
                container_defaults(container);
            }
        }
    }
}

fn container_defaults(container: &mut Map<String, Value>) {
    let image = container
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let pull = if image_is_latest(image) {
        "Always"
    } else {
        "IfNotPresent"
    };
    set_default(container, "imagePullPolicy", json!(pull));
    set_default(container, "resources", json!({}));
    set_default(
        container,
        "terminationMessagePath",
        json!("/dev/termination-log"),
    );
    set_default(container, "terminationMessagePolicy", json!("File"));
    if let Some(Value::Array(ports)) = container.get_mut("ports") {
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            set_default(port, "protocol", json!("TCP"));
        }
    }
}

/// Images without a tag or digest, or tagged `latest`, default to `Always`.
fn image_is_latest(image: &str) -> bool {
    if image.contains('@') {
        return false;
    }
    let last_segment = image.rsplit('/').next().unwrap_or(image);
    match last_segment.split_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

fn next_cluster_ip() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(10);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("10.96.{}.{}", (n / 250) % 250, n % 250 + 1)
}

fn set_default(map: &mut Map<String, Value>, key: &str, value: Value) {
    if !map.contains_key(key) {
        map.insert(key.to_string(), value);
    }
}

/// The object at `key`, created (or replaced, if not an object) as needed.
fn obj<'m>(map: &'m mut Map<String, Value>, key: &str) -> &'m mut Map<String, Value> {
    if !map.get(key).is_some_and(Value::is_object) {
        map.insert(key.to_string(), Value::Object(Map::new()));
    }
    map.get_mut(key)
        .and_then(Value::as_object_mut)
        .expect("just inserted an object")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;

    fn defaulted(plural: &str, group: &str, object: Value) -> Value {
        let resource = Catalogue::builtin().find(group, "v1", plural).unwrap();
        let mut object = object;
        apply(&resource, &mut object);
        object
    }

    #[test]
    fn deployment_defaults() {
        let object = defaulted(
            "deployments",
            "apps",
            json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "nginx:1.27"}]}}}}),
        );
        assert_eq!(object["spec"]["replicas"], 1);
        assert_eq!(
            object["spec"]["strategy"]["rollingUpdate"]["maxSurge"],
            "25%"
        );
        assert_eq!(
            object["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
    }

    #[test]
    fn secret_string_data_moves_into_data() {
        let object = defaulted("secrets", "", json!({"stringData": {"a": "hello"}}));
        assert_eq!(object, json!({"type": "Opaque", "data": {"a": "aGVsbG8="}}));
    }

    #[test]
    fn service_ports_default_protocol_and_target_port() {
        let object = defaulted("services", "", json!({"spec": {"ports": [{"port": 80}]}}));
        assert_eq!(
            object["spec"]["ports"][0],
            json!({"port": 80, "protocol": "TCP", "targetPort": 80})
        );
        assert!(
            object["spec"]["clusterIP"]
                .as_str()
                .unwrap()
                .starts_with("10.96.")
        );
    }

    #[test]
    fn latest_images_are_always_pulled() {
        assert!(image_is_latest("nginx"));
        assert!(image_is_latest("registry:5000/nginx"));
        assert!(!image_is_latest("registry:5000/nginx:1.0"));
        assert!(!image_is_latest("nginx@sha256:abc"));
    }
}
