use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};

use crate::action::render_release::render_release_with;
use crate::chart::Chart;
use crate::cli::{GlobalArgs, TemplateArgs};
use crate::render::{Capabilities, Manifest, ReleaseInfo, RenderOptions, to_multi_document};

use super::{Outcome, print_warnings};

/// The release name `rchart template` uses when none is given, as Helm does.
const DEFAULT_RELEASE_NAME: &str = "release-name";

pub fn run(global: &GlobalArgs, args: TemplateArgs) -> anyhow::Result<Outcome> {
    let (name, chart_path) = match args.name_and_chart.as_slice() {
        [chart] => (DEFAULT_RELEASE_NAME, chart),
        [name, chart] => (name.as_str(), chart),
        _ => unreachable!("clap takes one or two values"),
    };
    let chart = Chart::load(Path::new(chart_path))?;
    print_warnings(&chart.warnings);
    let capabilities = Capabilities::offline(args.kube_version.as_deref(), &args.api_versions)
        .map_err(|e| anyhow::anyhow!("--kube-version: {e}"))?;
    let namespace = global.namespace.as_deref().unwrap_or("default");
    let release = ReleaseInfo::new(name, namespace, 1, args.is_upgrade);
    let options = RenderOptions {
        max_output: args.output_limit.max_output,
    };
    let rendered = render_release_with(
        &chart,
        &args.values.sources,
        &release,
        &capabilities,
        options,
    )
    .with_context(|| format!("rendering chart \"{}\"", chart.metadata.name))?
    .rendered;

    let manifests = select(&chart, rendered.manifests, &args.show_only)?;
    match &args.output_dir {
        Some(dir) => write_per_template(dir, &chart.metadata.name, &manifests),
        None => {
            let text = to_multi_document(&chart.metadata.name, &manifests);
            std::io::stdout().lock().write_all(text.as_bytes())?;
            Ok(Outcome::Success)
        }
    }
}

/// Keeps the manifests of the `--show-only` templates, which may be named with or without
/// the chart name in front. Naming a template the chart does not have is an error.
fn select(
    chart: &Chart,
    manifests: Vec<Manifest>,
    show_only: &[String],
) -> anyhow::Result<Vec<Manifest>> {
    if show_only.is_empty() {
        return Ok(manifests);
    }
    let prefix = format!("{}/", chart.metadata.name);
    let wanted: Vec<&str> = show_only
        .iter()
        .map(|path| path.strip_prefix(&prefix).unwrap_or(path))
        .collect();
    for path in &wanted {
        if !chart.templates().any(|t| t.path == *path) {
            bail!(
                "--show-only {path}: chart \"{}\" has no such template",
                chart.metadata.name
            );
        }
    }
    Ok(manifests
        .into_iter()
        .filter(|m| wanted.contains(&m.source.as_str()))
        .collect())
}

/// One file per template under DIR/<chart>/, each written whole or not at all.
fn write_per_template(
    dir: &Path,
    chart_name: &str,
    manifests: &[Manifest],
) -> anyhow::Result<Outcome> {
    let mut by_source: BTreeMap<&str, Vec<Manifest>> = BTreeMap::new();
    for manifest in manifests {
        by_source
            .entry(&manifest.source)
            .or_default()
            .push(manifest.clone());
    }
    for (source, group) in by_source {
        let path = dir.join(chart_name).join(source);
        let parent = path.parent().expect("template paths have a directory");
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        let mut file = tempfile::NamedTempFile::new_in(parent)
            .with_context(|| format!("writing in {}", parent.display()))?;
        file.write_all(to_multi_document(chart_name, &group).as_bytes())?;
        file.persist(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        outln!("wrote {}", path.display());
    }
    Ok(Outcome::Success)
}
