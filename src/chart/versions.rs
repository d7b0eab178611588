//! Chart version constraints as Helm writes them, read with the `semver` crate: for
//! dependencies, repositories and OCI registries alike.
//!
//! Helm's syntax (Masterminds semver) differs from Cargo's, which the `semver` crate
//! implements, so a constraint is rewritten before `semver` parses it, and matched here:
//! - a bare version means exactly that version: `1.2.3` is `=1.2.3`, not `^1.2.3`;
//! - `||` separates alternatives; inside one, comparators are joined by `,` or spaces,
//!   and an operator may stand apart from its version (`>= 1.2`);
//! - `A - B` is `>=A, <=B`; a leading `v` is dropped (`v1.2.3`);
//! - a prerelease matches only when a comparator of its alternative has a prerelease
//!   (`>=1.0.0-0` admits `1.5.0-beta.1`), and then by plain version order.
//!
//! Everything else (`~`, `^`, `x`/`*` wildcards, partial versions) means what it means in
//! both.

use std::fmt;

use semver::{Comparator, Op, Version, VersionReq};

/// What a `--version` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSpec {
    /// One version, which is also one tag.
    Exact(Version),
    /// The highest version matching a constraint (`None`: any version but prereleases).
    Range(Option<Constraint>),
}

/// A parsed constraint: alternatives, each a conjunction of comparators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    text: String,
    alternatives: Vec<VersionReq>,
}

impl VersionSpec {
    /// `None` or empty: the highest version that is not a prerelease.
    pub fn parse(text: Option<&str>) -> Result<Self, String> {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(VersionSpec::Range(None));
        };
        if let Ok(version) = Version::parse(text.strip_prefix('v').unwrap_or(text)) {
            return Ok(VersionSpec::Exact(version));
        }
        Constraint::parse(text).map(|c| VersionSpec::Range(Some(c)))
    }

    pub fn matches(&self, version: &Version) -> bool {
        match self {
            VersionSpec::Exact(exact) => exact == version,
            VersionSpec::Range(None) => version.pre.is_empty(),
            VersionSpec::Range(Some(constraint)) => constraint.matches(version),
        }
    }

    /// The highest of `versions` that matches.
    pub fn best<'v>(&self, versions: impl IntoIterator<Item = &'v Version>) -> Option<&'v Version> {
        versions.into_iter().filter(|v| self.matches(v)).max()
    }
}

impl fmt::Display for VersionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionSpec::Exact(version) => write!(f, "{version}"),
            VersionSpec::Range(None) => f.write_str("any version (prereleases excluded)"),
            VersionSpec::Range(Some(constraint)) => f.write_str(&constraint.text),
        }
    }
}

impl Constraint {
    pub fn parse(text: &str) -> Result<Self, String> {
        let alternatives = text
            .split("||")
            .map(|alternative| {
                let cargo = rewrite_alternative(alternative)?;
                VersionReq::parse(&cargo)
                    .map_err(|e| format!("version constraint {text:?}: {e} (in {cargo:?})"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Constraint {
            text: text.trim().to_string(),
            alternatives,
        })
    }

    pub fn matches(&self, version: &Version) -> bool {
        self.alternatives.iter().any(|alternative| {
            let admits_prerelease = alternative.comparators.iter().any(|c| !c.pre.is_empty());
            (version.pre.is_empty() || admits_prerelease)
                && alternative
                    .comparators
                    .iter()
                    .all(|c| comparator_matches(c, version))
        })
    }
}

/// One alternative in Cargo's syntax: comparators joined by `, `.
fn rewrite_alternative(alternative: &str) -> Result<String, String> {
    // Glue operators to their versions: ">= 1.2" → ">=1.2".
    let mut glued = String::new();
    let mut pending_operator = false;
    for token in alternative
        .split([' ', '\t', ','])
        .filter(|t| !t.is_empty())
    {
        if pending_operator {
            glued.push_str(token);
        } else {
            if !glued.is_empty() {
                glued.push(' ');
            }
            glued.push_str(token);
        }
        pending_operator = token.chars().all(|c| "<>=~^!".contains(c));
    }
    let tokens: Vec<&str> = glued.split(' ').filter(|t| !t.is_empty()).collect();
    if tokens.is_empty() {
        return Err(format!("empty alternative in {alternative:?}"));
    }
    let mut comparators = Vec::new();
    let mut index = 0;
    while index < tokens.len() {
        if tokens.get(index + 1) == Some(&"-") {
            let upper = tokens
                .get(index + 2)
                .ok_or_else(|| format!("range {alternative:?} has no upper end after '-'"))?;
            comparators.push(format!(">={}", strip_v(tokens[index])));
            comparators.push(format!("<={}", strip_v(upper)));
            index += 3;
            continue;
        }
        comparators.push(comparator_text(tokens[index]));
        index += 1;
    }
    Ok(comparators.join(", "))
}

fn comparator_text(token: &str) -> String {
    let operator_len = token
        .find(|c: char| !"<>=~^".contains(c))
        .unwrap_or(token.len());
    let (operator, version) = token.split_at(operator_len);
    let version = strip_v(version);
    let wildcard = version
        .split('.')
        .any(|part| matches!(part, "x" | "X" | "*"));
    if operator.is_empty() && !wildcard {
        // A bare version is exact, as in Helm.
        format!("={version}")
    } else {
        format!("{operator}{version}")
    }
}

fn strip_v(version: &str) -> &str {
    match version.strip_prefix('v') {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => version,
    }
}

/// Whether `version` lies within the comparator's bounds, by plain version order (the
/// prerelease rule is applied per alternative by [`Constraint::matches`]).
fn comparator_matches(comparator: &Comparator, version: &Version) -> bool {
    let (lower, upper) = bounds(comparator);
    let above = match &lower {
        Bound::Unbounded => true,
        Bound::Inclusive(v) => version >= v,
        Bound::Exclusive(v) => version > v,
    };
    let below = match &upper {
        Bound::Unbounded => true,
        Bound::Inclusive(v) => version <= v,
        Bound::Exclusive(v) => version < v,
    };
    above && below
}

enum Bound {
    Unbounded,
    Inclusive(Version),
    Exclusive(Version),
}

fn bounds(c: &Comparator) -> (Bound, Bound) {
    use Bound::{Exclusive, Inclusive, Unbounded};
    let v = |major: u64, minor: u64, patch: u64| Version::new(major, minor, patch);
    let full = || Version {
        major: c.major,
        minor: c.minor.unwrap_or(0),
        patch: c.patch.unwrap_or(0),
        pre: c.pre.clone(),
        build: semver::BuildMetadata::EMPTY,
    };
    // The first version past a partial version: 1.2 → 1.3.0, 1 → 2.0.0.
    let after_partial = || match (c.minor, c.patch) {
        (Some(minor), None) => v(c.major, minor + 1, 0),
        (None, _) => v(c.major + 1, 0, 0),
        (Some(minor), Some(patch)) => v(c.major, minor, patch + 1),
    };
    let is_full = c.patch.is_some();
    match c.op {
        Op::Exact | Op::Wildcard if is_full => (Inclusive(full()), Inclusive(full())),
        Op::Exact | Op::Wildcard => (Inclusive(full()), Exclusive(after_partial())),
        Op::Greater if is_full => (Exclusive(full()), Unbounded),
        Op::Greater => (Inclusive(after_partial()), Unbounded),
        Op::GreaterEq => (Inclusive(full()), Unbounded),
        Op::Less => (Unbounded, Exclusive(full())),
        Op::LessEq if is_full => (Unbounded, Inclusive(full())),
        Op::LessEq => (Unbounded, Exclusive(after_partial())),
        Op::Tilde => {
            let upper = match c.minor {
                Some(minor) => v(c.major, minor + 1, 0),
                None => v(c.major + 1, 0, 0),
            };
            (Inclusive(full()), Exclusive(upper))
        }
        Op::Caret => {
            let upper = match (c.major, c.minor, c.patch) {
                (0, Some(0), Some(patch)) => v(0, 0, patch + 1),
                (0, Some(minor), _) => v(0, minor + 1, 0),
                (major, _, _) => v(major + 1, 0, 0),
            };
            (Inclusive(full()), Exclusive(upper))
        }
        // Operators a later semver may add: no version matches what is not understood.
        _ => (
            Exclusive(Version::new(u64::MAX, u64::MAX, u64::MAX)),
            Unbounded,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> VersionSpec {
        VersionSpec::parse(Some(text)).unwrap()
    }

    fn matching<'a>(text: &str, versions: &[&'a str]) -> Vec<&'a str> {
        let spec = spec(text);
        versions
            .iter()
            .copied()
            .filter(|v| spec.matches(&Version::parse(v).unwrap()))
            .collect()
    }

    const VERSIONS: &[&str] = &[
        "1.2.2",
        "1.2.3",
        "1.2.4",
        "1.3.0-beta.1",
        "1.3.0",
        "1.5.0-beta.1",
        "2.0.0-rc.1",
        "2.0.0",
    ];

    #[test]
    fn a_bare_version_is_exact() {
        assert_eq!(spec("1.2.3"), VersionSpec::Exact(Version::new(1, 2, 3)));
        assert_eq!(spec("v1.2.3"), VersionSpec::Exact(Version::new(1, 2, 3)));
        assert_eq!(matching("1.2.3 || 2.0.0", VERSIONS), ["1.2.3", "2.0.0"]);
    }

    #[test]
    fn helm_range_syntax() {
        assert_eq!(matching(">= 1.2.3 < 1.3", VERSIONS), ["1.2.3", "1.2.4"]);
        assert_eq!(matching(">=1.2.3, <1.3.0", VERSIONS), ["1.2.3", "1.2.4"]);
        assert_eq!(
            matching("1.2.3 - 1.3.0", VERSIONS),
            ["1.2.3", "1.2.4", "1.3.0"]
        );
        assert_eq!(matching("~1.2", VERSIONS), ["1.2.2", "1.2.3", "1.2.4"]);
        assert_eq!(matching("^1.2.3", VERSIONS), ["1.2.3", "1.2.4", "1.3.0"]);
        assert_eq!(matching("1.2.x", VERSIONS), ["1.2.2", "1.2.3", "1.2.4"]);
        assert_eq!(matching("<1.2.3 || >=2", VERSIONS), ["1.2.2", "2.0.0"]);
    }

    #[test]
    fn prereleases_only_when_asked_for() {
        assert_eq!(matching(">=1.3.0", VERSIONS), ["1.3.0", "2.0.0"]);
        assert_eq!(
            matching(">=1.3.0-0", VERSIONS),
            [
                "1.3.0-beta.1",
                "1.3.0",
                "1.5.0-beta.1",
                "2.0.0-rc.1",
                "2.0.0"
            ]
        );
        assert_eq!(
            matching(">=1.3.0-0 <2.0.0", VERSIONS),
            ["1.3.0-beta.1", "1.3.0", "1.5.0-beta.1", "2.0.0-rc.1"]
        );
        let any = VersionSpec::parse(None).unwrap();
        let versions: Vec<Version> = VERSIONS
            .iter()
            .map(|v| Version::parse(v).unwrap())
            .collect();
        assert_eq!(any.best(&versions), Some(&Version::new(2, 0, 0)));
    }

    #[test]
    fn build_metadata_is_part_of_an_exact_version() {
        let versions: Vec<Version> = ["1.0.0+abc", "1.0.0+def", "1.0.0"]
            .iter()
            .map(|v| Version::parse(v).unwrap())
            .collect();
        assert_eq!(
            spec("1.0.0+abc").best(&versions),
            Some(&Version::parse("1.0.0+abc").unwrap())
        );
        assert_eq!(spec("1.0.0").best(&versions), Some(&Version::new(1, 0, 0)));
    }

    #[test]
    fn nonsense_is_an_error() {
        assert!(VersionSpec::parse(Some(">=banana")).is_err());
        assert!(VersionSpec::parse(Some("1.0.0 -")).is_err());
    }
}
