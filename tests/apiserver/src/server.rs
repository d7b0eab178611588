//! The HTTP layer: accepting connections, authentication, the request log,
//! failure injection, and routing to discovery, resources or test controls.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, Response, StatusCode, header};
use futures_util::stream;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::ServiceExt as _;

use crate::api::{self, ApiRequest, ApiResponse, CrdEstablishment, WatchSettings};
use crate::controller::{ControllerSettings, ForeignManagers, Pace, Runs, SettingsCell};
use crate::discovery::DiscoveryMode;
use crate::faults::{Effects, FaultAction, Faults, Gates, Release, RequestFacts};
use crate::path::{Query, Route};
use crate::requests::{EntryId, Injected, RecordedRequest, RequestLog};
use crate::status::ApiError;
use crate::store::Store;
use crate::time::AtomicDuration;
use crate::{control, discovery, openapi};

/// The most a request body may hold, as on the real server.
const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// State shared by every connection, the controller and the handle.
pub struct Shared {
    store: Mutex<Store>,
    /// The bearer token requests must carry when they carry one.
    pub token: String,
    /// Whether requests without any credentials are rejected too.
    pub require_token: bool,
    /// The namespace generated kubeconfigs select by default.
    pub default_namespace: String,
    /// Every API request, in order.
    pub requests: RequestLog,
    /// Active failure injections.
    pub faults: Faults,
    /// Requests held by `Hold` faults.
    pub gates: Gates,
    /// Added to every answer (a slow link).
    latency: AtomicDuration,
    /// Simulated controller configuration.
    pub controller: SettingsCell,
    /// When the simulated controllers write.
    pub pace: Pace,
    /// Held runs of Jobs and Pods, and their logs.
    pub runs: Runs,
    /// Whether kube-controller-manager writes more than status.
    pub foreign_managers: ForeignManagers,
    /// Watch tunables.
    pub watch_settings: WatchSettings,
    /// How `/api` and `/apis` answer.
    pub discovery: DiscoveryMode,
    /// The port the server listens on.
    pub port: u16,
}

/// What a server starts with: the builder's choices.
#[derive(Debug, Clone)]
pub struct Options {
    /// The accepted bearer token.
    pub token: String,
    /// Reject requests that carry no credentials (kubectl sends none over plain HTTP).
    pub require_token: bool,
    /// The namespace generated kubeconfigs select.
    pub default_namespace: String,
    /// Readiness rules of the simulated controller.
    pub controller: ControllerSettings,
    /// How long after a change the simulated controllers write.
    pub controller_lag: Duration,
    /// When new CustomResourceDefinitions are established.
    pub crd_establishment: CrdEstablishment,
    /// Whether kube-controller-manager writes more than status.
    pub foreign_managers: bool,
    /// Watch tunables.
    pub watch: WatchSettings,
    /// How `/api` and `/apis` answer.
    pub discovery: DiscoveryMode,
    /// Added to every answer (a slow link).
    pub latency: Duration,
}

impl Shared {
    /// State for a server on `port`.
    pub fn new(options: Options, port: u16) -> Self {
        let mut store = Store::new(options.watch.history_limit);
        store.crd_establishment = options.crd_establishment;
        let shared = Shared {
            store: Mutex::new(store),
            token: options.token,
            require_token: options.require_token,
            default_namespace: options.default_namespace,
            requests: RequestLog::default(),
            faults: Faults::default(),
            gates: Gates::default(),
            latency: AtomicDuration::new(options.latency),
            controller: SettingsCell::default(),
            pace: Pace::new(options.controller_lag),
            runs: Runs::default(),
            foreign_managers: ForeignManagers::new(options.foreign_managers),
            watch_settings: options.watch,
            discovery: options.discovery,
            port,
        };
        shared
            .controller
            .update(|settings| *settings = options.controller);
        shared
    }

    /// End the held run of the Job or bare Pod `name` (see [`Runs::finish`]).
    pub fn finish_run(&self, resource: &str, namespace: &str, name: &str) -> bool {
        let kind = self
            .store()
            .catalogue
            .resolve(resource)
            .map_or_else(|| resource.to_string(), |r| r.kind.clone());
        self.runs
            .finish((kind, namespace.to_string(), name.to_string()))
    }

    /// The latency added to every answer.
    pub fn latency(&self) -> Duration {
        self.latency.get()
    }

    /// Change the latency added to every answer.
    pub fn set_latency(&self, latency: Duration) {
        self.latency.set(latency);
    }

    /// Lock the store. Handlers never hold the lock across an await.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A copy of the controller settings.
    pub fn controller_settings(&self) -> ControllerSettings {
        self.controller.get()
    }
}

/// The error that makes hyper close a connection without answering.
#[derive(Debug)]
struct DroppedConnection;

impl std::fmt::Display for DroppedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DroppedConnection {}

/// Accept connections until `shutdown` fires.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let controls = control::router(shared.clone());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = shared.clone();
                let controls = controls.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| handle(shared.clone(), controls.clone(), request));
                    // Errors here are clients going away or injected drops.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            _ = &mut shutdown => return,
        }
    }
}

async fn handle(
    shared: Arc<Shared>,
    controls: Router,
    request: Request<Incoming>,
) -> Result<Response<Body>, DroppedConnection> {
    let path = request.uri().path().to_string();
    if path == "/__test" || path.starts_with("/__test/") {
        let response = controls.oneshot(request.map(Body::new)).await;
        return Ok(response.unwrap_or_else(|never: Infallible| match never {}));
    }
    let entry = shared.requests.arrive(RecordedRequest {
        method: request.method().to_string(),
        path,
        query: request.uri().query().unwrap_or_default().to_string(),
        content_type: header_text(request.headers(), header::CONTENT_TYPE),
        status: None,
        handled: None,
        injected: Vec::new(),
        arrived: Default::default(),
        answered: None,
    });
    // A distant cluster: the request travels half the latency, the answer
    // the other half (for a watch, only its start).
    let half_trip = shared.latency() / 2;
    if !half_trip.is_zero() {
        tokio::time::sleep(half_trip).await;
    }
    let exchange = Exchange {
        shared: &shared,
        entry,
    };
    let result = exchange.respond(request).await;
    let status = result
        .as_ref()
        .ok()
        .map(|response| response.status().as_u16());
    shared
        .requests
        .update(entry, |record| record.status = status);
    if !half_trip.is_zero() {
        tokio::time::sleep(half_trip).await;
    }
    if status.is_some() {
        shared.requests.answered(entry);
    }
    result
}

/// One API request on its way through faults and handling, noting in the
/// request log what happens to it.
struct Exchange<'a> {
    shared: &'a Arc<Shared>,
    entry: EntryId,
}

impl Exchange<'_> {
    async fn respond(
        &self,
        request: Request<Incoming>,
    ) -> Result<Response<Body>, DroppedConnection> {
        let shared = self.shared;
        if !authorized(request.headers(), &shared.token, shared.require_token) {
            return Ok(self.handled(error_response(&ApiError::unauthorized())));
        }
        let route = Route::parse(request.uri().path());
        let query = Query::parse(request.uri().query());
        let facts = request_facts(shared, &route, &request, &query);
        let decision = shared.faults.decide(&facts);
        let early_answer = self.carry_out(&decision.before).await?;
        let (parts, body) = request.into_parts();
        let body = match axum::body::to_bytes(Body::new(body), MAX_BODY_BYTES).await {
            Ok(body) => body,
            Err(_) => {
                let error = ApiError::new(
                    413,
                    "RequestEntityTooLarge",
                    format!("Request entity too large: limit is {MAX_BODY_BYTES}"),
                );
                return Ok(self.handled(error_response(&error)));
            }
        };
        // An injected failure answers after the body was read, as the real server's storage
        // and admission errors do; answering before it would close the connection under the
        // client's next request.
        if let Some(action) = early_answer {
            return Ok(fault_response(&action, &facts, &body));
        }
        let request = Request::from_parts(parts, body.clone());
        let response = self.handled(route_request(shared, route, query, request));
        match self.carry_out(&decision.after).await? {
            Some(action) => Ok(fault_response(&action, &facts, &body)),
            None => Ok(response),
        }
    }

    /// Wait, hold, drop or pick a failure to answer with, as the faults decided.
    async fn carry_out(&self, effects: &Effects) -> Result<Option<FaultAction>, DroppedConnection> {
        if let Some(delay) = effects.delay {
            self.note(Injected::Delayed);
            tokio::time::sleep(delay).await;
        }
        if let Some(gate) = &effects.hold {
            self.note(Injected::Held);
            // A gate that goes away lets its requests go on.
            match self
                .shared
                .gates
                .enter(gate)
                .await
                .unwrap_or(Release::Proceed)
            {
                Release::Proceed => {}
                Release::Answer(action) => {
                    self.note(Injected::Failed);
                    return Ok(Some(action));
                }
                Release::Drop => {
                    self.note(Injected::Dropped);
                    return Err(DroppedConnection);
                }
            }
        }
        if effects.drop {
            self.note(Injected::Dropped);
            return Err(DroppedConnection);
        }
        if effects.answer.is_some() {
            self.note(Injected::Failed);
        }
        Ok(effects.answer.clone())
    }

    /// Note the status the server's own handling produced.
    fn handled(&self, response: Response<Body>) -> Response<Body> {
        let status = response.status().as_u16();
        self.shared
            .requests
            .update(self.entry, |record| record.handled = Some(status));
        response
    }

    fn note(&self, injected: Injected) {
        self.shared
            .requests
            .update(self.entry, |record| record.injected.push(injected));
    }
}

/// What faults can match on: the method, path and the object addressed.
fn request_facts(
    shared: &Shared,
    route: &Route,
    request: &Request<Incoming>,
    query: &Query,
) -> RequestFacts {
    let mut facts = RequestFacts {
        method: request.method().to_string(),
        path: request.uri().path().to_string(),
        watch: query.flag("watch"),
        dry_run: query.dry_run(),
        ..RequestFacts::default()
    };
    if let Route::Resource(path) = route {
        facts.resource = shared
            .store()
            .catalogue
            .find(&path.group, &path.version, &path.resource);
        facts.namespace = path.namespace.clone();
        facts.name = path.name.clone();
    }
    facts
}

/// The answer a fault gives instead of the server's.
fn fault_response(action: &FaultAction, facts: &RequestFacts, body: &[u8]) -> Response<Body> {
    let answer = action
        .answer(facts, body)
        .expect("only answering actions are chosen as answers");
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() =
        StatusCode::from_u16(answer.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(answer.content_type),
    );
    if answer.content_type.starts_with("text/plain") {
        // What Go's http.Error adds to every plain-text error.
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            header::HeaderValue::from_static("nosniff"),
        );
    }
    if let Some(value) = answer
        .retry_after
        .and_then(|seconds| header::HeaderValue::from_str(&seconds).ok())
    {
        headers.insert(header::RETRY_AFTER, value);
    }
    response
}

fn route_request(
    shared: &Arc<Shared>,
    route: Route,
    query: Query,
    request: Request<Bytes>,
) -> Response<Body> {
    let discovery_route = !matches!(route, Route::Resource(_) | Route::Unknown);
    if discovery_route && request.method() != Method::GET {
        return error_response(&ApiError::method_not_allowed(request.method().as_str()));
    }
    let accept = header_text(request.headers(), header::ACCEPT);
    let aggregated = shared.discovery == DiscoveryMode::Aggregated
        && discovery::wants_aggregated(accept.as_deref());
    let found = |document: Option<Value>| {
        document.map_or_else(
            || error_response(&ApiError::no_route()),
            |d| json_response(200, &d),
        )
    };
    match route {
        Route::Version => json_response(200, &discovery::version()),
        Route::Health => Response::new(Body::from("ok")),
        Route::CoreVersions if aggregated => {
            aggregated_response(&discovery::aggregated(&shared.store().catalogue, true))
        }
        Route::CoreVersions => {
            let host = header_text(request.headers(), header::HOST)
                .unwrap_or_else(|| format!("127.0.0.1:{}", shared.port));
            json_response(200, &discovery::core_versions(&host))
        }
        Route::CoreResources(version) => found(discovery::resources(
            &shared.store().catalogue,
            "",
            &version,
        )),
        Route::Groups if aggregated => {
            aggregated_response(&discovery::aggregated(&shared.store().catalogue, false))
        }
        Route::Groups => json_response(200, &discovery::groups(&shared.store().catalogue)),
        Route::Group(group) => found(discovery::group(&shared.store().catalogue, &group)),
        Route::GroupResources(group, version) => found(discovery::resources(
            &shared.store().catalogue,
            &group,
            &version,
        )),
        Route::OpenApiIndex => json_response(200, &openapi::index(&shared.store().catalogue)),
        Route::OpenApiDocument => found(openapi::document(
            &shared.store().catalogue,
            request.uri().path(),
        )),
        Route::Unknown => error_response(&ApiError::no_route()),
        Route::Resource(path) => {
            let (parts, body) = request.into_parts();
            let api_request = ApiRequest {
                method: parts.method,
                path,
                query,
                content_type: header_text(&parts.headers, header::CONTENT_TYPE),
                user_agent: header_text(&parts.headers, header::USER_AGENT),
                accept: header_text(&parts.headers, header::ACCEPT),
                body,
            };
            match api::handle(shared, api_request) {
                Ok(response) => api_response(response),
                Err(error) => error_response(&error),
            }
        }
    }
}

/// A request with credentials must carry the right bearer token; one without
/// any is anonymous, allowed unless the token is required. (kubectl never
/// sends credentials to a plain-HTTP server, so anonymous access is what
/// makes it work.)
fn authorized(headers: &HeaderMap, token: &str, require_token: bool) -> bool {
    match header_text(headers, header::AUTHORIZATION) {
        None => !require_token,
        Some(value) => value
            .strip_prefix("Bearer ")
            .is_some_and(|given| given.trim() == token),
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn json_response(code: u16, body: &Value) -> Response<Body> {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn api_response(response: ApiResponse) -> Response<Body> {
    match response {
        ApiResponse::Json(code, body) => json_response(code, &body),
        ApiResponse::Watch(receiver) => watch_response(receiver),
        ApiResponse::Text(code, text) => text_response(code, text),
        ApiResponse::Warning(warning, response) => {
            let mut response = api_response(*response);
            // The real server's form: code 299, no agent, the text quoted.
            if let Ok(value) = header::HeaderValue::from_str(&format!("299 - \"{warning}\"")) {
                response.headers_mut().append(header::WARNING, value);
            }
            response
        }
    }
}

fn text_response(code: u16, text: String) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    response
}

fn aggregated_response(body: &Value) -> Response<Body> {
    let mut response = json_response(200, body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(discovery::AGGREGATED_CONTENT_TYPE),
    );
    response
}

/// A Status error body.
pub fn error_response(error: &ApiError) -> Response<Body> {
    json_response(error.code, &error.to_status())
}

fn watch_response(receiver: tokio::sync::mpsc::Receiver<Bytes>) -> Response<Body> {
    let events = stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|line| (Ok::<_, Infallible>(line), receiver))
    });
    let mut response = Response::new(Body::from_stream(events));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}
