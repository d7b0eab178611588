//! Benchmark of `--wait`: 50 Deployments, applied as `rchart install` applies them, that
//! the test API server's simulated controller makes ready 200 ms after it sees them.
//!
//! For each round it reports the wall time of the wait, how far that is beyond the
//! controller's delay (as a ratio to the delay), and the requests the wait sent.
//!
//! Usage: cargo bench --bench wait
//! Environment:
//!   ROUNDS=5    rounds, each in a fresh namespace; the median and worst are reported
//!   STRICT=1    exit 1 when a target is missed
//!
//! Targets: the wait ends within 1 s of the delay, with one list and one watch.

use std::time::{Duration, Instant};

use rchart::cluster::wait::{WaitTarget, wait_until_ready};
use rchart::cluster::{
    ApplyOptions, Catalog, Cluster, ConnectOptions, Owner, apply_all, connect, plan,
};
use rchart::commands::progress::LineProgress;
use rchart::render::Manifest;
use rchart::render::manifest::parse_template_output;
use rchart_test_apiserver::{Readiness, ReadinessRule, RecordedRequest, TestApiServer};
use serde_json::json;

const DEPLOYMENTS: usize = 50;
const DELAY: Duration = Duration::from_millis(200);
const MAX_BEYOND_DELAY: Duration = Duration::from_secs(1);
const MAX_REQUESTS: usize = 2;

struct Round {
    wall: Duration,
    lists: usize,
    watches: usize,
}

impl Round {
    fn beyond_delay(&self) -> Duration {
        self.wall.saturating_sub(DELAY)
    }
}

fn main() {
    let rounds = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5usize)
        .max(1);
    let strict = std::env::var("STRICT").is_ok_and(|s| s == "1");
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let results = runtime.block_on(run(rounds));

    println!(
        "\n{DEPLOYMENTS} Deployments ready {} ms after they are applied",
        DELAY.as_millis()
    );
    println!("round  wait (ms)  beyond delay (ms)  ratio to delay  lists  watches");
    for (index, round) in results.iter().enumerate() {
        println!(
            "{:>5}  {:>9}  {:>17}  {:>14.2}  {:>5}  {:>7}",
            index + 1,
            round.wall.as_millis(),
            round.beyond_delay().as_millis(),
            ratio(round.beyond_delay()),
            round.lists,
            round.watches,
        );
    }
    let mut beyond: Vec<Duration> = results.iter().map(Round::beyond_delay).collect();
    beyond.sort();
    let (median, worst) = (beyond[beyond.len() / 2], beyond[beyond.len() - 1]);
    let most_requests = results
        .iter()
        .map(|r| r.lists + r.watches)
        .max()
        .unwrap_or(0);
    println!(
        "median beyond delay {} ms (ratio {:.2}), worst {} ms (ratio {:.2}), at most {most_requests} requests per wait",
        median.as_millis(),
        ratio(median),
        worst.as_millis(),
        ratio(worst),
    );
    let met = worst <= MAX_BEYOND_DELAY && most_requests <= MAX_REQUESTS;
    println!(
        "target: within {} ms of the delay, at most {MAX_REQUESTS} requests: {}",
        MAX_BEYOND_DELAY.as_millis(),
        if met { "met" } else { "MISSED" }
    );
    if strict && !met {
        std::process::exit(1);
    }
}

fn ratio(beyond: Duration) -> f64 {
    beyond.as_secs_f64() / DELAY.as_secs_f64()
}

async fn run(rounds: usize) -> Vec<Round> {
    let server = TestApiServer::builder()
        .readiness(ReadinessRule::kind("Deployment", Readiness::after(DELAY)))
        .start()
        .expect("the test API server starts");
    let options = ConnectOptions {
        kubeconfig: Some(server.kubeconfig_path()),
        context: None,
        namespace: None,
        concurrency: rchart::cluster::DEFAULT_CONCURRENCY,
    };
    let cluster = connect(&options)
        .await
        .expect("the test kubeconfig is usable");
    let catalog = Catalog::discover(&cluster).await.expect("discovery works");
    let mut results = Vec::new();
    for round in 0..rounds {
        let namespace = format!("bench-{round}");
        server
            .create(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
            )
            .expect("a namespace");
        results.push(measure(&server, &cluster, &catalog, &namespace).await);
    }
    results
}

/// Applies the Deployments, then times the wait alone.
async fn measure(
    server: &TestApiServer,
    cluster: &Cluster,
    catalog: &Catalog,
    namespace: &str,
) -> Round {
    let manifests = manifests(namespace);
    let owner = Owner {
        release: "bench",
        namespace,
    };
    let planned = plan(catalog, &manifests, owner).expect("the Deployments resolve");
    apply_all(cluster, &planned, ApplyOptions::default())
        .await
        .expect("the Deployments apply");
    let targets: Vec<WaitTarget> = planned.iter().map(WaitTarget::from).collect();
    server.clear_requests();

    let started = Instant::now();
    wait_until_ready(
        cluster,
        &targets,
        Duration::from_secs(60),
        &mut LineProgress::new(std::io::sink()),
    )
    .await
    .expect("the Deployments become ready");
    let wall = started.elapsed();

    let requests: Vec<RecordedRequest> = server.requests();
    let watches = requests.iter().filter(|r| r.is_watch()).count();
    Round {
        wall,
        lists: requests.len() - watches,
        watches,
    }
}

/// The Deployments as a template would render them.
fn manifests(namespace: &str) -> Vec<Manifest> {
    let documents: Vec<String> = (0..DEPLOYMENTS)
        .map(|i| {
            let name = format!("web-{i}");
            // JSON is YAML, and keeps this free of indentation.
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/instance": "bench"}},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
                    },
                },
            })
            .to_string()
        })
        .collect();
    parse_template_output("templates/deployment.yaml", &documents.join("\n---\n"))
        .expect("the Deployments parse")
}
