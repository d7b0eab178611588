//! Reading chart archives (`.tgz`) safely.
//!
//! A chart archive may come from anywhere, so it is read as hostile input. It is read
//! into memory only, never unpacked to disk, and rejected with an error naming the
//! archive and the entry when:
//! - an entry has an absolute path or a `..` component;
//! - an entry is a symlink, hardlink, device file, fifo or any other type than regular
//!   file and directory. Metadata records are fine: GNU long names and pax extended
//!   headers are applied by the `tar` crate, and pax global headers (which `git archive`
//!   writes) are skipped;
//! - an entry sits outside the single top directory `NAME/`;
//! - a file is over [`MAX_FILE_SIZE`], or the archive decompresses to more than
//!   [`MAX_CHART_SIZE`] (or, for an archive inside another chart's `charts/`, to more than
//!   what is left of that limit for the whole tree: [`read_archive_within`]). Decompressed
//!   bytes are counted as they are inflated, so a gzip bomb is stopped after that many
//!   bytes;
//! - there are more than [`MAX_ENTRIES`] tar entries of any kind, or the files would make
//!   a package of more than [`MAX_ENTRIES`] entries (the top directory, each directory
//!   holding a file, and each file: [`ChartFiles::entry_count`], the count directory
//!   charts and packages are held to), even when the archive leaves directory entries
//!   out;
//! - a file appears twice, or one path is both a file and a directory;
//! - anything follows the end of the archive (non-zero data after the tar end marker,
//!   or a second gzip member): other tools would read those bytes as more files;
//! - the data is not gzip, is truncated or corrupt (the gzip CRC is checked), or holds
//!   no files.
//!
//! `.` and empty path components (`./mychart/x`, `mychart//x`) are dropped, as some
//! tar writers produce them.
//!
//! Entry names, link targets and the archive's own name are shown in messages escaped
//! ([`super::escape`]), so a name cannot carry terminal escapes or bidi overrides.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::GzDecoder;
use tar::EntryType;

use super::escape::escape_name;
use super::files::{
    ChartFiles, InsertError, MAX_CHART_SIZE, MAX_ENTRIES, MAX_FILE_SIZE, PathProblem, check_path,
    format_size,
};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

const ONLY_FILES_AND_DIRS: &str = "chart archives may hold only regular files and directories";

/// A chart read from an archive
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartArchive {
    /// The one top-level directory every entry sits under, usually the chart name
    pub top_dir: String,
    /// The files, with the `top_dir/` prefix removed from their paths
    pub files: ChartFiles,
}

/// Reads the chart archive at `path`; see the module documentation for what is rejected
pub fn read_archive_file(path: &Path) -> Result<ChartArchive, ArchiveError> {
    let archive = path.display().to_string();
    let file = File::open(path).map_err(|source| ArchiveError::Read {
        archive: archive.clone(),
        source,
    })?;
    read_archive(&archive, file)
}

/// Reads a chart archive from `reader`; `archive` names it in error messages
pub fn read_archive(archive: &str, reader: impl Read) -> Result<ChartArchive, ArchiveError> {
    read_archive_within(archive, reader, MAX_CHART_SIZE)
}

/// [`read_archive`], stopping after `limit` decompressed bytes (at most
/// [`MAX_CHART_SIZE`]): a chart archive inside another chart's `charts/` gets what is left
/// of the limit the whole tree of charts shares.
pub fn read_archive_within(
    archive: &str,
    mut reader: impl Read,
    limit: u64,
) -> Result<ChartArchive, ArchiveError> {
    let limit = limit.min(MAX_CHART_SIZE);
    let mut magic = Vec::with_capacity(GZIP_MAGIC.len());
    (&mut reader)
        .take(GZIP_MAGIC.len() as u64)
        .read_to_end(&mut magic)
        .map_err(|source| ArchiveError::Read {
            archive: archive.to_owned(),
            source,
        })?;
    if magic != GZIP_MAGIC {
        return Err(ArchiveError::NotGzip {
            archive: archive.to_owned(),
        });
    }

    let compressed = BufReader::new(io::Cursor::new(magic).chain(reader));
    let decompressed = DecompressedLimit::new(GzDecoder::new(compressed), limit);
    let mut tar = tar::Archive::new(decompressed);
    let mut collector = Collector::new(archive);
    let entries_read = collector.read_entries(&mut tar);

    let mut decompressed = tar.into_inner();
    let end_checked = entries_read.and_then(|()| collector.check_end(&mut decompressed));
    if decompressed.exceeded() {
        return Err(ArchiveError::TooLarge {
            archive: archive.to_owned(),
            position: collector.position,
            limit,
        });
    }
    end_checked?;
    collector.finish()
}

/// Where in the archive reading stopped, for error messages
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// Before the first entry
    Start,
    /// While reading this entry
    InEntry(String),
    /// After this entry, before the next one was read
    AfterEntry(String),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Start => Ok(()),
            Position::InEntry(entry) => write!(f, " in entry \"{}\"", escape_name(entry)),
            Position::AfterEntry(entry) => write!(f, " after entry \"{}\"", escape_name(entry)),
        }
    }
}

/// An error reading a chart archive; every message names the archive
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The archive could not be opened or read
    #[error("cannot read chart archive \"{}\"", escape_name(archive))]
    Read {
        /// The archive
        archive: String,
        /// The underlying error
        #[source]
        source: io::Error,
    },
    /// The data does not start with the gzip magic bytes
    #[error(
        "chart archive \"{}\" is not gzip-compressed; a chart package is a .tgz file",
        escape_name(archive)
    )]
    NotGzip {
        /// The archive
        archive: String,
    },
    /// The gzip or tar data is damaged or ends early
    #[error(
        "chart archive \"{}\" is truncated or corrupt{position}",
        escape_name(archive)
    )]
    Corrupt {
        /// The archive
        archive: String,
        /// Where reading stopped
        position: Position,
        /// What the decoder said
        #[source]
        source: io::Error,
    },
    /// More than [`MAX_CHART_SIZE`] bytes of decompressed data
    #[error(
        "chart archive \"{}\" decompresses to more than {}; stopped reading{position}",
        escape_name(archive),
        format_size(*limit)
    )]
    TooLarge {
        /// The archive
        archive: String,
        /// Where reading stopped
        position: Position,
        /// The limit in bytes
        limit: u64,
    },
    /// More than [`MAX_ENTRIES`] entries
    #[error(
        "chart archive \"{}\" has more than {limit} entries",
        escape_name(archive)
    )]
    TooManyEntries {
        /// The archive
        archive: String,
        /// The limit
        limit: usize,
    },
    /// No files at all
    #[error("chart archive \"{}\" holds no files", escape_name(archive))]
    Empty {
        /// The archive
        archive: String,
    },
    /// Bytes after the end of the archive, which other tools might read as files
    #[error(
        "chart archive \"{}\" has data after the end of the {after}",
        escape_name(archive)
    )]
    TrailingData {
        /// The archive
        archive: String,
        /// What it follows: "tar archive" or "gzip stream"
        after: &'static str,
    },
    /// One entry is unsafe or invalid
    #[error(
        "chart archive \"{}\": entry \"{}\" {problem}",
        escape_name(archive),
        escape_name(entry)
    )]
    Entry {
        /// The archive
        archive: String,
        /// The entry name as stored in the archive
        entry: String,
        /// What is wrong with it
        problem: EntryProblem,
    },
}

/// What is wrong with one archive entry; each message completes "entry X …"
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryProblem {
    /// An absolute path, a `..` component, a backslash or a NUL byte
    #[error("{0}")]
    Path(PathProblem),
    /// The name is not valid UTF-8
    #[error("has a name that is not valid UTF-8")]
    NonUtf8Name,
    /// A symbolic link
    #[error("is a symlink to \"{}\"; {ONLY_FILES_AND_DIRS}", escape_name(target))]
    Symlink {
        /// The link target
        target: String,
    },
    /// A hard link
    #[error("is a hardlink to \"{}\"; {ONLY_FILES_AND_DIRS}", escape_name(target))]
    Hardlink {
        /// The link target
        target: String,
    },
    /// A character device
    #[error("is a character device; {ONLY_FILES_AND_DIRS}")]
    CharDevice,
    /// A block device
    #[error("is a block device; {ONLY_FILES_AND_DIRS}")]
    BlockDevice,
    /// A fifo
    #[error("is a fifo; {ONLY_FILES_AND_DIRS}")]
    Fifo,
    /// Any other entry type, such as a GNU sparse file
    #[error("has entry type {0:?}; {ONLY_FILES_AND_DIRS}")]
    UnsupportedType(char),
    /// The entry is under a second top-level name
    #[error(
        "is outside the top directory \"{}\"; all entries must sit under one directory",
        escape_name(top_dir)
    )]
    OutsideTopDir {
        /// The top directory set by the first entry, with a trailing `/`
        top_dir: String,
    },
    /// A file at the top level instead of inside the top directory
    #[error(
        "is a file outside any directory; all entries must sit under one top directory named after the chart"
    )]
    TopLevelFile,
    /// A file over [`MAX_FILE_SIZE`]
    #[error("is {size} bytes; a chart file may be at most {}", format_size(*limit))]
    FileTooLarge {
        /// The size the entry declares
        size: u64,
        /// The limit in bytes
        limit: u64,
    },
    /// The same file path appears twice
    #[error("appears more than once")]
    Duplicate,
    /// The path is both a file and a directory
    #[error(
        "conflicts with \"{}\": a path cannot be both a file and a directory",
        escape_name(other)
    )]
    Conflict {
        /// The other entry
        other: String,
    },
}

/// What to do with an entry, judged from its type
enum EntryKind {
    File,
    Dir,
    /// Metadata with no file of its own
    Skip,
    Rejected(EntryProblem),
}

/// Gathers the entries of one archive into a [`ChartArchive`]
struct Collector<'a> {
    archive: &'a str,
    top_dir: Option<String>,
    files: ChartFiles,
    /// Directory entries as (entry name, chart path), checked against files at the end
    dirs: Vec<(String, String)>,
    entry_count: usize,
    position: Position,
}

impl<'a> Collector<'a> {
    fn new(archive: &'a str) -> Self {
        Self {
            archive,
            top_dir: None,
            files: ChartFiles::new(),
            dirs: Vec::new(),
            entry_count: 0,
            position: Position::Start,
        }
    }

    fn read_entries<R: Read>(&mut self, tar: &mut tar::Archive<R>) -> Result<(), ArchiveError> {
        let entries = tar.entries().map_err(|e| self.corrupt(e))?;
        for entry in entries {
            let entry = entry.map_err(|e| self.corrupt(e))?;
            self.add_entry(entry)?;
        }
        Ok(())
    }

    fn add_entry<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<(), ArchiveError> {
        self.entry_count += 1;
        if self.entry_count > MAX_ENTRIES {
            return Err(ArchiveError::TooManyEntries {
                archive: self.archive.to_owned(),
                limit: MAX_ENTRIES,
            });
        }
        let raw_name = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw_name).into_owned();
        self.position = Position::InEntry(name.clone());

        let kind = classify(&entry);
        if let EntryKind::Skip = kind {
            self.position = Position::AfterEntry(name);
            return Ok(());
        }
        if std::str::from_utf8(&raw_name).is_err() {
            return Err(self.entry_error(name, EntryProblem::NonUtf8Name));
        }
        let components = match split_entry_path(&name) {
            Ok(components) => components,
            Err(problem) => return Err(self.entry_error(name, EntryProblem::Path(problem))),
        };
        if let EntryKind::Rejected(problem) = kind {
            return Err(self.entry_error(name, problem));
        }
        let Some((top, rest)) = components.split_first() else {
            // "./": the archive root itself, which carries nothing
            self.position = Position::AfterEntry(name);
            return Ok(());
        };
        match &self.top_dir {
            None => self.top_dir = Some((*top).to_owned()),
            Some(top_dir) if top_dir != top => {
                let top_dir = format!("{top_dir}/");
                return Err(self.entry_error(name, EntryProblem::OutsideTopDir { top_dir }));
            }
            Some(_) => {}
        }
        let rel_path = rest.join("/");

        if let EntryKind::Dir = kind {
            if !rel_path.is_empty() {
                self.dirs.push((name.clone(), rel_path));
            }
        } else {
            self.add_file(&name, rel_path, &mut entry)?;
        }
        self.position = Position::AfterEntry(name);
        Ok(())
    }

    fn add_file<R: Read>(
        &mut self,
        name: &str,
        rel_path: String,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), ArchiveError> {
        if rel_path.is_empty() {
            return Err(self.entry_error(name.to_owned(), EntryProblem::TopLevelFile));
        }
        // The declared size (pax-corrected by the tar crate) is checked before reading
        let size = entry.size();
        if size > MAX_FILE_SIZE {
            let problem = EntryProblem::FileTooLarge {
                size,
                limit: MAX_FILE_SIZE,
            };
            return Err(self.entry_error(name.to_owned(), problem));
        }
        if self.files.contains(&rel_path) {
            return Err(self.entry_error(name.to_owned(), EntryProblem::Duplicate));
        }
        // Counted as a package of these files would hold them, so that a chart read from
        // any archive can be packaged again
        if self.files.entry_count() + self.files.entries_added_by(&rel_path) > MAX_ENTRIES {
            return Err(ArchiveError::TooManyEntries {
                archive: self.archive.to_owned(),
                limit: MAX_ENTRIES,
            });
        }
        let mut contents = Vec::with_capacity(size as usize);
        entry
            .read_to_end(&mut contents)
            .map_err(|e| self.corrupt(e))?;
        if contents.len() as u64 != size {
            let short = io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("entry data ends after {} of {size} bytes", contents.len()),
            );
            return Err(self.corrupt(short));
        }
        self.files
            .insert(rel_path, contents)
            .map_err(|error| match error {
                InsertError::InvalidPath { problem, .. } => {
                    self.entry_error(name.to_owned(), EntryProblem::Path(problem))
                }
                InsertError::Conflict { existing, .. } => {
                    let top_dir = self.top_dir.as_deref().unwrap_or_default();
                    let other = format!("{top_dir}/{existing}");
                    self.entry_error(name.to_owned(), EntryProblem::Conflict { other })
                }
            })
    }

    /// Checks what follows the tar end marker: only zero padding, then the end of the
    /// one gzip member
    fn check_end<R: BufRead>(
        &mut self,
        decompressed: &mut DecompressedLimit<GzDecoder<R>>,
    ) -> Result<(), ArchiveError> {
        // Reading to the end also makes the decoder check the gzip CRC and length
        if !only_zeros_remain(decompressed).map_err(|e| self.corrupt(e))? {
            return Err(self.trailing_data("tar archive"));
        }
        let compressed = decompressed.get_mut().get_mut();
        if !compressed
            .fill_buf()
            .map_err(|e| self.corrupt(e))?
            .is_empty()
        {
            return Err(self.trailing_data("gzip stream"));
        }
        Ok(())
    }

    fn finish(self) -> Result<ChartArchive, ArchiveError> {
        let (Some(top_dir), false) = (self.top_dir, self.files.is_empty()) else {
            return Err(ArchiveError::Empty {
                archive: self.archive.to_owned(),
            });
        };
        for (entry, rel_path) in &self.dirs {
            if let Some(file) = self.files.file_at_or_above(rel_path) {
                let other = format!("{top_dir}/{file}");
                return Err(ArchiveError::Entry {
                    archive: self.archive.to_owned(),
                    entry: entry.clone(),
                    problem: EntryProblem::Conflict { other },
                });
            }
        }
        Ok(ChartArchive {
            top_dir,
            files: self.files,
        })
    }

    fn entry_error(&self, entry: String, problem: EntryProblem) -> ArchiveError {
        ArchiveError::Entry {
            archive: self.archive.to_owned(),
            entry,
            problem,
        }
    }

    fn corrupt(&self, source: io::Error) -> ArchiveError {
        ArchiveError::Corrupt {
            archive: self.archive.to_owned(),
            position: self.position.clone(),
            source,
        }
    }

    fn trailing_data(&self, after: &'static str) -> ArchiveError {
        ArchiveError::TrailingData {
            archive: self.archive.to_owned(),
            after,
        }
    }
}

fn classify<R: Read>(entry: &tar::Entry<'_, R>) -> EntryKind {
    let link_target = || {
        entry
            .link_name_bytes()
            .map(|target| String::from_utf8_lossy(&target).into_owned())
            .unwrap_or_default()
    };
    match entry.header().entry_type() {
        EntryType::Regular | EntryType::Continuous => EntryKind::File,
        EntryType::Directory => EntryKind::Dir,
        EntryType::XGlobalHeader => EntryKind::Skip,
        EntryType::Symlink => EntryKind::Rejected(EntryProblem::Symlink {
            target: link_target(),
        }),
        EntryType::Link => EntryKind::Rejected(EntryProblem::Hardlink {
            target: link_target(),
        }),
        EntryType::Char => EntryKind::Rejected(EntryProblem::CharDevice),
        EntryType::Block => EntryKind::Rejected(EntryProblem::BlockDevice),
        EntryType::Fifo => EntryKind::Rejected(EntryProblem::Fifo),
        other => EntryKind::Rejected(EntryProblem::UnsupportedType(char::from(other.as_byte()))),
    }
}

/// Splits an entry name into components, dropping empty and `.` ones
fn split_entry_path(name: &str) -> Result<Vec<&str>, PathProblem> {
    if name.starts_with('/') {
        return Err(PathProblem::Absolute);
    }
    let components: Vec<&str> = name
        .split('/')
        .filter(|component| !component.is_empty() && *component != ".")
        .collect();
    if components.contains(&"..") {
        return Err(PathProblem::ParentDir);
    }
    if !components.is_empty() {
        check_path(&components.join("/"))?;
    }
    Ok(components)
}

/// Reads `reader` to its end, telling whether every byte was zero
fn only_zeros_remain(reader: &mut impl Read) -> io::Result<bool> {
    let mut buf = [0; 8192];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(true),
            Ok(n) if buf[..n].iter().any(|&byte| byte != 0) => return Ok(false),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Counts decompressed bytes and fails once more than `limit` have been read, so that a
/// gzip bomb is stopped after `limit` bytes instead of being inflated whole
struct DecompressedLimit<R> {
    inner: R,
    limit: u64,
    read: u64,
}

impl<R> DecompressedLimit<R> {
    fn new(inner: R, limit: u64) -> Self {
        Self {
            inner,
            limit,
            read: 0,
        }
    }

    fn exceeded(&self) -> bool {
        self.read > self.limit
    }

    fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

impl<R: Read> Read for DecompressedLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let over_limit = || {
            io::Error::other(format!(
                "more than {} of decompressed data",
                format_size(self.limit)
            ))
        };
        if self.exceeded() {
            return Err(over_limit());
        }
        // One byte past the limit tells "exactly at the limit" from "over it"
        let allowed = (self.limit - self.read + 1).min(buf.len() as u64) as usize;
        let n = self.inner.read(&mut buf[..allowed])?;
        self.read += n as u64;
        if self.exceeded() {
            return Err(over_limit());
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/hostile")
            .join(name)
    }

    /// Reads a corpus archive that must be rejected, returning the error and its message
    fn rejected(name: &str) -> (ArchiveError, String) {
        let path = fixture(name);
        let err = read_archive_file(&path).expect_err("a hostile archive must be rejected");
        let message = err.to_string();
        let archive = format!("chart archive {:?}", path.display().to_string());
        assert!(message.starts_with(&archive), "{message}");
        (err, message)
    }

    /// The message after `chart archive "…"`
    fn reason(message: &str) -> &str {
        let after_name = message.rfind(".tgz\"").expect("message names the archive") + 5;
        &message[after_name..]
    }

    fn entry_problem(name: &str) -> (String, EntryProblem, String) {
        match rejected(name) {
            (ArchiveError::Entry { entry, problem, .. }, message) => {
                (entry, problem, reason(&message).to_owned())
            }
            (other, _) => panic!("{name}: expected an entry error, got {other}"),
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// A tar entry whose raw name is written as given, bypassing the tar crate's path
    /// normalisation
    fn raw_entry(tar: &mut tar::Builder<Vec<u8>>, name: &str, contents: &[u8]) {
        let mut header = tar::Header::new_ustar();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_entry_type(EntryType::Regular);
        header.set_mode(0o644);
        header.set_size(contents.len() as u64);
        header.set_cksum();
        tar.append(&header, contents).unwrap();
    }

    #[test]
    fn absolute_path_is_rejected() {
        let (entry, problem, reason) = entry_problem("absolute-path.tgz");
        assert_eq!(entry, "/etc/rchart-evil");
        assert_eq!(problem, EntryProblem::Path(PathProblem::Absolute));
        assert_eq!(reason, r#": entry "/etc/rchart-evil" is an absolute path"#);
    }

    #[test]
    fn parent_dir_component_is_rejected() {
        let (_, problem, reason) = entry_problem("parent-dir.tgz");
        assert_eq!(problem, EntryProblem::Path(PathProblem::ParentDir));
        assert_eq!(
            reason,
            r#": entry "mychart/templates/../../../evil.sh" has a ".." component"#
        );
    }

    #[test]
    fn symlink_is_rejected() {
        let (_, _, reason) = entry_problem("symlink.tgz");
        assert_eq!(
            reason,
            ": entry \"mychart/templates/passwd.yaml\" is a symlink to \"/etc/passwd\"; \
             chart archives may hold only regular files and directories"
        );
    }

    #[test]
    fn hardlink_is_rejected() {
        let (_, _, reason) = entry_problem("hardlink.tgz");
        assert_eq!(
            reason,
            ": entry \"mychart/templates/shadow.yaml\" is a hardlink to \"/etc/shadow\"; \
             chart archives may hold only regular files and directories"
        );
    }

    #[test]
    fn character_device_is_rejected() {
        let (entry, problem, reason) = entry_problem("char-device.tgz");
        assert_eq!(
            (entry.as_str(), problem),
            ("mychart/null", EntryProblem::CharDevice)
        );
        assert!(reason.contains("is a character device"), "{reason}");
    }

    #[test]
    fn block_device_is_rejected() {
        let (entry, problem, reason) = entry_problem("block-device.tgz");
        assert_eq!(
            (entry.as_str(), problem),
            ("mychart/disk", EntryProblem::BlockDevice)
        );
        assert!(reason.contains("is a block device"), "{reason}");
    }

    #[test]
    fn fifo_is_rejected() {
        let (entry, problem, reason) = entry_problem("fifo.tgz");
        assert_eq!(
            (entry.as_str(), problem),
            ("mychart/pipe", EntryProblem::Fifo)
        );
        assert!(reason.contains("is a fifo"), "{reason}");
    }

    #[test]
    fn a_second_top_level_directory_is_rejected() {
        let (_, _, reason) = entry_problem("two-top-dirs.tgz");
        assert_eq!(
            reason,
            ": entry \"other/values.yaml\" is outside the top directory \"mychart/\"; \
             all entries must sit under one directory"
        );
    }

    #[test]
    fn a_file_outside_any_directory_is_rejected() {
        let (entry, problem, _) = entry_problem("top-level-file.tgz");
        assert_eq!(
            (entry.as_str(), problem),
            ("Chart.yaml", EntryProblem::TopLevelFile)
        );
    }

    #[test]
    fn a_duplicate_file_is_rejected() {
        let (_, _, reason) = entry_problem("duplicate.tgz");
        assert_eq!(
            reason,
            r#": entry "mychart/values.yaml" appears more than once"#
        );
    }

    #[test]
    fn a_path_used_as_file_and_directory_is_rejected() {
        let (_, _, reason) = entry_problem("file-dir-conflict.tgz");
        assert_eq!(
            reason,
            ": entry \"mychart/templates/a.yaml\" conflicts with \"mychart/templates\": \
             a path cannot be both a file and a directory"
        );
    }

    #[test]
    fn a_directory_entry_over_a_file_is_rejected() {
        let mut tar = tar::Builder::new(Vec::new());
        raw_entry(&mut tar, "mychart/values.yaml", b"a: 1\n");
        let mut dir = tar::Header::new_ustar();
        dir.set_entry_type(EntryType::Directory);
        dir.set_size(0);
        tar.append_data(&mut dir, "mychart/values.yaml/", &[][..])
            .unwrap();
        let bytes = gzip(&tar.into_inner().unwrap());
        let err = read_archive("test.tgz", &bytes[..]).unwrap_err();
        assert!(
            matches!(&err, ArchiveError::Entry { problem: EntryProblem::Conflict { other }, .. }
                if other == "mychart/values.yaml"),
            "{err}"
        );
    }

    #[test]
    fn a_file_over_the_size_limit_is_rejected_before_it_is_read() {
        let (_, _, reason) = entry_problem("large-file.tgz");
        assert_eq!(
            reason,
            r#": entry "mychart/big.bin" is 5242881 bytes; a chart file may be at most 5 MiB"#
        );
    }

    #[test]
    fn a_gzip_bomb_is_stopped_at_the_decompressed_limit() {
        let (err, message) = rejected("gzip-bomb.tgz");
        assert!(matches!(err, ArchiveError::TooLarge { .. }), "{message}");
        // 25 files of 4 MiB: the 13th (zeros-12) crosses 50 MiB
        assert_eq!(
            reason(&message),
            " decompresses to more than 50 MiB; stopped reading in entry \"mychart/files/zeros-12.bin\""
        );
    }

    #[test]
    fn a_gzip_bomb_is_stopped_before_all_its_input_is_read() {
        struct CountingReader<'a> {
            data: &'a [u8],
            consumed: usize,
        }
        impl Read for CountingReader<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.data[self.consumed..].len().min(buf.len());
                buf[..n].copy_from_slice(&self.data[self.consumed..self.consumed + n]);
                self.consumed += n;
                Ok(n)
            }
        }
        let bomb = std::fs::read(fixture("gzip-bomb.tgz")).unwrap();
        let mut reader = CountingReader {
            data: &bomb,
            consumed: 0,
        };
        let err = read_archive("gzip-bomb.tgz", &mut reader).unwrap_err();
        assert!(matches!(err, ArchiveError::TooLarge { .. }), "{err}");
        // 100 MiB of data stopped at 50 MiB: about half of the input is left unread
        assert!(
            reader.consumed < bomb.len() * 3 / 4,
            "read {} of {} compressed bytes",
            reader.consumed,
            bomb.len()
        );
    }

    #[test]
    fn the_decompressed_limit_allows_exactly_the_limit() {
        let mut at_limit = DecompressedLimit::new(&[7u8; 100][..], 100);
        assert_eq!(io::copy(&mut at_limit, &mut io::sink()).unwrap(), 100);
        let mut over = DecompressedLimit::new(&[7u8; 101][..], 100);
        let err = io::copy(&mut over, &mut io::sink()).unwrap_err();
        assert_eq!(err.to_string(), "more than 100 bytes of decompressed data");
        assert!(over.exceeded());
    }

    #[test]
    fn more_entries_than_the_limit_are_rejected() {
        let mut tar = tar::Builder::new(Vec::new());
        for i in 0..=MAX_ENTRIES {
            raw_entry(&mut tar, &format!("mychart/f{i:05}"), b"");
        }
        let bytes = gzip(&tar.into_inner().unwrap());
        let err = read_archive("many.tgz", &bytes[..]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "chart archive \"many.tgz\" has more than 10000 entries"
        );
    }

    #[test]
    fn directories_an_archive_leaves_out_still_count_as_entries() {
        // 5,000 files, each in its own directory, and no directory entries: a package of
        // them would hold 10,001 entries
        let mut tar = tar::Builder::new(Vec::new());
        for i in 0..5_000 {
            raw_entry(&mut tar, &format!("mychart/d{i:04}/f"), b"");
        }
        let bytes = gzip(&tar.into_inner().unwrap());
        let err = read_archive("implied.tgz", &bytes[..]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "chart archive \"implied.tgz\" has more than 10000 entries"
        );
    }

    #[test]
    fn data_that_is_not_gzip_is_rejected() {
        let (err, message) = rejected("not-gzip.tgz");
        assert!(matches!(err, ArchiveError::NotGzip { .. }));
        assert_eq!(
            reason(&message),
            " is not gzip-compressed; a chart package is a .tgz file"
        );
        let err = read_archive("empty-file.tgz", &b""[..]).unwrap_err();
        assert!(matches!(err, ArchiveError::NotGzip { .. }), "{err}");
    }

    #[test]
    fn a_truncated_archive_is_rejected_naming_the_entry_it_stopped_in() {
        let (err, message) = rejected("truncated.tgz");
        assert!(matches!(err, ArchiveError::Corrupt { .. }), "{message}");
        assert_eq!(
            reason(&message),
            " is truncated or corrupt in entry \"mychart/files/noise.bin\""
        );
    }

    #[test]
    fn a_bad_gzip_checksum_is_rejected() {
        let (err, message) = rejected("bad-crc.tgz");
        assert!(matches!(err, ArchiveError::Corrupt { .. }), "{message}");
        // The checksum sits in the gzip trailer, after the tar end marker
        assert_eq!(
            reason(&message),
            " is truncated or corrupt after entry \"mychart/files/noise.bin\""
        );
    }

    #[test]
    fn data_hidden_after_the_end_of_the_tar_archive_is_rejected() {
        let (_, message) = rejected("trailing-data.tgz");
        assert_eq!(
            reason(&message),
            " has data after the end of the tar archive"
        );
    }

    #[test]
    fn a_second_gzip_member_is_rejected() {
        let (_, message) = rejected("concatenated.tgz");
        assert_eq!(
            reason(&message),
            " has data after the end of the gzip stream"
        );
    }

    #[test]
    fn an_archive_without_files_is_rejected() {
        let (err, message) = rejected("empty.tgz");
        assert!(matches!(err, ArchiveError::Empty { .. }));
        assert_eq!(reason(&message), " holds no files");
    }

    #[test]
    fn a_missing_archive_is_named() {
        let err = read_archive_file(Path::new("no/such/chart.tgz")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read chart archive \"no/such/chart.tgz\""
        );
    }

    #[test]
    fn pax_and_gnu_long_names_are_read() {
        let long_path = format!(
            "templates/{}/deployment.yaml",
            ["a-rather-long-directory-name"; 4].join("/")
        );
        for name in ["ok-pax-long-names.tgz", "ok-gnu-long-names.tgz"] {
            let chart = read_archive_file(&fixture(name)).unwrap();
            assert_eq!(chart.top_dir, "mychart", "{name}");
            let paths: Vec<_> = chart.files.iter().map(|(path, _)| path).collect();
            assert_eq!(
                paths,
                ["Chart.yaml", "files/h\u{e9}llo.txt", long_path.as_str()],
                "{name}"
            );
            assert_eq!(
                chart.files.get(&long_path),
                Some(&b"kind: Deployment\n"[..])
            );
        }
    }

    #[test]
    fn dot_and_empty_components_are_dropped() {
        let mut tar = tar::Builder::new(Vec::new());
        raw_entry(&mut tar, "./mychart/Chart.yaml", b"name: mychart\n");
        raw_entry(&mut tar, "mychart//templates/./a.yaml", b"kind: A\n");
        let bytes = gzip(&tar.into_inner().unwrap());
        let chart = read_archive("dots.tgz", &bytes[..]).unwrap();
        assert_eq!(chart.top_dir, "mychart");
        let paths: Vec<_> = chart.files.iter().map(|(path, _)| path).collect();
        assert_eq!(paths, ["Chart.yaml", "templates/a.yaml"]);
    }
}
