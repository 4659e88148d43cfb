//! The order's lifecycle beyond confirmation: rejection with compensation,
//! the customer's withdrawal, amendments and deadlines.

use crate::util::{example, json_lines, text, TestEnv, NOW};

fn statuses(env: &TestEnv, process: &str) -> Vec<String> {
    env.json(&["list", "reservations", "--process", process])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| text(&r["object"]["status"]))
        .collect()
}

fn topics(env: &TestEnv) -> Vec<String> {
    env.json_lines(&["events"])
        .iter()
        .map(|e| text(&e["topic"]))
        .collect()
}

fn submit_three(env: &TestEnv) -> (String, Vec<String>) {
    let submitted = &env.submit(&example("order-3.json"))[0];
    let reservations = submitted["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| text(&r["_id"]))
        .collect();
    (text(&submitted["processId"]), reservations)
}

#[test]
fn a_rejection_cancels_the_order_and_releases_every_other_reservation() {
    let env = TestEnv::new();
    let (process, reservations) = submit_three(&env);
    env.ok(&["confirm", &reservations[0]]);
    let out = env.ok(&["reject", &reservations[1], "--reason", "no seats left"]);
    assert_eq!(
        out,
        format!(
            "rejected     {}  a plane\n\
             sales order  {}  koen  cancelled (0 of 3 lines confirmed)\n\
             reason       line 2 (a plane) rejected: no seats left\n",
            reservations[1],
            &text(&env.json(&["show", &process])["_id"])[..8]
        )
    );
    assert_eq!(
        statuses(&env, &process),
        ["released", "rejected", "released"]
    );
    assert_eq!(
        topics(&env),
        [
            "salesorder/request",
            "reservation/confirm",
            "reservation/reject",
            "salesorder/cancel",
            "reservation/release",
            "reservation/release",
        ]
    );
    let order = env.json(&["show", &process]);
    assert_eq!(order["object"]["status"], "cancelled");
    let lines: Vec<String> = order["object"]["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| text(&l["status"]))
        .collect();
    assert_eq!(lines, ["released", "rejected", "released"]);
    let hotel = env.json(&["show", &reservations[0]]);
    let history: Vec<String> = hotel["object"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| text(&h["status"]))
        .collect();
    assert_eq!(history, ["unconfirmed", "confirmed", "released"]);
    assert!(env.ok(&["verify"]).contains("ok:"));

    let run = env.run(&["confirm", &reservations[2]]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.contains("is already released; nothing changed"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_confirmation_that_reaches_the_saga_after_the_cancellation_changes_nothing() {
    let env = TestEnv::new();
    let (process, reservations) = submit_three(&env);
    env.ok(&["--hold", "reject", &reservations[0]]);
    env.ok(&["--hold", "confirm", &reservations[1]]);
    env.ok(&["--hold", "confirm", &reservations[2]]);
    // The rejection first, the confirmations after it.
    env.ok(&["dispatch", "--order", "fifo"]);
    let order = env.json(&["show", &process]);
    assert_eq!(order["object"]["status"], "cancelled");
    assert!(!topics(&env).contains(&"salesorder/confirm".to_string()));
    assert_eq!(
        statuses(&env, &process),
        ["rejected", "released", "released"]
    );
}

#[test]
fn the_customer_can_withdraw_a_pending_order_but_not_a_confirmed_one() {
    let env = TestEnv::new();
    let (process, _) = submit_three(&env);
    let out = env.ok(&["cancel", &process[..8], "--reason", "changed my mind"]);
    assert!(
        out.ends_with(
            "cancelled (0 of 3 lines confirmed)\nreason       withdrawn by the customer: changed my mind\n"
        ),
        "{out}"
    );
    assert_eq!(
        statuses(&env, &process),
        ["released", "released", "released"]
    );
    let again = env.run(&["cancel", &process]);
    assert_eq!(again.code, 0);
    assert!(
        again.stderr.contains("already cancelled; nothing changed"),
        "{}",
        again.stderr
    );

    let confirmed = env.submit_example();
    for id in &confirmed.reservations {
        env.ok(&["confirm", id]);
    }
    let before = env.snapshot();
    let stderr = env.fails(&["cancel", &confirmed.order], 2);
    assert_eq!(
        stderr,
        format!(
            "pi7: error: sales order {} is confirmed: a confirmed order can be neither cancelled nor amended\n",
            confirmed.order
        )
    );
    assert_eq!(env.snapshot(), before);
    env.fails(&["cancel", "ffffffff"], 3);
}

#[test]
fn an_amendment_merges_lines_by_id() {
    let env = TestEnv::new();
    let (process, reservations) = submit_three(&env);
    env.ok(&["confirm", &reservations[0]]);
    let amended = env.write(
        "amended.json",
        r#"{"customer": "koen", "reservations": [
             {"id": 1, "reserved": "some hotel"},
             {"id": 3, "reserved": "a bike"},
             {"id": 4, "reserved": "a boat"}]}"#,
    );
    let out = json_lines(&env.ok(&[
        "--json",
        "submit",
        "--process",
        &process,
        amended.to_str().unwrap(),
    ]));
    assert_eq!(out.len(), 1);
    let order = &out[0]["salesorder"]["object"];
    let lines: Vec<(i64, String)> = order["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["id"].as_i64().unwrap(), text(&l["status"])))
        .collect();
    assert_eq!(
        lines,
        [
            (1, "confirmed".to_string()),
            (3, "unconfirmed".to_string()),
            (4, "unconfirmed".to_string())
        ]
    );
    assert_eq!(order["revision"], 2);
    assert_eq!(order["unmatchedConfirmations"][0]["status"], "released");
    assert_eq!(
        statuses(&env, &process),
        ["confirmed", "released", "unconfirmed", "unconfirmed"]
    );
    for r in env
        .json(&["list", "reservations", "--status", "unconfirmed"])
        .as_array()
        .unwrap()
    {
        env.ok(&["confirm", &text(&r["_id"])]);
    }
    assert_eq!(
        env.json(&["show", &process])["object"]["status"],
        "confirmed"
    );
    assert!(env.ok(&["verify"]).contains("ok:"));

    let before = env.snapshot();
    let stderr = env.fails(
        &["submit", "--process", &process, amended.to_str().unwrap()],
        2,
    );
    assert!(
        stderr.contains("is confirmed: a confirmed order can be neither cancelled nor amended"),
        "{stderr}"
    );
    let stderr = env.fails(
        &["submit", "--process", &process, &example("orders.jsonl")],
        2,
    );
    assert!(
        stderr.contains("holds 4 orders; an amendment is one order"),
        "{stderr}"
    );
    env.fails(
        &["submit", "--process", "ffffffff", amended.to_str().unwrap()],
        3,
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn a_cancelled_order_and_one_with_pending_deliveries_refuse_amendment() {
    let env = TestEnv::new();
    let (process, reservations) = submit_three(&env);
    env.ok(&["--hold", "confirm", &reservations[0]]);
    let before = env.snapshot();
    let stderr = env.fails(
        &["submit", "--process", &process, &example("order.json")],
        2,
    );
    assert!(stderr.contains("has deliveries still pending"), "{stderr}");
    assert_eq!(env.snapshot(), before);
    env.ok(&["cancel", &process]);
    let stderr = env.fails(
        &["submit", "--process", &process, &example("order.json")],
        2,
    );
    assert!(
        stderr.contains("is cancelled: a cancelled order cannot be amended"),
        "{stderr}"
    );
}

#[test]
fn expire_rejects_reservations_older_than_the_deadline() {
    let env = TestEnv::new();
    let (process, reservations) = submit_three(&env);
    env.ok_at(NOW + 60, &["confirm", &reservations[0]]);
    let early = env.run_at(NOW + 1800, &["expire", "--older-than", "1h"]);
    assert_eq!((early.code, early.stdout.as_str()), (0, ""));
    assert!(early
        .stderr
        .contains("no unconfirmed reservation is that old"));
    let out = env.ok_at(NOW + 7200, &["expire", "--older-than", "1h"]);
    assert!(
        out.contains(&format!("rejected     {}  a plane", reservations[1])),
        "{out}"
    );
    assert!(
        out.replace("\n             ", " ")
            .contains("line 2 (a plane) rejected: expired; line 3 (a bike) rejected: expired"),
        "{out}"
    );
    assert_eq!(
        statuses(&env, &process),
        ["released", "rejected", "rejected"]
    );
    let stderr = env.fails(&["expire", "--older-than", "soon"], 2);
    assert!(stderr.contains("invalid value 'soon'"), "{stderr}");
}

#[test]
fn check_explores_rejection_withdrawal_and_amendment() {
    let env = TestEnv::new();
    let amended = env.write(
        "amended.json",
        r#"{"customer": "christophe", "reservations": [{"id": 1, "reserved": "some hotel"}, {"id": 9, "reserved": "a boat"}]}"#,
    );
    for args in [
        vec!["check", "--reject", "2", "--duplicates"],
        vec!["check", "--cancel", "--duplicates"],
        vec![
            "check",
            "--amend",
            amended.to_str().unwrap(),
            "--duplicates",
        ],
        vec![
            "check",
            "--reject",
            "9",
            "--cancel",
            "--amend",
            amended.to_str().unwrap(),
        ],
    ] {
        let result = &env.json_lines(&args)[0];
        assert_eq!(
            result["violation"],
            serde_json::Value::Null,
            "{args:?}: {result}"
        );
        assert!(result["summary"]["schedules"].as_u64().unwrap() > 1);
    }
}

#[test]
fn only_an_unconfirmed_reservation_can_be_rejected() {
    let env = TestEnv::new();
    let submitted = env.submit_example();
    env.ok(&["confirm", &submitted.reservations[0]]);
    let before = env.snapshot();
    let run = env.run(&["reject", &submitted.reservations[0], "--reason", "too late"]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "only the order's line: {}",
        run.stdout
    );
    assert!(
        run.stderr.contains("is already confirmed; nothing changed"),
        "{}",
        run.stderr
    );
    assert_eq!(env.snapshot(), before);
    let rejected = env.json_lines(&["reject", &submitted.reservations[1]]);
    assert_eq!(rejected[0]["object"]["status"], "rejected");
    assert_eq!(rejected[0]["object"]["reason"], "no reason given");
    env.fails(&["reject", "abc"], 2);
    env.fails(&["reject", "ffffffff"], 3);
}

#[test]
fn an_amendment_keeps_what_a_line_reserves_and_does_not_revive_a_removed_line() {
    let env = TestEnv::new();
    let submitted = env.submit_example();
    let process = submitted.process.as_str();
    let renamed = env.write(
        "renamed.json",
        r#"{"customer": "christophe", "reservations": [{"id": 1, "reserved": "another hotel"}, {"id": 2, "reserved": "a plane"}]}"#,
    );
    let before = env.snapshot();
    let stderr = env.fails(
        &["submit", "--process", process, renamed.to_str().unwrap()],
        2,
    );
    assert_eq!(
        stderr,
        "pi7: error: line 1 is \"some hotel\" in the order; to reserve something else, give it a new line id\n"
    );
    assert_eq!(env.snapshot(), before);

    let hotel_only = env.write(
        "hotel.json",
        r#"{"customer": "christophe", "reservations": [{"id": 1, "reserved": "some hotel"}]}"#,
    );
    env.ok(&["submit", "--process", process, hotel_only.to_str().unwrap()]);
    let before = env.snapshot();
    let stderr = env.fails(&["submit", "--process", process, &example("order.json")], 2);
    assert!(
        stderr.contains("line 2 was removed by an earlier amendment"),
        "{stderr}"
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn expire_with_nothing_to_expire_still_delivers_what_is_pending() {
    let env = TestEnv::new();
    env.ok(&["--hold", "submit", &example("order.json")]);
    let run = env.run(&["expire", "--older-than", "1d"]);
    assert_eq!(run.code, 0);
    assert_eq!(env.json(&["pending"]), serde_json::json!([]));
    assert_eq!(env.json(&["list"]).as_array().unwrap().len(), 1);
}

/// A reservation named again says what it already was, not what the same
/// command made of it afterwards: here the rejection of the other line
/// cancels the order, which releases the confirmed one.
#[test]
fn a_reservation_decided_already_is_named_as_it_was_found() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let (first, second) = (&order.reservations[0], &order.reservations[1]);
    env.ok(&["confirm", second]);
    let run = env.run(&["reject", first, second, "--reason", "sold out"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        format!("pi7: reservation {second} is already confirmed; nothing changed\n")
    );
    let released = env.json(&["show", second]);
    assert_eq!(text(&released["object"]["status"]), "released");
}
