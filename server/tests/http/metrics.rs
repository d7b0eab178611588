use crate::support::{CONFIG_V1, Launch, config_file, request};

fn metric_lines(text: &str, name: &str) -> Vec<String> {
    text.lines()
        .filter(|line| line.starts_with(name))
        .map(str::to_owned)
        .collect()
}

#[test]
fn requests_are_counted_by_route_and_status_with_latency_histograms() {
    let dir = tempfile::tempdir().unwrap();
    let server = Launch::new(&config_file(dir.path(), CONFIG_V1)).start();

    server.get("/route1");
    server.get("/route1");
    server.get("/route2");
    server.get("/missing");
    server.get("/also/missing");
    request(server.addr, "DELETE", "/route2");

    let response = server.get("/metrics");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = response.body;
    assert_eq!(
        metric_lines(&text, "multiroute_http_requests_total{"),
        [
            "multiroute_http_requests_total{route=\"/route1\",code=\"200\"} 2",
            "multiroute_http_requests_total{route=\"/route2\",code=\"200\"} 1",
            "multiroute_http_requests_total{route=\"/route2\",code=\"405\"} 1",
            "multiroute_http_requests_total{route=\"unmatched\",code=\"404\"} 2",
        ]
    );
    assert!(text.contains("# TYPE multiroute_http_request_duration_seconds histogram\n"));
    assert!(text.contains(
        "multiroute_http_request_duration_seconds_bucket{route=\"/route1\",le=\"+Inf\"} 2\n"
    ));
    assert!(text.contains("multiroute_http_request_duration_seconds_count{route=\"/route1\"} 2\n"));
    assert!(
        text.contains("multiroute_http_request_duration_seconds_count{route=\"unmatched\"} 2\n")
    );
    assert!(text.contains("multiroute_routes 2\n"));
    // The scrape being answered is the one request in flight.
    assert!(text.contains("multiroute_http_requests_in_flight 1\n"));

    let again = server.get("/metrics").body;
    assert!(again.contains("multiroute_http_requests_total{route=\"/metrics\",code=\"200\"} 1\n"));
}
