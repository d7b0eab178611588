//! Benchmark of releases against the test API server, driving the real `rchart` binary:
//!
//! - installing the bundled chart (`chart/` with `values/dev.yaml`): requests sent, against
//!   the budget of (objects x 3) + 8 (ownership, dry-run check and apply per object);
//! - installing and then upgrading a generated chart of 200 ConfigMaps, over a link without
//!   delay and over one that adds 25 ms to every request (the test server's slow link):
//!   wall time of each, next to `rchart template` of the same chart as the baseline (the
//!   same rendering, no cluster), the requests each sent, and its critical path (the
//!   longest chain of requests each of which arrived after the one before was answered).
//!
//! Usage: cargo bench --bench releases
//! Environment: ROUNDS=5 (median and worst are reported), LATENCY_MS=25, STRICT=1 (exit 1
//! on a missed target)
//!
//! Targets: the bundled install within its request budget; 200-object install and upgrade
//! each under 1 s on this 2-core machine, and under 0.5 s at 25 ms per request.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rchart_test_apiserver::{TestApiServer, critical_path};
use serde_json::json;

const OBJECTS: usize = 200;
const MAX_WALL: Duration = Duration::from_secs(1);
/// Over a link that adds 25 ms to each request.
const MAX_WALL_SLOW: Duration = Duration::from_millis(500);

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let strict = std::env::var_os("STRICT").is_some();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missed = false;

    // The bundled chart: requests per install.
    let server = TestApiServer::start().expect("the test API server starts");
    create_namespace(&server, "backend-dev");
    server.clear_requests();
    let output = rchart(&server)
        .args(["install", "web"])
        .arg(repo.join("chart"))
        .arg("-f")
        .arg(repo.join("values/dev.yaml"))
        .args(["-n", "backend-dev"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let objects = server
        .list("configmaps", Some("backend-dev"))
        .iter()
        .filter(|o| is_ours(o))
        .count()
        + ["secrets", "services", "deployments", "ingresses"]
            .iter()
            .map(|kind| {
                server
                    .list(kind, Some("backend-dev"))
                    .iter()
                    .filter(|o| is_ours(o))
                    .count()
            })
            .sum::<usize>();
    let requests = server.requests().len();
    let budget = objects * 3 + 8;
    println!("bundled chart install: {requests} requests for {objects} objects (budget {budget})");
    missed |= requests > budget;

    // A generated chart of 200 ConfigMaps, over a link without delay and over one that
    // adds LATENCY_MS (default 25) to every request, as a distant cluster does.
    let latency = Duration::from_millis(
        std::env::var("LATENCY_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(25),
    );
    let work = tempfile::tempdir().unwrap();
    let chart = work.path().join("big");
    generate(&chart, "v1");
    let mut template = Vec::new();
    for _ in 0..rounds {
        template.push(timed(rchart(&server).arg("template").arg(&chart)));
    }
    let baseline = median(&mut template);
    println!(
        "template of {OBJECTS} ConfigMaps (baseline): {:.1} ms median",
        ms(baseline)
    );
    println!(
        "{:<8} {:>8} {:>10} {:>10} {:>12} {:>9} {:>14}",
        "command", "latency", "median ms", "worst ms", "x template", "requests", "critical path"
    );
    for link in [Duration::ZERO, latency] {
        server.set_latency(link);
        let mut install = Vec::new();
        let mut upgrade = Vec::new();
        let (mut install_requests, mut upgrade_requests) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let namespace = format!("bench-{}-{round}", link.as_millis());
            create_namespace(&server, &namespace);
            generate(&chart, "v1");
            server.clear_requests();
            install.push(timed(
                rchart(&server)
                    .args(["install", "big"])
                    .arg(&chart)
                    .args(["-n", &namespace]),
            ));
            install_requests = server.requests();
            generate(&chart, &format!("v{}", round + 2));
            server.clear_requests();
            upgrade.push(timed(
                rchart(&server)
                    .args(["upgrade", "big"])
                    .arg(&chart)
                    .args(["-n", &namespace]),
            ));
            upgrade_requests = server.requests();
        }
        for (name, times, requests) in [
            ("install", &mut install, &install_requests),
            ("upgrade", &mut upgrade, &upgrade_requests),
        ] {
            let median = median(times);
            println!(
                "{name:<8} {:>6}ms {:>10.1} {:>10.1} {:>12.1} {:>9} {:>14}",
                link.as_millis(),
                ms(median),
                ms(*times.iter().max().unwrap()),
                median.as_secs_f64() / baseline.as_secs_f64(),
                requests.len(),
                critical_path(requests)
            );
            let target = if link.is_zero() {
                MAX_WALL
            } else {
                MAX_WALL_SLOW
            };
            missed |= median > target;
        }
    }
    server.set_latency(Duration::ZERO);
    if strict && missed {
        eprintln!("a target was missed");
        std::process::exit(1);
    }
}

fn rchart(server: &TestApiServer) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rchart"));
    command.env("KUBECONFIG", server.kubeconfig_path());
    command
}

fn timed(command: &mut Command) -> Duration {
    let start = Instant::now();
    let output = command.output().unwrap();
    let elapsed = start.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    elapsed
}

fn create_namespace(server: &TestApiServer, name: &str) {
    server
        .create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
        .unwrap();
}

fn is_ours(object: &serde_json::Value) -> bool {
    object["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "rchart"
}

/// A chart of `OBJECTS` ConfigMaps whose data carries `version`, so each upgrade changes
/// every object.
fn generate(dir: &Path, version: &str) {
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: big\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("values.yaml"),
        format!("version: {version}\ncount: {OBJECTS}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("templates/configmaps.yaml"),
        "{% for i in range(end=values.count) %}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ release.name }}-{{ i }}\ndata:\n  version: {{ values.version | quote }}\n  index: \"{{ i }}\"\n{% endfor %}",
    )
    .unwrap();
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
