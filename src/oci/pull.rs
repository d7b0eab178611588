//! Resolving an `oci://` reference to a checked chart package in the cache.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::chart::archive::read_archive;
use crate::chart::files::MAX_CHART_SIZE;
use crate::chart::{CHART_FILE, ChartError, Metadata};

use super::cache::{Cache, write_atomically};
use super::client::{Access, Client};
use super::error::OciError;
use super::manifest::{ANNOTATION_TITLE, ANNOTATION_VERSION, ChartManifest, expected_types};
use super::reference::{Digest, Reference, tag_for_version, version_of_tag};
use super::versions::VersionSpec;
use super::{RegistryOptions, Reporter, credentials_for};

/// A chart found in a registry, its package checked and kept in the cache.
#[derive(Debug, Clone)]
pub struct ResolvedChart {
    /// The package in the cache; load it with `Chart::load`.
    pub archive_path: PathBuf,
    /// The digest of the chart's manifest: what the release record keeps.
    pub manifest_digest: Digest,
    /// The reference with the tag that was resolved (when there was one) and the digest.
    pub reference: Reference,
    pub name: String,
    pub version: semver::Version,
    /// No download was needed.
    pub from_cache: bool,
}

/// Where a release's chart came from, for the release record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartOrigin {
    /// `oci://HOST/PATH:TAG` (or `oci://HOST/PATH` when pulled by digest).
    pub reference: String,
    /// `sha256:…` of the manifest.
    pub manifest_digest: String,
}

impl ResolvedChart {
    pub fn origin(&self) -> ChartOrigin {
        let mut reference = self.reference.clone();
        reference.digest = None;
        ChartOrigin {
            reference: reference.to_string(),
            manifest_digest: self.manifest_digest.to_string(),
        }
    }
}

/// A chart written by `rchart pull`.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub path: PathBuf,
    pub chart: ResolvedChart,
}

/// Resolves `reference` (`oci://HOST/PATH/NAME`, with `:TAG` or `@sha256:…`, or neither)
/// and `version` (an exact version, a Helm-style range, or `None` for the highest
/// release) to a chart package in the cache.
///
/// Requests: a digest already in the cache costs none; a tag or exact version costs one
/// manifest `GET`, plus the layer when the manifest is not cached; a range adds the tag
/// list. The manifest's and the layer's digests are checked, and the package is read as
/// a chart archive (with the archive limits), before anything is written.
pub async fn resolve_chart(
    reference: &str,
    version: Option<&str>,
    options: &RegistryOptions,
    report: Reporter<'_>,
) -> Result<ResolvedChart, OciError> {
    let reference = Reference::parse(reference)?;
    if reference.repository.is_empty() {
        return Err(OciError::Usage(format!(
            "{reference} names no chart: expected oci://HOST/PATH/NAME"
        )));
    }
    if version.is_some() && (reference.tag.is_some() || reference.digest.is_some()) {
        return Err(OciError::Usage(format!(
            "{reference} already names a tag or digest; give either it or --version"
        )));
    }
    let cache = Cache::open(options.cache_dir.as_deref())?;
    if let Some(digest) = &reference.digest
        && let Some(hit) = cache.get(digest)
    {
        report(&format!("Using {reference} from the cache"));
        return resolved_from_cache(&reference, digest, hit);
    }

    let client = Client::connect(
        &reference.registry,
        Access::Pull,
        options,
        credentials_for(&reference.registry, options)?,
    )?;
    let (manifest_reference, tag) = match (&reference.digest, &reference.tag) {
        (Some(digest), _) => (digest.to_string(), reference.tag.clone()),
        (None, Some(tag)) => (tag.clone(), Some(tag.clone())),
        (None, None) => {
            let tag = choose_tag(&client, &reference, version).await?;
            (tag.clone(), Some(tag))
        }
    };
    let fetched = client
        .manifest(&reference.repository, &manifest_reference)
        .await?;
    let mut resolved_reference = reference.clone();
    resolved_reference.tag = tag;
    let resolved_reference = resolved_reference.with_digest(&fetched.digest);
    if let Some(hit) = cache.get(&fetched.digest) {
        report(&format!(
            "{resolved_reference} is unchanged; using it from the cache"
        ));
        return resolved_from_cache(&resolved_reference, &fetched.digest, hit);
    }

    let chart =
        ChartManifest::parse(&fetched.bytes, fetched.content_type.as_deref()).map_err(|found| {
            OciError::NotAChart {
                reference: resolved_reference.to_string(),
                found,
                expected: expected_types(),
            }
        })?;
    report(&format!(
        "Pulling {resolved_reference} ({} bytes)",
        chart.layer.size
    ));
    let package = client
        .download_blob(
            &reference.repository,
            &chart.layer_digest(),
            chart.layer.size,
            MAX_CHART_SIZE,
        )
        .await?;
    let shown = resolved_reference.to_string();
    let metadata = package_metadata(&shown, &package)?;
    let file_name = format!("{}-{}.tgz", metadata.name, metadata.version);
    let archive_path = cache.put(&fetched.digest, &fetched.bytes, &file_name, &package)?;
    Ok(ResolvedChart {
        archive_path,
        manifest_digest: fetched.digest,
        reference: resolved_reference,
        name: metadata.name,
        version: metadata.version,
        from_cache: false,
    })
}

/// `rchart pull`: resolves the chart, then writes `DESTINATION/NAME-VERSION.tgz`.
pub async fn pull_chart(
    reference: &str,
    version: Option<&str>,
    destination: &Path,
    options: &RegistryOptions,
    report: Reporter<'_>,
) -> Result<Pulled, OciError> {
    let chart = resolve_chart(reference, version, options, report).await?;
    // A copy the kernel makes, file to file.
    let cached = std::fs::File::open(&chart.archive_path)
        .map_err(OciError::io("cannot read", &chart.archive_path))?;
    std::fs::create_dir_all(destination).map_err(OciError::io("cannot create", destination))?;
    let path = destination.join(format!("{}-{}.tgz", chart.name, chart.version));
    write_atomically(&path, cached)?;
    Ok(Pulled { path, chart })
}

/// The tag for `version`: an exact version is its own tag; otherwise the highest
/// matching version among the repository's tags.
async fn choose_tag(
    client: &Client,
    reference: &Reference,
    version: Option<&str>,
) -> Result<String, OciError> {
    let spec = VersionSpec::parse(version).map_err(OciError::Usage)?;
    if let VersionSpec::Exact(exact) = &spec {
        return Ok(tag_for_version(exact));
    }
    let tags = client.tags(&reference.repository).await?;
    let versions: Vec<semver::Version> = tags.iter().filter_map(|t| version_of_tag(t)).collect();
    match spec.best(&versions) {
        Some(best) => Ok(tag_for_version(best)),
        None => {
            let mut sorted = versions.clone();
            sorted.sort_by(|a, b| b.cmp(a));
            let shown: Vec<String> = sorted.iter().take(10).map(|v| v.to_string()).collect();
            Err(OciError::NoMatchingVersion {
                reference: reference.to_string(),
                spec: spec.to_string(),
                known: if shown.is_empty() {
                    "; it has no tags that are versions".to_string()
                } else {
                    format!("; it has {}", shown.join(", "))
                },
            })
        }
    }
}

fn resolved_from_cache(
    reference: &Reference,
    digest: &Digest,
    hit: super::cache::CachedChart,
) -> Result<ResolvedChart, OciError> {
    let (name, version) = match stored_name(&hit) {
        Some(stored) => stored,
        None => {
            let shown = hit.archive_path.display().to_string();
            let metadata = package_metadata(&shown, &hit.package)?;
            (metadata.name, metadata.version)
        }
    };
    Ok(ResolvedChart {
        archive_path: hit.archive_path,
        manifest_digest: digest.clone(),
        reference: reference.with_digest(digest),
        name,
        version,
        from_cache: true,
    })
}

/// The chart's name and version without reading the package again: the cache named its
/// file `NAME-VERSION.tgz` from the package's own `Chart.yaml` when it stored it, so when
/// the manifest's title and version annotations give that same name, they are the
/// package's.
fn stored_name(hit: &super::cache::CachedChart) -> Option<(String, semver::Version)> {
    let annotations = &hit.manifest.manifest.annotations;
    let name = annotations.get(ANNOTATION_TITLE)?;
    let version = semver::Version::parse(annotations.get(ANNOTATION_VERSION)?).ok()?;
    let file_name = hit.archive_path.file_name()?.to_str()?;
    (file_name == format!("{name}-{version}.tgz")).then(|| (name.clone(), version))
}

/// Reads `package` as a chart archive (every archive rule and limit applies) and returns
/// its `Chart.yaml`.
pub(crate) fn package_metadata(shown: &str, package: &[u8]) -> Result<Metadata, OciError> {
    let archive = read_archive(shown, package).map_err(ChartError::from)?;
    let text = archive
        .files
        .get(CHART_FILE)
        .ok_or_else(|| ChartError::NoChartFile {
            chart: shown.to_string(),
        })?;
    let text = String::from_utf8(text.to_vec()).map_err(|_| ChartError::NotText {
        chart: shown.to_string(),
        file: CHART_FILE.to_string(),
    })?;
    let parsed = Metadata::parse(&text).map_err(|problem| ChartError::Metadata {
        chart: shown.to_string(),
        problem,
    })?;
    Ok(parsed.metadata)
}
