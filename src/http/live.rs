//! The live event stream: one poller follows the event log in the database
//! (so that what another pi7 process writes shows up too, not only this
//! server's writes) and fans new events out to every open stream as
//! server-sent events, one envelope each, its `id` the event's seq.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

use super::api::{query, MAX_EVENTS};
use super::{ApiError, AppState, Shared};
use crate::app::EventFilter;
use crate::domain::Envelope;

/// How often the poller looks for new events.
const POLL: Duration = Duration::from_millis(200);

/// Follows the log from `last` on, until the server stops.
pub async fn poll(shared: Arc<Shared>, mut last: u64) {
    let mut stopping = shared.stopping.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stopping.changed() => return,
        }
        let since = last;
        let read = shared
            .read(move |app| {
                app.events(
                    &EventFilter {
                        since,
                        ..EventFilter::default()
                    },
                    MAX_EVENTS,
                )
            })
            .await;
        // A failed read (the database busy for a moment) is tried again at
        // the next tick; a stream only ever misses nothing.
        if let Ok(events) = read {
            for event in events {
                last = event.seq;
                shared.live_seq.store(last, Ordering::Release);
                let _ = shared.live.send(Arc::new(event));
            }
        }
    }
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct StreamQuery {
    /// Send the events after this seq first; without it (and without a
    /// `Last-Event-ID` header), only events that land from now on.
    since: Option<u64>,
}

/// What a stream still has to send.
struct Follow {
    shared: AppState,
    backlog: VecDeque<Envelope>,
    live: tokio::sync::broadcast::Receiver<Arc<Envelope>>,
    stopping: tokio::sync::watch::Receiver<bool>,
    /// The seq of the last event sent.
    last: u64,
}

/// The event log as it grows: server-sent events, each an envelope as JSON
/// with its seq as the event id (a reconnecting browser resumes after it).
#[utoipa::path(get, path = "/api/v1/events/stream", params(StreamQuery),
    responses((status = 200, description = "text/event-stream: one envelope per event", content_type = "text/event-stream", body = String)))]
pub async fn stream(
    State(shared): State<AppState>,
    headers: HeaderMap,
    given: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let q = query(given)?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    // Subscribe before reading the backlog, so that nothing lands between.
    let live = shared.live.subscribe();
    let since = match resume.or(q.since) {
        Some(since) => since,
        None => shared.read_small(|app| app.last_seq()).await?,
    };
    let follow = Follow {
        backlog: VecDeque::new(),
        live,
        stopping: shared.stopping.clone(),
        shared,
        last: since,
    };
    let events = stream::unfold(follow, |mut f| async move {
        loop {
            if let Some(event) = f.backlog.pop_front() {
                f.last = event.seq;
                return Some((Ok(sse(&event)), f));
            }
            if *f.stopping.borrow() {
                return None;
            }
            if f.last < f.shared.live_seq() {
                // Behind what was broadcast (a backlog, or this stream
                // lagged): read from the log.
                let since = f.last;
                let read = f
                    .shared
                    .read(move |app| {
                        app.events(
                            &EventFilter {
                                since,
                                ..EventFilter::default()
                            },
                            MAX_EVENTS,
                        )
                    })
                    .await;
                match read {
                    Ok(events) if !events.is_empty() => {
                        f.backlog.extend(events);
                        continue;
                    }
                    _ => {}
                }
            }
            tokio::select! {
                received = f.live.recv() => match received {
                    Ok(event) if event.seq > f.last => f.backlog.push_back((*event).clone()),
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                },
                _ = f.stopping.changed() => return None,
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

fn sse(event: &Envelope) -> Event {
    Event::default()
        .id(event.seq.to_string())
        .data(serde_json::to_string(event).unwrap_or_default())
}
