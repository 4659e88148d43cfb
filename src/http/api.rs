//! pi7's own JSON API under `/api/v1/`: what the command line does, as
//! JSON, described by an OpenAPI 3 document generated from these handlers
//! (`/api/v1/openapi.json`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use super::body::JsonBody;
use super::error::ErrorBody;
use super::rest::orders_of;
use super::{ApiError, AppState};
use crate::app::{
    Decided, Decision, EventFilter, ListFilter, Process, ProcessView, Shown, Submitted,
    TimelineStep,
};
use crate::domain::{Component, Envelope, ReservationDoc, SalesOrderDoc, Topic};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/orders", get(list_orders).post(submit))
        .route("/api/v1/reservations", get(list_reservations))
        .route("/api/v1/reservations/confirm", post(confirm))
        .route("/api/v1/reservations/reject", post(reject))
        .route("/api/v1/expire", post(expire))
        .route("/api/v1/documents/{id}", get(show))
        .route("/api/v1/processes/{id}", get(process))
        .route("/api/v1/processes/{id}/amend", post(amend))
        .route("/api/v1/processes/{id}/cancel", post(cancel))
        .route("/api/v1/pending", get(pending))
        .route("/api/v1/events", get(events))
        .route("/api/v1/events/stream", get(super::live::stream))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "pi7",
        description = "Sales orders, reservations and the saga that confirms an order once every reservation is confirmed. Every error is {\"error\", \"kind\"}: 400 bad input, 404 not found, 409 refused or ambiguous, 413 body too large, 415 not JSON, 401 no token, 503 database busy."
    ),
    paths(
        list_orders,
        submit,
        list_reservations,
        confirm,
        reject,
        expire,
        show,
        process,
        amend,
        cancel,
        pending,
        events,
        super::live::stream
    ),
    components(schemas(
        ErrorBody,
        Submitted,
        Decided,
        Shown,
        Process,
        ProcessView,
        TimelineStep,
        Ids,
        Reject,
        Cancel,
        Expire
    ))
)]
struct Doc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(Doc::openapi())
}

/// A query string pi7 cannot read is bad input, said as JSON.
pub fn query<T>(given: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    given
        .map(|Query(q)| q)
        .map_err(|e| ApiError::bad_input(e.body_text()))
}

/// The sales orders, narrowed as `pi7 list orders` narrows them.
#[utoipa::path(get, path = "/api/v1/orders", params(ListFilter),
    responses((status = 200, description = "sales-order documents, oldest first", body = Vec<serde_json::Value>),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_orders(
    State(shared): State<AppState>,
    filter: Result<Query<ListFilter>, QueryRejection>,
) -> Result<Json<Vec<SalesOrderDoc>>, ApiError> {
    let filter = query(filter)?;
    Ok(Json(shared.read(move |app| app.orders(&filter)).await?))
}

/// The reservations, narrowed as `pi7 list reservations` narrows them.
#[utoipa::path(get, path = "/api/v1/reservations", params(ListFilter),
    responses((status = 200, description = "reservation documents, oldest first", body = Vec<serde_json::Value>),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_reservations(
    State(shared): State<AppState>,
    filter: Result<Query<ListFilter>, QueryRejection>,
) -> Result<Json<Vec<ReservationDoc>>, ApiError> {
    let filter = query(filter)?;
    Ok(Json(
        shared.read(move |app| app.reservations(&filter)).await?,
    ))
}

/// Submits one order (a JSON object), many (an array, or JSON Lines), or a
/// JSON string holding either, as `pi7 submit` does.
#[utoipa::path(post, path = "/api/v1/orders",
    request_body(content = serde_json::Value, description = "{\"customer\": \"…\", \"reservations\": [{\"id\": 1, \"reserved\": \"…\"}]}"),
    responses((status = 200, body = Vec<Submitted>), (status = 400, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
async fn submit(
    State(shared): State<AppState>,
    body: JsonBody,
) -> Result<Json<Vec<Submitted>>, ApiError> {
    let orders = orders_of(&body)?;
    Ok(Json(shared.write(move |app| app.submit(&orders)).await?))
}

/// Reservation ids, or unique prefixes of at least 4 characters.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Ids {
    ids: Vec<String>,
}

/// Confirms reservations, as `pi7 confirm` does.
#[utoipa::path(post, path = "/api/v1/reservations/confirm", request_body = Ids,
    responses((status = 200, body = Decided), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn confirm(
    State(shared): State<AppState>,
    body: JsonBody,
) -> Result<Json<Decided>, ApiError> {
    let Ids { ids } = body.parse()?;
    Ok(Json(
        shared
            .write(move |app| app.decide(&ids, &Decision::Confirm))
            .await?,
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Reject {
    ids: Vec<String>,
    /// Why, as the order and the reservation will say.
    reason: Option<String>,
}

/// Rejects reservations, as `pi7 reject` does: their orders are cancelled.
#[utoipa::path(post, path = "/api/v1/reservations/reject", request_body = Reject,
    responses((status = 200, body = Decided), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn reject(State(shared): State<AppState>, body: JsonBody) -> Result<Json<Decided>, ApiError> {
    let Reject { ids, reason } = body.parse()?;
    let decision = Decision::Reject {
        reason: reason.unwrap_or_else(|| "no reason given".into()),
    };
    Ok(Json(
        shared.write(move |app| app.decide(&ids, &decision)).await?,
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Expire {
    /// How old an unconfirmed reservation may get: `90s`, `30m`, `2h`, `1d`.
    #[serde(rename = "olderThan")]
    older_than: String,
}

/// Rejects, as expired, every unconfirmed reservation older than that.
#[utoipa::path(post, path = "/api/v1/expire", request_body = Expire,
    responses((status = 200, body = Decided), (status = 400, body = ErrorBody)))]
async fn expire(State(shared): State<AppState>, body: JsonBody) -> Result<Json<Decided>, ApiError> {
    let Expire { older_than } = body.parse()?;
    let age = humantime::parse_duration(&older_than).map_err(|e| {
        ApiError::bad_input(format!(
            "olderThan '{older_than}': {e} (try 90s, 30m, 2h or 1d)"
        ))
    })?;
    Ok(Json(shared.write(move |app| app.expire(age)).await?))
}

/// A sales order, reservation or process by any id or unique prefix, with
/// its whole process: documents and events.
#[utoipa::path(get, path = "/api/v1/documents/{id}", params(("id" = String, Path)),
    responses((status = 200, body = Shown), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn show(
    State(shared): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Shown>, ApiError> {
    Ok(Json(shared.read_small(move |app| app.show(&id)).await?))
}

/// The process that any id (or unique prefix) belongs to: its documents,
/// its events and its saga's timeline.
#[utoipa::path(get, path = "/api/v1/processes/{id}", params(("id" = String, Path)),
    responses((status = 200, body = ProcessView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn process(
    State(shared): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ProcessView>, ApiError> {
    Ok(Json(
        shared.read_small(move |app| app.process_view(&id)).await?,
    ))
}

/// Amends a pending order, as `pi7 submit --process ID` does.
#[utoipa::path(post, path = "/api/v1/processes/{id}/amend", params(("id" = String, Path)),
    request_body(content = serde_json::Value, description = "one order"),
    responses((status = 200, body = Submitted), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn amend(
    State(shared): State<AppState>,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<Submitted>, ApiError> {
    let order = super::rest::one_order(&body)?;
    Ok(Json(shared.write(move |app| app.amend(&id, &order)).await?))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Cancel {
    /// Why, as the order will say.
    reason: Option<String>,
}

/// Cancels a pending order for the customer, as `pi7 cancel` does.
#[utoipa::path(post, path = "/api/v1/processes/{id}/cancel", params(("id" = String, Path)),
    request_body = Cancel,
    responses((status = 200, description = "the order as it is now", body = serde_json::Value),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel(
    State(shared): State<AppState>,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<Option<SalesOrderDoc>>, ApiError> {
    let Cancel { reason } = body.parse()?;
    let reason = reason.unwrap_or_else(|| "no reason given".into());
    Ok(Json(
        shared.write(move |app| app.cancel(&id, &reason)).await?,
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
struct PendingQuery {
    /// Parked deliveries (their handler failed) instead of pending ones.
    #[serde(default)]
    failed: bool,
    /// Only deliveries to this component: salesorder or reservation.
    to: Option<String>,
    /// Only deliveries of this process (any ID of it, or a unique prefix).
    process: Option<String>,
}

/// Deliveries not handled yet, as `pi7 pending` lists them.
#[utoipa::path(get, path = "/api/v1/pending", params(PendingQuery),
    responses((status = 200, body = Vec<serde_json::Value>), (status = 400, body = ErrorBody)))]
async fn pending(
    State(shared): State<AppState>,
    given: Result<Query<PendingQuery>, QueryRejection>,
) -> Result<Json<Vec<crate::app::Delivery>>, ApiError> {
    let q = query(given)?;
    let component =
        q.to.as_deref()
            .map(str::parse::<Component>)
            .transpose()
            .map_err(ApiError::bad_input)?;
    Ok(Json(
        shared
            .read(move |app| app.deliveries(q.failed, component, q.process.as_deref()))
            .await?,
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct EventsQuery {
    /// Only events after this seq.
    #[serde(default)]
    pub since: u64,
    /// Only events of this process (any ID of it, or a unique prefix).
    pub process: Option<String>,
    /// Only events of this topic.
    pub topic: Option<String>,
    /// At most this many (default and most: 1000); ask again with `since`.
    pub limit: Option<usize>,
}

pub const MAX_EVENTS: usize = 1000;

/// The event log in seq order, as `pi7 events --json` prints it.
#[utoipa::path(get, path = "/api/v1/events", params(EventsQuery),
    responses((status = 200, description = "envelopes in seq order", body = Vec<serde_json::Value>),
              (status = 400, body = ErrorBody)))]
async fn events(
    State(shared): State<AppState>,
    given: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Json<Vec<Envelope>>, ApiError> {
    let q = query(given)?;
    let topic = q
        .topic
        .as_deref()
        .map(str::parse::<Topic>)
        .transpose()
        .map_err(ApiError::bad_input)?;
    let limit = q.limit.unwrap_or(MAX_EVENTS).clamp(1, MAX_EVENTS);
    Ok(Json(
        shared
            .read(move |app| {
                let filter = EventFilter {
                    since: q.since,
                    process: q
                        .process
                        .as_deref()
                        .map(|p| app.process_of(p))
                        .transpose()?,
                    topic,
                };
                app.events(&filter, limit)
            })
            .await?,
    ))
}
