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

/// Creates the chart at `path`, named after its last part, as `helm create` does:
/// `path/to/shop` is the chart "shop" in `path/to/shop`. Missing parents are created.
/// Refuses to touch an existing path. With `project`, also writes a project file and its
/// values files next to the chart (see [`project_files`]); nothing is written unless
/// every file can be.
pub fn create(path: &Path, project: bool) -> anyhow::Result<Created> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        bail!(
            "{}: name the directory to create, e.g. charts/shop",
            path.display()
        );
    };
    if let Err(problem) = crate::chart::metadata::check_name(name) {
        bail!("chart name {problem}");
    }
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let root = parent.join(name);
    let extra = if project {
        project_files(name)
    } else {
        Vec::new()
    };
    if let Some(existing) = std::iter::once(root.clone())
        .chain(extra.iter().map(|(file, _)| parent.join(file)))
        .find(|path| path.exists())
    {
        bail!(
            "{} already exists; choose another name or remove it",
            existing.display()
        );
    }
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    // Build in a sibling temporary directory, then rename: no half-created chart on error.
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}-"))
        .tempdir_in(&parent)
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
    let mut written = Vec::new();
    for (file, content) in &extra {
        let target = parent.join(file);
        let result = target
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&target, content));
        if let Err(error) = result {
            let _ = std::fs::remove_dir_all(&root);
            for done in &written {
                let _ = std::fs::remove_file(done);
            }
            return Err(error).with_context(|| format!("writing {}", target.display()));
        }
        written.push(target);
    }
    Ok(Created {
        chart: root,
        project: written,
    })
}

/// What `rchart create` wrote.
pub struct Created {
    pub chart: PathBuf,
    /// The project file and its values files, with `--project`.
    pub project: Vec<PathBuf>,
}

/// A project file for the chart `name` beside it, with a dev and a prod environment, and
/// their values files: paths relative to the chart's parent directory, and contents.
fn project_files(name: &str) -> Vec<(String, String)> {
    let project = format!(
        "# What rchart commands run here use when arguments are left out (docs/project.md):\n\
         #   rchart install -f values/prod.yaml    installs release {name} into namespace {name}\n\
         release: {name}\n\
         chart: {name}\n\
         environments:\n  \
         dev:  {{ namespace: {name}-dev, values: [values/dev.yaml] }}\n  \
         prod: {{ namespace: {name},     values: [values/prod.yaml] }}\n"
    );
    let values = |environment: &str, namespace: &str| {
        format!(
            "# {environment}: laid over {name}/values.yaml.\n\
             #   rchart install -f values/{environment}.yaml    (namespace {namespace}, from rchart.yaml)\n\
             #   rchart upgrade -f values/{environment}.yaml\n"
        )
    };
    vec![
        (crate::project::PROJECT_FILE.to_string(), project),
        (
            "values/dev.yaml".to_string(),
            values("dev", &format!("{name}-dev")),
        ),
        ("values/prod.yaml".to_string(), values("prod", name)),
    ]
}
