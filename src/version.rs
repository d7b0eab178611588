//! What this build of rchart is, for `rchart version`.

use serde::Serialize;

/// The Kubernetes minor versions rchart supports: up to the API its client is built
/// against (the default `--kube-version`), and the four before it, as the kube crate's
/// own policy supports.
pub const SUPPORTED_KUBERNETES: &[&str] = &["1.30", "1.31", "1.32", "1.33", "1.34"];

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    pub version: &'static str,
    /// `unknown` when built outside a git checkout.
    pub git_commit: &'static str,
    pub rust_version: &'static str,
    pub kubernetes_versions: &'static [&'static str],
}

pub fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION"),
        git_commit: env!("RCHART_GIT_COMMIT"),
        rust_version: env!("RCHART_RUST_VERSION"),
        kubernetes_versions: SUPPORTED_KUBERNETES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Capabilities;

    #[test]
    fn the_newest_supported_version_is_the_default_target() {
        let default = Capabilities::offline(None, &[]).unwrap().kube_version;
        let newest = SUPPORTED_KUBERNETES.last().unwrap();
        assert_eq!(format!("{}.{}", default.major, default.minor), *newest);
    }
}
