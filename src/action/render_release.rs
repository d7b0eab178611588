//! The pipeline every command that renders shares: values, schema, templates, and the
//! post-renderer when there is one.

use super::scope::{OfflineScopes, StrayObjects, check_namespaces};
use crate::chart::Chart;
use crate::render::post_render::{PostRenderError, PostRenderer};
use crate::render::{self, Capabilities, ReleaseInfo, RenderOptions, Rendered};
use crate::values::{self, ResolvedValues, ValueSource, ValuesError};

/// How far rendering may go, and what rewrites its result.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pipeline<'a> {
    pub options: RenderOptions,
    pub post_renderer: Option<&'a PostRenderer>,
}

/// A chart rendered for one release, with the values that produced it.
pub struct RenderedRelease {
    pub values: ResolvedValues,
    pub rendered: Rendered,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderReleaseError {
    #[error(transparent)]
    Values(#[from] ValuesError),
    #[error(transparent)]
    Render(#[from] render::RenderError),
    #[error(transparent)]
    Namespace(#[from] StrayObjects),
    #[error(transparent)]
    PostRender(#[from] PostRenderError),
}

/// Merges the chart defaults with `sources`, validates them against the chart's schema,
/// and renders the templates, no further than `pipeline.options` allow; then its
/// post-renderer, if any, rewrites the result. Objects that the chart puts outside the release namespace
/// are refused where it can be told offline ([`super::scope`]).
pub fn render_release_with(
    chart: &Chart,
    sources: &[ValueSource],
    release: &ReleaseInfo,
    capabilities: &Capabilities,
    pipeline: Pipeline<'_>,
) -> Result<RenderedRelease, RenderReleaseError> {
    let values = values::resolve(&chart.default_values, sources)?;
    render_resolved_with(chart, values, release, capabilities, pipeline)
}

/// Like [`render_release_with`], for values already resolved (a stored release's, on
/// rollback or `--reuse-values`).
pub fn render_resolved_with(
    chart: &Chart,
    values: ResolvedValues,
    release: &ReleaseInfo,
    capabilities: &Capabilities,
    pipeline: Pipeline<'_>,
) -> Result<RenderedRelease, RenderReleaseError> {
    if let Some(schema) = &chart.schema {
        schema.validate(&values.merged)?;
    }
    let options = pipeline.options;
    let mut rendered = render::render_with(chart, &values.merged, release, capabilities, options)?;
    if let Some(renderer) = pipeline.post_renderer {
        rendered = renderer.run(
            &chart.metadata.name,
            rendered,
            &release.namespace,
            options.max_output,
        )?;
    }
    let scopes = OfflineScopes::new(&rendered.manifests);
    let hooks = rendered.hooks.iter().map(|hook| &hook.manifest);
    check_namespaces(
        &chart.metadata,
        &release.namespace,
        rendered
            .manifests
            .iter()
            .chain(hooks)
            .map(|m| (m, scopes.scope(&m.id))),
    )?;
    Ok(RenderedRelease { values, rendered })
}
