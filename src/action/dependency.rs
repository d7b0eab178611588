//! `rchart dependency update|build|list`: filling `charts/` from `Chart.yaml` and
//! `Chart.lock`.
//!
//! - `update` resolves each dependency's range (a `file://` directory, or a repository's
//!   index), fetches every chart into memory and checks it, and only then writes
//!   `charts/NAME-VERSION.tgz` and `Chart.lock`. A failure writes nothing.
//! - `build` restores exactly what `Chart.lock` names, and refuses when the lock no
//!   longer matches `Chart.yaml` (by Helm's digest), naming the dependency.
//! - `list` tells, for each dependency, what `charts/` holds.
//!
//! `file://` charts are packaged the way `rchart package` packages (mtime
//! `SOURCE_DATE_EPOCH`, or 0), and repository charts are written as downloaded, so the
//! same inputs give the same bytes in `charts/`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::report::Reporter;
use crate::chart::dependency::RepositoryRef;
use crate::chart::escape::escape_name;
use crate::chart::lock::{self, Lock, LockedDependency};
use crate::chart::versions::VersionSpec;
use crate::chart::{CHARTS_DIR, Chart, ChartFiles, Dependency, LOCK_FILE, Metadata, package};
use crate::oci::{self, RegistryOptions};
use crate::repo::{self, Http, IndexFile, RepoPaths, Repository, RepositoryFile};

/// What `update` and `build` need besides the chart.
pub struct DependencyOptions<'a> {
    pub chart_dir: &'a Path,
    pub paths: &'a RepoPaths,
    /// `SOURCE_DATE_EPOCH`: the lock's `generated` time, and the mtime of packaged
    /// `file://` charts (0 when unset).
    pub source_date_epoch: Option<u64>,
    /// How to reach the registries of `oci://` dependencies.
    pub registry: &'a RegistryOptions,
}

/// What `update` or `build` wrote.
pub struct Fetched {
    /// `charts/` file names, in `dependencies:` order.
    pub written: Vec<String>,
    /// Stale archives of the same charts that were removed.
    pub removed: Vec<String>,
    /// Whether `Chart.lock` was written (it is left alone when nothing changed).
    pub lock_written: bool,
}

/// One dependency resolved to a chart archive.
struct Resolved {
    name: String,
    version: String,
    /// The archive; `None` for an unpacked chart in `charts/`, which stays as it is.
    bytes: Option<Vec<u8>>,
}

/// `rchart dependency update`.
pub async fn update(
    options: &DependencyOptions<'_>,
    report: &dyn Reporter,
) -> anyhow::Result<Fetched> {
    let chart = load_own(options.chart_dir)?;
    let requested = &chart.metadata.dependencies;
    if requested.is_empty() {
        report.info(&format!(
            "chart {} has no dependencies: nothing to do",
            options.chart_dir.display()
        ));
        return Ok(Fetched {
            written: Vec::new(),
            removed: Vec::new(),
            lock_written: false,
        });
    }
    let mut sources = Sources::new(options)?;
    let mut resolved = Vec::with_capacity(requested.len());
    for dependency in requested {
        resolved.push(sources.resolve(dependency, None, report).await?);
    }
    let locked: Vec<LockedDependency> = requested
        .iter()
        .zip(&resolved)
        .map(|(dependency, resolved)| LockedDependency {
            name: dependency.name.clone(),
            version: resolved.version.clone(),
            repository: dependency.repository.clone(),
        })
        .collect();
    let (written, removed) = write_charts(options.chart_dir, requested, &resolved)?;
    let lock = Lock {
        digest: lock::digest(requested, &locked),
        dependencies: locked,
        generated: None,
    };
    let lock_written = write_lock(options, lock)?;
    Ok(Fetched {
        written,
        removed,
        lock_written,
    })
}

/// `rchart dependency build`: what `Chart.lock` says, or `update` when there is no lock.
pub async fn build(
    options: &DependencyOptions<'_>,
    report: &dyn Reporter,
) -> anyhow::Result<Fetched> {
    let lock_path = options.chart_dir.join(LOCK_FILE);
    let text = match std::fs::read_to_string(&lock_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            report.info(&format!(
                "no {LOCK_FILE} in {}: resolving the dependencies as `update` does",
                options.chart_dir.display()
            ));
            return update(options, report).await;
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", lock_path.display())),
    };
    let lock = Lock::parse(&text)
        .map_err(|problem| anyhow::anyhow!("{}: {problem}", lock_path.display()))?;
    let chart = load_own(options.chart_dir)?;
    let requested = &chart.metadata.dependencies;
    check_lock(&lock, requested).map_err(|problem| {
        anyhow::anyhow!(
            "{} is out of date with Chart.yaml: {problem}; run `rchart dependency update {}`",
            lock_path.display(),
            options.chart_dir.display()
        )
    })?;
    let mut sources = Sources::new(options)?;
    let mut resolved = Vec::with_capacity(requested.len());
    for (dependency, locked) in requested.iter().zip(&lock.dependencies) {
        let exact = semver::Version::parse(&locked.version)?;
        resolved.push(
            sources
                .resolve(dependency, Some(&VersionSpec::Exact(exact)), report)
                .await?,
        );
    }
    let (written, removed) = write_charts(options.chart_dir, requested, &resolved)?;
    Ok(Fetched {
        written,
        removed,
        lock_written: false,
    })
}

/// Why `lock` does not describe `requested`, naming the dependency where one can.
fn check_lock(lock: &Lock, requested: &[Dependency]) -> Result<(), String> {
    for (index, dependency) in requested.iter().enumerate() {
        let name = escape_name(dependency.key());
        let Some(locked) = lock.dependencies.get(index) else {
            return Err(format!("dependency \"{name}\" is not in the lock"));
        };
        if locked.name != dependency.name {
            return Err(format!(
                "dependency \"{name}\" is locked as \"{}\"",
                escape_name(&locked.name)
            ));
        }
        if locked.repository != dependency.repository {
            return Err(format!(
                "dependency \"{name}\" is locked from repository \"{}\", but Chart.yaml names \"{}\"",
                escape_name(&locked.repository),
                escape_name(&dependency.repository)
            ));
        }
        let version = semver::Version::parse(&locked.version).map_err(|e| e.to_string())?;
        if !dependency.version_spec().matches(&version) {
            return Err(format!(
                "dependency \"{name}\" is locked at {version}, outside the range {} Chart.yaml asks for",
                dependency.version_spec()
            ));
        }
    }
    if let Some(extra) = lock.dependencies.get(requested.len()) {
        return Err(format!(
            "the lock has dependency \"{}\", which Chart.yaml no longer lists",
            escape_name(&extra.name)
        ));
    }
    if !lock.matches(requested) {
        return Err(
            "a dependency's condition, tags, alias or import-values changed in Chart.yaml, or the lock was edited (by hand, or in a merge), since it was written: its digest no longer matches"
                .to_string(),
        );
    }
    Ok(())
}

fn load_own(chart_dir: &Path) -> anyhow::Result<Chart> {
    if !chart_dir.is_dir() {
        bail!(
            "chart directory \"{}\" not found (dependencies are managed in a chart directory)",
            chart_dir.display()
        );
    }
    Ok(Chart::load_without_subcharts(chart_dir)?)
}

/// Where dependencies come from, with each repository's index fetched once.
struct Sources<'a> {
    options: &'a DependencyOptions<'a>,
    repositories: RepositoryFile,
    indexes: HashMap<String, IndexFile>,
}

impl<'a> Sources<'a> {
    fn new(options: &'a DependencyOptions<'a>) -> anyhow::Result<Self> {
        Ok(Self {
            options,
            repositories: RepositoryFile::load(&options.paths.config)?,
            indexes: HashMap::new(),
        })
    }

    /// The chart `dependency` names, at the version `exact` or else the highest in its range.
    async fn resolve(
        &mut self,
        dependency: &Dependency,
        exact: Option<&VersionSpec>,
        report: &dyn Reporter,
    ) -> anyhow::Result<Resolved> {
        let spec = exact.cloned().unwrap_or_else(|| dependency.version_spec());
        let what = format!("dependency \"{}\"", escape_name(dependency.key()));
        match dependency.repository_ref() {
            RepositoryRef::File(relative) => self
                .in_directory(dependency, &spec, relative)
                .with_context(|| format!("{what} (repository {})", dependency.repository)),
            RepositoryRef::Url(url) => {
                let repository = self.settings_for(url);
                self.in_repository(dependency, &spec, repository, report)
                    .await
                    .with_context(|| what.clone())
            }
            RepositoryRef::Named(name) => {
                let Some(repository) = self.repositories.get(name).cloned() else {
                    bail!(
                        "{what}: repository \"@{}\" is not added; add it with `rchart repo add {} URL`",
                        escape_name(name),
                        escape_name(name)
                    );
                };
                self.in_repository(dependency, &spec, repository, report)
                    .await
                    .with_context(|| what.clone())
            }
            RepositoryRef::Oci(base) => self
                .in_registry(dependency, exact, base, report)
                .await
                .with_context(|| what.clone()),
            RepositoryRef::None => self.in_charts_dir(dependency, &spec).with_context(|| what),
        }
    }

    /// A dependency without a repository must already be in `charts/`: it is kept as is.
    fn in_charts_dir(
        &self,
        dependency: &Dependency,
        spec: &VersionSpec,
    ) -> anyhow::Result<Resolved> {
        let charts = self.options.chart_dir.join(CHARTS_DIR);
        for entry in read_archives(&charts)? {
            if entry.metadata.name == dependency.name && spec.matches(&entry.metadata.version) {
                return Ok(Resolved {
                    name: entry.metadata.name,
                    version: entry.metadata.version.to_string(),
                    bytes: Some(entry.bytes),
                });
            }
        }
        let unpacked = charts.join(&dependency.name);
        if let Ok(text) = std::fs::read_to_string(unpacked.join(crate::chart::CHART_FILE))
            && let Ok(parsed) = Metadata::parse(&text)
            && parsed.metadata.name == dependency.name
            && spec.matches(&parsed.metadata.version)
        {
            return Ok(Resolved {
                name: parsed.metadata.name,
                version: parsed.metadata.version.to_string(),
                bytes: None,
            });
        }
        bail!(
            "it has no repository, and {} holds no {} chart matching {spec}; add a repository: to it, or put the chart in charts/",
            charts.display(),
            escape_name(&dependency.name)
        )
    }

    fn in_directory(
        &self,
        dependency: &Dependency,
        spec: &VersionSpec,
        relative: &str,
    ) -> anyhow::Result<Resolved> {
        let dir = self.options.chart_dir.join(relative);
        if !dir.join(crate::chart::CHART_FILE).is_file() {
            bail!("{} is not a chart directory", dir.display());
        }
        let chart = Chart::load(&dir)?;
        if chart.name() != dependency.name {
            bail!(
                "{} holds chart \"{}\", not \"{}\"",
                dir.display(),
                escape_name(chart.name()),
                escape_name(&dependency.name)
            );
        }
        if !spec.matches(&chart.metadata.version) {
            bail!(
                "{} is version {}, outside {spec}",
                dir.display(),
                chart.metadata.version
            );
        }
        // Its own dependencies travel inside its package: they must be in place
        chart.dependency_charts().with_context(|| {
            format!(
                "in {}; run `rchart dependency update {}` first",
                dir.display(),
                dir.display()
            )
        })?;
        let mtime = self.options.source_date_epoch.unwrap_or(0);
        let bytes = package::package_bytes(&chart.files, chart.name(), mtime)?;
        Ok(Resolved {
            name: chart.name().to_string(),
            version: chart.metadata.version.to_string(),
            bytes: Some(bytes),
        })
    }

    /// `REGISTRY/PATH/NAME` at the highest tag in range (or the exact one), through the
    /// OCI client and its cache: digests checked, read with the archive rules.
    async fn in_registry(
        &self,
        dependency: &Dependency,
        exact: Option<&VersionSpec>,
        base: &str,
        report: &dyn Reporter,
    ) -> anyhow::Result<Resolved> {
        let reference = format!("{}/{}", base.trim_end_matches('/'), dependency.name);
        let version = match exact {
            Some(exact) => Some(exact.to_string()),
            None => (!dependency.version.is_empty()).then(|| dependency.version.clone()),
        };
        let line = |text: &str| report.info(text);
        let resolved =
            oci::resolve_chart(&reference, version.as_deref(), self.options.registry, &line)
                .await?;
        if resolved.name != dependency.name {
            bail!(
                "{reference} holds chart \"{}\", not \"{}\"",
                escape_name(&resolved.name),
                escape_name(&dependency.name)
            );
        }
        let bytes = std::fs::read(&resolved.archive_path)
            .with_context(|| format!("reading {}", resolved.archive_path.display()))?;
        Ok(Resolved {
            name: resolved.name,
            version: resolved.version.to_string(),
            bytes: Some(bytes),
        })
    }

    /// The settings of the added repository at `url` (credentials, TLS), or none.
    fn settings_for(&self, url: &str) -> Repository {
        let same = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
        self.repositories
            .repositories
            .iter()
            .find(|r| same(&r.url, url))
            .cloned()
            .unwrap_or_else(|| Repository {
                url: url.to_string(),
                ..Repository::default()
            })
    }

    async fn in_repository(
        &mut self,
        dependency: &Dependency,
        spec: &VersionSpec,
        repository: Repository,
        report: &dyn Reporter,
    ) -> anyhow::Result<Resolved> {
        let http = Http::for_repository(&repository)?;
        if !self.indexes.contains_key(&repository.url) {
            report.info(&format!(
                "Fetching the index of {}",
                crate::http::redact(&repository.url)
            ));
            let fetched = repo::fetch_index(&http, &repository.url).await?;
            for skipped in &fetched.index.skipped {
                report.warn(&format!(
                    "{}: {skipped} (skipped)",
                    crate::http::redact(&repository.url)
                ));
            }
            self.indexes.insert(repository.url.clone(), fetched.index);
        }
        let index = &self.indexes[&repository.url];
        let entry = repo::pick(index, &repository.url, &dependency.name, spec)?;
        report.info(&format!(
            "Downloading {} {} from {}",
            entry.name, entry.version, repository.url
        ));
        let downloaded = repo::download_chart(&http, &repository.url, entry).await?;
        Ok(Resolved {
            name: entry.name.clone(),
            version: entry.version.to_string(),
            bytes: Some(downloaded.bytes),
        })
    }
}

/// A chart archive in `charts/`, read far enough to know its name and version.
pub struct ArchiveEntry {
    pub file_name: String,
    pub metadata: Metadata,
    pub bytes: Vec<u8>,
}

/// The chart archives directly under `dir`, in name order; unreadable ones are skipped.
pub fn read_archives(dir: &Path) -> anyhow::Result<Vec<ArchiveEntry>> {
    let mut entries = Vec::new();
    let list = match std::fs::read_dir(dir) {
        Ok(list) => list,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(entries),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let mut names: Vec<PathBuf> = list
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "tgz") && path.is_file())
        .collect();
    names.sort();
    for path in names {
        let Ok(archive) = ChartFiles::from_archive(&path) else {
            continue;
        };
        let Some(metadata) = archive
            .files
            .get(crate::chart::CHART_FILE)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .and_then(|text| Metadata::parse(text).ok())
        else {
            continue;
        };
        let bytes = std::fs::read(&path)?;
        entries.push(ArchiveEntry {
            file_name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            metadata: metadata.metadata,
            bytes,
        });
    }
    Ok(entries)
}

/// Writes each archive as `charts/NAME-VERSION.tgz` and removes other versions of the
/// same charts (`NAME-SEMVER.tgz`).
fn write_charts(
    chart_dir: &Path,
    requested: &[Dependency],
    resolved: &[Resolved],
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let charts = chart_dir.join(CHARTS_DIR);
    std::fs::create_dir_all(&charts).with_context(|| format!("creating {}", charts.display()))?;
    let mut written = Vec::with_capacity(resolved.len());
    for archive in resolved {
        let Some(bytes) = &archive.bytes else {
            continue;
        };
        let file_name = format!("{}-{}.tgz", archive.name, archive.version);
        if written.contains(&file_name) {
            // Two aliases of one chart share its archive
            continue;
        }
        let path = charts.join(&file_name);
        let unchanged = std::fs::read(&path).is_ok_and(|old| old == *bytes);
        if !unchanged {
            package::write_atomically(&path, bytes)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        written.push(file_name);
    }
    let mut removed = Vec::new();
    if let Ok(list) = std::fs::read_dir(&charts) {
        let mut stale: Vec<String> = list
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().to_str().map(String::from))
            .filter(|name| !written.contains(name))
            .filter(|name| {
                requested.iter().any(|dependency| {
                    name.strip_prefix(&format!("{}-", dependency.name))
                        .and_then(|rest| rest.strip_suffix(".tgz"))
                        .is_some_and(|version| semver::Version::parse(version).is_ok())
                })
            })
            .collect();
        stale.sort();
        for name in stale {
            let path = charts.join(&name);
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            removed.push(name);
        }
    }
    Ok((written, removed))
}

/// Writes `Chart.lock`, unless the one there already says the same and no
/// `SOURCE_DATE_EPOCH` asks for another time. Returns whether it wrote.
fn write_lock(options: &DependencyOptions<'_>, mut lock: Lock) -> anyhow::Result<bool> {
    let path = options.chart_dir.join(LOCK_FILE);
    let existing = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| Lock::parse(&text).ok());
    lock.generated = Some(match options.source_date_epoch {
        Some(epoch) => rfc3339(epoch),
        None => match existing {
            Some(old) if old.dependencies == lock.dependencies && old.digest == lock.digest => {
                return Ok(false);
            }
            _ => humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        },
    });
    let text = lock.to_yaml();
    if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    package::write_atomically(&path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(true)
}

/// Seconds since the epoch as an RFC 3339 time in UTC.
pub fn rfc3339(epoch: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(epoch);
    humantime::format_rfc3339_seconds(time).to_string()
}

/// What `charts/` holds for one dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Missing,
    WrongVersion,
    Unpacked,
    LockedNotDownloaded,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Missing => "missing",
            Status::WrongVersion => "wrong version",
            Status::Unpacked => "unpacked",
            Status::LockedNotDownloaded => "locked but not downloaded",
        }
    }
}

/// One row of `rchart dependency list`.
pub struct Listed {
    pub dependency: Dependency,
    pub status: Status,
    /// The version `charts/` holds, if any.
    pub found: Option<String>,
}

/// `rchart dependency list`.
pub fn list(chart_dir: &Path) -> anyhow::Result<Vec<Listed>> {
    let chart = load_own(chart_dir)?;
    let charts = chart_dir.join(CHARTS_DIR);
    let archives = read_archives(&charts)?;
    // A lock that cannot be read is an error here too, as `build` would stop on it.
    let lock_path = chart_dir.join(LOCK_FILE);
    let lock = match std::fs::read_to_string(&lock_path) {
        Ok(text) => Some(
            Lock::parse(&text)
                .map_err(|problem| anyhow::anyhow!("{}: {problem}", lock_path.display()))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", lock_path.display())),
    };
    Ok(chart
        .metadata
        .dependencies
        .iter()
        .map(|dependency| {
            let spec = dependency.version_spec();
            let named: Vec<&ArchiveEntry> = archives
                .iter()
                .filter(|a| a.metadata.name == dependency.name)
                .collect();
            let matching = named.iter().find(|a| spec.matches(&a.metadata.version));
            let (status, found) = if let Some(archive) = matching {
                (Status::Ok, Some(archive.metadata.version.to_string()))
            } else if let Some(archive) = named.first() {
                (
                    Status::WrongVersion,
                    Some(archive.metadata.version.to_string()),
                )
            } else if charts
                .join(&dependency.name)
                .join(crate::chart::CHART_FILE)
                .is_file()
            {
                (Status::Unpacked, None)
            } else if lock
                .as_ref()
                .is_some_and(|l| l.dependencies.iter().any(|d| d.name == dependency.name))
            {
                (Status::LockedNotDownloaded, None)
            } else {
                (Status::Missing, None)
            };
            Listed {
                dependency: dependency.clone(),
                status,
                found,
            }
        })
        .collect())
}
