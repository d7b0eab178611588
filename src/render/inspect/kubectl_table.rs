//! rchart reads every scalar of `tests/golden/kubectl-scalars.jsonl` as kubectl does, as
//! a value and as a map key, by the parser and by the fast road alike.

use serde_json::Value;

use super::{Walker, fast_path, parse};

const HEAD: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: scalar\n";

/// The document as `tests/fixtures/kubectl-scalars/regenerate.py` writes it.
fn value_document(scalar: &str) -> String {
    if scalar.is_empty() {
        format!("{HEAD}value:\n")
    } else {
        format!("{HEAD}value: {scalar}\n")
    }
}

fn key_document(scalar: &str) -> String {
    format!("{HEAD}key:\n  {scalar}: x\n")
}

/// What a road made of the document: the object, an error, or (the fast road only) a
/// hand-over to the parser.
#[derive(Debug, PartialEq)]
enum Reading {
    Object(Value),
    Error(String),
    HandedOver,
}

fn by_parser(text: &str) -> Reading {
    let mut walker = Walker::building();
    match parse(text, &mut walker) {
        Ok(()) => Reading::Object(walker.into_object()),
        Err(problem) => Reading::Error(problem.message),
    }
}

fn by_fast_road(text: &str) -> Reading {
    let mut walker = Walker::building();
    match fast_path::walk(text, &mut walker) {
        Ok(()) => Reading::Object(walker.into_object()),
        Err(_) => Reading::HandedOver,
    }
}

/// kubectl's JSON, as its objects hold it: integers past `i64` are floats.
fn as_kubectl_holds_it(value: &Value) -> Value {
    match value.as_u64() {
        Some(big) if big > i64::MAX as u64 => serde_json::json!(big as f64),
        _ => value.clone(),
    }
}

/// What kubectl read, in the form a [`Reading::Object`] takes.
fn expected(row: &Value, field: &str, document: impl Fn(Value) -> Value) -> Option<Value> {
    row.get(field).map(|v| document(as_kubectl_holds_it(v)))
}

fn object_with(field: &str, value: Value) -> Value {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "scalar"},
        field: value,
    })
}

#[test]
fn every_scalar_reads_as_kubectl_reads_it() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/kubectl-scalars.jsonl"
    );
    let golden = std::fs::read_to_string(path).unwrap();
    let rows: Vec<Value> = golden
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(rows.len() >= 80, "{} rows", rows.len());
    let mut failures = Vec::new();
    let mut read_fast = 0;
    for row in &rows {
        let scalar = row["yaml"].as_str().unwrap();
        let plain = !scalar.starts_with(['"', '\'', '!']);
        let cases = [
            (
                "value",
                value_document(scalar),
                expected(row, "value", |v| object_with("value", v)),
            ),
            (
                "key",
                key_document(scalar),
                expected(row, "key", |k| {
                    object_with("key", serde_json::json!({ k.as_str().unwrap(): "x" }))
                }),
            ),
        ];
        for (what, document, kubectl) in cases {
            let agrees = |reading: &Reading| match (&kubectl, reading) {
                (Some(object), Reading::Object(read)) => object == read,
                (None, Reading::Error(_)) => true,
                _ => false,
            };
            let parsed = by_parser(&document);
            if !agrees(&parsed) {
                failures.push(format!(
                    "{scalar:?} as a {what}: parser {parsed:?}, kubectl {kubectl:?}"
                ));
            }
            let fast = by_fast_road(&document);
            match fast {
                Reading::HandedOver => {
                    // Plain values are what the fast road is for; it hands over only
                    // what kubectl refuses, for the parser to say where.
                    if what == "value" && plain && !scalar.is_empty() && kubectl.is_some() {
                        failures.push(format!("{scalar:?} as a value: not read on the fast road"));
                    }
                }
                ref reading => {
                    read_fast += 1;
                    if !agrees(reading) {
                        failures.push(format!(
                            "{scalar:?} as a {what}: fast road {reading:?}, kubectl {kubectl:?}"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        read_fast >= 150,
        "only {read_fast} documents read on the fast road"
    );
}
