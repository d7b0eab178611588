//! The fast road: block YAML of the shape templates nearly always produce, read line by
//! line into the walker's steps. It reads block mappings and lists, one-line scalars
//! (plain, or quoted without escapes), one-line flow collections of words and quoted
//! strings, literal and folded block scalars, and comments. On anything else (nested
//! flow collections, anchors, tags, escapes, tabs, scalars spanning lines) and on any
//! problem the walker finds, it gives up and the parser reads the document instead, so
//! only the parser reports errors.
//!
//! Checking output was two thirds of `rchart template`'s time; see the README's
//! benchmarks.

use std::borrow::Cow;

use super::scalar::Style;
use super::{Step, Walker};

/// The document needs the full parser.
#[derive(Debug)]
pub struct Unsupported;

type Outcome = Result<(), Unsupported>;

/// Feeds `walker` the steps the parser would, or gives up.
pub fn walk<'input>(text: &'input str, walker: &mut Walker<'input>) -> Outcome {
    check_characters(text)?;
    Reader {
        lines: text.split('\n').collect(),
        next: 0,
        blocks: Vec::new(),
        pending: None,
        started: false,
        walker,
    }
    .read()
}

/// An open block collection and the column its entries start at.
#[derive(Clone, Copy, PartialEq)]
enum Block {
    Mapping(usize),
    Sequence(usize),
}

impl Block {
    fn column(self) -> usize {
        match self {
            Block::Mapping(column) | Block::Sequence(column) => column,
        }
    }
}

/// A key or list item whose value did not start on its own line.
#[derive(Clone, Copy)]
struct Pending {
    /// The column of the block holding it.
    column: usize,
    /// A key's value may be a list at the key's own column; an item's may not.
    after_key: bool,
}

struct Reader<'input, 'walker> {
    lines: Vec<&'input str>,
    next: usize,
    blocks: Vec<Block>,
    pending: Option<Pending>,
    started: bool,
    walker: &'walker mut Walker<'input>,
}

impl<'input> Reader<'input, '_> {
    fn read(mut self) -> Outcome {
        while let Some(&line) = self.lines.get(self.next) {
            self.next += 1;
            let rest = line.trim_start_matches(' ');
            if rest.is_empty() || rest.starts_with('#') {
                continue;
            }
            let indent = line.len() - rest.len();
            if indent == 0 && (rest.starts_with("---") || rest.starts_with("...")) {
                return Err(Unsupported);
            }
            self.content_line(indent, rest)?;
        }
        self.resolve_pending()?;
        while !self.blocks.is_empty() {
            self.close()?;
        }
        Ok(())
    }

    fn content_line(&mut self, indent: usize, rest: &'input str) -> Outcome {
        let is_item = rest == "-" || rest.starts_with("- ");
        if let Some(pending) = self.pending {
            let nested = indent > pending.column
                || (indent == pending.column && is_item && pending.after_key);
            if nested {
                self.pending = None;
                return self.open(indent, rest, is_item);
            }
            self.resolve_pending()?;
        }
        while self.blocks.last().is_some_and(|top| top.column() > indent) {
            self.close()?;
        }
        match self.blocks.last().copied() {
            None if !self.started => {
                self.started = true;
                self.emit(Step::DocumentStart)?;
                self.open(indent, rest, is_item)
            }
            Some(Block::Mapping(column)) if column == indent && !is_item => {
                self.key_line(indent, rest)
            }
            Some(Block::Sequence(column)) if column == indent => {
                if is_item {
                    self.item_line(indent, rest)
                } else if self.blocks.len() >= 2
                    && self.blocks[self.blocks.len() - 2] == Block::Mapping(indent)
                {
                    // A key's list at the key's own column ends at the next key.
                    self.close()?;
                    self.key_line(indent, rest)
                } else {
                    Err(Unsupported)
                }
            }
            // A second root, a scalar continued on this line, or an error.
            _ => Err(Unsupported),
        }
    }

    fn open(&mut self, indent: usize, rest: &'input str, is_item: bool) -> Outcome {
        if is_item {
            self.blocks.push(Block::Sequence(indent));
            self.emit(Step::SequenceStart { anchor: 0 })?;
            self.item_line(indent, rest)
        } else {
            self.blocks.push(Block::Mapping(indent));
            self.emit(Step::MappingStart { anchor: 0 })?;
            self.key_line(indent, rest)
        }
    }

    fn close(&mut self) -> Outcome {
        self.blocks.pop();
        self.emit(Step::CollectionEnd)
    }

    /// A value left for the next lines that never came is null, as the parser says.
    fn resolve_pending(&mut self) -> Outcome {
        if self.pending.take().is_some() {
            self.emit(plain(Cow::Borrowed("~")))?;
        }
        Ok(())
    }

    /// `- value`, `- key: value` (a mapping starting on the item's line), or `-` alone.
    fn item_line(&mut self, indent: usize, rest: &'input str) -> Outcome {
        let after_dash = &rest[1..];
        let content = after_dash.trim_start_matches(' ');
        let column = indent + 1 + after_dash.len() - content.len();
        if content.is_empty() || content.starts_with('#') {
            self.pending = Some(Pending {
                column: indent,
                after_key: false,
            });
            return Ok(());
        }
        if content == "-" || content.starts_with("- ") {
            return Err(Unsupported);
        }
        if let Some((key, after_colon)) = split_key(content) {
            self.blocks.push(Block::Mapping(column));
            self.emit(Step::MappingStart { anchor: 0 })?;
            return self.key_value(column, key, after_colon);
        }
        self.value(column, content)
    }

    fn key_line(&mut self, indent: usize, rest: &'input str) -> Outcome {
        let (key, after_colon) = split_key(rest).ok_or(Unsupported)?;
        self.key_value(indent, key, after_colon)
    }

    fn key_value(&mut self, column: usize, key: &'input str, after_colon: &'input str) -> Outcome {
        self.emit(plain(Cow::Borrowed(key)))?;
        let value = after_colon.trim_start_matches(' ');
        if value.is_empty() || value.starts_with('#') {
            self.pending = Some(Pending {
                column,
                after_key: true,
            });
            return Ok(());
        }
        self.value(column + 1, value)
    }

    /// A value starting on this line. A block scalar's lines must be indented at least
    /// `block_indent`.
    fn value(&mut self, block_indent: usize, text: &'input str) -> Outcome {
        match text.as_bytes()[0] {
            b'"' => self.quoted(text, '"'),
            b'\'' => self.quoted(text, '\''),
            b'|' | b'>' => self.block_scalar(block_indent, &text[1..]),
            b'[' | b'{' => self.flow_collection(text),
            _ => self.plain(text),
        }
    }

    fn quoted(&mut self, text: &'input str, quote: char) -> Outcome {
        let body = &text[1..];
        let end = body.find(quote).ok_or(Unsupported)?;
        let (inner, after) = (&body[..end], &body[end + 1..]);
        let escaped = match quote {
            '"' => inner.contains('\\'),
            _ => after.starts_with('\''),
        };
        if escaped {
            return Err(Unsupported);
        }
        only_comment(after)?;
        self.emit(quoted(Cow::Borrowed(inner)))
    }

    /// A one-line flow collection of words and quoted strings: `[ALL]`, `{path: /x,
    /// port: 80}`. Nested ones, and any entry that is something else, go to the parser.
    fn flow_collection(&mut self, text: &'input str) -> Outcome {
        let (is_mapping, close) = match text.as_bytes()[0] {
            b'[' => (false, ']'),
            _ => (true, '}'),
        };
        let end = text.find(close).ok_or(Unsupported)?;
        let (inner, after) = (&text[1..end], &text[end + 1..]);
        if inner.contains(['[', ']', '{', '}']) {
            return Err(Unsupported);
        }
        only_comment(after)?;
        self.emit(if is_mapping {
            Step::MappingStart { anchor: 0 }
        } else {
            Step::SequenceStart { anchor: 0 }
        })?;
        if !inner.trim_matches(' ').is_empty() {
            for entry in inner.split(',') {
                let entry = entry.trim_matches(' ');
                if is_mapping {
                    let (key, value) = entry.split_once(": ").ok_or(Unsupported)?;
                    if !is_word(key) {
                        return Err(Unsupported);
                    }
                    self.emit(plain(Cow::Borrowed(key)))?;
                    self.emit(flow_scalar(value.trim_start_matches(' '))?)?;
                } else {
                    self.emit(flow_scalar(entry)?)?;
                }
            }
        }
        self.emit(Step::CollectionEnd)
    }

    fn plain(&mut self, text: &'input str) -> Outcome {
        let bytes = text.as_bytes();
        let starts_as_number_or_word = bytes[0] == b'-' && bytes.get(1).is_some_and(|&b| b != b' ');
        if b"-?:,[]{}#&*!|>'\"%@`".contains(&bytes[0]) && !starts_as_number_or_word {
            return Err(Unsupported);
        }
        let end = text.find(" #").unwrap_or(text.len());
        let value = text[..end].trim_end_matches(' ');
        if value.contains(": ") || value.ends_with(':') {
            return Err(Unsupported);
        }
        self.emit(plain(Cow::Borrowed(value)))
    }

    /// `|` or `>` with an optional chomping indicator; the lines after it are its text.
    fn block_scalar(&mut self, block_indent: usize, header: &str) -> Outcome {
        let header = header.strip_prefix(['-', '+']).unwrap_or(header);
        only_comment(header)?;
        // Its text is not worked out here, so identity fields, and whole objects, go to
        // the parser.
        if self.walker.builds() || self.walker.value_position().is_some() {
            return Err(Unsupported);
        }
        self.emit(Step::Scalar {
            value: Cow::Borrowed(""),
            style: Style::Block,
            anchor: 0,
            tag: None,
        })?;
        let first = self.next;
        let Some(text_line) = (first..self.lines.len()).find(|&i| !is_blank(self.lines[i])) else {
            return Err(Unsupported);
        };
        let text_indent = indent_of(self.lines[text_line]);
        let leading_blanks = &self.lines[first..text_line];
        if text_indent < block_indent || leading_blanks.iter().any(|line| line.len() > text_indent)
        {
            return Err(Unsupported);
        }
        let end = (text_line..self.lines.len())
            .find(|&i| !is_blank(self.lines[i]) && indent_of(self.lines[i]) < text_indent)
            .unwrap_or(self.lines.len());
        self.next = end;
        Ok(())
    }

    fn emit(&mut self, step: Step<'input>) -> Outcome {
        self.walker.step(step).map_err(|_| Unsupported)
    }
}

fn plain(value: Cow<'_, str>) -> Step<'_> {
    Step::Scalar {
        value,
        style: Style::Plain,
        anchor: 0,
        tag: None,
    }
}

fn quoted(value: Cow<'_, str>) -> Step<'_> {
    Step::Scalar {
        value,
        style: Style::Quoted,
        anchor: 0,
        tag: None,
    }
}

/// Splits `key: value` (or `key:` alone) where the key is a word.
fn split_key(text: &str) -> Option<(&str, &str)> {
    let colon = text.find(':')?;
    let (key, after_colon) = (&text[..colon], &text[colon + 1..]);
    let well_formed = is_word(key) && (after_colon.is_empty() || after_colon.starts_with(' '));
    well_formed.then_some((key, after_colon))
}

/// Made of the characters manifest keys use (letters, digits and `_.-/`), and not so
/// long that YAML stops reading it as a key.
fn is_word(text: &str) -> bool {
    let word_character =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/');
    !text.is_empty()
        && text.len() <= 1000
        && !text.starts_with('-')
        && text.bytes().all(word_character)
}

/// An entry of a flow collection: a word, or a string in double quotes without escapes.
fn flow_scalar(entry: &str) -> Result<Step<'_>, Unsupported> {
    if is_word(entry) {
        return Ok(plain(Cow::Borrowed(entry)));
    }
    let inner = entry
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .ok_or(Unsupported)?;
    if inner.contains(['"', '\\']) {
        return Err(Unsupported);
    }
    Ok(quoted(Cow::Borrowed(inner)))
}

/// Nothing after a scalar but spaces and perhaps a comment.
fn only_comment(after: &str) -> Outcome {
    let trimmed = after.trim_start_matches(' ');
    let spaced_comment = trimmed.starts_with('#') && trimmed.len() < after.len();
    if trimmed.is_empty() || spaced_comment {
        Ok(())
    } else {
        Err(Unsupported)
    }
}

fn is_blank(line: &str) -> bool {
    line.bytes().all(|b| b == b' ')
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Tabs, carriage returns, other control characters and the characters YAML 1.1 reads
/// as line breaks or byte-order marks are left to the parser.
fn check_characters(text: &str) -> Outcome {
    // No early exit: the compiler turns this loop into vector instructions.
    let control = text.bytes().fold(false, |found, b| {
        found | ((b < b' ') & (b != b'\n')) | (b == 0x7f)
    });
    if control {
        return Err(Unsupported);
    }
    let non_ascii = !text.is_ascii();
    let awkward = |c: char| {
        matches!(
            c,
            '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
    };
    if non_ascii && text.chars().any(awkward) {
        return Err(Unsupported);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Inspected, parse};
    use super::*;

    /// Reads `text` both ways. Whenever the fast road finishes, the parser must accept
    /// the document and take the very same steps. Returns whether the fast road finished.
    fn agrees_with_the_parser(text: &str) -> bool {
        let mut fast = Walker::default();
        if walk(text, &mut fast).is_err() {
            return false;
        }
        let mut slow = Walker::default();
        if let Err(error) = parse(text, &mut slow) {
            panic!(
                "the fast road accepts what the parser rejects ({}):\n{text}",
                error.message
            );
        }
        assert_eq!(fast.trace, slow.trace, "steps differ for:\n{text}");
        assert_eq!(
            fast.finish(),
            slow.finish(),
            "identity differs for:\n{text}"
        );
        let mut fast = Walker::building();
        if walk(text, &mut fast).is_ok() {
            let mut slow = Walker::building();
            if let Err(error) = parse(text, &mut slow) {
                panic!("the parser cannot build ({}):\n{text}", error.message);
            }
            assert_eq!(
                fast.into_object(),
                slow.into_object(),
                "objects differ for:\n{text}"
            );
        }
        true
    }

    const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # the release's
  labels:
    app.kubernetes.io/name: web
  annotations: {}
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: web
        image: "ghcr.io/example/web:1.2@sha256:0123"
        args: ["--config", "/config/config.yml"]
        command:
          - multiroute
          - --listen
        env:
        - name: DB_PASS
          valueFrom:
            secretKeyRef: {name: db, key: pass}
        ports:
        -   containerPort: 3000
        resources: {}
      volumes: []
"#;

    #[test]
    fn reads_what_templates_usually_produce() {
        let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"web-config\"\n  namespace: prod\ndata:\n  config.yml: |\n    routes:\n      /a: \"a\"\n\n    # kept\n  other: >-\n    folded\n    text\n  empty:\n  list:\n  - 1\n  - -2\n  -\n  - key: value\n    second: 'quoted'\n  last: ~\n";
        assert!(agrees_with_the_parser(manifest));
        let mut walker = Walker::default();
        walk(manifest, &mut walker).unwrap();
        let Inspected::Object(identity) = walker.finish() else {
            panic!("not an object")
        };
        assert_eq!(
            identity.name,
            Some(super::super::Field::Text("web-config".into()))
        );
        assert!(agrees_with_the_parser(DEPLOYMENT));
    }

    #[test]
    fn leaves_everything_else_to_the_parser() {
        for text in [
            "a: [1, [2]]\n",
            "a: {b: {c: 1}}\n",
            "a: ['single']\n",
            "a: [\"x\\ty\"]\n",
            "a: &anchor 1\nb: *anchor\n",
            "a: !!str 1\n",
            "a: \"line\\nbreak\"\n",
            "a: 'it''s'\n",
            "a: plain\n  continued\n",
            "a:\n  plain on the next line\n",
            "a:\tb\n",
            "a: b\r\n",
            "a: 1\na: 2\n",
            "? complex\n: key\n",
            "\"quoted\": key\n",
            "a: |2\n   indented\n",
            "metadata:\n  name: |\n    web\n",
            "a: b: c\n",
            "a: b:\n",
            "- - nested\n",
            "a: 1\n...\n",
            "%YAML 1.1\n---\na: 1\n",
            "a: \u{85}\n",
            "text\n",
            "a:\n  b: 1\n c: 2\n",
        ] {
            let mut walker = Walker::default();
            assert!(
                walk(text, &mut walker).is_err(),
                "read on the fast road: {text:?}"
            );
        }
    }

    #[test]
    fn agrees_with_the_parser_on_every_golden_document() {
        let golden = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
        let mut read_fast = 0;
        let mut documents = 0;
        for entry in std::fs::read_dir(golden).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|extension| extension != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap();
            for document in text.trim_start_matches("---\n").split("\n---\n") {
                documents += 1;
                read_fast += usize::from(agrees_with_the_parser(document));
            }
        }
        assert!(documents > 10, "{documents} documents");
        assert!(
            read_fast * 10 >= documents * 9,
            "{read_fast} of {documents} read fast"
        );
    }

    /// Documents made of lines that are mostly right and sometimes subtly wrong.
    #[test]
    fn agrees_with_the_parser_on_generated_documents() {
        const KEYS: &[&str] = &[
            "a",
            "b",
            "apiVersion",
            "kind",
            "metadata",
            "name",
            "namespace",
            "a.b/c",
            ".x",
            "-a",
            "a b",
            "on",
            "<<",
            "x_1",
        ];
        const VALUES: &[&str] = &[
            "",
            "v1",
            "yes",
            "no",
            "~",
            "null",
            "0755",
            "1e3",
            "-1",
            "- x",
            "--",
            "---",
            "...",
            "\"\"",
            "\"a: b\"",
            "\"q\" # c",
            "\"q\"x",
            "'x'",
            "'it''s'",
            "'open",
            "a: b",
            "a #c",
            "a#c",
            "foo:",
            ":x",
            "?x",
            "[]",
            "{}",
            "[] #c",
            "[a]",
            "{a: 1}",
            "|",
            "|-",
            ">+",
            "|2",
            "| #c",
            "|x",
            "&a x",
            "*a",
            "!t x",
            "%x",
            "@x",
            "`x",
            "é",
            "\"\\\"\"",
            "#c",
            "http://x:80/y",
            "a  b  ",
            "\"unterminated",
            "[a, b]",
            "[\"x\", y]",
            "[ ]",
            "[a,]",
            "{a: 1, b: \"c\"}",
            "{a: }",
            "[a: b]",
            "[\"a,b\"]",
            "[-1]",
            "{\"a\": 1}",
            "[a] x",
            "{a: [b]}",
            "[a #c]",
            "[\"#\", \"]\"]",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        let mut read_fast = 0;
        for _ in 0..40_000 {
            let mut text = String::new();
            let mut indent: usize = 0;
            for _ in 0..1 + next(10) {
                // Mostly the indentation nesting would give, sometimes one off.
                indent = match next(8) {
                    0 => indent.saturating_sub(2),
                    1 => indent.saturating_sub(4),
                    2 | 3 => indent + 2,
                    4 => indent + 1,
                    5 => indent.saturating_sub(1),
                    _ => indent,
                };
                text.push_str(&" ".repeat(indent));
                let key = KEYS[next(KEYS.len())];
                // Half the values are tricky, half ordinary.
                let value = if next(2) == 0 {
                    VALUES[next(VALUES.len())]
                } else {
                    ["v", "1", "\"q\"", ""][next(4)]
                };
                match next(6) {
                    0 => text.push_str(&format!("- {value}")),
                    1 => text.push_str(&format!("- {key}: {value}")),
                    2 => text.push_str(value),
                    _ => text.push_str(&format!("{key}: {value}")),
                }
                text.push('\n');
            }
            read_fast += usize::from(agrees_with_the_parser(&text));
        }
        assert!(read_fast > 2_000, "only {read_fast} documents read fast");
    }
}
