//! Writing chart packages: reproducible `.tgz` archives.
//!
//! The same files give the same bytes on every machine and every run:
//! - entries sorted by path, each directory right before its contents, starting with
//!   the top directory `NAME/`;
//! - mode 0644 for files and 0755 for directories, owner and group 0 with empty names,
//!   and one modification time given by the caller (`SOURCE_DATE_EPOCH`, or 0);
//! - a gzip header with mtime 0, no file name and OS byte 255 (flate2's `GzBuilder`
//!   defaults).
//!
//! Compressed bytes also depend on the deflate implementation: flate2's default
//! backend (miniz_oxide), pinned by `Cargo.lock`. A flate2 feature such as `zlib-rs`
//! switched on anywhere in the build would change every package digest; a unit test
//! pins one digest to catch that.
//!
//! A package is checked against the limits the archive reader applies, so every
//! package written here can be read back.

use std::collections::HashSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};
use tar::{EntryType, Header};

use super::escape::{escape_name, escape_path};
use super::files::{
    ChartFiles, MAX_CHART_SIZE, MAX_ENTRIES, MAX_FILE_SIZE, check_path, format_size,
};

/// Mode of every file in a package
pub const FILE_MODE: u32 = 0o644;

/// Mode of every directory in a package
pub const DIR_MODE: u32 = 0o755;

/// Deflate level. On a chart of 200 templates (750 KB), level 9 made the package 2%
/// smaller and took 40% longer than the default level 6.
fn compression() -> Compression {
    Compression::default()
}

/// Builds the package of `files` under the top directory `top_dir` (the chart name),
/// with every entry's modification time set to `mtime` (seconds since the epoch)
pub fn package_bytes(
    files: &ChartFiles,
    top_dir: &str,
    mtime: u64,
) -> Result<Vec<u8>, PackageError> {
    let tar = tar_bytes(files, top_dir, mtime)?;
    gzip(&tar)
}

/// The sha256 (lowercase hex) of the package [`package_bytes`] would build, without
/// writing a file
pub fn package_digest(
    files: &ChartFiles,
    top_dir: &str,
    mtime: u64,
) -> Result<String, PackageError> {
    Ok(sha256_hex(&package_bytes(files, top_dir, mtime)?))
}

/// Writes the package of `files` to `out_path` and returns its sha256 (lowercase hex)
///
/// The package is written to a temporary file in the same directory and renamed into
/// place, so `out_path` never holds a partial package and an existing file there is
/// replaced only by a complete one.
pub fn write_package(
    files: &ChartFiles,
    top_dir: &str,
    out_path: &Path,
    mtime: u64,
) -> Result<String, PackageError> {
    let bytes = package_bytes(files, top_dir, mtime)?;
    write_atomically(out_path, &bytes).map_err(|source| PackageError::Write {
        path: out_path.into(),
        source,
    })?;
    Ok(sha256_hex(&bytes))
}

/// The sha256 of `bytes` as lowercase hex
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// An error building or writing a package
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The top directory is not a single path component
    #[error(
        "invalid top directory \"{}\" for a chart package; expected one path component such as the chart name",
        escape_name(name)
    )]
    InvalidTopDir {
        /// The name given
        name: String,
    },
    /// There is nothing to package
    #[error("chart has no files to package")]
    Empty,
    /// A file over [`MAX_FILE_SIZE`]
    #[error(
        "file \"{}\" is {size} bytes; a chart file may be at most {}",
        escape_name(path),
        format_size(*limit)
    )]
    FileTooLarge {
        /// The chart path
        path: String,
        /// Its size in bytes
        size: u64,
        /// The limit in bytes
        limit: u64,
    },
    /// More than [`MAX_ENTRIES`] files and directories
    #[error("chart package would have {count} entries; the limit is {limit}")]
    TooManyEntries {
        /// Files and directories, the top directory included
        count: usize,
        /// The limit
        limit: usize,
    },
    /// A tar stream over [`MAX_CHART_SIZE`]
    #[error("chart package would decompress to {size} bytes; the limit is {}", format_size(*limit))]
    TooLarge {
        /// Size of the uncompressed tar stream
        size: u64,
        /// The limit in bytes
        limit: u64,
    },
    /// The tar writer refused an entry
    #[error("cannot add \"{}\" to the chart package", escape_name(entry))]
    Entry {
        /// The entry name
        entry: String,
        /// What the tar writer said
        #[source]
        source: io::Error,
    },
    /// Compressing failed
    #[error("cannot compress the chart package")]
    Compress(#[source] io::Error),
    /// Writing the package file failed; nothing was left at the path
    #[error("cannot write chart package \"{}\"", escape_path(path))]
    Write {
        /// The package path
        path: PathBuf,
        /// The underlying error
        #[source]
        source: io::Error,
    },
}

/// Builds the uncompressed, sorted tar stream
fn tar_bytes(files: &ChartFiles, top_dir: &str, mtime: u64) -> Result<Vec<u8>, PackageError> {
    if check_path(top_dir).is_err() || top_dir.contains('/') {
        return Err(PackageError::InvalidTopDir {
            name: top_dir.to_owned(),
        });
    }
    if files.is_empty() {
        return Err(PackageError::Empty);
    }
    if let Some((path, contents)) = files
        .iter()
        .find(|(_, contents)| contents.len() as u64 > MAX_FILE_SIZE)
    {
        return Err(PackageError::FileTooLarge {
            path: path.to_owned(),
            size: contents.len() as u64,
            limit: MAX_FILE_SIZE,
        });
    }
    if files.entry_count() > MAX_ENTRIES {
        return Err(PackageError::TooManyEntries {
            count: files.entry_count(),
            limit: MAX_ENTRIES,
        });
    }

    // Each entry takes a 512-byte header plus its data padded to 512 bytes
    let estimate = files.total_size() as usize + files.len() * 1024 + 64 * 1024;
    let mut tar = TarWriter {
        builder: tar::Builder::new(Vec::with_capacity(estimate)),
        mtime,
        entry_count: 0,
    };
    tar.append_dir(top_dir)?;
    let mut written_dirs = HashSet::new();
    for (path, contents) in files.iter() {
        // Files come sorted, so the first file under a directory is its first entry:
        // writing missing parents here puts each directory right before its contents.
        for (slash, _) in path.match_indices('/') {
            let dir = &path[..slash];
            if written_dirs.insert(dir) {
                tar.append_dir(&format!("{top_dir}/{dir}"))?;
            }
        }
        tar.append_file(&format!("{top_dir}/{path}"), contents)?;
    }

    debug_assert_eq!(
        tar.entry_count,
        files.entry_count(),
        "the package holds the entries ChartFiles counts"
    );
    let bytes = tar
        .builder
        .into_inner()
        .map_err(|source| PackageError::Entry {
            entry: "end-of-archive marker".to_owned(),
            source,
        })?;
    if bytes.len() as u64 > MAX_CHART_SIZE {
        return Err(PackageError::TooLarge {
            size: bytes.len() as u64,
            limit: MAX_CHART_SIZE,
        });
    }
    Ok(bytes)
}

/// Appends entries with the fixed metadata of a reproducible package
struct TarWriter {
    builder: tar::Builder<Vec<u8>>,
    mtime: u64,
    entry_count: usize,
}

impl TarWriter {
    fn append_dir(&mut self, name: &str) -> Result<(), PackageError> {
        self.append(name, EntryType::Directory, DIR_MODE, &[])
    }

    fn append_file(&mut self, name: &str, contents: &[u8]) -> Result<(), PackageError> {
        self.append(name, EntryType::Regular, FILE_MODE, contents)
    }

    fn append(
        &mut self,
        name: &str,
        entry_type: EntryType,
        mode: u32,
        contents: &[u8],
    ) -> Result<(), PackageError> {
        // A fresh ustar header is zero-filled, so user and group names stay empty
        let mut header = Header::new_ustar();
        header.set_entry_type(entry_type);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(self.mtime);
        header.set_size(contents.len() as u64);
        // Sets the path (a GNU long-name record when it does not fit) and the checksum
        self.builder
            .append_data(&mut header, name, contents)
            .map_err(|source| PackageError::Entry {
                entry: name.to_owned(),
                source,
            })?;
        self.entry_count += 1;
        Ok(())
    }
}

fn gzip(tar: &[u8]) -> Result<Vec<u8>, PackageError> {
    // `GzBuilder::new()` writes mtime 0, no file name and OS byte 255: the same header
    // on every machine
    let mut encoder =
        GzBuilder::new().write(Vec::with_capacity(tar.len() / 4 + 1024), compression());
    encoder.write_all(tar).map_err(PackageError::Compress)?;
    encoder.finish().map_err(PackageError::Compress)
}

/// Writes `bytes` to a temporary file next to `out_path`, then renames it into place
pub fn write_atomically(out_path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file_name = out_path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file")
    })?;
    let dir = match out_path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let prefix = format!(".{}.", file_name.to_string_lossy());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // The temporary file becomes the package: give it the mode any new file gets
    // (0666 less the umask) rather than tempfile's private 0600
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    // Dropping `temp` on an early return deletes the temporary file
    let mut temp = builder.tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(out_path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    use crate::chart::archive;

    fn sample() -> ChartFiles {
        let mut files = ChartFiles::new();
        for (path, contents) in [
            ("values.yaml", "replicas: 1\n"),
            ("templates/service.yaml", "kind: Service\n"),
            ("Chart.yaml", "apiVersion: v2\nname: demo\nversion: 0.1.0\n"),
            ("templates/_helpers.tpl", ""),
            ("templates-extra/a.yaml", "a\n"),
            ("templates/sub/deployment.yaml", "kind: Deployment\n"),
            ("charts/dep/Chart.yaml", "name: dep\n"),
        ] {
            files.insert(path, contents).unwrap();
        }
        files
    }

    /// (name, type, mode, uid, gid, uname, gname, mtime) of every entry
    type EntryFields = (String, EntryType, u32, u64, u64, Vec<u8>, Vec<u8>, u64);

    fn entries(package: &[u8]) -> Vec<EntryFields> {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(package));
        tar.entries()
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let header = entry.header();
                (
                    String::from_utf8(entry.path_bytes().into_owned()).unwrap(),
                    header.entry_type(),
                    header.mode().unwrap(),
                    header.uid().unwrap(),
                    header.gid().unwrap(),
                    header.username_bytes().unwrap().to_vec(),
                    header.groupname_bytes().unwrap().to_vec(),
                    header.mtime().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn entries_are_sorted_with_each_directory_before_its_contents() {
        let package = package_bytes(&sample(), "demo", 0).unwrap();
        let names: Vec<_> = entries(&package)
            .into_iter()
            .map(|(name, entry_type, ..)| match entry_type {
                EntryType::Directory => format!("{name}/"),
                _ => name,
            })
            .collect();
        assert_eq!(
            names,
            [
                "demo/",
                "demo/Chart.yaml",
                "demo/charts/",
                "demo/charts/dep/",
                "demo/charts/dep/Chart.yaml",
                "demo/templates-extra/",
                "demo/templates-extra/a.yaml",
                "demo/templates/",
                "demo/templates/_helpers.tpl",
                "demo/templates/service.yaml",
                "demo/templates/sub/",
                "demo/templates/sub/deployment.yaml",
                "demo/values.yaml",
            ]
        );
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }

    #[test]
    fn every_header_has_fixed_mode_owner_and_the_given_mtime() {
        let mtime = 1_700_000_000;
        let package = package_bytes(&sample(), "demo", mtime).unwrap();
        for (name, entry_type, mode, uid, gid, uname, gname, entry_mtime) in entries(&package) {
            let expected_mode = if entry_type == EntryType::Directory {
                0o755
            } else {
                0o644
            };
            assert_eq!(mode, expected_mode, "{name}");
            assert_eq!((uid, gid), (0, 0), "{name}");
            assert!(uname.is_empty() && gname.is_empty(), "{name}");
            assert_eq!(entry_mtime, mtime, "{name}");
        }
    }

    #[test]
    fn gzip_header_has_no_mtime_no_file_name_and_a_fixed_os_byte() {
        let package = package_bytes(&sample(), "demo", 1_700_000_000).unwrap();
        assert_eq!(package[..2], [0x1f, 0x8b]);
        assert_eq!(package[3], 0, "no FNAME, FCOMMENT or FEXTRA flags");
        assert_eq!(package[4..8], [0, 0, 0, 0], "gzip mtime");
        assert_eq!(package[9], 255, "OS byte");
    }

    #[test]
    fn the_same_tree_packages_to_identical_bytes_whatever_the_order_and_file_times() {
        let build = |root: &Path, order: &[&str], mtime_secs: u64| {
            for rel in order {
                let path = root.join(rel);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(&path, format!("contents of {rel}\n")).unwrap();
                let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime_secs);
                fs::File::options()
                    .write(true)
                    .open(&path)
                    .unwrap()
                    .set_modified(time)
                    .unwrap();
            }
        };
        let paths = [
            "Chart.yaml",
            "values.yaml",
            "templates/a.yaml",
            "templates/b/c.yaml",
        ];
        let mut reversed = paths;
        reversed.reverse();

        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        build(first.path(), &paths, 1_000_000);
        build(second.path(), &reversed, 2_000_000_000);

        let first_files = ChartFiles::from_dir(first.path()).unwrap();
        let second_files = ChartFiles::from_dir(second.path()).unwrap();
        let first_package = package_bytes(&first_files, "demo", 0).unwrap();
        assert_eq!(
            first_package,
            package_bytes(&second_files, "demo", 0).unwrap()
        );
        assert_eq!(
            first_package,
            package_bytes(&first_files, "demo", 0).unwrap()
        );
        assert_ne!(
            first_package,
            package_bytes(&first_files, "demo", 1).unwrap()
        );
    }

    #[test]
    fn a_package_reads_back_to_the_same_files() {
        let mut files = sample();
        let long_path = format!(
            "templates/{}/deployment.yaml",
            ["a-long-directory-name"; 8].join("/")
        );
        files
            .insert(long_path.as_str(), "kind: Deployment\n")
            .unwrap();
        files.insert("files/h\u{e9}llo.txt", "bonjour\n").unwrap();
        files
            .insert(
                "files/binary.bin",
                (0..=255u8).cycle().take(70_000).collect::<Vec<_>>(),
            )
            .unwrap();

        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("demo-0.1.0.tgz");
        write_package(&files, "demo", &out, 0).unwrap();
        let read = archive::read_archive_file(&out).unwrap();
        assert_eq!(read.top_dir, "demo");
        assert_eq!(read.files, files);
    }

    #[test]
    fn write_package_returns_the_sha256_of_the_file_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("demo-0.1.0.tgz");
        let digest = write_package(&sample(), "demo", &out, 0).unwrap();
        let written = fs::read(&out).unwrap();
        assert_eq!(digest, sha256_hex(&written));
        assert_eq!(digest, package_digest(&sample(), "demo", 0).unwrap());
        assert_eq!(digest.len(), 64);
        assert!(
            digest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }

    #[test]
    fn package_digest_is_stable_across_builds_of_rchart() {
        // If this fails, packages of unchanged charts get new digests: the tar layout,
        // flate2, its deflate backend or the compression level changed. Make sure that
        // is intended, then update the digest.
        let mut files = ChartFiles::new();
        files
            .insert("Chart.yaml", "apiVersion: v2\nname: demo\nversion: 0.1.0\n")
            .unwrap();
        files
            .insert("templates/cm.yaml", "kind: ConfigMap\n")
            .unwrap();
        assert_eq!(
            package_digest(&files, "demo", 0).unwrap(),
            "a9812c1678cde9f56c4246a998d7d9e6cdb3ef22b96e8c4333549ae13186f7d7"
        );
    }

    #[test]
    fn a_failed_rename_leaves_no_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory where the package should go makes the rename fail
        let out = dir.path().join("demo-0.1.0.tgz");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("keep"), "").unwrap();

        let err = write_package(&sample(), "demo", &out, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot write chart package {out:?}")
        );
        let mut left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["demo-0.1.0.tgz"]);
        assert!(out.join("keep").exists());
    }

    #[test]
    fn a_failed_package_keeps_the_previous_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("demo-0.1.0.tgz");
        fs::write(&out, "previous package").unwrap();
        let err = write_package(&ChartFiles::new(), "demo", &out, 0).unwrap_err();
        assert_eq!(err.to_string(), "chart has no files to package");
        assert_eq!(fs::read(&out).unwrap(), b"previous package");

        let missing_dir = dir.path().join("missing/demo-0.1.0.tgz");
        let err = write_package(&sample(), "demo", &missing_dir, 0).unwrap_err();
        assert!(matches!(err, PackageError::Write { .. }), "{err}");
        assert!(!missing_dir.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_written_package_gets_the_mode_of_any_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("demo-0.1.0.tgz");
        write_package(&sample(), "demo", &out, 0).unwrap();
        // A plain new file gets 0666 less the umask; a temporary file would be 0600
        let plain = dir.path().join("plain");
        fs::write(&plain, "").unwrap();
        assert_eq!(mode(&out), mode(&plain), "package mode {:o}", mode(&out));
    }

    #[test]
    fn an_invalid_top_directory_is_rejected() {
        for name in ["", "a/b", "..", ".", "/abs", "a\\b"] {
            let err = package_bytes(&sample(), name, 0).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "invalid top directory {name:?} for a chart package; \
                     expected one path component such as the chart name"
                )
            );
        }
    }

    #[test]
    fn a_package_the_reader_would_refuse_is_not_written() {
        let mut files = sample();
        files
            .insert("big.bin", vec![0; MAX_FILE_SIZE as usize + 1])
            .unwrap();
        let err = package_bytes(&files, "demo", 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "file \"big.bin\" is 5242881 bytes; a chart file may be at most 5 MiB"
        );

        let mut files = ChartFiles::new();
        for i in 0..MAX_ENTRIES {
            files.insert(format!("f{i:05}"), "").unwrap();
        }
        // The top directory makes one entry too many
        let err = package_bytes(&files, "demo", 0).unwrap_err();
        assert!(
            matches!(err, PackageError::TooManyEntries { count, .. } if count == MAX_ENTRIES + 1)
        );
    }

    #[test]
    fn a_chart_at_the_entry_limit_packages_and_reads_back() {
        let mut files = ChartFiles::new();
        // The top directory, 99 directories and their files: exactly the limit
        let per_dir = (MAX_ENTRIES - 1) / 100 - 1;
        for d in 0..99 {
            for f in 0..per_dir {
                files.insert(format!("d{d:02}/f{f:03}"), "").unwrap();
            }
        }
        let filler = MAX_ENTRIES - files.entry_count();
        for f in 0..filler {
            files.insert(format!("f{f:03}"), "").unwrap();
        }
        assert_eq!(files.entry_count(), MAX_ENTRIES);
        let bytes = package_bytes(&files, "demo", 0).unwrap();
        let read_back = archive::read_archive("demo.tgz", &bytes[..]).unwrap();
        assert_eq!(read_back.files.entry_count(), MAX_ENTRIES);

        files.insert("one/more", "").unwrap();
        let err = package_bytes(&files, "demo", 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "chart package would have {} entries; the limit is 10000",
                MAX_ENTRIES + 2
            )
        );
    }
}
