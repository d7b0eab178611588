//! `oci://HOST[:PORT]/PATH[:TAG][@sha256:HEX]` references, tags and digests.
//!
//! A reference always names its registry: there is no default registry, so a chart never
//! goes somewhere the user did not write down. Repository paths follow the distribution
//! spec (lowercase components of letters and digits, joined by `.`, `_`, `__` or `-`);
//! tags follow `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`. Semantic versions may hold `+`,
//! which tags may not, so a version's tag writes `+` as `_`, as Helm does.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use sha2::{Digest as _, Sha256};

/// The scheme every reference starts with.
pub const SCHEME: &str = "oci://";

/// A parsed `oci://` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `host[:port]`, lowercase, as it keys credentials in Docker's `config.json`.
    pub registry: String,
    /// The repository path inside the registry, e.g. `charts/multiroute`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

/// A `sha256:` content digest, lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid OCI reference {reference:?}: {problem}")]
pub struct ReferenceError {
    pub reference: String,
    pub problem: String,
}

impl Reference {
    /// True when `text` is meant as an OCI reference (starts with `oci://`).
    pub fn is_oci(text: &str) -> bool {
        text.starts_with(SCHEME)
    }

    /// Parses `oci://HOST[:PORT]/PATH[:TAG][@sha256:HEX]`. `PATH` may be empty (a push
    /// to `oci://HOST` puts the chart at the registry's top level).
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        let error = |problem: &str| ReferenceError {
            reference: text.to_string(),
            problem: problem.to_string(),
        };
        let rest = text
            .strip_prefix(SCHEME)
            .ok_or_else(|| error("expected oci://HOST[:PORT]/PATH"))?;
        // `user:password@host/…`: an `@` before the first `/` is never a digest's.
        if rest
            .split('/')
            .next()
            .is_some_and(|host| host.contains('@'))
        {
            return Err(ReferenceError {
                reference: format!("{SCHEME}…"),
                problem: "credentials do not belong in a reference, where logs and records would show them; use rchart registry login".to_string(),
            });
        }
        let (rest, digest) = match rest.split_once('@') {
            Some((rest, digest)) => (
                rest,
                Some(Digest::parse(digest).map_err(|problem| error(&problem))?),
            ),
            None => (rest, None),
        };
        let (registry, path) = rest.split_once('/').unwrap_or((rest, ""));
        let registry = parse_registry(registry).map_err(|problem| error(&problem))?;
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repository, tag)) if !tag.contains('/') => (repository, Some(tag)),
            _ => (path, None),
        };
        let repository = repository.trim_end_matches('/');
        if !repository.is_empty() {
            check_repository(repository).map_err(|problem| error(&problem))?;
        }
        if let Some(tag) = tag {
            check_tag(tag).map_err(|problem| error(&problem))?;
        }
        Ok(Reference {
            registry,
            repository: repository.to_string(),
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The reference with `name` appended to its path: where `rchart push` puts a chart.
    pub fn join(&self, name: &str) -> Result<Self, ReferenceError> {
        let repository = if self.repository.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.repository)
        };
        check_repository(&repository).map_err(|problem| ReferenceError {
            reference: self.to_string(),
            problem: format!("chart name {name:?}: {problem}"),
        })?;
        Ok(Reference {
            repository,
            tag: None,
            digest: None,
            registry: self.registry.clone(),
        })
    }

    pub fn with_tag(&self, tag: &str) -> Self {
        Reference {
            tag: Some(tag.to_string()),
            ..self.clone()
        }
    }

    pub fn with_digest(&self, digest: &Digest) -> Self {
        Reference {
            digest: Some(digest.clone()),
            ..self.clone()
        }
    }

    /// The reference without tag and digest: `oci://HOST/PATH`.
    pub fn repository_reference(&self) -> String {
        format!("{SCHEME}{}/{}", self.registry, self.repository)
    }

    /// The last path component: the chart's name in a registry that rchart pushed to.
    pub fn name(&self) -> &str {
        self.repository.rsplit('/').next().unwrap_or_default()
    }

    /// The host without the port.
    pub fn host(&self) -> &str {
        host_of(&self.registry)
    }

    /// Only loopback addresses may be reached over plain HTTP without asking.
    pub fn is_loopback(&self) -> bool {
        is_loopback(self.host())
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.repository_reference())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl Digest {
    /// Parses `sha256:` followed by 64 lowercase hex digits, the only algorithm rchart
    /// writes and accepts.
    pub fn parse(text: &str) -> Result<Self, String> {
        let hex = text
            .strip_prefix("sha256:")
            .ok_or_else(|| format!("digest {text:?} is not sha256:<64 hex digits>"))?;
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(format!(
                "digest {text:?} is not sha256:<64 lowercase hex digits>"
            ));
        }
        Ok(Digest(text.to_string()))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self::from_hasher(Sha256::new_with_prefix(bytes))
    }

    pub(crate) fn from_hasher(hasher: Sha256) -> Self {
        let hex: String = hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Digest(format!("sha256:{hex}"))
    }

    /// The 64 hex digits, without `sha256:`.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The tag a chart version is pushed under: `+` becomes `_`, which tags allow.
pub fn tag_for_version(version: &semver::Version) -> String {
    version.to_string().replace('+', "_")
}

/// The chart version a tag stands for, if it is one: `1.0.0_abc` is `1.0.0+abc`.
pub fn version_of_tag(tag: &str) -> Option<semver::Version> {
    semver::Version::parse(&tag.replace('_', "+")).ok()
}

/// `host[:port]` as Docker's `config.json` keys it: any `oci://`, `https://` or
/// `http://` in front and any path after are dropped, the host is lowercased.
pub fn parse_registry(text: &str) -> Result<String, String> {
    let text = [SCHEME, "https://", "http://"]
        .iter()
        .find_map(|scheme| text.strip_prefix(scheme))
        .unwrap_or(text);
    let text = text.split('/').next().unwrap_or_default();
    if text.is_empty() {
        return Err("no registry host".to_string());
    }
    let host = host_of(text);
    let port = &text[host.len()..];
    let host_ok = if let Some(inner) = host.strip_prefix('[') {
        inner
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<Ipv6Addr>().is_ok())
    } else {
        host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
    };
    if !host_ok {
        return Err(format!("{host:?} is not a host name or IP address"));
    }
    if !port.is_empty() {
        let digits = port.strip_prefix(':').unwrap_or_default();
        if digits.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!("{port:?} is not a port"));
        }
    }
    Ok(text.to_ascii_lowercase())
}

/// The host of `host[:port]`, IPv6 brackets kept.
pub fn host_only(registry: &str) -> &str {
    host_of(registry)
}

fn host_of(registry: &str) -> &str {
    if registry.starts_with('[') {
        return match registry.find(']') {
            Some(end) => &registry[..=end],
            None => registry,
        };
    }
    registry.split(':').next().unwrap_or(registry)
}

/// `localhost`, 127.0.0.0/8 and `[::1]`; names are not resolved.
pub fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return ip.is_loopback();
    }
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<Ipv6Addr>().ok())
        .is_some_and(|ip| ip.is_loopback())
}

/// Components of lowercase letters and digits, joined by `.`, `_`, `__` or runs of `-`
/// (the distribution spec's `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`), separated by `/`.
fn check_repository(path: &str) -> Result<(), String> {
    if path.len() > 255 {
        return Err("repository path is longer than 255 characters".to_string());
    }
    for component in path.split('/') {
        if !valid_component(component) {
            return Err(format!(
                "repository path component {component:?} must be lowercase letters and digits, \
                 joined by '.', '_', '__' or '-'"
            ));
        }
    }
    Ok(())
}

fn valid_component(component: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = component.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    let mut separator = String::new();
    for &b in bytes {
        if alnum(b) {
            let ok = separator.is_empty()
                || separator == "."
                || separator == "_"
                || separator == "__"
                || separator.bytes().all(|s| s == b'-');
            if !ok {
                return false;
            }
            separator.clear();
        } else if matches!(b, b'.' | b'_' | b'-') {
            separator.push(b as char);
        } else {
            return false;
        }
    }
    true
}

/// `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn check_tag(tag: &str) -> Result<(), String> {
    let valid = !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if valid {
        Ok(())
    } else if tag.contains('+') {
        Err(format!(
            "tag {tag:?} holds '+', which tags may not; a version's '+' is written '_' in its tag"
        ))
    } else {
        Err(format!(
            "tag {tag:?} must be letters, digits, '_', '.' and '-' (at most 128, not starting with '.' or '-')"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_with_tag_digest_and_port() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!(
            "oci://127.0.0.1:5000/charts/web:1.0.0_abc@{digest}"
        ))
        .unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "charts/web");
        assert_eq!(r.tag.as_deref(), Some("1.0.0_abc"));
        assert_eq!(r.digest.as_ref().unwrap().as_str(), digest);
        assert_eq!(r.name(), "web");
        assert!(r.is_loopback());
        assert_eq!(
            r.to_string(),
            format!("oci://127.0.0.1:5000/charts/web:1.0.0_abc@{digest}")
        );

        let top = Reference::parse("oci://Registry.Example.com").unwrap();
        assert_eq!(top.registry, "registry.example.com");
        assert_eq!(top.repository, "");
        assert!(!top.is_loopback());
        assert_eq!(top.join("web").unwrap().repository, "web");

        let v6 = Reference::parse("oci://[::1]:5000/a").unwrap();
        assert_eq!(v6.host(), "[::1]");
        assert!(v6.is_loopback());
    }

    #[test]
    fn bad_references_say_what_is_wrong() {
        for (text, expected) in [
            ("https://x/y", "expected oci://"),
            ("oci://x/Web", "lowercase"),
            ("oci://x/web:1.0.0+abc", "'+'"),
            ("oci:///web", "no registry host"),
            ("oci://x:99999/web", "is not a port"),
            ("oci://x/web@sha256:12", "64 lowercase hex"),
            ("oci://x/a//b", "component \"\""),
            (
                "oci://alice:s3cret@x/web",
                "credentials do not belong in a reference",
            ),
        ] {
            let error = Reference::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
    }

    #[test]
    fn versions_and_tags_map_both_ways() {
        let version = semver::Version::parse("1.0.0-rc.1+abc.2").unwrap();
        assert_eq!(tag_for_version(&version), "1.0.0-rc.1_abc.2");
        assert_eq!(version_of_tag("1.0.0-rc.1_abc.2"), Some(version));
        assert_eq!(version_of_tag("latest"), None);
    }

    #[test]
    fn loopback_is_localhost_127_and_v6_one() {
        assert!(is_loopback("localhost"));
        assert!(is_loopback("127.3.2.1"));
        assert!(is_loopback("[::1]"));
        assert!(!is_loopback("10.0.0.1"));
        assert!(!is_loopback("localhost.example.com"));
    }
}
