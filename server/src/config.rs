//! The YAML config file: reading, parsing and validation.
//!
//! ```yaml
//! routes:
//!   /route1: "route1's content"
//!   /route2: "route2's content"
//! ```
//!
//! Every error names the file, and the line and column when the problem is inside it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// Paths answered by the server itself. A config route may not shadow them.
pub const RESERVED_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// A validated config: the route table as written in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Request path → the content that route answers with, sorted by path.
    pub routes: BTreeMap<String, String>,
}

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {} is not UTF-8 text: {source}", path.display())]
    NotUtf8 {
        path: PathBuf,
        source: std::str::Utf8Error,
    },
    #[error("config file {} is empty: expected a `routes:` mapping", path.display())]
    Empty { path: PathBuf },
    /// The YAML is malformed or does not describe a valid route table. `rendered` is the
    /// parser's own message with a code frame pointing at `path:line:column`.
    #[error("{rendered}")]
    Invalid {
        path: PathBuf,
        line: u64,
        column: u64,
        rendered: String,
    },
}

impl ConfigError {
    /// The config file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Read { path, .. }
            | Self::NotUtf8 { path, .. }
            | Self::Empty { path }
            | Self::Invalid { path, .. } => path,
        }
    }

    /// The 1-based line and column of the problem, when it is inside the file.
    pub fn location(&self) -> Option<(u64, u64)> {
        match self {
            Self::Invalid { line, column, .. } => Some((*line, *column)),
            Self::Empty { .. } => Some((1, 1)),
            Self::Read { .. } | Self::NotUtf8 { .. } => None,
        }
    }
}

/// Reads and validates the config file at `path`, returning the raw bytes as well so that a
/// reloader can tell later whether the file changed.
pub fn load(path: &Path) -> Result<(Config, Vec<u8>), ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let config = parse(path, &bytes)?;
    Ok((config, bytes))
}

/// Parses and validates config file content. `path` is only used in error messages.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Config, ConfigError> {
    let text = std::str::from_utf8(bytes).map_err(|source| ConfigError::NotUtf8 {
        path: path.to_owned(),
        source,
    })?;
    if is_blank_yaml(text) {
        return Err(ConfigError::Empty {
            path: path.to_owned(),
        });
    }
    // YAML 1.2 booleans only: with YAML 1.1 rules `/ok: yes` would be the boolean true and
    // rejected as a non-string, which surprises more than it protects.
    let options = serde_saphyr::options! { strict_booleans: true };
    let file: ConfigFile = serde_saphyr::from_str_with_options(text, options).map_err(|err| {
        let (line, column) = err
            .location()
            .map_or((0, 0), |location| (location.line(), location.column()));
        let source_name = path.display().to_string();
        ConfigError::Invalid {
            path: path.to_owned(),
            line,
            column,
            rendered: err.render_with_options(serde_saphyr::render_options! {
                source_name: Some(&source_name),
            }),
        }
    })?;
    Ok(Config {
        routes: file
            .routes
            .into_iter()
            .map(|(path, content)| (path.0, content.0))
            .collect(),
    })
}

/// True when the text holds no YAML node at all: only whitespace and comments.
fn is_blank_yaml(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#')
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    routes: BTreeMap<RoutePath, ResponseText>,
}

/// A route key: a path starting with `/` that is not one of [`RESERVED_PATHS`].
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct RoutePath(String);

impl<'de> Deserialize<'de> for RoutePath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let path = String::deserialize(deserializer)?;
        if !path.starts_with('/') {
            return Err(de::Error::custom(format_args!(
                "route `{path}` must start with `/`, e.g. `/{path}`"
            )));
        }
        if RESERVED_PATHS.contains(&path.as_str()) {
            return Err(de::Error::custom(format_args!(
                "route `{path}` is reserved for the server's own endpoint; choose another path"
            )));
        }
        Ok(Self(path))
    }
}

/// A route's content. Only YAML strings are accepted: numbers, booleans and nulls would be
/// turned into text that differs from what was written (`0644` is the number 644.0).
struct ResponseText(String);

impl<'de> Deserialize<'de> for ResponseText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StringOnly;

        impl Visitor<'_> for StringOnly {
            type Value = ResponseText;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a string as the route's content (quote numbers, booleans and null, e.g. \"42\")")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<ResponseText, E> {
                Ok(ResponseText(value.to_owned()))
            }

            fn visit_string<E: de::Error>(self, value: String) -> Result<ResponseText, E> {
                Ok(ResponseText(value))
            }
        }

        // `deserialize_any` lets the YAML type through, so the visitor can reject non-strings
        // instead of having them coerced.
        deserializer.deserialize_any(StringOnly)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Config, ConfigError> {
        parse(Path::new("/config/config.yml"), text.as_bytes())
    }

    #[test]
    fn reads_routes_of_every_string_style() {
        let config = parse_str(
            "# routes\nroutes:\n  /plain: plain text\n  /quoted: \"42\"\n  /yes: yes\n  /block: |\n    two\n    lines\n",
        )
        .unwrap();
        let routes: Vec<(&str, &str)> = config
            .routes
            .iter()
            .map(|(path, content)| (path.as_str(), content.as_str()))
            .collect();
        assert_eq!(
            routes,
            [
                ("/block", "two\nlines\n"),
                ("/plain", "plain text"),
                ("/quoted", "42"),
                ("/yes", "yes"),
            ]
        );
    }

    #[test]
    fn an_empty_route_table_is_valid() {
        assert!(parse_str("routes: {}\n").unwrap().routes.is_empty());
    }

    #[test]
    fn invalid_yaml_names_file_line_and_column() {
        let err = parse_str("routes:\n  /a: x\n /b: y\n").unwrap_err();
        assert_eq!(err.location(), Some((3, 2)));
        let message = err.to_string();
        assert!(message.contains("/config/config.yml:3:2"), "{message}");
        assert!(message.contains("did not find expected key"), "{message}");
    }

    #[test]
    fn non_string_content_is_rejected_with_a_hint() {
        for value in ["42", "true", "0644", "~", "[a, b]", "{k: v}"] {
            let err = parse_str(&format!("routes:\n  /a: ok\n  /b: {value}\n")).unwrap_err();
            let message = err.to_string();
            assert_eq!(
                err.location().map(|(line, _)| line),
                Some(3),
                "{value}: {message}"
            );
            assert!(message.contains("expected a string"), "{value}: {message}");
        }
    }

    #[test]
    fn route_without_leading_slash_is_rejected() {
        let err = parse_str("routes:\n  route1: x\n").unwrap_err();
        assert_eq!(err.location(), Some((2, 3)));
        assert!(
            err.to_string()
                .contains("route `route1` must start with `/`")
        );
    }

    #[test]
    fn reserved_paths_are_rejected() {
        let err = parse_str("routes:\n  /a: x\n  /metrics: y\n").unwrap_err();
        assert_eq!(err.location().map(|(line, _)| line), Some(3));
        assert!(err.to_string().contains("route `/metrics` is reserved"));
    }

    #[test]
    fn duplicate_routes_are_rejected() {
        let err = parse_str("routes:\n  /a: x\n  /a: y\n").unwrap_err();
        assert_eq!(err.location().map(|(line, _)| line), Some(3));
        assert!(err.to_string().contains("duplicate"), "{err}");
    }

    #[test]
    fn unknown_top_level_keys_are_rejected() {
        let err = parse_str("route:\n  /a: x\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `route`"), "{err}");
    }

    #[test]
    fn blank_files_are_rejected() {
        for text in ["", "\n  \n", "# only a comment\n"] {
            let err = parse_str(text).unwrap_err();
            assert_eq!(
                err.to_string(),
                "config file /config/config.yml is empty: expected a `routes:` mapping"
            );
        }
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = load(Path::new("/nonexistent/config.yml")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read config file /nonexistent/config.yml: "),
            "{err}"
        );
        assert_eq!(err.location(), None);
    }
}
