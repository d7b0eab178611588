//! The HTTP application: shared state, the axum router and its handlers.
//!
//! The router itself never changes. The configured routes live in an [`ArcSwap`]ed
//! [`RouteTable`] consulted by the fallback handler, so a reload is one atomic pointer swap and
//! requests already running keep the table they started with. Looking paths up in a table
//! (rather than building axum routes) also keeps `{` and `*` in configured paths literal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Instant;

use arc_swap::ArcSwap;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use crate::metrics::{Metrics, RequestStats};
use crate::routes::RouteTable;

/// Route label of requests that matched no route. It cannot collide with a configured
/// route, which always starts with `/`.
const UNMATCHED_LABEL: &str = "unmatched";

const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

/// State shared by every request and by the reloader.
pub struct App {
    /// The configured routes that are serving.
    pub routes: ArcSwap<RouteTable>,
    pub metrics: Metrics,
    /// Set when shutdown starts; `/readyz` then answers 503.
    draining: AtomicBool,
    /// Whether the `DB_PASS` secret was provided. The value itself is never kept.
    db_pass_set: bool,
    access_log: bool,
    endpoint_stats: EndpointStats,
}

/// Metrics of the server's own endpoints and of unmatched requests.
struct EndpointStats {
    healthz: Arc<RequestStats>,
    readyz: Arc<RequestStats>,
    metrics: Arc<RequestStats>,
    unmatched: Arc<RequestStats>,
}

/// Which metrics a response is counted under. Handlers attach it to their response; the
/// observing middleware takes it off again.
#[derive(Clone)]
struct CountedAs(Arc<RequestStats>);

impl App {
    /// Creates the state with an already validated route table.
    pub fn new(routes: RouteTable, metrics: Metrics, db_pass_set: bool, access_log: bool) -> Self {
        metrics.routes_loaded(routes.len());
        let endpoint_stats = EndpointStats {
            healthz: metrics.request_stats("/healthz"),
            readyz: metrics.request_stats("/readyz"),
            metrics: metrics.request_stats("/metrics"),
            unmatched: metrics.request_stats(UNMATCHED_LABEL),
        };
        Self {
            routes: ArcSwap::from_pointee(routes),
            metrics,
            draining: AtomicBool::new(false),
            db_pass_set,
            access_log,
            endpoint_stats,
        }
    }

    /// Makes `/readyz` fail from now on, so that load balancers stop sending traffic.
    pub fn start_draining(&self) {
        self.draining.store(true, Relaxed);
    }

    fn is_draining(&self) -> bool {
        self.draining.load(Relaxed)
    }
}

/// The router: the server's own endpoints, then the configured routes as the fallback.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", any(healthz))
        .route("/readyz", any(readyz))
        .route("/metrics", any(metrics))
        .fallback(configured_route)
        .layer(middleware::from_fn_with_state(Arc::clone(&app), observe))
        .with_state(app)
}

/// Counts, times and (when enabled) logs every request.
async fn observe(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let _in_flight = app.metrics.start_request();
    let access = app.access_log.then(|| AccessEntry::from_request(&request));

    let mut response = next.run(request).await;

    let elapsed = started.elapsed();
    let stats = response.extensions_mut().remove::<CountedAs>().map_or_else(
        || Arc::clone(&app.endpoint_stats.unmatched),
        |counted| counted.0,
    );
    stats.observe(response.status(), elapsed);
    if let Some(access) = access {
        tracing::info!(
            method = %access.method,
            path = %access.path,
            status = response.status().as_u16(),
            duration_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            remote = access.remote.map(tracing::field::display),
            "request"
        );
    }
    response
}

/// What the access log records of a request. The query string is left out: it may carry
/// tokens.
struct AccessEntry {
    method: Method,
    path: String,
    remote: Option<SocketAddr>,
}

impl AccessEntry {
    fn from_request(request: &Request) -> Self {
        Self {
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
            remote: request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0),
        }
    }
}

/// Answers a configured route, or 404 as Go's `http.NotFound` does.
async fn configured_route(State(app): State<Arc<App>>, request: Request) -> Response {
    let routes = app.routes.load();
    match routes.lookup(request.uri().path()) {
        Some(route) => {
            let response = if is_read_only(request.method()) {
                text_response(StatusCode::OK, Body::from(route.body.clone()))
            } else {
                method_not_allowed()
            };
            counted(response, &route.stats)
        }
        None => counted(
            text_response(StatusCode::NOT_FOUND, Body::from("404 page not found\n")),
            &app.endpoint_stats.unmatched,
        ),
    }
}

/// Liveness: the process is up and its runtime answers.
async fn healthz(State(app): State<Arc<App>>, method: Method) -> Response {
    let response = if is_read_only(&method) {
        text_response(StatusCode::OK, Body::from("ok\n"))
    } else {
        method_not_allowed()
    };
    counted(response, &app.endpoint_stats.healthz)
}

/// Readiness: a valid config is serving and shutdown has not started. The body reports
/// whether `DB_PASS` is set, never its value.
async fn readyz(State(app): State<Arc<App>>, method: Method) -> Response {
    if !is_read_only(&method) {
        return counted(method_not_allowed(), &app.endpoint_stats.readyz);
    }
    let (status, state) = if app.is_draining() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining")
    } else {
        (StatusCode::OK, "ready")
    };
    let body = format!(
        "{{\"status\":\"{state}\",\"routes\":{},\"last_reload_failed\":{},\"db_pass_set\":{}}}\n",
        app.routes.load().len(),
        app.metrics.last_reload_failed(),
        app.db_pass_set,
    );
    let response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    counted(response, &app.endpoint_stats.readyz)
}

/// Prometheus scrape endpoint.
async fn metrics(State(app): State<Arc<App>>, method: Method) -> Response {
    if !is_read_only(&method) {
        return counted(method_not_allowed(), &app.endpoint_stats.metrics);
    }
    let response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        app.metrics.render(),
    )
        .into_response();
    counted(response, &app.endpoint_stats.metrics)
}

/// GET and HEAD are answered (hyper leaves the body out of HEAD answers); other methods are not.
fn is_read_only(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

fn method_not_allowed() -> Response {
    let mut response = text_response(
        StatusCode::METHOD_NOT_ALLOWED,
        Body::from("405 method not allowed\n"),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

fn text_response(status: StatusCode, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, TEXT_PLAIN);
    response
}

fn counted(mut response: Response, stats: &Arc<RequestStats>) -> Response {
    response
        .extensions_mut()
        .insert(CountedAs(Arc::clone(stats)));
    response
}
