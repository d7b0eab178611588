//! Reading values files (`values.yaml`, `-f FILE`).

use std::path::Path;

use serde_json::Value;
use serde_saphyr::{DuplicateKeyPolicy, SnippetMode};

use super::input;
use super::merge::merge_values;
use super::yaml_message::PlainYamlMessages;
use super::{Values, ValuesError};

/// Reads a values file, or standard input for `-`; see [`parse_values`] for the rules
/// and [`super::input`] for the size limit.
pub fn load_values_file(path: &Path) -> Result<Values, ValuesError> {
    let name = input::display_name(path);
    let text = input::read_text(path, true).map_err(|source| ValuesError::ReadFile {
        path: name.clone(),
        source,
    })?;
    parse_values(&text, &name)
}

/// Parses the text of a values file; `source` names the file in errors.
///
/// The top level must be a map; an empty file is an empty map. Numbers are read as
/// Kubernetes tools read them (YAML 1.1): `0644` is the octal 420 and `yes`/`on` are
/// booleans. Integers stay integers. Duplicate keys are an error. A file with several
/// YAML documents is read as if they were given as separate files, in order.
pub fn parse_values(text: &str, source: &Path) -> Result<Values, ValuesError> {
    let options = serde_saphyr::options! {
        legacy_octal_numbers: true,
        duplicate_keys: DuplicateKeyPolicy::Error,
    };
    let documents: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options)
        .map_err(|error| yaml_error(&error, source))?;
    let several = documents.len() > 1;
    let mut values = Values::new();
    for (index, document) in documents.into_iter().enumerate() {
        match document {
            Value::Object(map) => merge_values(&mut values, map),
            // A document holding only `null` or `~` adds nothing, like an empty one.
            Value::Null => {}
            other => {
                return Err(ValuesError::NotAMap {
                    path: source.to_owned(),
                    found: describe_kind(&other),
                    document: several.then_some(index + 1),
                });
            }
        }
    }
    Ok(values)
}

/// Renders a parser error with user-facing wording and a code frame headed by `source`.
fn yaml_error(error: &serde_saphyr::Error, source: &Path) -> ValuesError {
    let name = source.display().to_string();
    let formatter = PlainYamlMessages;
    let rendered = error.render_with_options(serde_saphyr::render_options! {
        formatter: &formatter,
        snippets: SnippetMode::Auto,
        source_name: Some(&name),
    });
    // Our own message already says it is an error; keep the position and frame.
    let details = rendered
        .strip_prefix("error: ")
        .unwrap_or(&rendered)
        .trim_end()
        .to_owned();
    ValuesError::Yaml {
        path: source.to_owned(),
        details,
    }
}

fn describe_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fs;

    fn parse(text: &str) -> Result<Value, String> {
        parse_values(text, Path::new("conf/values.yaml"))
            .map(Value::Object)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn reads_a_map_and_keeps_key_order() {
        let values = parse("zeta: 1\nalpha:\n  nested: true\nmid: [a, b]\n").unwrap();
        assert_eq!(
            values,
            json!({"zeta": 1, "alpha": {"nested": true}, "mid": ["a", "b"]})
        );
        let keys: Vec<_> = values.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["zeta", "alpha", "mid"]);
    }

    #[test]
    fn empty_file_or_comments_only_is_an_empty_map() {
        assert_eq!(parse("").unwrap(), json!({}));
        assert_eq!(parse("# nothing set here\n").unwrap(), json!({}));
    }

    #[test]
    fn numbers_keep_their_type() {
        let values =
            parse("big: 1000000\nhuge: 9007199254740993\nneg: -5\nratio: 1.5\nquoted: \"0123\"\n")
                .unwrap();
        assert_eq!(values["big"].as_i64(), Some(1_000_000));
        assert_eq!(values["huge"].as_u64(), Some(9_007_199_254_740_993));
        assert_eq!(values["neg"].as_i64(), Some(-5));
        assert_eq!(values["ratio"].as_f64(), Some(1.5));
        assert_eq!(values["quoted"], json!("0123"));
        assert_eq!(
            serde_json::to_string(&values["big"]).unwrap(),
            "1000000",
            "1000000 must not turn into a float"
        );
    }

    #[test]
    fn yaml_1_1_octal_and_booleans_read_as_kubectl_reads_them() {
        let values = parse("defaultMode: 0644\nenabled: yes\nflag: on\n").unwrap();
        assert_eq!(
            values,
            json!({"defaultMode": 420, "enabled": true, "flag": true})
        );
    }

    #[test]
    fn a_list_at_the_top_level_is_an_error_naming_the_file() {
        assert_eq!(
            parse("- a\n- b\n").unwrap_err(),
            "conf/values.yaml: expected a map of values at the top level, found a list"
        );
    }

    #[test]
    fn a_scalar_at_the_top_level_is_an_error_naming_the_file() {
        assert_eq!(
            parse("just text\n").unwrap_err(),
            "conf/values.yaml: expected a map of values at the top level, found a string"
        );
    }

    #[test]
    fn several_documents_merge_in_order_and_each_must_be_a_map() {
        assert_eq!(
            parse("a: 1\nb: {c: 1}\n---\nb: {d: 2}\na: 3\n").unwrap(),
            json!({"a": 3, "b": {"c": 1, "d": 2}})
        );
        assert_eq!(
            parse("a: 1\n---\n- x\n").unwrap_err(),
            "conf/values.yaml: expected a map of values at the top level, found a list (document 2)"
        );
    }

    #[test]
    fn syntax_errors_name_file_line_and_column_with_a_code_frame() {
        let message = parse("image:\n  tag: [1, 2\nreplicas: 3\n").unwrap_err();
        let first_line = message.lines().next().unwrap();
        assert!(
            first_line.starts_with("invalid YAML in conf/values.yaml: line 3 column 9:"),
            "{message}"
        );
        assert!(message.contains("--> conf/values.yaml:3:9"), "{message}");
        assert!(message.contains("3 | replicas: 3"), "{message}");
    }

    #[test]
    fn duplicate_keys_are_an_error_with_their_line() {
        let message = parse("replicas: 1\nimage: x\nreplicas: 2\n").unwrap_err();
        assert!(
            message.starts_with(
                "invalid YAML in conf/values.yaml: line 3 column 1: duplicate mapping key `replicas`"
            ),
            "{message}"
        );
    }

    #[test]
    fn unreadable_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.yaml");
        let error = load_values_file(&missing).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("cannot read values file {}", missing.display())
        );
        assert!(matches!(error, ValuesError::ReadFile { .. }));
    }

    #[test]
    fn load_reads_the_file_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("prod.yaml");
        fs::write(&file, "replicas: 3\n").unwrap();
        assert_eq!(
            Value::Object(load_values_file(&file).unwrap()),
            json!({"replicas": 3})
        );
    }
}
