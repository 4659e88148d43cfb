//! `import` is a boundary of trust: an exported log round-trips exactly,
//! and whatever pi7 itself would not have written at that point of the log
//! is refused with where it is, exit 2, and nothing imported.

use serde_json::{json, Value};

use crate::util::{
    assert_one_line, assert_submitted_in_order, example, one_line_orders, parse_json, text, TestEnv,
};

/// Imports `contents` into `env`, which must refuse it: exit 2, one line
/// naming the file's line, the database exactly as it was.
fn refused(env: &TestEnv, name: &str, contents: &str) -> String {
    let path = env.write(name, contents);
    let existed = env.db().exists();
    let before = env.snapshot();
    let bytes = existed.then(|| env.db_bytes());
    let stderr = env.fails(&["import", path.to_str().unwrap()], 2);
    assert_eq!(env.db().exists(), existed, "{name} left a database behind");
    assert_one_line(&stderr);
    assert!(
        stderr.starts_with(&format!("pi7: error: {}:", path.display())),
        "{stderr}"
    );
    assert!(stderr.ends_with("; nothing was imported\n"), "{stderr}");
    assert_eq!(env.snapshot(), before, "{name} changed the documents");
    assert!(
        existed.then(|| env.db_bytes()) == bytes,
        "{name} changed the file"
    );
    stderr
}

fn lines(text: &str) -> String {
    text.lines().map(|l| format!("{l}\n")).collect()
}

fn events(env: &TestEnv) -> Vec<Value> {
    env.json_lines(&["events"])
}

/// Exports `from`, imports into a new database, and requires the copy to
/// be the same: the same export to the byte (so the same events, causes,
/// times and handling), the same documents, a clean verify; then a second
/// import appends nothing.
fn round_trip(from: &TestEnv) -> TestEnv {
    let exported = from.ok(&["export"]);
    let to = TestEnv::new();
    let file = to.write("log.jsonl", &exported);
    let file = file.to_str().unwrap();
    to.ok(&["import", file]);
    assert_eq!(to.ok(&["export"]), exported, "the copy exports another log");
    assert_eq!(
        to.json(&["list", "reservations"]),
        from.json(&["list", "reservations"])
    );
    assert_eq!(to.json(&["list", "orders"]), from.json(&["list", "orders"]));
    assert_eq!(to.json(&["pending"]), from.json(&["pending"]));
    to.ok(&["verify"]);
    let again = to.json(&["import", file]);
    assert_eq!(again["imported"], 0, "{again}");
    assert_eq!(to.ok(&["export"]), exported);
    to
}

#[test]
fn the_out_of_order_story_round_trips_exactly_and_imports_once() {
    // The README's story: held, both confirmed, delivered newest first.
    let env = TestEnv::new();
    env.ok(&["--hold", "submit", &example("order.json")]);
    env.ok(&["dispatch", "--order", "fifo"]);
    let reservations: Vec<String> = env
        .json(&["list", "reservations"])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| text(&r["_id"]))
        .collect();
    env.ok(&["--hold", "confirm", &reservations[0], &reservations[1]]);
    env.ok(&["dispatch", "--order", "lifo"]);
    round_trip(&env);
}

#[test]
fn expiring_several_reservations_in_one_command_round_trips_exactly() {
    let env = TestEnv::new();
    env.ok_at(1_000, &["submit", &example("orders.jsonl")]);
    env.ok_at(100_000, &["expire", "--older-than", "1h"]);
    let released = events(&env)
        .iter()
        .filter(|e| e["topic"] == "reservation/release")
        .count();
    let copy = round_trip(&env);
    let copied = events(&copy)
        .iter()
        .filter(|e| e["topic"] == "reservation/release")
        .count();
    assert_eq!(copied, released);
}

/// A bulk submit delivers its orders a batch at a time in its own
/// transaction, between its requests: the log says where, and the copy
/// handles each batch at the same place.
#[test]
fn a_bulk_submit_delivered_between_its_requests_round_trips_exactly() {
    const ORDERS: usize = 2_500;
    let env = TestEnv::new();
    env.write("many.jsonl", &one_line_orders(ORDERS));
    assert_submitted_in_order(&env.ok(&["--json", "submit", "many.jsonl"]), ORDERS);
    let log = env.ok(&["export"]);
    let handled_between = log
        .lines()
        .skip_while(|l| !l.contains("salesorder/request"))
        .skip_while(|l| l.contains("salesorder/request"))
        .any(|l| l.contains("salesorder/request"));
    assert!(handled_between, "the requests are one run in the log");
    assert_eq!(env.json(&["pending"]), json!([]));
    let copy = round_trip(&env);
    assert_eq!(copy.json(&["list"]).as_array().unwrap().len(), ORDERS);
}

#[test]
fn held_work_stays_held_in_the_copy() {
    let env = TestEnv::new();
    env.ok(&["submit", &example("order.json")]);
    env.ok(&["--hold", "submit", &example("order-3.json")]);
    let copy = round_trip(&env);
    assert_eq!(copy.json(&["pending"]).as_array().unwrap().len(), 2);
}

#[test]
fn a_cancellation_that_names_another_process_reservation_is_refused() {
    let env = TestEnv::new();
    let victim = env.submit_example();
    let intruder = "00000000-0000-4000-8000-0000000000b1";
    let forged = json!({
        "seq": 1, "id": "00000000-0000-4000-8000-0000000000b2",
        "topic": "salesorder/cancel", "processId": intruder, "causationId": null,
        "source": "salesorder", "time": 1543269956,
        "payload": {"processId": intruder, "reason": "mine now",
            "salesorder": {"_id": "00000000-0000-4000-8000-0000000000b3", "customer": "mallory",
                "reservations": [{"id": 1, "reserved": "some hotel", "status": "unconfirmed",
                                  "_id": victim.reservations[0]}]}}
    });
    let stderr = refused(&env, "cancel.jsonl", &format!("{forged}\n"));
    assert!(
        stderr.contains(&format!("process {intruder} has no sales order yet")),
        "{stderr}"
    );

    // With a request of its own first, the cancellation pi7 would publish
    // lists the intruder's lines, not the victim's reservation.
    let request = json!({
        "seq": 1, "id": "00000000-0000-4000-8000-0000000000b4",
        "topic": "salesorder/request", "processId": intruder, "causationId": null,
        "source": "web", "time": 1543269956,
        "payload": {"processId": intruder, "salesorder": {"customer": "mallory",
            "reservations": [{"id": 1, "reserved": "a tent"}]}}
    });
    let stderr = refused(&env, "cancel-2.jsonl", &format!("{request}\n{forged}\n"));
    assert!(
        stderr.contains(":2:1: event 00000000-0000-4000-8000-0000000000b2 (salesorder/cancel) comes where pi7 publishes event "),
        "{stderr}"
    );
}

#[test]
fn a_confirmation_that_no_command_publishes_is_refused() {
    let from = TestEnv::new();
    let submitted = from.submit_example();
    from.ok(&["confirm", &submitted.reservations[0]]);
    let exported = from.ok(&["export"]);
    let confirm = events(&from)
        .into_iter()
        .find(|e| e["topic"] == "reservation/confirm")
        .unwrap();
    let mut from_web = confirm.clone();
    from_web["source"] = Value::from("web");
    let forged = exported.replace(&confirm.to_string(), &from_web.to_string());
    assert_ne!(forged, exported);
    let to = TestEnv::new();
    let stderr = refused(&to, "web.jsonl", &forged);
    assert!(
        stderr.contains("no command publishes reservation/confirm from web"),
        "{stderr}"
    );

    // Nor one that confirms the same reservation twice.
    let twice = exported.replace(
        &format!("{confirm}\n"),
        &format!("{confirm}\n{}\n", {
            let mut again = confirm.clone();
            again["id"] = Value::from("00000000-0000-4000-8000-0000000000c1");
            again
        }),
    );
    let stderr = refused(&to, "twice.jsonl", &twice);
    assert!(
        stderr.contains(&format!(
            "reservation {} is already confirmed, so the command changes nothing (after event {}",
            submitted.reservations[0],
            text(&confirm["id"])
        )),
        "{stderr}"
    );
}

#[test]
fn a_confirmation_of_the_order_that_the_saga_did_not_publish_is_refused() {
    let from = TestEnv::new();
    let submitted = from.submit_example();
    let exported = from.ok(&["export"]);
    let request = &events(&from)[0];
    let fact_id = pi7::domain::ids::fact_event_id(
        submitted.process.parse().unwrap(),
        pi7::domain::Topic::SalesOrderConfirm,
    );
    let forged = json!({
        "seq": 2, "id": fact_id.to_string(), "topic": "salesorder/confirm",
        "processId": submitted.process, "causationId": request["id"],
        "source": "salesorder", "time": 1543269956,
        "payload": {"processId": submitted.process, "salesorder": {
            "_id": submitted.order, "customer": "christophe", "reservations": []}}
    });
    let to = TestEnv::new();
    let stderr = refused(&to, "confirm.jsonl", &format!("{exported}{forged}\n"));
    assert!(
        stderr.contains(&format!(
            "event {fact_id} (salesorder/confirm) claims that handling event {} published it, but pi7's handlers publish no such event here",
            text(&request["id"])
        )),
        "{stderr}"
    );
    // Into the database that has the order: refused the same way.
    refused(&from, "confirm.jsonl", &format!("{exported}{forged}\n"));
}

#[test]
fn a_log_that_went_another_way_is_refused_naming_both_events() {
    let here = TestEnv::new();
    let submitted = here.submit_example();
    let common = here.ok(&["export"]);
    let there = TestEnv::new();
    there.write("common.jsonl", &common);
    there.ok(&["import", "common.jsonl"]);
    there.ok(&[
        "confirm",
        &submitted.reservations[0],
        &submitted.reservations[1],
    ]);
    let confirmed = there.ok(&["export"]);
    here.ok(&["reject", &submitted.reservations[0], "--reason", "sold out"]);
    let reject = events(&here)
        .into_iter()
        .find(|e| e["topic"] == "reservation/reject")
        .unwrap();
    let confirm = events(&there)
        .into_iter()
        .find(|e| e["topic"] == "reservation/confirm")
        .unwrap();
    let stderr = refused(&here, "there.jsonl", &confirmed);
    assert!(
        stderr.contains(&format!(
            "event {} (reservation/confirm)",
            text(&confirm["id"])
        )) && stderr.contains(&format!(
            "reservation {} is already rejected",
            submitted.reservations[0]
        )) && stderr.contains(&format!("after event {}", text(&reject["id"]))),
        "{stderr}"
    );
}

/// Waits until `child` has the database `db` open and sleeps in a busy
/// wait: pi7 sleeps only while another holds the write lock.
fn wait_until_waiting_for_the_lock(child: &mut std::process::Child, db: &std::path::Path) {
    let proc = std::path::PathBuf::from(format!("/proc/{}", child.id()));
    let db = db.canonicalize().unwrap();
    // Not forever: an import that waits too long gives up, and ends.
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the import ended ({status}) while the test held the write lock");
        }
        let has_db_open = std::fs::read_dir(proc.join("fd"))
            .map(|fds| {
                fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
                    .any(|target| target == db)
            })
            .unwrap_or(false);
        // Where the kernel hides wchan ("0"), a process with the database
        // open that sleeps at all is in a busy wait: pi7 reads nothing else
        // by then.
        let wchan = std::fs::read_to_string(proc.join("wchan")).unwrap_or_default();
        let sleeping = if wchan.is_empty() || wchan == "0" {
            std::fs::read_to_string(proc.join("stat")).is_ok_and(|stat| {
                stat.rsplit_once(") ")
                    .is_some_and(|(_, rest)| rest.starts_with('S'))
            })
        } else {
            wchan.contains("nanosleep")
        };
        if has_db_open && sleeping {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[test]
fn of_two_imports_that_disagree_exactly_one_lands_whatever_their_timing() {
    let base = TestEnv::new();
    let submitted = base.submit_example();
    let common = base.ok(&["export"]);
    let branch = |act: &[&str]| {
        let env = TestEnv::new();
        env.write("common.jsonl", &common);
        env.ok(&["import", "common.jsonl"]);
        env.ok(act);
        env.ok(&["export"])
    };
    let yes = base.write(
        "yes.jsonl",
        &branch(&["confirm", &submitted.reservations[0]]),
    );
    let no = base.write(
        "no.jsonl",
        &branch(&["reject", &submitted.reservations[0], "--reason", "no"]),
    );
    let spawn = |file: &std::path::Path| {
        base.std_cmd_at(1_543_269_999)
            .args(["import", file.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // The test holds the write lock until both imports wait for it, so
    // both have read the database as it was before either appends: only
    // checks made inside the write transaction see the other's events.
    let lock = rusqlite::Connection::open(base.db()).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (mut a, mut b) = (spawn(&yes), spawn(&no));
    wait_until_waiting_for_the_lock(&mut a, base.db());
    wait_until_waiting_for_the_lock(&mut b, base.db());
    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let mut codes = [a.status.code(), b.status.code()];
    codes.sort();
    assert_eq!(
        codes,
        [Some(0), Some(2)],
        "{}{}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    let refused = if a.status.code() == Some(2) { &a } else { &b };
    let refused = String::from_utf8_lossy(&refused.stderr);
    assert_one_line(&refused);
    assert!(refused.ends_with("; nothing was imported\n"), "{refused}");
    base.ok(&["verify"]);
    let topics: Vec<Value> = events(&base).iter().map(|e| e["topic"].clone()).collect();
    assert_eq!(
        topics
            .iter()
            .filter(|t| *t == "reservation/confirm" || *t == "reservation/reject")
            .count(),
        1,
        "{topics:?}"
    );
}

#[test]
fn a_request_with_a_revision_out_of_turn_is_refused() {
    let from = TestEnv::new();
    from.submit_example();
    let request = parse_json(from.ok(&["events", "--json"]).lines().next().unwrap());
    let mut huge = request.clone();
    huge["payload"]["revision"] = Value::from(4_294_967_295u32);
    let to = TestEnv::new();
    let stderr = refused(&to, "huge.jsonl", &format!("{huge}\n"));
    assert!(stderr.contains("has no sales order yet"), "{stderr}");

    // An amendment that skips one, after the order it amends.
    let mut skipping = request.clone();
    skipping["id"] = Value::from("00000000-0000-4000-8000-0000000000d1");
    skipping["payload"]["revision"] = Value::from(3);
    let stderr = refused(
        &to,
        "skip.jsonl",
        &lines(&format!("{request}\n{skipping}\n")),
    );
    assert!(
        stderr.contains("amendment 3 of process ")
            && stderr.contains("comes where amendment 2 is next"),
        "{stderr}"
    );
}
