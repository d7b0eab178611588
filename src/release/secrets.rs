//! The Secrets a record is stored in: their names, labels and annotations, building them
//! from a record and reading a record back from them. Pure; [`super::store`] does the I/O.
//! The layout is described in the docs of [`super::store`].

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::ReleaseRecord;
use super::codec::{self, CHUNK_SIZE, RecordDecodeError};

/// `type` of a Secret holding a revision (the head).
pub const RELEASE_SECRET_TYPE: &str = "rchart.io/release.v1";
/// `type` of a Secret holding one further part of a large revision.
pub const CHUNK_SECRET_TYPE: &str = "rchart.io/release-chunk.v1";

/// Data key of a head: the record, or its first part.
pub const RECORD_KEY: &str = "release";
/// Data key of a chunk Secret.
pub const CHUNK_KEY: &str = "chunk";

pub const OWNER_LABEL: &str = "owner";
pub const OWNER: &str = "rchart";
pub const NAME_LABEL: &str = "name";
pub const STATUS_LABEL: &str = "status";
pub const VERSION_LABEL: &str = "version";

/// Labels of chunk Secrets. Label values are limited to 63 characters, too short for a head
/// Secret's name, so a chunk names its revision with two labels.
pub const CHUNK_RELEASE_LABEL: &str = "rchart.io/chunk-of-release";
pub const CHUNK_REVISION_LABEL: &str = "rchart.io/chunk-of-revision";
/// On a chunk: the write id of the head write that names it.
pub const CHUNK_WRITE_ID_LABEL: &str = "rchart.io/write-id";

/// On every head: a random id of the write that produced it. It names that write's chunk
/// Secrets, and tells a write that reached the server apart from one that did not.
pub const WRITE_ID_ANNOTATION: &str = "rchart.io/write-id";
/// On a chunked head: how many chunk Secrets follow it.
pub const CHUNKS_ANNOTATION: &str = "rchart.io/chunks";
/// sha256 of the whole compressed record on a head; of the Secret's own part on a chunk.
pub const SHA256_ANNOTATION: &str = "rchart.io/sha256";
/// On a chunk: the head Secret it belongs to, for people reading the cluster.
pub const CHUNK_OF_ANNOTATION: &str = "rchart.io/chunk-of";
/// On a chunk: its position, 1 for the part after the head's.
pub const CHUNK_INDEX_ANNOTATION: &str = "rchart.io/chunk-index";

/// Name of the head Secret of a revision.
pub fn head_name(release: &str, revision: u64) -> String {
    format!("rchart.release.v1.{release}.v{revision}")
}

/// Name of chunk `index` (from 1) written with a head by write `write_id`. Heads end in
/// `.v<digits>`, chunks in `-<digits>`, so the two can never collide.
pub fn chunk_name(head: &str, write_id: &str, index: usize) -> String {
    format!("{head}.chunk-{write_id}-{index}")
}

/// Selects the head Secrets of one release.
pub fn history_selector(release: &str) -> String {
    format!("{OWNER_LABEL}={OWNER},{NAME_LABEL}={release}")
}

/// Selects the head Secrets of every release. Chunk Secrets never carry a `name` label.
pub fn heads_selector() -> String {
    format!("{OWNER_LABEL}={OWNER},{NAME_LABEL}")
}

/// Selects the chunk Secrets of some revisions of a release, of every write.
pub fn chunks_selector(release: &str, revisions: &[u64]) -> String {
    let revisions = revisions
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "{OWNER_LABEL}={OWNER},{CHUNK_RELEASE_LABEL}={release},{CHUNK_REVISION_LABEL} in ({revisions})"
    )
}

/// Selects the chunk Secrets of one write of one revision.
pub fn write_selector(release: &str, revision: u64, write_id: &str) -> String {
    format!(
        "{OWNER_LABEL}={OWNER},{CHUNK_RELEASE_LABEL}={release},{CHUNK_REVISION_LABEL}={revision},{CHUNK_WRITE_ID_LABEL}={write_id}"
    )
}

/// Where the parts of a chunked record are, as its head records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkSet {
    /// The write that created the chunks; it sets them apart from any other write's.
    pub write_id: String,
    /// Chunk Secrets besides the head.
    pub count: usize,
    /// sha256 of the whole compressed record.
    pub sha256: String,
}

impl ChunkSet {
    /// The chunk Secret names, in order.
    pub fn names(&self, head: &str) -> Vec<String> {
        (1..=self.count)
            .map(|index| chunk_name(head, &self.write_id, index))
            .collect()
    }
}

/// The Secrets to write for a record.
#[derive(Debug)]
pub struct SecretSet {
    pub head: Secret,
    /// Empty unless the record needs more than one Secret; written before the head.
    pub chunks: Vec<Secret>,
    pub chunk_set: Option<ChunkSet>,
    /// See [`WRITE_ID_ANNOTATION`].
    pub write_id: String,
}

/// The Secrets holding `compressed` (the encoded `record`).
///
/// `base` is the head's metadata to start from: empty for a new revision, the stored one
/// for an update, so labels and annotations that others added (and `resourceVersion`, the
/// update's precondition) are kept. rchart's own labels and annotations are always rewritten.
/// `write_id` identifies this write (see [`WRITE_ID_ANNOTATION`]); it must be new for each.
pub fn build(
    base: &ObjectMeta,
    record: &ReleaseRecord,
    compressed: &[u8],
    write_id: &str,
) -> SecretSet {
    let head_name = head_name(&record.name, record.revision);
    let parts = codec::split(compressed, CHUNK_SIZE);
    let chunk_set = (parts.len() > 1).then(|| ChunkSet {
        write_id: write_id.to_string(),
        count: parts.len() - 1,
        sha256: codec::sha256_hex(compressed),
    });

    let mut metadata = ObjectMeta {
        name: Some(head_name.clone()),
        namespace: Some(record.namespace.clone()),
        managed_fields: None,
        ..base.clone()
    };
    let labels = metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.insert(OWNER_LABEL.into(), OWNER.into());
    labels.insert(NAME_LABEL.into(), record.name.clone());
    labels.insert(STATUS_LABEL.into(), record.status.as_str().into());
    labels.insert(VERSION_LABEL.into(), record.revision.to_string());
    let annotations = metadata.annotations.get_or_insert_with(BTreeMap::new);
    for key in [CHUNKS_ANNOTATION, SHA256_ANNOTATION] {
        annotations.remove(key);
    }
    annotations.insert(WRITE_ID_ANNOTATION.into(), write_id.to_string());
    if let Some(set) = &chunk_set {
        annotations.insert(CHUNKS_ANNOTATION.into(), set.count.to_string());
        annotations.insert(SHA256_ANNOTATION.into(), set.sha256.clone());
    }
    let head = Secret {
        metadata,
        type_: Some(RELEASE_SECRET_TYPE.into()),
        data: Some(BTreeMap::from([(
            RECORD_KEY.to_string(),
            ByteString(parts[0].to_vec()),
        )])),
        ..Secret::default()
    };

    let chunks = parts[1..]
        .iter()
        .enumerate()
        .map(|(offset, part)| {
            let index = offset + 1;
            chunk_secret(record, &head_name, write_id, index, part)
        })
        .collect();
    SecretSet {
        head,
        chunks,
        chunk_set,
        write_id: write_id.to_string(),
    }
}

fn chunk_secret(
    record: &ReleaseRecord,
    head: &str,
    write_id: &str,
    index: usize,
    part: &[u8],
) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(chunk_name(head, write_id, index)),
            namespace: Some(record.namespace.clone()),
            labels: Some(BTreeMap::from([
                (OWNER_LABEL.into(), OWNER.into()),
                (CHUNK_RELEASE_LABEL.into(), record.name.clone()),
                (CHUNK_REVISION_LABEL.into(), record.revision.to_string()),
                (CHUNK_WRITE_ID_LABEL.into(), write_id.to_string()),
            ])),
            annotations: Some(BTreeMap::from([
                (CHUNK_OF_ANNOTATION.into(), head.to_string()),
                (CHUNK_INDEX_ANNOTATION.into(), index.to_string()),
                (SHA256_ANNOTATION.into(), codec::sha256_hex(part)),
            ])),
            ..ObjectMeta::default()
        },
        type_: Some(CHUNK_SECRET_TYPE.into()),
        data: Some(BTreeMap::from([(
            CHUNK_KEY.into(),
            ByteString(part.to_vec()),
        )])),
        ..Secret::default()
    }
}

/// Why a head Secret (with its chunks) does not yield a record.
#[derive(Debug, thiserror::Error)]
pub enum SecretDecodeError {
    #[error("its type is {found:?}, expected {RELEASE_SECRET_TYPE:?}")]
    WrongType { found: String },
    #[error("it has no label {label}")]
    MissingLabel { label: &'static str },
    #[error("its label version={found:?} is not a revision number")]
    BadVersion { found: String },
    #[error("its labels name={release} and version={revision} belong to Secret {expected}")]
    NameMismatch {
        release: String,
        revision: u64,
        expected: String,
    },
    #[error("its data has no key {RECORD_KEY:?}")]
    MissingRecord,
    #[error("its annotation {key}={found:?} is not {expected}")]
    BadAnnotation {
        key: &'static str,
        found: String,
        expected: &'static str,
    },
    #[error("its annotation {key} is missing; {CHUNKS_ANNOTATION} says the record is chunked")]
    MissingAnnotation { key: &'static str },
    #[error("chunk Secret {chunk} is missing")]
    ChunkMissing { chunk: String },
    #[error("chunk Secret {chunk} {problem}")]
    ChunkInvalid { chunk: String, problem: String },
    #[error(
        "chunk Secret {chunk} is corrupt: its data has sha256 {found}, expected {expected} (annotation {SHA256_ANNOTATION} of the chunk)"
    )]
    ChunkCorrupt {
        chunk: String,
        found: String,
        expected: String,
    },
    #[error(
        "its parts add up to sha256 {found}, expected {expected} (annotation {SHA256_ANNOTATION})"
    )]
    DigestMismatch { found: String, expected: String },
    #[error("its record cannot be decoded")]
    Record(#[source] RecordDecodeError),
    #[error(
        "its record is for release {found_release} revision {found_revision}, but its labels say release {release} revision {revision}"
    )]
    RecordMismatch {
        found_release: String,
        found_revision: u64,
        release: String,
        revision: u64,
    },
}

/// A head Secret whose labels and annotations have been checked; its chunks are not read yet.
#[derive(Debug)]
pub struct Head<'a> {
    pub secret_name: String,
    pub release: String,
    pub revision: u64,
    /// The whole record, or the first part of a chunked one.
    pub first_part: &'a [u8],
    pub chunk_set: Option<ChunkSet>,
}

/// The release name and revision a head Secret's labels claim.
pub fn labelled_revision(secret: &Secret) -> Result<(&str, u64), SecretDecodeError> {
    let label = |label: &'static str| {
        secret
            .metadata
            .labels
            .as_ref()
            .and_then(|labels| labels.get(label))
            .ok_or(SecretDecodeError::MissingLabel { label })
    };
    let release = label(NAME_LABEL)?;
    let version = label(VERSION_LABEL)?;
    let revision = version
        .parse::<u64>()
        .map_err(|_| SecretDecodeError::BadVersion {
            found: version.clone(),
        })?;
    Ok((release, revision))
}

/// Checks a head Secret's type, labels, name and chunk annotations.
pub fn parse_head(secret: &Secret) -> Result<Head<'_>, SecretDecodeError> {
    let found_type = secret.type_.as_deref().unwrap_or("");
    if found_type != RELEASE_SECRET_TYPE {
        return Err(SecretDecodeError::WrongType {
            found: found_type.to_string(),
        });
    }
    let (release, revision) = labelled_revision(secret)?;
    let expected = head_name(release, revision);
    let secret_name = secret.metadata.name.clone().unwrap_or_default();
    if secret_name != expected {
        return Err(SecretDecodeError::NameMismatch {
            release: release.to_string(),
            revision,
            expected,
        });
    }
    let first_part = secret
        .data
        .as_ref()
        .and_then(|data| data.get(RECORD_KEY))
        .ok_or(SecretDecodeError::MissingRecord)?;
    Ok(Head {
        secret_name,
        release: release.to_string(),
        revision,
        first_part: &first_part.0,
        chunk_set: parse_chunk_set(&secret.metadata)?,
    })
}

fn parse_chunk_set(metadata: &ObjectMeta) -> Result<Option<ChunkSet>, SecretDecodeError> {
    let annotations = metadata.annotations.as_ref();
    let get = |key: &'static str| annotations.and_then(|a| a.get(key));
    let Some(count) = get(CHUNKS_ANNOTATION) else {
        return Ok(None);
    };
    let count = count
        .parse::<usize>()
        .ok()
        .filter(|count| *count > 0)
        .ok_or_else(|| SecretDecodeError::BadAnnotation {
            key: CHUNKS_ANNOTATION,
            found: count.clone(),
            expected: "a number of chunks above 0",
        })?;
    let required = |key: &'static str| get(key).ok_or(SecretDecodeError::MissingAnnotation { key });
    let write_id = required(WRITE_ID_ANNOTATION)?;
    let is_label_safe = !write_id.is_empty()
        && write_id.len() <= 63
        && write_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !is_label_safe {
        return Err(SecretDecodeError::BadAnnotation {
            key: WRITE_ID_ANNOTATION,
            found: write_id.clone(),
            expected: "lowercase letters and digits",
        });
    }
    let sha256 = required(SHA256_ANNOTATION)?;
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SecretDecodeError::BadAnnotation {
            key: SHA256_ANNOTATION,
            found: sha256.clone(),
            expected: "a sha256 in hex",
        });
    }
    Ok(Some(ChunkSet {
        write_id: write_id.clone(),
        count,
        sha256: sha256.to_ascii_lowercase(),
    }))
}

/// The compressed record: the head's part, then each chunk's, checked against the digests.
/// `chunks` holds the chunk Secrets found, by name; others may be among them.
pub fn assemble(
    head: &Head<'_>,
    chunks: &HashMap<String, &Secret>,
) -> Result<Vec<u8>, SecretDecodeError> {
    let Some(set) = &head.chunk_set else {
        return Ok(head.first_part.to_vec());
    };
    let mut bytes = Vec::with_capacity(head.first_part.len() * (set.count + 1));
    bytes.extend_from_slice(head.first_part);
    for chunk in set.names(&head.secret_name) {
        let Some(secret) = chunks.get(&chunk) else {
            return Err(SecretDecodeError::ChunkMissing { chunk });
        };
        bytes.extend_from_slice(chunk_part(&chunk, secret)?);
    }
    let found = codec::sha256_hex(&bytes);
    if found != set.sha256 {
        return Err(SecretDecodeError::DigestMismatch {
            found,
            expected: set.sha256.clone(),
        });
    }
    Ok(bytes)
}

/// A chunk Secret's part, after checking it against its own digest.
fn chunk_part<'a>(chunk: &str, secret: &'a Secret) -> Result<&'a [u8], SecretDecodeError> {
    let invalid = |problem: String| SecretDecodeError::ChunkInvalid {
        chunk: chunk.to_string(),
        problem,
    };
    let found_type = secret.type_.as_deref().unwrap_or("");
    if found_type != CHUNK_SECRET_TYPE {
        return Err(invalid(format!(
            "has type {found_type:?}, expected {CHUNK_SECRET_TYPE:?}"
        )));
    }
    let part = secret
        .data
        .as_ref()
        .and_then(|data| data.get(CHUNK_KEY))
        .ok_or_else(|| invalid(format!("has no data key {CHUNK_KEY:?}")))?;
    let expected = secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(SHA256_ANNOTATION))
        .ok_or_else(|| invalid(format!("has no annotation {SHA256_ANNOTATION}")))?;
    let found = codec::sha256_hex(&part.0);
    if !found.eq_ignore_ascii_case(expected) {
        return Err(SecretDecodeError::ChunkCorrupt {
            chunk: chunk.to_string(),
            found,
            expected: expected.clone(),
        });
    }
    Ok(&part.0)
}

/// The record in a head and its chunks, checked to be the revision the head is named for.
pub fn decode(
    head: &Head<'_>,
    chunks: &HashMap<String, &Secret>,
) -> Result<ReleaseRecord, SecretDecodeError> {
    let bytes = assemble(head, chunks)?;
    let record = codec::decode_record(&bytes).map_err(SecretDecodeError::Record)?;
    if record.name != head.release || record.revision != head.revision {
        return Err(SecretDecodeError::RecordMismatch {
            found_release: record.name,
            found_revision: record.revision,
            release: head.release.clone(),
            revision: head.revision,
        });
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::Status;
    use crate::release::codec::tests::{incompressible_text, sample_record};

    fn by_name(secrets: &[Secret]) -> HashMap<String, &Secret> {
        secrets
            .iter()
            .map(|secret| (secret.metadata.name.clone().unwrap(), secret))
            .collect()
    }

    fn big_record() -> ReleaseRecord {
        let mut record = sample_record("big", 3, Status::PendingUpgrade);
        record.manifest = incompressible_text(2 * CHUNK_SIZE);
        record
    }

    fn labels(secret: &Secret) -> Vec<(&str, &str)> {
        secret
            .metadata
            .labels
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn a_small_record_is_one_labelled_head() {
        let record = sample_record("web", 7, Status::Deployed);
        let compressed = codec::encode_record(&record);
        let set = build(&ObjectMeta::default(), &record, &compressed, "g1");
        assert!(set.chunks.is_empty() && set.chunk_set.is_none());
        let head = &set.head;
        assert_eq!(
            head.metadata.name.as_deref(),
            Some("rchart.release.v1.web.v7")
        );
        assert_eq!(head.metadata.namespace.as_deref(), Some("default"));
        assert_eq!(head.type_.as_deref(), Some("rchart.io/release.v1"));
        assert_eq!(
            labels(head),
            [
                ("name", "web"),
                ("owner", "rchart"),
                ("status", "deployed"),
                ("version", "7")
            ]
        );
        assert_eq!(
            head.metadata.annotations,
            Some(BTreeMap::from([("rchart.io/write-id".into(), "g1".into())]))
        );
        assert_eq!(head.data.as_ref().unwrap()["release"].0, compressed);
        let parsed = parse_head(head).unwrap();
        assert_eq!(decode(&parsed, &HashMap::new()).unwrap(), record);
    }

    #[test]
    fn a_large_record_is_split_into_chunks_that_are_not_heads() {
        let record = big_record();
        let compressed = codec::encode_record(&record);
        let set = build(&ObjectMeta::default(), &record, &compressed, "0a1b2c3d");
        let chunk_set = set.chunk_set.clone().unwrap();
        assert_eq!(chunk_set.count, set.chunks.len());
        assert!(chunk_set.count >= 1);
        assert_eq!(chunk_set.sha256, codec::sha256_hex(&compressed));

        let annotations = set.head.metadata.annotations.as_ref().unwrap();
        assert_eq!(annotations["rchart.io/chunks"], chunk_set.count.to_string());
        assert_eq!(annotations["rchart.io/write-id"], "0a1b2c3d");
        assert_eq!(annotations["rchart.io/sha256"], chunk_set.sha256);

        let first = &set.chunks[0];
        assert_eq!(
            first.metadata.name.as_deref(),
            Some("rchart.release.v1.big.v3.chunk-0a1b2c3d-1")
        );
        assert_eq!(first.type_.as_deref(), Some("rchart.io/release-chunk.v1"));
        assert_eq!(
            labels(first),
            [
                ("owner", "rchart"),
                ("rchart.io/chunk-of-release", "big"),
                ("rchart.io/chunk-of-revision", "3"),
                ("rchart.io/write-id", "0a1b2c3d"),
            ]
        );
        for secret in std::iter::once(&set.head).chain(&set.chunks) {
            let size: usize = secret.data.iter().flatten().map(|(_, v)| v.0.len()).sum();
            assert!(size <= CHUNK_SIZE, "{size} bytes in one Secret");
        }

        let head = parse_head(&set.head).unwrap();
        assert!(
            decode(&head, &by_name(&set.chunks)).unwrap() == record,
            "reads back"
        );
    }

    #[test]
    fn a_missing_chunk_is_named() {
        let record = big_record();
        let set = build(
            &ObjectMeta::default(),
            &record,
            &codec::encode_record(&record),
            "g",
        );
        let head = parse_head(&set.head).unwrap();
        let error = decode(&head, &by_name(&set.chunks[1..])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "chunk Secret rchart.release.v1.big.v3.chunk-g-1 is missing"
        );
    }

    #[test]
    fn a_corrupt_chunk_is_named() {
        let record = big_record();
        let mut set = build(
            &ObjectMeta::default(),
            &record,
            &codec::encode_record(&record),
            "g",
        );
        set.chunks[0]
            .data
            .as_mut()
            .unwrap()
            .get_mut("chunk")
            .unwrap()
            .0[10] ^= 1;
        let head = parse_head(&set.head).unwrap();
        let error = decode(&head, &by_name(&set.chunks)).unwrap_err();
        assert!(
            matches!(&error, SecretDecodeError::ChunkCorrupt { chunk, .. } if chunk == "rchart.release.v1.big.v3.chunk-g-1"),
            "{error}"
        );
    }

    #[test]
    fn chunks_swapped_with_their_digests_fail_the_whole_record_digest() {
        let mut record = big_record();
        record.manifest = incompressible_text(3 * CHUNK_SIZE);
        let mut set = build(
            &ObjectMeta::default(),
            &record,
            &codec::encode_record(&record),
            "g",
        );
        assert!(set.chunks.len() >= 2);
        let (first, second) = set.chunks.split_at_mut(1);
        std::mem::swap(&mut first[0].data, &mut second[0].data);
        std::mem::swap(
            &mut first[0].metadata.annotations,
            &mut second[0].metadata.annotations,
        );
        let head = parse_head(&set.head).unwrap();
        let error = decode(&head, &by_name(&set.chunks)).unwrap_err();
        assert!(
            matches!(error, SecretDecodeError::DigestMismatch { .. }),
            "{error}"
        );
    }

    #[test]
    fn a_chunk_of_the_wrong_type_is_named() {
        let record = big_record();
        let mut set = build(
            &ObjectMeta::default(),
            &record,
            &codec::encode_record(&record),
            "g",
        );
        set.chunks[0].type_ = Some("Opaque".into());
        let head = parse_head(&set.head).unwrap();
        let error = decode(&head, &by_name(&set.chunks)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "chunk Secret rchart.release.v1.big.v3.chunk-g-1 has type \"Opaque\", expected \"rchart.io/release-chunk.v1\""
        );
    }

    #[test]
    fn heads_that_are_not_records_say_why() {
        let record = sample_record("web", 2, Status::Deployed);
        let good = build(
            &ObjectMeta::default(),
            &record,
            &codec::encode_record(&record),
            "g",
        )
        .head;
        let check = |change: &dyn Fn(&mut Secret), expected: &str| {
            let mut secret = good.clone();
            change(&mut secret);
            let error = parse_head(&secret)
                .and_then(|head| decode(&head, &HashMap::new()))
                .unwrap_err();
            assert_eq!(error.to_string(), expected);
        };
        check(
            &|s| s.type_ = Some("Opaque".into()),
            "its type is \"Opaque\", expected \"rchart.io/release.v1\"",
        );
        check(
            &|s| s.data = Some(BTreeMap::new()),
            "its data has no key \"release\"",
        );
        check(
            &|s| {
                s.metadata.labels.as_mut().unwrap().remove("version");
            },
            "it has no label version",
        );
        check(
            &|s| {
                s.metadata
                    .labels
                    .as_mut()
                    .unwrap()
                    .insert("version".into(), "two".into());
            },
            "its label version=\"two\" is not a revision number",
        );
        check(
            &|s| s.metadata.name = Some("rchart.release.v1.web.v9".into()),
            "its labels name=web and version=2 belong to Secret rchart.release.v1.web.v2",
        );
        check(
            &|s| {
                s.data
                    .as_mut()
                    .unwrap()
                    .insert("release".into(), ByteString(b"garbage".to_vec()));
            },
            "its record cannot be decoded",
        );
        check(
            &|s| {
                s.metadata.annotations =
                    Some(BTreeMap::from([(CHUNKS_ANNOTATION.into(), "2".into())]));
            },
            "its annotation rchart.io/write-id is missing; rchart.io/chunks says the record is chunked",
        );
    }

    #[test]
    fn a_record_copied_under_another_revision_is_refused() {
        let record = sample_record("web", 2, Status::Deployed);
        let compressed = codec::encode_record(&record);
        let mut other = record.clone();
        other.revision = 3;
        let set = build(&ObjectMeta::default(), &other, &compressed, "g");
        let head = parse_head(&set.head).unwrap();
        let error = decode(&head, &HashMap::new()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "its record is for release web revision 2, but its labels say release web revision 3"
        );
    }

    #[test]
    fn rebuilding_keeps_foreign_metadata_and_rewrites_rchart_metadata() {
        let big = big_record();
        let chunked = build(
            &ObjectMeta::default(),
            &big,
            &codec::encode_record(&big),
            "g",
        )
        .head;
        let mut base = chunked.metadata.clone();
        base.resource_version = Some("42".into());
        base.labels
            .as_mut()
            .unwrap()
            .insert("team".into(), "payments".into());

        let mut small = sample_record("big", 3, Status::Deployed);
        small.namespace = big.namespace.clone();
        let head = build(&base, &small, &codec::encode_record(&small), "h").head;
        assert_eq!(head.metadata.resource_version.as_deref(), Some("42"));
        let labels = head.metadata.labels.as_ref().unwrap();
        assert_eq!(labels["team"], "payments");
        assert_eq!(labels["status"], "deployed");
        assert_eq!(
            head.metadata.annotations,
            Some(BTreeMap::from([("rchart.io/write-id".into(), "h".into())])),
            "chunk annotations are dropped"
        );
    }

    #[test]
    fn selectors_always_name_the_release_and_revision() {
        assert_eq!(history_selector("web"), "owner=rchart,name=web");
        assert_eq!(heads_selector(), "owner=rchart,name");
        assert_eq!(
            chunks_selector("web", &[2, 5]),
            "owner=rchart,rchart.io/chunk-of-release=web,rchart.io/chunk-of-revision in (2,5)"
        );
        assert_eq!(
            write_selector("web", 2, "ab12"),
            "owner=rchart,rchart.io/chunk-of-release=web,rchart.io/chunk-of-revision=2,rchart.io/write-id=ab12"
        );
    }
}
