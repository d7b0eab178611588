//! `kubeVersion` ranges, written as Helm users write them: `>=1.28.0-0`, `>=1.26 <1.31`,
//! `^1.30`, and alternatives joined by `||`.

use super::escape::escape_name;

/// A parsed `kubeVersion` constraint: any one of the alternatives must match.
#[derive(Debug, Clone)]
pub struct KubeVersionRange {
    alternatives: Vec<semver::VersionReq>,
}

impl KubeVersionRange {
    pub fn parse(text: &str) -> Result<Self, String> {
        let alternatives = text
            .split("||")
            .map(|alternative| {
                // Comparators separated by spaces or commas all have to hold.
                let comparators: Vec<&str> = alternative
                    .split([' ', ','])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                let joined = join_operators(&comparators).join(", ");
                semver::VersionReq::parse(&joined)
                    .map_err(|e| format!("\"{}\" is not a version range ({e})", escape_name(text)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { alternatives })
    }

    /// Whether `version` (`1.34.0`, `v1.34.2`, `v1.30.1-eks-1`) is in range.
    pub fn matches(&self, version: &semver::Version) -> bool {
        // Cloud providers suffix versions (`-gke.100`); a range like `>=1.28.0` should still
        // accept them, so compare the release part alone.
        let release = semver::Version::new(version.major, version.minor, version.patch);
        self.alternatives.iter().any(|req| req.matches(&release))
    }
}

/// `>= 1.2` is written with a space by some; glue a lone operator to the version after it.
fn join_operators<'a>(parts: &[&'a str]) -> Vec<String> {
    let mut joined: Vec<String> = Vec::new();
    let mut pending: Option<&'a str> = None;
    for part in parts {
        if part.chars().all(|c| "<>=~^!".contains(c)) {
            pending = Some(part);
            continue;
        }
        joined.push(match pending.take() {
            Some(op) => format!("{op}{}", part.trim_start_matches('v')),
            None => strip_v_after_operator(part),
        });
    }
    joined
}

fn strip_v_after_operator(part: &str) -> String {
    let operator_len = part.chars().take_while(|c| "<>=~^!".contains(*c)).count();
    let (operator, rest) = part.split_at(operator_len);
    format!("{operator}{}", rest.trim_start_matches('v'))
}

/// Parses a Kubernetes version as `--kube-version` or a cluster reports it: `1.34`,
/// `v1.34.1`, `1.30.2-gke.1`.
pub fn parse_kube_version(text: &str) -> Result<semver::Version, String> {
    let trimmed = text.trim().trim_start_matches('v');
    let release = trimmed.split(['-', '+']).next().unwrap_or(trimmed);
    let mut parts = release.split('.');
    let not_a_version = || {
        format!(
            "\"{}\" is not a Kubernetes version (expected e.g. 1.34.0)",
            escape_name(text)
        )
    };
    let number = |part: Option<&str>, required: bool| -> Result<u64, String> {
        match part {
            Some(p) => p.parse().map_err(|_| not_a_version()),
            None if required => Err(not_a_version()),
            None => Ok(0),
        }
    };
    let major = number(parts.next(), true)?;
    let minor = number(parts.next(), true)?;
    let patch = number(parts.next(), false)?;
    if parts.next().is_some() {
        return Err(not_a_version());
    }
    Ok(semver::Version::new(major, minor, patch))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(range: &str, version: &str) -> bool {
        KubeVersionRange::parse(range)
            .unwrap()
            .matches(&parse_kube_version(version).unwrap())
    }

    #[test]
    fn helm_style_ranges() {
        assert!(matches(">=1.28.0-0", "1.34.0"));
        assert!(!matches(">=1.28.0-0", "1.27.9"));
        assert!(matches(">=1.26 <1.31", "v1.30.2"));
        assert!(!matches(">=1.26, <1.31", "1.31.0"));
        assert!(matches(">= 1.26", "1.26.0"));
        assert!(matches("<1.20 || >=1.30", "1.34.1-gke.100"));
        assert!(matches("^1.30", "1.33.0"));
        assert!(matches(">=v1.28.0", "1.28.0"));
    }

    #[test]
    fn bad_ranges_and_versions_are_rejected() {
        assert!(KubeVersionRange::parse(">=banana").is_err());
        assert!(parse_kube_version("one.two").is_err());
        assert_eq!(
            parse_kube_version("v1.34").unwrap(),
            semver::Version::new(1, 34, 0)
        );
        assert_eq!(
            parse_kube_version("1.30.2-eks-1").unwrap(),
            semver::Version::new(1, 30, 2)
        );
    }
}
