//! What the target cluster offers, as templates see it under `capabilities`.

use serde_json::{Value, json};

use super::RenderError;
use crate::chart::Chart;
use crate::chart::kube_version::{KubeVersionRange, parse_kube_version};

/// The Kubernetes version assumed when no cluster is asked (`rchart template`). It matches
/// the API version rchart's client is built against.
pub const DEFAULT_KUBE_VERSION: &str = "1.34.0";

/// Group/versions every cluster of the default version serves.
const BUILTIN_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "apiextensions.k8s.io/v1",
    "apiregistration.k8s.io/v1",
    "apps/v1",
    "authentication.k8s.io/v1",
    "authorization.k8s.io/v1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "certificates.k8s.io/v1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "events.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1",
    "networking.k8s.io/v1",
    "node.k8s.io/v1",
    "policy/v1",
    "rbac.authorization.k8s.io/v1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1",
];

#[derive(Debug, Clone)]
pub struct Capabilities {
    pub kube_version: semver::Version,
    /// `group/version` strings (`v1` for the core group).
    pub api_versions: Vec<String>,
}

impl Capabilities {
    /// Capabilities without a cluster: the default (or given) version and the built-in
    /// API versions, plus any the user names with `--api-versions`.
    pub fn offline(
        kube_version: Option<&str>,
        extra_api_versions: &[String],
    ) -> Result<Self, String> {
        let kube_version = parse_kube_version(kube_version.unwrap_or(DEFAULT_KUBE_VERSION))?;
        let mut api_versions: Vec<String> =
            BUILTIN_API_VERSIONS.iter().map(|s| s.to_string()).collect();
        api_versions.extend(extra_api_versions.iter().cloned());
        Ok(Self {
            kube_version,
            api_versions,
        })
    }

    /// Checks the chart's `kubeVersion` range against this version.
    pub fn check_chart(&self, chart: &Chart) -> Result<(), RenderError> {
        let Some(range_text) = &chart.metadata.kube_version else {
            return Ok(());
        };
        // Chart.yaml was validated on load, so the range parses.
        let range = KubeVersionRange::parse(range_text).map_err(|_| RenderError::KubeVersion {
            chart: chart.metadata.name.clone(),
            range: range_text.clone(),
            actual: format!("v{}", self.kube_version),
        })?;
        if range.matches(&self.kube_version) {
            Ok(())
        } else {
            Err(RenderError::KubeVersion {
                chart: chart.metadata.name.clone(),
                range: range_text.clone(),
                actual: format!("v{}", self.kube_version),
            })
        }
    }

    pub fn template_context(&self) -> Value {
        json!({
            "kube_version": {
                "version": format!("v{}", self.kube_version),
                "major": self.kube_version.major.to_string(),
                "minor": self.kube_version.minor.to_string(),
            },
            "api_versions": self.api_versions,
        })
    }
}
