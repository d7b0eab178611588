//! Benchmark of charts in an OCI registry: Debian's docker-registry (distribution 2.8) on
//! 127.0.0.1, driven by the real `rchart` binary, for the bundled chart (`rchart package
//! chart`) and a generated chart whose package is 10 MiB:
//!
//! - push to a new repository, and the same push again (the registry has the blobs);
//! - pull with an empty cache, pull of the same tag again (cached: the target is one
//!   manifest request and no blob), and pull by digest from the cache;
//! - requests counted from the registry's access log, wall time of each command;
//! - baselines from the same run: `rchart --version` (process start-up) and, where
//!   skopeo is installed, `skopeo copy` of the same chart to a directory.
//!
//! Usage: cargo bench --bench oci
//! Environment: ROUNDS=5 (the median and the worst are reported), STRICT=1 (exit 1 when
//! a cached pull costs more than one request)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// What the shared registry helpers expect of the test crate.
mod support {
    pub fn rchart() -> assert_cmd::Command {
        let mut command = assert_cmd::Command::new(env!("CARGO_BIN_EXE_rchart"));
        command.env_remove("SOURCE_DATE_EPOCH").env("NO_COLOR", "1");
        command
    }
}

#[allow(dead_code)]
#[path = "../tests/cli/oci/registry.rs"]
mod registry;

use registry::{OciUser, TestRegistry, digest_of, package_chart};

const BIG_FILES: usize = 3;
const BIG_FILE_SIZE: usize = 3_500_000;

struct Row {
    what: String,
    requests: usize,
    times: Vec<Duration>,
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let strict = std::env::var_os("STRICT").is_some();
    let Some(registry) = TestRegistry::start() else {
        println!("SKIPPED: docker-registry is not installed; nothing was measured");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));

    let bundled_dir = work.path().join("bundled");
    OciUser::new().run(&[
        "package",
        &repo.join("chart").display().to_string(),
        "-d",
        &bundled_dir.display().to_string(),
    ]);
    let bundled = bundled_dir.join("multiroute-0.1.0.tgz");
    let big = generate_big_chart(work.path());

    let mut startup = Vec::new();
    for _ in 0..rounds {
        startup.push(timed(&mut || {
            OciUser::new().run(&["--version"]);
        }));
    }
    let startup = median(&mut startup);
    println!(
        "process start-up (rchart --version): {:.1} ms median",
        ms(startup)
    );

    let mut missed = false;
    println!();
    println!("| chart | operation | requests | median | worst |");
    println!("|---|---|---|---|---|");
    for (label, archive) in [("bundled", &bundled), ("10 MiB", &big)] {
        let size = std::fs::metadata(archive).unwrap().len();
        let label = format!("{label} ({})", human_size(size));
        let rows = measure(&registry, archive, rounds);
        for mut row in rows {
            if row.what.starts_with("pull, cached tag") && row.requests > 1 {
                missed = true;
            }
            let median = median(&mut row.times);
            let worst = *row.times.iter().max().unwrap();
            println!(
                "| {label} | {} | {} | {:.1} ms | {:.1} ms |",
                row.what,
                row.requests,
                ms(median),
                ms(worst)
            );
        }
    }
    if strict && missed {
        eprintln!("a cached pull cost more than one request");
        std::process::exit(1);
    }
}

/// Every operation `rounds` times; the requests of the last round.
fn measure(registry: &TestRegistry, archive: &Path, rounds: usize) -> Vec<Row> {
    let names = [
        "push, new repository",
        "push again, blobs present",
        "pull, empty cache",
        "pull, cached tag",
        "pull, cached digest",
        "skopeo copy to a directory (baseline)",
    ];
    let mut rows: Vec<Row> = names
        .iter()
        .map(|what| Row {
            what: what.to_string(),
            requests: 0,
            times: Vec::new(),
        })
        .collect();
    let skopeo = Command::new("skopeo").arg("--version").output().is_ok();
    for round in 0..rounds {
        let user = OciUser::new();
        let destination = registry.url(&format!("round{round}"));
        let out = user.dir.path().join("out").display().to_string();
        let mut reference = String::new();
        let mut record = |index: usize, run: &mut dyn FnMut()| {
            let mark = registry.mark();
            rows[index].times.push(timed(run));
            rows[index].requests = registry.requests_since(mark).len();
        };
        record(0, &mut || reference = user.push(archive, &destination));
        record(1, &mut || {
            user.push(archive, &destination);
        });
        let digest = digest_of(&reference).to_string();
        let by_tag = reference[..reference.find('@').unwrap()].to_string();
        let pull = |reference: &str| {
            user.run(&["pull", reference, "-d", &out, "--plain-http"]);
        };
        record(2, &mut || pull(&by_tag));
        record(3, &mut || pull(&by_tag));
        let by_digest = format!("{}@{digest}", &by_tag[..by_tag.rfind(':').unwrap()]);
        record(4, &mut || pull(&by_digest));
        if skopeo {
            let target = user.dir.path().join(format!("skopeo-{round}"));
            let source = format!("docker://{}", by_tag.strip_prefix("oci://").unwrap());
            record(5, &mut || {
                let output = Command::new("skopeo")
                    .args(["copy", "--quiet", "--src-tls-verify=false", &source])
                    .arg(format!("dir:{}", target.display()))
                    .output()
                    .unwrap();
                assert!(
                    output.status.success(),
                    "{}",
                    String::from_utf8_lossy(&output.stderr)
                );
            });
        }
    }
    rows.retain(|row| !row.times.is_empty());
    rows
}

/// A chart whose package is about 10 MiB: three files of pseudo-random bytes, which
/// gzip cannot shrink.
fn generate_big_chart(work: &Path) -> PathBuf {
    let out = work.join("big");
    let chart = package_chart(&out, "big", "1.0.0");
    let dir = out.join("src-big-1.0.0");
    std::fs::create_dir_all(dir.join("files")).unwrap();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for index in 0..BIG_FILES {
        let mut bytes = Vec::with_capacity(BIG_FILE_SIZE);
        while bytes.len() < BIG_FILE_SIZE {
            // xorshift64*: fast, and the same bytes on every run.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            bytes.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
        }
        std::fs::write(dir.join(format!("files/data-{index}.bin")), bytes).unwrap();
    }
    std::fs::remove_file(&chart).unwrap();
    OciUser::new().run(&[
        "package",
        &dir.display().to_string(),
        "-d",
        &out.display().to_string(),
        "--version",
        "1.0.0",
    ]);
    chart
}

fn timed(run: &mut dyn FnMut()) -> Duration {
    let start = Instant::now();
    run();
    start.elapsed()
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}
