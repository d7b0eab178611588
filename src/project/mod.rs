//! Projects: a repository that keeps a chart and its per-environment values together,
//! described by an `rchart.yaml` at its root (docs/project.md). The project file gives
//! commands their defaults, so that from the repository root `rchart install -f
//! values/prod.yaml` knows the release, the chart and the namespace.
//!
//! Everything here is offline: which file, which chart, which name, which environment.
//! Finding a release among the environments' namespaces needs the cluster, and is
//! `action::target`'s decision.

mod defaults;
mod file;
mod node;

use std::path::{Path, PathBuf};

pub use defaults::{
    DefaultsError, SelectedBy, Selection, Workspace, name_or_chart, name_or_revision,
};
pub use file::{Environment, Project, ProjectError, ValuesFile, load, parse};

/// The project file's name.
pub const PROJECT_FILE: &str = "rchart.yaml";

/// The project file for a command run in `cwd`: `cwd/rchart.yaml`, else the nearest
/// parent's, looking no further up than the first directory that holds `.git` (the root
/// of the repository) or `/`.
pub fn find(cwd: &Path) -> Option<PathBuf> {
    search_path(cwd)
        .into_iter()
        .map(|dir| dir.join(PROJECT_FILE))
        .find(|candidate| candidate.is_file())
}

/// The directories [`find`] looks in, nearest first.
fn search_path(cwd: &Path) -> Vec<&Path> {
    let mut dirs = Vec::new();
    for dir in cwd.ancestors() {
        dirs.push(dir);
        if dir.join(".git").exists() {
            break;
        }
    }
    dirs
}

/// Where [`find`] looked, for messages: `/repo/app and its parents up to /repo`.
pub fn searched(cwd: &Path) -> String {
    let dirs = search_path(cwd);
    match dirs.as_slice() {
        [] => cwd.display().to_string(),
        [only] => only.display().to_string(),
        [first, .., last] => format!(
            "{} and its parents up to {}",
            first.display(),
            last.display()
        ),
    }
}

/// Finds and reads the project file of `cwd`, if there is one.
pub fn discover(cwd: &Path) -> Result<Option<Project>, ProjectError> {
    let Some(path) = find(cwd) else {
        return Ok(None);
    };
    let dir = path.parent().unwrap_or(cwd).to_path_buf();
    // Named as the user would type it from here: `rchart.yaml`, `../rchart.yaml`.
    let shown = match path.strip_prefix(cwd) {
        Ok(relative) => relative.display().to_string(),
        Err(_) => path.display().to_string(),
    };
    load(&path, &shown, &dir).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/rchart.schema.json, for editors, agrees with the reader on what it can tell.
    #[test]
    fn the_published_schema_accepts_the_repositorys_project_file() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../docs/rchart.schema.json")).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let read = |text: &str| -> serde_json::Value { crate::yaml::from_str(text).unwrap() };
        assert!(validator.is_valid(&read(include_str!("../../rchart.yaml"))));
        assert!(validator.is_valid(&read("release: web-2\nenvironments:\n")));
        for bad in [
            "release: \"123\"\n",
            "releases: web\n",
            "environments:\n  dev: { values: [a.yaml] }\n",
            "environments:\n  dev: { namespace: d, kubecontext: x }\n",
            "environments:\n  dev: { namespace: Backend }\n",
            "environments:\n  dev: { namespace: d, values: a.yaml }\n",
        ] {
            assert!(!validator.is_valid(&read(bad)), "{bad}");
        }
    }

    #[test]
    fn the_search_stops_at_the_repository_root() {
        let root = tempfile::tempdir().unwrap();
        let repo = root.path().join("repo");
        let app = repo.join("services/app");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        // Above the repository: never read.
        std::fs::write(root.path().join(PROJECT_FILE), "release: outside\n").unwrap();
        assert_eq!(find(&app), None);
        assert!(searched(&app).ends_with(&format!("up to {}", repo.display())));

        std::fs::write(repo.join(PROJECT_FILE), "release: web\n").unwrap();
        assert_eq!(find(&app), Some(repo.join(PROJECT_FILE)));
        let project = discover(&app).unwrap().unwrap();
        assert_eq!(project.release.as_deref(), Some("web"));
        assert_eq!(project.dir, repo);
        assert_eq!(project.file, repo.join(PROJECT_FILE).display().to_string());
        assert_eq!(discover(&repo).unwrap().unwrap().file, PROJECT_FILE);

        // A worktree or submodule has a .git file rather than a directory: also a root.
        std::fs::remove_dir(repo.join(".git")).unwrap();
        std::fs::write(app.join(".git"), "gitdir: elsewhere\n").unwrap();
        assert_eq!(find(&app), None);
    }
}
