//! What a command uses when arguments are left out: the chart, the release name and the
//! environment. The rules are listed in `rchart --help` and docs/project.md.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::file::{Environment, Project, ProjectError};
use crate::chart::{CHART_FILE, Chart, ChartError};
use crate::values::ValueSource;

/// Where a command runs: its directory, and the project that directory belongs to.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub cwd: PathBuf,
    pub project: Option<Project>,
}

/// An environment a command acts in, and what chose it.
#[derive(Debug, Clone, Copy)]
pub struct Selection<'p> {
    pub environment: &'p Environment,
    pub by: SelectedBy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectedBy {
    /// `-e NAME`.
    Flag,
    /// Every `-f` file is one of its values files.
    ValuesFiles,
}

#[derive(Debug, thiserror::Error)]
pub enum DefaultsError {
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error(
        "no chart given, and none found: {}; name a chart directory or .tgz",
        .looked.join(", ")
    )]
    NoChart { looked: Vec<String> },
    #[error(
        "no release name given, and none found: {}; name the release",
        .looked.join(", ")
    )]
    NoName { looked: Vec<String> },
    #[error("-e {name}: no {} found in {searched}", super::PROJECT_FILE)]
    NoProject { name: String, searched: String },
    #[error("-e {name}: {file} has no environment \"{name}\" (it has: {known})")]
    UnknownEnvironment {
        name: String,
        file: String,
        known: String,
    },
    #[error(
        "the -f files belong to different environments ({described}); pass -e to pick one, or -n"
    )]
    MixedEnvironments { described: String },
    #[error("reading the chart to name the release after: {0}")]
    Chart(#[from] ChartError),
    #[error("\"{0}\" is not a revision number")]
    Revision(String),
    #[error(transparent)]
    Reference(#[from] crate::oci::reference::ReferenceError),
}

impl Workspace {
    /// The workspace of the current directory.
    pub fn current() -> Result<Self, DefaultsError> {
        let cwd = std::env::current_dir().map_err(|source| {
            DefaultsError::Project(ProjectError::Read {
                file: "the current directory".to_string(),
                source,
            })
        })?;
        Self::at(cwd)
    }

    pub fn at(cwd: PathBuf) -> Result<Self, DefaultsError> {
        let project = super::discover(&cwd)?;
        Ok(Self { cwd, project })
    }

    /// The chart a command works on: `explicit`; else the project's chart; else
    /// `./chart` when it holds a Chart.yaml; else `.` when it does.
    pub fn chart(&self, explicit: Option<&Path>) -> Result<PathBuf, DefaultsError> {
        if let Some(path) = explicit {
            return Ok(path.to_path_buf());
        }
        if let Some(chart) = self.project.as_ref().and_then(|p| p.chart.clone()) {
            return Ok(chart);
        }
        for candidate in ["chart", "."] {
            if self.cwd.join(candidate).join(CHART_FILE).is_file() {
                return Ok(PathBuf::from(candidate));
            }
        }
        Err(DefaultsError::NoChart {
            looked: self.chart_places(),
        })
    }

    fn chart_places(&self) -> Vec<String> {
        let project = match &self.project {
            Some(project) => format!("{} names no chart", project.file),
            None => format!(
                "no {} in {}",
                super::PROJECT_FILE,
                super::searched(&self.cwd)
            ),
        };
        vec![
            project,
            "no ./chart/Chart.yaml".to_string(),
            "no ./Chart.yaml".to_string(),
        ]
    }

    /// The release a command acts on: `explicit`; else the project's release, unless the
    /// command was given a chart other than the project's; else the name of the chart,
    /// `given_chart` or the default one.
    pub fn release_name(
        &self,
        explicit: Option<&str>,
        given_chart: Option<&Path>,
    ) -> Result<String, DefaultsError> {
        if let Some(name) = explicit.or_else(|| self.project_release(given_chart)) {
            return Ok(name.to_string());
        }
        let chart = self.chart(given_chart).map_err(|_| DefaultsError::NoName {
            looked: vec![
                match &self.project {
                    Some(project) => format!("{} names no release", project.file),
                    None => format!(
                        "no {} in {}",
                        super::PROJECT_FILE,
                        super::searched(&self.cwd)
                    ),
                },
                "no chart to take the name of".to_string(),
            ],
        })?;
        // An oci:// chart is named after its repository, as `rchart push` names it, so
        // finding the name costs no request.
        let text = chart.to_string_lossy();
        if crate::oci::Reference::is_oci(&text) {
            return Ok(crate::oci::Reference::parse(&text)?.name().to_string());
        }
        Ok(Chart::load(&self.cwd.join(chart))?.metadata.name)
    }

    /// The project's release, unless the command was given a chart other than the
    /// project's.
    pub fn project_release(&self, given_chart: Option<&Path>) -> Option<&str> {
        let release = self.project.as_ref()?.release.as_deref()?;
        given_chart
            .is_none_or(|chart| self.is_project_chart(chart))
            .then_some(release)
    }

    fn is_project_chart(&self, chart: &Path) -> bool {
        let Some(project_chart) = self.project.as_ref().and_then(|p| p.chart.as_ref()) else {
            return false;
        };
        let resolve = |path: &Path| self.cwd.join(path).canonicalize().ok();
        resolve(chart).is_some_and(|chart| resolve(project_chart) == Some(chart))
    }

    /// The environment a command acts in: the one `-e` names; else, unless `-n` was given,
    /// the one every `-f` file belongs to. Files of different environments without `-n`
    /// are an error: no namespace would be right for both.
    pub fn environment(
        &self,
        flag: Option<&str>,
        files: &[PathBuf],
        explicit_namespace: bool,
    ) -> Result<Option<Selection<'_>>, DefaultsError> {
        if let Some(name) = flag {
            let Some(project) = &self.project else {
                return Err(DefaultsError::NoProject {
                    name: name.to_string(),
                    searched: super::searched(&self.cwd),
                });
            };
            let environment = project
                .environments
                .iter()
                .find(|e| e.name == name)
                .ok_or_else(|| DefaultsError::UnknownEnvironment {
                    name: name.to_string(),
                    file: project.file.clone(),
                    known: environment_names(project),
                })?;
            return Ok(Some(Selection {
                environment,
                by: SelectedBy::Flag,
            }));
        }
        let Some(project) = &self.project else {
            return Ok(None);
        };
        if files.is_empty() {
            return Ok(None);
        }
        let owners: Vec<Option<&Environment>> =
            files.iter().map(|file| self.owner(project, file)).collect();
        let names: BTreeSet<&str> = owners.iter().flatten().map(|o| o.name.as_str()).collect();
        match owners.first() {
            Some(Some(environment)) if names.len() == 1 && owners.iter().all(Option::is_some) => {
                Ok(Some(Selection {
                    environment,
                    by: SelectedBy::ValuesFiles,
                }))
            }
            _ if names.len() > 1 && !explicit_namespace => {
                let described: Vec<String> = files
                    .iter()
                    .zip(&owners)
                    .filter_map(|(file, owner)| {
                        owner.map(|o| format!("-f {} is {}'s", file.display(), o.name))
                    })
                    .collect();
                Err(DefaultsError::MixedEnvironments {
                    described: described.join(", "),
                })
            }
            _ => Ok(None),
        }
    }

    /// The environment that lists `file` among its values files.
    fn owner<'p>(&self, project: &'p Project, file: &Path) -> Option<&'p Environment> {
        let canonical = self.cwd.join(file).canonicalize().ok()?;
        project
            .environments
            .iter()
            .find(|e| e.values.iter().any(|v| v.canonical == canonical))
    }
}

fn environment_names(project: &Project) -> String {
    if project.environments.is_empty() {
        return "none".to_string();
    }
    project
        .environments
        .iter()
        .map(|e| e.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Selection<'_> {
    /// The values a command renders with: the environment's files first (those not also
    /// given with `-f`), then `sources` as given.
    pub fn values_sources(&self, cwd: &Path, sources: &[ValueSource]) -> Vec<ValueSource> {
        let given: Vec<PathBuf> = sources
            .iter()
            .filter_map(|source| match source {
                ValueSource::File(path) => cwd.join(path).canonicalize().ok(),
                _ => None,
            })
            .collect();
        self.environment
            .values
            .iter()
            .filter(|file| !given.contains(&file.canonical))
            .map(|file| ValueSource::File(file.path.clone()))
            .chain(sources.iter().cloned())
            .collect()
    }
}

/// `[NAME] [CHART]` as typed. A lone argument is the CHART when a chart is there (a
/// directory with a Chart.yaml, or a file) or when it is a path (it has a `/` or a `.`,
/// which release names never have); otherwise it is the NAME, checked as one later.
pub fn name_or_chart(
    first: Option<String>,
    second: Option<PathBuf>,
) -> (Option<String>, Option<PathBuf>) {
    match (first, second) {
        (Some(lone), None) if is_chart_argument(&lone) => (None, Some(PathBuf::from(lone))),
        (first, second) => (first, second),
    }
}

fn is_chart_argument(text: &str) -> bool {
    let path = Path::new(text);
    text.contains(['/', '.']) || path.join(CHART_FILE).is_file() || path.is_file()
}

/// `[NAME] [REVISION]` as typed. A lone all-digit argument is a REVISION: release names
/// are never all digits.
pub fn name_or_revision(
    first: Option<String>,
    second: Option<u64>,
) -> Result<(Option<String>, Option<u64>), DefaultsError> {
    match (first, second) {
        (Some(lone), None) if !lone.is_empty() && lone.chars().all(|c| c.is_ascii_digit()) => {
            let revision = lone.parse().map_err(|_| DefaultsError::Revision(lone))?;
            Ok((None, Some(revision)))
        }
        (first, second) => Ok((first, second)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository laid out like this one: rchart.yaml, chart/, values/.
    fn repository() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join("chart")).unwrap();
        std::fs::create_dir_all(root.join("values")).unwrap();
        std::fs::write(
            root.join("chart/Chart.yaml"),
            "apiVersion: v2\nname: multiroute\nversion: 0.1.0\n",
        )
        .unwrap();
        for env in ["dev", "prod", "common"] {
            std::fs::write(root.join(format!("values/{env}.yaml")), "").unwrap();
        }
        std::fs::write(
            root.join("rchart.yaml"),
            "release: web\nchart: chart\nenvironments:\n  dev: { namespace: backend-dev, values: [values/dev.yaml] }\n  prod: { namespace: backend, values: [values/common.yaml, values/prod.yaml] }\n",
        )
        .unwrap();
        dir
    }

    fn files(paths: &[&str]) -> Vec<PathBuf> {
        paths.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn the_chart_comes_from_the_project_then_the_directory() {
        let repo = repository();
        let workspace = Workspace::at(repo.path().to_path_buf()).unwrap();
        assert_eq!(workspace.chart(None).unwrap(), repo.path().join("chart"));
        assert_eq!(
            workspace.chart(Some(Path::new("x"))).unwrap(),
            PathBuf::from("x")
        );

        std::fs::remove_file(repo.path().join("rchart.yaml")).unwrap();
        let workspace = Workspace::at(repo.path().to_path_buf()).unwrap();
        assert_eq!(workspace.chart(None).unwrap(), PathBuf::from("chart"));
        let inside = Workspace::at(repo.path().join("chart")).unwrap();
        assert_eq!(inside.chart(None).unwrap(), PathBuf::from("."));
        let nowhere = Workspace::at(repo.path().join("values")).unwrap();
        let error = nowhere.chart(None).unwrap_err().to_string();
        assert!(
            error.starts_with("no chart given, and none found: no rchart.yaml in")
                && error.contains("no ./chart/Chart.yaml, no ./Chart.yaml"),
            "{error}"
        );
    }

    #[test]
    fn the_name_comes_from_the_project_for_its_own_chart_else_from_the_chart() {
        let repo = repository();
        let workspace = Workspace::at(repo.path().to_path_buf()).unwrap();
        assert_eq!(workspace.release_name(None, None).unwrap(), "web");
        assert_eq!(
            workspace
                .release_name(None, Some(Path::new("./chart")))
                .unwrap(),
            "web"
        );
        assert_eq!(workspace.release_name(Some("api"), None).unwrap(), "api");

        std::fs::write(repo.path().join("rchart.yaml"), "chart: chart\n").unwrap();
        let workspace = Workspace::at(repo.path().to_path_buf()).unwrap();
        assert_eq!(workspace.release_name(None, None).unwrap(), "multiroute");

        // A release without a chart in the project: the default chart is the project's.
        std::fs::write(repo.path().join("rchart.yaml"), "release: web\n").unwrap();
        let workspace = Workspace::at(repo.path().to_path_buf()).unwrap();
        assert_eq!(workspace.release_name(None, None).unwrap(), "web");
    }

    #[test]
    fn environments_come_from_the_flag_or_from_the_values_files() {
        let repo = repository();
        let workspace = Workspace::at(repo.path().to_path_buf()).unwrap();
        let pick = |flag: Option<&str>, paths: &[&str], explicit: bool| {
            workspace
                .environment(flag, &files(paths), explicit)
                .map(|selection| selection.map(|s| (s.environment.name.clone(), s.by)))
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            pick(Some("dev"), &[], false),
            Ok(Some(("dev".to_string(), SelectedBy::Flag)))
        );
        assert_eq!(
            pick(None, &["values/prod.yaml"], false),
            Ok(Some(("prod".to_string(), SelectedBy::ValuesFiles)))
        );
        assert_eq!(
            pick(None, &["values/common.yaml", "./values/prod.yaml"], false),
            Ok(Some(("prod".to_string(), SelectedBy::ValuesFiles)))
        );
        assert_eq!(pick(None, &[], false), Ok(None));
        assert_eq!(
            pick(None, &["values/prod.yaml", "other.yaml"], false),
            Ok(None)
        );
        let mixed = pick(None, &["values/dev.yaml", "values/prod.yaml"], false).unwrap_err();
        assert!(
            mixed.contains("-f values/dev.yaml is dev's, -f values/prod.yaml is prod's"),
            "{mixed}"
        );
        assert_eq!(
            pick(None, &["values/dev.yaml", "values/prod.yaml"], true),
            Ok(None)
        );
        let unknown = pick(Some("qa"), &[], false).unwrap_err();
        assert_eq!(
            unknown,
            "-e qa: rchart.yaml has no environment \"qa\" (it has: dev, prod)"
        );
    }

    #[test]
    fn environment_values_come_first_and_once() {
        let repo = repository();
        let workspace = Workspace::at(repo.path().to_path_buf()).unwrap();
        let selection = workspace
            .environment(Some("prod"), &[], false)
            .unwrap()
            .unwrap();
        let sources = selection.values_sources(
            &workspace.cwd,
            &[
                ValueSource::File("values/prod.yaml".into()),
                ValueSource::Set("a=1".into()),
            ],
        );
        assert_eq!(
            sources,
            [
                ValueSource::File(repo.path().join("values/common.yaml")),
                ValueSource::File("values/prod.yaml".into()),
                ValueSource::Set("a=1".into()),
            ]
        );
    }

    #[test]
    fn a_lone_argument_is_a_chart_a_name_or_a_revision() {
        let repo = repository();
        let chart = repo.path().join("chart").display().to_string();
        assert_eq!(
            name_or_chart(Some(chart.clone()), None),
            (None, Some(PathBuf::from(&chart)))
        );
        assert_eq!(
            name_or_chart(Some("./web".into()), None),
            (None, Some(PathBuf::from("./web")))
        );
        assert_eq!(
            name_or_chart(Some("web".into()), None),
            (Some("web".into()), None)
        );
        // Not a name either, but not a path: the name check says why.
        assert_eq!(
            name_or_chart(Some("123".into()), None),
            (Some("123".into()), None)
        );
        assert_eq!(
            name_or_chart(Some("web".into()), Some("c".into())),
            (Some("web".into()), Some(PathBuf::from("c")))
        );
        assert_eq!(
            name_or_revision(Some("2".into()), None).unwrap(),
            (None, Some(2))
        );
        assert_eq!(
            name_or_revision(Some("web".into()), None).unwrap(),
            (Some("web".into()), None)
        );
        assert_eq!(
            name_or_revision(Some("web".into()), Some(3)).unwrap(),
            (Some("web".into()), Some(3))
        );
        assert!(name_or_revision(Some("99999999999999999999999".into()), None).is_err());
    }
}
