//! Checking a rendered document without building it: a pass over the YAML parser's
//! events proves the document is well-formed and finds its identity (apiVersion, kind,
//! metadata.name and metadata.namespace).
//!
//! Building the whole object costs more than twice as much, and `rchart template` never
//! needs it; commands that send objects to a cluster build them with
//! [`Manifest::object`](super::Manifest::object). Most documents take the faster road of
//! [`simple`]; the parser reads the rest, and reports every error.

mod simple;

use foldhash::HashSet;
use std::borrow::Cow;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, ScanError};

/// What a document turned out to be.
#[derive(Debug, PartialEq)]
pub enum Inspected {
    /// Only comments, or an empty or null document: nothing to emit.
    Empty,
    /// A mapping at the top level, with whatever identity fields it has.
    Object(Identity),
    /// A list or a scalar at the top level.
    NotAMapping,
}

/// The identity fields of a document, as written.
#[derive(Debug, Default, PartialEq)]
pub struct Identity {
    pub api_version: Option<Field>,
    pub kind: Option<Field>,
    pub name: Option<Field>,
    pub namespace: Option<Field>,
}

/// A field's value: its text, and whether YAML gives it some other type than string.
#[derive(Debug, PartialEq)]
pub enum Field {
    Text(String),
    /// A mapping, a list, or a plain scalar YAML reads as a number, boolean or null.
    NotText(&'static str),
}

/// A syntax error, with its 1-based line within the document.
pub struct SyntaxError {
    pub message: String,
    /// 1-based, within the document.
    pub line: usize,
    /// 1-based.
    pub column: usize,
}

/// Walks the document's events once.
pub fn inspect(text: &str) -> Result<Inspected, SyntaxError> {
    let mut walker = Walker::default();
    if simple::walk(text, &mut walker).is_ok() {
        return Ok(walker.finish());
    }
    let mut walker = Walker::default();
    parse(text, &mut walker)?;
    Ok(walker.finish())
}

/// Feeds `walker` the parser's events.
fn parse<'input>(text: &'input str, walker: &mut Walker<'input>) -> Result<(), SyntaxError> {
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(syntax_error)?;
        let Some(step) = Step::from_event(event) else {
            continue;
        };
        if let Some(problem) = walker.step(step) {
            return Err(SyntaxError {
                message: problem,
                line: span.start.line(),
                column: span.start.col() + 1,
            });
        }
    }
    Ok(())
}

/// What the walker needs of a parser event.
#[derive(Debug, PartialEq)]
enum Step<'input> {
    DocumentStart,
    MappingStart,
    SequenceStart,
    /// The end of a mapping or a list.
    CollectionEnd,
    Scalar {
        value: Cow<'input, str>,
        /// Plain scalars may be read as numbers, booleans or null; quoted ones never are.
        plain: bool,
    },
    Alias,
}

impl<'input> Step<'input> {
    /// A step as tests compare it: the fast road does not work out the text of block
    /// scalars, so quoted values are compared through the identity they give instead.
    #[cfg(test)]
    fn traced(&self) -> String {
        match self {
            Step::Scalar { plain: false, .. } => "quoted scalar".to_string(),
            other => format!("{other:?}"),
        }
    }

    fn from_event(event: Event<'input>) -> Option<Self> {
        Some(match event {
            Event::DocumentStart(..) => Step::DocumentStart,
            Event::MappingStart(..) => Step::MappingStart,
            Event::SequenceStart(..) => Step::SequenceStart,
            Event::MappingEnd | Event::SequenceEnd => Step::CollectionEnd,
            Event::Scalar(value, style, ..) => Step::Scalar {
                value,
                plain: style == ScalarStyle::Plain,
            },
            Event::Alias(..) => Step::Alias,
            _ => return None,
        })
    }
}

fn syntax_error(error: ScanError) -> SyntaxError {
    // The parser appends its own position ("at char 62 line 6 column 6"), counted within
    // this document; callers report it within the whole output instead.
    let text = error.to_string();
    let message = [" at char ", " at line "]
        .iter()
        .filter_map(|marker| text.find(marker))
        .min()
        .map_or(text.clone(), |cut| text[..cut].to_string());
    SyntaxError {
        message,
        line: error.marker().line(),
        column: error.marker().col() + 1,
    }
}

/// Where the walker is: one frame per open collection.
enum Frame<'input> {
    /// A mapping: its keys so far, and whether the next scalar is a key.
    Mapping {
        keys: HashSet<Cow<'input, str>>,
        expecting_key: bool,
        key: Option<Cow<'input, str>>,
    },
    Sequence,
}

#[derive(Default)]
struct Walker<'input> {
    stack: Vec<Frame<'input>>,
    documents: usize,
    root: Option<RootKind>,
    identity: Identity,
    /// Every step taken, so tests can hold the two roads to the same walk.
    #[cfg(test)]
    trace: Vec<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum RootKind {
    Mapping,
    Other,
    Null,
}

impl<'input> Walker<'input> {
    /// Takes one event; returns a problem the parser does not catch itself.
    fn step(&mut self, step: Step<'input>) -> Option<String> {
        #[cfg(test)]
        self.trace.push(step.traced());
        match step {
            Step::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    return Some("a second YAML document where one was expected".to_string());
                }
                None
            }
            Step::MappingStart => {
                let field = self.value_position();
                self.record(field, Field::NotText("a mapping"));
                self.note_root(RootKind::Mapping);
                self.stack.push(Frame::Mapping {
                    keys: HashSet::default(),
                    expecting_key: true,
                    key: None,
                });
                None
            }
            Step::SequenceStart => {
                let field = self.value_position();
                self.record(field, Field::NotText("a list"));
                self.note_root(RootKind::Other);
                self.stack.push(Frame::Sequence);
                None
            }
            Step::CollectionEnd => {
                self.stack.pop();
                self.value_done();
                None
            }
            Step::Scalar { value, plain } => self.scalar(value, plain),
            Step::Alias => {
                let field = self.value_position();
                self.record(field, Field::NotText("an alias"));
                self.note_root(RootKind::Other);
                self.value_done();
                None
            }
        }
    }

    fn scalar(&mut self, value: Cow<'input, str>, plain: bool) -> Option<String> {
        if let Some(Frame::Mapping {
            keys,
            expecting_key: expecting @ true,
            key,
        }) = self.stack.last_mut()
        {
            if !keys.insert(value.clone()) {
                return Some(format!("duplicate mapping key \"{value}\""));
            }
            *key = Some(value);
            *expecting = false;
            return None;
        }
        let field = self.value_position();
        if field.is_none() && !self.stack.is_empty() {
            self.value_done();
            return None;
        }
        let resolved = if plain {
            plain_scalar_type(&value)
        } else {
            None
        };
        if self.stack.is_empty() {
            self.note_root(if resolved == Some("null") {
                RootKind::Null
            } else {
                RootKind::Other
            });
        }
        self.record(
            field,
            match resolved {
                None => Field::Text(value.to_string()),
                Some(kind) => Field::NotText(kind),
            },
        );
        self.value_done();
        None
    }

    /// Which identity field the next value fills, if any.
    fn value_position(&self) -> Option<IdentityField> {
        fn key<'a>(frame: &'a Frame<'_>) -> Option<&'a str> {
            match frame {
                Frame::Mapping { key: Some(key), .. } => Some(key.as_ref()),
                _ => None,
            }
        }
        match self.stack.as_slice() {
            [root] => match key(root)? {
                "apiVersion" => Some(IdentityField::ApiVersion),
                "kind" => Some(IdentityField::Kind),
                _ => None,
            },
            [root, metadata] if key(root)? == "metadata" => match key(metadata)? {
                "name" => Some(IdentityField::Name),
                "namespace" => Some(IdentityField::Namespace),
                _ => None,
            },
            _ => None,
        }
    }

    fn record(&mut self, field: Option<IdentityField>, value: Field) {
        let slot = match field {
            Some(IdentityField::ApiVersion) => &mut self.identity.api_version,
            Some(IdentityField::Kind) => &mut self.identity.kind,
            Some(IdentityField::Name) => &mut self.identity.name,
            Some(IdentityField::Namespace) => &mut self.identity.namespace,
            None => return,
        };
        *slot = Some(value);
    }

    fn note_root(&mut self, kind: RootKind) {
        if self.stack.is_empty() && self.root.is_none() {
            self.root = Some(kind);
        }
    }

    /// A value finished: the enclosing mapping expects a key again.
    fn value_done(&mut self) {
        if let Some(Frame::Mapping {
            expecting_key, key, ..
        }) = self.stack.last_mut()
        {
            *expecting_key = true;
            *key = None;
        }
    }

    fn finish(self) -> Inspected {
        match self.root {
            None | Some(RootKind::Null) => Inspected::Empty,
            Some(RootKind::Mapping) => Inspected::Object(self.identity),
            Some(RootKind::Other) => Inspected::NotAMapping,
        }
    }
}

#[derive(Clone, Copy)]
enum IdentityField {
    ApiVersion,
    Kind,
    Name,
    Namespace,
}

/// The type YAML 1.1 (as kubectl reads it) gives a plain scalar, unless it is a string.
/// Asks the same parser that builds objects, so the two can never disagree.
fn plain_scalar_type(value: &str) -> Option<&'static str> {
    // Nearly every identity value is a word with letters in it; only those that could be
    // something else are worth a parse: numbers, and short words such as `yes`, `off`,
    // `null` or `nan`.
    let could_be_other = value.is_empty()
        || value.starts_with(|c: char| c.is_ascii_digit() || "+-.~".contains(c))
        || (value.len() <= 5 && value.starts_with(|c: char| "yYnNtTfFoOiI".contains(c)));
    if !could_be_other {
        return None;
    }
    match crate::yaml::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::String(_)) | Err(_) => None,
        Ok(serde_json::Value::Null) => Some("null"),
        Ok(serde_json::Value::Bool(_)) => Some("a boolean"),
        Ok(serde_json::Value::Number(_)) => Some("a number"),
        Ok(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(text: &str) -> Identity {
        match inspect(text) {
            Ok(Inspected::Object(identity)) => identity,
            _ => panic!("not an object: {text}"),
        }
    }

    fn text(field: &Option<Field>) -> Option<&str> {
        match field {
            Some(Field::Text(t)) => Some(t),
            _ => None,
        }
    }

    #[test]
    fn finds_identity_at_the_right_depth() {
        let id = identity(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    name: not-this\n  name: cm\n  namespace: ns\ndata:\n  kind: nope\n",
        );
        assert_eq!(text(&id.api_version), Some("v1"));
        assert_eq!(text(&id.kind), Some("ConfigMap"));
        assert_eq!(text(&id.name), Some("cm"));
        assert_eq!(text(&id.namespace), Some("ns"));
    }

    #[test]
    fn plain_scalars_that_are_not_strings_are_reported() {
        let id =
            identity("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: no\n  namespace: 123\n");
        assert!(matches!(id.name, Some(Field::NotText("a boolean"))));
        assert!(matches!(id.namespace, Some(Field::NotText("a number"))));
        let quoted = identity("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"no\"\n");
        assert_eq!(text(&quoted.name), Some("no"));
    }

    #[test]
    fn only_strings_skip_the_parse() {
        let parsed = |word: &str| match crate::yaml::from_str::<serde_json::Value>(word) {
            Ok(serde_json::Value::String(_)) | Err(_) => None,
            Ok(serde_json::Value::Null) => Some("null"),
            Ok(serde_json::Value::Bool(_)) => Some("a boolean"),
            Ok(serde_json::Value::Number(_)) => Some("a number"),
            Ok(_) => None,
        };
        for word in [
            "y",
            "Y",
            "yes",
            "Yes",
            "YES",
            "n",
            "N",
            "no",
            "No",
            "NO",
            "true",
            "True",
            "TRUE",
            "false",
            "False",
            "FALSE",
            "on",
            "On",
            "ON",
            "off",
            "Off",
            "OFF",
            "null",
            "Null",
            "NULL",
            "~",
            "nan",
            "NaN",
            "inf",
            "Inf",
            "infinity",
            "Infinity",
            ".inf",
            "-.inf",
            ".nan",
            "0x1f",
            "0o17",
            "0755",
            "1e3",
            "1_000",
            "12:30:00",
            "+1",
            "v1",
            "web",
            "yes-please",
            "nope",
            "Off-by-one",
            "ConfigMap",
        ] {
            assert_eq!(plain_scalar_type(word), parsed(word), "{word}");
        }
    }

    #[test]
    fn empty_and_non_mapping_documents() {
        assert!(matches!(
            inspect("# just a comment\n"),
            Ok(Inspected::Empty)
        ));
        assert!(matches!(inspect("~\n"), Ok(Inspected::Empty)));
        assert!(matches!(inspect("- a\n"), Ok(Inspected::NotAMapping)));
        assert!(matches!(inspect("just text\n"), Ok(Inspected::NotAMapping)));
    }

    #[test]
    fn syntax_errors_and_duplicate_keys_carry_lines() {
        let Err(error) = inspect("a: 1\nb: [1,\nc: 2\n") else {
            panic!()
        };
        assert!(error.line >= 2, "{}", error.line);
        let Err(error) = inspect("a: 1\nb:\n  c: 1\n  c: 2\n") else {
            panic!()
        };
        assert_eq!(
            (error.message.as_str(), error.line),
            ("duplicate mapping key \"c\"", 4)
        );
    }
}
