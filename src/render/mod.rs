//! Rendering: a chart and its values → ordered Kubernetes manifests and NOTES.

mod capabilities;
mod engine;
mod frame;
mod functions;
pub mod hooks;
mod inspect;
pub mod manifest;
mod order;
mod output_cap;
pub mod post_render;

use serde::Serialize;
use serde_json::{Map, Value};

pub use capabilities::Capabilities;
pub use hooks::{DeletePolicy, Hook, HookEvent};
pub use manifest::{
    Manifest, ResourceId, parse_multi_document, sort_for_install, to_multi_document,
};
pub use order::install_rank;
pub use output_cap::{DEFAULT_MAX_OUTPUT, parse_size};

use crate::chart::{Chart, ChartType};

/// What templates see as `release`.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseInfo {
    pub name: String,
    pub namespace: String,
    pub revision: u64,
    pub is_install: bool,
    pub is_upgrade: bool,
    /// Always "rchart"; charts can tell which tool renders them.
    pub service: &'static str,
}

impl ReleaseInfo {
    pub fn new(name: &str, namespace: &str, revision: u64, is_upgrade: bool) -> Self {
        Self {
            name: name.to_string(),
            namespace: namespace.to_string(),
            revision,
            is_install: !is_upgrade,
            is_upgrade,
            service: "rchart",
        }
    }
}

/// The result of rendering a chart.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Every manifest but the hooks, in install order.
    pub manifests: Vec<Manifest>,
    /// The hooks ([`hooks`]), in install order.
    pub hooks: Vec<Hook>,
    /// `templates/NOTES.txt` rendered, if the chart has one.
    pub notes: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Tera's own report: message plus a `file:line:col` code frame.
    #[error(transparent)]
    Template(tera::Error),
    #[error("{template}: rendered output is not valid YAML{}: {message}{}", at_position(*position), framed(excerpt))]
    InvalidYaml {
        template: String,
        /// Line and column within the template's rendered output.
        position: Option<(usize, usize)>,
        message: String,
        excerpt: String,
    },
    /// Past a reading limit, which `install` would hit too.
    #[error("{template}: {message} at line {line} of the rendered output")]
    TooLarge {
        template: String,
        line: usize,
        message: String,
    },
    #[error(
        "{template}: the chart's rendered output passed the {} limit, so rendering stopped; raise the limit with --max-output, e.g. --max-output {}",
        output_cap::format_size(*limit),
        output_cap::format_size(limit.saturating_mul(2))
    )]
    OutputTooLarge { template: String, limit: u64 },
    #[error(
        "{template}: the document starting at line {line} of the rendered output is not a Kubernetes object: missing {missing}"
    )]
    NotAManifest {
        template: String,
        line: usize,
        missing: String,
    },
    #[error("{object} is rendered twice, by {first} and by {second}")]
    Duplicate {
        object: String,
        first: String,
        second: String,
    },
    #[error("{template}: {object}: {message}")]
    Hook {
        template: String,
        /// `Job migrate`.
        object: String,
        message: String,
    },
    #[error("chart \"{0}\" is a library chart: it has no manifests to render or install")]
    LibraryChart(String),
    #[error("chart \"{chart}\" requires Kubernetes {range}, but the target is {actual}")]
    KubeVersion {
        chart: String,
        range: String,
        actual: String,
    },
}

fn at_position(position: Option<(usize, usize)>) -> String {
    position
        .map(|(line, column)| format!(" at line {line}, column {column}"))
        .unwrap_or_default()
}

fn framed(excerpt: &str) -> String {
    if excerpt.is_empty() {
        String::new()
    } else {
        format!("\n{excerpt}")
    }
}

/// Templates per thread below which rendering stays on one thread: starting a thread
/// costs more than rendering a handful of templates.
const TEMPLATES_PER_THREAD: usize = 16;

enum TemplateOutput {
    Manifests(Vec<Manifest>),
    Notes(Option<String>),
    /// Not rendered: another template passed the output limit.
    Skipped,
}

/// How to render, beyond the chart and its values.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    /// The most bytes all templates together may render (`--max-output`).
    pub max_output: u64,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            max_output: DEFAULT_MAX_OUTPUT,
        }
    }
}

/// Renders and checks each template, on as many threads as the machine has cores when
/// there are enough templates. Results come back in template order, so the first error
/// reported is always the same one.
fn render_each(
    engine: &engine::Engine,
    context: &tera::Context,
    chart_name: &str,
    templates: &[&crate::chart::Template],
    cap: &output_cap::OutputCap,
) -> Vec<Result<TemplateOutput, RenderError>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(templates.len() / TEMPLATES_PER_THREAD).max(1);
    if threads == 1 {
        let mut context = context.clone();
        return templates
            .iter()
            .map(|t| render_one(engine, &mut context, chart_name, t, cap))
            .collect();
    }
    let mut indexed: Vec<(usize, Result<TemplateOutput, RenderError>)> =
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|worker| {
                    scope.spawn(move || {
                        let mut context = context.clone();
                        templates
                            .iter()
                            .enumerate()
                            .skip(worker)
                            .step_by(threads)
                            .map(|(index, t)| {
                                (index, render_one(engine, &mut context, chart_name, t, cap))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|worker| worker.join().expect("a render thread does not panic"))
                .collect()
        });
    indexed.sort_by_key(|(index, _)| *index);
    indexed.into_iter().map(|(_, output)| output).collect()
}

fn render_one(
    engine: &engine::Engine,
    context: &mut tera::Context,
    chart_name: &str,
    template: &crate::chart::Template,
    cap: &output_cap::OutputCap,
) -> Result<TemplateOutput, RenderError> {
    if cap.passed() {
        return Ok(TemplateOutput::Skipped);
    }
    context.insert(
        "template",
        &serde_json::json!({
            "name": format!("{chart_name}/{}", template.path),
            "base_path": format!("{chart_name}/templates"),
        }),
    );
    let Some(output) = engine
        .render_within(&template.path, context, cap)
        .map_err(RenderError::Template)?
    else {
        return Err(RenderError::OutputTooLarge {
            template: template.path.clone(),
            limit: cap.limit(),
        });
    };
    if template.is_notes() {
        let text = output.trim();
        return Ok(TemplateOutput::Notes(
            (!text.is_empty()).then(|| text.to_string()),
        ));
    }
    manifest::parse_template_output(&template.path, &output).map(TemplateOutput::Manifests)
}

/// Renders every template of `chart` with `values` (already merged and validated).
pub fn render(
    chart: &Chart,
    values: &Map<String, Value>,
    release: &ReleaseInfo,
    capabilities: &Capabilities,
) -> Result<Rendered, RenderError> {
    render_with(
        chart,
        values,
        release,
        capabilities,
        RenderOptions::default(),
    )
}

/// [`render`] with options.
pub fn render_with(
    chart: &Chart,
    values: &Map<String, Value>,
    release: &ReleaseInfo,
    capabilities: &Capabilities,
    options: RenderOptions,
) -> Result<Rendered, RenderError> {
    if chart.metadata.chart_type == ChartType::Library {
        return Err(RenderError::LibraryChart(chart.metadata.name.clone()));
    }
    capabilities.check_chart(chart)?;
    let engine = engine::Engine::new(
        chart
            .templates()
            .map(|t| (t.path.as_str(), t.source.as_str())),
    )
    .map_err(RenderError::Template)?;

    let mut context = tera::Context::new();
    context.insert("values", values);
    context.insert("release", release);
    context.insert("chart", &chart.metadata.template_context());
    context.insert("capabilities", &capabilities.template_context());

    let chart_name = &chart.metadata.name;
    let emitted: Vec<&crate::chart::Template> =
        chart.templates().filter(|t| !t.is_partial()).collect();
    let mut manifests = Vec::new();
    let mut notes = None;
    let cap = output_cap::OutputCap::new(options.max_output);
    for output in render_each(&engine, &context, chart_name, &emitted, &cap) {
        match output? {
            TemplateOutput::Notes(text) => notes = text,
            TemplateOutput::Manifests(list) => manifests.extend(list),
            TemplateOutput::Skipped => {}
        }
    }
    let (manifests, hooks) = organize(manifests, &release.namespace)?;
    Ok(Rendered {
        manifests,
        hooks,
        notes,
    })
}

/// Splits off the hooks, refuses an object rendered twice, and puts both lists in
/// install order: what every rendered (or post-rendered) set of manifests goes through.
pub fn organize(
    manifests: Vec<Manifest>,
    namespace: &str,
) -> Result<(Vec<Manifest>, Vec<Hook>), RenderError> {
    check_unique(&manifests, namespace)?;
    let (mut manifests, mut hooks) = hooks::split(manifests)?;
    sort_for_install(&mut manifests);
    hooks.sort_by_key(|hook| install_rank(&hook.manifest.id.kind));
    Ok((manifests, hooks))
}

/// Two documents for one object would be applied in a race, the last one winning.
fn check_unique(manifests: &[Manifest], namespace: &str) -> Result<(), RenderError> {
    let mut seen = std::collections::HashMap::new();
    for manifest in manifests {
        let id = &manifest.id;
        let key = (
            id.group(),
            id.kind.as_str(),
            id.namespace.as_deref().unwrap_or(namespace),
            id.name.as_str(),
        );
        if let Some(first) = seen.insert(key, manifest.source.as_str()) {
            return Err(RenderError::Duplicate {
                object: format!("{} {}", id.kind, id.name),
                first: first.to_string(),
                second: manifest.source.clone(),
            });
        }
    }
    Ok(())
}
