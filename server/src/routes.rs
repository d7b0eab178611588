//! The route table that answers configured paths, built from a [`Config`].
//!
//! Matching is exact on the percent-decoded request path, as the Go service this server
//! replaces did: `/route1` matches `/route1` and `/r%6Fute1`, but not `/route1/` or
//! `/route1/x`. The query string is ignored.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use percent_encoding::percent_decode_str;

use crate::config::Config;
use crate::metrics::{Metrics, RequestStats};

/// One configured route, with its response body built ahead of time.
pub struct Route {
    /// `Hello, You are at <path>, Got: <content>`: the compatibility contract with the Go
    /// service, byte for byte.
    pub body: Bytes,
    /// Metrics for this route's label (the configured path).
    pub stats: Arc<RequestStats>,
}

/// Configured path → route. Swapped as a whole on reload.
pub struct RouteTable {
    routes: HashMap<String, Route>,
}

impl RouteTable {
    /// Builds the table for `config`, reusing the metrics of routes that already existed.
    pub fn build(config: &Config, metrics: &Metrics) -> Self {
        let routes = config
            .routes
            .iter()
            .map(|(path, content)| {
                let route = Route {
                    body: Bytes::from(format!("Hello, You are at {path}, Got: {content}")),
                    stats: metrics.request_stats(path),
                };
                (path.clone(), route)
            })
            .collect();
        Self { routes }
    }

    /// The route for a request path as it appears on the wire (still percent-encoded).
    pub fn lookup(&self, raw_path: &str) -> Option<&Route> {
        self.routes.get(decode_path(raw_path)?.as_ref())
    }

    /// Number of configured routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }
}

/// Percent-decodes a request path. `None` when the decoded bytes are not UTF-8, since no
/// configured route (a YAML string) can match them.
fn decode_path(raw_path: &str) -> Option<Cow<'_, str>> {
    if !raw_path.contains('%') {
        return Some(Cow::Borrowed(raw_path));
    }
    percent_decode_str(raw_path).decode_utf8().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(routes: &[(&str, &str)]) -> RouteTable {
        let config = Config {
            routes: routes
                .iter()
                .map(|(path, content)| (path.to_string(), content.to_string()))
                .collect(),
        };
        RouteTable::build(&config, &Metrics::default())
    }

    fn body_of(table: &RouteTable, path: &str) -> Option<String> {
        table
            .lookup(path)
            .map(|route| String::from_utf8(route.body.to_vec()).unwrap())
    }

    #[test]
    fn builds_the_compatible_response_body() {
        let table = table(&[("/route1", "route1's content")]);
        assert_eq!(
            body_of(&table, "/route1").as_deref(),
            Some("Hello, You are at /route1, Got: route1's content")
        );
    }

    #[test]
    fn matches_exactly() {
        let table = table(&[("/route1", "x")]);
        for path in ["/route1/", "/route1/x", "/route", "/Route1", "/"] {
            assert!(table.lookup(path).is_none(), "{path} should not match");
        }
    }

    #[test]
    fn matches_percent_encoded_paths() {
        let table = table(&[("/route1", "x"), ("/caf\u{e9} au lait", "y")]);
        assert!(table.lookup("/r%6Fute1").is_some());
        assert!(table.lookup("/caf%C3%A9%20au%20lait").is_some());
        assert!(table.lookup("/route1%FF").is_none());
    }
}
