//! The pipeline every command that renders shares: values, schema, templates.

use super::scope::{OfflineScopes, StrayObjects, check_namespaces};
use crate::chart::Chart;
use crate::chart::tree::{self, TreeError};
use crate::render::{self, Capabilities, ReleaseInfo, RenderOptions, Rendered};
use crate::values::{self, ResolvedValues, ValueSource, ValuesError};

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
}

/// Merges the chart defaults with `sources`, resolves the chart's dependencies
/// ([`tree::resolve`]), validates each chart's values against its schema, and renders
/// the templates, no further than `options` allow. Objects that the chart
/// puts outside the release namespace are refused where it can be told offline
/// ([`super::scope`]).
pub fn render_release_with(
    chart: &Chart,
    sources: &[ValueSource],
    release: &ReleaseInfo,
    capabilities: &Capabilities,
    options: RenderOptions,
) -> Result<RenderedRelease, RenderReleaseError> {
    let values = values::resolve(&chart.default_values, sources)?;
    render_resolved_with(chart, values, release, capabilities, options)
}

/// Like [`render_release_with`], for values already resolved (a stored release's, on
/// rollback or `--reuse-values`).
pub fn render_resolved_with(
    chart: &Chart,
    values: ResolvedValues,
    release: &ReleaseInfo,
    capabilities: &Capabilities,
    options: RenderOptions,
) -> Result<RenderedRelease, RenderReleaseError> {
    let mut values = values;
    let tree = tree::resolve(chart, &values.user).map_err(|error| match error {
        TreeError::Values(error) => RenderReleaseError::Values(error),
        other => RenderReleaseError::Tree(other),
    })?;
    // With dependencies, the top chart's values hold each subchart's, and imports
    values.merged = tree.values.clone();
    let rendered = render::render_tree(&tree, release, capabilities, options)?;
    let scopes = OfflineScopes::new(&rendered.manifests);
    check_namespaces(
        &chart.metadata,
        &release.namespace,
        rendered.manifests.iter().map(|m| (m, scopes.scope(&m.id))),
    )?;
    Ok(RenderedRelease { values, rendered })
}
