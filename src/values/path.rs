//! Key paths such as `image.tag` or `ingress.hosts[0].host`.
//!
//! The syntax is the key side of `--set`: names are separated by `.`, list indices are
//! written `[N]`, and `\` makes the next character literal (`a\.b` is one key named `a.b`).
//! The same syntax is used to print paths in schema errors, so a printed path can be pasted
//! back into `--set`.

use std::fmt;

use serde_json::{Map, Value};

use super::{Values, ValuesError};
use crate::chart::escape::escape_name;

/// Deepest key path accepted. Protects the recursive merge code from absurd nesting.
pub(super) const MAX_PATH_DEPTH: usize = 64;

/// Largest list index accepted, so a typo such as `a[99999999]=x` cannot allocate
/// gigabytes of nulls. Helm uses the same limit.
pub(super) const MAX_LIST_INDEX: usize = 65_536;

/// Characters that end a key name and so must be escaped inside one.
const KEY_STOPS: [char; 4] = ['=', '[', ',', '.'];

/// One step of a [`KeyPath`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathSegment {
    /// A key of a map.
    Key(String),
    /// An index into a list.
    Index(usize),
}

/// A path to a value inside the values tree, such as `ingress.hosts[0].host`.
///
/// Displays in the `--set` key syntax, with `.`, `[`, `,`, `=` and `\` escaped inside names.
/// The empty path (the top level) displays as an empty string.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyPath(Vec<PathSegment>);

impl KeyPath {
    /// Parses a path written in the `--set` key syntax, such as `a.b[0].c` or `a\.b`.
    pub fn parse(text: &str) -> Result<Self, ValuesError> {
        let invalid = |problem: String| ValuesError::InvalidPath {
            path: text.to_owned(),
            problem,
        };
        let mut cursor = Cursor::new(text);
        match read_key_path(&mut cursor).map_err(invalid)? {
            (path, None) => Ok(path),
            (_, Some(stop)) => Err(invalid(format!(
                "unexpected \"{stop}\" (write \\{stop} for a key that contains it)"
            ))),
        }
    }

    /// The steps of the path, from the top level down.
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }

    /// True for the path of the top level itself.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds a step at the end of the path.
    pub fn push(&mut self, segment: PathSegment) {
        self.0.push(segment);
    }

    /// Returns the value at this path, if every step exists.
    pub fn lookup<'a>(&self, values: &'a Values) -> Option<&'a Value> {
        let (PathSegment::Key(first), rest) = self.0.split_first()? else {
            return None;
        };
        rest.iter()
            .try_fold(values.get(first)?, |current, segment| match segment {
                PathSegment::Key(key) => current.as_object()?.get(key),
                PathSegment::Index(index) => current.as_array()?.get(*index),
            })
    }

    /// Sets `value` at this path, creating maps and lists on the way.
    ///
    /// Whatever stands in the way is replaced: a scalar where a map is needed becomes a
    /// map, and a list too short for an index is grown with nulls, as Helm does.
    pub(super) fn assign(&self, values: &mut Values, value: Value) {
        let Some((PathSegment::Key(first), rest)) = self.0.split_first() else {
            return;
        };
        let slot = values.entry(first.clone()).or_insert(Value::Null);
        assign_at(slot, rest, value);
    }
}

fn assign_at(slot: &mut Value, path: &[PathSegment], value: Value) {
    let Some((segment, rest)) = path.split_first() else {
        *slot = value;
        return;
    };
    match segment {
        PathSegment::Key(key) => {
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(map) = slot {
                let child = map.entry(key.clone()).or_insert(Value::Null);
                assign_at(child, rest, value);
            }
        }
        PathSegment::Index(index) => {
            if !slot.is_array() {
                *slot = Value::Array(Vec::new());
            }
            if let Value::Array(list) = slot {
                if list.len() <= *index {
                    list.resize(index + 1, Value::Null);
                }
                assign_at(&mut list[*index], rest, value);
            }
        }
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                PathSegment::Key(key) => {
                    if position > 0 {
                        f.write_str(".")?;
                    }
                    for c in key.chars() {
                        if c == '\\' || KEY_STOPS.contains(&c) {
                            write!(f, "\\{c}")?;
                        } else {
                            // Keys come from values files, charts' included: nothing
                            // unprintable reaches a message raw
                            f.write_str(&escape_name(c.encode_utf8(&mut [0; 4])))?;
                        }
                    }
                }
                PathSegment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// Returns the value at a dotted path such as `image.tag` or `ingress.hosts[0].host`.
///
/// Returns `None` when a step is missing or the path cannot be parsed; use
/// [`KeyPath::parse`] to tell the two apart.
pub fn get_path<'a>(values: &'a Values, path: &str) -> Option<&'a Value> {
    KeyPath::parse(path).ok()?.lookup(values)
}

/// A read position inside a `--set` expression or key path.
pub(super) struct Cursor<'a> {
    text: &'a str,
    position: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Self { text, position: 0 }
    }

    pub(super) fn at_end(&self) -> bool {
        self.position >= self.text.len()
    }

    /// The text not read yet.
    pub(super) fn rest(&self) -> &'a str {
        &self.text[self.position..]
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(super) fn next_char(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.position += c.len_utf8();
        Some(c)
    }

    /// Moves past `bytes` bytes of [`Self::rest`]; `bytes` must end on a character boundary.
    pub(super) fn skip_bytes(&mut self, bytes: usize) {
        self.position = (self.position + bytes).min(self.text.len());
    }

    /// Reads up to the first unescaped character in `stops` and consumes that character.
    ///
    /// Returns the text read, with escapes resolved, and the stop character, or `None`
    /// when the end was reached first.
    pub(super) fn read_until(&mut self, stops: &[char]) -> Result<(String, Option<char>), String> {
        let mut text = String::new();
        while let Some(c) = self.next_char() {
            if stops.contains(&c) {
                return Ok((text, Some(c)));
            }
            if c == '\\' {
                let escaped = self.next_char().ok_or_else(|| {
                    "ends with a lone \"\\\" (write \\\\ for a backslash)".to_owned()
                })?;
                text.push(escaped);
            } else {
                text.push(c);
            }
        }
        Ok((text, None))
    }
}

/// Reads a key path up to `=`, `,` or the end, and returns it with the character that
/// ended it (`None` at the end). Problems are returned as a description.
pub(super) fn read_key_path(cursor: &mut Cursor<'_>) -> Result<(KeyPath, Option<char>), String> {
    let mut path = KeyPath::default();
    loop {
        let (name, mut stop) = cursor.read_until(&KEY_STOPS)?;
        if name.is_empty() {
            return Err(match stop {
                Some(c) => format!("empty key name before \"{c}\""),
                None => "empty key name at the end".to_owned(),
            });
        }
        path.push(PathSegment::Key(name));
        while stop == Some('[') {
            path.push(PathSegment::Index(read_index(cursor)?));
            stop = cursor.next_char();
            if let Some(c) = stop
                && !matches!(c, '[' | '.' | '=' | ',')
            {
                return Err(format!(
                    "unexpected \"{c}\" after \"]\" (expected \".\", \"[\" or \"=\")"
                ));
            }
        }
        if path.0.len() > MAX_PATH_DEPTH {
            return Err(format!(
                "key is nested more than {MAX_PATH_DEPTH} levels deep"
            ));
        }
        if stop != Some('.') {
            return Ok((path, stop));
        }
    }
}

/// Reads a list index after `[`, including the closing `]`.
fn read_index(cursor: &mut Cursor<'_>) -> Result<usize, String> {
    let (text, stop) = cursor.read_until(&[']'])?;
    if stop.is_none() {
        return Err("unmatched \"[\" (expected \"]\" after the list index)".to_owned());
    }
    let digits = text.strip_prefix('-').unwrap_or(&text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("list index \"{text}\" is not a number"));
    }
    if text.starts_with('-') {
        return Err(format!("list index {text} is negative"));
    }
    match text.parse::<usize>() {
        Ok(index) if index <= MAX_LIST_INDEX => Ok(index),
        _ => Err(format!(
            "list index {text} is larger than the maximum of {MAX_LIST_INDEX}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(value: Value) -> Values {
        match value {
            Value::Object(map) => map,
            other => panic!("test values must be a map, got {other}"),
        }
    }

    fn parse_error(text: &str) -> String {
        KeyPath::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn get_path_reads_nested_keys_and_list_items() {
        let values = values(json!({
            "image": {"tag": "1.2"},
            "ingress": {"hosts": [{"host": "a.example"}, {"host": "b.example"}]},
            "a.b": {"c": 1},
        }));
        assert_eq!(get_path(&values, "image.tag"), Some(&json!("1.2")));
        assert_eq!(
            get_path(&values, "ingress.hosts[1].host"),
            Some(&json!("b.example"))
        );
        assert_eq!(
            get_path(&values, "ingress.hosts[0]"),
            Some(&json!({"host": "a.example"}))
        );
        assert_eq!(get_path(&values, r"a\.b.c"), Some(&json!(1)));
    }

    #[test]
    fn get_path_finds_nothing_for_missing_or_mistyped_steps() {
        let values = values(json!({"image": {"tag": "1.2"}, "hosts": ["a"]}));
        assert_eq!(get_path(&values, "image.missing"), None);
        assert_eq!(get_path(&values, "hosts[3]"), None);
        assert_eq!(get_path(&values, "image[0]"), None);
        assert_eq!(get_path(&values, "hosts.name"), None);
        assert_eq!(get_path(&values, "image..tag"), None);
        assert_eq!(get_path(&values, ""), None);
    }

    #[test]
    fn paths_display_in_set_syntax_with_escapes() {
        let path = KeyPath(vec![
            PathSegment::Key("annotations".into()),
            PathSegment::Key("example.com/a=b".into()),
            PathSegment::Index(2),
            PathSegment::Index(0),
            PathSegment::Key(r"x\y".into()),
        ]);
        let shown = path.to_string();
        assert_eq!(shown, r"annotations.example\.com/a\=b[2][0].x\\y");
        assert_eq!(KeyPath::parse(&shown).unwrap(), path);
    }

    #[test]
    fn unprintable_characters_in_keys_are_shown_escaped() {
        let path = KeyPath(vec![
            PathSegment::Key("labels".into()),
            PathSegment::Key("a\u{1b}[2J\u{202e}b".into()),
        ]);
        assert_eq!(path.to_string(), r"labels.a\u{1b}\[2J\u{202e}b");
    }

    #[test]
    fn bad_paths_say_what_is_wrong() {
        assert_eq!(
            parse_error("a..b"),
            r#"invalid key path "a..b": empty key name before ".""#
        );
        assert_eq!(
            parse_error("a[x]"),
            r#"invalid key path "a[x]": list index "x" is not a number"#
        );
        assert_eq!(
            parse_error("a[0"),
            r#"invalid key path "a[0": unmatched "[" (expected "]" after the list index)"#
        );
        assert_eq!(
            parse_error("a=b"),
            r#"invalid key path "a=b": unexpected "=" (write \= for a key that contains it)"#
        );
    }

    #[test]
    fn assign_grows_lists_with_nulls_and_replaces_what_is_in_the_way() {
        let mut target = values(json!({"a": 1, "list": ["x"]}));
        KeyPath::parse("a.b").unwrap().assign(&mut target, json!(2));
        KeyPath::parse("list[2].name")
            .unwrap()
            .assign(&mut target, json!("z"));
        assert_eq!(
            Value::Object(target),
            json!({"a": {"b": 2}, "list": ["x", null, {"name": "z"}]})
        );
    }
}
