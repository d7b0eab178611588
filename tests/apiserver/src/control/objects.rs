//! `/__test/` controls that write objects as `test-setup`: replace or delete
//! one, set its status or a condition, move a Lease's times. Each answers
//! the object written, or the Status error a client's request would get.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use crate::direct::{self, Condition, TimeShift};
use crate::path::Query;
use crate::server::Shared;
use crate::status::ApiError;

/// The object a control addresses: `?resource=secrets&namespace=default&name=x`.
struct Addressed {
    resource: String,
    namespace: String,
    name: String,
}

impl Addressed {
    fn from_query(query: Option<&str>) -> Result<Self, ApiError> {
        let query = Query::parse(query);
        let field = |key: &str| {
            query
                .non_empty(key)
                .map(str::to_string)
                .ok_or_else(|| ApiError::bad_request(format!("the query needs {key}=")))
        };
        Ok(Addressed {
            resource: field("resource")?,
            namespace: query
                .non_empty("namespace")
                .unwrap_or("default")
                .to_string(),
            name: field("name")?,
        })
    }
}

/// The routes, under `/__test`.
pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/__test/objects", put(replace).delete(remove))
        .route("/__test/status", put(set_status))
        .route("/__test/conditions", post(set_condition))
        .route("/__test/leases/shift", post(shift_lease))
}

fn answer(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(object) => Json(object).into_response(),
        Err(error) => {
            let code =
                StatusCode::from_u16(error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (code, Json(error.to_status())).into_response()
        }
    }
}

async fn replace(State(shared): State<Arc<Shared>>, Json(object): Json<Value>) -> Response {
    answer(direct::replace(&shared, object))
}

async fn remove(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    answer(Addressed::from_query(query.as_deref()).and_then(|object| {
        direct::delete(&shared, &object.resource, &object.namespace, &object.name)
    }))
}

async fn set_status(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    Json(status): Json<Value>,
) -> Response {
    answer(Addressed::from_query(query.as_deref()).and_then(|object| {
        direct::set_status(
            &shared,
            &object.resource,
            &object.namespace,
            &object.name,
            status,
        )
    }))
}

async fn set_condition(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    Json(condition): Json<Condition>,
) -> Response {
    answer(Addressed::from_query(query.as_deref()).and_then(|object| {
        direct::set_condition(
            &shared,
            &object.resource,
            &object.namespace,
            &object.name,
            &condition,
        )
    }))
}

/// `{"ms": -60000}`: negative moves the times into the past.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Shift {
    ms: i64,
}

async fn shift_lease(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    Json(shift): Json<Shift>,
) -> Response {
    let lease = format!("resource=leases&{}", query.unwrap_or_default());
    answer(Addressed::from_query(Some(&lease)).and_then(|lease| {
        direct::shift_lease(
            &shared,
            &lease.namespace,
            &lease.name,
            TimeShift::from_millis(shift.ms),
        )
    }))
}
