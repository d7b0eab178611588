//! The Kubernetes boundary: connecting, discovering kinds, applying and deleting objects.

mod apply;
mod catalog;
mod connect;
pub mod logs;
pub mod wait;

use std::fmt;

pub use apply::{
    ApplyOptions, ApplyResult, Deleted, FIELD_MANAGER, LiveTarget, Owner, Planned,
    RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION, RESOURCE_POLICY_ANNOTATION, apply_all,
    created_namespaces, delete_and_await, delete_owned, dry_run_all, fetch_live, fetch_metadata,
    foreign_objects, get_live, is_owned_by, plan,
};
pub use catalog::{Catalog, KindInfo, groups_of, split_api_version};
pub use connect::{Cluster, ConnectOptions, DEFAULT_CONCURRENCY, connect};
pub use wait::{WaitError, WaitTarget, wait_until_finished, wait_until_ready};

use crate::render::ResourceId;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("cannot reach the Kubernetes API at {server}: {cause}")]
    Unreachable { server: String, cause: String },
    #[error("the Kubernetes API at {server} rejected the credentials: {message}")]
    Unauthorized { server: String, message: String },
    #[error("{}", api_status(.0))]
    Api(Box<kube::core::Status>),
    #[error(transparent)]
    Client(kube::Error),
    #[error(
        "the Kubernetes API at {server} answered {path} with a document rchart cannot read: {cause}"
    )]
    Discovery {
        server: String,
        path: String,
        cause: String,
    },
    #[error(
        "the cluster does not serve {kind} in {api_version} (is a CRD missing, or the apiVersion outdated?)"
    )]
    UnknownKind { api_version: String, kind: String },
    #[error("{}", ForeignList(.0))]
    NotOurs(Vec<ForeignObject>),
    #[error("listing {what}: {cause}")]
    Listing {
        what: String,
        cause: Box<ClusterError>,
    },
    #[error("{}", RejectedList(.0))]
    Rejected(Vec<ClusterError>),
    #[error("{resource}: {cause}")]
    Resource {
        resource: ResourceId,
        cause: Box<ClusterError>,
    },
    #[error("{}; --force-conflicts takes these fields over", api_status(.0))]
    FieldConflict(Box<kube::core::Status>),
    #[error("{0}")]
    Manifest(String),
}

impl ClusterError {
    /// An object refused because another field manager owns fields it sets.
    pub fn is_field_conflict(&self) -> bool {
        match self {
            ClusterError::FieldConflict(_) => true,
            ClusterError::Resource { cause, .. } => cause.is_field_conflict(),
            _ => false,
        }
    }

    /// A failure of the whole cluster rather than of one object: nothing answers, or the
    /// credentials are refused.
    pub fn is_about_cluster(&self) -> bool {
        matches!(
            self,
            ClusterError::Unreachable { .. } | ClusterError::Unauthorized { .. }
        )
    }

    /// What went wrong with an object, without naming the object again.
    pub fn cause_text(&self) -> String {
        match self {
            ClusterError::Resource { cause, .. } => cause.to_string(),
            other => other.to_string(),
        }
    }

    /// One error for a set of objects the server refused in a dry run; a failure of the
    /// whole cluster is reported once, on its own.
    pub fn rejected(mut errors: Vec<ClusterError>) -> Option<ClusterError> {
        if let Some(index) = errors.iter().position(ClusterError::is_about_cluster) {
            return Some(errors.swap_remove(index));
        }
        (!errors.is_empty()).then_some(ClusterError::Rejected(errors))
    }

    /// The HTTP status of an API error, if this is one.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            ClusterError::Api(status) | ClusterError::FieldConflict(status) => Some(status.code),
            ClusterError::Resource { cause, .. } => cause.status_code(),
            _ => None,
        }
    }
}

/// An object that stands where a release wants to put one, and belongs elsewhere.
#[derive(Debug, Clone)]
pub struct ForeignObject {
    pub resource: ResourceId,
    /// The release that owns it, or `None` when no release does.
    pub owner: Option<String>,
}

/// The API server refused these objects in a dry run; nothing was changed.
struct RejectedList<'a>(&'a [ClusterError]);

impl fmt::Display for RejectedList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        let objects = if count == 1 { "object" } else { "objects" };
        write!(
            f,
            "the API server rejected {count} {objects} in a dry run, so nothing was changed:"
        )?;
        for rejection in self.0 {
            write!(f, "\n  {rejection}")?;
        }
        Ok(())
    }
}

struct ForeignList<'a>(&'a [ForeignObject]);

impl fmt::Display for ForeignList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refusing to change objects that belong to ")?;
        let described: Vec<String> = self
            .0
            .iter()
            .map(|foreign| match &foreign.owner {
                Some(owner) => format!("{} (release {owner})", foreign.resource),
                None => format!("{} (no release)", foreign.resource),
            })
            .collect();
        write!(
            f,
            "something else: {}; nothing was changed (--take-ownership adopts them)",
            described.join(", ")
        )
    }
}

fn api_status(status: &kube::core::Status) -> String {
    if status.reason.is_empty() {
        format!("{} (HTTP {})", status.message, status.code)
    } else {
        format!(
            "{} ({}, HTTP {})",
            status.message, status.reason, status.code
        )
    }
}
