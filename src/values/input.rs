//! Reading the files the command line names (`-f FILE`, `--set-file key=FILE`, a schema):
//! at most [`MAX_FILE_SIZE`] bytes, the limit for a file in a chart, from any source.
//!
//! A size check alone would not do: `/dev/zero`, a fifo or a pipe has no size, so every
//! read goes through a bounded reader that stops one byte past the limit.
//!
//! `-f -` reads standard input. It is read once per process and kept, so a command that
//! looks at its values files more than once (`lint` does) sees the same text each time.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::chart::files::{MAX_FILE_SIZE, format_size, read_at_most};

/// How standard input is named in messages.
pub const STDIN_NAME: &str = "<stdin>";

/// The `-f` argument that means standard input.
pub const STDIN_ARG: &str = "-";

/// Why a file named on the command line could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FileProblem {
    /// Opening or reading failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// More than [`MAX_FILE_SIZE`] bytes.
    #[error(
        "it holds more than {shown}; rchart reads at most {shown} from one file, as from any file in a chart",
        shown = format_size(*limit)
    )]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The bytes are not UTF-8.
    #[error("it is not UTF-8 text")]
    NotText,
}

/// Whether a `-f` argument means standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN_ARG
}

/// The name a `-f` argument goes by in messages: the path, or [`STDIN_NAME`].
pub fn display_name(path: &Path) -> PathBuf {
    if is_stdin(path) {
        PathBuf::from(STDIN_NAME)
    } else {
        path.to_owned()
    }
}

/// Reads the text file at `path`, or standard input for [`STDIN_ARG`] when
/// `stdin_allowed`.
pub fn read_text(path: &Path, stdin_allowed: bool) -> Result<String, FileProblem> {
    if stdin_allowed && is_stdin(path) {
        return read_stdin();
    }
    let file = File::open(path)?;
    let metadata = file.metadata()?;
    // A regular file that is too large is refused before any of it is read
    if metadata.is_file() && metadata.len() > MAX_FILE_SIZE {
        return Err(FileProblem::TooLarge {
            limit: MAX_FILE_SIZE,
        });
    }
    read_bounded(file, metadata.len())
}

/// Standard input, read on first use and kept for the rest of the process.
fn read_stdin() -> Result<String, FileProblem> {
    /// The outcome of reading stdin, in a form that can be handed out again.
    enum Kept {
        Text(String),
        Io(io::ErrorKind, String),
        TooLarge,
        NotText,
    }
    static STDIN: OnceLock<Kept> = OnceLock::new();
    let kept = STDIN.get_or_init(|| match read_bounded(io::stdin().lock(), 0) {
        Ok(text) => Kept::Text(text),
        Err(FileProblem::Io(error)) => Kept::Io(error.kind(), error.to_string()),
        Err(FileProblem::TooLarge { .. }) => Kept::TooLarge,
        Err(FileProblem::NotText) => Kept::NotText,
    });
    match kept {
        Kept::Text(text) => Ok(text.clone()),
        Kept::Io(kind, message) => Err(FileProblem::Io(io::Error::new(*kind, message.clone()))),
        Kept::TooLarge => Err(FileProblem::TooLarge {
            limit: MAX_FILE_SIZE,
        }),
        Kept::NotText => Err(FileProblem::NotText),
    }
}

fn read_bounded(reader: impl Read, expected: u64) -> Result<String, FileProblem> {
    let bytes = read_at_most(reader, MAX_FILE_SIZE, expected)?.ok_or(FileProblem::TooLarge {
        limit: MAX_FILE_SIZE,
    })?;
    String::from_utf8(bytes).map_err(|_| FileProblem::NotText)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn problem(path: &Path) -> String {
        read_text(path, true).unwrap_err().to_string()
    }

    #[test]
    fn a_file_up_to_the_limit_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("at-limit.yaml");
        fs::write(&path, "a".repeat(MAX_FILE_SIZE as usize)).unwrap();
        assert_eq!(read_text(&path, true).unwrap().len() as u64, MAX_FILE_SIZE);
    }

    #[test]
    fn a_file_over_the_limit_is_refused_naming_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        File::create(&path)
            .unwrap()
            .set_len(MAX_FILE_SIZE + 1)
            .unwrap();
        assert_eq!(
            problem(&path),
            "it holds more than 5 MiB; rchart reads at most 5 MiB from one file, as from any file in a chart"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_source_without_a_size_is_cut_off_at_the_limit() {
        let error = read_text(Path::new("/dev/zero"), true).unwrap_err();
        assert!(matches!(error, FileProblem::TooLarge { .. }), "{error}");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("binary.yaml");
        fs::write(&path, b"a: \xff\xfe\n").unwrap();
        assert_eq!(problem(&path), "it is not UTF-8 text");
    }

    #[test]
    fn a_dash_is_stdin_only_where_allowed() {
        assert_eq!(display_name(Path::new("-")), Path::new(STDIN_NAME));
        assert_eq!(display_name(Path::new("./-")), Path::new("./-"));
        let error = read_text(Path::new("-"), false).unwrap_err();
        assert!(matches!(error, FileProblem::Io(_)), "{error}");
    }
}
