//! Test controls over HTTP under `/__test/`: the request log, failure
//! injection, the simulated controller and kubeconfig variants. They need no
//! token and are not recorded in the request log.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::controller::{ControllerSettings, ReadinessRule};
use crate::faults::{Fault, FaultId};
use crate::kubeconfig::{self, KubeconfigOptions};
use crate::path::Query;
use crate::requests::RecordedRequest;
use crate::server::Shared;

/// The `/__test` routes.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
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

async fn reset_readiness(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared
        .controller
        .update(|settings| *settings = ControllerSettings::default());
    StatusCode::NO_CONTENT
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
