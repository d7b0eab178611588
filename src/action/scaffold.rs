//! `rchart create`: a minimal chart that works as it is (Deployment + Service) and shows
//! the conventions: labels from one partial, pinned images, resources and probes.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

const FILES: &[(&str, &str)] = &[
    ("Chart.yaml", include_str!("scaffold/Chart.yaml")),
    ("values.yaml", include_str!("scaffold/values.yaml")),
    (
        "values.schema.json",
        include_str!("scaffold/values.schema.json"),
    ),
    (".rchartignore", include_str!("scaffold/rchartignore")),
    (
        "templates/_helpers.tpl",
        include_str!("scaffold/templates/_helpers.tpl"),
    ),
    (
        "templates/_labels.tpl",
        include_str!("scaffold/templates/_labels.tpl"),
    ),
    (
        "templates/deployment.yaml",
        include_str!("scaffold/templates/deployment.yaml"),
    ),
    (
        "templates/service.yaml",
        include_str!("scaffold/templates/service.yaml"),
    ),
    (
        "templates/NOTES.txt",
        include_str!("scaffold/templates/NOTES.txt"),
    ),
];

/// Creates the chart directory `name` under `parent`. Refuses to touch an existing path.
pub fn create(parent: &Path, name: &str) -> anyhow::Result<PathBuf> {
    if let Err(problem) = crate::chart::metadata::check_name(name) {
        bail!("chart name {problem}");
    }
    let root = parent.join(name);
    if root.exists() {
        bail!(
            "{} already exists; choose another name or remove it",
            root.display()
        );
    }
    // Build in a sibling temporary directory, then rename: no half-created chart on error.
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}-"))
        .tempdir_in(parent)
        .with_context(|| format!("creating a directory in {}", parent.display()))?;
    for (path, content) in FILES {
        let target = staging.path().join(path);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&target, content.replace("CHART_NAME", name))
            .with_context(|| format!("writing {}", target.display()))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, &root).with_context(|| format!("creating {}", root.display()))?;
    Ok(root)
}
