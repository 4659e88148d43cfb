//! The use cases on a temporary SQLite database, for what the command
//! line does not show through a pipe: the progress they report.

use super::*;
use crate::domain::order::parse_orders;

/// A new database in `dir`, on a fixed clock, whose writes deliver nothing
/// until a test dispatches.
fn held(dir: &tempfile::TempDir) -> App {
    let options = Options {
        now: Some(1543269956),
        hold: true,
        log: false,
    };
    App::open(&dir.path().join("pi7.db"), Access::Write, options).unwrap()
}

/// Two orders of two lines each, submitted and delivered: four
/// unconfirmed reservations.
fn two_orders(app: &mut App) {
    let line = |customer: &str| {
        format!(
            r#"{{"customer": "{customer}", "reservations": [{{"id": 1, "reserved": "a room"}}, {{"id": 2, "reserved": "a car"}}]}}"#
        )
    };
    let orders = parse_orders(&format!("{}\n{}\n", line("ann"), line("bob"))).unwrap();
    app.submit(&orders).unwrap();
    app.dispatch(Order::Fifo, None, None, None).unwrap();
}

/// Asserts that `calls` counted up from 0 one by one, never past the
/// total, and ended at it.
fn assert_counted_up(calls: &[(u64, u64)]) {
    let done: Vec<u64> = calls.iter().map(|(done, _)| *done).collect();
    assert_eq!(done, (0..calls.len() as u64).collect::<Vec<_>>());
    assert!(calls.iter().all(|(done, total)| done <= total), "{calls:?}");
    let (done, total) = calls.last().unwrap();
    assert_eq!(done, total, "{calls:?}");
}

#[test]
fn verify_counts_the_events_it_replays() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = held(&dir);
    two_orders(&mut app);
    let mut calls = Vec::new();
    let verified = verify(&dir.path().join("pi7.db"), &mut |done, total| {
        calls.push((done, total))
    })
    .unwrap();
    assert_eq!(verified.audit.violations, Vec::<String>::new());
    assert_counted_up(&calls);
    assert_eq!(calls.last().unwrap().1, verified.audit.events);
}
