//! The files of a chart, held in memory.
//!
//! [`ChartFiles`] maps chart-relative paths to file contents. A path is '/'-separated,
//! with no leading `./`, no empty, `.` or `..` components and no backslash, for example
//! `templates/deployment.yaml`. The map is a `BTreeMap`, so iteration is sorted by path
//! and everything built from it (packages, digests, render order) is deterministic.
//!
//! Loading a chart directory with [`ChartFiles::from_dir`]:
//! - `.rchartignore` at the chart root is honoured (see [`super::ignore`]).
//! - `.git` is skipped at any depth. Nothing else is skipped silently: every other
//!   entry is either loaded or reported as an error.
//! - A symlink is followed when it resolves to a regular file inside the chart
//!   directory; the contents are stored under the symlink's own path. A symlink that
//!   resolves outside the chart, to a directory or to nothing is an error: a link
//!   leaving the chart would ship files the author never looked at, and following
//!   directory links risks loops and files stored twice.
//! - Fifos, sockets and device files are errors.
//! - Empty directories are not kept; a chart is its files.
//! - The size limits below apply, as they do to archives, so an oversized chart fails
//!   when it is loaded rather than when its package is read back.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::ops::Bound;
use std::path::{Path, PathBuf};

use super::archive::{self, ArchiveError, ChartArchive};
use super::escape::{escape_name, escape_path};
use super::ignore::{IgnoreError, IgnoreRules};

const MIB: u64 = 1024 * 1024;

/// Largest file a chart may hold, in bytes (5 MiB, as in Helm)
pub const MAX_FILE_SIZE: u64 = 5 * MIB;

/// Largest size of a whole chart, in bytes (50 MiB)
///
/// For a directory this bounds the sum of file sizes. For an archive it bounds the
/// decompressed tar stream, headers included, and is enforced while decompressing so
/// that a gzip bomb is stopped early.
pub const MAX_CHART_SIZE: u64 = 50 * MIB;

/// Most entries a chart may hold, counted as its package holds them
/// ([`ChartFiles::entry_count`]): the top directory, each directory that holds a file,
/// and each file. Directory charts, archives and packages are all held to this one count,
/// so a directory that loads can be packaged and the package loads.
pub const MAX_ENTRIES: usize = 10_000;

/// The files of one chart: chart-relative paths mapped to contents, sorted by path
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ChartFiles {
    files: BTreeMap<String, Vec<u8>>,
    /// Every directory that holds a file, at any depth; derived from `files`
    dirs: BTreeSet<String>,
    total_size: u64,
    /// Archives in `charts/` that `.rchartignore` left out, named when a dependency is
    /// then missing.
    ignored_archives: Vec<String>,
}

impl ChartFiles {
    /// An empty set of files
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads the chart directory `dir`; see the module documentation for what is
    /// loaded, skipped and rejected
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, FilesError> {
        DirLoader::load(dir.as_ref())
    }

    /// Reads a chart archive (`.tgz`) safely; see [`archive::read_archive_file`]
    pub fn from_archive(path: impl AsRef<Path>) -> Result<ChartArchive, ArchiveError> {
        archive::read_archive_file(path.as_ref())
    }

    /// Adds a file, replacing any earlier contents at the same path
    ///
    /// Fails when `path` is not a valid chart path, or when it would make one path
    /// both a file and a directory (`a` and `a/b`).
    pub fn insert(
        &mut self,
        path: impl Into<String>,
        contents: impl Into<Vec<u8>>,
    ) -> Result<(), InsertError> {
        let path = path.into();
        if let Err(problem) = check_path(&path) {
            return Err(InsertError::InvalidPath { path, problem });
        }
        if let Some(existing) = self
            .file_at_or_above(&path)
            .filter(|existing| *existing != path)
            .or_else(|| self.first_file_below(&path))
        {
            let existing = existing.to_owned();
            return Err(InsertError::Conflict { path, existing });
        }
        let contents = contents.into();
        self.total_size += contents.len() as u64;
        for (slash, _) in path.match_indices('/') {
            if !self.dirs.contains(&path[..slash]) {
                self.dirs.insert(path[..slash].to_owned());
            }
        }
        if let Some(previous) = self.files.insert(path, contents) {
            self.total_size -= previous.len() as u64;
        }
        Ok(())
    }

    /// Archives in `charts/` that `.rchartignore` left out of a directory chart.
    pub fn ignored_archives(&self) -> &[String] {
        &self.ignored_archives
    }

    /// The contents of the file at `path`
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// Whether a file exists at `path`
    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// All files with their contents, sorted by path
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &[u8])> {
        self.files
            .iter()
            .map(|(path, contents)| (path.as_str(), contents.as_slice()))
    }

    /// The files whose path starts with `prefix` (such as `"templates/"`), with their
    /// contents, sorted by path
    pub fn paths_under<'a>(
        &'a self,
        prefix: &str,
    ) -> impl Iterator<Item = (&'a str, &'a [u8])> + use<'a> {
        let owned_prefix = prefix.to_owned();
        self.files
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(path, _)| path.starts_with(owned_prefix.as_str()))
            .map(|(path, contents)| (path.as_str(), contents.as_slice()))
    }

    /// Number of files
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there are no files
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Sum of the sizes of all files, in bytes
    pub fn total_size(&self) -> u64 {
        self.total_size
    }

    /// The entries of the package of these files, which [`MAX_ENTRIES`] bounds: the top
    /// directory, each directory that holds a file, and each file
    pub fn entry_count(&self) -> usize {
        1 + self.dirs.len() + self.files.len()
    }

    /// How many entries adding a file at `path` would add to [`Self::entry_count`]: the
    /// file, unless it is already there, and each of its directories not yet counted
    pub fn entries_added_by(&self, path: &str) -> usize {
        let new_dirs = path
            .match_indices('/')
            .filter(|(slash, _)| !self.dirs.contains(&path[..*slash]))
            .count();
        new_dirs + usize::from(!self.files.contains_key(path))
    }

    /// The file that is `path` itself or one of its parent directories, if any
    ///
    /// A directory at `path` may only exist when this returns `None`.
    pub(crate) fn file_at_or_above<'a>(&self, path: &'a str) -> Option<&'a str> {
        let parents = path.match_indices('/').map(|(slash, _)| &path[..slash]);
        parents
            .chain(std::iter::once(path))
            .find(|candidate| self.files.contains_key(*candidate))
    }

    /// The first file inside the directory `path`, if any
    fn first_file_below(&self, path: &str) -> Option<&str> {
        self.paths_under(&format!("{path}/"))
            .next()
            .map(|(below, _)| below)
    }
}

impl fmt::Debug for ChartFiles {
    /// Lists paths and sizes rather than contents, which would drown test output
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.files
                    .iter()
                    .map(|(path, contents)| (path, contents.len())),
            )
            .finish()
    }
}

/// Why a string is not a valid chart path; each message completes "path X …"
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathProblem {
    /// The path is the empty string
    #[error("is empty")]
    Empty,
    /// The path starts with `/`
    #[error("is an absolute path")]
    Absolute,
    /// A component is `..`
    #[error("has a \"..\" component")]
    ParentDir,
    /// A component is empty or `.` (`a//b`, `./a`, `a/`)
    #[error("has an empty or \".\" component")]
    NotNormal,
    /// The path contains `\`, a separator on Windows
    #[error("contains a backslash")]
    Backslash,
    /// The path contains a NUL byte
    #[error("contains a NUL byte")]
    Nul,
}

/// Checks that `path` is a valid chart path: relative, '/'-separated, normalised
pub fn check_path(path: &str) -> Result<(), PathProblem> {
    if path.is_empty() {
        return Err(PathProblem::Empty);
    }
    if path.starts_with('/') {
        return Err(PathProblem::Absolute);
    }
    if path.contains('\\') {
        return Err(PathProblem::Backslash);
    }
    if path.contains('\0') {
        return Err(PathProblem::Nul);
    }
    for component in path.split('/') {
        match component {
            ".." => return Err(PathProblem::ParentDir),
            "" | "." => return Err(PathProblem::NotNormal),
            _ => {}
        }
    }
    Ok(())
}

/// Formats a byte count, in MiB when it is a whole number of MiB
pub(crate) fn format_size(bytes: u64) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// A file that [`ChartFiles::insert`] refused
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    /// The path is not a valid chart path
    #[error("chart path \"{}\" {problem}", escape_name(path))]
    InvalidPath {
        /// The rejected path
        path: String,
        /// What is wrong with it
        problem: PathProblem,
    },
    /// The path would be both a file and a directory
    #[error(
        "chart path \"{}\" conflicts with \"{}\": a path cannot be both a file and a directory",
        escape_name(path),
        escape_name(existing)
    )]
    Conflict {
        /// The rejected path
        path: String,
        /// The file already present that it conflicts with
        existing: String,
    },
}

/// Why a symlink in a chart directory was not followed; each message completes
/// "symlink X points to Y, which …"
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SymlinkProblem {
    /// The target resolves outside the chart directory
    #[error("is outside the chart directory; copy the file into the chart instead")]
    OutsideChart,
    /// The target is a directory
    #[error("is a directory; only symlinks to files are followed")]
    Directory,
    /// The target does not exist
    #[error("does not exist")]
    Missing,
    /// The target is neither a regular file nor a directory
    #[error("is a {0}; only symlinks to regular files are followed")]
    SpecialFile(&'static str),
}

/// An error loading a chart directory
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// The chart directory does not exist
    #[error("chart directory \"{}\" not found", escape_path(dir))]
    DirNotFound {
        /// The directory given
        dir: PathBuf,
    },
    /// The chart path exists but is not a directory
    #[error("chart directory \"{}\" is not a directory", escape_path(dir))]
    NotADirectory {
        /// The path given
        dir: PathBuf,
    },
    /// Reading a file or directory failed
    #[error("cannot read \"{}\"", escape_path(path))]
    Read {
        /// The file or directory
        path: PathBuf,
        /// The underlying error
        #[source]
        source: io::Error,
    },
    /// A file name is not valid UTF-8, so it cannot be a chart path
    #[error("file name \"{}\" is not valid UTF-8", escape_path(path))]
    NonUtf8Name {
        /// The file
        path: PathBuf,
    },
    /// A symlink that is not followed
    #[error(
        "symlink \"{}\" points to \"{}\", which {problem}",
        escape_path(path),
        escape_path(target)
    )]
    Symlink {
        /// The symlink
        path: PathBuf,
        /// Its target, as stored in the link
        target: PathBuf,
        /// Why it is not followed
        problem: SymlinkProblem,
    },
    /// A fifo, socket or device file
    #[error(
        "\"{}\" is a {kind}; a chart may hold only regular files, directories and symlinks to files",
        escape_path(path)
    )]
    SpecialFile {
        /// The file
        path: PathBuf,
        /// What it is ("fifo", "socket", …)
        kind: &'static str,
    },
    /// A file over [`MAX_FILE_SIZE`]
    #[error(
        "file \"{}\" is {size} bytes; a chart file may be at most {}",
        escape_path(path),
        format_size(*limit)
    )]
    FileTooLarge {
        /// The file
        path: PathBuf,
        /// Its size in bytes (at least, when it grew while being read)
        size: u64,
        /// The limit in bytes
        limit: u64,
    },
    /// More than [`MAX_ENTRIES`] entries
    #[error(
        "chart directory \"{}\" has more than {limit} entries (files and the directories holding them, as its package would)",
        escape_path(dir)
    )]
    TooManyEntries {
        /// The chart directory
        dir: PathBuf,
        /// The limit
        limit: usize,
    },
    /// Files adding up to more than [`MAX_CHART_SIZE`]
    #[error(
        "files in chart directory \"{}\" add up to more than {}",
        escape_path(dir),
        format_size(*limit)
    )]
    TooLarge {
        /// The chart directory
        dir: PathBuf,
        /// The limit in bytes
        limit: u64,
    },
    /// `.rchartignore` could not be read or parsed
    #[error(transparent)]
    Ignore(#[from] IgnoreError),
    /// A file name that is not a valid chart path, such as one with a backslash
    #[error(transparent)]
    Insert(#[from] InsertError),
}

/// Walks one chart directory into a [`ChartFiles`]
struct DirLoader<'a> {
    root: &'a Path,
    /// The root with symlinks resolved, to tell whether a symlink stays inside
    canonical_root: PathBuf,
    ignore: IgnoreRules,
    files: ChartFiles,
}

impl<'a> DirLoader<'a> {
    fn load(root: &'a Path) -> Result<ChartFiles, FilesError> {
        match fs::metadata(root) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(FilesError::NotADirectory { dir: root.into() }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(FilesError::DirNotFound { dir: root.into() });
            }
            Err(source) => {
                return Err(FilesError::Read {
                    path: root.into(),
                    source,
                });
            }
        }
        let canonical_root = fs::canonicalize(root).map_err(|source| FilesError::Read {
            path: root.into(),
            source,
        })?;
        let mut loader = DirLoader {
            root,
            canonical_root,
            ignore: IgnoreRules::load(root)?,
            files: ChartFiles::new(),
        };
        loader.load_dir("")?;
        Ok(loader.files)
    }

    /// Loads the directory at chart path `rel_dir` ("" for the root)
    fn load_dir(&mut self, rel_dir: &str) -> Result<(), FilesError> {
        let disk_dir = self.root.join(rel_dir);
        let read_error = |source| FilesError::Read {
            path: disk_dir.clone(),
            source,
        };
        let mut entries = fs::read_dir(&disk_dir)
            .map_err(read_error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(read_error)?;
        // Sorted, so that the first error reported does not depend on the filesystem
        entries.sort_by_key(fs::DirEntry::file_name);

        for entry in entries {
            let disk_path = entry.path();
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else {
                return Err(FilesError::NonUtf8Name { path: disk_path });
            };
            if name == ".git" {
                continue;
            }
            let rel_path = if rel_dir.is_empty() {
                name.to_owned()
            } else {
                format!("{rel_dir}/{name}")
            };
            let file_type = entry.file_type().map_err(|source| FilesError::Read {
                path: disk_path.clone(),
                source,
            })?;

            if file_type.is_dir() {
                if !self.ignore.is_ignored(&rel_path, true) {
                    self.load_dir(&rel_path)?;
                }
            } else if file_type.is_symlink() {
                self.load_symlink(rel_path, &disk_path)?;
            } else if self.ignore.is_ignored(&rel_path, false) {
                if rel_dir == "charts" && name.ends_with(".tgz") {
                    self.files.ignored_archives.push(rel_path);
                }
                continue;
            } else if file_type.is_file() {
                self.load_file(rel_path, &disk_path)?;
            } else {
                return Err(FilesError::SpecialFile {
                    path: disk_path,
                    kind: describe_special(&file_type),
                });
            }
        }
        Ok(())
    }

    fn load_symlink(&mut self, rel_path: String, disk_path: &Path) -> Result<(), FilesError> {
        // `metadata` follows the link; a directory target matches `dir/` patterns
        let target_meta = fs::metadata(disk_path);
        let target_is_dir = target_meta.as_ref().is_ok_and(fs::Metadata::is_dir);
        if self.ignore.is_ignored(&rel_path, target_is_dir) {
            return Ok(());
        }
        let rejected = |problem| {
            let target = fs::read_link(disk_path).unwrap_or_default();
            FilesError::Symlink {
                path: disk_path.into(),
                target,
                problem,
            }
        };
        let read_error = |source| FilesError::Read {
            path: disk_path.into(),
            source,
        };

        let resolved = match fs::canonicalize(disk_path) {
            Ok(resolved) => resolved,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(rejected(SymlinkProblem::Missing));
            }
            Err(source) => return Err(read_error(source)),
        };
        if !resolved.starts_with(&self.canonical_root) {
            return Err(rejected(SymlinkProblem::OutsideChart));
        }
        let target_meta = target_meta.map_err(read_error)?;
        if target_meta.is_dir() {
            return Err(rejected(SymlinkProblem::Directory));
        }
        if !target_meta.is_file() {
            let kind = describe_special(&target_meta.file_type());
            return Err(rejected(SymlinkProblem::SpecialFile(kind)));
        }
        self.load_file(rel_path, disk_path)
    }

    fn load_file(&mut self, rel_path: String, disk_path: &Path) -> Result<(), FilesError> {
        if self.files.entry_count() + self.files.entries_added_by(&rel_path) > MAX_ENTRIES {
            return Err(FilesError::TooManyEntries {
                dir: self.root.into(),
                limit: MAX_ENTRIES,
            });
        }
        let contents = read_capped(disk_path, MAX_FILE_SIZE)?;
        if self.files.total_size() + contents.len() as u64 > MAX_CHART_SIZE {
            return Err(FilesError::TooLarge {
                dir: self.root.into(),
                limit: MAX_CHART_SIZE,
            });
        }
        self.files.insert(rel_path, contents)?;
        Ok(())
    }
}

/// Reads a whole file, failing without reading it when it is over `limit` bytes
fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, FilesError> {
    let read_error = |source| FilesError::Read {
        path: path.into(),
        source,
    };
    let too_large = |size| FilesError::FileTooLarge {
        path: path.into(),
        size,
        limit,
    };
    let file = File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    if size > limit {
        return Err(too_large(size));
    }
    // A file that grows between the size check and the read is still cut off
    read_at_most(file, limit, size)
        .map_err(read_error)?
        .ok_or_else(|| too_large(limit + 1))
}

/// Reads `reader` to its end if it holds at most `limit` bytes; `Ok(None)` when it
/// holds more. At most `limit + 1` bytes are read, so this bounds any source: a pipe,
/// stdin or `/dev/zero` as well as a file. `expected` sizes the buffer up front (a
/// file's length, or 0 when unknown) and is itself capped at `limit`.
pub fn read_at_most(reader: impl Read, limit: u64, expected: u64) -> io::Result<Option<Vec<u8>>> {
    let mut contents = Vec::with_capacity(expected.min(limit) as usize);
    reader.take(limit + 1).read_to_end(&mut contents)?;
    if contents.len() as u64 > limit {
        return Ok(None);
    }
    Ok(Some(contents))
}

/// Names a file type that is neither a regular file, a directory nor a symlink
fn describe_special(file_type: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "fifo";
        }
        if file_type.is_socket() {
            return "socket";
        }
        if file_type.is_char_device() {
            return "character device";
        }
        if file_type.is_block_device() {
            return "block device";
        }
    }
    let _ = file_type;
    "special file"
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn files(entries: &[(&str, &str)]) -> ChartFiles {
        let mut files = ChartFiles::new();
        for (path, contents) in entries {
            files.insert(*path, contents.as_bytes()).unwrap();
        }
        files
    }

    fn write(root: &Path, rel: &str, contents: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    fn paths(files: &ChartFiles) -> Vec<&str> {
        files.iter().map(|(path, _)| path).collect()
    }

    #[test]
    fn iteration_is_sorted_whatever_the_insertion_order() {
        let files = files(&[
            ("values.yaml", "a"),
            ("Chart.yaml", "b"),
            ("templates/x.yaml", "c"),
        ]);
        assert_eq!(
            paths(&files),
            ["Chart.yaml", "templates/x.yaml", "values.yaml"]
        );
        assert_eq!(files.len(), 3);
        assert_eq!(files.total_size(), 3);
        assert_eq!(files.get("Chart.yaml"), Some(&b"b"[..]));
        assert_eq!(files.get("missing.yaml"), None);
    }

    #[test]
    fn insert_replaces_contents_and_keeps_total_size_right() {
        let mut files = files(&[("values.yaml", "abc")]);
        files.insert("values.yaml", "a").unwrap();
        assert_eq!(files.get("values.yaml"), Some(&b"a"[..]));
        assert_eq!(files.total_size(), 1);
        assert_eq!(files.len(), 1);
    }

    #[test]
    fn paths_under_lists_only_that_directory() {
        let files = files(&[
            ("templates/a.yaml", ""),
            ("templates/sub/b.yaml", ""),
            ("templates-old/c.yaml", ""),
            ("templatesx", ""),
            ("Chart.yaml", ""),
        ]);
        let under: Vec<_> = files
            .paths_under("templates/")
            .map(|(path, _)| path)
            .collect();
        assert_eq!(under, ["templates/a.yaml", "templates/sub/b.yaml"]);
    }

    #[test]
    fn entry_count_counts_the_top_directory_each_directory_holding_a_file_and_each_file() {
        let files = files(&[
            ("Chart.yaml", ""),
            ("templates/a.yaml", ""),
            ("templates/sub/b.yaml", ""),
            ("templates/c.yaml", ""),
        ]);
        // The top directory, templates/ and templates/sub/, and four files
        assert_eq!(files.entry_count(), 1 + 2 + 4);
        assert_eq!(files.entries_added_by("templates/d.yaml"), 1);
        assert_eq!(files.entries_added_by("files/x/y.txt"), 3);
        assert_eq!(files.entries_added_by("Chart.yaml"), 0);
        assert_eq!(ChartFiles::new().entry_count(), 1);
    }

    #[test]
    fn insert_rejects_paths_that_are_not_normal_relative_paths() {
        let cases = [
            ("", PathProblem::Empty),
            ("/etc/passwd", PathProblem::Absolute),
            ("templates/../../x", PathProblem::ParentDir),
            ("./Chart.yaml", PathProblem::NotNormal),
            ("templates//x.yaml", PathProblem::NotNormal),
            ("templates/", PathProblem::NotNormal),
            ("templates\\x.yaml", PathProblem::Backslash),
            ("a\0b", PathProblem::Nul),
        ];
        for (path, expected) in cases {
            let err = ChartFiles::new().insert(path, "").unwrap_err();
            assert!(
                matches!(&err, InsertError::InvalidPath { problem, .. } if *problem == expected),
                "{path:?}: {err}"
            );
        }
        let err = ChartFiles::new().insert("a/../b", "").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"chart path "a/../b" has a ".." component"#
        );
    }

    #[test]
    fn insert_rejects_a_path_used_as_both_file_and_directory() {
        let mut files = files(&[("templates", "")]);
        let err = files.insert("templates/x.yaml", "").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"chart path "templates/x.yaml" conflicts with "templates": a path cannot be both a file and a directory"#
        );

        let mut files = self::files(&[("templates/sub/x.yaml", "")]);
        let err = files.insert("templates", "").unwrap_err();
        assert!(
            matches!(err, InsertError::Conflict { existing, .. } if existing == "templates/sub/x.yaml")
        );
        // Siblings sharing a name prefix are not conflicts
        files.insert("templates-old", "").unwrap();
        files.insert("templates.bak", "").unwrap();
    }

    #[test]
    fn from_dir_loads_nested_files_and_skips_git() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Chart.yaml", "name: demo\n");
        write(
            dir.path(),
            "templates/deployment.yaml",
            "kind: Deployment\n",
        );
        write(dir.path(), "templates/sub/svc.yaml", "kind: Service\n");
        write(dir.path(), ".git/HEAD", "ref: refs/heads/main\n");
        write(dir.path(), "charts/dep/.git/HEAD", "ref: refs/heads/main\n");
        write(dir.path(), "charts/dep/Chart.yaml", "name: dep\n");
        fs::create_dir(dir.path().join("empty")).unwrap();

        let files = ChartFiles::from_dir(dir.path()).unwrap();
        assert_eq!(
            paths(&files),
            [
                "Chart.yaml",
                "charts/dep/Chart.yaml",
                "templates/deployment.yaml",
                "templates/sub/svc.yaml"
            ]
        );
        assert_eq!(
            files.get("templates/sub/svc.yaml"),
            Some(&b"kind: Service\n"[..])
        );
    }

    #[test]
    fn from_dir_names_a_missing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = ChartFiles::from_dir(&missing).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("chart directory {missing:?} not found")
        );

        write(dir.path(), "file", "");
        let err = ChartFiles::from_dir(dir.path().join("file")).unwrap_err();
        assert!(err.to_string().ends_with("is not a directory"), "{err}");
    }

    #[test]
    fn from_dir_applies_rchartignore_file_dir_glob_and_negation_patterns() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            ".rchartignore",
            "# editor and build leftovers\nsecrets.yaml\ntmp/\n*.bak\n!keep.bak\n/README.md\n",
        );
        write(root, "Chart.yaml", "");
        write(root, "secrets.yaml", "");
        write(root, "templates/secrets.yaml", "");
        write(root, "tmp/scratch.yaml", "");
        write(root, "templates/tmp/x.yaml", "");
        write(root, "templates/a.yaml.bak", "");
        write(root, "templates/keep.bak", "");
        write(root, "README.md", "");
        write(root, "docs/README.md", "");
        // A file named like a directory pattern is not a directory
        write(root, "templates/tmp2", "");

        let files = ChartFiles::from_dir(root).unwrap();
        assert_eq!(
            paths(&files),
            [
                ".rchartignore",
                "Chart.yaml",
                "docs/README.md",
                "templates/keep.bak",
                "templates/tmp2"
            ]
        );
    }

    #[test]
    fn rchartignore_can_ignore_itself_and_matches_inside_a_dir_named_like_a_chart_path() {
        // The chart directory is itself called "templates", to catch patterns being
        // matched against the directory name instead of chart-relative paths.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("templates");
        write(
            &root,
            ".rchartignore",
            ".rchartignore\n/templates/skip.yaml\n",
        );
        write(&root, "templates/skip.yaml", "");
        write(&root, "templates/keep.yaml", "");
        let files = ChartFiles::from_dir(&root).unwrap();
        assert_eq!(paths(&files), ["templates/keep.yaml"]);
    }

    #[test]
    fn negation_does_not_reach_into_an_ignored_directory() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), ".rchartignore", "build/\n!build/keep.yaml\n");
        write(dir.path(), "build/keep.yaml", "");
        write(dir.path(), "Chart.yaml", "");
        let files = ChartFiles::from_dir(dir.path()).unwrap();
        assert_eq!(paths(&files), [".rchartignore", "Chart.yaml"]);
    }

    #[test]
    fn a_bad_ignore_pattern_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), ".rchartignore", "ok.txt\n\nbad{glob\n");
        let err = ChartFiles::from_dir(dir.path()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(".rchartignore"), "{message}");
        assert!(message.contains("line 3"), "{message}");
        assert!(message.contains("bad{glob"), "{message}");
    }

    #[test]
    fn from_dir_rejects_a_file_over_the_size_limit_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Chart.yaml", "");
        let big = dir.path().join("big.bin");
        File::create(&big)
            .unwrap()
            .set_len(MAX_FILE_SIZE + 1)
            .unwrap();
        let err = ChartFiles::from_dir(dir.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("file {big:?} is 5242881 bytes; a chart file may be at most 5 MiB")
        );
    }

    #[test]
    fn from_dir_counts_entries_as_the_package_holds_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, ".rchartignore", "ignored/\n");
        write(root, "Chart.yaml", "");
        // With the top directory, files/, .rchartignore and Chart.yaml: exactly the limit
        for i in 0..MAX_ENTRIES - 4 {
            write(root, &format!("files/f{i:05}"), "");
        }
        // Ignored files count for nothing
        write(root, "ignored/x/y.txt", "");
        let files = ChartFiles::from_dir(root).unwrap();
        assert_eq!(files.entry_count(), MAX_ENTRIES);

        // One more file in a new directory adds two entries
        write(root, "more/z.txt", "");
        let err = ChartFiles::from_dir(root).unwrap_err();
        assert!(matches!(err, FilesError::TooManyEntries { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "chart directory \"{}\" has more than 10000 entries (files and the directories holding them, as its package would)",
                root.display()
            )
        );
    }

    #[cfg(unix)]
    mod symlinks {
        use super::*;
        use std::os::unix::fs::symlink;

        #[test]
        fn a_symlink_to_a_file_inside_the_chart_is_stored_under_its_own_path() {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), "files/shared.conf", "shared\n");
            fs::create_dir(dir.path().join("templates")).unwrap();
            symlink(
                "../files/shared.conf",
                dir.path().join("templates/shared.conf"),
            )
            .unwrap();
            let files = ChartFiles::from_dir(dir.path()).unwrap();
            assert_eq!(files.get("templates/shared.conf"), Some(&b"shared\n"[..]));
            assert_eq!(files.get("files/shared.conf"), Some(&b"shared\n"[..]));
        }

        #[test]
        fn a_symlink_leaving_the_chart_is_rejected() {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().join("chart");
            write(dir.path(), "secret.txt", "password\n");
            write(&root, "Chart.yaml", "");
            symlink("../secret.txt", root.join("secret.txt")).unwrap();
            let err = ChartFiles::from_dir(&root).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "symlink {:?} points to \"../secret.txt\", which is outside the chart directory; \
                     copy the file into the chart instead",
                    root.join("secret.txt")
                )
            );
        }

        #[test]
        fn a_symlink_to_a_directory_or_to_nothing_is_rejected() {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), "templates/a.yaml", "");
            symlink("templates", dir.path().join("more")).unwrap();
            let err = ChartFiles::from_dir(dir.path()).unwrap_err();
            assert!(
                matches!(
                    &err,
                    FilesError::Symlink {
                        problem: SymlinkProblem::Directory,
                        ..
                    }
                ),
                "{err}"
            );

            fs::remove_file(dir.path().join("more")).unwrap();
            symlink("gone.yaml", dir.path().join("dangling.yaml")).unwrap();
            let err = ChartFiles::from_dir(dir.path()).unwrap_err();
            assert!(
                err.to_string()
                    .ends_with("points to \"gone.yaml\", which does not exist"),
                "{err}"
            );
        }

        #[test]
        fn an_ignored_symlink_is_not_checked() {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), ".rchartignore", "outside\nlinked-dir/\n");
            write(dir.path(), "Chart.yaml", "");
            fs::create_dir(dir.path().join("real-dir")).unwrap();
            symlink("/etc/hostname", dir.path().join("outside")).unwrap();
            symlink("real-dir", dir.path().join("linked-dir")).unwrap();
            let files = ChartFiles::from_dir(dir.path()).unwrap();
            assert_eq!(paths(&files), [".rchartignore", "Chart.yaml"]);
        }

        #[test]
        fn a_fifo_is_rejected_rather_than_read() {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), "Chart.yaml", "");
            let fifo = dir.path().join("pipe");
            let status = std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap();
            assert!(status.success());
            let err = ChartFiles::from_dir(dir.path()).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "{fifo:?} is a fifo; a chart may hold only regular files, directories and symlinks to files"
                )
            );
        }
    }
}
