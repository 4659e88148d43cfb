//! The original's pages, rendered on the server and embedded in the binary
//! (no CDN: they work offline): `/` (frontend), `/backend.html`,
//! `/log.html`, `/all.html`, and pi7's own `/process/{id}`. Each live part
//! also has a `/fragments/…` URL that the page's script fetches again when
//! the event stream says something happened.

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use super::{html, ApiError, AppState};
use crate::app::{EventFilter, ListFilter};

/// How many of the newest events the log page shows.
const LOG_EVENTS: u64 = 500;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(frontend))
        .route("/index.html", get(frontend))
        .route(
            "/backend",
            get(|| async { Redirect::permanent("/backend.html") }),
        )
        .route("/backend.html", get(backend))
        .route("/log.html", get(log))
        .route("/all.html", get(all))
        .route("/process/{id}", get(process))
        .route("/fragments/backend", get(backend_fragment))
        .route("/fragments/log", get(log_fragment))
        .route("/fragments/process/{id}", get(process_fragment))
}

/// A page that failed: the error as HTML, with its status.
struct PageError(ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let body = format!("<p class=\"error\">{}</p>", html::escape(&self.0.message));
        (self.0.status, Html(html::page("error", &body))).into_response()
    }
}

type PageResult = Result<Html<String>, PageError>;

async fn frontend() -> Html<String> {
    Html(html::page("frontend", &html::frontend()))
}

async fn backend_html(shared: &AppState) -> Result<String, ApiError> {
    let (reservations, orders) = shared
        .read(|app| {
            let unconfirmed = ListFilter {
                status: Some("unconfirmed".into()),
                ..ListFilter::default()
            };
            Ok((
                app.reservations(&unconfirmed)?,
                app.orders(&ListFilter::default())?,
            ))
        })
        .await?;
    Ok(html::backend(&reservations, &orders))
}

async fn log_html(shared: &AppState) -> Result<String, ApiError> {
    let events = shared
        .read(|app| {
            let since = app.last_seq()?.saturating_sub(LOG_EVENTS);
            app.events(
                &EventFilter {
                    since,
                    ..EventFilter::default()
                },
                LOG_EVENTS as usize,
            )
        })
        .await?;
    Ok(html::log(&events))
}

async fn process_html(shared: &AppState, id: String) -> Result<String, ApiError> {
    let view = shared.read_small(move |app| app.process_view(&id)).await?;
    Ok(html::process(&view))
}

async fn backend(State(shared): State<AppState>) -> PageResult {
    let since = shared.live_seq();
    let inner = backend_html(&shared).await?;
    Ok(Html(html::page(
        "backend",
        &html::live("/fragments/backend", since, &inner),
    )))
}

async fn log(State(shared): State<AppState>) -> PageResult {
    let since = shared.live_seq();
    let inner = log_html(&shared).await?;
    Ok(Html(html::page(
        "log",
        &html::live("/fragments/log", since, &inner),
    )))
}

async fn all(State(shared): State<AppState>) -> PageResult {
    let since = shared.live_seq();
    let backend = backend_html(&shared).await?;
    let log = log_html(&shared).await?;
    let body = format!(
        "{}{}{}",
        html::frontend(),
        html::live("/fragments/backend", since, &backend),
        html::live("/fragments/log", since, &log)
    );
    Ok(Html(html::page("all", &body)))
}

async fn process(State(shared): State<AppState>, Path(id): Path<String>) -> PageResult {
    let url = format!("/fragments/process/{id}");
    let since = shared.live_seq();
    let inner = process_html(&shared, id).await?;
    Ok(Html(html::page(
        "process",
        &html::live(&url, since, &inner),
    )))
}

async fn backend_fragment(State(shared): State<AppState>) -> Result<Html<String>, ApiError> {
    Ok(Html(backend_html(&shared).await?))
}

async fn log_fragment(State(shared): State<AppState>) -> Result<Html<String>, ApiError> {
    Ok(Html(log_html(&shared).await?))
}

async fn process_fragment(
    State(shared): State<AppState>,
    Path(id): Path<String>,
) -> Result<Html<String>, ApiError> {
    Ok(Html(process_html(&shared, id).await?))
}
