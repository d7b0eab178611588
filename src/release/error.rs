//! What can go wrong when storing or reading release records.

use std::fmt;

use super::secrets::SecretDecodeError;

/// A failure of [`super::ReleaseStore`] or [`super::list_releases`].
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The revision has no Secret.
    #[error("release {release} has no revision {revision} in namespace {namespace}")]
    NotFound {
        release: String,
        revision: u64,
        namespace: String,
    },
    /// The record changed (or was deleted and recreated) since it was read: the write was
    /// refused by its `resourceVersion` precondition. Read it again and redo the change.
    #[error(
        "release {release} revision {revision} (Secret {secret}) was changed by another operation since it was read (409 Conflict)"
    )]
    Conflict {
        secret: String,
        release: String,
        revision: u64,
    },
    /// Another operation created the same revision first: two operations raced for it.
    #[error(
        "release {release} revision {revision} (Secret {secret}) already exists: another operation created it at the same time (409 AlreadyExists)"
    )]
    AlreadyExists {
        secret: String,
        release: String,
        revision: u64,
    },
    /// The Secret (or one of its chunks) does not hold a readable record.
    #[error("cannot read the release record in Secret {secret} in namespace {namespace}")]
    Unreadable {
        secret: String,
        namespace: String,
        #[source]
        problem: SecretDecodeError,
    },
    /// The API server refused a request.
    #[error("{action} failed: {}", describe_status(status))]
    Api {
        action: String,
        status: Box<kube::core::Status>,
    },
    /// The request did not get an answer from the API server (connection refused, TLS,
    /// timeout, an unreadable response); the [`kube::Error`] is the source.
    #[error("{action} failed")]
    Request {
        action: String,
        #[source]
        source: kube::Error,
    },
    /// A record was handed to a store for another namespace.
    #[error(
        "release {release} revision {revision} belongs to namespace {record_namespace}, but this store keeps namespace {namespace}"
    )]
    WrongNamespace {
        release: String,
        revision: u64,
        record_namespace: String,
        namespace: String,
    },
    /// An update changed the release name or revision, which name the Secret.
    #[error(
        "Secret {secret} cannot hold release {release} revision {revision}: a record's name and revision are fixed when it is created"
    )]
    Renamed {
        secret: String,
        release: String,
        revision: u64,
    },
}

impl StoreError {
    /// An error from the API for `action`, such as "creating Secret X of release Y revision 3".
    pub(crate) fn from_kube(action: impl Into<String>, error: kube::Error) -> Self {
        match error {
            kube::Error::Api(status) => StoreError::Api {
                action: action.into(),
                status,
            },
            source => StoreError::Request {
                action: action.into(),
                source,
            },
        }
    }

    /// The client error, for failures that concern the connection rather than the store:
    /// no answer from the API server, or credentials it refused (401). Other errors come
    /// back unchanged.
    pub fn into_kube_error(self) -> Result<kube::Error, StoreError> {
        match self {
            StoreError::Request { source, .. } => Ok(source),
            StoreError::Api { status, .. } if status.code == 401 => Ok(kube::Error::Api(status)),
            other => Err(other),
        }
    }
}

/// `422 Invalid: message`, as the API server's answer reads.
fn describe_status(status: &kube::core::Status) -> String {
    let mut text = status.code.to_string();
    if !status.reason.is_empty() {
        text.push(' ');
        text.push_str(&status.reason);
    }
    if !status.message.is_empty() {
        text.push_str(": ");
        text.push_str(&status.message);
    }
    text
}

/// A Secret that looks like a revision of a release but cannot be read. The other
/// revisions are still returned; commands show these next to them.
#[derive(Debug)]
pub struct UnreadableRecord {
    pub namespace: String,
    pub secret_name: String,
    /// The release its labels name, if they do.
    pub release: Option<String>,
    /// The revision its labels name, if they do.
    pub revision: Option<u64>,
    /// The status its labels name, if they do: what the record said when last written.
    pub status: Option<String>,
    pub error: StoreError,
}

impl UnreadableRecord {
    /// Whether its labels say it had `status` when it was last written.
    pub fn labelled(&self, status: super::Status) -> bool {
        self.status.as_deref() == Some(status.as_str())
    }
}

/// The error and all its causes on one line: `cannot read …: chunk Secret … is missing`.
/// As an error it has no source, because its message already holds the causes.
impl fmt::Display for UnreadableRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        let mut cause = std::error::Error::source(&self.error);
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

impl std::error::Error for UnreadableRecord {}
