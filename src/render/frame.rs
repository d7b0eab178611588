//! The rendered lines an error points at, numbered, with Secret values masked.
//!
//! Errors end up in CI logs, so a frame never shows what a Secret holds: in a document
//! of kind Secret, or one whose kind cannot be told (the line saying it may be the broken
//! one, or missing), the values under every `data:` and `stringData:` are replaced with
//! `***`. Line numbers, keys and everything else stay as rendered.

use std::borrow::Cow;

const HIDDEN: &str = "***";

/// A document of a template's output: its text and the output line it starts on.
pub struct DocumentLines<'a> {
    pub text: &'a str,
    /// 1-based line of the document's first line within the output.
    pub first_line: usize,
}

/// Lines `line - 2 ..= line + 1` of `output`, the one at `line` marked with `>`.
pub fn excerpt(output: &str, documents: &[DocumentLines<'_>], line: usize) -> String {
    let first = line.saturating_sub(2).max(1);
    let masked: Vec<Option<Vec<Cow<'_, str>>>> = documents
        .iter()
        .map(|doc| may_hold_secrets(doc.text).then(|| mask_secret_values(doc.text)))
        .collect();
    output
        .lines()
        .enumerate()
        .map(|(i, text)| (i + 1, text))
        .filter(|(n, _)| (first..=line + 1).contains(n))
        .map(|(n, text)| {
            let shown = documents
                .iter()
                .zip(&masked)
                .rev()
                .find(|(doc, _)| doc.first_line <= n)
                .and_then(|(doc, masked)| masked.as_ref()?.get(n - doc.first_line))
                .map_or(text, |line| line.as_ref());
            let marker = if n == line { ">" } else { " " };
            format!("{marker}{n:>5} | {shown}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` with the values under every `data:` and `stringData:` hidden, whatever kind
/// it seems to quote: for free text that may echo manifests, such as what a
/// post-renderer printed on stderr.
pub fn mask_secret_text(text: &str) -> String {
    let mut masked = mask_secret_values(text).join("\n");
    if text.ends_with('\n') {
        masked.push('\n');
    }
    masked
}

/// Whether the document may be a Secret, or hold some (a List of them): unless exactly
/// one top-level `kind:` line names another kind, as a plain word, and no line anywhere
/// says `kind: Secret`.
fn may_hold_secrets(text: &str) -> bool {
    let mut top_level_kinds = Vec::new();
    for line in text.lines() {
        let content = line.trim_start_matches([' ', '-']);
        let Some(kind) = content.strip_prefix("kind:") else {
            continue;
        };
        let kind = kind.split(" #").next().unwrap_or_default().trim();
        let kind = kind.trim_matches(['"', '\'']);
        if kind == "Secret" {
            return true;
        }
        if line.starts_with("kind:") {
            top_level_kinds.push(kind);
        }
    }
    let readable = |kind: &str| !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_alphanumeric());
    !matches!(top_level_kinds.as_slice(), [kind] if readable(kind))
}

/// The document's lines with every value under `data:` and `stringData:` hidden: an
/// entry keeps its key, and lines below an entry (a block scalar's text) are hidden whole.
fn mask_secret_values(text: &str) -> Vec<Cow<'_, str>> {
    let mut lines = Vec::new();
    // The column of the `data:` key being masked, and of its entries once seen.
    let mut block: Option<(usize, Option<usize>)> = None;
    for line in text.lines() {
        let content = line.trim_start_matches(' ');
        let indent = line.len() - content.len();
        if let Some((key_column, entries)) = &mut block {
            if content.is_empty() {
                lines.push(Cow::Borrowed(line));
                continue;
            }
            if indent > *key_column {
                let entry_column = *entries.get_or_insert(indent);
                lines.push(Cow::Owned(if indent == entry_column {
                    hide_entry_value(line, indent)
                } else {
                    format!("{}{HIDDEN}", &line[..indent])
                }));
                continue;
            }
            block = None;
        }
        match data_key(line) {
            Some((key_column, value_at)) => {
                block = Some((key_column, None));
                let value = line[value_at..].trim();
                lines.push(if value.is_empty() || value.starts_with('#') {
                    Cow::Borrowed(line)
                } else {
                    Cow::Owned(format!("{} {HIDDEN}", &line[..value_at]))
                });
            }
            None => lines.push(Cow::Borrowed(line)),
        }
    }
    lines
}

/// A `data:` or `stringData:` key (perhaps after list dashes): its column and where its
/// value starts.
fn data_key(line: &str) -> Option<(usize, usize)> {
    let content = line.trim_start_matches([' ', '-']);
    let column = line.len() - content.len();
    let key = ["data:", "stringData:", "\"data\":", "\"stringData\":"]
        .into_iter()
        .find(|key| content.starts_with(key))?;
    let after = &content[key.len()..];
    (after.is_empty() || after.starts_with([' ', '\t'])).then_some((column, column + key.len()))
}

/// `  key: value` → `  key: ***`; a line that is not `key: value` is hidden whole.
fn hide_entry_value(line: &str, indent: usize) -> String {
    let content = &line[indent..];
    match content
        .find(": ")
        .or_else(|| content.ends_with(':').then(|| content.len() - 1))
    {
        Some(colon) => {
            let value = content[colon + 1..].trim();
            if value.is_empty() || value.starts_with('#') {
                line.to_string()
            } else {
                format!("{}: {HIDDEN}", &line[..indent + colon])
            }
        }
        None => format!("{}{HIDDEN}", &line[..indent]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(output: &str, line: usize) -> String {
        let documents = [DocumentLines {
            text: output,
            first_line: 1,
        }];
        excerpt(output, &documents, line)
    }

    #[test]
    fn secret_values_are_hidden_and_keys_and_lines_kept() {
        let output = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: hunter2\n  config.yml: |\n    token: abc123\n    more\n  broken: \"open\n";
        let shown = frame(output, 9);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("abc123"), "{shown}");
        assert!(shown.contains("    7 |   config.yml: ***"), "{shown}");
        assert!(shown.contains("    8 |     ***"), "{shown}");
        assert!(shown.contains(">    9 |     ***"), "{shown}");
        assert!(shown.contains("   10 |   broken: ***"), "{shown}");
        let shown = frame(output, 5);
        assert!(shown.contains("    6 |   password: ***"), "{shown}");
        assert!(shown.contains(">    5 | stringData:"), "{shown}");
    }

    #[test]
    fn inline_data_and_documents_whose_kind_is_unknown_are_masked() {
        let output =
            "apiVersion: v1\nkind: [Secret\nmetadata: {name: s}\ndata: {password: aHVudGVyMg==}\n";
        let shown = frame(output, 3);
        assert!(shown.contains("    4 | data: ***"), "{shown}");
        let no_kind = "apiVersion: v1\nmetadata: {name: s}\ndata:\n  password: aHVudGVyMg==\n";
        assert!(frame(no_kind, 3).contains("password: ***"));
        let list = "apiVersion: v1\nkind: List\nitems:\n- kind: Secret\n  data:\n    password: aHVudGVyMg==\n";
        assert!(frame(list, 5).contains("password: ***"));
    }

    #[test]
    fn free_text_is_masked_whatever_kind_it_names() {
        let text = "error at line 3:\nstringData:\n  password: hunter2\nkind: ConfigMap\n";
        let masked = mask_secret_text(text);
        assert!(!masked.contains("hunter2"), "{masked}");
        assert!(masked.starts_with("error at line 3:\nstringData:\n  password: ***\n"));
        let plain = "exit status 1: no such file\n";
        assert_eq!(mask_secret_text(plain), plain);
    }

    #[test]
    fn other_kinds_are_shown_as_rendered() {
        let output =
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  mode: \"fast\n";
        assert!(frame(output, 6).contains(">    6 |   mode: \"fast"));
    }
}
