//! `.rchartignore`: gitignore-style patterns naming chart files to leave out.
//!
//! Only the file at the chart root is read, as Helm reads only the root `.helmignore`.
//! Patterns use gitignore syntax and are matched against chart-relative paths:
//! `secrets.yaml` matches at any depth, `/README.md` only at the root, `tmp/` only
//! directories, `*.bak` is a glob, and `!keep.bak` re-includes a file. As in git, a
//! negation cannot re-include a file inside an ignored directory, because ignored
//! directories are never entered.
//!
//! The ignore file itself is kept and packaged, as Helm packages `.helmignore`, so a
//! package can be unpacked and repackaged with the same result. List `.rchartignore`
//! in itself to leave it out.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::escape::{escape_name, escape_path};

/// Name of the ignore file at the chart root
pub const IGNORE_FILE: &str = ".rchartignore";

/// The patterns of one chart's `.rchartignore`
#[derive(Debug, Clone)]
pub struct IgnoreRules {
    matcher: Gitignore,
}

impl IgnoreRules {
    /// Rules that ignore nothing
    pub fn empty() -> Self {
        Self {
            matcher: Gitignore::empty(),
        }
    }

    /// Reads `.rchartignore` from the chart directory; no file means no rules
    pub fn load(chart_dir: &Path) -> Result<Self, IgnoreError> {
        let path = chart_dir.join(IGNORE_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => Self::parse(&path, &text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Self::empty()),
            Err(source) => Err(IgnoreError::Read { path, source }),
        }
    }

    /// Parses ignore patterns; `source` names the file in error messages
    pub fn parse(source: &Path, text: &str) -> Result<Self, IgnoreError> {
        // Root "." makes the matcher take candidate paths as they are. With the chart
        // directory as root it would strip a leading component equal to that
        // directory's name, so in a chart dir called "templates" the path
        // "templates/x.yaml" would be matched as "x.yaml".
        let mut builder = GitignoreBuilder::new(".");
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (index, line) in text.lines().enumerate() {
            builder
                .add_line(Some(source.to_path_buf()), line)
                .map_err(|source_error| IgnoreError::Pattern {
                    path: source.to_path_buf(),
                    line: index + 1,
                    pattern: line.to_owned(),
                    source: source_error,
                })?;
        }
        let matcher = builder.build().map_err(|source_error| IgnoreError::Build {
            path: source.to_path_buf(),
            source: source_error,
        })?;
        Ok(Self { matcher })
    }

    /// Whether the chart path `path` is ignored; `is_dir` says whether it names a
    /// directory, for patterns ending in `/`
    ///
    /// Only `path` itself is matched, not its parent directories: callers walk the
    /// tree from the root and do not enter ignored directories, which gives git's
    /// semantics for negations.
    pub fn is_ignored(&self, path: &str, is_dir: bool) -> bool {
        self.matcher.matched(path, is_dir).is_ignore()
    }
}

/// An error reading or parsing `.rchartignore`
#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    /// The file exists but could not be read
    #[error("cannot read \"{}\"", escape_path(path))]
    Read {
        /// The ignore file
        path: PathBuf,
        /// The underlying error
        #[source]
        source: io::Error,
    },
    /// A line is not a valid pattern
    #[error(
        "\"{}\" line {line}: invalid pattern \"{}\"",
        escape_path(path),
        escape_name(pattern)
    )]
    Pattern {
        /// The ignore file
        path: PathBuf,
        /// 1-based line number
        line: usize,
        /// The line as written
        pattern: String,
        /// What the pattern parser said
        #[source]
        source: ignore::Error,
    },
    /// The patterns could not be compiled together
    #[error("\"{}\": cannot compile the ignore patterns", escape_path(path))]
    Build {
        /// The ignore file
        path: PathBuf,
        /// What the pattern compiler said
        #[source]
        source: ignore::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> IgnoreRules {
        IgnoreRules::parse(Path::new(IGNORE_FILE), text).unwrap()
    }

    #[test]
    fn patterns_follow_gitignore_semantics_on_chart_paths() {
        let rules = rules("# comment\n\n*.bak\n!keep.bak\n/NOTES.txt\ntmp/\ndocs/*.md\n");
        let ignored = |path, is_dir| rules.is_ignored(path, is_dir);

        assert!(ignored("a.bak", false));
        assert!(ignored("templates/a.bak", false));
        assert!(!ignored("templates/keep.bak", false));
        assert!(ignored("NOTES.txt", false));
        assert!(!ignored("templates/NOTES.txt", false));
        assert!(ignored("tmp", true));
        assert!(ignored("templates/tmp", true));
        assert!(!ignored("tmp", false));
        assert!(ignored("docs/a.md", false));
        assert!(!ignored("docs/sub/a.md", false));
        assert!(!ignored("values.yaml", false));
    }

    #[test]
    fn no_rules_ignore_nothing() {
        assert!(!IgnoreRules::empty().is_ignored("anything", false));
        let dir = tempfile::tempdir().unwrap();
        assert!(
            !IgnoreRules::load(dir.path())
                .unwrap()
                .is_ignored("x", false)
        );
    }

    #[test]
    fn crlf_line_endings_and_a_byte_order_mark_are_accepted() {
        let rules = rules("\u{feff}first.txt\r\nsecond.txt\r\n");
        assert!(rules.is_ignored("first.txt", false));
        assert!(rules.is_ignored("second.txt", false));
    }

    #[test]
    fn an_invalid_pattern_is_reported_with_file_and_line() {
        let err = IgnoreRules::parse(Path::new("chart/.rchartignore"), "ok\n{a,b\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#""chart/.rchartignore" line 2: invalid pattern "{a,b""#
        );
        assert!(std::error::Error::source(&err).is_some());
    }
}
