//! `--set`, `--set-string`, `--set-file` and `--set-json` expressions.
//!
//! An expression is one or more `key=value` assignments separated by commas. Keys use the
//! [`KeyPath`](super::KeyPath) syntax (`a.b`, `list[0].name`, `a\.b`). Each assignment is
//! applied straight into the user values gathered so far, so `--set list[1]=x` edits a list
//! that an earlier `-f` file or `--set` supplied, as in Helm.

use std::path::PathBuf;

use serde_json::{Number, Value};

use super::input;
use super::merge::merge_values;
use super::path::{Cursor, KeyPath, read_key_path};
use super::{Values, ValuesError};

/// The flag an expression came from; it decides how the value side is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SetKind {
    /// `--set`: values are typed (`true`, `null`, `42`) and `{a,b}` is a list.
    Typed,
    /// `--set-string`: values are always strings; `{a,b}` is a list of strings.
    String,
    /// `--set-file`: the value is a path whose content becomes a string.
    File,
    /// `--set-json`: the value is JSON.
    Json,
}

impl SetKind {
    pub(super) fn flag(self) -> &'static str {
        match self {
            Self::Typed => "--set",
            Self::String => "--set-string",
            Self::File => "--set-file",
            Self::Json => "--set-json",
        }
    }
}

/// Parses `expression` and applies each of its assignments to `user`, left to right.
pub(super) fn apply_set(
    user: &mut Values,
    kind: SetKind,
    expression: &str,
) -> Result<(), ValuesError> {
    if expression.is_empty() {
        return Err(ValuesError::SetSyntax {
            flag: kind.flag(),
            expression: String::new(),
            problem: "empty expression (expected key=value)".to_owned(),
        });
    }
    if kind == SetKind::Json && expression.trim_start().starts_with('{') {
        return merge_json_object(user, expression);
    }
    let mut cursor = Cursor::new(expression);
    // The key assigned last: a problem after it is named by it, not by the text, which
    // may be part of a value holding a comma.
    let mut previous: Option<KeyPath> = None;
    let syntax = |problem: String| ValuesError::SetSyntax {
        flag: kind.flag(),
        expression: masked(expression),
        problem,
    };
    while !cursor.at_end() {
        let in_key = |problem: String| match &previous {
            None => syntax(problem),
            Some(key) => syntax(format!(
                "after the value of \"{key}\": {problem} (a comma inside a value is written \\,)"
            )),
        };
        let (path, stop) = read_key_path(&mut cursor).map_err(in_key)?;
        if stop != Some('=') {
            return Err(in_key("missing \"=\" (expected key=value)".to_owned()));
        }
        let in_value = |problem: String| syntax(format!("in the value of \"{path}\": {problem}"));
        let value = match kind {
            SetKind::Typed | SetKind::String => read_value(&mut cursor, kind).map_err(in_value)?,
            SetKind::File => read_file_value(&mut cursor, expression, &path)?,
            SetKind::Json => read_json_value(&mut cursor, expression, &path)?,
        };
        path.assign(user, value);
        previous = Some(path);
    }
    Ok(())
}

/// `expression` as errors show it: the first key, and `***` for everything after its
/// `=`, since values may be secrets (`--set db.password=…`) and later keys cannot be
/// told apart from a value that holds a comma.
fn masked(expression: &str) -> String {
    let mut chars = expression.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '=' if index + 1 < expression.len() => return format!("{}=***", &expression[..index]),
            _ => {}
        }
    }
    expression.to_owned()
}

/// Reads a plain value or a `{a,b}` list, up to and including the next `,`.
fn read_value(cursor: &mut Cursor<'_>, kind: SetKind) -> Result<Value, String> {
    let typed = |text: String| match kind {
        SetKind::Typed => typed_value(text),
        _ => Value::String(text),
    };
    if cursor.peek() != Some('{') {
        let (text, _) = cursor.read_until(&[','])?;
        return Ok(typed(text));
    }
    cursor.next_char();
    let mut items = Vec::new();
    if cursor.peek() == Some('}') {
        cursor.next_char();
    } else {
        loop {
            match cursor.read_until(&[',', '}'])? {
                (item, Some(',')) => items.push(typed(item)),
                (item, Some(_)) => {
                    items.push(typed(item));
                    break;
                }
                (_, None) => {
                    return Err("unmatched \"{\" (expected \"}\" to close the list)".to_owned());
                }
            }
        }
    }
    match cursor.next_char() {
        None | Some(',') => Ok(Value::Array(items)),
        Some(_) => Err("text after \"}\" (expected \",\" or the end)".to_owned()),
    }
}

/// Types a `--set` value the way Helm does: `true`/`false` (any case) are booleans,
/// `null` (any case) is null, integers without a leading zero are integers, and
/// everything else, floats included, is a string.
pub(super) fn typed_value(text: String) -> Value {
    if text.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if text.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    integer(&text).map_or(Value::String(text), Value::Number)
}

/// Parses `-?(0|[1-9][0-9]*)` that fits in 64 bits; `0123`, `+1` and `1.5` stay strings.
fn integer(text: &str) -> Option<Number> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let well_formed = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !well_formed {
        return None;
    }
    match text.parse::<i64>() {
        Ok(number) => Some(number.into()),
        Err(_) => text.parse::<u64>().ok().map(Number::from),
    }
}

/// Reads the path of a `--set-file` assignment and returns the file's content.
fn read_file_value(
    cursor: &mut Cursor<'_>,
    expression: &str,
    key: &KeyPath,
) -> Result<Value, ValuesError> {
    let (file, _) = cursor
        .read_until(&[','])
        .map_err(|problem| ValuesError::SetSyntax {
            flag: SetKind::File.flag(),
            expression: masked(expression),
            problem,
        })?;
    let file = PathBuf::from(file);
    input::read_text(&file, false)
        .map(Value::String)
        .map_err(|source| ValuesError::SetFileRead {
            expression: expression.to_owned(),
            key: key.to_string(),
            path: file,
            source,
        })
}

/// Reads one JSON value and the `,` after it. An empty value is null, as in Helm.
fn read_json_value(
    cursor: &mut Cursor<'_>,
    expression: &str,
    key: &KeyPath,
) -> Result<Value, ValuesError> {
    let rest = cursor.rest();
    let trimmed = rest.trim_start();
    if trimmed.is_empty() || trimmed.starts_with(',') {
        cursor.skip_bytes(rest.len() - trimmed.len());
        cursor.next_char();
        return Ok(Value::Null);
    }
    let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
    let value = match stream.next() {
        Some(Ok(value)) => value,
        Some(Err(source)) => {
            return Err(ValuesError::SetJson {
                expression: masked(expression),
                key: key.to_string(),
                source,
            });
        }
        None => Value::Null,
    };
    cursor.skip_bytes(stream.byte_offset());
    while cursor.peek().is_some_and(char::is_whitespace) {
        cursor.next_char();
    }
    match cursor.next_char() {
        None | Some(',') => Ok(value),
        Some(_) => Err(ValuesError::SetSyntax {
            flag: SetKind::Json.flag(),
            expression: masked(expression),
            problem: format!(
                "text after the JSON value for key \"{key}\" (expected \",\" or the end)"
            ),
        }),
    }
}

/// `--set-json '{"a": 1}'`: a whole JSON object is merged like a values file.
fn merge_json_object(user: &mut Values, expression: &str) -> Result<(), ValuesError> {
    let object: Values =
        serde_json::from_str(expression).map_err(|source| ValuesError::SetJsonObject { source })?;
    merge_values(user, object);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fs;

    fn apply(kind: SetKind, expressions: &[&str]) -> Result<Value, String> {
        let mut user = Values::new();
        for expression in expressions {
            apply_set(&mut user, kind, expression).map_err(|error| error.to_string())?;
        }
        Ok(Value::Object(user))
    }

    fn set(expression: &str) -> Value {
        apply(SetKind::Typed, &[expression]).unwrap()
    }

    fn set_error(expression: &str) -> String {
        apply(SetKind::Typed, &[expression]).unwrap_err()
    }

    #[test]
    fn dotted_keys_build_nested_maps() {
        assert_eq!(set("image.tag=1.2.3"), json!({"image": {"tag": "1.2.3"}}));
    }

    #[test]
    fn commas_separate_assignments() {
        assert_eq!(
            set("a=1,b=two,c.d=x"),
            json!({"a": 1, "b": "two", "c": {"d": "x"}})
        );
    }

    #[test]
    fn a_trailing_comma_is_allowed() {
        assert_eq!(set("a=1,"), json!({"a": 1}));
    }

    #[test]
    fn list_indices_grow_the_list_with_nulls() {
        assert_eq!(set("list[0]=x"), json!({"list": ["x"]}));
        assert_eq!(set("list[2]=x"), json!({"list": [null, null, "x"]}));
        assert_eq!(
            set("list[1].name=x,list[1].port=80"),
            json!({"list": [null, {"name": "x", "port": 80}]})
        );
        assert_eq!(set("matrix[1][0]=x"), json!({"matrix": [null, ["x"]]}));
    }

    #[test]
    fn later_assignments_edit_lists_set_earlier() {
        assert_eq!(
            apply(SetKind::Typed, &["list[0]=a", "list[1]=b"]).unwrap(),
            json!({"list": ["a", "b"]})
        );
    }

    #[test]
    fn backslash_escapes_dots_in_keys_and_commas_in_values() {
        assert_eq!(
            set(r"annotations.example\.com/role=web"),
            json!({"annotations": {"example.com/role": "web"}})
        );
        assert_eq!(set(r"hosts=a\,b,x=1"), json!({"hosts": "a,b", "x": 1}));
        assert_eq!(set(r"path=C:\\temp"), json!({"path": r"C:\temp"}));
    }

    #[test]
    fn braces_make_a_list() {
        assert_eq!(set("hosts={a,b,c}"), json!({"hosts": ["a", "b", "c"]}));
        assert_eq!(
            set("ports={80,443},x=1"),
            json!({"ports": [80, 443], "x": 1})
        );
        assert_eq!(set("empty={}"), json!({"empty": []}));
        assert_eq!(set(r"literal=\{a}"), json!({"literal": "{a}"}));
    }

    #[test]
    fn the_value_may_contain_equals_signs() {
        assert_eq!(set("args=--level=debug"), json!({"args": "--level=debug"}));
    }

    #[test]
    fn an_empty_value_is_an_empty_string() {
        assert_eq!(set("name="), json!({"name": ""}));
        assert_eq!(set("name=,x=1"), json!({"name": "", "x": 1}));
    }

    #[test]
    fn null_is_kept_as_a_deletion_marker() {
        assert_eq!(set("resources=null"), json!({"resources": null}));
        assert_eq!(set("a.b=NULL"), json!({"a": {"b": null}}));
    }

    #[test]
    fn booleans_are_typed() {
        assert_eq!(
            set("a=true,b=false,c=True,d=yes"),
            json!({"a": true, "b": false, "c": true, "d": "yes"})
        );
    }

    #[test]
    fn integers_stay_integers() {
        let values = set(
            "replicas=1000000,big=9223372036854775807,bigger=18446744073709551615,neg=-42,zero=0",
        );
        assert_eq!(values["replicas"].as_i64(), Some(1_000_000));
        assert_eq!(
            serde_json::to_string(&values["replicas"]).unwrap(),
            "1000000"
        );
        assert_eq!(values["big"].as_i64(), Some(i64::MAX));
        assert_eq!(values["bigger"].as_u64(), Some(u64::MAX));
        assert_eq!(values["neg"].as_i64(), Some(-42));
        assert_eq!(values["zero"].as_i64(), Some(0));
    }

    #[test]
    fn numbers_that_are_not_plain_integers_stay_strings() {
        assert_eq!(
            set("a=0123,b=1.5,c=+1,d=1e3,e=-0123,f=99999999999999999999999,g=0x1F"),
            json!({
                "a": "0123", "b": "1.5", "c": "+1", "d": "1e3",
                "e": "-0123", "f": "99999999999999999999999", "g": "0x1F"
            })
        );
    }

    #[test]
    fn set_string_forces_strings() {
        assert_eq!(
            apply(SetKind::String, &["a=true,b=1000000,c=null,d={1,2}"]).unwrap(),
            json!({"a": "true", "b": "1000000", "c": "null", "d": ["1", "2"]})
        );
    }

    #[test]
    fn missing_equals_is_an_error() {
        assert_eq!(
            set_error("a.b"),
            r#"--set "a.b": missing "=" (expected key=value)"#
        );
        assert_eq!(
            set_error("a=1,b"),
            r#"--set "a=***": after the value of "a": missing "=" (expected key=value) (a comma inside a value is written \,)"#
        );
        assert_eq!(
            set_error("a,b=1"),
            r#"--set "a,b=***": missing "=" (expected key=value)"#
        );
    }

    #[test]
    fn bad_list_indices_are_errors() {
        assert_eq!(
            set_error("a[x]=1"),
            r#"--set "a[x]=***": list index "x" is not a number"#
        );
        assert_eq!(
            set_error("a[-1]=1"),
            r#"--set "a[-1]=***": list index -1 is negative"#
        );
        assert_eq!(
            set_error("a[]=1"),
            r#"--set "a[]=***": list index "" is not a number"#
        );
        assert_eq!(
            set_error("a[0=1"),
            r#"--set "a[0=***": unmatched "[" (expected "]" after the list index)"#
        );
        assert_eq!(
            set_error("a[70000]=1"),
            r#"--set "a[70000]=***": list index 70000 is larger than the maximum of 65536"#
        );
        assert_eq!(
            set_error("a[0]b=1"),
            r#"--set "a[0]b=***": unexpected "b" after "]" (expected ".", "[" or "=")"#
        );
    }

    #[test]
    fn empty_keys_are_errors() {
        assert_eq!(
            set_error("=1"),
            r#"--set "=***": empty key name before "=""#
        );
        assert_eq!(
            set_error("a..b=1"),
            r#"--set "a..b=***": empty key name before ".""#
        );
        assert_eq!(
            set_error("a.=1"),
            r#"--set "a.=***": empty key name before "=""#
        );
        assert_eq!(
            set_error("a=1,,b=2"),
            r#"--set "a=***": after the value of "a": empty key name before "," (a comma inside a value is written \,)"#
        );
        assert_eq!(
            set_error(""),
            r#"--set "": empty expression (expected key=value)"#
        );
    }

    #[test]
    fn unmatched_brace_is_an_error() {
        assert_eq!(
            set_error("hosts={a,b"),
            r#"--set "hosts=***": in the value of "hosts": unmatched "{" (expected "}" to close the list)"#
        );
        assert_eq!(
            set_error("hosts={a}b"),
            r#"--set "hosts=***": in the value of "hosts": text after "}" (expected "," or the end)"#
        );
    }

    #[test]
    fn errors_never_show_a_value() {
        for (kind, expression) in [
            (SetKind::Typed, "db.password=s3cr,et"),
            (SetKind::String, "db.password=s3cr,et"),
            (SetKind::Typed, "db.password={s3cr,et"),
            (SetKind::Json, r#"db.password={"s3cr": "et"#),
            (SetKind::Json, r#"{"db": {"password": "s3cret""#),
        ] {
            let error = apply(kind, &[expression]).unwrap_err();
            assert!(!error.contains("s3cr"), "{error}");
        }
    }

    #[test]
    fn a_lone_trailing_backslash_is_an_error() {
        assert_eq!(
            set_error(r"a=b\"),
            r#"--set "a=***": in the value of "a": ends with a lone "\" (write \\ for a backslash)"#
        );
    }

    #[test]
    fn absurdly_deep_keys_are_an_error() {
        let key = vec!["a"; 70].join(".");
        assert_eq!(
            set_error(&format!("{key}=1")),
            format!(r#"--set "{key}=***": key is nested more than 64 levels deep"#)
        );
    }

    #[test]
    fn set_string_errors_name_their_flag() {
        assert_eq!(
            apply(SetKind::String, &["a"]).unwrap_err(),
            r#"--set-string "a": missing "=" (expected key=value)"#
        );
    }

    #[test]
    fn set_file_reads_the_file_as_a_string() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.ini");
        fs::write(&file, "[main]\nport = 8080\n").unwrap();
        let expression = format!("config.content={}", file.display());
        assert_eq!(
            apply(SetKind::File, &[expression.as_str()]).unwrap(),
            json!({"config": {"content": "[main]\nport = 8080\n"}})
        );
    }

    #[test]
    fn set_file_with_an_unreadable_file_names_the_path_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.txt");
        let expression = format!("tls.cert={}", missing.display());
        let mut user = Values::new();
        let error = apply_set(&mut user, SetKind::File, &expression).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                r#"--set-file "{expression}": cannot read file "{}" for key "tls.cert""#,
                missing.display()
            )
        );
        let ValuesError::SetFileRead { source, .. } = error else {
            panic!("expected SetFileRead, got {error:?}");
        };
        assert!(
            matches!(&source, crate::values::FileProblem::Io(e) if e.kind() == std::io::ErrorKind::NotFound),
            "{source}"
        );
    }

    #[test]
    fn set_json_sets_json_values() {
        assert_eq!(
            apply(
                SetKind::Json,
                &[r#"a={"b":[1,2.5,"x"]},c=[true],d="s,t",e=null,f="#]
            )
            .unwrap(),
            json!({"a": {"b": [1, 2.5, "x"]}, "c": [true], "d": "s,t", "e": null, "f": null})
        );
        assert_eq!(
            apply(SetKind::Json, &[r#"list[1].ports=[80, 443]"#]).unwrap(),
            json!({"list": [null, {"ports": [80, 443]}]})
        );
    }

    #[test]
    fn set_json_with_a_whole_object_merges_it() {
        assert_eq!(
            apply(SetKind::Json, &["a.x=1", r#"{"a": {"y": 2}, "b": null}"#]).unwrap(),
            json!({"a": {"x": 1, "y": 2}, "b": null})
        );
    }

    #[test]
    fn set_json_with_bad_json_names_the_key() {
        let mut user = Values::new();
        let error = apply_set(&mut user, SetKind::Json, "image.tag=latest").unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"--set-json "image.tag=***": invalid JSON for key "image.tag""#
        );
        assert!(matches!(error, ValuesError::SetJson { ref key, .. } if key == "image.tag"));
        assert_eq!(
            apply(SetKind::Json, &[r#"a={"b":1}x"#]).unwrap_err(),
            r#"--set-json "a=***": text after the JSON value for key "a" (expected "," or the end)"#
        );
        assert_eq!(
            apply(SetKind::Json, &[r#"{"a": 1"#]).unwrap_err(),
            "--set-json: invalid JSON object"
        );
    }
}
