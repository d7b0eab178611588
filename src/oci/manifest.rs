//! The OCI manifest of a chart: how rchart writes it, and what it accepts back.
//!
//! A chart is an OCI image manifest with rchart's own media types, so that no Helm
//! client mistakes a Tera chart for a Go-template chart and rchart refuses Helm's:
//! - config [`CONFIG_MEDIA_TYPE`]: `Chart.yaml` as JSON;
//! - one layer [`CONTENT_MEDIA_TYPE`]: the package, byte for byte;
//! - `artifactType` [`ARTIFACT_TYPE`];
//! - annotations `org.opencontainers.image.title` (chart name), `.version`, `.description`
//!   when the chart has one, and `.created` only when `SOURCE_DATE_EPOCH` is set.
//!
//! The manifest is compact JSON with fields in a fixed order and annotations sorted by
//! key, so the same package always gives the same manifest bytes and digest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::chart::Metadata;

use super::reference::Digest;

pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.rchart.chart.config.v1+json";
pub const CONTENT_MEDIA_TYPE: &str = "application/vnd.rchart.chart.content.v1.tar+gzip";
/// What the artifact is, for registries and tools that list artifacts by type: the
/// config's type, which OCI 1.1 also takes as the artifact type when none is given.
pub const ARTIFACT_TYPE: &str = CONFIG_MEDIA_TYPE;

const HELM_CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
const INDEX_MEDIA_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
const DOCKER_MANIFEST_MEDIA_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";

pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";
pub const ANNOTATION_VERSION: &str = "org.opencontainers.image.version";
pub const ANNOTATION_DESCRIPTION: &str = "org.opencontainers.image.description";
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";

/// An OCI image manifest; field order is the serialised order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A chart ready to push: its manifest bytes and the two blobs they point at.
pub struct ChartArtifact {
    pub manifest: Vec<u8>,
    pub digest: Digest,
    pub config: Vec<u8>,
    pub config_digest: Digest,
    pub content_digest: Digest,
}

impl Descriptor {
    fn of(media_type: &str, bytes: &[u8], digest: &Digest) -> Self {
        Descriptor {
            media_type: media_type.to_string(),
            digest: digest.to_string(),
            size: bytes.len() as u64,
            annotations: BTreeMap::new(),
        }
    }
}

/// Builds the manifest of `package`, whose `Chart.yaml` is `metadata`. `created` is the
/// RFC 3339 time for `org.opencontainers.image.created`, or `None` for no timestamp.
pub fn chart_artifact(
    metadata: &Metadata,
    package: &[u8],
    created: Option<String>,
) -> ChartArtifact {
    let config = serde_json::to_vec(metadata).expect("Chart.yaml metadata serialises to JSON");
    let config_digest = Digest::of(&config);
    let content_digest = Digest::of(package);
    let mut layer = Descriptor::of(CONTENT_MEDIA_TYPE, package, &content_digest);
    layer.annotations.insert(
        ANNOTATION_TITLE.into(),
        format!("{}-{}.tgz", metadata.name, metadata.version),
    );
    let mut annotations = BTreeMap::new();
    annotations.insert(ANNOTATION_TITLE.to_string(), metadata.name.clone());
    annotations.insert(ANNOTATION_VERSION.to_string(), metadata.version.to_string());
    if let Some(description) = metadata.description.as_ref().filter(|d| !d.is_empty()) {
        annotations.insert(ANNOTATION_DESCRIPTION.to_string(), description.clone());
    }
    if let Some(created) = created {
        annotations.insert(ANNOTATION_CREATED.to_string(), created);
    }
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MANIFEST_MEDIA_TYPE.to_string()),
        artifact_type: Some(ARTIFACT_TYPE.to_string()),
        config: Descriptor::of(CONFIG_MEDIA_TYPE, &config, &config_digest),
        layers: vec![layer],
        annotations,
    };
    let manifest = serde_json::to_vec(&manifest).expect("a manifest serialises to JSON");
    ChartArtifact {
        digest: Digest::of(&manifest),
        manifest,
        config,
        config_digest,
        content_digest,
    }
}

/// `SOURCE_DATE_EPOCH` as RFC 3339 UTC, or `None` when it is not set.
pub fn created_from_env() -> Result<Option<String>, String> {
    let Ok(text) = std::env::var("SOURCE_DATE_EPOCH") else {
        return Ok(None);
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let seconds: u64 = text
        .trim()
        .parse()
        .map_err(|_| format!("SOURCE_DATE_EPOCH=\"{text}\" is not a number of seconds"))?;
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
    Ok(Some(humantime::format_rfc3339_seconds(time).to_string()))
}

/// A pulled manifest that is an rchart chart: its one content layer.
#[derive(Debug, Clone)]
pub struct ChartManifest {
    pub manifest: Manifest,
    pub layer: Descriptor,
}

impl ChartManifest {
    /// Reads `bytes` as a chart manifest, refusing anything else with a message that
    /// names the media types found. `content_type` is what the registry said it is.
    pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Self, String> {
        let content_type = content_type
            .map(|c| c.split(';').next().unwrap_or(c).trim())
            .filter(|c| !c.is_empty());
        if let Some(index) = content_type.filter(|c| INDEX_MEDIA_TYPES.contains(c)) {
            return Err(format!("an image index ({index}), not a chart"));
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Head {
            media_type: Option<String>,
        }
        let head: Head = serde_json::from_slice(bytes)
            .map_err(|e| format!("a manifest that is not JSON ({e})"))?;
        let media_type = head.media_type.as_deref().or(content_type);
        if let Some(index) = media_type.filter(|m| INDEX_MEDIA_TYPES.contains(m)) {
            return Err(format!("an image index ({index}), not a chart"));
        }
        if let Some(other) =
            media_type.filter(|m| *m != MANIFEST_MEDIA_TYPE && *m != DOCKER_MANIFEST_MEDIA_TYPE)
        {
            return Err(format!("a manifest of media type {other}"));
        }
        let manifest: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| format!("a manifest rchart cannot read ({e})"))?;
        if manifest.schema_version != 2 {
            return Err(format!(
                "a manifest of schema version {}",
                manifest.schema_version
            ));
        }
        let layer_types: Vec<&str> = manifest
            .layers
            .iter()
            .map(|l| l.media_type.as_str())
            .collect();
        let is_chart =
            manifest.config.media_type == CONFIG_MEDIA_TYPE && layer_types == [CONTENT_MEDIA_TYPE];
        if !is_chart {
            let kind = if manifest.config.media_type == HELM_CONFIG_MEDIA_TYPE {
                "a Helm chart"
            } else if media_type == Some(DOCKER_MANIFEST_MEDIA_TYPE)
                || manifest.config.media_type.contains("container.image")
                || manifest.config.media_type == "application/vnd.oci.image.config.v1+json"
            {
                "a container image"
            } else {
                "an artifact"
            };
            return Err(format!(
                "{kind} with config media type {} and layer media types [{}]",
                manifest.config.media_type,
                layer_types.join(", ")
            ));
        }
        let layer = manifest.layers[0].clone();
        Digest::parse(&layer.digest)
            .map_err(|e| format!("a chart manifest whose layer digest is unusable: {e}"))?;
        Ok(ChartManifest { manifest, layer })
    }

    pub fn layer_digest(&self) -> Digest {
        Digest::parse(&self.layer.digest).expect("checked by parse")
    }
}

/// What rchart accepts, for messages.
pub fn expected_types() -> String {
    format!("config {CONFIG_MEDIA_TYPE} with one layer {CONTENT_MEDIA_TYPE}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata() -> Metadata {
        crate::chart::Metadata::parse("apiVersion: v2\nname: web\nversion: 1.0.0+abc\n")
            .unwrap()
            .metadata
    }

    #[test]
    fn the_same_package_gives_the_same_manifest() {
        let a = chart_artifact(&metadata(), b"package", None);
        let b = chart_artifact(&metadata(), b"package", None);
        assert_eq!(a.manifest, b.manifest);
        assert_eq!(a.digest, b.digest);
        let text = String::from_utf8(a.manifest.clone()).unwrap();
        assert!(text.starts_with(
            r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.rchart.chart.config.v1+json","config":{"mediaType":"application/vnd.rchart.chart.config.v1+json""#
        ), "{text}");
        assert!(!text.contains("created"));
        let parsed = ChartManifest::parse(&a.manifest, Some(MANIFEST_MEDIA_TYPE)).unwrap();
        assert_eq!(parsed.layer.size, 7);
        assert_eq!(parsed.layer_digest(), Digest::of(b"package"));

        let dated = chart_artifact(&metadata(), b"package", Some("2024-01-01T00:00:00Z".into()));
        assert_ne!(dated.digest, a.digest);
    }

    #[test]
    fn helm_charts_and_images_are_named_and_refused() {
        let helm = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"sha256:00","size":1},"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"sha256:00","size":1}]}"#;
        let error = ChartManifest::parse(helm, Some(MANIFEST_MEDIA_TYPE)).unwrap_err();
        assert_eq!(
            error,
            "a Helm chart with config media type application/vnd.cncf.helm.config.v1+json and layer media types [application/vnd.cncf.helm.chart.content.v1.tar+gzip]"
        );
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        assert!(
            ChartManifest::parse(index, None)
                .unwrap_err()
                .contains("image index")
        );
    }
}
