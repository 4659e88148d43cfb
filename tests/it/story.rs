//! The SPEC's story, end to end, through `--json`: submit, list, confirm one
//! line, confirm the other, show, events; then confirm again.

use serde_json::json;

use crate::util::{example, text, TestEnv, NOW};

const CONFIRM_1: i64 = NOW + 3;
const CONFIRM_2: i64 = NOW + 5;
const AGAIN: i64 = NOW + 60;

#[test]
fn the_walkthrough_confirms_the_order_once() {
    let env = TestEnv::new();

    // $ pi7 submit examples/order.json
    let submitted = env.submit(&example("order.json"));
    assert_eq!(submitted.len(), 1);
    let process = text(&submitted[0]["processId"]);
    let order_id = text(&submitted[0]["salesorder"]["_id"]);
    let reservations: Vec<String> = submitted[0]["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| text(&r["_id"]))
        .collect();
    assert_eq!(reservations.len(), 2);
    assert_eq!(submitted[0]["salesorder"]["object"]["status"], "pending");

    // $ pi7 list reservations --status unconfirmed
    let unconfirmed = env.json(&["list", "reservations", "--status", "unconfirmed"]);
    let listed: Vec<String> = unconfirmed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| text(&r["_id"]))
        .collect();
    assert_eq!(listed, reservations);

    // $ pi7 confirm <reservation-id>: 1 of 2 lines confirmed, still pending
    let confirmed = env.json_lines_at(CONFIRM_1, &["confirm", &reservations[0]]);
    assert_eq!(confirmed.len(), 1);
    assert_eq!(confirmed[0]["_id"], reservations[0].as_str());
    assert_eq!(confirmed[0]["object"]["status"], "confirmed");
    let order = env.json(&["show", &process]);
    assert_eq!(order["object"]["status"], "pending");
    let statuses: Vec<&str> = order["object"]["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["confirmed", "unconfirmed"]);
    assert_eq!(
        env.json(&["list", "reservations", "--status", "unconfirmed"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // $ pi7 confirm <other-reservation-id>: all confirmed
    let confirmed = env.json_lines_at(CONFIRM_2, &["confirm", &reservations[1]]);
    assert_eq!(confirmed.len(), 1);
    assert_eq!(confirmed[0]["object"]["status"], "confirmed");

    // $ pi7 show <process-id>
    let order = env.json(&["show", &process]);
    assert_eq!(order["_id"], order_id.as_str());
    assert_eq!(order["processId"], process.as_str());
    assert_eq!(order["object"]["customer"], "christophe");
    assert_eq!(order["object"]["status"], "confirmed");
    let lines = order["object"]["reservations"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    for (line, (number, reserved)) in lines.iter().zip([(1, "some hotel"), (2, "a plane")]) {
        assert_eq!(line["id"], number);
        assert_eq!(line["reserved"], reserved);
        assert_eq!(line["status"], "confirmed");
        let reservation = env.json(&["show", line["_id"].as_str().unwrap()]);
        assert_eq!(reservation["_id"], line["_id"]);
        assert_eq!(reservation["object"]["id"], number);
    }
    assert_eq!(lines[0]["_id"], reservations[0].as_str());
    assert_eq!(lines[1]["_id"], reservations[1].as_str());
    // The order's own id names the same document.
    assert_eq!(env.json(&["show", &order_id]), order);

    // $ pi7 show <reservation-id>
    let reservation = env.json(&["show", &reservations[0]]);
    assert_eq!(
        reservation,
        json!({
            "_id": reservations[0],
            "processId": process,
            "object": {
                "id": 1, "reserved": "some hotel", "status": "confirmed",
                "history": [
                    { "status": "unconfirmed", "time": NOW },
                    { "status": "confirmed", "time": CONFIRM_1 }
                ]
            }
        })
    );

    // $ pi7 events
    let events = env.json_lines(&["events"]);
    let described: Vec<(u64, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().unwrap(),
                e["topic"].as_str().unwrap(),
                e["source"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        described,
        [
            (1, "salesorder/request", "web"),
            (2, "reservation/confirm", "reservation"),
            (3, "reservation/confirm", "reservation"),
            (4, "salesorder/confirm", "salesorder"),
        ]
    );
    for event in &events {
        assert_eq!(event["processId"], process.as_str());
    }
    let causes: Vec<&serde_json::Value> = events.iter().map(|e| &e["causationId"]).collect();
    assert_eq!(causes[..3], [&json!(null), &json!(null), &json!(null)]);
    assert_eq!(causes[3], &events[2]["id"]);
    let times: Vec<i64> = events.iter().map(|e| e["time"].as_i64().unwrap()).collect();
    assert_eq!(times, [NOW, CONFIRM_1, CONFIRM_2, CONFIRM_2]);
    assert_eq!(events[3]["payload"]["salesorder"]["_id"], order_id.as_str());
    assert_eq!(
        events[2]["payload"]["reservation"]["_id"],
        reservations[1].as_str()
    );

    // Confirming again changes nothing, publishes nothing, says so, exits 0.
    let before = env.snapshot();
    let run = env.run_at(AGAIN, &["--json", "confirm", &reservations[0]]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        format!(
            "pi7: reservation {} is already confirmed; nothing changed\n",
            reservations[0]
        )
    );
    // The document as `show` has it, and that nothing changed.
    let mut again = crate::util::json_lines(&run.stdout);
    assert_eq!(again.len(), 1);
    let again = again[0].as_object_mut().unwrap();
    assert_eq!(again.remove("changed"), Some(serde_json::json!(false)));
    assert_eq!(again.remove("salesorder").unwrap()["status"], "confirmed");
    assert_eq!(
        serde_json::Value::Object(again.clone()),
        env.json(&["show", &reservations[0]])
    );
    let run = env.run_at(AGAIN, &["confirm", &reservations[1], &reservations[0]]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 2, "{}", run.stderr);
    assert_eq!(env.snapshot(), before);
    let confirms = env
        .json_lines(&["events", "--topic", "salesorder/confirm"])
        .len();
    assert_eq!(confirms, 1);
}

#[test]
fn confirming_both_lines_in_one_command_confirms_the_order() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let mut args = vec!["confirm"];
    args.extend(order.reservations.iter().map(String::as_str));
    let confirmed = env.json_lines(&args);
    let ids: Vec<String> = confirmed.iter().map(|r| text(&r["_id"])).collect();
    assert_eq!(ids, order.reservations);
    assert_eq!(
        env.json(&["show", &order.order])["object"]["status"],
        "confirmed"
    );
    let topics: Vec<String> = env
        .json_lines(&["events"])
        .iter()
        .map(|e| text(&e["topic"]))
        .collect();
    assert_eq!(
        topics,
        [
            "salesorder/request",
            "reservation/confirm",
            "reservation/confirm",
            "salesorder/confirm"
        ]
    );
}

#[test]
fn confirm_reads_ids_from_stdin() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let stdin = format!("{}\n\n{}\n", order.reservations[0], order.reservations[1]);
    let run = env.exec(env.cmd().args(["confirm", "-"]).write_stdin(stdin));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        env.json(&["show", &order.process])["object"]["status"],
        "confirmed"
    );
}

#[test]
fn one_order_confirmed_leaves_another_pending() {
    let env = TestEnv::new();
    let first = env.submit_example();
    let second = env.submit_example();
    let mut args = vec!["confirm"];
    args.extend(first.reservations.iter().map(String::as_str));
    env.ok(&args);
    assert_eq!(
        env.json(&["show", &first.process])["object"]["status"],
        "confirmed"
    );
    assert_eq!(
        env.json(&["show", &second.process])["object"]["status"],
        "pending"
    );
    let second_events = env.json_lines(&["events", "--process", &second.process]);
    assert_eq!(second_events.len(), 1);
}

#[test]
fn a_reservation_named_twice_is_confirmed_once() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let id = &order.reservations[0];
    let run = env.run(&["confirm", id, &id[..8]]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "", "it was not confirmed before");
    assert_eq!(
        run.stdout,
        format!(
            "confirmed    {id}  some hotel\nsales order  {}  christophe  pending (1 of 2 lines confirmed)\n",
            &order.order[..8]
        )
    );
    assert_eq!(
        env.json_lines(&["events", "--topic", "reservation/confirm"])
            .len(),
        1
    );
    let other = &order.reservations[1];
    let confirmed = env.json_lines(&["confirm", other, other]);
    assert_eq!(confirmed.len(), 1);
    assert_eq!(confirmed[0]["_id"], other.as_str());
}
