//! Post-renderers (`--post-renderer PATH`): any executable that reads the rendered
//! manifests on stdin and prints the manifests to use instead on stdout, e.g. a script
//! around `kustomize build`.
//!
//! - The input is every rendered document, hooks included, as `rchart template` prints
//!   them (`---` and `# Source:` lines). The output replaces all of it: hooks are told
//!   apart again by their annotations, and each object keeps the template it came from
//!   when the renderer kept its kind, namespace and name (comments need not survive).
//! - The output is read no further than `--max-output`, and must be YAML documents that
//!   are Kubernetes objects, as a template's output must. A renderer that exits non-zero,
//!   prints something else, or prints nothing for a chart that rendered objects, is an
//!   error and changes nothing.
//! - Its stderr is shown with such an error: the last lines only, with the values under
//!   `data:` and `stringData:`, and every value of the chart's Secrets, masked. On
//!   success it is not shown.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde_json::Value;

use super::frame::mask_secret_text;
use super::manifest::{Manifest, parse_template_output, to_multi_document};
use super::output_cap::format_size;
use super::{RenderError, Rendered, organize};

/// What a post-renderer's output is called in errors about it.
const OUTPUT_NAME: &str = "post-renderer output";
/// Bytes of stderr kept while reading (the end of it).
const STDERR_KEPT: usize = 64 * 1024;
/// Lines of stderr an error shows, from the end.
const STDERR_LINES: usize = 40;
/// Secret values shorter than this are not masked in stderr: they would mask ordinary words.
const SHORTEST_MASKED: usize = 4;

/// The executable and its arguments.
#[derive(Debug, Clone)]
pub struct PostRenderer {
    /// A path, or a name looked up in `PATH`.
    pub program: PathBuf,
    pub args: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PostRenderError {
    #[error("post-renderer {program}: cannot run it: {cause}")]
    Start { program: String, cause: io::Error },
    #[error("post-renderer {program}: {cause}")]
    Io { program: String, cause: io::Error },
    #[error(
        "post-renderer {program} {status}, so nothing was changed{}",
        shown(stderr)
    )]
    Failed {
        program: String,
        /// `exited with status 1`, `was killed by signal 9`.
        status: String,
        stderr: String,
    },
    #[error(
        "post-renderer {program} printed nothing for {count} rendered objects, so nothing was changed{}",
        shown(stderr)
    )]
    Empty {
        program: String,
        count: usize,
        stderr: String,
    },
    #[error(
        "post-renderer {program} printed more than {}, so it was stopped and nothing was changed; raise the limit with --max-output",
        format_size(*limit)
    )]
    TooLarge { program: String, limit: u64 },
    #[error("post-renderer {program} printed what is not UTF-8 text, so nothing was changed")]
    NotText { program: String },
    #[error(
        "post-renderer {program} printed manifests rchart cannot use, so nothing was changed: {cause}{}",
        shown(stderr)
    )]
    Output {
        program: String,
        cause: Box<RenderError>,
        stderr: String,
    },
}

fn shown(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        String::new()
    } else {
        format!("\nits stderr:\n{}", stderr.trim_end())
    }
}

impl PostRenderer {
    /// Runs the renderer over `rendered` (of chart `chart_name`, for a release in
    /// `namespace`) and returns what it printed, organized as rendering organizes
    /// manifests. The notes are kept as rendered.
    pub fn run(
        &self,
        chart_name: &str,
        rendered: Rendered,
        namespace: &str,
        max_output: u64,
    ) -> Result<Rendered, PostRenderError> {
        let program = self.program.display().to_string();
        let mut all: Vec<Manifest> = rendered.manifests;
        all.extend(rendered.hooks.into_iter().map(|hook| hook.manifest));
        let input = to_multi_document(chart_name, &all);
        let secrets = SecretValues::of(&all);
        let ran = self.execute(&program, input, max_output)?;
        let stderr = secrets.mask(&last_lines(&ran.stderr));
        if !ran.status.success() {
            return Err(PostRenderError::Failed {
                program,
                status: describe_status(ran.status),
                stderr,
            });
        }
        let output = String::from_utf8(ran.stdout).map_err(|_| PostRenderError::NotText {
            program: program.clone(),
        })?;
        let invalid = |cause: RenderError, stderr: String| PostRenderError::Output {
            program: program.clone(),
            cause: Box::new(cause),
            stderr,
        };
        let mut manifests = parse_template_output(OUTPUT_NAME, &output)
            .map_err(|cause| invalid(cause, stderr.clone()))?;
        if manifests.is_empty() && !all.is_empty() {
            return Err(PostRenderError::Empty {
                program,
                count: all.len(),
                stderr,
            });
        }
        // Each object keeps its template; one the renderer added (or printed twice) is
        // the renderer's own.
        let mut sources: HashMap<_, _> = all
            .iter()
            .map(|m| (identity(m, namespace), m.source.clone()))
            .collect();
        for manifest in &mut manifests {
            if let Some(source) = sources.remove(&identity(manifest, namespace)) {
                manifest.source = source;
            }
        }
        let (manifests, hooks) =
            organize(manifests, namespace).map_err(|cause| invalid(cause, stderr))?;
        Ok(Rendered {
            manifests,
            hooks,
            notes: rendered.notes,
        })
    }

    /// Starts the renderer, feeds it `input` and reads what it prints, its stdout no
    /// further than `max_output`.
    fn execute(
        &self,
        program: &str,
        input: String,
        max_output: u64,
    ) -> Result<Ran, PostRenderError> {
        let io_error = |cause| PostRenderError::Io {
            program: program.to_string(),
            cause,
        };
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|cause| PostRenderError::Start {
                program: program.to_string(),
                cause,
            })?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            unreachable!("every stream was asked to be piped");
        };
        let (stdout, stderr) = std::thread::scope(|scope| {
            // A renderer that stops reading early closes its stdin: that is its business.
            scope.spawn(move || {
                let _ = stdin.write_all(input.as_bytes());
            });
            let stderr = scope.spawn(move || read_tail(stderr, STDERR_KEPT));
            let stdout = read_at_most(stdout, max_output);
            if matches!(stdout, Ok(None)) {
                let _ = child.kill();
            }
            (stdout, stderr.join().unwrap_or_default())
        });
        let status = child.wait().map_err(io_error)?;
        match stdout.map_err(io_error)? {
            Some(stdout) => Ok(Ran {
                status,
                stdout,
                stderr,
            }),
            None => Err(PostRenderError::TooLarge {
                program: program.to_string(),
                limit: max_output,
            }),
        }
    }
}

/// What a finished renderer left.
struct Ran {
    status: std::process::ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Everything `reader` gives, or `None` once it gives more than `limit` bytes.
fn read_at_most(reader: impl Read, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// The last `keep` bytes `reader` gives, read to its end.
fn read_tail(mut reader: impl Read, keep: usize) -> Vec<u8> {
    let mut tail = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) | Err(_) => return tail,
            Ok(read) => {
                tail.extend_from_slice(&buffer[..read]);
                if tail.len() > 2 * keep {
                    tail.drain(..tail.len() - keep);
                }
            }
        }
    }
}

/// The last lines of stderr, as text.
fn last_lines(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().collect();
    let skipped = lines.len().saturating_sub(STDERR_LINES);
    let mut shown = String::new();
    if skipped > 0 {
        shown.push_str(&format!("({skipped} earlier lines left out)\n"));
    }
    for line in &lines[skipped..] {
        shown.push_str(line);
        shown.push('\n');
    }
    shown
}

fn describe_status(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => format!("ended with {status}"),
    }
}

/// What identifies an object across the renderer, whichever API version it now names.
fn identity(manifest: &Manifest, namespace: &str) -> (String, String, String, String) {
    let id = &manifest.id;
    (
        id.group().to_string(),
        id.kind.clone(),
        id.namespace
            .clone()
            .unwrap_or_else(|| namespace.to_string()),
        id.name.clone(),
    )
}

/// The values of the chart's Secrets, as written and decoded, to mask in stderr.
struct SecretValues(Vec<String>);

impl SecretValues {
    fn of(manifests: &[Manifest]) -> Self {
        let mut values = Vec::new();
        for manifest in manifests.iter().filter(|m| m.id.kind == "Secret") {
            let Ok(object) = manifest.object() else {
                continue;
            };
            let strings = |field: &str| -> Vec<String> {
                object
                    .get(field)
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .filter_map(|(_, value)| value.as_str().map(str::to_string))
                    .collect()
            };
            for encoded in strings("data") {
                if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(&encoded)
                    && let Ok(text) = String::from_utf8(decoded)
                {
                    values.push(text);
                }
                values.push(encoded);
            }
            values.extend(strings("stringData"));
        }
        values.retain(|value| value.trim().len() >= SHORTEST_MASKED);
        // Longest first, so a value that contains another is masked whole.
        values.sort_by_key(|value| std::cmp::Reverse(value.len()));
        values.dedup();
        SecretValues(values)
    }

    /// `text` with the `data:` blocks it quotes and every Secret value masked.
    fn mask(&self, text: &str) -> String {
        let mut masked = mask_secret_text(text);
        for value in &self.0 {
            for line in value.lines().filter(|l| l.trim().len() >= SHORTEST_MASKED) {
                masked = masked.replace(line, "***");
            }
        }
        masked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_stops_past_the_limit() {
        assert_eq!(
            read_at_most(&b"12345"[..], 5).unwrap(),
            Some(b"12345".to_vec())
        );
        assert_eq!(read_at_most(&b"123456"[..], 5).unwrap(), None);
    }

    #[test]
    fn only_the_end_of_stderr_is_kept_and_shown() {
        let long: Vec<u8> = (0..100_000u32).flat_map(|n| n.to_le_bytes()).collect();
        assert!(read_tail(&long[..], 1000).len() <= 2000);
        assert!(long.ends_with(&read_tail(&long[..], 1000)));
        let text: String = (1..=50).map(|n| format!("line {n}\n")).collect();
        let shown = last_lines(text.as_bytes());
        assert!(shown.starts_with("(10 earlier lines left out)\nline 11\n"));
        assert!(shown.ends_with("line 50\n"));
    }

    #[test]
    fn secret_values_are_masked_as_written_and_decoded() {
        let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: aHVudGVyMg==\nstringData:\n  token: s3cr3t-token\n  short: ab\n";
        let manifests = parse_template_output("templates/secret.yaml", secret).unwrap();
        let values = SecretValues::of(&manifests);
        let masked = values.mask("bad value hunter2 near aHVudGVyMg== and s3cr3t-token, ab\n");
        assert_eq!(masked, "bad value *** near *** and ***, ab\n");
    }
}
