//! Machine output: the shapes SPEC names, key for key.

use serde_json::json;

use crate::util::{example, json_lines, keys, parse_json, text, TestEnv, NOW};

#[test]
fn submit_prints_one_line_per_order_with_its_documents() {
    let env = TestEnv::new();
    let stdout = env.ok(&["--json", "submit", &example("order.json")]);
    assert_eq!(stdout.lines().count(), 1);
    let line = parse_json(&stdout);
    let process = text(&line["processId"]);
    let order = text(&line["salesorder"]["_id"]);
    let r1 = text(&line["reservations"][0]["_id"]);
    let r2 = text(&line["reservations"][1]["_id"]);
    assert_eq!(
        line,
        json!({
            "processId": process,
            "salesorder": {
                "_id": order,
                "processId": process,
                "object": {
                    "customer": "christophe",
                    "status": "pending",
                    "reservations": [
                        { "id": 1, "reserved": "some hotel", "status": "unconfirmed", "_id": r1 },
                        { "id": 2, "reserved": "a plane", "status": "unconfirmed", "_id": r2 }
                    ]
                }
            },
            "reservations": [
                {
                    "_id": r1, "processId": process,
                    "object": {
                        "id": 1, "reserved": "some hotel", "status": "unconfirmed",
                        "history": [ { "status": "unconfirmed", "time": NOW } ]
                    }
                },
                {
                    "_id": r2, "processId": process,
                    "object": {
                        "id": 2, "reserved": "a plane", "status": "unconfirmed",
                        "history": [ { "status": "unconfirmed", "time": NOW } ]
                    }
                }
            ]
        })
    );
    // Key order as in SPEC and the original store, not only key sets.
    assert_eq!(keys(&line), ["processId", "salesorder", "reservations"]);
    assert_eq!(keys(&line["salesorder"]), ["_id", "processId", "object"]);
    assert_eq!(
        keys(&line["salesorder"]["object"]),
        ["customer", "status", "reservations"]
    );
    assert_eq!(
        keys(&line["salesorder"]["object"]["reservations"][0]),
        ["id", "reserved", "status", "_id"]
    );
    assert_eq!(
        keys(&line["reservations"][0]),
        ["_id", "processId", "object"]
    );
    assert_eq!(
        keys(&line["reservations"][0]["object"]),
        ["id", "reserved", "status", "history"]
    );
}

#[test]
fn ids_are_lowercase_uuids() {
    let env = TestEnv::new();
    let order = env.submit_example();
    for id in [&order.process, &order.order]
        .into_iter()
        .chain(&order.reservations)
    {
        let parsed = uuid::Uuid::parse_str(id).expect("a UUID");
        assert_eq!(&parsed.to_string(), id);
    }
}

#[test]
fn confirm_prints_one_reservation_document_per_line() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let stdout = env.ok_at(
        NOW + 1,
        &[
            "--json",
            "confirm",
            &order.reservations[0],
            &order.reservations[1],
        ],
    );
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 2);
    for (line, id) in lines.iter().zip(&order.reservations) {
        assert_eq!(
            keys(line),
            ["_id", "processId", "object", "changed", "salesorder"]
        );
        assert_eq!(line["_id"], id.as_str());
        assert_eq!(line["processId"], order.process.as_str());
        assert_eq!(line["object"]["status"], "confirmed");
        assert_eq!(
            line["object"]["history"],
            json!([
                { "status": "unconfirmed", "time": NOW },
                { "status": "confirmed", "time": NOW + 1 }
            ])
        );
    }
}

#[test]
fn list_prints_a_json_array_of_documents() {
    let env = TestEnv::new();
    assert_eq!(env.json(&["list"]), json!([]));
    assert_eq!(env.json(&["list", "reservations"]), json!([]));
    let first = env.submit_example();
    let second = env.submit_example();

    let orders = env.json(&["list", "orders"]);
    let orders = orders.as_array().expect("an array");
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[0], first.json["salesorder"]);
    assert_eq!(orders[1], second.json["salesorder"]);
    // `orders` is the default.
    assert_eq!(env.json(&["list"]), env.json(&["list", "orders"]));

    let reservations = env.json(&["list", "reservations"]);
    let expected: Vec<serde_json::Value> = [&first, &second]
        .iter()
        .flat_map(|o| o.json["reservations"].as_array().unwrap().clone())
        .collect();
    assert_eq!(reservations, serde_json::Value::Array(expected));
}

#[test]
fn show_prints_the_one_document_an_id_names() {
    let env = TestEnv::new();
    let order = env.submit_example();
    assert_eq!(env.json(&["show", &order.order]), order.json["salesorder"]);
    assert_eq!(
        env.json(&["show", &order.process]),
        order.json["salesorder"]
    );
    assert_eq!(
        env.json(&["show", &order.reservations[1]]),
        order.json["reservations"][1]
    );
}

#[test]
fn events_prints_json_lines_of_envelopes() {
    let env = TestEnv::new();
    let order = env.submit_example();
    env.submit_example();
    let stdout = env.ok(&["events", "--json"]);
    let events = json_lines(&stdout);
    assert_eq!(events.len(), 2);
    let first = &events[0];
    assert_eq!(
        keys(first),
        [
            "seq",
            "id",
            "topic",
            "processId",
            "causationId",
            "source",
            "time",
            "payload"
        ]
    );
    let id = text(&first["id"]);
    assert_eq!(
        first,
        &json!({
            "seq": 1,
            "id": id,
            "topic": "salesorder/request",
            "processId": order.process,
            "causationId": null,
            "source": "web",
            "time": NOW,
            "payload": {
                "processId": order.process,
                "salesorder": {
                    "customer": "christophe",
                    "reservations": [
                        { "id": 1, "reserved": "some hotel" },
                        { "id": 2, "reserved": "a plane" }
                    ]
                }
            }
        })
    );
    assert_eq!(events[1]["seq"], 2);
    assert_ne!(events[1]["id"], first["id"]);
}

#[test]
fn reservation_confirm_payload_is_the_reservation() {
    let env = TestEnv::new();
    let order = env.submit_example();
    env.ok_at(NOW + 2, &["confirm", &order.reservations[0]]);
    let events = env.json_lines(&["events", "--topic", "reservation/confirm"]);
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["payload"],
        json!({
            "processId": order.process,
            "reservation": {
                "_id": order.reservations[0],
                "id": 1,
                "reserved": "some hotel",
                "status": "confirmed"
            }
        })
    );
}

#[test]
fn json_output_has_no_colour_or_decoration() {
    let env = TestEnv::new();
    let order = env.submit_example();
    for args in [
        vec!["--json", "list"],
        vec!["--json", "list", "reservations"],
        vec!["--json", "events"],
        vec!["--json", "show", &order.process],
        vec!["--json", "confirm", &order.reservations[0]],
    ] {
        let stdout = env.ok(&args);
        assert!(!stdout.contains('\x1b'), "{args:?}: {stdout:?}");
        // Every line of JSON Lines, or the whole document, parses.
        if stdout.starts_with('[') || stdout.starts_with("{\n") {
            parse_json(&stdout);
        } else {
            json_lines(&stdout);
        }
    }
}
