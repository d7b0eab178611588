//! The pipeline every command that renders shares: values, schema, templates, and the
//! post-renderer when there is one.

use super::scope::{OfflineScopes, StrayObjects, check_namespaces};
use crate::chart::Chart;
use crate::chart::tree::{self, TreeError};
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
    Tree(TreeError),
    #[error(transparent)]
    Namespace(#[from] StrayObjects),
    #[error(transparent)]
    PostRender(#[from] PostRenderError),
}

/// Merges the chart defaults with `sources`, resolves the chart's dependencies
/// ([`tree::resolve`]), validates each chart's values against its schema, and renders
/// the templates, no further than `pipeline.options` allow; then its post-renderer, if
/// any, rewrites the result. Objects that the chart puts outside the release namespace
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
    let options = pipeline.options;
    let mut values = values;
    let tree = tree::resolve(chart, &values.user).map_err(|error| match error {
        TreeError::Values(error) => RenderReleaseError::Values(error),
        other => RenderReleaseError::Tree(other),
    })?;
    // With dependencies, the top chart's values hold each subchart's, and imports
    values.merged = tree.values.clone();
    let mut rendered = render::render_tree(&tree, release, capabilities, options)?;
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
