//! Suite modes: shapes of cluster the whole release suite can run against,
//! chosen with one environment variable, e.g.
//! `RCHART_TEST_APISERVER_MODES=legacy-discovery,slow-link`.
//! Their timings are small, so a full suite run stays fast.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The variable [`Mode::from_env`] reads: a comma list of mode names.
pub const MODES_VARIABLE: &str = "RCHART_TEST_APISERVER_MODES";

/// The latency of `slow-link`.
pub const SLOW_LINK_LATENCY: Duration = Duration::from_millis(25);

/// The controllers' lag in `lagging-controllers`.
pub const CONTROLLER_LAG: Duration = Duration::from_millis(75);

/// How long after creation CRDs are established in `lagging-controllers`.
pub const CRD_ESTABLISHMENT_DELAY: Duration = Duration::from_millis(100);

/// A shape of cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `legacy-discovery`: no aggregated discovery ([`crate::DiscoveryMode::Legacy`]).
    LegacyDiscovery,
    /// `lagging-controllers`: status [`CONTROLLER_LAG`] behind each change,
    /// CRDs established [`CRD_ESTABLISHMENT_DELAY`] after creation.
    LaggingControllers,
    /// `slow-link`: [`SLOW_LINK_LATENCY`] added to every answer.
    SlowLink,
    /// `foreign-managers`: kube-controller-manager writes more than status.
    ForeignManagers,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 4] = [
        Mode::LegacyDiscovery,
        Mode::LaggingControllers,
        Mode::SlowLink,
        Mode::ForeignManagers,
    ];

    /// The mode's name in [`MODES_VARIABLE`].
    pub fn name(self) -> &'static str {
        match self {
            Mode::LegacyDiscovery => "legacy-discovery",
            Mode::LaggingControllers => "lagging-controllers",
            Mode::SlowLink => "slow-link",
            Mode::ForeignManagers => "foreign-managers",
        }
    }

    /// Parse a comma list such as `legacy-discovery, slow-link`; spaces and
    /// empty items are ignored.
    pub fn parse_list(text: &str) -> Result<Vec<Mode>, ModeError> {
        text.split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::parse)
            .collect()
    }

    /// The modes [`MODES_VARIABLE`] names; none when it is unset or empty.
    pub fn from_env() -> Result<Vec<Mode>, ModeError> {
        let text = std::env::var(MODES_VARIABLE).unwrap_or_default();
        Mode::parse_list(&text).map_err(|error| ModeError {
            variable: Some(MODES_VARIABLE),
            ..error
        })
    }
}

impl FromStr for Mode {
    type Err = ModeError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Mode::ALL
            .into_iter()
            .find(|mode| mode.name() == name)
            .ok_or_else(|| ModeError {
                mode: name.to_string(),
                variable: None,
            })
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A mode name that is none of [`Mode::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeError {
    mode: String,
    variable: Option<&'static str>,
}

impl fmt::Display for ModeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown test API server mode `{}`", self.mode)?;
        if let Some(variable) = self.variable {
            write!(f, " in {variable}")?;
        }
        let known: Vec<&str> = Mode::ALL.iter().map(|mode| mode.name()).collect();
        write!(f, "; the modes are {}", known.join(", "))
    }
}

impl std::error::Error for ModeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_comma_lists() {
        assert_eq!(
            Mode::parse_list(" legacy-discovery, slow-link ,"),
            Ok(vec![Mode::LegacyDiscovery, Mode::SlowLink])
        );
        assert_eq!(Mode::parse_list(""), Ok(Vec::new()));
        let all = Mode::ALL.map(Mode::name).join(",");
        assert_eq!(Mode::parse_list(&all).unwrap(), Mode::ALL);
        assert_eq!(
            Mode::parse_list("slow-link,fast-link")
                .unwrap_err()
                .to_string(),
            "unknown test API server mode `fast-link`; the modes are legacy-discovery, lagging-controllers, slow-link, foreign-managers"
        );
    }
}
