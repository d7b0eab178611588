//! The charts a chart carries under `charts/`, and which dependency each one serves.
//!
//! What `charts/` may hold, as in Helm:
//! - `NAME-VERSION.tgz`: a packaged chart, read with the archive rules of
//!   [`super::archive`];
//! - `NAME/`: an unpacked chart directory;
//! - names starting with `_` or `.`, and `*.prov` provenance files, which are skipped.
//!
//! Anything else is an error naming the file. Archives inside archives are read in
//! memory, never unpacked to disk, and share one budget: a chart and every chart below
//! it together decompress to at most [`MAX_CHART_SIZE`], and charts nest at most
//! [`MAX_DEPTH`] levels deep, so an archive of archives cannot multiply its size.
//!
//! [`Chart::dependency_charts`] then matches `Chart.yaml`'s `dependencies:` to what was
//! found: by chart name, then by version range; an alias renames the chart it matched.
//! A chart in `charts/` that no dependency names is used under its own name, as Helm does.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::Arc;

use super::archive::{ArchiveError, read_archive_within};
use super::dependency::Dependency;
use super::escape::escape_name;
use super::files::{ChartFiles, MAX_CHART_SIZE, format_size};
use super::{CHARTS_DIR, Chart, ChartError, SharedChart};

/// How deep charts may nest below the chart being loaded.
pub const MAX_DEPTH: usize = 10;

/// One chart found under `charts/`.
#[derive(Clone)]
pub struct Subchart {
    /// Where it was found, relative to the parent: `charts/redis-17.0.0.tgz`, `charts/common`.
    pub path: String,
    pub chart: SharedChart,
}

/// Decompressed bytes left for the archives of one tree of charts.
pub(super) struct Budget {
    left: u64,
}

impl Budget {
    pub(super) fn for_root(files: &ChartFiles) -> Self {
        Self {
            left: MAX_CHART_SIZE.saturating_sub(files.total_size()),
        }
    }
}

/// Why `charts/` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadProblem {
    #[error(
        "{} is neither a chart archive (.tgz) nor a chart directory; move it out of charts/, or start its name with _ to have it skipped",
        escape_name(.0)
    )]
    NotAChart(String),
    #[error("{} nests charts more than {MAX_DEPTH} levels deep", escape_name(.0))]
    TooDeep(String),
    #[error(
        "{}: the chart and its dependencies decompress to more than {} together",
        escape_name(.0),
        format_size(MAX_CHART_SIZE)
    )]
    TooLarge(String),
}

/// Loads every chart under `charts/` of a chart whose files are `files`.
pub(super) fn load(
    files: &ChartFiles,
    origin: &str,
    budget: &mut Budget,
    depth: usize,
) -> Result<Vec<Subchart>, ChartError> {
    let problem = |problem| ChartError::Subcharts {
        chart: origin.to_string(),
        problem,
    };
    let mut archives: Vec<(&str, &[u8])> = Vec::new();
    let mut dirs: BTreeMap<&str, ChartFiles> = BTreeMap::new();
    for (path, contents) in files.paths_under(CHARTS_DIR) {
        let inside = &path[CHARTS_DIR.len()..];
        let (first, rest) = match inside.split_once('/') {
            Some((dir, rest)) => (dir, Some(rest)),
            None => (inside, None),
        };
        if first.starts_with(['_', '.']) {
            continue;
        }
        match rest {
            Some(rest) => {
                let dir = dirs.entry(first).or_default();
                // The paths come from a valid ChartFiles, so every suffix is valid too
                let _ = dir.insert(rest, contents);
            }
            None if first.ends_with(".tgz") => archives.push((path, contents)),
            None if first.ends_with(".prov") => {}
            None => return Err(problem(LoadProblem::NotAChart(path.to_string()))),
        }
    }
    if (!archives.is_empty() || !dirs.is_empty()) && depth >= MAX_DEPTH {
        return Err(problem(LoadProblem::TooDeep(origin.to_string())));
    }

    let mut subcharts = Vec::with_capacity(archives.len() + dirs.len());
    for (path, contents) in archives {
        let shown = format!("{origin}/{path}");
        let archive = match read_archive_within(&shown, Cursor::new(contents), budget.left) {
            Ok(archive) => archive,
            Err(ArchiveError::TooLarge { limit, .. }) if limit < MAX_CHART_SIZE => {
                return Err(problem(LoadProblem::TooLarge(path.to_string())));
            }
            Err(error) => return Err(error.into()),
        };
        budget.left = budget.left.saturating_sub(archive.files.total_size());
        let chart = Chart::from_files_within(archive.files, &shown, budget, depth + 1)?;
        subcharts.push(Subchart {
            path: path.to_string(),
            chart: Arc::new(chart),
        });
    }
    for (dir, dir_files) in dirs {
        let path = format!("{CHARTS_DIR}{dir}");
        let shown = format!("{origin}/{path}");
        let chart = Chart::from_files_within(dir_files, &shown, budget, depth + 1)?;
        subcharts.push(Subchart {
            path,
            chart: Arc::new(chart),
        });
    }
    subcharts.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(subcharts)
}

/// A subchart as the parent uses it.
#[derive(Clone)]
pub struct UsedSubchart<'a> {
    /// The name it renders under and reads its values from: the alias, else its name.
    pub key: String,
    /// The `dependencies:` entry it serves, if any lists it.
    pub dependency: Option<&'a Dependency>,
    pub found: &'a Subchart,
}

/// A dependency that `charts/` does not satisfy.
#[derive(Debug, thiserror::Error)]
pub enum DependencyError {
    #[error(
        "dependency \"{}\" of chart \"{}\" is missing from charts/; run `rchart dependency build` (or `update`) on the chart",
        escape_name(dependency),
        escape_name(chart)
    )]
    Missing { chart: String, dependency: String },
    #[error(
        "dependency \"{}\" of chart \"{}\" is missing from charts/: {} is there, but .rchartignore leaves it out (anchor a pattern for packages to the chart root: /*.tgz)",
        escape_name(dependency),
        escape_name(chart),
        escape_name(archive)
    )]
    Ignored {
        chart: String,
        dependency: String,
        archive: String,
    },
    #[error(
        "dependency \"{}\" of chart \"{}\" asks for version {wanted}, but charts/ holds {found}; run `rchart dependency update` on the chart",
        escape_name(dependency),
        escape_name(chart)
    )]
    WrongVersion {
        chart: String,
        dependency: String,
        wanted: String,
        found: String,
    },
    #[error(
        "chart \"{}\" holds two charts named \"{}\" in charts/ ({first} and {second}) and no dependency says which to use",
        escape_name(chart),
        escape_name(name)
    )]
    Ambiguous {
        chart: String,
        name: String,
        first: String,
        second: String,
    },
    #[error(
        "chart \"{}\": {path} would render as \"{}\", a name dependency \"{}\" already has",
        escape_name(chart),
        escape_name(key),
        escape_name(dependency)
    )]
    NameTaken {
        chart: String,
        path: String,
        key: String,
        dependency: String,
    },
}

impl Chart {
    /// The subcharts this chart renders with, in `dependencies:` order, then the charts
    /// no dependency lists, in path order.
    pub fn dependency_charts(&self) -> Result<Vec<UsedSubchart<'_>>, DependencyError> {
        let mut used = Vec::with_capacity(self.subcharts.len());
        for dependency in &self.metadata.dependencies {
            used.push(UsedSubchart {
                key: dependency.key().to_string(),
                dependency: Some(dependency),
                found: self.find_dependency(dependency)?,
            });
        }
        let mut unlisted: Vec<UsedSubchart<'_>> = Vec::new();
        for found in &self.subcharts {
            let name = found.chart.name();
            if self.metadata.dependencies.iter().any(|d| d.name == name) {
                continue;
            }
            if let Some(earlier) = unlisted.iter().find(|u| u.key == name) {
                return Err(DependencyError::Ambiguous {
                    chart: self.name().to_string(),
                    name: name.to_string(),
                    first: earlier.found.path.clone(),
                    second: found.path.clone(),
                });
            }
            if let Some(dependency) = self.metadata.dependencies.iter().find(|d| d.key() == name) {
                return Err(DependencyError::NameTaken {
                    chart: self.name().to_string(),
                    path: found.path.clone(),
                    key: name.to_string(),
                    dependency: dependency.name.clone(),
                });
            }
            unlisted.push(UsedSubchart {
                key: name.to_string(),
                dependency: None,
                found,
            });
        }
        used.extend(unlisted);
        Ok(used)
    }

    /// The subchart in `charts/` that satisfies `dependency`: the highest version in
    /// range among those of its name.
    pub fn find_dependency(&self, dependency: &Dependency) -> Result<&Subchart, DependencyError> {
        let named: Vec<&Subchart> = self
            .subcharts
            .iter()
            .filter(|s| s.chart.name() == dependency.name)
            .collect();
        if named.is_empty() {
            // `NAME-VERSION.tgz`, as `dependency build` writes it.
            let ignored = self.files.ignored_archives().iter().find(|archive| {
                let file = archive.strip_prefix(CHARTS_DIR).unwrap_or(archive);
                file.strip_prefix(dependency.name.as_str())
                    .is_some_and(|rest| rest.starts_with('-'))
            });
            let (chart, dependency) = (self.name().to_string(), dependency.key().to_string());
            return Err(match ignored {
                Some(archive) => DependencyError::Ignored {
                    chart,
                    dependency,
                    archive: archive.clone(),
                },
                None => DependencyError::Missing { chart, dependency },
            });
        }
        let spec = dependency.version_spec();
        named
            .iter()
            .filter(|s| spec.matches(&s.chart.metadata.version))
            .max_by(|a, b| a.chart.metadata.version.cmp(&b.chart.metadata.version))
            .copied()
            .ok_or_else(|| DependencyError::WrongVersion {
                chart: self.name().to_string(),
                dependency: dependency.key().to_string(),
                wanted: spec.to_string(),
                found: named
                    .iter()
                    .map(|s| format!("{} ({})", s.chart.metadata.version, s.path))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}
