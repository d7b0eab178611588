//! Releases: the record of each revision, where records are kept, and what the list of
//! revisions says.

pub mod codec;
mod error;
mod history;
pub mod lock;
mod record;
pub mod secrets;
pub mod store;
mod transitions;

pub use error::{StoreError, UnreadableRecord};
pub use history::{DamagedRecord, History, LiveInventory, Need, OperationInProgress};
pub use record::{HookPhase, HookRecord, HookRun, ReleaseRecord, Status, Timestamp};
pub use secrets::SecretDecodeError;
pub use store::{ListedReleases, ReleaseStore, StoredRelease, list_releases};
pub use transitions::SupersedeError;
