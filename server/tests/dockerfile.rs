//! Checks the Dockerfile without a container engine: its bases are pinned, its runtime stage
//! runs as a numeric non-root user, and its build command, run here on its own, produces a
//! binary that needs no shared library (the distroless/static runtime has none) and serves.
//!
//! The release build takes minutes the first time, so that test is ignored by a plain
//! `cargo test`; CI runs it once (`.ci/run`), and so can anyone:
//! `cargo test --workspace --test dockerfile -- --ignored`. It builds into the workspace's
//! own target directory (under `x86_64-unknown-linux-gnu/release/`), so later runs only
//! rebuild what changed and share what they can with other builds.

#[allow(dead_code)]
#[path = "http/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Launch, config_file};

const BEGIN_MARKER: &str = "# build-command:begin";
const END_MARKER: &str = "# build-command:end";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("server/ is inside the workspace")
        .to_owned()
}

fn dockerfile() -> String {
    std::fs::read_to_string(workspace_root().join("Dockerfile")).expect("read Dockerfile")
}

/// Dockerfile instructions with continuation lines joined and comment lines dropped.
fn instructions(text: &str) -> Vec<String> {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(continued) => {
                current.push_str(continued.trim_end());
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                instructions.push(std::mem::take(&mut current));
            }
        }
    }
    instructions
}

/// The shell command of the single RUN instruction between the markers, without RUN's flags.
fn build_command(text: &str) -> String {
    let begin = text.find(BEGIN_MARKER).expect("begin marker in Dockerfile");
    let end = text.find(END_MARKER).expect("end marker in Dockerfile");
    let block = &text[begin + BEGIN_MARKER.len()..end];
    let runs = instructions(block);
    let [run] = runs.as_slice() else {
        panic!("expected one instruction between the markers, found {runs:?}");
    };
    let mut rest = run.strip_prefix("RUN ").expect("a RUN instruction").trim();
    while let Some(flag_and_more) = rest.strip_prefix("--") {
        let (_flag, more) = flag_and_more
            .split_once(' ')
            .expect("a command after RUN's flags");
        rest = more.trim_start();
    }
    rest.to_owned()
}

#[test]
fn every_base_image_is_pinned_by_digest() {
    let text = dockerfile();
    let bases: Vec<String> = instructions(&text)
        .into_iter()
        .filter(|instruction| instruction.starts_with("FROM "))
        .collect();
    assert_eq!(bases.len(), 2, "{bases:?}");
    for base in bases {
        let image = base.split_whitespace().nth(1).unwrap();
        let digest = image
            .split_once("@sha256:")
            .map(|(_, digest)| digest)
            .unwrap_or_else(|| panic!("{image} is not pinned by digest"));
        assert!(
            digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()),
            "{image} has a malformed digest"
        );
    }
}

#[test]
fn the_runtime_stage_runs_as_a_numeric_non_root_user() {
    let text = dockerfile();
    let all = instructions(&text);
    let runtime_start = all
        .iter()
        .rposition(|instruction| instruction.starts_with("FROM "))
        .unwrap();
    let runtime = &all[runtime_start..];
    assert!(
        runtime[0].contains("distroless/static"),
        "runtime base: {}",
        runtime[0]
    );
    let user = runtime
        .iter()
        .find_map(|instruction| instruction.strip_prefix("USER "))
        .expect("USER in the runtime stage");
    let uid: u32 = user.split(':').next().unwrap().parse().unwrap_or_else(|_| {
        panic!("USER {user} is not numeric, so Kubernetes cannot verify runAsNonRoot")
    });
    assert_ne!(uid, 0);
    assert!(runtime.contains(&"EXPOSE 3000".to_owned()));
    assert!(runtime.contains(&"CMD [\"--config\", \"/config/config.yml\"]".to_owned()));
}

#[test]
#[ignore = "a release build: CI runs it once, see the module documentation"]
fn the_build_command_produces_a_static_binary_that_serves() {
    let command = build_command(&dockerfile());
    let target = command
        .split_whitespace()
        .skip_while(|word| *word != "--target")
        .nth(1)
        .expect("the build command names a --target");
    // CARGO_TARGET_TMPDIR is `<target dir>/tmp`.
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the temporary directory is inside the target directory")
        .to_owned();

    let status = Command::new("sh")
        .args(["-c", &command])
        .current_dir(workspace_root())
        .env("CARGO_TARGET_DIR", &target_dir)
        .status()
        .expect("run the Dockerfile's build command");
    assert!(status.success(), "`{command}` failed");

    let binary = target_dir.join(target).join("release/multiroute");
    let ldd = Command::new("ldd").arg(&binary).output().expect("run ldd");
    let ldd_output = format!(
        "{}{}",
        String::from_utf8_lossy(&ldd.stdout),
        String::from_utf8_lossy(&ldd.stderr)
    );
    assert!(
        ldd_output.contains("not a dynamic executable") || ldd_output.contains("statically linked"),
        "the binary needs shared libraries:\n{ldd_output}"
    );
    if let Ok(file) = Command::new("file").arg(&binary).output() {
        let description = String::from_utf8_lossy(&file.stdout);
        assert!(
            description.contains("statically linked") || description.contains("static-pie linked"),
            "{description}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), "routes:\n  /route1: \"route1's content\"\n");
    let mut server = Launch::with_binary(&binary, &config).start();
    let response = server.get("/route1");
    assert_eq!(
        response.body,
        "Hello, You are at /route1, Got: route1's content"
    );
    server.signal("TERM");
    assert_eq!(server.wait_for_exit().code(), Some(0));
}

#[test]
fn the_build_command_is_extracted_without_run_flags() {
    let text = "FROM x\n# build-command:begin\nRUN --mount=type=cache,target=/a \\\n    --network=none \\\n    A=1 \\\n    make all\n# build-command:end\n";
    assert_eq!(build_command(text), "A=1 make all");
}
