//! `pi7 submit`: one order, an array, JSON Lines, standard input.

use crate::util::{example, text, TestEnv};

fn customers(orders: &[serde_json::Value]) -> Vec<String> {
    orders
        .iter()
        .map(|o| text(&o["salesorder"]["object"]["customer"]))
        .collect()
}

fn line_counts(orders: &[serde_json::Value]) -> Vec<usize> {
    orders
        .iter()
        .map(|o| o["reservations"].as_array().unwrap().len())
        .collect()
}

#[test]
fn submits_an_order_of_three_lines() {
    let env = TestEnv::new();
    let orders = env.submit(&example("order-3.json"));
    assert_eq!(customers(&orders), ["koen"]);
    assert_eq!(line_counts(&orders), [3]);
    let reserved: Vec<String> = orders[0]["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| text(&r["object"]["reserved"]))
        .collect();
    assert_eq!(reserved, ["some hotel", "a plane", "a bike"]);
}

#[test]
fn submits_json_lines() {
    let env = TestEnv::new();
    let orders = env.submit(&example("orders.jsonl"));
    assert_eq!(customers(&orders), ["christophe", "koen", "ann", "bob"]);
    assert_eq!(line_counts(&orders), [2, 3, 1, 2]);
    let processes: std::collections::BTreeSet<String> =
        orders.iter().map(|o| text(&o["processId"])).collect();
    assert_eq!(processes.len(), 4, "every order gets its own process");
    assert_eq!(env.json_lines(&["events"]).len(), 4);
    assert_eq!(env.json(&["list"]).as_array().unwrap().len(), 4);
    assert_eq!(
        env.json(&["list", "reservations"])
            .as_array()
            .unwrap()
            .len(),
        8
    );
}

#[test]
fn submits_an_array_of_orders() {
    let env = TestEnv::new();
    let file = env.write(
        "orders.json",
        r#"[
  {"customer": "ann", "reservations": [{"id": 1, "reserved": "a train"}]},
  {"customer": "bob", "reservations": [{"id": 10, "reserved": "a car"}, {"id": 20, "reserved": "a tent"}]},
  {"customer": "cem", "reservations": [{"id": 7, "reserved": "a boat"}]}
]
"#,
    );
    let orders = env.submit(file.to_str().unwrap());
    assert_eq!(customers(&orders), ["ann", "bob", "cem"]);
    assert_eq!(line_counts(&orders), [1, 2, 1]);
    let line_ids: Vec<i64> = orders[1]["salesorder"]["object"]["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect();
    assert_eq!(line_ids, [10, 20]);
}

#[test]
fn submits_from_standard_input() {
    let env = TestEnv::new();
    let jsonl = std::fs::read_to_string(example("orders.jsonl")).unwrap();
    assert_eq!(env.submit_stdin(&jsonl).len(), 4);
    let one = std::fs::read_to_string(example("order.json")).unwrap();
    assert_eq!(customers(&env.submit_stdin(&one)), ["christophe"]);
    // No FILE reads standard input too.
    let run = env.exec(env.cmd().args(["--json", "submit"]).write_stdin(one));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 1);
    assert_eq!(env.json(&["list"]).as_array().unwrap().len(), 6);
}

#[test]
fn a_relative_file_name_is_read_from_the_working_directory() {
    let env = TestEnv::new();
    env.write(
        "mine.json",
        r#"{"customer": "dee", "reservations": [{"id": 1, "reserved": "a room"}]}"#,
    );
    assert_eq!(customers(&env.submit("mine.json")), ["dee"]);
}

#[test]
fn a_customer_name_is_kept_as_given() {
    let env = TestEnv::new();
    let file = env.write(
        "unicode.json",
        r#"{"customer": "Zoë \"Z\" Ünal", "reservations": [{"id": -3, "reserved": "a café"}]}"#,
    );
    let orders = env.submit(file.to_str().unwrap());
    assert_eq!(customers(&orders), ["Zoë \"Z\" Ünal"]);
    assert_eq!(orders[0]["reservations"][0]["object"]["id"], -3);
    assert_eq!(orders[0]["reservations"][0]["object"]["reserved"], "a café");
}

/// Orders are read as they are written (memory does not grow with the
/// input), yet an order spread over several lines, objects one after
/// another and JSON Lines mix as before, a bad order anywhere still undoes
/// the whole submit, and its line is counted from the start of the input.
#[test]
fn reads_orders_as_it_writes_them_and_a_late_bad_one_undoes_them_all() {
    let one = |c: &str| {
        format!(r#"{{"customer": "{c}", "reservations": [{{"id": 1, "reserved": "a room"}}]}}"#)
    };
    let spread = "{\n  \"customer\": \"ann\",\n  \"reservations\": [{\"id\": 1, \"reserved\": \"a \\\"big\\\" room {\"}]\n}\n";
    let good = format!("{spread}\n{}{}\n{}\n", one("bob"), one("cy"), one("dee"));
    let env = TestEnv::new();
    env.write("good.jsonl", &good);
    let orders = env.json_lines(&["submit", "good.jsonl"]);
    assert_eq!(customers(&orders), ["ann", "bob", "cy", "dee"]);

    let fresh = TestEnv::new();
    let bad = format!("{good}{}\n", one("eve").replace("\"a room\"", "42"));
    fresh.write("bad.jsonl", &bad);
    let stderr = fresh.fails(&["submit", "bad.jsonl"], 2);
    assert_eq!(
        stderr,
        "pi7: error: bad.jsonl:8:60: \"reserved\" must be a string\n"
    );
    assert!(
        !fresh.db().exists(),
        "a refused submit into a new database leaves none behind"
    );
}
