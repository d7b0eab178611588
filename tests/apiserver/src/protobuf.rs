//! Reading the Kubernetes protobuf encoding for the few kinds kubectl's
//! `create namespace|configmap|secret|service|serviceaccount` commands send
//! as protobuf. Everything else kubectl sends as JSON. Answers are always JSON,
//! which kubectl accepts.
//!
//! Wire format: the magic `k8s\0`, then a `runtime.Unknown` message
//! (1: TypeMeta{1: apiVersion, 2: kind}, 2: raw object bytes), where the
//! object is the generated protobuf of the Go type.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::status::ApiError;

/// The protobuf media type.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

const MAGIC: &[u8] = b"k8s\0";

/// Decode a protobuf request body into the JSON form of the object.
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let envelope = body.strip_prefix(MAGIC).ok_or_else(|| {
        ApiError::bad_request(
            "provided object is not a Kubernetes protobuf message (missing k8s prefix)",
        )
    })?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for field in Fields::new(envelope) {
        match field.map_err(malformed)? {
            (1, Wire::Bytes(type_meta)) => {
                for field in Fields::new(type_meta) {
                    match field.map_err(malformed)? {
                        (1, Wire::Bytes(text)) => api_version = utf8(text)?,
                        (2, Wire::Bytes(text)) => kind = utf8(text)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(bytes)) => raw = bytes,
            _ => {}
        }
    }
    let mut object = match (api_version.as_str(), kind.as_str()) {
        ("v1", "Namespace") => namespace(raw)?,
        ("v1", "ConfigMap") => config_map(raw)?,
        ("v1", "Secret") => secret(raw)?,
        ("v1", "ServiceAccount") => service_account(raw)?,
        ("v1", "Service") => service(raw)?,
        _ => {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                format!(
                    "the test API server reads protobuf only for Namespace, ConfigMap, Secret, Service and ServiceAccount, not {api_version}/{kind}; send JSON (e.g. kubectl create -f)"
                ),
            ));
        }
    };
    object["apiVersion"] = Value::from(api_version);
    object["kind"] = Value::from(kind);
    Ok(object)
}

fn namespace(raw: &[u8]) -> Result<Value, ApiError> {
    let mut object = json!({});
    for field in Fields::new(raw) {
        match field.map_err(malformed)? {
            (1, Wire::Bytes(meta)) => object["metadata"] = object_meta(meta)?,
            (2, Wire::Bytes(spec)) => {
                let finalizers = strings(spec, 1)?;
                if !finalizers.is_empty() {
                    object["spec"] = json!({"finalizers": finalizers});
                }
            }
            _ => {}
        }
    }
    Ok(object)
}

fn config_map(raw: &[u8]) -> Result<Value, ApiError> {
    let mut object = json!({});
    let mut data = Map::new();
    let mut binary = Map::new();
    for field in Fields::new(raw) {
        match field.map_err(malformed)? {
            (1, Wire::Bytes(meta)) => object["metadata"] = object_meta(meta)?,
            (2, Wire::Bytes(entry)) => {
                let (key, value) = map_entry(entry)?;
                data.insert(key, utf8(value)?.into());
            }
            (3, Wire::Bytes(entry)) => {
                let (key, value) = map_entry(entry)?;
                binary.insert(key, base64_text(value).into());
            }
            (4, Wire::Varint(flag)) => object["immutable"] = Value::Bool(flag != 0),
            _ => {}
        }
    }
    if !data.is_empty() {
        object["data"] = Value::Object(data);
    }
    if !binary.is_empty() {
        object["binaryData"] = Value::Object(binary);
    }
    Ok(object)
}

fn secret(raw: &[u8]) -> Result<Value, ApiError> {
    let mut object = json!({});
    let mut data = Map::new();
    let mut string_data = Map::new();
    for field in Fields::new(raw) {
        match field.map_err(malformed)? {
            (1, Wire::Bytes(meta)) => object["metadata"] = object_meta(meta)?,
            (2, Wire::Bytes(entry)) => {
                let (key, value) = map_entry(entry)?;
                data.insert(key, base64_text(value).into());
            }
            (3, Wire::Bytes(kind)) => object["type"] = utf8(kind)?.into(),
            (4, Wire::Bytes(entry)) => {
                let (key, value) = map_entry(entry)?;
                string_data.insert(key, utf8(value)?.into());
            }
            (5, Wire::Varint(flag)) => object["immutable"] = Value::Bool(flag != 0),
            _ => {}
        }
    }
    if !data.is_empty() {
        object["data"] = Value::Object(data);
    }
    if !string_data.is_empty() {
        object["stringData"] = Value::Object(string_data);
    }
    Ok(object)
}

fn service_account(raw: &[u8]) -> Result<Value, ApiError> {
    let mut object = json!({});
    let mut pull_secrets = Vec::new();
    for field in Fields::new(raw) {
        match field.map_err(malformed)? {
            (1, Wire::Bytes(meta)) => object["metadata"] = object_meta(meta)?,
            (3, Wire::Bytes(reference)) => {
                let name = strings(reference, 1)?
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                pull_secrets.push(json!({"name": name}));
            }
            (4, Wire::Varint(flag)) => {
                object["automountServiceAccountToken"] = Value::Bool(flag != 0)
            }
            _ => {}
        }
    }
    if !pull_secrets.is_empty() {
        object["imagePullSecrets"] = Value::Array(pull_secrets);
    }
    Ok(object)
}

fn service(raw: &[u8]) -> Result<Value, ApiError> {
    let mut object = json!({});
    for field in Fields::new(raw) {
        match field.map_err(malformed)? {
            (1, Wire::Bytes(meta)) => object["metadata"] = object_meta(meta)?,
            (2, Wire::Bytes(spec)) => object["spec"] = service_spec(spec)?,
            _ => {}
        }
    }
    Ok(object)
}

/// ServiceSpec: 1 ports, 2 selector, 3 clusterIP, 4 type, 7 sessionAffinity, 10 externalName.
fn service_spec(raw: &[u8]) -> Result<Value, ApiError> {
    let mut spec = Map::new();
    let mut ports = Vec::new();
    let mut selector = Map::new();
    for field in Fields::new(raw) {
        match field.map_err(malformed)? {
            (1, Wire::Bytes(port)) => ports.push(service_port(port)?),
            (2, Wire::Bytes(entry)) => {
                let (key, value) = map_entry(entry)?;
                selector.insert(key, utf8(value)?.into());
            }
            (3, Wire::Bytes(text)) => insert_text(&mut spec, "clusterIP", text)?,
            (4, Wire::Bytes(text)) => insert_text(&mut spec, "type", text)?,
            (7, Wire::Bytes(text)) => insert_text(&mut spec, "sessionAffinity", text)?,
            (10, Wire::Bytes(text)) => insert_text(&mut spec, "externalName", text)?,
            _ => {}
        }
    }
    if !ports.is_empty() {
        spec.insert("ports".into(), Value::Array(ports));
    }
    if !selector.is_empty() {
        spec.insert("selector".into(), Value::Object(selector));
    }
    Ok(Value::Object(spec))
}

/// ServicePort: 1 name, 2 protocol, 3 port, 4 targetPort (IntOrString), 5 nodePort.
fn service_port(raw: &[u8]) -> Result<Value, ApiError> {
    let mut port = Map::new();
    for field in Fields::new(raw) {
        match field.map_err(malformed)? {
            (1, Wire::Bytes(text)) => insert_text(&mut port, "name", text)?,
            (2, Wire::Bytes(text)) => insert_text(&mut port, "protocol", text)?,
            (3, Wire::Varint(number)) => {
                port.insert("port".into(), number.into());
            }
            (4, Wire::Bytes(target)) => {
                port.insert("targetPort".into(), int_or_string(target)?);
            }
            (5, Wire::Varint(number)) if number != 0 => {
                port.insert("nodePort".into(), number.into());
            }
            _ => {}
        }
    }
    Ok(Value::Object(port))
}

/// IntOrString: 1 type (0 int, 1 string), 2 intVal, 3 strVal.
fn int_or_string(raw: &[u8]) -> Result<Value, ApiError> {
    let mut is_string = false;
    let mut number = 0u64;
    let mut text = String::new();
    for field in Fields::new(raw) {
        match field.map_err(malformed)? {
            (1, Wire::Varint(kind)) => is_string = kind == 1,
            (2, Wire::Varint(value)) => number = value,
            (3, Wire::Bytes(bytes)) => text = utf8(bytes)?,
            _ => {}
        }
    }
    Ok(if is_string {
        Value::from(text)
    } else {
        Value::from(number)
    })
}

/// The ObjectMeta fields a create request can carry.
fn object_meta(raw: &[u8]) -> Result<Value, ApiError> {
    let mut meta = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    let mut finalizers = Vec::new();
    for field in Fields::new(raw) {
        match field.map_err(malformed)? {
            (1, Wire::Bytes(text)) => insert_text(&mut meta, "name", text)?,
            (2, Wire::Bytes(text)) => insert_text(&mut meta, "generateName", text)?,
            (3, Wire::Bytes(text)) => insert_text(&mut meta, "namespace", text)?,
            (6, Wire::Bytes(text)) => insert_text(&mut meta, "resourceVersion", text)?,
            (11, Wire::Bytes(entry)) => {
                let (key, value) = map_entry(entry)?;
                labels.insert(key, utf8(value)?.into());
            }
            (12, Wire::Bytes(entry)) => {
                let (key, value) = map_entry(entry)?;
                annotations.insert(key, utf8(value)?.into());
            }
            (14, Wire::Bytes(text)) => finalizers.push(Value::from(utf8(text)?)),
            _ => {}
        }
    }
    if !labels.is_empty() {
        meta.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
    if !finalizers.is_empty() {
        meta.insert("finalizers".into(), Value::Array(finalizers));
    }
    Ok(Value::Object(meta))
}

fn insert_text(meta: &mut Map<String, Value>, key: &str, bytes: &[u8]) -> Result<(), ApiError> {
    let text = utf8(bytes)?;
    if !text.is_empty() {
        meta.insert(key.to_string(), text.into());
    }
    Ok(())
}

/// A `map<string, …>` entry: 1 = key, 2 = value.
fn map_entry(entry: &[u8]) -> Result<(String, &[u8]), ApiError> {
    let mut key = String::new();
    let mut value: &[u8] = &[];
    for field in Fields::new(entry) {
        match field.map_err(malformed)? {
            (1, Wire::Bytes(bytes)) => key = utf8(bytes)?,
            (2, Wire::Bytes(bytes)) => value = bytes,
            _ => {}
        }
    }
    Ok((key, value))
}

/// Every occurrence of a repeated string field.
fn strings(raw: &[u8], number: u64) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    for field in Fields::new(raw) {
        if let (n, Wire::Bytes(bytes)) = field.map_err(malformed)?
            && n == number
        {
            out.push(utf8(bytes)?);
        }
    }
    Ok(out)
}

fn utf8(bytes: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| malformed("a string field is not UTF-8"))
}

fn base64_text(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn malformed(detail: &str) -> ApiError {
    ApiError::bad_request(format!("malformed protobuf body: {detail}"))
}

/// A field value on the wire.
#[derive(Debug)]
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// Iterates `(field number, value)` pairs of one message.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Fields { rest: bytes }
    }

    fn varint(&mut self) -> Result<u64, &'static str> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.rest.split_first().ok_or("truncated varint")?;
            self.rest = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint too long")
    }

    fn take(&mut self, length: usize) -> Result<&'a [u8], &'static str> {
        if self.rest.len() < length {
            return Err("truncated field");
        }
        let (taken, rest) = self.rest.split_at(length);
        self.rest = rest;
        Ok(taken)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Wire<'a>), &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let field = (|| {
            let tag = self.varint()?;
            let value = match tag & 7 {
                0 => Wire::Varint(self.varint()?),
                1 => {
                    self.take(8)?;
                    Wire::Fixed
                }
                2 => {
                    let length = usize::try_from(self.varint()?).map_err(|_| "length too large")?;
                    Wire::Bytes(self.take(length)?)
                }
                5 => {
                    self.take(4)?;
                    Wire::Fixed
                }
                _ => return Err("unsupported wire type"),
            };
            Ok((tag >> 3, value))
        })();
        if field.is_err() {
            self.rest = &[];
        }
        Some(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bodies as `kubectl create` (v1.32) sent them.
    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn kubectl_create_namespace() {
        let body = hex(
            "6b3873000a0f0a02763112094e616d657370616365121c0a140a0464656d6f12001a0022002a0032003800420012001a020a001a002200",
        );
        assert_eq!(
            decode(&body).unwrap(),
            json!({"metadata": {"name": "demo"}, "apiVersion": "v1", "kind": "Namespace"})
        );
    }

    #[test]
    fn kubectl_create_configmap() {
        let body = hex(
            "6b3873000a0f0a0276311209436f6e6669674d617012250a130a03636d3112001a0022002a0032003800420012060a016112016212060a01631201641a002200",
        );
        let object = decode(&body).unwrap();
        assert_eq!(object["metadata"], json!({"name": "cm1"}));
        assert_eq!(object["data"], json!({"a": "b", "c": "d"}));
    }

    #[test]
    fn kubectl_create_secret() {
        let body = hex(
            "6b3873000a0c0a027631120653656372657412360a120a02733112001a0022002a0032003800420012060a01751201701a186b756265726e657465732e696f2f62617369632d617574681a002200",
        );
        let object = decode(&body).unwrap();
        assert_eq!(object["data"], json!({"u": "cA=="}));
        assert_eq!(object["type"], "kubernetes.io/basic-auth");
    }

    #[test]
    fn kubectl_create_serviceaccount() {
        let body = hex(
            "6b3873000a140a027631120e536572766963654163636f756e7412150a130a0373613112001a0022002a003200380042001a002200",
        );
        assert_eq!(decode(&body).unwrap()["metadata"]["name"], "sa1");
    }

    #[test]
    fn kubectl_create_service() {
        let body = hex(
            "6b3873000a0d0a02763112075365727669636512690a1f0a0377656212001a0022002a003200380042005a0a0a03617070120377656212420a1b0a0738302d38303830120354435018502207080010903f1a002800120a0a0361707012037765621a002209436c757374657249503a00420052005a00600068001a020a001a002200",
        );
        let object = decode(&body).unwrap();
        assert_eq!(
            object["metadata"],
            json!({"name": "web", "labels": {"app": "web"}})
        );
        assert_eq!(
            object["spec"],
            json!({"type": "ClusterIP", "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}], "selector": {"app": "web"}})
        );
        let named_port = hex(
            "6b3873000a0d0a02763112075365727669636512680a1d0a026e7012001a0022002a003200380042005a090a0361707012026e7012430a1e0a0738312d6874747012035443501851220a080110001a0468747470280012090a0361707012026e701a0022084e6f6465506f72743a00420052005a00600068001a020a001a002200",
        );
        assert_eq!(
            decode(&named_port).unwrap()["spec"]["ports"][0]["targetPort"],
            "http"
        );
    }

    #[test]
    fn other_kinds_and_garbage_are_rejected() {
        assert_eq!(decode(b"{}").unwrap_err().code, 400);
        assert_eq!(decode(b"k8s\0\x0a\x02\x0a").unwrap_err().code, 400);
        let deployment = [
            b"k8s\0".as_slice(),
            b"\x0a\x15\x0a\x07apps/v1\x12\x0aDeployment",
        ]
        .concat();
        assert_eq!(decode(&deployment).unwrap_err().code, 415);
    }
}
