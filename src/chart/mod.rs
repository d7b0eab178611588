//! Charts: a directory or packaged `.tgz` holding `Chart.yaml`, `values.yaml`, an optional
//! `values.schema.json`, Tera templates under `templates/`, and the charts it depends on
//! under `charts/` (see [`subcharts`]).

pub mod archive;
pub mod dependency;
pub mod escape;
pub mod files;
pub mod ignore;
pub mod kube_version;
pub mod lock;
pub mod metadata;
pub mod package;
pub mod subcharts;
pub mod tree;
pub mod versions;

use std::path::Path;
use std::sync::Arc;

use crate::values::{Values, ValuesSchema, parse_values};

use escape::escape_name;

pub use dependency::Dependency;
pub use files::ChartFiles;
pub use metadata::{ChartType, Metadata};
pub use subcharts::{DependencyError, Subchart};

pub const CHART_FILE: &str = "Chart.yaml";
pub const VALUES_FILE: &str = "values.yaml";
pub const SCHEMA_FILE: &str = "values.schema.json";
pub const TEMPLATES_DIR: &str = "templates/";
pub const NOTES_FILE: &str = "templates/NOTES.txt";
pub const CHARTS_DIR: &str = "charts/";
pub const LOCK_FILE: &str = "Chart.lock";

/// A loaded, checked chart.
pub struct Chart {
    pub metadata: Metadata,
    /// Every file of the chart, as it would be packaged.
    pub files: ChartFiles,
    /// The defaults from `values.yaml`.
    pub default_values: Values,
    /// `values.schema.json`, when present.
    pub schema: Option<ValuesSchema>,
    /// Problems worth telling the user that do not stop anything.
    pub warnings: Vec<String>,
    /// The charts found under `charts/`, archives and directories, in path order.
    pub subcharts: Vec<Subchart>,
    templates: Vec<Template>,
}

/// One file under `templates/`.
#[derive(Debug, Clone)]
pub struct Template {
    /// Chart-relative path, e.g. `templates/deployment.yaml`.
    pub path: String,
    pub source: String,
}

impl Template {
    /// Partials (`_helpers.tpl`, `_labels.yaml`) hold components and snippets for other
    /// templates; they are never emitted as manifests.
    pub fn is_partial(&self) -> bool {
        let file_name = self.path.rsplit('/').next().unwrap_or_default();
        file_name.starts_with('_')
    }

    pub fn is_notes(&self) -> bool {
        self.path == NOTES_FILE
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("chart \"{}\" not found", escape_name(.0))]
    NotFound(String),
    #[error(transparent)]
    Files(#[from] files::FilesError),
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
    #[error(
        "chart {}: no Chart.yaml (is this a chart directory?)",
        escape_name(chart)
    )]
    NoChartFile { chart: String },
    #[error("chart {}: {problem}", escape_name(chart))]
    Metadata {
        chart: String,
        problem: metadata::MetadataError,
    },
    #[error(
        "chart {}: {} is not UTF-8 text",
        escape_name(chart),
        escape_name(file)
    )]
    NotText { chart: String, file: String },
    #[error("chart {}: {problem}", escape_name(chart))]
    Values {
        chart: String,
        problem: crate::values::ValuesError,
    },
    #[error("chart {}: {problem}", escape_name(chart))]
    Subcharts {
        chart: String,
        problem: subcharts::LoadProblem,
    },
}

impl Chart {
    /// Loads a chart from a directory or a `.tgz` archive.
    pub fn load(path: &Path) -> Result<Self, ChartError> {
        let (files, shown) = Self::read_files(path)?;
        Self::from_files(files, &shown)
    }

    /// Loads a chart alone, leaving what `charts/` holds unread: for the commands that
    /// manage `charts/` itself.
    pub fn load_without_subcharts(path: &Path) -> Result<Self, ChartError> {
        let (files, shown) = Self::read_files(path)?;
        Self::from_own_files(files, &shown)
    }

    fn read_files(path: &Path) -> Result<(ChartFiles, String), ChartError> {
        let shown = path.display().to_string();
        if !path.exists() {
            return Err(ChartError::NotFound(shown));
        }
        let files = if path.is_dir() {
            ChartFiles::from_dir(path)?
        } else {
            ChartFiles::from_archive(path)?.files
        };
        Ok((files, shown))
    }

    /// Builds a chart from its files, with the charts under `charts/`; `origin` names it
    /// in errors.
    pub fn from_files(files: ChartFiles, origin: &str) -> Result<Self, ChartError> {
        let mut budget = subcharts::Budget::for_root(&files);
        Self::from_files_within(files, origin, &mut budget, 0)
    }

    fn from_files_within(
        files: ChartFiles,
        origin: &str,
        budget: &mut subcharts::Budget,
        depth: usize,
    ) -> Result<Self, ChartError> {
        let mut chart = Self::from_own_files(files, origin)?;
        chart.subcharts = subcharts::load(&chart.files, origin, budget, depth)?;
        Ok(chart)
    }

    /// Builds a chart from its files, without reading `charts/`.
    fn from_own_files(files: ChartFiles, origin: &str) -> Result<Self, ChartError> {
        let chart = origin.to_string();
        let text =
            |file: &str| -> Result<Option<String>, ChartError> {
                match files.get(file) {
                    None => Ok(None),
                    Some(bytes) => String::from_utf8(bytes.to_vec()).map(Some).map_err(|_| {
                        ChartError::NotText {
                            chart: chart.clone(),
                            file: file.to_string(),
                        }
                    }),
                }
            };
        let chart_yaml = text(CHART_FILE)?.ok_or_else(|| ChartError::NoChartFile {
            chart: chart.clone(),
        })?;
        let parsed = Metadata::parse(&chart_yaml).map_err(|problem| ChartError::Metadata {
            chart: chart.clone(),
            problem,
        })?;

        let values_error = |problem| ChartError::Values {
            chart: chart.clone(),
            problem,
        };
        let default_values = match text(VALUES_FILE)? {
            Some(values_text) => {
                parse_values(&values_text, Path::new(VALUES_FILE)).map_err(values_error)?
            }
            None => Values::new(),
        };
        let schema = match text(SCHEMA_FILE)? {
            Some(schema_text) => Some(
                ValuesSchema::parse(&schema_text, Path::new(SCHEMA_FILE)).map_err(values_error)?,
            ),
            None => None,
        };
        let templates = files
            .paths_under(TEMPLATES_DIR)
            .map(|(path, _)| {
                let source = text(path)?.unwrap_or_default();
                Ok(Template {
                    path: path.to_string(),
                    source,
                })
            })
            .collect::<Result<Vec<_>, ChartError>>()?;

        Ok(Self {
            metadata: parsed.metadata,
            files,
            default_values,
            schema,
            warnings: parsed.warnings,
            subcharts: Vec::new(),
            templates,
        })
    }

    /// Every template, partials and NOTES.txt included, sorted by path.
    pub fn templates(&self) -> impl Iterator<Item = &Template> {
        self.templates.iter()
    }

    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    pub fn is_library(&self) -> bool {
        self.metadata.chart_type == ChartType::Library
    }
}

/// A shared, loaded subchart: one chart may serve two dependencies under two aliases.
pub type SharedChart = Arc<Chart>;
