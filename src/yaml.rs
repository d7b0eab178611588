//! How rchart reads and writes YAML files other than rendered manifests.
//!
//! Kubernetes tooling (kubectl, the API server's YAML decoder, Helm) reads YAML 1.1, so
//! rchart does too: `0644` is the octal number 420 and `on` is a boolean. Rendered
//! manifests are read by `render::inspect`, which follows kubectl's reading to the letter
//! (`tests/golden/kubectl-scalars.jsonl`); these options serve Chart.yaml and the rest.
//! On output, strings that a YAML 1.1 reader would misread are quoted.

use serde::Serialize;

/// Parser options for values files and Chart.yaml.
pub fn read_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        legacy_octal_numbers: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        with_snippet: false,
    }
}

/// Parses one YAML document with rchart's options.
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options(text, read_options())
}

/// Serialises a value as block YAML without a trailing newline.
pub fn to_yaml<T: Serialize>(value: &T) -> Result<String, String> {
    let mut text = serde_saphyr::to_string(value).map_err(|e| format!("to_yaml: {e}"))?;
    let trimmed = text.trim_end_matches('\n').len();
    text.truncate(trimmed);
    Ok(text)
}

/// A parse error taken apart, so callers can report the line in their own terms
/// (a template's rendered output, a values file) instead of the parser's.
pub struct ParseProblem {
    /// What is wrong, without the parser's location suffix.
    pub message: String,
    /// 1-based line and column within the parsed text, when known.
    pub position: Option<(u64, u64)>,
}

/// Splits a parser error into its message and position.
pub fn describe(error: &serde_saphyr::Error) -> ParseProblem {
    let position = error
        .location()
        .map(|l| (l.line(), l.column()))
        .filter(|&(line, _)| line > 0);
    // In plain words: no parser settings, Rust types or budget structs.
    let full = crate::values::plain_yaml_message(error);
    let message = full.lines().next().unwrap_or_default().to_string();
    ParseProblem { message, position }
}
