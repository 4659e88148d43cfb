//! The use cases on a temporary SQLite database, for what the command
//! line does not show through a pipe: the progress they report.

use super::*;
use crate::domain::order::parse_orders;
use crate::domain::Component;

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
    app.dispatch(Order::Fifo, None, None, None, &mut |_, _| {})
        .unwrap();
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

/// The ids of the reservations of `app`'s database, in the order made.
fn reservation_ids(app: &App) -> Vec<String> {
    let all = app.reservations(&ListFilter::default()).unwrap();
    all.iter().map(|r| r.id.to_string()).collect()
}

#[test]
fn dispatch_counts_deliveries_and_those_that_handling_makes() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = held(&dir);
    two_orders(&mut app);
    let rejected = reservation_ids(&app).remove(0);
    let no_reason = Decision::Reject {
        reason: "no".into(),
    };
    app.decide(&[rejected], &no_reason).unwrap();
    // The rejection's one delivery cancels the order, whose cancellation
    // releases the other line, whose release the order hears of: three.
    let mut calls = Vec::new();
    let reports = app
        .dispatch(Order::Fifo, None, None, None, &mut |done, total| {
            calls.push((done, total))
        })
        .unwrap();
    assert_eq!(calls, [(0, 1), (1, 2), (2, 3), (3, 3)]);
    assert_eq!(reports.len(), 3);
}

#[test]
fn dispatch_counts_no_more_than_its_limit_or_its_filter_admits() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = held(&dir);
    two_orders(&mut app);
    let ids = reservation_ids(&app);
    let no_reason = Decision::Reject {
        reason: "no".into(),
    };
    app.decide(&ids[..1], &no_reason).unwrap();
    app.decide(&ids[2..3], &no_reason).unwrap();
    let mut calls = Vec::new();
    app.dispatch(Order::Fifo, None, None, Some(3), &mut |done, total| {
        calls.push((done, total))
    })
    .unwrap();
    // Two rejections, then the cancellations they make: the first one's
    // is the third delivery, the limit; the second one's would be a fourth.
    assert_eq!(calls, [(0, 2), (1, 3), (2, 3), (3, 3)]);
    // What is left: the second order's cancellation for the reservation
    // component, and the first one's release for the sales order
    // component; only the release passes the filter.
    let mut calls = Vec::new();
    app.dispatch(
        Order::Fifo,
        Some(Component::SalesOrder),
        None,
        None,
        &mut |done, total| calls.push((done, total)),
    )
    .unwrap();
    assert_eq!(calls, [(0, 1), (1, 1)]);
}

#[test]
fn decide_counts_the_reservations_it_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = held(&dir);
    two_orders(&mut app);
    let mut ids = reservation_ids(&app);
    // Named twice, decided once: counted once.
    ids.push(ids[0].clone());
    let mut calls = Vec::new();
    let decided = app
        .decide_with_progress(&ids, &Decision::Confirm, &mut |done, total| {
            calls.push((done, total))
        })
        .unwrap();
    assert_eq!(decided.reservations.len(), 4);
    assert_eq!(calls, [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]);
}
