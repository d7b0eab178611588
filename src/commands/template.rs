use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};

use crate::action::render_release::{Pipeline, render_release_with};
use crate::chart::Chart;
use crate::cli::{GlobalArgs, TemplateArgs};
use crate::project::{Workspace, name_or_chart};
use crate::render::{
    Capabilities, HookEvent, Manifest, ReleaseInfo, RenderOptions, to_multi_document,
};

use super::{Outcome, environment, print_warnings, values_sources};

pub fn run(global: &GlobalArgs, args: TemplateArgs) -> anyhow::Result<Outcome> {
    let workspace = Workspace::current()?;
    let (name, given_chart) = name_or_chart(args.name, args.chart);
    let chart_path = workspace.chart(given_chart.as_deref())?;
    let chart_path = super::pull_repo::locate(&chart_path, &args.source)?.path;
    let selection = environment(global, &workspace, &args.values.files)?;
    let sources = values_sources(&workspace, selection, &args.values.sources);
    let namespace = super::offline_namespace(global, &workspace, selection);
    let chart = Chart::load(&chart_path)?;
    print_warnings(&chart.warnings);
    // As Workspace::release_name, with the chart already loaded.
    let name = name
        .or_else(|| {
            workspace
                .project_release(given_chart.as_deref())
                .map(str::to_string)
        })
        .unwrap_or_else(|| chart.metadata.name.clone());
    let capabilities = Capabilities::offline(args.kube_version.as_deref(), &args.api_versions)
        .map_err(|e| anyhow::anyhow!("--kube-version: {e}"))?;
    let release = ReleaseInfo::new(&name, &namespace, 1, args.is_upgrade);
    let options = RenderOptions {
        max_output: args.output_limit.max_output,
    };
    let post_renderer = super::post_renderer(&args.post_renderer);
    let rendered = render_release_with(
        &chart,
        &sources,
        &release,
        &capabilities,
        Pipeline {
            options,
            post_renderer: post_renderer.as_ref(),
        },
    )
    .with_context(|| format!("rendering chart \"{}\"", chart.metadata.name))?
    .rendered;

    // As Helm prints them: the manifests, then the hooks.
    let hooks = rendered
        .hooks
        .into_iter()
        .filter(|_| !args.no_hooks)
        .filter(|hook| !(args.skip_tests && hook.runs_on(HookEvent::Test)))
        .map(|hook| hook.manifest);
    let all = rendered.manifests.into_iter().chain(hooks).collect();
    let manifests = select(&chart, all, &args.show_only)?;
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
        // A subchart's template is named by its path from the top chart
        let rendered = || manifests.iter().any(|m| m.source == *path);
        if path.starts_with(crate::chart::CHARTS_DIR) && rendered() {
            continue;
        }
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
