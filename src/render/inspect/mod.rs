//! Reading a rendered document as kubectl reads it. One pass over the YAML events proves
//! the document well-formed, within the limits below, and readable by kubectl (keys that
//! can be strings, numbers JSON can carry, merges of mappings), finds its identity
//! (apiVersion, kind, metadata.name and metadata.namespace) and, when asked, builds the
//! object.
//!
//! The events come by one of two roads: [`fast_path`] reads the block YAML templates
//! nearly always produce, line by line; the parser reads everything else and reports
//! every error. Both feed the same [`Walker`], so a document is checked and read the same
//! whichever road it takes, and the same by `template`, `lint` and `install`: only
//! building the object is left out when nothing needs it, which `rchart template` never
//! does. What scalars and keys mean is in [`scalar`].

mod build;
mod fast_path;
#[cfg(test)]
mod kubectl_table;
mod scalar;

use foldhash::{HashMap, HashSet};
use std::borrow::Cow;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, ScanError};

use build::Builder;
use scalar::{Resolved, Style, may_not_be_text, resolve_plain, resolve_tagged, short_tag};

/// Collections nested deeper than this are refused (the stack of any reader is finite).
pub const MAX_DEPTH: usize = 64;
/// Mappings, lists and scalars in one document, counting those aliases repeat.
pub const MAX_NODES: usize = 250_000;
/// Bytes of scalar text in one document.
pub const MAX_SCALAR_BYTES: usize = 64 * 1024 * 1024;

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
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Text(String),
    /// A mapping, a list, or a plain scalar YAML reads as a number, boolean or null.
    NotText(&'static str),
}

/// Why a document cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// Not YAML, or YAML kubectl cannot turn into an object.
    Invalid,
    /// Past one of the limits: too deep, too many values, too much text.
    Limit,
}

/// A problem with a document, where it starts.
#[derive(Debug)]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: String,
    /// 1-based, within the document.
    pub line: usize,
    /// 1-based.
    pub column: usize,
}

/// Checks the document and finds its identity.
pub fn inspect(text: &str) -> Result<Inspected, Problem> {
    walk(text, Walker::default).map(Walker::finish)
}

/// Checks the document and builds the object it describes, as kubectl would send it.
pub fn read_object(text: &str) -> Result<serde_json::Value, Problem> {
    walk(text, Walker::building).map(Walker::into_object)
}

/// Walks the document on the fast road, or when that gives up, with the parser.
fn walk<'input>(
    text: &'input str,
    new_walker: impl Fn() -> Walker<'input>,
) -> Result<Walker<'input>, Problem> {
    let mut walker = new_walker();
    if fast_path::walk(text, &mut walker).is_ok() {
        return Ok(walker);
    }
    let mut walker = new_walker();
    parse(text, &mut walker)?;
    Ok(walker)
}

/// Feeds `walker` the parser's events.
fn parse<'input>(text: &'input str, walker: &mut Walker<'input>) -> Result<(), Problem> {
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(syntax_error)?;
        let Some(step) = Step::from_event(event) else {
            continue;
        };
        if let Err(found) = walker.step(step) {
            return Err(Problem {
                kind: found.kind,
                message: found.message,
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
    MappingStart {
        /// The anchor defined on it, or 0.
        anchor: usize,
    },
    SequenceStart {
        anchor: usize,
    },
    /// The end of a mapping or a list.
    CollectionEnd,
    Scalar {
        value: Cow<'input, str>,
        /// Plain scalars may be read as numbers, booleans or null; quoted ones never are.
        style: Style,
        anchor: usize,
        /// In short form: `!!int`, `!custom`.
        tag: Option<String>,
    },
    /// An alias of the anchor with this id.
    Alias(usize),
}

impl<'input> Step<'input> {
    /// A step as tests compare it: the fast road does not work out the text of block
    /// scalars.
    #[cfg(test)]
    fn traced(&self) -> String {
        match self {
            Step::Scalar {
                style: Style::Block,
                ..
            } => "block scalar".to_string(),
            other => format!("{other:?}"),
        }
    }

    fn from_event(event: Event<'input>) -> Option<Self> {
        Some(match event {
            Event::DocumentStart(..) => Step::DocumentStart,
            Event::MappingStart(_, anchor, _) => Step::MappingStart { anchor },
            Event::SequenceStart(_, anchor, _) => Step::SequenceStart { anchor },
            Event::MappingEnd | Event::SequenceEnd => Step::CollectionEnd,
            Event::Scalar(value, style, anchor, tag) => Step::Scalar {
                value,
                style: match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
                    _ => Style::Block,
                },
                anchor,
                tag: tag.map(|tag| short_tag(tag.handle(), tag.suffix())),
            },
            Event::Alias(anchor) => Step::Alias(anchor),
            _ => return None,
        })
    }
}

fn syntax_error(error: ScanError) -> Problem {
    // The parser appends its own position ("at char 62 line 6 column 6"), counted within
    // this document; callers report it within the whole output instead.
    let text = error.to_string();
    let message = [" at char ", " at line "]
        .iter()
        .filter_map(|marker| text.find(marker))
        .min()
        .map_or(text.clone(), |cut| text[..cut].to_string());
    Problem {
        kind: ProblemKind::Invalid,
        message,
        line: error.marker().line(),
        column: error.marker().col() + 1,
    }
}

/// What a step found wrong; the road that took it knows where.
struct Found {
    kind: ProblemKind,
    message: String,
}

fn invalid(message: impl Into<String>) -> Found {
    Found {
        kind: ProblemKind::Invalid,
        message: message.into(),
    }
}

fn limit(message: String) -> Found {
    Found {
        kind: ProblemKind::Limit,
        message,
    }
}

const COLLECTION_KEY: &str = "a list or a mapping as a map key; object keys must be strings";
const MERGE_VALUE: &str = "`<<` merges a mapping, or a list of mappings, and nothing else";

/// Where the walker is: one frame per open collection.
enum Frame<'input> {
    /// A mapping: its keys so far, and whether the next scalar is a key.
    Mapping {
        keys: HashSet<Cow<'input, str>>,
        expecting_key: bool,
        key: Option<Cow<'input, str>>,
        /// The current key is `<<`: its value is merged in.
        merging: bool,
        anchor: usize,
        /// The node count before this collection, to size its anchor.
        nodes_before: usize,
    },
    Sequence {
        /// The value of a `<<`: every item must be a mapping.
        merged: bool,
        anchor: usize,
        nodes_before: usize,
    },
}

/// What an anchor stands for, so its aliases can be read without building anything.
#[derive(Clone)]
enum Anchored {
    Mapping { nodes: usize },
    Sequence { nodes: usize },
    Scalar { text: String, resolved: Resolved },
}

impl Anchored {
    fn nodes(&self) -> usize {
        match self {
            Anchored::Mapping { nodes } | Anchored::Sequence { nodes } => *nodes,
            Anchored::Scalar { .. } => 1,
        }
    }
}

#[derive(Default)]
struct Walker<'input> {
    stack: Vec<Frame<'input>>,
    documents: usize,
    root: Option<RootKind>,
    identity: Identity,
    nodes: usize,
    scalar_bytes: usize,
    anchors: HashMap<usize, Anchored>,
    /// Present when the object is wanted.
    builder: Option<Builder>,
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
    fn building() -> Self {
        Self {
            builder: Some(Builder::default()),
            ..Self::default()
        }
    }

    /// Whether the fast road must work out the text of block scalars.
    fn builds(&self) -> bool {
        self.builder.is_some()
    }

    /// Takes one step; fails on what the parser does not catch itself.
    fn step(&mut self, step: Step<'input>) -> Result<(), Found> {
        #[cfg(test)]
        self.trace.push(step.traced());
        match step {
            Step::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(invalid("a second YAML document where one was expected"));
                }
                Ok(())
            }
            Step::MappingStart { anchor } => self.open(true, anchor),
            Step::SequenceStart { anchor } => self.open(false, anchor),
            Step::CollectionEnd => {
                self.close();
                Ok(())
            }
            Step::Scalar {
                value,
                style,
                anchor,
                tag,
            } => self.scalar(value, style, anchor, tag.as_deref()),
            Step::Alias(anchor) => self.alias(anchor),
        }
    }

    fn count_node(&mut self) -> Result<(), Found> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(limit(format!(
                "more than {MAX_NODES} values (mappings, lists and scalars) in one document"
            )));
        }
        Ok(())
    }

    fn expecting_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Mapping {
                expecting_key: true,
                ..
            })
        )
    }

    /// Whether the next value is merged by `<<`: directly, or as an item of its list.
    fn merge_position(&self) -> Option<MergePosition> {
        match self.stack.last()? {
            Frame::Mapping { merging: true, .. } => Some(MergePosition::Value),
            Frame::Sequence { merged: true, .. } => Some(MergePosition::Item),
            _ => None,
        }
    }

    fn open(&mut self, mapping: bool, anchor: usize) -> Result<(), Found> {
        self.count_node()?;
        if self.expecting_key() {
            return Err(invalid(COLLECTION_KEY));
        }
        let merged = match self.merge_position() {
            Some(MergePosition::Value) => !mapping,
            Some(MergePosition::Item) if !mapping => return Err(invalid(MERGE_VALUE)),
            _ => false,
        };
        if self.stack.len() >= MAX_DEPTH {
            return Err(limit(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let field = self.value_position();
        self.record(
            field,
            Field::NotText(if mapping { "a mapping" } else { "a list" }),
        );
        self.note_root(if mapping {
            RootKind::Mapping
        } else {
            RootKind::Other
        });
        let nodes_before = self.nodes - 1;
        self.stack.push(if mapping {
            Frame::Mapping {
                keys: HashSet::default(),
                expecting_key: true,
                key: None,
                merging: false,
                anchor,
                nodes_before,
            }
        } else {
            Frame::Sequence {
                merged,
                anchor,
                nodes_before,
            }
        });
        if let Some(builder) = &mut self.builder {
            if mapping {
                builder.start_mapping(anchor);
            } else {
                builder.start_sequence(anchor);
            }
        }
        Ok(())
    }

    fn close(&mut self) {
        let anchored = match self.stack.pop() {
            Some(Frame::Mapping {
                anchor,
                nodes_before,
                ..
            }) => (
                anchor,
                Anchored::Mapping {
                    nodes: self.nodes - nodes_before,
                },
            ),
            Some(Frame::Sequence {
                anchor,
                nodes_before,
                ..
            }) => (
                anchor,
                Anchored::Sequence {
                    nodes: self.nodes - nodes_before,
                },
            ),
            None => return,
        };
        if anchored.0 != 0 {
            self.anchors.insert(anchored.0, anchored.1);
        }
        if let Some(builder) = &mut self.builder {
            builder.end();
        }
        self.value_done();
    }

    fn scalar(
        &mut self,
        value: Cow<'input, str>,
        style: Style,
        anchor: usize,
        tag: Option<&str>,
    ) -> Result<(), Found> {
        self.count_node()?;
        self.scalar_bytes += value.len();
        if self.scalar_bytes > MAX_SCALAR_BYTES {
            return Err(limit(format!(
                "more than {} MiB of scalar text in one document",
                MAX_SCALAR_BYTES >> 20
            )));
        }
        // Quoted and block scalars are strings; plain ones are resolved only when their
        // meaning is needed, which for most values of most documents it is not.
        let known = match tag {
            Some(tag) => Some(resolve_tagged(tag, &value).map_err(invalid)?),
            None if style != Style::Plain => Some(Resolved::Str),
            None => None,
        };
        if self.expecting_key() {
            let merge_key = value == "<<"
                && match tag {
                    None => style == Style::Plain,
                    Some(tag) => tag == "!!merge",
                };
            if merge_key {
                return self.merge_key();
            }
            if known.is_none() && anchor == 0 && !may_not_be_text(&value) {
                return self.key(value);
            }
            let resolved = match known {
                Some(resolved) => resolved,
                None if may_not_be_text(&value) => resolve_plain(&value),
                None => Resolved::Str,
            };
            let key_text = resolved.key_text(&value).map_err(invalid)?;
            if anchor != 0 {
                if let Some(builder) = &mut self.builder {
                    builder.remember(anchor, resolved.to_json(&value).map_err(invalid)?);
                }
                self.anchors.insert(
                    anchor,
                    Anchored::Scalar {
                        text: value.to_string(),
                        resolved,
                    },
                );
            }
            let key = match key_text {
                None => value,
                Some(text) => Cow::Owned(text),
            };
            return self.key(key);
        }
        if self.merge_position().is_some() {
            return Err(invalid(MERGE_VALUE));
        }
        let field = self.value_position();
        let wanted = field.is_some()
            || self.stack.is_empty()
            || anchor != 0
            || self.builder.is_some()
            || could_be_not_finite(&value);
        if !wanted {
            self.value_done();
            return Ok(());
        }
        let resolved = match known {
            Some(resolved) => resolved,
            None if may_not_be_text(&value) => resolve_plain(&value),
            None => Resolved::Str,
        };
        resolved.fits_json().map_err(invalid)?;
        if self.stack.is_empty() {
            self.note_root(if resolved == Resolved::Null {
                RootKind::Null
            } else {
                RootKind::Other
            });
        }
        if field.is_some() {
            self.record(field, field_of(&value, &resolved));
        }
        if let Some(builder) = &mut self.builder {
            let json = resolved.to_json(&value).map_err(invalid)?;
            builder.value(json, anchor);
        }
        if anchor != 0 {
            self.anchors.insert(
                anchor,
                Anchored::Scalar {
                    text: value.into_owned(),
                    resolved,
                },
            );
        }
        self.value_done();
        Ok(())
    }

    /// A key, as kubectl will name it: no two may be the same.
    fn key(&mut self, key: Cow<'input, str>) -> Result<(), Found> {
        if let Some(builder) = &mut self.builder {
            builder.key(key.to_string());
        }
        if let Some(Frame::Mapping {
            keys,
            expecting_key,
            key: current,
            ..
        }) = self.stack.last_mut()
        {
            if !keys.insert(key.clone()) {
                return Err(invalid(format!("duplicate mapping key \"{key}\"")));
            }
            *current = Some(key);
            *expecting_key = false;
        }
        Ok(())
    }

    fn merge_key(&mut self) -> Result<(), Found> {
        if let Some(builder) = &mut self.builder {
            builder.merge_key();
        }
        if let Some(Frame::Mapping {
            expecting_key,
            key,
            merging,
            ..
        }) = self.stack.last_mut()
        {
            *key = Some(Cow::Borrowed("<<"));
            *expecting_key = false;
            *merging = true;
        }
        Ok(())
    }

    fn alias(&mut self, anchor: usize) -> Result<(), Found> {
        let Some(anchored) = self.anchors.get(&anchor).cloned() else {
            return Err(invalid(
                "an alias of an anchor that is not defined before it",
            ));
        };
        self.nodes += anchored.nodes();
        if self.nodes > MAX_NODES {
            return Err(limit(format!(
                "more than {MAX_NODES} values (mappings, lists and scalars) in one document once aliases are expanded"
            )));
        }
        if self.expecting_key() {
            return match anchored {
                Anchored::Scalar { text, resolved } => {
                    let key = resolved.key_text(&text).map_err(invalid)?;
                    self.key(Cow::Owned(key.unwrap_or(text)))
                }
                _ => Err(invalid(COLLECTION_KEY)),
            };
        }
        let is_mapping = matches!(anchored, Anchored::Mapping { .. });
        if self.merge_position().is_some() && !is_mapping {
            return Err(invalid(MERGE_VALUE));
        }
        let field = self.value_position();
        let value = match &anchored {
            Anchored::Mapping { .. } => Field::NotText("a mapping"),
            Anchored::Sequence { .. } => Field::NotText("a list"),
            Anchored::Scalar { text, resolved } => field_of(text, resolved),
        };
        self.record(field, value);
        self.note_root(RootKind::Other);
        if let Some(builder) = &mut self.builder {
            builder.alias(anchor);
        }
        self.value_done();
        Ok(())
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
            expecting_key,
            key,
            merging,
            ..
        }) = self.stack.last_mut()
        {
            *expecting_key = true;
            *key = None;
            *merging = false;
        }
    }

    fn finish(self) -> Inspected {
        match self.root {
            None | Some(RootKind::Null) => Inspected::Empty,
            Some(RootKind::Mapping) => Inspected::Object(self.identity),
            Some(RootKind::Other) => Inspected::NotAMapping,
        }
    }

    fn into_object(self) -> serde_json::Value {
        self.builder
            .map_or(serde_json::Value::Null, Builder::finish)
    }
}

enum MergePosition {
    /// The value of `<<`.
    Value,
    /// An item of the list `<<` takes.
    Item,
}

/// `.inf`, `-.nan` and the like: the only plain scalars JSON cannot carry.
fn could_be_not_finite(value: &str) -> bool {
    matches!(value.as_bytes(), [b'.', ..] | [b'+' | b'-', b'.', ..])
}

fn field_of(text: &str, resolved: &Resolved) -> Field {
    match resolved.type_name() {
        None => Field::Text(match resolved {
            Resolved::Binary(decoded) => decoded.clone(),
            _ => text.to_string(),
        }),
        Some(kind) => Field::NotText(kind),
    }
}

#[derive(Clone, Copy)]
enum IdentityField {
    ApiVersion,
    Kind,
    Name,
    Namespace,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    fn problem(text: &str) -> Problem {
        match inspect(text) {
            Err(problem) => problem,
            Ok(inspected) => panic!("accepted ({inspected:?}): {text}"),
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
        // kubectl reads only three spellings of each boolean.
        let mixed = identity("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tRUE\n");
        assert_eq!(text(&mixed.name), Some("tRUE"));
    }

    #[test]
    fn identity_through_an_alias_and_a_tag() {
        let id = identity(
            "apiVersion: v1\nkind: &k ConfigMap\nmetadata:\n  name: *k\n  namespace: !!str 123\n",
        );
        assert_eq!(text(&id.name), Some("ConfigMap"));
        assert_eq!(text(&id.namespace), Some("123"));
    }

    #[test]
    fn the_cheap_test_never_skips_a_scalar_that_is_not_text() {
        let characters = [
            "", "0", "1", "-", "+", ".", "_", "e", "x", "o", "b", "y", "n", "~", ":", "i", "N", "a",
        ];
        let mut words = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = words
                .iter()
                .flat_map(|w| characters.iter().map(move |c| format!("{w}{c}")))
                .collect();
            words.extend(longer);
            words.sort();
            words.dedup();
        }
        words.extend(["yes", "True", "FALSE", "Off", "NULL", "null", "false"].map(String::from));
        for word in &words {
            if !may_not_be_text(word) {
                assert_eq!(resolve_plain(word), Resolved::Str, "{word:?}");
            }
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
        let error = problem("a: 1\nb: [1,\nc: 2\n");
        assert!(error.line >= 2, "{}", error.line);
        let error = problem("a: 1\nb:\n  c: 1\n  c: 2\n");
        assert_eq!(
            (error.message.as_str(), error.line),
            ("duplicate mapping key \"c\"", 4)
        );
    }

    #[test]
    fn keys_kubectl_reads_as_the_same_string_are_duplicates() {
        for text in [
            "on: 1\n\"true\": 2\n",
            "y: 1\nYES: 2\n",
            "0755: 1\n\"493\": 2\n",
            "1_000: 1\n1000: 2\n",
        ] {
            let error = problem(text);
            assert!(
                error.message.starts_with("duplicate mapping key"),
                "{text}: {}",
                error.message
            );
            assert_eq!(error.line, 2, "{text}");
        }
    }

    #[test]
    fn what_kubectl_cannot_turn_into_json_is_refused_with_its_line() {
        for (text, line, message) in [
            ("a: 1\n~: 2\n", 2, "the map key `~` is null"),
            ("a: 1\nb: .inf\n", 2, "infinite or NaN"),
            ("a:\n  - -.Inf\n", 2, "infinite or NaN"),
            ("a: 1\n? [x]\n: 1\n", 2, "a list or a mapping as a map key"),
            ("a: 1\n18446744073709551615: x\n", 2, "too large for a key"),
            (
                "a: 1\nb: !!int text\n",
                2,
                "tagged !!int is not of that type",
            ),
            ("a: 1\n<<: 5\n", 2, "`<<` merges a mapping"),
            ("a: &x [1]\nb:\n  <<: *x\n", 3, "`<<` merges a mapping"),
            ("a: 1\nb:\n  <<: [{c: 1}, 2]\n", 3, "`<<` merges a mapping"),
        ] {
            let error = problem(text);
            assert_eq!(error.kind, ProblemKind::Invalid, "{text}");
            assert!(error.message.contains(message), "{text}: {}", error.message);
            assert_eq!(error.line, line, "{text}: {}", error.message);
            assert!(read_object(text).is_err(), "{text}");
        }
    }

    #[test]
    fn limits_name_what_was_exceeded_and_where() {
        let deep: String = (0..70)
            .map(|level| format!("{}l{level}:\n", "  ".repeat(level)))
            .collect();
        let error = problem(&deep);
        assert_eq!(error.kind, ProblemKind::Limit);
        assert_eq!(error.message, "nesting deeper than 64 levels");
        assert_eq!(error.line, 65);

        let flow_deep = format!("a: {}{}\n", "[".repeat(65), "]".repeat(65));
        assert_eq!(problem(&flow_deep).message, "nesting deeper than 64 levels");

        let many: String = (0..MAX_NODES / 2 + 1)
            .map(|i| format!("k{i}: v\n"))
            .collect();
        let error = problem(&many);
        assert_eq!(error.kind, ProblemKind::Limit);
        assert!(
            error.message.starts_with("more than 250000 values"),
            "{}",
            error.message
        );
        assert_eq!(error.line, MAX_NODES / 2);

        // Nine aliases of nine aliases ... of a list: 9^6 values from a few lines.
        let mut bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n".to_string();
        for level in 1..7 {
            let previous = format!("*a{}", level - 1);
            let items = [previous.as_str(); 9].join(", ");
            bomb.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        let error = problem(&bomb);
        assert_eq!(error.kind, ProblemKind::Limit);
        assert!(
            error.message.ends_with("once aliases are expanded"),
            "{}",
            error.message
        );
        assert!(read_object(&bomb).is_err());
    }

    #[test]
    fn objects_are_built_as_kubectl_builds_them() {
        let object = read_object(
            "a: 0755\nb: on\nc: 1e3\non: key\n0x1F: hex\nd: &d {x: 1, w: 2}\ne:\n  w: 0\n  <<: *d\n  z: 3\nf:\n  <<: [{p: 1}, {p: 2, q: 2}]\ng: !!binary aGk=\nh: |\n  text\n",
        )
        .map_err(|p| p.message)
        .unwrap();
        assert_eq!(
            object,
            json!({
                "a": 493, "b": true, "c": 1000, "true": "key", "31": "hex",
                "d": {"x": 1, "w": 2},
                "e": {"w": 2, "x": 1, "z": 3},
                "f": {"p": 1, "q": 2},
                "g": "hi",
                "h": "text\n",
            })
        );
    }
}
