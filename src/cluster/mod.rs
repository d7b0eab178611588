//! The Kubernetes boundary: connecting, discovering kinds, applying and deleting objects.

mod apply;
mod catalog;
mod connect;
pub mod wait;

use std::fmt;

pub use apply::{
    ApplyOptions, Deleted, FIELD_MANAGER, Owner, Planned, RELEASE_NAME_ANNOTATION,
    RELEASE_NAMESPACE_ANNOTATION, apply_all, delete_owned, fetch_live, foreign_objects, get_live,
    is_owned_by, plan,
};
pub use catalog::{Catalog, KindInfo, groups_of, split_api_version};
pub use connect::{Cluster, ConnectOptions, connect};
pub use wait::{WaitError, WaitTarget, wait_until_ready};

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
        "the cluster does not serve {kind} in {api_version} (is a CRD missing, or the apiVersion outdated?)"
    )]
    UnknownKind { api_version: String, kind: String },
    #[error("{}", ForeignList(.0))]
    NotOurs(Vec<ForeignObject>),
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
