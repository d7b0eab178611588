//! Server-side printing: `meta.k8s.io/v1` Tables, which `kubectl get`
//! asks for to print its human-readable columns.

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};

use crate::catalogue::ResourceType;

/// Whether the `Accept` header asks for a Table.
pub fn wanted(accept: Option<&str>) -> bool {
    accept.is_some_and(|accept| {
        accept.split(',').any(|media| {
            let params: Vec<&str> = media.split(';').map(str::trim).collect();
            params.contains(&"as=Table") && params.contains(&"g=meta.k8s.io")
        })
    })
}

/// What each row carries besides its cells (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowObject {
    /// No object.
    None,
    /// `PartialObjectMetadata` (the default).
    Metadata,
    /// The whole object.
    Object,
}

impl RowObject {
    /// Parse the `includeObject` query parameter.
    pub fn from_query(value: Option<&str>) -> RowObject {
        match value {
            Some("None") => RowObject::None,
            Some("Object") => RowObject::Object,
            _ => RowObject::Metadata,
        }
    }
}

/// A Table of `objects` with list metadata `metadata`.
pub fn table(
    resource: &ResourceType,
    objects: &[&Value],
    metadata: Map<String, Value>,
    include: RowObject,
) -> Value {
    let columns = columns(resource);
    let now = SystemTime::now();
    let definitions: Vec<Value> = columns
        .iter()
        .map(|c| {
            json!({"name": c.name, "type": c.kind, "format": c.format, "description": c.description, "priority": c.priority})
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let cells: Vec<Value> = columns.iter().map(|c| (c.cell)(object, now)).collect();
            let mut row = json!({"cells": cells});
            match include {
                RowObject::None => {}
                RowObject::Metadata => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": object.get("metadata").cloned().unwrap_or_default(),
                    });
                }
                RowObject::Object => row["object"] = (*object).clone(),
            }
            row
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "columnDefinitions": definitions, "rows": rows})
}

type Cell = fn(&Value, SystemTime) -> Value;

struct Column {
    name: &'static str,
    kind: &'static str,
    format: &'static str,
    description: &'static str,
    priority: u8,
    cell: Cell,
}

const fn column(name: &'static str, kind: &'static str, priority: u8, cell: Cell) -> Column {
    Column {
        name,
        kind,
        format: "",
        description: "",
        priority,
        cell,
    }
}

const NAME: Column = Column {
    name: "Name",
    kind: "string",
    format: "name",
    description: "Name must be unique within a namespace.",
    priority: 0,
    cell: |o, _| text(o, "/metadata/name"),
};

const AGE: Column = Column {
    name: "Age",
    kind: "string",
    format: "",
    description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
    priority: 0,
    cell: age,
};

/// The columns the real server prints for each kind; Name and Age otherwise.
fn columns(resource: &ResourceType) -> Vec<Column> {
    let middle: Vec<Column> = match (
        resource.group.as_str(),
        resource.kind.as_str(),
        resource.custom,
    ) {
        (_, _, true) => Vec::new(),
        ("", "Namespace", _) => vec![column("Status", "string", 0, |o, _| {
            text(o, "/status/phase")
        })],
        ("", "ConfigMap", _) => vec![column("Data", "integer", 0, |o, _| {
            count(o, &["/data", "/binaryData"])
        })],
        ("", "Secret", _) => vec![
            column("Type", "string", 0, |o, _| text(o, "/type")),
            column("Data", "integer", 0, |o, _| count(o, &["/data"])),
        ],
        ("", "Service", _) => vec![
            column("Type", "string", 0, |o, _| text(o, "/spec/type")),
            column("Cluster-IP", "string", 0, |o, _| text(o, "/spec/clusterIP")),
            column("External-IP", "string", 0, |_, _| json!("<none>")),
            column("Port(s)", "string", 0, service_ports),
        ],
        ("", "Pod", _) => vec![
            column("Ready", "string", 0, |o, _| {
                let total = o
                    .pointer("/spec/containers")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                let ready = o
                    .pointer("/status/containerStatuses")
                    .and_then(Value::as_array)
                    .map_or(0, |s| s.iter().filter(|c| c["ready"] == true).count());
                json!(format!("{ready}/{total}"))
            }),
            column("Status", "string", 0, |o, _| text(o, "/status/phase")),
            column("Restarts", "string", 0, |_, _| json!("0")),
        ],
        ("apps", "Deployment", _) => vec![
            column("Ready", "string", 0, |o, _| {
                ratio(o, "/status/readyReplicas", "/spec/replicas")
            }),
            column("Up-to-date", "integer", 0, |o, _| {
                number(o, "/status/updatedReplicas")
            }),
            column("Available", "integer", 0, |o, _| {
                number(o, "/status/availableReplicas")
            }),
        ],
        ("apps", "StatefulSet", _) => vec![column("Ready", "string", 0, |o, _| {
            ratio(o, "/status/readyReplicas", "/spec/replicas")
        })],
        ("apps", "ReplicaSet", _) => vec![
            column("Desired", "integer", 0, |o, _| number(o, "/spec/replicas")),
            column("Current", "integer", 0, |o, _| {
                number(o, "/status/replicas")
            }),
            column("Ready", "integer", 0, |o, _| {
                number(o, "/status/readyReplicas")
            }),
        ],
        ("apps", "DaemonSet", _) => vec![
            column("Desired", "integer", 0, |o, _| {
                number(o, "/status/desiredNumberScheduled")
            }),
            column("Current", "integer", 0, |o, _| {
                number(o, "/status/currentNumberScheduled")
            }),
            column("Ready", "integer", 0, |o, _| {
                number(o, "/status/numberReady")
            }),
            column("Up-to-date", "integer", 0, |o, _| {
                number(o, "/status/updatedNumberScheduled")
            }),
            column("Available", "integer", 0, |o, _| {
                number(o, "/status/numberAvailable")
            }),
        ],
        ("batch", "Job", _) => vec![
            column("Status", "string", 0, job_status),
            column("Completions", "string", 0, |o, _| {
                ratio(o, "/status/succeeded", "/spec/completions")
            }),
        ],
        ("", "PersistentVolumeClaim", _) => vec![
            column("Status", "string", 0, |o, _| text(o, "/status/phase")),
            column("Capacity", "string", 0, |o, _| {
                text(o, "/status/capacity/storage")
            }),
        ],
        _ => Vec::new(),
    };
    let mut all = vec![NAME];
    all.extend(middle);
    all.push(AGE);
    all
}

fn text(object: &Value, pointer: &str) -> Value {
    json!(
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
    )
}

fn number(object: &Value, pointer: &str) -> Value {
    json!(object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0))
}

fn ratio(object: &Value, done: &str, wanted: &str) -> Value {
    let done = object.pointer(done).and_then(Value::as_i64).unwrap_or(0);
    let wanted = object.pointer(wanted).and_then(Value::as_i64).unwrap_or(1);
    json!(format!("{done}/{wanted}"))
}

fn count(object: &Value, pointers: &[&str]) -> Value {
    let total: usize = pointers
        .iter()
        .filter_map(|p| object.pointer(p).and_then(Value::as_object))
        .map(Map::len)
        .sum();
    json!(total)
}

fn service_ports(object: &Value, _: SystemTime) -> Value {
    let ports: Vec<String> = object
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ports| {
            ports
                .iter()
                .map(|p| format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP")))
                .collect()
        })
        .unwrap_or_default();
    json!(if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    })
}

fn job_status(object: &Value, _: SystemTime) -> Value {
    let conditions = object
        .pointer("/status/conditions")
        .and_then(Value::as_array);
    let has = |kind: &str| {
        conditions.is_some_and(|c| c.iter().any(|c| c["type"] == kind && c["status"] == "True"))
    };
    json!(if has("Complete") {
        "Complete"
    } else if has("Failed") {
        "Failed"
    } else {
        "Running"
    })
}

fn age(object: &Value, now: SystemTime) -> Value {
    let created = object
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(|t| humantime::parse_rfc3339(t).ok());
    json!(match created {
        Some(created) => human_duration(now.duration_since(created).unwrap_or_default()),
        None => "<unknown>".to_string(),
    })
}

/// Ages as kubectl shows them: `45s`, `5m30s`, `3h`, `2d4h`, `1y30d`.
fn human_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let minutes = seconds / 60;
    let hours = minutes / 60;
    let with_remainder = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big}{big_unit}")
        } else {
            format!("{big}{big_unit}{small}{small_unit}")
        }
    };
    if seconds < 120 {
        format!("{seconds}s")
    } else if minutes < 10 {
        with_remainder(minutes, "m", seconds % 60, "s")
    } else if minutes < 180 {
        format!("{minutes}m")
    } else if hours < 8 {
        with_remainder(hours, "h", minutes % 60, "m")
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        with_remainder(hours / 24, "d", hours % 24, "h")
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        with_remainder(hours / 24 / 365, "y", (hours / 24) % 365, "d")
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;

    #[test]
    fn detects_table_requests() {
        assert!(wanted(Some(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
        )));
        assert!(!wanted(Some("application/json")));
    }

    #[test]
    fn deployment_rows() {
        let deployments = Catalogue::builtin()
            .find("apps", "v1", "deployments")
            .unwrap();
        let object = json!({"metadata": {"name": "web", "creationTimestamp": "2020-01-01T00:00:00Z"}, "spec": {"replicas": 3}, "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
        let table = table(&deployments, &[&object], Map::new(), RowObject::Metadata);
        let names: Vec<&str> = table["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Name", "Ready", "Up-to-date", "Available", "Age"]);
        let cells = &table["rows"][0]["cells"];
        assert_eq!(
            (cells[0].as_str(), cells[1].as_str(), cells[2].as_i64()),
            (Some("web"), Some("2/3"), Some(3))
        );
        assert_eq!(table["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    }

    #[test]
    fn ages_read_like_kubectl() {
        let cases = [
            (45, "45s"),
            (330, "5m30s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (30 * 3600, "30h"),
            (50 * 3600, "2d2h"),
            (400 * 86400, "400d"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(human_duration(Duration::from_secs(seconds)), expected);
        }
    }
}
