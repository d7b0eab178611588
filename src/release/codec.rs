//! The bytes of a stored record: gzip-compressed JSON, its digest, and how it is cut into
//! parts that each fit in one Secret.
//!
//! Everything here is pure; [`super::secrets`] puts the bytes into Secrets.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::ReleaseRecord;

/// The most record bytes one Secret carries.
///
/// The API server refuses a Secret whose data adds up to more than 1 MiB (1048576 bytes).
/// 800 KiB keeps a fifth of that in reserve, so each object also stays well inside etcd's
/// 1.5 MiB request limit once metadata and managed fields are added, and its JSON request
/// body (data is base64 there: about 1.07 MiB) stays far below the API server's 3 MiB limit.
pub const CHUNK_SIZE: usize = 800 * 1024;

/// The largest record JSON a decoder inflates. Real records are a few MiB at most; the cap
/// keeps a hostile or corrupt Secret from exhausting memory with a gzip bomb.
pub const MAX_RECORD_JSON: u64 = 256 * 1024 * 1024;

/// Why stored bytes are not a release record.
#[derive(Debug, thiserror::Error)]
pub enum RecordDecodeError {
    #[error("the data is not gzip-compressed (it starts with {found}, expected 1f 8b)")]
    NotGzip { found: String },
    #[error("the gzip data is damaged")]
    Gzip(#[source] std::io::Error),
    #[error("the record is larger than {} MiB once decompressed", MAX_RECORD_JSON / 1024 / 1024)]
    TooLarge,
    #[error("the JSON is not a release record")]
    Json(#[source] serde_json::Error),
}

/// gzip-compressed JSON of `record`: the bytes rchart stores.
pub fn encode_record(record: &ReleaseRecord) -> Vec<u8> {
    let json = serde_json::to_vec(record).expect("a release record always serialises to JSON");
    // `GzEncoder::new` writes mtime 0 and no file name, so equal records give equal bytes.
    let mut encoder = GzEncoder::new(Vec::with_capacity(json.len() / 4), Compression::default());
    encoder
        .write_all(&json)
        .and_then(|()| encoder.finish())
        .expect("writing into a Vec cannot fail")
}

/// The record in `bytes`, as written by [`encode_record`].
pub fn decode_record(bytes: &[u8]) -> Result<ReleaseRecord, RecordDecodeError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        let found = bytes
            .iter()
            .take(2)
            .map(|byte| format!("{byte:02x}"))
            .collect::<Vec<_>>();
        let found = if found.is_empty() {
            "nothing".to_string()
        } else {
            found.join(" ")
        };
        return Err(RecordDecodeError::NotGzip { found });
    }
    let mut json = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_RECORD_JSON + 1)
        .read_to_end(&mut json)
        .map_err(RecordDecodeError::Gzip)?;
    if json.len() as u64 > MAX_RECORD_JSON {
        return Err(RecordDecodeError::TooLarge);
    }
    serde_json::from_slice(&json).map_err(RecordDecodeError::Json)
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from_digit(u32::from(byte >> 4), 16).expect("a nibble is a hex digit"));
        hex.push(char::from_digit(u32::from(byte & 0xf), 16).expect("a nibble is a hex digit"));
    }
    hex
}

/// `bytes` cut into parts of at most `size` bytes, in order; one part when it fits.
pub fn split(bytes: &[u8], size: usize) -> Vec<&[u8]> {
    if bytes.is_empty() {
        return vec![bytes];
    }
    bytes.chunks(size).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::release::{Status, Timestamp};

    /// A small but complete record.
    pub(crate) fn sample_record(name: &str, revision: u64, status: Status) -> ReleaseRecord {
        let chart: crate::chart::Metadata = serde_json::from_value(
            serde_json::json!({"apiVersion": "v2", "name": "web", "version": "1.2.3"}),
        )
        .unwrap();
        let mut values = crate::values::Values::new();
        values.insert("replicas".into(), serde_json::json!(3));
        ReleaseRecord {
            name: name.to_string(),
            namespace: "default".to_string(),
            revision,
            status,
            description: "Install complete".to_string(),
            first_deployed: Timestamp("2026-01-02T03:04:05Z".to_string()),
            last_deployed: Timestamp("2026-01-02T03:04:05Z".to_string()),
            deleted: None,
            chart,
            chart_digest: "sha256:00".to_string(),
            chart_origin: None,
            user_values: values.clone(),
            merged_values: values,
            manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n".to_string(),
            notes: None,
            resources: Vec::new(),
            kept_resources: Vec::new(),
            rollback_of: None,
            hooks: Vec::new(),
        }
    }

    /// `len` bytes of base64 text drawn from a fixed-seed generator: gzip cannot shrink it
    /// below about three quarters of its size, as with real secrets or certificates.
    pub(crate) fn incompressible_text(len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..len)
            .map(|_| {
                // xorshift64*: fast, and good enough to defeat deflate.
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                let value = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
                char::from(ALPHABET[(value >> 58) as usize])
            })
            .collect()
    }

    #[test]
    fn records_round_trip_through_gzip_json() {
        let record = sample_record("web", 4, Status::Deployed);
        let bytes = encode_record(&record);
        assert_eq!(
            &bytes[..3],
            &[0x1f, 0x8b, 0x08],
            "gzip magic and deflate method"
        );
        assert_eq!(decode_record(&bytes).unwrap(), record);
    }

    /// The JSON of `sample_record("web", 4, Status::Deployed)`, byte for byte: the field
    /// names and order a person reading a record with kubectl sees.
    const SAMPLE_JSON: &str = r#"{"name":"web","namespace":"default","revision":4,"status":"deployed","description":"Install complete","firstDeployed":"2026-01-02T03:04:05Z","lastDeployed":"2026-01-02T03:04:05Z","chart":{"apiVersion":"v2","name":"web","version":"1.2.3","type":"application"},"chartDigest":"sha256:00","userValues":{"replicas":3},"mergedValues":{"replicas":3},"manifest":"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n","resources":[]}"#;

    /// The same record as this version stores it (base64 of the gzip bytes). The deflate
    /// stream is flate2's: should an update of it change these bytes, records stored
    /// before must still decode, as the test below shows, and the constant is updated.
    const SAMPLE_STORED: &str = "H4sIAAAAAAAA/42QMW/CMBCF/4p1MyDHAQavZenQrWJo0+FqX4JVx7FsJxVC/Pc6hsKExGbf++7uvTuBw55Awi99w6J8okc1VzS1ONqUq4EmE83gQK4XEBOmMRbd2+FIOgOaogrGp8LAq8uMtUwNvbeUKAOtCTHt/hskCC62S14tuXjnteRryTcfGbP4DKUOGBLIE6A3ewoXZzCJq/9bmOmmVSuxqnMlHf0so/fWKCx2z9d5O9NRzFMhHlBstpLzzI+Rwh7tSHFeF6i05Xedu3oKHemHKjrTXgbeXUo2VY37MU5L9jK41nRv6BvXU0KNCWXjGJsTSJYDNK5cPg5jUPOGz6/zH3QifEKtAQAA";

    fn sample_stored() -> Vec<u8> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(SAMPLE_STORED)
            .unwrap()
    }

    #[test]
    fn a_record_is_known_json_in_gzip_without_time_or_file_name() {
        let bytes = encode_record(&sample_record("web", 4, Status::Deployed));
        assert_eq!(
            bytes[..10],
            // magic, deflate, no flags (no file name), mtime 0, no extra flags, OS unknown
            [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff]
        );
        let mut json = String::new();
        GzDecoder::new(&bytes[..])
            .read_to_string(&mut json)
            .unwrap();
        assert_eq!(json, SAMPLE_JSON);
        assert_eq!(bytes, sample_stored(), "the stored bytes are known");
    }

    #[test]
    fn a_record_stored_before_decodes_to_the_same_record() {
        assert_eq!(
            decode_record(&sample_stored()).unwrap(),
            sample_record("web", 4, Status::Deployed)
        );
    }

    #[test]
    fn equal_records_built_apart_encode_to_equal_bytes() {
        let built = sample_record("web", 4, Status::Deployed);
        let parsed: ReleaseRecord = serde_json::from_str(SAMPLE_JSON).unwrap();
        assert_eq!(encode_record(&parsed), encode_record(&built));
        let mut other = parsed;
        other.revision = 5;
        assert_ne!(encode_record(&other), encode_record(&built));
    }

    #[test]
    fn the_json_inside_uses_the_record_field_names() {
        let bytes = encode_record(&sample_record("web", 2, Status::PendingUpgrade));
        let mut json = String::new();
        GzDecoder::new(&bytes[..])
            .read_to_string(&mut json)
            .unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["name"], "web");
        assert_eq!(value["revision"], 2);
        assert_eq!(value["status"], "pending-upgrade");
        assert_eq!(value["firstDeployed"], "2026-01-02T03:04:05Z");
        assert!(
            value.get("hooks").is_none(),
            "a record without hooks reads as records did before hooks"
        );
    }

    #[test]
    fn data_that_is_not_gzip_is_named_by_its_first_bytes() {
        let error = decode_record(b"{\"name\":\"web\"}").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the data is not gzip-compressed (it starts with 7b 22, expected 1f 8b)"
        );
        let error = decode_record(b"").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the data is not gzip-compressed (it starts with nothing, expected 1f 8b)"
        );
    }

    #[test]
    fn truncated_gzip_is_damaged() {
        let bytes = encode_record(&sample_record("web", 1, Status::Deployed));
        let error = decode_record(&bytes[..bytes.len() / 2]).unwrap_err();
        assert!(matches!(error, RecordDecodeError::Gzip(_)), "{error:?}");
        assert_eq!(error.to_string(), "the gzip data is damaged");
    }

    #[test]
    fn a_flipped_byte_fails_the_gzip_checksum() {
        let mut bytes = encode_record(&sample_record("web", 1, Status::Deployed));
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        assert!(decode_record(&bytes).is_err());
    }

    #[test]
    fn gzip_of_other_json_is_not_a_record() {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(br#"{"kind":"ConfigMap"}"#).unwrap();
        let error = decode_record(&encoder.finish().unwrap()).unwrap_err();
        assert!(matches!(error, RecordDecodeError::Json(_)), "{error:?}");
        assert!(
            std::error::Error::source(&error)
                .unwrap()
                .to_string()
                .contains("missing field"),
            "{error:?}"
        );
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn split_cuts_at_the_size_and_keeps_order() {
        let bytes: Vec<u8> = (0..=255).collect();
        let parts = split(&bytes, 100);
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [100, 100, 56]
        );
        assert_eq!(parts.concat(), bytes);
        assert_eq!(split(&bytes, 256).len(), 1);
        assert_eq!(split(&bytes, 255).len(), 2);
    }

    #[test]
    fn a_ten_mib_incompressible_manifest_needs_several_parts_and_reads_back() {
        let mut record = sample_record("big", 1, Status::Deployed);
        record.manifest = incompressible_text(10 * 1024 * 1024);
        let bytes = encode_record(&record);
        let parts = split(&bytes, CHUNK_SIZE);
        assert!(
            parts.len() >= 8,
            "{} bytes gave {} parts",
            bytes.len(),
            parts.len()
        );
        assert!(parts.iter().all(|part| part.len() <= CHUNK_SIZE));
        // Not assert_eq: a failure would print 10 MiB twice.
        assert!(decode_record(&parts.concat()).unwrap() == record);
    }
}
