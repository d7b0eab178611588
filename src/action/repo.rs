//! `rchart repo add|list|update|remove|index`, `rchart search repo`, and charts named
//! `REPO/CHART` for `pull`, `template`, `install` and `upgrade`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::report::Reporter;
use crate::chart::ChartFiles;
use crate::chart::escape::escape_name;
use crate::chart::package::{sha256_hex, write_atomically};
use crate::chart::versions::VersionSpec;
use crate::repo::config::{check_name, write_private};
use crate::repo::{
    self, ChartVersion, Http, IndexFile, RepoPaths, Repository, RepositoryFile, read_cached_index,
};

/// `rchart repo add`: checks the repository answers with an index, then records it.
pub async fn add(
    paths: &RepoPaths,
    repository: Repository,
    force_update: bool,
    report: &dyn Reporter,
) -> anyhow::Result<()> {
    check_name(&repository.name).map_err(anyhow::Error::msg)?;
    reqwest::Url::parse(&repository.url)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .with_context(|| {
            format!(
                "\"{}\" is not an http:// or https:// URL",
                escape_name(&crate::http::redact(&repository.url))
            )
        })?;
    let mut file = RepositoryFile::load(&paths.config)?;
    if let Some(existing) = file.get(&repository.name) {
        if *existing == repository {
            report.info(&format!(
                "\"{}\" already exists with the same settings",
                repository.name
            ));
        } else if !force_update {
            bail!(
                "repository \"{}\" already exists ({}); use --force-update to replace it",
                repository.name,
                crate::http::redact(&existing.url)
            );
        }
    }
    let http = Http::for_repository(&repository)?;
    let fetched = repo::fetch_index(&http, &repository.url).await?;
    write_private(&paths.index(&repository.name), &fetched.bytes)?;
    file.repositories.retain(|r| r.name != repository.name);
    file.repositories.push(repository.clone());
    file.repositories.sort_by(|a, b| a.name.cmp(&b.name));
    file.save(&paths.config)?;
    report.info(&format!(
        "\"{}\" has been added to your repositories",
        repository.name
    ));
    Ok(())
}

/// `rchart repo remove`.
pub fn remove(paths: &RepoPaths, names: &[String], report: &dyn Reporter) -> anyhow::Result<()> {
    let mut file = RepositoryFile::load(&paths.config)?;
    for name in names {
        if file.get(name).is_none() {
            return Err(repo::RepoError::NotAdded(name.clone()).into());
        }
    }
    file.repositories.retain(|r| !names.contains(&r.name));
    file.save(&paths.config)?;
    for name in names {
        let _ = std::fs::remove_file(paths.index(name));
        let _ = std::fs::remove_dir_all(paths.charts(name));
        report.info(&format!(
            "\"{name}\" has been removed from your repositories"
        ));
    }
    Ok(())
}

/// `rchart repo list`.
pub fn list(paths: &RepoPaths) -> anyhow::Result<Vec<Repository>> {
    Ok(RepositoryFile::load(&paths.config)?.repositories)
}

/// `rchart repo update [NAME…]`: fetches the indexes again. Each repository is tried;
/// the error names every one that failed.
pub async fn update(
    paths: &RepoPaths,
    names: &[String],
    report: &dyn Reporter,
) -> anyhow::Result<()> {
    let file = RepositoryFile::load(&paths.config)?;
    let chosen: Vec<&Repository> = if names.is_empty() {
        file.repositories.iter().collect()
    } else {
        names
            .iter()
            .map(|name| {
                file.get(name)
                    .ok_or_else(|| repo::RepoError::NotAdded(name.clone()))
            })
            .collect::<Result<_, _>>()?
    };
    if chosen.is_empty() {
        bail!("no repositories to update; add one with `rchart repo add NAME URL`");
    }
    let mut failed = Vec::new();
    for repository in chosen {
        let fetched = async {
            let http = Http::for_repository(repository)?;
            repo::fetch_index(&http, &repository.url).await
        }
        .await;
        match fetched {
            Ok(fetched) => {
                write_private(&paths.index(&repository.name), &fetched.bytes)?;
                report.info(&format!(
                    "Got the latest index of \"{}\" ({})",
                    repository.name, repository.url
                ));
            }
            Err(error) => {
                report.warn(&format!("\"{}\": {error}", repository.name));
                failed.push(repository.name.clone());
            }
        }
    }
    if !failed.is_empty() {
        bail!("could not update {}", failed.join(", "));
    }
    Ok(())
}

/// One line of `rchart search repo`.
pub struct Found {
    /// `REPO/CHART`.
    pub name: String,
    pub version: ChartVersion,
}

/// `rchart search repo KEYWORD`: charts of the cached indexes whose `REPO/NAME`,
/// description or keywords contain `keyword` (any case), the newest matching version of
/// each, or all of them with `all_versions`.
pub fn search(
    paths: &RepoPaths,
    keyword: &str,
    version: Option<&str>,
    all_versions: bool,
) -> anyhow::Result<Vec<Found>> {
    let spec = VersionSpec::parse(version).map_err(|e| anyhow::anyhow!("--version: {e}"))?;
    let keyword = keyword.to_lowercase();
    let mut found = Vec::new();
    for repository in RepositoryFile::load(&paths.config)?.repositories {
        let Some(index) = read_cached_index(&paths.index(&repository.name))? else {
            continue;
        };
        for (chart, versions) in &index.entries {
            let name = format!("{}/{chart}", repository.name);
            let matching = versions.iter().filter(|v| spec.matches(&v.version));
            for entry in matching {
                let text = format!(
                    "{name} {} {}",
                    entry.description.as_deref().unwrap_or_default(),
                    entry.keywords.join(" ")
                )
                .to_lowercase();
                if !text.contains(&keyword) {
                    break;
                }
                found.push(Found {
                    name: name.clone(),
                    version: entry.clone(),
                });
                if !all_versions {
                    break;
                }
            }
        }
    }
    found.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then(b.version.version.cmp(&a.version.version))
    });
    Ok(found)
}

/// `rchart repo index DIR`: an index of the chart archives in `dir` and its immediate
/// subdirectories, written to `dir/index.yaml`.
pub struct IndexOptions<'a> {
    pub dir: &'a Path,
    /// The URL the directory will be served at; archives are listed relative otherwise.
    pub url: Option<&'a str>,
    /// An existing index whose entries are kept.
    pub merge: Option<&'a Path>,
    /// `SOURCE_DATE_EPOCH`, else now.
    pub now: String,
}

pub fn index(options: &IndexOptions<'_>) -> anyhow::Result<(PathBuf, usize)> {
    if !options.dir.is_dir() {
        bail!("{} is not a directory", options.dir.display());
    }
    let old = match options.merge {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--merge: cannot read {}", path.display()))?;
            Some(IndexFile::parse(&text, &path.display().to_string()).map_err(anyhow::Error::msg)?)
        }
        None => None,
    };
    let mut archives = Vec::new();
    collect_archives(options.dir, "", &mut archives)?;
    if let Ok(list) = std::fs::read_dir(options.dir) {
        let mut dirs: Vec<PathBuf> = list
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            let prefix = format!("{}/", dir.file_name().unwrap_or_default().to_string_lossy());
            collect_archives(&dir, &prefix, &mut archives)?;
        }
    }
    let mut index = IndexFile {
        generated: Some(options.now.clone()),
        ..IndexFile::default()
    };
    for (relative, path) in &archives {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let files = crate::chart::archive::read_archive(
            &path.display().to_string(),
            std::io::Cursor::new(&bytes),
        )?
        .files;
        let chart = crate::chart::Chart::from_files(files, &path.display().to_string())?;
        let digest = sha256_hex(&bytes);
        let url = match options.url {
            Some(base) => format!("{}/{relative}", base.trim_end_matches('/')),
            None => relative.clone(),
        };
        let mut entry =
            ChartVersion::for_archive(&chart.metadata, url, options.now.clone(), digest.clone());
        // An archive the old index already lists, unchanged, keeps its creation time
        if let Some(previous) = old.as_ref().and_then(|old| {
            old.entries
                .get(&entry.name)?
                .iter()
                .find(|v| v.version == entry.version && v.digest.as_deref() == Some(&digest))
        }) && let Some(created) = &previous.created
        {
            entry.set_created(created.clone());
        }
        if !index.add(entry) {
            bail!(
                "{} holds {} {}, which another archive in {} holds too",
                path.display(),
                escape_name(&chart.metadata.name),
                chart.metadata.version,
                options.dir.display()
            );
        }
    }
    if let Some(old) = old {
        for versions in old.entries.into_values() {
            for version in versions {
                index.add(version);
            }
        }
    }
    let out = options.dir.join("index.yaml");
    write_atomically(&out, index.to_yaml().as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    Ok((out, archives.len()))
}

fn collect_archives(
    dir: &Path,
    prefix: &str,
    out: &mut Vec<(String, PathBuf)>,
) -> anyhow::Result<()> {
    let list = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    let mut found: Vec<PathBuf> = list
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "tgz"))
        .collect();
    found.sort();
    for path in found {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        out.push((format!("{prefix}{name}"), path.clone()));
    }
    Ok(())
}

/// A chart named `REPO/CHART`.
pub struct RepoChart<'a> {
    pub repository: &'a str,
    pub chart: &'a str,
}

/// Reads `REPO/CHART` when `REPO` is an added repository and no local path of that name
/// exists.
pub fn parse_repo_chart<'a>(text: &'a str, paths: &RepoPaths) -> Option<RepoChart<'a>> {
    let (repository, chart) = text.split_once('/')?;
    if chart.is_empty() || chart.contains('/') || Path::new(text).exists() {
        return None;
    }
    let added = RepositoryFile::load(&paths.config).ok()?;
    added.get(repository)?;
    Some(RepoChart { repository, chart })
}

/// A chart fetched from a repository and checked.
pub struct Pulled {
    pub entry: ChartVersion,
    pub bytes: Vec<u8>,
    pub files: ChartFiles,
    pub url: String,
}

/// The repository `reference` names and the entry of the highest version of its chart
/// that `version` admits: from the cached index when there is one (as Helm does; `rchart
/// repo update` refreshes it), else a fresh one.
async fn find_chart(
    paths: &RepoPaths,
    reference: &RepoChart<'_>,
    version: Option<&str>,
) -> anyhow::Result<(Repository, Http, ChartVersion)> {
    let spec = VersionSpec::parse(version).map_err(|e| anyhow::anyhow!("--version: {e}"))?;
    let file = RepositoryFile::load(&paths.config)?;
    let repository = file
        .get(reference.repository)
        .ok_or_else(|| repo::RepoError::NotAdded(reference.repository.to_string()))?
        .clone();
    let http = Http::for_repository(&repository)?;
    let cached = paths.index(&repository.name);
    let index = match read_cached_index(&cached)? {
        Some(index) => index,
        None => {
            let fetched = repo::fetch_index(&http, &repository.url).await?;
            write_private(&cached, &fetched.bytes)?;
            fetched.index
        }
    };
    let entry = repo::pick(&index, &repository.name, reference.chart, &spec)?.clone();
    Ok((repository, http, entry))
}

/// Fetches `REPO/CHART` at the highest version `version` admits, checked.
pub async fn fetch_chart(
    paths: &RepoPaths,
    reference: &RepoChart<'_>,
    version: Option<&str>,
    report: &dyn Reporter,
) -> anyhow::Result<Pulled> {
    let (repository, http, entry) = find_chart(paths, reference, version).await?;
    report.info(&format!(
        "Downloading {}/{} {}",
        repository.name, entry.name, entry.version
    ));
    let downloaded = repo::download_chart(&http, &repository.url, &entry).await?;
    Ok(Pulled {
        entry,
        bytes: downloaded.bytes,
        files: downloaded.archive.files,
        url: downloaded.url,
    })
}

/// `rchart pull REPO/CHART`: writes `DIR/NAME-VERSION.tgz`, or with `untar` the chart's
/// files under `DIR/NAME/` (which must not exist yet).
pub async fn pull(
    paths: &RepoPaths,
    reference: &RepoChart<'_>,
    version: Option<&str>,
    destination: &Path,
    untar: bool,
    report: &dyn Reporter,
) -> anyhow::Result<PathBuf> {
    let pulled = fetch_chart(paths, reference, version, report).await?;
    std::fs::create_dir_all(destination)
        .with_context(|| format!("creating {}", destination.display()))?;
    if !untar {
        let path = destination.join(format!(
            "{}-{}.tgz",
            pulled.entry.name, pulled.entry.version
        ));
        write_atomically(&path, &pulled.bytes)
            .with_context(|| format!("writing {}", path.display()))?;
        return Ok(path);
    }
    let root = destination.join(&pulled.entry.name);
    if root.exists() {
        bail!(
            "{} already exists; remove it or pull into another directory with -d",
            root.display()
        );
    }
    // Unpacked next to the target first, then renamed: a failure leaves nothing behind
    let staging = tempfile::Builder::new()
        .prefix(".rchart-pull-")
        .tempdir_in(destination)
        .with_context(|| format!("writing in {}", destination.display()))?;
    for (path, contents) in pulled.files.iter() {
        let target = staging.path().join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, contents)
            .with_context(|| format!("writing {}", target.display()))?;
    }
    std::fs::rename(staging.path(), &root)
        .with_context(|| format!("writing {}", root.display()))?;
    let _ = staging.keep();
    Ok(root)
}

/// The chart for `template`, `install` and `upgrade` named `REPO/CHART`: downloaded into
/// the cache (`charts/REPO/NAME-VERSION.tgz`), where a copy whose sha256 the index still
/// gives is used as it is.
pub async fn cached_chart(
    paths: &RepoPaths,
    reference: &RepoChart<'_>,
    version: Option<&str>,
    report: &dyn Reporter,
) -> anyhow::Result<PathBuf> {
    let (repository, http, entry) = find_chart(paths, reference, version).await?;
    let path = paths
        .charts(&repository.name)
        .join(format!("{}-{}.tgz", entry.name, entry.version));
    let cached = std::fs::read(&path).ok().map(|bytes| sha256_hex(&bytes));
    if cached.is_some() && cached == entry.digest {
        return Ok(path);
    }
    report.info(&format!(
        "Downloading {}/{} {}",
        repository.name, entry.name, entry.version
    ));
    let downloaded = repo::download_chart(&http, &repository.url, &entry).await?;
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))
        .with_context(|| format!("creating the cache for {}", path.display()))?;
    write_atomically(&path, &downloaded.bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
