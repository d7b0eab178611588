//! The pipeline every command that renders shares: values, schema, templates.

use super::scope::{OfflineScopes, StrayObjects, check_namespaces};
use crate::chart::Chart;
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
    Namespace(#[from] StrayObjects),
}

/// Merges the chart defaults with `sources`, validates them against the chart's schema,
/// and renders the templates, no further than `options` allow. Objects that the chart
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
    if let Some(schema) = &chart.schema {
        schema.validate(&values.merged)?;
    }
    let rendered = render::render_with(chart, &values.merged, release, capabilities, options)?;
    let scopes = OfflineScopes::new(&rendered.manifests);
    check_namespaces(
        &chart.metadata,
        &release.namespace,
        rendered.manifests.iter().map(|m| (m, scopes.scope(&m.id))),
    )?;
    Ok(RenderedRelease { values, rendered })
}
