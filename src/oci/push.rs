//! `rchart push`: a chart package to `oci://HOST/PATH/NAME:VERSION`.

use std::path::Path;

use bytes::Bytes;

use crate::chart::files::MAX_CHART_SIZE;

use super::client::{Access, Client};
use super::error::OciError;
use super::manifest::{MANIFEST_MEDIA_TYPE, chart_artifact, created_from_env};
use super::pull::package_metadata;
use super::reference::{Digest, Reference, tag_for_version};
use super::{RegistryOptions, Reporter, credentials_for};

/// A pushed chart.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// `oci://HOST/PATH/NAME:TAG@sha256:…`
    pub reference: Reference,
    pub manifest_digest: Digest,
    /// Blobs the registry already had, so they were not uploaded.
    pub blobs_skipped: usize,
}

/// Pushes the package at `archive` under `destination` (`oci://HOST[:PORT][/PATH]`): to
/// repository `PATH/NAME`, tagged with the chart's version (`+` written `_`).
///
/// The package is read as a chart archive first, with the archive limits, so nothing
/// that `rchart pull` would refuse is ever pushed. Blobs the registry already has are
/// not uploaded again.
pub async fn push_chart(
    archive: &Path,
    destination: &str,
    options: &RegistryOptions,
    report: Reporter<'_>,
) -> Result<Pushed, OciError> {
    let destination = Reference::parse(destination)?;
    if destination.tag.is_some() || destination.digest.is_some() {
        return Err(OciError::Usage(format!(
            "push to {destination}: give the repository without a tag or digest; \
             the chart's name is appended and its version is the tag"
        )));
    }
    let size = std::fs::metadata(archive)
        .map_err(OciError::io("cannot read", archive))?
        .len();
    if size > MAX_CHART_SIZE {
        return Err(OciError::TooLarge {
            what: format!("chart package {}", archive.display()),
            size,
            limit: MAX_CHART_SIZE,
        });
    }
    let package = std::fs::read(archive).map_err(OciError::io("cannot read", archive))?;
    let metadata = package_metadata(&archive.display().to_string(), &package)?;
    let repository = destination.join(&metadata.name)?;
    let tag = tag_for_version(&metadata.version);
    let created = created_from_env().map_err(OciError::Usage)?;
    let artifact = chart_artifact(&metadata, &package, created);

    let client = Client::connect(
        &repository.registry,
        Access::Push,
        options,
        credentials_for(&repository.registry, options)?,
    )?;
    report(&format!(
        "Pushing {} ({} bytes)",
        repository.with_tag(&tag),
        package.len()
    ));
    let mut blobs_skipped = 0;
    let blobs = [
        (artifact.content_digest, Bytes::from(package)),
        (artifact.config_digest, Bytes::from(artifact.config)),
    ];
    for (digest, bytes) in blobs {
        if client.blob_exists(&repository.repository, &digest).await? {
            blobs_skipped += 1;
        } else {
            client
                .upload_blob(&repository.repository, &digest, bytes)
                .await?;
        }
    }
    let reported = client
        .put_manifest(
            &repository.repository,
            &tag,
            MANIFEST_MEDIA_TYPE,
            Bytes::from(artifact.manifest),
        )
        .await?;
    if let Some(reported) = reported.filter(|d| d != artifact.digest.as_str()) {
        return Err(OciError::DigestMismatch {
            registry: repository.registry.clone(),
            what: format!("the manifest pushed to {}", repository.with_tag(&tag)),
            expected: artifact.digest.to_string(),
            actual: reported,
        });
    }
    Ok(Pushed {
        reference: repository.with_tag(&tag).with_digest(&artifact.digest),
        manifest_digest: artifact.digest,
        blobs_skipped,
    })
}
