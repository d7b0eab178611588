//! Test controls over HTTP under `/__test/`: the request log, failure
//! injection and held requests, latency, the simulated controllers, CRD
//! establishment, direct writes and kubeconfig variants. They need no
//! token and are not recorded in the request log.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::{self, CrdEstablishment};
use crate::controller::{ControllerSettings, ReadinessRule, RunRule};
use crate::faults::{Fault, FaultAction, FaultId, HOLD_PATIENCE, Release};
use crate::kubeconfig::{self, KubeconfigOptions};
use crate::path::Query;
use crate::requests::RecordedRequest;
use crate::server::Shared;
use crate::status::ApiError;
use crate::time;

mod objects;

/// The `/__test` routes.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .merge(objects::router())
        .route(
            "/__test/requests",
            get(list_requests).delete(clear_requests),
        )
        .route(
            "/__test/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/__test/faults/{id}", delete(remove_fault))
        .route(
            "/__test/readiness",
            get(readiness).put(set_readiness).delete(reset_readiness),
        )
        .route("/__test/readiness/rules", post(add_readiness_rule))
        .route("/__test/runs/rules", post(add_run_rule))
        .route("/__test/runs/finish", post(finish_run))
        .route("/__test/gates/{name}", get(gate))
        .route("/__test/gates/{name}/release", post(release_gate))
        .route("/__test/latency", get(latency).put(set_latency))
        .route("/__test/controller", get(controller).put(set_controller))
        .route("/__test/crds", get(crds).put(set_crds))
        .route("/__test/crds/establish", post(establish_crds))
        .route("/__test/kubeconfig", get(kubeconfig_text))
        .with_state(shared)
}

async fn list_requests(State(shared): State<Arc<Shared>>) -> Json<Vec<RecordedRequest>> {
    Json(shared.requests.snapshot())
}

async fn clear_requests(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.requests.clear();
    StatusCode::NO_CONTENT
}

async fn list_faults(State(shared): State<Arc<Shared>>) -> Json<serde_json::Value> {
    let faults: Vec<_> = shared
        .faults
        .list()
        .into_iter()
        .map(|(id, fault)| json!({"id": id, "fault": fault}))
        .collect();
    Json(json!(faults))
}

async fn add_fault(
    State(shared): State<Arc<Shared>>,
    Json(fault): Json<Fault>,
) -> (StatusCode, Json<serde_json::Value>) {
    let id = shared.faults.add(fault);
    (StatusCode::CREATED, Json(json!({"id": id})))
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.faults.clear();
    StatusCode::NO_CONTENT
}

async fn remove_fault(State(shared): State<Arc<Shared>>, Path(id): Path<u64>) -> StatusCode {
    if shared.faults.remove(FaultId(id)) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn readiness(State(shared): State<Arc<Shared>>) -> Json<ControllerSettings> {
    Json(shared.controller_settings())
}

async fn set_readiness(
    State(shared): State<Arc<Shared>>,
    Json(settings): Json<ControllerSettings>,
) -> Json<ControllerSettings> {
    shared.controller.update(|current| *current = settings);
    Json(shared.controller_settings())
}

async fn add_readiness_rule(
    State(shared): State<Arc<Shared>>,
    Json(rule): Json<ReadinessRule>,
) -> StatusCode {
    shared
        .controller
        .update(|settings| settings.rules.push(rule));
    StatusCode::CREATED
}

async fn add_run_rule(State(shared): State<Arc<Shared>>, Json(rule): Json<RunRule>) -> StatusCode {
    shared
        .controller
        .update(|settings| settings.runs.push(rule));
    StatusCode::CREATED
}

/// `?resource=Job&namespace=default&name=migrate`: end that held run;
/// `{"waiting": true}` when it was held already.
async fn finish_run(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> (StatusCode, Json<serde_json::Value>) {
    let query = Query::parse(query.as_deref());
    let (Some(resource), Some(name)) = (query.non_empty("resource"), query.non_empty("name"))
    else {
        let error = ApiError::bad_request("the query needs resource= and name=");
        return (StatusCode::BAD_REQUEST, Json(error.to_status()));
    };
    let namespace = query.non_empty("namespace").unwrap_or("default");
    let waiting = shared.finish_run(resource, namespace, name);
    (StatusCode::OK, Json(json!({"waiting": waiting})))
}

async fn reset_readiness(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared
        .controller
        .update(|settings| *settings = ControllerSettings::default());
    StatusCode::NO_CONTENT
}

/// `?wait_for=n` blocks until n requests are held (or answers 408 after
/// [`HOLD_PATIENCE`]); the answer is `{"held": n}` either way.
async fn gate(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> (StatusCode, Json<serde_json::Value>) {
    let wanted = Query::parse(query.as_deref())
        .non_empty("wait_for")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    let waited =
        tokio::task::spawn_blocking(move || shared.gates.wait_for(&name, wanted, HOLD_PATIENCE))
            .await
            .unwrap_or(Err(0));
    match waited {
        Ok(held) => (StatusCode::OK, Json(json!({"held": held}))),
        Err(held) => (StatusCode::REQUEST_TIMEOUT, Json(json!({"held": held}))),
    }
}

/// How held requests leave a gate: the oldest `count` (all when absent) go
/// on, or get `answer`'s answer, or have their connection dropped.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GateRelease {
    #[serde(default)]
    count: Option<usize>,
    #[serde(default)]
    answer: Option<FaultAction>,
    #[serde(default)]
    drop: bool,
}

async fn release_gate(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    body: Option<Json<GateRelease>>,
) -> Json<serde_json::Value> {
    let Json(how) = body.unwrap_or_default();
    let release = match (how.answer, how.drop) {
        (_, true) => Release::Drop,
        (Some(action), false) => Release::Answer(action),
        (None, false) => Release::Proceed,
    };
    let released = shared.gates.release(&name, how.count, &release);
    Json(json!({"released": released}))
}

async fn latency(State(shared): State<Arc<Shared>>) -> Json<serde_json::Value> {
    Json(json!({"ms": time::millis(shared.latency())}))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Latency {
    ms: u64,
}

async fn set_latency(
    State(shared): State<Arc<Shared>>,
    Json(latency): Json<Latency>,
) -> StatusCode {
    shared.set_latency(Duration::from_millis(latency.ms));
    StatusCode::NO_CONTENT
}

/// The simulated controllers' pace and modes:
/// `{"lag_ms": 50, "paused": false, "foreign_managers": false}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControllerPace {
    #[serde(default)]
    lag_ms: Option<u64>,
    #[serde(default)]
    paused: Option<bool>,
    #[serde(default)]
    foreign_managers: Option<bool>,
}

async fn controller(State(shared): State<Arc<Shared>>) -> Json<ControllerPace> {
    Json(ControllerPace {
        lag_ms: Some(time::millis(shared.pace.lag())),
        paused: Some(shared.pace.paused()),
        foreign_managers: Some(shared.foreign_managers.enabled()),
    })
}

/// Change the fields given.
async fn set_controller(
    State(shared): State<Arc<Shared>>,
    Json(pace): Json<ControllerPace>,
) -> Json<ControllerPace> {
    if let Some(ms) = pace.lag_ms {
        shared.pace.set_lag(Duration::from_millis(ms));
    }
    match pace.paused {
        Some(true) => shared.pace.pause(),
        Some(false) => shared.pace.resume(),
        None => {}
    }
    if let Some(on) = pace.foreign_managers {
        shared.foreign_managers.set_enabled(on);
    }
    controller(State(shared)).await
}

/// `{"establishment": "immediate" | "never" | "manual" | {"after_ms": 100}, "waiting": [names]}`
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Crds {
    establishment: CrdEstablishment,
    #[serde(default)]
    waiting: Vec<String>,
}

async fn crds(State(shared): State<Arc<Shared>>) -> Json<Crds> {
    let store = shared.store();
    Json(Crds {
        establishment: store.crd_establishment,
        waiting: api::waiting(&store),
    })
}

async fn set_crds(State(shared): State<Arc<Shared>>, Json(settings): Json<Crds>) -> Json<Crds> {
    shared.store().crd_establishment = settings.establishment;
    crds(State(shared)).await
}

/// Establish every waiting CRD: `{"established": [names]}`.
async fn establish_crds(State(shared): State<Arc<Shared>>) -> Json<serde_json::Value> {
    let established = api::establish_waiting(&mut shared.store());
    Json(json!({"established": established}))
}

async fn kubeconfig_text(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let options = KubeconfigOptions::from_query(&Query::parse(query.as_deref()));
    let text = kubeconfig::render(
        shared.port,
        &shared.token,
        &shared.default_namespace,
        &options,
    );
    ([(header::CONTENT_TYPE, "application/yaml")], text).into_response()
}
