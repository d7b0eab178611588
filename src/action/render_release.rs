//! The pipeline every command that renders shares: values, schema, templates.

use super::scope::{OfflineScopes, StrayObjects, check_namespaces};
use crate::chart::Chart;
use crate::render::{self, Capabilities, ReleaseInfo, Rendered};
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
/// and renders the templates. Objects that the chart puts outside the release namespace
/// are refused where it can be told offline ([`super::scope`]).
pub fn render_release(
    chart: &Chart,
    sources: &[ValueSource],
    release: &ReleaseInfo,
    capabilities: &Capabilities,
) -> Result<RenderedRelease, RenderReleaseError> {
    let values = values::resolve(&chart.default_values, sources)?;
    render_resolved(chart, values, release, capabilities)
}

/// Like [`render_release`], for values already resolved (a stored release's, on rollback
/// or `--reuse-values`).
pub fn render_resolved(
    chart: &Chart,
    values: ResolvedValues,
    release: &ReleaseInfo,
    capabilities: &Capabilities,
) -> Result<RenderedRelease, RenderReleaseError> {
    if let Some(schema) = &chart.schema {
        schema.validate(&values.merged)?;
    }
    let rendered = render::render(chart, &values.merged, release, capabilities)?;
    let scopes = OfflineScopes::new(&rendered.manifests);
    check_namespaces(
        &chart.metadata,
        &release.namespace,
        rendered.manifests.iter().map(|m| (m, scopes.scope(&m.id))),
    )?;
    Ok(RenderedRelease { values, rendered })
}
