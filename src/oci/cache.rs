//! Pulled charts, kept in the user's cache directory by manifest digest.
//!
//! `CACHE/oci/sha256/<manifest hex>/` holds `manifest.json` (the manifest's bytes) and
//! `NAME-VERSION.tgz` (the chart's package). `CACHE` is `$XDG_CACHE_HOME/rchart`, else
//! `~/.cache/rchart`. A manifest digest names its content for good, so an entry is never
//! updated, only written once: the package first, then the manifest, each to a temporary
//! file renamed into place, so a half-written entry is never taken for a whole one.
//!
//! An entry is used only when the manifest's bytes still have its digest and the
//! package still has the size and digest the manifest gives; otherwise it is pulled
//! again and replaced.

use std::path::{Path, PathBuf};

use super::error::OciError;
use super::manifest::ChartManifest;
use super::reference::Digest;

const MANIFEST_FILE: &str = "manifest.json";

pub struct Cache {
    root: PathBuf,
}

/// A cache entry that passed its checks.
pub struct CachedChart {
    pub archive_path: PathBuf,
    pub manifest: ChartManifest,
    /// The package's bytes, read to check them.
    pub package: Vec<u8>,
}

/// `$XDG_CACHE_HOME/rchart`, else `~/.cache/rchart`.
pub fn default_cache_dir() -> Result<PathBuf, OciError> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("rchart"));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".cache/rchart")),
        None => Err(OciError::Usage(
            "neither XDG_CACHE_HOME nor HOME is set; there is no cache directory for pulled charts"
                .into(),
        )),
    }
}

impl Cache {
    /// The cache under `dir` (`None`: [`default_cache_dir`]). Nothing is created yet.
    pub fn open(dir: Option<&Path>) -> Result<Self, OciError> {
        let root = match dir {
            Some(dir) => dir.to_path_buf(),
            None => default_cache_dir()?,
        };
        Ok(Cache {
            root: root.join("oci"),
        })
    }

    fn entry_dir(&self, digest: &Digest) -> PathBuf {
        self.root.join("sha256").join(digest.hex())
    }

    /// The entry for `digest`, if it is there and intact.
    pub fn get(&self, digest: &Digest) -> Option<CachedChart> {
        let dir = self.entry_dir(digest);
        let bytes = std::fs::read(dir.join(MANIFEST_FILE)).ok()?;
        if &Digest::of(&bytes) != digest {
            return None;
        }
        let manifest = ChartManifest::parse(&bytes, None).ok()?;
        let archive_path = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .find(|path| path.extension().is_some_and(|e| e == "tgz"))?;
        let archive = std::fs::read(&archive_path).ok()?;
        let intact = archive.len() as u64 == manifest.layer.size
            && Digest::of(&archive) == manifest.layer_digest();
        intact.then_some(CachedChart {
            archive_path,
            manifest,
            package: archive,
        })
    }

    /// Stores a checked chart; returns the package's path.
    pub fn put(
        &self,
        digest: &Digest,
        manifest: &[u8],
        file_name: &str,
        archive: &[u8],
    ) -> Result<PathBuf, OciError> {
        // Another rchart may have stored it meanwhile; its files may be in use.
        if let Some(cached) = self.get(digest) {
            return Ok(cached.archive_path);
        }
        let dir = self.entry_dir(digest);
        std::fs::create_dir_all(&dir).map_err(OciError::io("cannot create", &dir))?;
        // A damaged entry's files are replaced by the renames below: the same manifest
        // always names the same package, so the file names are the same.
        let archive_path = dir.join(file_name);
        write_atomically(&archive_path, archive)?;
        write_atomically(&dir.join(MANIFEST_FILE), manifest)?;
        Ok(archive_path)
    }
}

/// Writes what `source` holds to a temporary file beside `path` and renames it into
/// place, readable by all as a package written by `rchart package` is.
pub fn write_atomically(path: &Path, mut source: impl std::io::Read) -> Result<(), OciError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".rchart-");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut temp = builder
        .tempfile_in(dir)
        .map_err(OciError::io("cannot write a temporary file in", dir))?;
    std::io::copy(&mut source, temp.as_file_mut()).map_err(OciError::io("cannot write", path))?;
    temp.persist(path)
        .map_err(|e| OciError::io("cannot write", path)(e.error))?;
    Ok(())
}
