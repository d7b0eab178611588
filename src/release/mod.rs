//! Releases: the record of each revision, and where records are kept.

pub mod codec;
mod error;
pub mod lock;
mod record;
pub mod secrets;
pub mod store;

pub use error::{StoreError, UnreadableRecord};
pub use record::{ReleaseRecord, Status, Timestamp};
pub use secrets::SecretDecodeError;
pub use store::{History, ListedReleases, ReleaseStore, StoredRelease, list_releases};
