//! Request and reload metrics, kept in atomics and rendered in the Prometheus text format.
//!
//! Each route label owns one [`RequestStats`]. The request path only touches that struct's
//! atomics; the registry lock is taken when routes are (re)built and when `/metrics` is scraped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::StatusCode;

/// Upper bounds of the latency histogram buckets, in seconds. Answers from memory take
/// microseconds, so the buckets start well below a millisecond.
const LATENCY_BUCKETS_SECONDS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0,
];

/// Status codes the server answers routinely get their own counter; others share a map.
const COMMON_STATUS_CODES: [u16; 4] = [200, 404, 405, 503];

/// All metrics of the process.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<String, Arc<RequestStats>>>,
    in_flight: AtomicI64,
    connections_open: Arc<AtomicI64>,
    reloads_succeeded: AtomicU64,
    reloads_failed: AtomicU64,
    last_reload_failed: AtomicBool,
    routes: AtomicU64,
}

impl Metrics {
    /// The stats for a route label, created on first use. The same label always yields the same
    /// stats, so counters survive a reload that keeps the route.
    pub fn request_stats(&self, label: &str) -> Arc<RequestStats> {
        let mut requests = self.lock_requests();
        if let Some(stats) = requests.get(label) {
            return Arc::clone(stats);
        }
        let stats = Arc::new(RequestStats::default());
        requests.insert(label.to_owned(), Arc::clone(&stats));
        stats
    }

    /// Counts a request as started; the returned guard counts it as finished when dropped.
    pub fn start_request(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Relaxed);
        InFlight(&self.in_flight)
    }

    /// Requests that have started and not finished.
    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(Relaxed)
    }

    /// Counts a connection as open; the returned guard counts it as closed when dropped.
    pub fn open_connection(&self) -> OpenConnection {
        self.connections_open.fetch_add(1, Relaxed);
        OpenConnection(Arc::clone(&self.connections_open))
    }

    /// Accepted connections that are not closed yet.
    pub fn connections_open(&self) -> i64 {
        self.connections_open.load(Relaxed)
    }

    /// Records that a route table with `routes` routes went live.
    pub fn routes_loaded(&self, routes: usize) {
        self.routes.store(routes as u64, Relaxed);
    }

    /// Records the outcome of a config reload.
    pub fn reload_finished(&self, succeeded: bool) {
        let counter = if succeeded {
            &self.reloads_succeeded
        } else {
            &self.reloads_failed
        };
        counter.fetch_add(1, Relaxed);
        self.last_reload_failed.store(!succeeded, Relaxed);
    }

    /// True when the most recent reload was rejected and older routes are still serving.
    pub fn last_reload_failed(&self) -> bool {
        self.last_reload_failed.load(Relaxed)
    }

    /// Renders every metric in the Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let requests: Vec<(String, Arc<RequestStats>)> = self
            .lock_requests()
            .iter()
            .map(|(label, stats)| (escape_label_value(label), Arc::clone(stats)))
            .collect();
        let mut out = String::with_capacity(512 + requests.len() * 1024);

        header(
            &mut out,
            "multiroute_http_requests_total",
            "counter",
            "HTTP requests answered, by route and status code.",
        );
        for (route, stats) in &requests {
            for (code, count) in stats.status_counts() {
                let _ = writeln!(
                    out,
                    "multiroute_http_requests_total{{route=\"{route}\",code=\"{code}\"}} {count}"
                );
            }
        }

        header(
            &mut out,
            "multiroute_http_request_duration_seconds",
            "histogram",
            "Time from receiving a request to handing its response to the connection, by route.",
        );
        for (route, stats) in &requests {
            stats.latency.render(&mut out, route);
        }

        header(
            &mut out,
            "multiroute_http_requests_in_flight",
            "gauge",
            "Requests being answered right now.",
        );
        let _ = writeln!(
            out,
            "multiroute_http_requests_in_flight {}",
            self.in_flight()
        );

        header(
            &mut out,
            "multiroute_http_connections_open",
            "gauge",
            "Client connections accepted and not closed yet.",
        );
        let _ = writeln!(
            out,
            "multiroute_http_connections_open {}",
            self.connections_open()
        );

        header(
            &mut out,
            "multiroute_config_reloads_total",
            "counter",
            "Config reloads after start-up, by result.",
        );
        for (result, counter) in [
            ("success", &self.reloads_succeeded),
            ("failure", &self.reloads_failed),
        ] {
            let _ = writeln!(
                out,
                "multiroute_config_reloads_total{{result=\"{result}\"}} {}",
                counter.load(Relaxed)
            );
        }

        header(
            &mut out,
            "multiroute_config_last_reload_successful",
            "gauge",
            "1 unless the most recent reload was rejected (the previous routes keep serving).",
        );
        let _ = writeln!(
            out,
            "multiroute_config_last_reload_successful {}",
            u8::from(!self.last_reload_failed())
        );

        header(
            &mut out,
            "multiroute_routes",
            "gauge",
            "Routes in the config that is serving.",
        );
        let _ = writeln!(out, "multiroute_routes {}", self.routes.load(Relaxed));
        out
    }

    fn lock_requests(&self) -> MutexGuard<'_, BTreeMap<String, Arc<RequestStats>>> {
        // The map is never left half-updated, so a panic elsewhere cannot corrupt it.
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Keeps a request counted as in flight until dropped.
pub struct InFlight<'a>(&'a AtomicI64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// Keeps a connection counted as open until dropped.
pub struct OpenConnection(Arc<AtomicI64>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// Counters and latency histogram of one route label.
#[derive(Default)]
pub struct RequestStats {
    common_status: [AtomicU64; COMMON_STATUS_CODES.len()],
    other_status: Mutex<BTreeMap<u16, u64>>,
    latency: Histogram,
}

impl RequestStats {
    /// Records one answered request.
    pub fn observe(&self, status: StatusCode, elapsed: Duration) {
        let code = status.as_u16();
        match COMMON_STATUS_CODES
            .iter()
            .position(|&common| common == code)
        {
            Some(slot) => {
                self.common_status[slot].fetch_add(1, Relaxed);
            }
            None => {
                let mut other = self
                    .other_status
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                *other.entry(code).or_default() += 1;
            }
        }
        self.latency.observe(elapsed);
    }

    /// Non-zero request counts by status code, in ascending code order.
    fn status_counts(&self) -> Vec<(u16, u64)> {
        let mut counts: BTreeMap<u16, u64> = self
            .other_status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for (code, counter) in COMMON_STATUS_CODES.iter().zip(&self.common_status) {
            let count = counter.load(Relaxed);
            if count > 0 {
                counts.insert(*code, count);
            }
        }
        counts.into_iter().collect()
    }
}

/// A latency histogram with fixed buckets. Bucket counts are stored per bucket (not
/// cumulative) so that an observation touches one counter; rendering accumulates them.
#[derive(Default)]
struct Histogram {
    /// One slot per bound in [`LATENCY_BUCKETS_SECONDS`], plus the `+Inf` overflow.
    buckets: [AtomicU64; LATENCY_BUCKETS_SECONDS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let slot = LATENCY_BUCKETS_SECONDS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(LATENCY_BUCKETS_SECONDS.len());
        self.buckets[slot].fetch_add(1, Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Relaxed);
    }

    /// Writes the `_bucket`, `_sum` and `_count` series for one route label (already escaped).
    fn render(&self, out: &mut String, route: &str) {
        let name = "multiroute_http_request_duration_seconds";
        let mut cumulative = 0;
        for (slot, counter) in self.buckets.iter().enumerate() {
            cumulative += counter.load(Relaxed);
            let bound = LATENCY_BUCKETS_SECONDS
                .get(slot)
                .map_or_else(|| "+Inf".to_owned(), f64::to_string);
            let _ = writeln!(
                out,
                "{name}_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        let sum = Duration::from_nanos(self.sum_nanos.load(Relaxed)).as_secs_f64();
        let _ = writeln!(out, "{name}_sum{{route=\"{route}\"}} {sum}");
        let _ = writeln!(out, "{name}_count{{route=\"{route}\"}} {cumulative}");
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Escapes a label value as the text format requires: backslash, double quote and newline.
fn escape_label_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for ch in value.chars() {
        match ch {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_starting_with<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
        text.lines()
            .filter(|line| line.starts_with(prefix))
            .collect()
    }

    #[test]
    fn counts_requests_by_route_and_code() {
        let metrics = Metrics::default();
        let route = metrics.request_stats("/route1");
        route.observe(StatusCode::OK, Duration::from_micros(20));
        route.observe(StatusCode::OK, Duration::from_micros(20));
        route.observe(StatusCode::METHOD_NOT_ALLOWED, Duration::from_micros(20));
        route.observe(StatusCode::IM_A_TEAPOT, Duration::from_micros(20));

        let text = metrics.render();
        assert_eq!(
            lines_starting_with(&text, "multiroute_http_requests_total{"),
            [
                "multiroute_http_requests_total{route=\"/route1\",code=\"200\"} 2",
                "multiroute_http_requests_total{route=\"/route1\",code=\"405\"} 1",
                "multiroute_http_requests_total{route=\"/route1\",code=\"418\"} 1",
            ]
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let metrics = Metrics::default();
        let route = metrics.request_stats("/a");
        route.observe(StatusCode::OK, Duration::from_micros(30));
        route.observe(StatusCode::OK, Duration::from_millis(3));
        route.observe(StatusCode::OK, Duration::from_secs(2));

        let text = metrics.render();
        let buckets = lines_starting_with(&text, "multiroute_http_request_duration_seconds_bucket");
        assert_eq!(buckets.len(), LATENCY_BUCKETS_SECONDS.len() + 1);
        assert_eq!(
            buckets[0],
            "multiroute_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.00005\"} 1"
        );
        assert!(buckets.contains(
            &"multiroute_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.005\"} 2"
        ));
        assert!(
            buckets.contains(
                &"multiroute_http_request_duration_seconds_bucket{route=\"/a\",le=\"1\"} 2"
            )
        );
        assert_eq!(
            buckets.last().copied(),
            Some("multiroute_http_request_duration_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3")
        );
        assert!(
            text.contains("multiroute_http_request_duration_seconds_sum{route=\"/a\"} 2.00303\n")
        );
        assert!(text.contains("multiroute_http_request_duration_seconds_count{route=\"/a\"} 3\n"));
    }

    #[test]
    fn the_same_label_shares_its_stats() {
        let metrics = Metrics::default();
        metrics
            .request_stats("/a")
            .observe(StatusCode::OK, Duration::ZERO);
        metrics
            .request_stats("/a")
            .observe(StatusCode::OK, Duration::ZERO);
        assert!(
            metrics
                .render()
                .contains("multiroute_http_requests_total{route=\"/a\",code=\"200\"} 2\n")
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::default();
        metrics
            .request_stats("/say \"hi\"\\\n")
            .observe(StatusCode::OK, Duration::ZERO);
        assert!(metrics.render().contains(
            "multiroute_http_requests_total{route=\"/say \\\"hi\\\"\\\\\\n\",code=\"200\"} 1\n"
        ));
    }

    #[test]
    fn reload_outcomes_and_in_flight_requests_are_reported() {
        let metrics = Metrics::default();
        metrics.routes_loaded(2);
        metrics.reload_finished(true);
        metrics.reload_finished(false);
        let guard = metrics.start_request();
        let connection = metrics.open_connection();

        let text = metrics.render();
        assert!(text.contains("multiroute_config_reloads_total{result=\"success\"} 1\n"));
        assert!(text.contains("multiroute_config_reloads_total{result=\"failure\"} 1\n"));
        assert!(text.contains("multiroute_config_last_reload_successful 0\n"));
        assert!(text.contains("multiroute_routes 2\n"));
        assert!(text.contains("multiroute_http_requests_in_flight 1\n"));
        assert!(text.contains("multiroute_http_connections_open 1\n"));
        drop(guard);
        drop(connection);
        assert_eq!(metrics.in_flight(), 0);
        assert_eq!(metrics.connections_open(), 0);
    }
}
