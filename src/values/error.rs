//! The error type of the values module.

use std::fmt;
use std::path::PathBuf;

use super::input::FileProblem;
use super::schema::SchemaViolation;

/// Everything that can go wrong while loading, merging or validating values.
///
/// Every message names the file, the `--set` expression or the key it is about, so the
/// command layer can print it as it is.
#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    /// A values file could not be read, was too large or was not text.
    #[error("cannot read values file {}", path.display())]
    ReadFile {
        /// The file that could not be read, or `<stdin>`.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: FileProblem,
    },

    /// A values file is not valid YAML. `details` is the parser's message with its
    /// `line column` position and code frame.
    #[error("invalid YAML in {}: {details}", path.display())]
    Yaml {
        /// The file with the syntax error.
        path: PathBuf,
        /// The parser's message, position and code frame.
        details: String,
    },

    /// A values file holds something other than a map at the top level.
    #[error(
        "{}: expected a map of values at the top level, found {found}{}",
        path.display(),
        DocumentSuffix(*document)
    )]
    NotAMap {
        /// The offending file.
        path: PathBuf,
        /// What was found instead, for example `a list`.
        found: &'static str,
        /// The 1-based YAML document number, when the file holds several documents.
        document: Option<usize>,
    },

    /// A `--set`-style expression could not be parsed.
    #[error("{flag} \"{expression}\": {problem}")]
    SetSyntax {
        /// The flag the expression came from, for example `--set`.
        flag: &'static str,
        /// The expression, its values masked.
        expression: String,
        /// What is wrong with it.
        problem: String,
    },

    /// The file named by `--set-file key=path` could not be read, was too large or was
    /// not text.
    #[error("--set-file \"{expression}\": cannot read file \"{}\" for key \"{key}\"", path.display())]
    SetFileRead {
        /// The expression as the user wrote it.
        expression: String,
        /// The key the file content was meant for.
        key: String,
        /// The file that could not be read.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: FileProblem,
    },

    /// The value of a `--set-json` assignment is not valid JSON.
    #[error("--set-json \"{expression}\": invalid JSON for key \"{key}\"")]
    SetJson {
        /// The expression, its values masked.
        expression: String,
        /// The key whose value is not valid JSON.
        key: String,
        /// The JSON parser's error.
        #[source]
        source: serde_json::Error,
    },

    /// A `--set-json` expression that starts with `{` is not a valid JSON object.
    #[error("--set-json: invalid JSON object")]
    SetJsonObject {
        /// The JSON parser's error.
        #[source]
        source: serde_json::Error,
    },

    /// A key path such as `image.tag` could not be parsed.
    #[error("invalid key path \"{path}\": {problem}")]
    InvalidPath {
        /// The path as written.
        path: String,
        /// What is wrong with it.
        problem: String,
    },

    /// A schema file could not be read, was too large or was not text.
    #[error("cannot read schema file {}", path.display())]
    ReadSchema {
        /// The file that could not be read.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: FileProblem,
    },

    /// A schema file is not valid JSON.
    #[error(
        "invalid JSON in schema file {} at line {line}, column {column}: {message}",
        path.display()
    )]
    SchemaJson {
        /// The schema file.
        path: PathBuf,
        /// 1-based line of the syntax error.
        line: usize,
        /// 1-based column of the syntax error.
        column: usize,
        /// What the JSON parser expected.
        message: String,
    },

    /// A schema file is valid JSON but not a valid JSON schema.
    #[error("schema file {} is not a valid JSON schema: {problem}", path.display())]
    InvalidSchema {
        /// The schema file.
        path: PathBuf,
        /// What is wrong with the schema, with the path inside it.
        problem: String,
    },

    /// The merged values break the chart's schema. Holds every violation, sorted by key path.
    #[error("values do not match the schema in {}:{}", path.display(), ViolationList(violations))]
    SchemaViolations {
        /// The schema file.
        path: PathBuf,
        /// Every violation found, sorted by key path and message.
        violations: Vec<SchemaViolation>,
    },
}

/// Formats ` (document N)` for files with several YAML documents.
struct DocumentSuffix(Option<usize>);

impl fmt::Display for DocumentSuffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(number) => write!(f, " (document {number})"),
            None => Ok(()),
        }
    }
}

/// Formats schema violations one per line, indented under the header.
struct ViolationList<'a>(&'a [SchemaViolation]);

impl fmt::Display for ViolationList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for violation in self.0 {
            write!(f, "\n  {violation}")?;
        }
        Ok(())
    }
}
