//! The delivery worker behind `pi7 worker`: threads that each hold a
//! connection, claim one pending delivery at a time and handle it in its own
//! transaction, until asked to stop.
//!
//! On PostgreSQL a thread sleeps on `LISTEN` between deliveries and wakes
//! when a transaction that added deliveries commits; on SQLite it polls.
//! Stopping is checked between deliveries, so a delivery is either handled
//! and committed or not started; a killed worker leaves at most an
//! uncommitted transaction, which the database rolls back and another
//! worker claims again. A store that fails (a server restart) is reopened.
//!
//! Nothing here prints: what happens is sent to the caller as [`Event`]s.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

use crate::dispatch::{dispatch, Plan, Report};
use crate::store::{AnyStore, OpenMode, StoreError};

/// How long an idle thread waits before it looks again, woken or not.
const IDLE_WAIT: Duration = Duration::from_millis(500);
/// How long a thread waits before reopening a store that failed.
const RECONNECT_WAIT: Duration = Duration::from_millis(500);

/// What a worker thread reports.
pub enum Event {
    Handled(Box<Report>),
    /// The store failed (thread, what); the thread keeps trying.
    Down(usize, String),
    /// The store works again after being down.
    Up(usize),
}

/// Runs one worker thread on `db` until `stop` is set.
pub fn run_thread(id: usize, db: PathBuf, stop: Arc<AtomicBool>, events: Sender<Event>) {
    let mut down: Option<String> = None;
    while !stop.load(Ordering::SeqCst) {
        let result = serve(&db, &stop, &events, &mut down, id);
        if let Err(e) = result {
            let text = reason(&e);
            if down.as_deref() != Some(text.as_str()) {
                let _ = events.send(Event::Down(id, text.clone()));
                down = Some(text);
            }
            sleep_unless_stopped(&stop, RECONNECT_WAIT);
        }
    }
}

/// Handles deliveries on one opened store until it fails or `stop` is set.
fn serve(
    db: &std::path::Path,
    stop: &AtomicBool,
    events: &Sender<Event>,
    down: &mut Option<String>,
    id: usize,
) -> anyhow::Result<()> {
    let mut store = AnyStore::open(db, OpenMode::ReadWrite)?;
    let mut wake = match &store {
        AnyStore::Postgres(pg) => Some(pg.notifications()?),
        AnyStore::Sqlite(_) => None,
    };
    let plan = Plan {
        limit: Some(1),
        ..Plan::drain()
    };
    while !stop.load(Ordering::SeqCst) {
        let mut handled = Vec::new();
        let count = dispatch(&mut store, &plan, &mut |r| handled.push(r.clone()))?;
        if down.take().is_some() {
            let _ = events.send(Event::Up(id));
        }
        for report in handled {
            let _ = events.send(Event::Handled(Box::new(report)));
        }
        if count == 0 {
            match wake.as_mut() {
                Some(listener) => listener.wait(IDLE_WAIT)?,
                None => sleep_unless_stopped(stop, IDLE_WAIT / 5),
            }
        }
    }
    Ok(())
}

/// Why the store failed, in a few words: the caller names the database,
/// so an error that names it too gives only its detail.
fn reason(e: &anyhow::Error) -> String {
    match e.downcast_ref::<StoreError>() {
        Some(StoreError::CannotOpen { detail, .. }) => detail.clone(),
        _ => e.to_string(),
    }
}

fn sleep_unless_stopped(stop: &AtomicBool, total: Duration) {
    let step = Duration::from_millis(20);
    let mut slept = Duration::ZERO;
    while slept < total && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(step);
        slept += step;
    }
}
