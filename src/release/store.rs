//! Release records kept in Kubernetes Secrets in the release's namespace.
//!
//! # Layout
//!
//! Each revision has one **head** Secret, `rchart.release.v1.<release>.v<revision>`, of type
//! `rchart.io/release.v1`, labelled `owner=rchart`, `name=<release>`, `status=<status>` and
//! `version=<revision>`. Its data key `release` holds the gzip-compressed JSON of the
//! [`ReleaseRecord`] (once: the API's own base64 of Secret data is the only encoding), so
//!
//! ```text
//! kubectl get secret rchart.release.v1.web.v3 -o jsonpath='{.data.release}' | base64 -d | gunzip
//! ```
//!
//! prints the record. Every write of a head gives it a new random annotation
//! `rchart.io/write-id`.
//!
//! A compressed record larger than [`CHUNK_SIZE`](codec::CHUNK_SIZE) (800 KiB, a safe
//! margin under the 1 MiB limit on a Secret's data) is cut into parts. The head keeps the
//! first part in `release` and gets the annotations `rchart.io/chunks` (how many **chunk**
//! Secrets follow) and `rchart.io/sha256` (of the whole compressed record). The chunk
//! Secrets, numbered from 1, are `<head>.chunk-<write-id>-<n>`, of type
//! `rchart.io/release-chunk.v1`, with their part in data key `chunk` and the sha256 of that
//! part in the annotation `rchart.io/sha256`. Their labels are `owner=rchart`,
//! `rchart.io/chunk-of-release=<release>`, `rchart.io/chunk-of-revision=<revision>` and
//! `rchart.io/write-id=<write-id>`. A chunk never carries `name`, `status` or `version`, so
//! the selectors that find heads (`owner=rchart,name=<release>` for history,
//! `owner=rchart,name` for list) never return chunks. Reading checks every chunk's digest
//! (an error names the chunk Secret), then the whole record's: there is no partial read.
//!
//! # Consistency
//!
//! - Chunks are written before their head, so a head never names chunks that were not
//!   written. Chunks belong to one head write (its write id), so two writers never share
//!   chunk Secrets: an update writes its chunks, replaces the head, then deletes the chunks
//!   of the write it replaced; a writer whose head write is refused deletes its own chunks.
//! - Every update and delete carries the `resourceVersion` that was read, so a stale write
//!   fails with [`StoreError::Conflict`] instead of overwriting someone else's change.
//!   Creating a revision that exists fails with [`StoreError::AlreadyExists`].
//! - The client retries writes answered 429, 503 or 504, and a timed-out write may still
//!   have been applied, so a retry can meet its own earlier attempt (409). When a head write
//!   fails in a way that may hide success, the head is read back: if it carries this
//!   write's id, the write succeeded. If that cannot be settled, the new chunks stay.
//! - Chunks left behind by an interrupted write are invisible (no head names them) and are
//!   deleted with their revision: deleting a revision deletes every chunk labelled with it.
//! - A reader that lists heads while a chunked record is being updated may find the head's
//!   chunks already replaced; it then reads the head again.
//!
//! # Requests
//!
//! `history` is one LIST of heads, plus one LIST of chunks if any revision is chunked.
//! `create` and `update` of a record that fits in one Secret are one request each (an
//! update that leaves chunks behind also deletes them).

use std::collections::{BTreeMap, HashMap};

use futures_util::StreamExt as _;
use futures_util::stream;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, PostParams, Preconditions};

use super::codec;
use super::error::{StoreError, UnreadableRecord};
use super::history::History;
use super::secrets::{self, ChunkSet, SecretDecodeError, SecretSet};
use super::{ReleaseRecord, Status};

/// Chunk Secrets created at once; enough to hide the latency to a remote API server.
const CONCURRENT_CHUNK_WRITES: usize = 4;

/// How often a head is read again when its chunks change while they are read.
const READ_ATTEMPTS: usize = 3;

/// A record as stored: what [`ReleaseStore::update`] and [`ReleaseStore::delete`] need to
/// write it back safely.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRelease {
    pub record: ReleaseRecord,
    /// The head Secret.
    pub secret_name: String,
    /// The head's `resourceVersion` when it was read or written: the precondition of the
    /// next update or delete.
    pub resource_version: String,
    /// The head's metadata as read, so an update keeps what others added to it.
    head: ObjectMeta,
    chunk_set: Option<ChunkSet>,
}

impl StoredRelease {
    fn new(record: ReleaseRecord, mut head: ObjectMeta, chunk_set: Option<ChunkSet>) -> Self {
        head.managed_fields = None;
        StoredRelease {
            record,
            secret_name: head.name.clone().unwrap_or_default(),
            resource_version: head.resource_version.clone().unwrap_or_default(),
            head,
            chunk_set,
        }
    }

    /// How many chunk Secrets the record needs besides its head (0 for most records).
    pub fn chunk_count(&self) -> usize {
        self.chunk_set.as_ref().map_or(0, |set| set.count)
    }
}

/// The latest revision of each release, from [`list_releases`].
#[derive(Debug, Default)]
pub struct ListedReleases {
    /// Sorted by namespace, then release name.
    pub releases: Vec<StoredRelease>,
    /// Latest revisions that could not be read, and Secrets whose labels name no revision.
    pub unreadable: Vec<UnreadableRecord>,
}

/// Reads and writes the release records of one namespace.
#[derive(Clone)]
pub struct ReleaseStore {
    api: Api<Secret>,
    namespace: String,
}

impl ReleaseStore {
    /// A store for the releases of `namespace`.
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        ReleaseStore {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
        }
    }

    /// The namespace whose releases this store keeps.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Every revision of `release`, sorted by revision, plus the Secrets that could not be
    /// read. A release that was never installed has an empty history.
    pub async fn history(&self, release: &str) -> Result<History, StoreError> {
        let params = ListParams::default().labels(&secrets::history_selector(release));
        let heads = self.api.list(&params).await.map_err(|error| {
            let action = format!(
                "listing the revisions of release {release} in namespace {}",
                self.namespace
            );
            StoreError::from_kube(action, error)
        })?;
        let (mut revisions, mut unreadable) =
            read_heads(&self.api, &self.namespace, heads.items).await?;
        revisions.sort_by_key(|stored| stored.record.revision);
        unreadable.sort_by(|a, b| (a.revision, &a.secret_name).cmp(&(b.revision, &b.secret_name)));
        Ok(History {
            revisions,
            unreadable,
        })
    }

    /// One revision of `release`.
    pub async fn load(&self, release: &str, revision: u64) -> Result<StoredRelease, StoreError> {
        let name = secrets::head_name(release, revision);
        match read_head(&self.api, &self.namespace, &name).await? {
            HeadRead::Read(stored) => Ok(*stored),
            HeadRead::Unreadable(entry) => Err(entry.error),
            HeadRead::Gone => Err(StoreError::NotFound {
                release: release.to_string(),
                revision,
                namespace: self.namespace.clone(),
            }),
        }
    }

    /// Stores a new revision. Fails with [`StoreError::AlreadyExists`] if it exists.
    pub async fn create(&self, record: &ReleaseRecord) -> Result<StoredRelease, StoreError> {
        self.check_namespace(record)?;
        let compressed = codec::encode_record(record);
        let set = secrets::build(&ObjectMeta::default(), record, &compressed, &new_write_id());
        self.write_chunks(record, &set).await?;
        let written = match self.api.create(&PostParams::default(), &set.head).await {
            Ok(head) => Ok(head),
            Err(error) => self.settle_failed_write(record, &set, error).await,
        };
        match written {
            Ok(head) => Ok(StoredRelease::new(
                record.clone(),
                head.metadata,
                set.chunk_set,
            )),
            Err(kube::Error::Api(status)) if status.is_already_exists() => {
                Err(StoreError::AlreadyExists {
                    secret: head_name_of(record),
                    release: record.name.clone(),
                    revision: record.revision,
                })
            }
            Err(error) => Err(StoreError::from_kube(
                write_action("creating", record),
                error,
            )),
        }
    }

    /// Writes `stored.record` over the revision it was read from, if the head is still at
    /// `stored.resource_version`; otherwise fails with [`StoreError::Conflict`]. The
    /// `status` label follows the record.
    pub async fn update(&self, stored: &StoredRelease) -> Result<StoredRelease, StoreError> {
        let record = &stored.record;
        self.check_namespace(record)?;
        if head_name_of(record) != stored.secret_name {
            return Err(StoreError::Renamed {
                secret: stored.secret_name.clone(),
                release: record.name.clone(),
                revision: record.revision,
            });
        }
        let base = ObjectMeta {
            resource_version: Some(stored.resource_version.clone()),
            ..stored.head.clone()
        };
        let compressed = codec::encode_record(record);
        let set = secrets::build(&base, record, &compressed, &new_write_id());
        self.write_chunks(record, &set).await?;
        let replaced = self
            .api
            .replace(&stored.secret_name, &PostParams::default(), &set.head)
            .await;
        let written = match replaced {
            Ok(head) => Ok(head),
            Err(error) => self.settle_failed_write(record, &set, error).await,
        };
        let head = match written {
            Ok(head) => head,
            Err(kube::Error::Api(status)) if status.is_conflict() => return Err(conflict(record)),
            Err(kube::Error::Api(status)) if status.is_not_found() => {
                return Err(StoreError::NotFound {
                    release: record.name.clone(),
                    revision: record.revision,
                    namespace: self.namespace.clone(),
                });
            }
            Err(error) => {
                return Err(StoreError::from_kube(
                    write_action("replacing", record),
                    error,
                ));
            }
        };
        // The old chunks are no longer named by the head. Failing to delete them leaves
        // them invisible, and they go when the revision is deleted.
        self.discard_chunks(record, stored.chunk_set.as_ref()).await;
        Ok(StoredRelease::new(
            record.clone(),
            head.metadata,
            set.chunk_set,
        ))
    }

    /// Deletes a revision: its head (if still at `stored.resource_version`, else
    /// [`StoreError::Conflict`]) and every chunk Secret labelled with it. A revision that
    /// is already gone is not an error.
    pub async fn delete(&self, stored: &StoredRelease) -> Result<(), StoreError> {
        let record = &stored.record;
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                resource_version: Some(stored.resource_version.clone()),
                uid: stored.head.uid.clone(),
            }),
            ..DeleteParams::default()
        };
        match self.api.delete(&stored.secret_name, &params).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.is_not_found() => {}
            Err(kube::Error::Api(status)) if status.is_conflict() => return Err(conflict(record)),
            Err(error) => {
                return Err(StoreError::from_kube(
                    write_action("deleting", record),
                    error,
                ));
            }
        }
        let chunks = ListParams::default()
            .labels(&secrets::chunks_selector(&record.name, &[record.revision]));
        self.api
            .delete_collection(&DeleteParams::default(), &chunks)
            .await
            .map_err(|error| {
                let action = format!(
                    "deleting the chunk Secrets of release {} revision {} in namespace {}",
                    record.name, record.revision, self.namespace
                );
                StoreError::from_kube(action, error)
            })?;
        Ok(())
    }

    /// Deletes a record that cannot be read: its head Secret and every chunk Secret
    /// labelled with its revision. Already gone is not an error.
    pub async fn delete_unreadable(&self, entry: &UnreadableRecord) -> Result<(), StoreError> {
        let action = |what: &str| {
            format!(
                "deleting {what} of unreadable Secret {} in namespace {}",
                entry.secret_name, self.namespace
            )
        };
        match self
            .api
            .delete(&entry.secret_name, &DeleteParams::default())
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.is_not_found() => {}
            Err(error) => return Err(StoreError::from_kube(action("the head"), error)),
        }
        if let (Some(release), Some(revision)) = (&entry.release, entry.revision) {
            let chunks =
                ListParams::default().labels(&secrets::chunks_selector(release, &[revision]));
            self.api
                .delete_collection(&DeleteParams::default(), &chunks)
                .await
                .map_err(|error| StoreError::from_kube(action("the chunks"), error))?;
        }
        Ok(())
    }

    /// Deletes the oldest revisions in `history` until at most `max` remain (the new
    /// revision counts), and returns the deleted revision numbers. `max` 0 keeps all. The
    /// deployed revision, pending ones and the newest one are never deleted, so more than
    /// `max` may remain. Stops at the first failure.
    pub async fn prune_history(
        &self,
        history: &[StoredRelease],
        max: usize,
    ) -> Result<Vec<u64>, StoreError> {
        let mut deleted = Vec::new();
        for stored in revisions_to_prune(history, max) {
            self.delete(stored).await?;
            deleted.push(stored.record.revision);
        }
        Ok(deleted)
    }

    fn check_namespace(&self, record: &ReleaseRecord) -> Result<(), StoreError> {
        if record.namespace == self.namespace {
            return Ok(());
        }
        Err(StoreError::WrongNamespace {
            release: record.name.clone(),
            revision: record.revision,
            record_namespace: record.namespace.clone(),
            namespace: self.namespace.clone(),
        })
    }

    /// Creates the chunk Secrets of `set`. If one fails, the others are deleted again.
    async fn write_chunks(
        &self,
        record: &ReleaseRecord,
        set: &SecretSet,
    ) -> Result<(), StoreError> {
        if set.chunks.is_empty() {
            return Ok(());
        }
        // Wait for every create, even after a failure, so the clean-up below sees them all.
        let results: Vec<_> = stream::iter(&set.chunks)
            .map(|chunk| async move {
                let result = self.api.create(&PostParams::default(), chunk).await;
                (chunk.metadata.name.clone().unwrap_or_default(), result)
            })
            .buffer_unordered(CONCURRENT_CHUNK_WRITES)
            .collect()
            .await;
        let Some((chunk, error)) = results
            .into_iter()
            .find_map(|(chunk, result)| result.err().map(|error| (chunk, error)))
        else {
            return Ok(());
        };
        self.discard_chunks(record, set.chunk_set.as_ref()).await;
        let action = format!(
            "creating chunk Secret {chunk} of release {} revision {} in namespace {}",
            record.name, record.revision, self.namespace
        );
        Err(StoreError::from_kube(action, error))
    }

    /// Settles a failed head write. The client retries writes answered 429, 503 or 504, so
    /// a 409 may be a retry meeting its own first attempt, and a 5xx or a lost answer may
    /// hide a write that was applied: then the head is read back, and if it carries this
    /// write's id, the write succeeded. Otherwise the error stands, and this write's chunks
    /// are deleted if the server certainly refused the write (4xx), since no head names them.
    async fn settle_failed_write(
        &self,
        record: &ReleaseRecord,
        set: &SecretSet,
        error: kube::Error,
    ) -> Result<Secret, kube::Error> {
        let (refused, maybe_applied) = match &error {
            kube::Error::Api(status) => (
                (400..500).contains(&status.code),
                status.code == 409 || status.code >= 500,
            ),
            _ => (false, true),
        };
        if maybe_applied && let Some(head) = self.head_with_write_id(record, &set.write_id).await {
            return Ok(head);
        }
        if refused {
            self.discard_chunks(record, set.chunk_set.as_ref()).await;
        }
        Err(error)
    }

    /// The head of `record`'s revision, if it was last written by write `write_id`.
    async fn head_with_write_id(&self, record: &ReleaseRecord, write_id: &str) -> Option<Secret> {
        let head = self.api.get_opt(&head_name_of(record)).await.ok()??;
        let annotations = head.metadata.annotations.as_ref()?;
        (annotations.get(secrets::WRITE_ID_ANNOTATION)? == write_id).then_some(head)
    }

    /// Deletes the chunk Secrets of one write, as a clean-up: a failure only leaves Secrets
    /// that no head names, which go when their revision is deleted. A request that got no
    /// answer (the connection the failed write used may have been closed under it) is sent
    /// again.
    async fn discard_chunks(&self, record: &ReleaseRecord, chunk_set: Option<&ChunkSet>) {
        const ATTEMPTS: usize = 3;
        let Some(set) = chunk_set else {
            return;
        };
        let selector = secrets::write_selector(&record.name, record.revision, &set.write_id);
        for _ in 0..ATTEMPTS {
            let deleted = self
                .api
                .delete_collection(
                    &DeleteParams::default(),
                    &ListParams::default().labels(&selector),
                )
                .await;
            if !matches!(
                deleted,
                Err(kube::Error::HyperError(_) | kube::Error::Service(_))
            ) {
                return;
            }
        }
    }
}

/// The latest revision of every release in `namespace`, or in all namespaces (`None`).
/// Only the latest revision of each release is decoded.
pub async fn list_releases(
    client: &kube::Client,
    namespace: Option<&str>,
) -> Result<ListedReleases, StoreError> {
    let api: Api<Secret> = match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    };
    let params = ListParams::default().labels(&secrets::heads_selector());
    let heads = api.list(&params).await.map_err(|error| {
        let scope = namespace.map_or("all namespaces".to_string(), |ns| format!("namespace {ns}"));
        StoreError::from_kube(format!("listing the releases in {scope}"), error)
    })?;

    let mut listed = ListedReleases::default();
    let mut latest: BTreeMap<(String, String), (u64, Secret)> = BTreeMap::new();
    for secret in heads.items {
        let namespace = secret.metadata.namespace.clone().unwrap_or_default();
        let (release, revision) = match secrets::labelled_revision(&secret) {
            Ok((release, revision)) => (release.to_string(), revision),
            Err(problem) => {
                listed
                    .unreadable
                    .push(unreadable_record(&namespace, &secret, problem));
                continue;
            }
        };
        let key = (namespace, release);
        if latest
            .get(&key)
            .is_none_or(|(newest, _)| revision > *newest)
        {
            latest.insert(key, (revision, secret));
        }
    }
    for ((namespace, _), (_, head)) in latest {
        let api = Api::namespaced(client.clone(), &namespace);
        let (releases, unreadable) = read_heads(&api, &namespace, vec![head]).await?;
        listed.releases.extend(releases);
        listed.unreadable.extend(unreadable);
    }
    Ok(listed)
}

/// Decodes head Secrets of one namespace, fetching the chunks of chunked ones with one
/// LIST per release.
async fn read_heads(
    api: &Api<Secret>,
    namespace: &str,
    heads: Vec<Secret>,
) -> Result<(Vec<StoredRelease>, Vec<UnreadableRecord>), StoreError> {
    let mut releases = Vec::new();
    let mut unreadable = Vec::new();
    let mut parsed = Vec::new();
    for secret in &heads {
        match secrets::parse_head(secret) {
            Ok(head) => parsed.push((secret, head)),
            Err(problem) => unreadable.push(unreadable_record(namespace, secret, problem)),
        }
    }

    let mut chunked: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (_, head) in parsed.iter().filter(|(_, head)| head.chunk_set.is_some()) {
        chunked
            .entry(&head.release)
            .or_default()
            .push(head.revision);
    }
    let mut chunk_secrets = Vec::new();
    for (release, revisions) in chunked {
        let selector = secrets::chunks_selector(release, &revisions);
        chunk_secrets.extend(list_chunks(api, namespace, release, &selector).await?);
    }
    let chunks = by_name(&chunk_secrets);

    for (secret, head) in parsed {
        match secrets::decode(&head, &chunks) {
            Ok(record) => releases.push(StoredRelease::new(
                record,
                secret.metadata.clone(),
                head.chunk_set,
            )),
            // The chunks may have been replaced by an update between the two lists.
            Err(SecretDecodeError::ChunkMissing { .. }) => {
                match read_head(api, namespace, &head.secret_name).await? {
                    HeadRead::Read(stored) => releases.push(*stored),
                    HeadRead::Unreadable(entry) => unreadable.push(*entry),
                    HeadRead::Gone => {} // deleted meanwhile
                }
            }
            Err(problem) => unreadable.push(unreadable_record(namespace, secret, problem)),
        }
    }
    Ok((releases, unreadable))
}

/// What reading one head Secret found.
enum HeadRead {
    Read(Box<StoredRelease>),
    Unreadable(Box<UnreadableRecord>),
    /// The head does not exist.
    Gone,
}

/// Reads one head and its chunks. When a chunk is missing, the head is read again: if it
/// changed, its new chunks are read.
async fn read_head(
    api: &Api<Secret>,
    namespace: &str,
    secret_name: &str,
) -> Result<HeadRead, StoreError> {
    let mut missing_chunk: Option<(Option<String>, UnreadableRecord)> = None;
    for _ in 0..READ_ATTEMPTS {
        let secret = api.get_opt(secret_name).await.map_err(|error| {
            let action = format!("reading Secret {secret_name} in namespace {namespace}");
            StoreError::from_kube(action, error)
        })?;
        let Some(secret) = secret else {
            return Ok(HeadRead::Gone);
        };
        if let Some((seen_version, entry)) = missing_chunk.take()
            && seen_version == secret.metadata.resource_version
        {
            return Ok(HeadRead::Unreadable(Box::new(entry)));
        }
        let head = match secrets::parse_head(&secret) {
            Ok(head) => head,
            Err(problem) => {
                return Ok(HeadRead::Unreadable(Box::new(unreadable_record(
                    namespace, &secret, problem,
                ))));
            }
        };
        let chunk_secrets = match &head.chunk_set {
            Some(set) => {
                let selector = secrets::write_selector(&head.release, head.revision, &set.write_id);
                list_chunks(api, namespace, &head.release, &selector).await?
            }
            None => Vec::new(),
        };
        match secrets::decode(&head, &by_name(&chunk_secrets)) {
            Ok(record) => {
                let stored = StoredRelease::new(record, secret.metadata.clone(), head.chunk_set);
                return Ok(HeadRead::Read(Box::new(stored)));
            }
            Err(problem @ SecretDecodeError::ChunkMissing { .. }) => {
                let version = secret.metadata.resource_version.clone();
                missing_chunk = Some((version, unreadable_record(namespace, &secret, problem)));
            }
            Err(problem) => {
                return Ok(HeadRead::Unreadable(Box::new(unreadable_record(
                    namespace, &secret, problem,
                ))));
            }
        }
    }
    Ok(missing_chunk.map_or(HeadRead::Gone, |(_, entry)| {
        HeadRead::Unreadable(Box::new(entry))
    }))
}

async fn list_chunks(
    api: &Api<Secret>,
    namespace: &str,
    release: &str,
    selector: &str,
) -> Result<Vec<Secret>, StoreError> {
    let params = ListParams::default().labels(selector);
    let list = api.list(&params).await.map_err(|error| {
        let action =
            format!("listing the chunk Secrets of release {release} in namespace {namespace}");
        StoreError::from_kube(action, error)
    })?;
    Ok(list.items)
}

fn by_name(secrets: &[Secret]) -> HashMap<String, &Secret> {
    secrets
        .iter()
        .filter_map(|secret| Some((secret.metadata.name.clone()?, secret)))
        .collect()
}

fn unreadable_record(
    namespace: &str,
    secret: &Secret,
    problem: SecretDecodeError,
) -> UnreadableRecord {
    let secret_name = secret.metadata.name.clone().unwrap_or_default();
    let labels = secret.metadata.labels.as_ref();
    UnreadableRecord {
        namespace: namespace.to_string(),
        release: labels.and_then(|l| l.get(secrets::NAME_LABEL)).cloned(),
        revision: labels
            .and_then(|l| l.get(secrets::VERSION_LABEL))
            .and_then(|v| v.parse().ok()),
        status: labels.and_then(|l| l.get(secrets::STATUS_LABEL)).cloned(),
        error: StoreError::Unreadable {
            secret: secret_name.clone(),
            namespace: namespace.to_string(),
            problem,
        },
        secret_name,
    }
}

/// The revisions [`ReleaseStore::prune_history`] deletes, oldest first.
fn revisions_to_prune(history: &[StoredRelease], max: usize) -> Vec<&StoredRelease> {
    if max == 0 {
        return Vec::new();
    }
    let mut sorted: Vec<&StoredRelease> = history.iter().collect();
    sorted.sort_by_key(|stored| stored.record.revision);
    let newest = sorted.last().map(|stored| stored.record.revision);
    let excess = sorted.len().saturating_sub(max);
    sorted
        .into_iter()
        .filter(|stored| {
            let status = stored.record.status;
            status != Status::Deployed
                && !status.is_pending()
                && Some(stored.record.revision) != newest
        })
        .take(excess)
        .collect()
}

fn head_name_of(record: &ReleaseRecord) -> String {
    secrets::head_name(&record.name, record.revision)
}

fn write_action(verb: &str, record: &ReleaseRecord) -> String {
    format!(
        "{verb} Secret {} of release {} revision {} in namespace {}",
        head_name_of(record),
        record.name,
        record.revision,
        record.namespace
    )
}

fn conflict(record: &ReleaseRecord) -> StoreError {
    StoreError::Conflict {
        secret: head_name_of(record),
        release: record.name.clone(),
        revision: record.revision,
    }
}

/// A random id for one head write: 16 hex digits, so two writes never share one.
fn new_write_id() -> String {
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    id.truncate(16);
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::codec::tests::sample_record;

    fn stored(revision: u64, status: Status) -> StoredRelease {
        let record = sample_record("web", revision, status);
        let head = ObjectMeta {
            name: Some(head_name_of(&record)),
            resource_version: Some(revision.to_string()),
            ..ObjectMeta::default()
        };
        StoredRelease::new(record, head, None)
    }

    fn pruned(history: &[StoredRelease], max: usize) -> Vec<u64> {
        revisions_to_prune(history, max)
            .iter()
            .map(|stored| stored.record.revision)
            .collect()
    }

    #[test]
    fn pruning_deletes_the_oldest_beyond_max() {
        let history: Vec<_> = (1..=5)
            .map(|revision| {
                stored(
                    revision,
                    if revision == 5 {
                        Status::Deployed
                    } else {
                        Status::Superseded
                    },
                )
            })
            .collect();
        assert_eq!(pruned(&history, 3), [1, 2]);
        assert_eq!(pruned(&history, 5), [] as [u64; 0]);
        assert_eq!(pruned(&history, 0), [] as [u64; 0], "0 keeps everything");
    }

    #[test]
    fn pruning_keeps_the_deployed_pending_and_newest_revisions() {
        let history = vec![
            stored(1, Status::Deployed),
            stored(2, Status::Failed),
            stored(3, Status::PendingUpgrade),
            stored(4, Status::Superseded),
            stored(5, Status::Failed),
        ];
        assert_eq!(pruned(&history, 1), [2, 4]);
        assert_eq!(pruned(&history, 4), [2]);
    }

    #[test]
    fn pruning_goes_by_revision_not_by_position() {
        let history = vec![
            stored(3, Status::Deployed),
            stored(1, Status::Superseded),
            stored(2, Status::Superseded),
        ];
        assert_eq!(pruned(&history, 2), [1]);
    }

    #[test]
    fn the_next_revision_skips_unreadable_ones() {
        let mut history = History {
            revisions: vec![stored(1, Status::Superseded), stored(2, Status::Deployed)],
            unreadable: Vec::new(),
        };
        assert_eq!(history.next_revision(), 3);
        history.unreadable.push(UnreadableRecord {
            namespace: "default".into(),
            secret_name: "rchart.release.v1.web.v7".into(),
            release: Some("web".into()),
            revision: Some(7),
            status: Some("failed".into()),
            error: StoreError::NotFound {
                release: "web".into(),
                revision: 7,
                namespace: "default".into(),
            },
        });
        assert_eq!(history.next_revision(), 8);
        assert_eq!(History::default().next_revision(), 1);
    }

    #[test]
    fn write_ids_are_short_label_safe_and_distinct() {
        let a = new_write_id();
        assert_eq!(a.len(), 16);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_ne!(a, new_write_id());
    }
}
