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

use crate::chart::escape::escape_name;
use serde::Serialize;
use serde_json::Value;

pub use capabilities::Capabilities;
pub use hooks::{DeletePolicy, Hook, HookEvent};
pub use manifest::{
    Manifest, ResourceId, parse_multi_document, sort_for_install, to_multi_document,
};
pub use order::install_rank;
pub use output_cap::{DEFAULT_MAX_OUTPUT, parse_size};

use crate::chart::tree::ChartNode;

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
    #[error("{}: rendered output is not valid YAML{}: {message}{}", escape_name(template), at_position(*position), framed(excerpt))]
    InvalidYaml {
        template: String,
        /// Line and column within the template's rendered output.
        position: Option<(usize, usize)>,
        message: String,
        excerpt: String,
    },
    /// Past a reading limit, which `install` would hit too.
    #[error(
        "{}: {message} at line {line} of the rendered output",
        escape_name(template)
    )]
    TooLarge {
        template: String,
        line: usize,
        message: String,
    },
    #[error(
        "{}: the chart's rendered output passed the {} limit, so rendering stopped; raise the limit with --max-output, e.g. --max-output {}",
        escape_name(template),
        output_cap::format_size(*limit),
        output_cap::format_size(limit.saturating_mul(2))
    )]
    OutputTooLarge { template: String, limit: u64 },
    #[error(
        "{}: the document starting at line {line} of the rendered output is not a Kubernetes object: missing {missing}",
        escape_name(template)
    )]
    NotAManifest {
        template: String,
        line: usize,
        missing: String,
    },
    #[error(
        "{object} is rendered twice, by {} and by {}",
        escape_name(first),
        escape_name(second)
    )]
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
    #[error(
        "library chart {chain}: {template} defines component \"{component}\"; a library's components are named after it, e.g. \"{library}.{component}\", so that the charts using it call {{{{<{library}.{component}/>}}}}"
    )]
    LibraryComponent {
        chain: String,
        template: String,
        component: String,
        library: String,
    },
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

/// One template to render: which chart's engine and context, and how it is named.
struct Job {
    /// Index into the charts being rendered.
    chart: usize,
    /// The name the engine knows it by (see [`engine::display_name`]).
    engine_name: String,
    /// The path from the top chart, e.g. `charts/redis/templates/x.yaml`: the manifest's
    /// source and the `--show-only` name.
    source: String,
    /// `template.name` and `template.base_path` for the template.
    context: Value,
    is_notes: bool,
}

/// Renders and checks each template, on as many threads as the machine has cores when
/// there are enough templates. Results come back in template order, so the first error
/// reported is always the same one.
fn render_each(
    engines: &[engine::Engine],
    contexts: &[tera::Context],
    jobs: &[Job],
    cap: &output_cap::OutputCap,
) -> Vec<Result<TemplateOutput, RenderError>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(jobs.len() / TEMPLATES_PER_THREAD).max(1);
    let work = |worker: usize| {
        let mut own: Vec<Option<tera::Context>> = vec![None; contexts.len()];
        jobs.iter()
            .enumerate()
            .skip(worker)
            .step_by(threads)
            .map(|(index, job)| {
                let context = own[job.chart].get_or_insert_with(|| contexts[job.chart].clone());
                (index, render_one(&engines[job.chart], context, job, cap))
            })
            .collect::<Vec<_>>()
    };
    if threads == 1 {
        return work(0).into_iter().map(|(_, output)| output).collect();
    }
    let mut indexed: Vec<(usize, Result<TemplateOutput, RenderError>)> =
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|worker| scope.spawn(move || work(worker)))
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
    job: &Job,
    cap: &output_cap::OutputCap,
) -> Result<TemplateOutput, RenderError> {
    if cap.passed() {
        return Ok(TemplateOutput::Skipped);
    }
    context.insert("template", &job.context);
    let Some(output) = engine
        .render_within(&job.engine_name, context, cap)
        .map_err(RenderError::Template)?
    else {
        return Err(RenderError::OutputTooLarge {
            template: job.source.clone(),
            limit: cap.limit(),
        });
    };
    if job.is_notes {
        let text = output.trim();
        return Ok(TemplateOutput::Notes(
            (!text.is_empty()).then(|| text.to_string()),
        ));
    }
    manifest::parse_template_output(&job.source, &output).map(TemplateOutput::Manifests)
}

/// Renders every template of a chart and of its dependencies that are on, with the
/// values [`crate::chart::tree::resolve`] gave each (already validated).
///
/// Each chart has its own engine, so two charts may have templates of the same name and
/// components of the same name. A chart's engine also holds the templates and
/// components of the library charts it depends on (see [`engine`]). Library charts
/// render nothing; the top chart's NOTES.txt is the only one rendered.
pub fn render_tree(
    root: &ChartNode<'_>,
    release: &ReleaseInfo,
    capabilities: &Capabilities,
    options: RenderOptions,
) -> Result<Rendered, RenderError> {
    if root.chart.is_library() {
        return Err(RenderError::LibraryChart(root.chart.name().to_string()));
    }
    capabilities.check_chart(root.chart)?;
    let top = root.chart.name();
    let nodes: Vec<&ChartNode<'_>> = root
        .walk()
        .into_iter()
        .filter(|n| !n.chart.is_library())
        .collect();
    let mut engines = Vec::with_capacity(nodes.len());
    let mut contexts = Vec::with_capacity(nodes.len());
    let mut jobs = Vec::new();
    for (index, node) in nodes.iter().enumerate() {
        engines.push(engine::Engine::for_chart(node)?);
        let mut context = tera::Context::new();
        context.insert("values", &node.values);
        context.insert("release", release);
        let mut chart_context = node.chart.metadata.template_context();
        chart_context["name"] = Value::String(node.name.clone());
        context.insert("chart", &chart_context);
        context.insert("capabilities", &capabilities.template_context());
        contexts.push(context);
        let base_path = format!("{top}/{}templates", node.dir);
        for template in node.chart.templates().filter(|t| !t.is_partial()) {
            let is_notes = template.is_notes();
            if is_notes && index > 0 {
                continue;
            }
            let source = format!("{}{}", node.dir, template.path);
            jobs.push(Job {
                chart: index,
                engine_name: engine::display_name(&node.chain, &template.path),
                context: serde_json::json!({
                    "name": format!("{top}/{source}"),
                    "base_path": base_path,
                }),
                source,
                is_notes,
            });
        }
    }
    let mut manifests = Vec::new();
    let mut notes = None;
    let cap = output_cap::OutputCap::new(options.max_output);
    for output in render_each(&engines, &contexts, &jobs, &cap) {
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
