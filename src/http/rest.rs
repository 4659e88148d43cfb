//! The original PI 7's REST API, wire-compatible: its pages, and any client
//! written for them, work unchanged.
//!
//! | request | body |
//! |---|---|
//! | `POST /api/web/salesorder/request` | the order as a JSON object, or a JSON string holding the order's JSON text (what the original's page sent) |
//! | `GET /api/store/salesorder` | |
//! | `GET /api/store/reservation/{status}` | |
//! | `POST /api/store/reservation/confirmed` | a JSON string: the reservation's `_id` |

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::body::{JsonBody, SOURCE};
use super::{ApiError, AppState};
use crate::app::{Decision, ListFilter, Submitted};
use crate::domain::order::{parse_orders, OrderRequest};
use crate::domain::{ReservationDoc, SalesOrderDoc};
use crate::error::{BadOrder, InputError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/web/salesorder/request", post(request))
        .route("/api/store/salesorder", get(salesorders))
        .route("/api/store/reservation/{status}", get(reservations))
        // A path of its own for POST, so GET must be named here too.
        .route(
            "/api/store/reservation/confirmed",
            get(|state| reservations(state, Path("confirmed".to_string()))).post(confirmed),
        )
}

/// The orders a body holds: a JSON object (or array, or JSON Lines), or a
/// JSON string whose content is that, as the original's page sent it.
pub fn orders_of(body: &JsonBody) -> Result<Vec<OrderRequest>, ApiError> {
    let inner: Option<String> = body
        .text
        .trim_start()
        .starts_with('"')
        .then(|| body.parse())
        .transpose()?;
    let text = inner.as_deref().unwrap_or(&body.text);
    parse_orders(text).map_err(|error| {
        crate::app::Error::from(BadOrder {
            source_name: SOURCE.to_string(),
            error,
        })
        .into()
    })
}

/// Exactly one order, as the original took.
pub fn one_order(body: &JsonBody) -> Result<OrderRequest, ApiError> {
    let mut orders = orders_of(body)?;
    if orders.len() != 1 {
        return Err(crate::app::Error::from(InputError(format!(
            "{SOURCE} holds {} orders; send one",
            orders.len()
        )))
        .into());
    }
    Ok(orders.remove(0))
}

async fn request(
    State(shared): State<AppState>,
    body: JsonBody,
) -> Result<Json<Submitted>, ApiError> {
    let order = one_order(&body)?;
    let mut submitted = shared
        .write(move |app| app.submit(std::slice::from_ref(&order)))
        .await?;
    Ok(Json(submitted.remove(0)))
}

async fn salesorders(State(shared): State<AppState>) -> Result<Json<Vec<SalesOrderDoc>>, ApiError> {
    let orders = shared
        .read(|app| app.orders(&ListFilter::default()))
        .await?;
    Ok(Json(orders))
}

async fn reservations(
    State(shared): State<AppState>,
    Path(status): Path<String>,
) -> Result<Json<Vec<ReservationDoc>>, ApiError> {
    let filter = ListFilter {
        status: Some(status),
        ..ListFilter::default()
    };
    Ok(Json(
        shared.read(move |app| app.reservations(&filter)).await?,
    ))
}

async fn confirmed(
    State(shared): State<AppState>,
    body: JsonBody,
) -> Result<Json<ReservationDoc>, ApiError> {
    let id: String = body.parse()?;
    let mut decided = shared
        .write(move |app| app.decide(&[id], &Decision::Confirm))
        .await?;
    Ok(Json(decided.reservations.remove(0)))
}
