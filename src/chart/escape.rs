//! Showing chart-supplied names in messages.
//!
//! File and entry names come from charts, and charts may come from anywhere. A name
//! holding terminal escapes (ESC, BEL), a carriage return or a bidi override could
//! rewrite what an error message shows. So every chart-supplied name that reaches a
//! message goes through [`escape_name`] (or [`escape_path`], [`escape_bytes`] for names
//! that are not yet text):
//! - characters that do not print, as Rust's `{:?}` judges them (control characters,
//!   format characters such as bidi overrides and zero-width joiners, line and paragraph
//!   separators, combining marks, unassigned code points), are shown as `\n`, `\r`, `\t`
//!   or `\u{…}`;
//! - a backslash is shown as `\\`, so an escaped name cannot be mistaken for another;
//! - bytes that are not UTF-8 are shown as `\x..`;
//! - everything else, quotes included, is shown as it is.
//!
//! Chart paths never hold a backslash, so escaping leaves a chart path unchanged unless
//! it holds something unprintable, and two chart paths never escape to the same text.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;

/// `name` with every unprintable character and backslash escaped; see the module
/// documentation.
pub fn escape_name(name: &str) -> Cow<'_, str> {
    if !name.chars().any(needs_escape) {
        return Cow::Borrowed(name);
    }
    let mut shown = String::with_capacity(name.len() + 8);
    push_escaped(&mut shown, name);
    Cow::Owned(shown)
}

/// A path from disk, escaped as [`escape_name`] does; bytes that are not UTF-8 are
/// shown as `\x..`.
pub fn escape_path(path: &Path) -> Cow<'_, str> {
    match path.to_str() {
        Some(text) => escape_name(text),
        None => Cow::Owned(escape_bytes(path.as_os_str().as_encoded_bytes()).into_owned()),
    }
}

/// Raw name bytes, such as a tar entry name, escaped as [`escape_name`] does; bytes
/// that are not UTF-8 are shown as `\x..`.
pub fn escape_bytes(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return escape_name(text);
    }
    let mut shown = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        push_escaped(&mut shown, chunk.valid());
        for byte in chunk.invalid() {
            let _ = write!(shown, "\\x{byte:02x}");
        }
    }
    Cow::Owned(shown)
}

fn needs_escape(c: char) -> bool {
    match c {
        '\\' => true,
        '"' | '\'' => false,
        // `escape_debug` leaves exactly the printable characters alone
        _ => c.escape_debug().len() > 1,
    }
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_are_borrowed_unchanged() {
        for name in [
            "templates/deployment.yaml",
            "files/h\u{e9}llo \"quoted\" it's.txt",
            "files/\u{65e5}\u{672c}.txt",
        ] {
            assert!(matches!(escape_name(name), Cow::Borrowed(shown) if shown == name));
        }
    }

    #[test]
    fn control_characters_and_bidi_overrides_are_escaped() {
        let cases = [
            ("a\u{1b}[31mred", "a\\u{1b}[31mred"),
            ("cr\rlf\n", "cr\\rlf\\n"),
            ("bell\u{7}", "bell\\u{7}"),
            ("del\u{7f}", "del\\u{7f}"),
            ("c1\u{9b}", "c1\\u{9b}"),
            ("evil\u{202e}lmth.yaml", "evil\\u{202e}lmth.yaml"),
            ("iso\u{2066}late", "iso\\u{2066}late"),
            ("zero\u{200b}width", "zero\\u{200b}width"),
            ("line\u{2028}sep", "line\\u{2028}sep"),
            ("back\\slash", "back\\\\slash"),
        ];
        for (name, shown) in cases {
            assert_eq!(escape_name(name), shown, "{name:?}");
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_shown_as_hex() {
        assert_eq!(
            escape_bytes(b"ok/\xff\xfe\x1b.yaml"),
            "ok/\\xff\\xfe\\u{1b}.yaml"
        );
        assert_eq!(escape_bytes(b"plain"), "plain");
    }

    #[cfg(unix)]
    #[test]
    fn paths_that_are_not_utf8_are_shown_as_hex() {
        use std::os::unix::ffi::OsStrExt;
        let path = Path::new(std::ffi::OsStr::from_bytes(b"/tmp/\xffx\x07"));
        assert_eq!(escape_path(path), "/tmp/\\xffx\\u{7}");
    }
}
