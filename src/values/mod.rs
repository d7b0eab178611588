//! Values: loading, merging, `--set` parsing and schema validation.
//!
//! Values are JSON-like maps ([`Values`]) whose key order follows the files they came from.
//! The values a chart is rendered with are computed in two steps:
//!
//! 1. [`user_values`] folds the user's sources together: every `-f` file from left to right,
//!    then every `--set`, `--set-string`, `--set-file` and `--set-json` in the order they
//!    appear on the command line. `null`s are kept; they mean "delete this key".
//! 2. [`coalesce`] lays those user values over the chart's `values.yaml`. Maps merge
//!    deeply, lists and scalars replace, and a `null` deletes the key.
//!
//! [`resolve`] does both and keeps both results: the user values are what a release stores,
//! so that merged values can be recomputed later (for example on upgrade). Validation
//! against `values.schema.json` is done on the merged values by [`ValuesSchema`].

mod error;
mod input;
mod load;
mod merge;
mod path;
mod schema;
mod set;
mod yaml_message;

use std::path::PathBuf;

pub use error::ValuesError;
pub use input::{FileProblem, STDIN_ARG, STDIN_NAME};
pub use load::{load_values_file, parse_values};
pub use merge::{coalesce, merge_values, remove_nulls};
pub use path::{KeyPath, PathSegment, get_path};
pub use schema::{SchemaViolation, ValuesSchema};
pub use yaml_message::{PlainYamlMessages, plain_yaml_message};

use set::{SetKind, apply_set};

/// A values tree: a map from keys to JSON values, in file order.
pub type Values = serde_json::Map<String, serde_json::Value>;

/// One user-supplied source of values, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSource {
    /// `-f/--values FILE`: a YAML file whose top level is a map.
    File(PathBuf),
    /// `--set a.b=c,list[0]=x`: typed values (`true`, `null`, `42`, else strings).
    Set(String),
    /// `--set-string a=b`: values are always strings.
    SetString(String),
    /// `--set-file key=path`: the file's content becomes a string value.
    SetFile(String),
    /// `--set-json key=<json>`, or a whole JSON object to merge.
    SetJson(String),
}

/// The outcome of [`resolve`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResolvedValues {
    /// All user sources folded together, `null`s kept so they can be applied again later.
    pub user: Values,
    /// The chart defaults with the user values laid over them, `null`s removed: what
    /// templates see.
    pub merged: Values,
}

/// Folds the user `sources` together and lays them over the chart `defaults`.
///
/// Files are applied first, in their order in `sources`; the `--set` family follows in
/// its order in `sources`, which should be the command-line order: a later flag wins
/// whatever its kind. This differs from Helm, where the flag kind decides.
pub fn resolve(defaults: &Values, sources: &[ValueSource]) -> Result<ResolvedValues, ValuesError> {
    let user = user_values(sources)?;
    let merged = coalesce(defaults, &user);
    Ok(ResolvedValues { user, merged })
}

/// Folds the user `sources` together, keeping `null`s. See [`resolve`] for the order.
pub fn user_values(sources: &[ValueSource]) -> Result<Values, ValuesError> {
    let mut user = Values::new();
    let (files, expressions): (Vec<&ValueSource>, Vec<&ValueSource>) = sources
        .iter()
        .partition(|source| matches!(source, ValueSource::File(_)));
    for source in files.into_iter().chain(expressions) {
        match source {
            ValueSource::File(path) => merge_values(&mut user, load_values_file(path)?),
            ValueSource::Set(expression) => apply_set(&mut user, SetKind::Typed, expression)?,
            ValueSource::SetString(expression) => {
                apply_set(&mut user, SetKind::String, expression)?;
            }
            ValueSource::SetFile(expression) => apply_set(&mut user, SetKind::File, expression)?,
            ValueSource::SetJson(expression) => apply_set(&mut user, SetKind::Json, expression)?,
        }
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use std::fs;
    use std::path::Path;

    fn values(value: Value) -> Values {
        match value {
            Value::Object(map) => map,
            other => panic!("test values must be a map, got {other}"),
        }
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, text).unwrap();
        path
    }

    fn set(expression: &str) -> ValueSource {
        ValueSource::Set(expression.to_owned())
    }

    #[test]
    fn files_apply_left_to_right_over_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let base = write(
            dir.path(),
            "base.yaml",
            "replicas: 2\nimage:\n  tag: base\n",
        );
        let prod = write(dir.path(), "prod.yaml", "image:\n  tag: prod\n");
        let defaults =
            values(json!({"replicas": 1, "image": {"repository": "nginx", "tag": "1.0"}}));

        let resolved = resolve(
            &defaults,
            &[ValueSource::File(base), ValueSource::File(prod)],
        )
        .unwrap();

        assert_eq!(
            Value::Object(resolved.user),
            json!({"replicas": 2, "image": {"tag": "prod"}})
        );
        assert_eq!(
            Value::Object(resolved.merged),
            json!({"replicas": 2, "image": {"repository": "nginx", "tag": "prod"}})
        );
    }

    #[test]
    fn set_flags_apply_in_command_line_order_whatever_their_kind() {
        let dir = tempfile::tempdir().unwrap();
        let tag_file = write(dir.path(), "tag.txt", "from-file");
        let defaults = Values::new();

        let json_then_set = resolve(
            &defaults,
            &[ValueSource::SetJson(r#"tag="json""#.into()), set("tag=set")],
        )
        .unwrap();
        assert_eq!(json_then_set.merged["tag"], json!("set"));

        let set_then_json = resolve(
            &defaults,
            &[set("tag=set"), ValueSource::SetJson(r#"tag="json""#.into())],
        )
        .unwrap();
        assert_eq!(set_then_json.merged["tag"], json!("json"));

        let file_last = resolve(
            &defaults,
            &[
                ValueSource::SetString("tag=string".into()),
                ValueSource::SetFile(format!("tag={}", tag_file.display())),
            ],
        )
        .unwrap();
        assert_eq!(file_last.merged["tag"], json!("from-file"));

        let string_last = resolve(
            &defaults,
            &[
                ValueSource::SetFile(format!("tag={}", tag_file.display())),
                ValueSource::SetString("tag=string".into()),
            ],
        )
        .unwrap();
        assert_eq!(string_last.merged["tag"], json!("string"));
    }

    #[test]
    fn files_come_before_set_flags_even_when_listed_after_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "values.yaml", "tag: file\nother: file\n");
        let resolved = resolve(&Values::new(), &[set("tag=set"), ValueSource::File(file)]).unwrap();
        assert_eq!(
            Value::Object(resolved.merged),
            json!({"tag": "set", "other": "file"})
        );
    }

    #[test]
    fn set_with_an_index_edits_a_list_from_a_values_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "hosts.yaml", "hosts: [a, b]\n");
        let resolved = resolve(
            &values(json!({"hosts": ["default"]})),
            &[ValueSource::File(file), set("hosts[1]=c")],
        )
        .unwrap();
        assert_eq!(resolved.merged["hosts"], json!(["a", "c"]));
    }

    #[test]
    fn user_null_is_kept_in_user_values_and_deletes_in_merged() {
        let defaults = values(json!({"resources": {"limits": {"cpu": "1"}}, "replicas": 1}));
        let resolved = resolve(&defaults, &[set("resources=null,extra=null")]).unwrap();
        assert_eq!(
            Value::Object(resolved.user),
            json!({"resources": null, "extra": null})
        );
        assert_eq!(Value::Object(resolved.merged), json!({"replicas": 1}));
    }

    #[test]
    fn merged_can_be_recomputed_from_stored_user_values() {
        let defaults = values(json!({"a": {"b": 1, "c": 2}}));
        let resolved = resolve(&defaults, &[set("a.b=null,a.d=4")]).unwrap();
        let new_defaults = values(json!({"a": {"b": 1, "c": 3, "e": 5}}));
        assert_eq!(
            Value::Object(coalesce(&new_defaults, &resolved.user)),
            json!({"a": {"c": 3, "e": 5, "d": 4}})
        );
    }

    #[test]
    fn the_first_bad_source_stops_resolution_with_its_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.yaml");
        let error = resolve(
            &Values::new(),
            &[set("a=1"), ValueSource::File(missing.clone()), set("b")],
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("cannot read values file {}", missing.display())
        );
    }

    #[test]
    fn no_sources_give_the_defaults_without_nulls() {
        let defaults = values(json!({"a": 1, "b": null}));
        let resolved = resolve(&defaults, &[]).unwrap();
        assert!(resolved.user.is_empty());
        assert_eq!(Value::Object(resolved.merged), json!({"a": 1}));
    }
}
