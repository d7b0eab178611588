//! The rendered manifests: rendering them, reading objects out of them, and checking
//! them against the Kubernetes API types.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;

use crate::support::{rchart, stderr_of, stdout_of};

use super::RELEASE;

pub(super) fn chart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("chart")
}

pub(super) fn values_file(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("values")
        .join(name)
        .display()
        .to_string()
}

/// `rchart template` output, as text and as the objects kubectl would read from it.
pub(super) struct Rendered {
    pub(super) text: String,
    pub(super) objects: Vec<Value>,
}

impl Rendered {
    pub(super) fn all(&self, kind: &str) -> Vec<&Value> {
        self.objects
            .iter()
            .filter(|object| object["kind"] == kind)
            .collect()
    }

    pub(super) fn one(&self, kind: &str) -> &Value {
        match self.all(kind).as_slice() {
            [object] => object,
            found => panic!("expected one {kind}, found {}", found.len()),
        }
    }

    pub(super) fn named(&self, kind: &str, name: &str) -> Option<&Value> {
        self.all(kind)
            .into_iter()
            .find(|object| object["metadata"]["name"] == name)
    }
}

pub(super) fn render(args: &[&str]) -> Rendered {
    let output = rchart()
        .args(["template", RELEASE])
        .arg(chart_dir())
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "rchart template {args:?}: {}",
        stderr_of(&output)
    );
    let text = stdout_of(&output);
    // Read as kubectl reads manifests: YAML 1.1, where 0644 is an octal number.
    let options = serde_saphyr::options! { legacy_octal_numbers: true };
    let objects = serde_saphyr::from_multiple_with_options(&text, options)
        .unwrap_or_else(|e| panic!("rendered manifests are not YAML: {e}\n{text}"));
    Rendered { text, objects }
}

pub(super) fn container(deployment: &Value) -> &Value {
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1, "the pod runs one container");
    &containers[0]
}

/// The ConfigMap's routes, as the server reads them from `config.yml`.
pub(super) fn configured_routes(rendered: &Rendered) -> BTreeMap<String, String> {
    let config_map = rendered.one("ConfigMap");
    let text = config_map["data"]["config.yml"].as_str().unwrap();
    let config: Value = serde_saphyr::from_str(text).unwrap();
    config["routes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, content)| (path.clone(), content.as_str().unwrap().to_string()))
        .collect()
}

pub(super) fn routes_of_values_file(file: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(values_file(file)).unwrap();
    let values: Value = serde_saphyr::from_str(&text).unwrap();
    values["routes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, content)| (path.clone(), content.as_str().unwrap().to_string()))
        .collect()
}

pub(super) fn ingress_paths(ingress: &Value) -> Vec<&str> {
    ingress["spec"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|rule| rule["http"]["paths"].as_array().unwrap())
        .map(|entry| entry["path"].as_str().unwrap())
        .collect()
}

pub(super) fn mounted_config_maps(deployment: &Value) -> Vec<&str> {
    deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|volume| volume["configMap"]["name"].as_str())
        .collect()
}

/// The Service port a reference (a port name or number) designates.
pub(super) fn find_service_port<'a>(service: &'a Value, reference: &Value) -> &'a Value {
    service["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|port| match (&reference["name"], &reference["number"]) {
            (Value::String(name), _) => port["name"] == *name,
            (_, number @ Value::Number(_)) => port["port"] == *number,
            _ => false,
        })
        .unwrap_or_else(|| panic!("Service has no port {reference}"))
}

/// The container port a probe or a Service's `targetPort` designates: a number, or the
/// name of one of the container's ports.
pub(super) fn resolve_container_port(container: &Value, port: &Value) -> u16 {
    let number = match port {
        Value::Number(number) => number.as_u64(),
        Value::String(name) => container["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|declared| declared["name"] == *name)
            .and_then(|declared| declared["containerPort"].as_u64()),
        _ => None,
    };
    let number = number.unwrap_or_else(|| panic!("the container has no port {port}"));
    u16::try_from(number).unwrap()
}

pub(super) fn is_subset(labels: &Value, of: &Value) -> bool {
    let labels = labels.as_object().unwrap();
    !labels.is_empty() && labels.iter().all(|(key, value)| of[key] == *value)
}

pub(super) fn decoded_secret_value(secret: &Value, key: &str) -> String {
    let encoded = secret["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("Secret {} has no key {key}", secret["metadata"]["name"]));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

/// Reads every object into its Kubernetes API type and writes it back: a field the API
/// does not know (a typo such as `readOnlyRootFileSystem`) is lost on the way, and a value
/// of the wrong type does not read at all.
pub(super) fn assert_kubernetes_knows_every_field(rendered: &Rendered) {
    use k8s_openapi::api::{apps, core, networking, policy};

    fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(object: &Value) -> Value {
        let typed: T = serde_json::from_value(object.clone())
            .unwrap_or_else(|e| panic!("{} {}: {e}", object["kind"], object["metadata"]["name"]));
        serde_json::to_value(typed).unwrap()
    }

    for object in &rendered.objects {
        let kind = object["kind"].as_str().unwrap();
        let written_back = match kind {
            "ConfigMap" => round_trip::<core::v1::ConfigMap>(object),
            "Secret" => round_trip::<core::v1::Secret>(object),
            "Service" => round_trip::<core::v1::Service>(object),
            "Deployment" => round_trip::<apps::v1::Deployment>(object),
            "Pod" => round_trip::<core::v1::Pod>(object),
            "Ingress" => round_trip::<networking::v1::Ingress>(object),
            "PodDisruptionBudget" => round_trip::<policy::v1::PodDisruptionBudget>(object),
            other => panic!("the chart renders a {other}; add its API type here"),
        };
        if let Some(path) = first_difference(object, &written_back, String::new()) {
            panic!(
                "{kind} {}: the Kubernetes API does not know {path} (it reads back as {})",
                object["metadata"]["name"],
                written_back.pointer(&path).unwrap_or(&Value::Null)
            );
        }
    }
}

/// The JSON pointer of the first place where `written_back` differs from `original`.
fn first_difference(original: &Value, written_back: &Value, path: String) -> Option<String> {
    match (original, written_back) {
        (Value::Object(original), Value::Object(written_back)) => original
            .iter()
            .find_map(|(key, value)| {
                let inner = written_back.get(key).unwrap_or(&Value::Null);
                first_difference(value, inner, format!("{path}/{}", pointer_token(key)))
            })
            .or_else(|| {
                let extra = written_back
                    .keys()
                    .find(|key| !original.contains_key(*key))?;
                Some(format!("{path}/{}", pointer_token(extra)))
            }),
        (Value::Array(original), Value::Array(written_back))
            if original.len() == written_back.len() =>
        {
            original
                .iter()
                .zip(written_back)
                .enumerate()
                .find_map(|(index, (a, b))| first_difference(a, b, format!("{path}/{index}")))
        }
        _ if original == written_back => None,
        _ => Some(path),
    }
}

/// A map key as one JSON pointer token: label keys such as `app.kubernetes.io/name` hold
/// a `/`.
fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}
