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

/// Ann's order and Bob's, of two lines each.
fn ann_and_bob() -> Vec<crate::domain::order::OrderRequest> {
    let line = |customer: &str| {
        format!(
            r#"{{"customer": "{customer}", "reservations": [{{"id": 1, "reserved": "a room"}}, {{"id": 2, "reserved": "a car"}}]}}"#
        )
    };
    parse_orders(&format!("{}\n{}\n", line("ann"), line("bob"))).unwrap()
}

/// Two orders of two lines each, submitted and delivered: four
/// unconfirmed reservations.
fn two_orders(app: &mut App) {
    app.submit(&ann_and_bob()).unwrap();
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

/// A new database in `dir` whose writes deliver in their own transaction.
fn delivering(dir: &tempfile::TempDir) -> App {
    let options = Options {
        now: Some(1543269956),
        ..Options::default()
    };
    App::open(&dir.path().join("pi7.db"), Access::Write, options).unwrap()
}

/// Every document of `app`'s database, as JSON.
fn everything(app: &App) -> serde_json::Value {
    let all = ListFilter::default();
    serde_json::json!({
        "orders": app.orders(&all).unwrap(),
        "reservations": app.reservations(&all).unwrap(),
    })
}

/// What `returned` says of each document it names is what the database
/// holds, and `everything` lists each document once.
fn assert_as_stored(app: &App, returned: serde_json::Value) {
    let stored = everything(app);
    let mut named = 0;
    for kind in ["orders", "reservations"] {
        for doc in returned[kind].as_array().unwrap() {
            let same_id = |d: &&serde_json::Value| d["_id"] == doc["_id"];
            let found: Vec<_> = stored[kind]
                .as_array()
                .unwrap()
                .iter()
                .filter(same_id)
                .collect();
            assert_eq!(found, [doc], "{kind}");
            named += 1;
        }
    }
    assert!(named > 0, "{returned}");
}

/// A use case returns its documents as its transaction left them, without
/// reading back those it saved: they must be what the database holds,
/// also when deliveries in the same transaction changed them after the
/// use case saved them (a rejection cancels the order, which releases its
/// other line), and when some were not saved at all (already decided).
#[test]
fn what_a_writing_use_case_returns_is_what_the_database_holds_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = delivering(&dir);
    let submitted = app.submit(&ann_and_bob()).unwrap();
    let [ann, bob] = [&submitted[0], &submitted[1]].map(|s| {
        assert_eq!(s.reservations.len(), 2);
        s.reservations
            .iter()
            .map(|r| r.id.to_string())
            .collect::<Vec<_>>()
    });
    assert_as_stored(
        &app,
        serde_json::json!({
            "orders": submitted.iter().map(|s| s.salesorder.clone().unwrap()).collect::<Vec<_>>(),
            "reservations": submitted.iter().flat_map(|s| s.reservations.clone()).collect::<Vec<_>>(),
        }),
    );

    let decided = app.decide(&ann, &Decision::Confirm).unwrap();
    assert_eq!(decided.orders[0].object.status.as_str(), "confirmed");
    assert_as_stored(&app, serde_json::to_value(&decided).unwrap());

    // Ann's again, decided already (so not saved: her order is read from
    // the database), with one of Bob's, whose rejection cancels Bob's order
    // in the same transaction and so releases his other line.
    let named = [ann[0].clone(), bob[0].clone()];
    let no = Decision::Reject {
        reason: "no".into(),
    };
    let decided = app.decide(&named, &no).unwrap();
    assert_eq!(decided.unchanged.len(), 1);
    assert_eq!(decided.orders.len(), 2);
    assert_as_stored(&app, serde_json::to_value(&decided).unwrap());
    let bob_order = decided
        .orders
        .iter()
        .find(|o| o.object.customer.as_deref() == Some("bob"));
    assert_eq!(bob_order.unwrap().object.status.as_str(), "cancelled");
    let released = app.show(&bob[1]).unwrap();
    let released = released.reservation().unwrap();
    assert_eq!(released.object.status.as_str(), "released");
}

/// Work left pending by an earlier command is delivered after a use case's
/// commit, and may change what its transaction saved: the use case then
/// returns the documents as that delivery left them.
#[test]
fn documents_changed_after_the_commit_are_returned_as_changed() {
    let dir = tempfile::tempdir().unwrap();
    let mut earlier = held(&dir);
    two_orders(&mut earlier);
    let ids = reservation_ids(&earlier);
    let no = Decision::Reject {
        reason: "no".into(),
    };
    // Held: the order does not hear of it yet.
    earlier.decide(&ids[..1], &no).unwrap();
    drop(earlier);

    let mut app = delivering(&dir);
    let decided = app.decide(&ids[1..2], &Decision::Confirm).unwrap();
    // Delivered after the commit, the rejection cancelled the order, which
    // released the line just confirmed.
    let line = &decided.reservations[0];
    assert_eq!(line.object.status.as_str(), "released", "{line:?}");
    assert_eq!(decided.orders[0].object.status.as_str(), "cancelled");
    assert_as_stored(&app, serde_json::to_value(&decided).unwrap());
}

/// A submit after work held by an earlier command delivers that work after
/// its commit: it then reads its orders back, reservations and all, rather
/// than take the note of its transaction for the whole story.
#[test]
fn a_submit_after_held_work_lists_its_orders_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut earlier = held(&dir);
    earlier.submit(&ann_and_bob()).unwrap();
    drop(earlier);

    let mut app = delivering(&dir);
    let submitted = app.submit(&ann_and_bob()).unwrap();
    for order in &submitted {
        assert_eq!(order.reservations.len(), 2, "{order:?}");
        assert!(order.salesorder.is_some(), "{order:?}");
    }
    assert_as_stored(
        &app,
        serde_json::json!({
            "orders": submitted.iter().map(|s| s.salesorder.clone().unwrap()).collect::<Vec<_>>(),
            "reservations": submitted.iter().flat_map(|s| s.reservations.clone()).collect::<Vec<_>>(),
        }),
    );
}
