//! The log as the source of truth: `rebuild` recomputes the documents from
//! it, `show --at` replays a prefix of it, and `export` / `import` carry it
//! to another database with the same effects.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::util::{assert_one_line, example, parse_json, text, Submitted, TestEnv};

/// `orders.jsonl`, then the walkthrough (the order of `order.json`, both of
/// its reservations confirmed), then a submit whose deliveries are held.
fn walkthrough_and_a_held_submit(env: &TestEnv) -> Submitted {
    env.ok(&["submit", &example("orders.jsonl")]);
    let submitted = env.submit_example();
    for id in &submitted.reservations {
        env.ok(&["confirm", id]);
    }
    env.ok(&["--hold", "submit", &example("order-3.json")]);
    submitted
}

fn execute(env: &TestEnv, sql: &str) {
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    conn.execute_batch(sql).unwrap();
}

fn verify_ok(env: &TestEnv) {
    let run = env.run(&["verify"]);
    assert_eq!(run.code, 0, "verify failed:\n{}{}", run.stdout, run.stderr);
}

/// Both document lists, as `list --json` prints them.
fn documents(env: &TestEnv) -> (Value, Value) {
    (
        env.json(&["list", "orders"]),
        env.json(&["list", "reservations"]),
    )
}

fn event_ids(env: &TestEnv) -> BTreeSet<String> {
    env.json_lines(&["events"])
        .iter()
        .map(|e| text(&e["id"]))
        .collect()
}

fn pending_count(env: &TestEnv) -> usize {
    env.json(&["pending"]).as_array().unwrap().len()
}

/// Exports `from` into a file of `to`'s directory and imports it there.
fn export_import(from: &TestEnv, to: &TestEnv, import_args: &[&str]) -> String {
    let log = to.write("log.jsonl", &from.ok(&["export"]));
    let mut args = import_args.to_vec();
    args.extend(["import", log.to_str().unwrap()]);
    to.ok(&args)
}

#[test]
fn rebuild_finds_no_difference_in_a_healthy_database() {
    let env = TestEnv::new();
    walkthrough_and_a_held_submit(&env);
    let before = env.snapshot();
    assert_eq!(
        env.ok(&["rebuild"]),
        "rebuilt 5 sales orders and 10 reservations from 9 events: no differences\n"
    );
    assert_eq!(
        env.json(&["rebuild"]),
        serde_json::json!({"events": 9, "salesorders": 5, "reservations": 10, "differences": []})
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn rebuild_reports_a_tampered_document_and_fixes_it() {
    let env = TestEnv::new();
    walkthrough_and_a_held_submit(&env);
    let healthy = documents(&env);
    let tampered: String = {
        let conn = rusqlite::Connection::open(env.db()).unwrap();
        conn.query_row(
            "SELECT id FROM reservations WHERE status = 'unconfirmed' ORDER BY rowid LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    execute(
        &env,
        &format!(
            "UPDATE reservations
             SET status = 'confirmed', document = replace(document, 'unconfirmed', 'confirmed')
             WHERE id = '{tampered}'"
        ),
    );
    assert_eq!(env.run(&["verify"]).code, 1);

    let out = env.ok(&["rebuild"]);
    assert_eq!(
        out,
        format!(
            "reservation {tampered}: differs from the log: \
             /object/status is \"confirmed\" but the log makes \"unconfirmed\"; \
             /object/history/0/status is \"confirmed\" but the log makes \"unconfirmed\"; \
             column status is 'confirmed' but should be 'unconfirmed'; replaced\n\
             rebuilt 5 sales orders and 10 reservations from 9 events: 1 difference (now fixed)\n"
        )
    );
    assert_eq!(documents(&env), healthy);
    verify_ok(&env);
    assert!(env.ok(&["rebuild"]).ends_with(": no differences\n"));
    assert_eq!(
        env.json(&["list", "reservations", "--status", "confirmed"])
            .as_array()
            .unwrap()
            .len(),
        2,
        "the status column is right again"
    );
}

#[test]
fn rebuild_puts_back_a_lost_document_and_removes_a_stray_one() {
    let env = TestEnv::new();
    let submitted = walkthrough_and_a_held_submit(&env);
    let (orders, reservations) = documents(&env);
    execute(
        &env,
        &format!(
            "DELETE FROM salesorders WHERE id = '{}';
             INSERT INTO reservations (id, process_id, status, document)
             VALUES ('00000000-0000-4000-8000-000000000001', '{}', 'confirmed', '{{}}');",
            submitted.order, submitted.process
        ),
    );
    let report = env.json(&["rebuild"]);
    let differences = report["differences"].as_array().unwrap();
    let summary: Vec<(String, String, String)> = differences
        .iter()
        .map(|d| (text(&d["kind"]), text(&d["_id"]), text(&d["change"])))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "salesorder".into(),
                submitted.order.clone(),
                "missing".into()
            ),
            (
                "reservation".into(),
                "00000000-0000-4000-8000-000000000001".into(),
                "extra".into()
            ),
        ]
    );
    assert_eq!(differences[0]["stored"], Value::Null);
    assert_eq!(
        differences[0]["rebuilt"],
        env.json(&["show", &submitted.order])
    );
    assert_eq!(differences[1]["stored"], serde_json::json!({}));
    let (orders_after, reservations_after) = documents(&env);
    assert_eq!(reservations_after, reservations);
    // The lost order is back (listed last: where it was is not in the log).
    let sorted = |v: &Value| {
        let mut all: Vec<String> = v.as_array().unwrap().iter().map(Value::to_string).collect();
        all.sort();
        all
    };
    assert_eq!(sorted(&orders_after), sorted(&orders));
    verify_ok(&env);
}

#[test]
fn rebuild_of_a_log_with_missing_events_fails_and_writes_nothing() {
    let env = TestEnv::new();
    env.expect_damage();
    walkthrough_and_a_held_submit(&env);
    // christophe's request, which the confirmations after it need.
    execute(
        &env,
        "DELETE FROM deliveries WHERE seq = 5; DELETE FROM events WHERE seq = 5;
         UPDATE salesorders SET status = 'confirmed' WHERE rowid = 1;",
    );
    let before = env.db_bytes();
    let stderr = env.fails(&["rebuild"], 1);
    assert!(
        stderr.starts_with("pi7: error: cannot rebuild the documents of ")
            && stderr.contains("event 6: event ")
            && stderr.contains("is not a command pi7 takes here: there is no reservation ")
            && stderr.ends_with("; nothing was written\n"),
        "{stderr}"
    );
    assert!(
        env.db_bytes() == before,
        "a failed rebuild changed the file"
    );
}

#[test]
fn show_at_replays_a_reservation_up_to_an_event() {
    let env = TestEnv::new();
    env.ok(&["submit", &example("orders.jsonl")]);
    let submitted = env.submit_example();
    let reservation = &submitted.reservations[0];
    env.ok(&["confirm", reservation]);
    let events = env.json_lines(&["events"]);
    let seq_of = |topic: &str| {
        events
            .iter()
            .find(|e| e["topic"] == topic && text(&e["processId"]) == submitted.process)
            .map(|e| e["seq"].as_u64().unwrap().to_string())
            .unwrap()
    };
    let (requested, confirmed) = (seq_of("salesorder/request"), seq_of("reservation/confirm"));
    assert_eq!((requested.as_str(), confirmed.as_str()), ("5", "6"));

    let at_request = env.json(&["show", reservation, "--at", &requested]);
    assert_eq!(at_request["object"]["status"], "unconfirmed");
    assert_eq!(at_request["object"]["history"].as_array().unwrap().len(), 1);
    let at_confirm = env.json(&["show", reservation, "--at", &confirmed]);
    assert_eq!(at_confirm["object"]["status"], "confirmed");
    assert_eq!(at_confirm, env.json(&["show", reservation]));

    // The order as of the request: nothing confirmed, and only that event.
    let human = env.ok(&["show", &submitted.process, "--at", &requested]);
    assert!(
        human.starts_with("as of event 5 (replayed)\n\nsales order  "),
        "{human}"
    );
    assert!(
        human.contains("status       pending (0 of 2 lines confirmed)\n"),
        "{human}"
    );
    let event_rows: Vec<&str> = human
        .split("\nevents:\n")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .collect();
    assert_eq!(event_rows.len(), 1, "{human}");
    assert!(event_rows[0].starts_with("5     "), "{human}");

    // Past the end of the log: the log's current state.
    assert_eq!(
        env.json(&["show", &submitted.order, "--at", "1000"]),
        env.json(&["show", &submitted.order])
    );
    assert!(env
        .ok(&["show", reservation, "--at", "1000"])
        .starts_with("as of event 6, the end of the log (replayed)\n"));
}

#[test]
fn show_at_before_a_document_existed_is_not_found() {
    let env = TestEnv::new();
    env.ok(&["submit", &example("orders.jsonl")]);
    let submitted = env.submit_example();
    for args in [
        vec!["show", submitted.order.as_str(), "--at", "4"],
        vec!["--json", "show", submitted.order.as_str(), "--at", "4"],
    ] {
        let stderr = env.fails(&args, 3);
        assert_eq!(
            stderr,
            format!(
                "pi7: error: no sales order that existed just after event 4 has an ID starting with '{}'\n",
                submitted.order
            )
        );
    }
    let stderr = env.fails(&["show", &submitted.reservations[1], "--at", "0"], 3);
    assert!(
        stderr.contains("no reservation that existed just after event 0"),
        "{stderr}"
    );
    let stderr = env.fails(&["show", &submitted.process, "--at", "4"], 3);
    assert!(
        stderr.contains("no process that had begun by event 4"),
        "{stderr}"
    );
    // Once it exists, it shows.
    env.ok(&["show", &submitted.order, "--at", "5"]);
}

#[test]
fn export_prints_what_events_json_prints_with_a_header_and_records() {
    let env = TestEnv::new();
    let submitted = walkthrough_and_a_held_submit(&env);
    let exported = env.ok(&["export"]);
    assert_eq!(
        exported.lines().next(),
        Some(r#"{"format":"pi7 export","version":2}"#)
    );
    assert_eq!(envelopes(&exported), env.ok(&["events", "--json"]));
    // Where each handled delivery was handled: christophe's second
    // confirmation, then what its delivery to the saga published.
    let confirm_2 = env.json_lines(&["events"])[6].clone();
    let handled = format!(
        r#"{{"handled":{{"event":"{}","component":"salesorder"}}}}"#,
        text(&confirm_2["id"])
    );
    let lines: Vec<&str> = exported.lines().collect();
    let at = lines.iter().position(|l| *l == handled).unwrap();
    assert_eq!(parse_json(lines[at - 1])["seq"], 7);
    assert_eq!(parse_json(lines[at + 1])["topic"], "salesorder/confirm");
    // orders.jsonl's four orders were one command.
    assert_eq!(lines[1], r#"{"command":{"events":4}}"#);
    let of_process = env.ok(&["export", "--process", &submitted.reservations[0][..8]]);
    assert_eq!(
        envelopes(&of_process),
        env.ok(&["events", "--json", "--process", &submitted.process])
    );
    assert!(!of_process.contains(r#"{"command""#), "{of_process}");
    let file = env.dir().join("out.jsonl");
    assert_eq!(
        env.ok(&["export", "--output", file.to_str().unwrap()]),
        format!("exported 9 events to {}\n", file.display())
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), exported);
}

/// The event lines of an export, as `pi7 events --json` prints them.
fn envelopes(exported: &str) -> String {
    exported
        .lines()
        .filter(|l| l.starts_with(r#"{"seq":"#))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn export_then_import_into_an_empty_database_makes_the_same_documents() {
    let source = TestEnv::new();
    walkthrough_and_a_held_submit(&source);
    let target = TestEnv::new();
    // Held, as the last submit of the source was.
    assert_eq!(
        export_import(&source, &target, &["--hold"]),
        "imported 9 events (0 already present)\n"
    );
    assert_eq!(documents(&target), documents(&source));
    assert_eq!(event_ids(&target), event_ids(&source));
    assert_eq!(pending_count(&target), pending_count(&source));
    verify_ok(&target);

    // Delivering what was held gives the same documents on both sides.
    source.ok(&["dispatch"]);
    target.ok(&["dispatch"]);
    assert_eq!(documents(&target), documents(&source));
    assert_eq!(event_ids(&target), event_ids(&source));
}

#[test]
fn orders_confirmed_in_lifo_order_survive_the_round_trip() {
    let source = TestEnv::new();
    source.ok(&["--hold", "submit", &example("order.json")]);
    source.ok(&["dispatch", "--to", "reservation"]);
    let ids: Vec<String> = source
        .json(&["list", "reservations"])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| text(&r["_id"]))
        .collect();
    for id in &ids {
        source.ok(&["--hold", "confirm", id]);
    }
    source.ok(&["dispatch", "--order", "lifo"]);
    source.ok(&["submit", &example("orders.jsonl")]);
    assert_eq!(
        source.json(&["list", "orders"])[0]["object"]["status"],
        "confirmed"
    );

    let target = TestEnv::new();
    assert_eq!(
        export_import(&source, &target, &[]),
        "imported 8 events (0 already present)\n"
    );
    assert_eq!(documents(&target), documents(&source));
    assert_eq!(event_ids(&target), event_ids(&source));
    assert_eq!(pending_count(&target), 0);
    verify_ok(&target);
}

#[test]
fn importing_the_same_log_twice_appends_nothing_the_second_time() {
    let source = TestEnv::new();
    walkthrough_and_a_held_submit(&source);
    source.ok(&["dispatch"]);
    let target = TestEnv::new();
    export_import(&source, &target, &[]);
    let before = target.snapshot();
    let log = target.dir().join("log.jsonl");
    assert_eq!(
        target.json(&["import", log.to_str().unwrap()]),
        serde_json::json!({"events": 9, "imported": 0, "alreadyPresent": 9})
    );
    assert_eq!(target.snapshot(), before);

    // From standard input, into a database that has part of the log (as
    // `events --json` prints it: envelopes alone).
    let other = TestEnv::new();
    let all = source.ok(&["export"]);
    let first_three: String = source
        .ok(&["events", "--json"])
        .lines()
        .take(3)
        .map(|l| format!("{l}\n"))
        .collect();
    let run = other.exec(other.cmd().args(["import", "-"]).write_stdin(first_three));
    assert_eq!(
        run.stdout, "imported 3 events (0 already present)\n",
        "{}",
        run.stderr
    );
    let run = other.exec(other.cmd().args(["import", "-"]).write_stdin(all));
    assert_eq!(
        run.stdout, "imported 6 events (3 already present)\n",
        "{}",
        run.stderr
    );
    assert_eq!(documents(&other), documents(&source));
    assert_eq!(event_ids(&other), event_ids(&source));
}

#[test]
fn a_bad_line_is_reported_where_it_is_and_nothing_is_imported() {
    let source = TestEnv::new();
    walkthrough_and_a_held_submit(&source);
    let lines: Vec<String> = source
        .ok(&["events", "--json"])
        .lines()
        .map(String::from)
        .collect();
    let target = TestEnv::new();
    target.submit_example();
    let before = target.snapshot();
    let bytes = target.db_bytes();

    let import = |name: &str, contents: String, code: i32| {
        let path = target.write(name, &contents);
        let stderr = target.fails(&["import", path.to_str().unwrap()], code);
        crate::util::assert_one_line(&stderr);
        assert_eq!(target.snapshot(), before, "{name} changed the database");
        assert!(target.db_bytes() == bytes, "{name} changed the file");
        (path.display().to_string(), stderr)
    };

    // An unknown field on line 3, after two good lines.
    let bad = lines[2].replacen("\"source\"", "\"sorce\"", 1);
    let column = bad.find("\"sorce\"").unwrap() + 1;
    let (path, stderr) = import(
        "typo.jsonl",
        format!("{}\n{}\n{bad}\n{}\n", lines[0], lines[1], lines[3]),
        2,
    );
    assert!(
        stderr.starts_with(&format!(
            "pi7: error: {path}:3:{}: not an event envelope: unknown field `sorce`",
            column + "\"sorce\"".len() - 1
        )),
        "{stderr}"
    );

    // Not JSON at all.
    let (path, stderr) = import(
        "garbage.jsonl",
        format!("{}\n  {{\"seq\": ?}}\n", lines[0]),
        2,
    );
    assert_eq!(
        stderr,
        format!("pi7: error: {path}:2:11: not JSON: expected value\n")
    );

    // An event the database has, with other contents.
    let mine = parse_json(target.ok(&["events", "--json"]).lines().next().unwrap());
    let mut changed = mine.clone();
    changed["time"] = Value::from(1);
    let (path, stderr) = import("conflict.jsonl", format!("{}\n{changed}\n", lines[0]), 2);
    assert_eq!(
        stderr,
        format!(
            "pi7: error: {path}:2:1: event {} is already event 1 of the log, with different contents (time is 1, pi7 has 1543269956); nothing was imported\n",
            text(&mine["id"])
        )
    );

    // An event whose cause is nowhere.
    let caused = lines
        .iter()
        .find(|l| !parse_json(l)["causationId"].is_null())
        .unwrap();
    let (path, stderr) = import("orphan.jsonl", format!("{}\n{caused}\n", lines[0]), 2);
    assert!(
        stderr.starts_with(&format!("pi7: error: {path}:2:1: event "))
            && stderr.contains("but pi7's handlers publish no such event here"),
        "{stderr}"
    );

    // A file that cannot be read.
    let stderr = target.fails(&["import", "no-such-file.jsonl"], 2);
    assert!(
        stderr.starts_with("pi7: error: cannot read no-such-file.jsonl: "),
        "{stderr}"
    );
    assert!(target.db_bytes() == bytes);
}

#[test]
fn an_event_whose_payload_disagrees_with_its_envelope_is_not_imported() {
    let from = TestEnv::new();
    from.submit_example();
    let exported = from.ok(&["events", "--json"]);
    let request: Value = parse_json(exported.lines().next().unwrap());
    let other_process = "00000000-0000-4000-8000-000000000001";
    let cases = [
        (
            "/payload/processId",
            Value::from(other_process),
            "processId",
        ),
        (
            "/payload/salesorder/customer",
            Value::from(" "),
            "\"customer\" is empty",
        ),
        (
            "/payload/salesorder/reservations",
            serde_json::json!([]),
            "\"reservations\" is empty",
        ),
        ("/payload/revision", Value::from(0), "revision starts at 1"),
    ];
    for (pointer, value, expected) in cases {
        let to = TestEnv::new();
        let mut bad = request.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        bad.pointer_mut(parent).unwrap()[key] = value;
        let file = to.write("bad.jsonl", &format!("{bad}\n"));
        let stderr = to.fails(&["import", file.to_str().unwrap()], 2);
        assert!(stderr.starts_with("pi7: error: "), "{stderr}");
        assert!(stderr.contains("bad.jsonl:1:1"), "{stderr}");
        assert!(stderr.contains(expected), "{pointer}: {stderr}");
        assert_eq!(
            to.ok(&["events", "--json"]),
            "",
            "{pointer}: nothing imported"
        );
    }
}

/// The lines of `lines` as a file in which those `spread` picks are spread
/// over several lines and a blank line follows every seventh: the text, and
/// the line of the file each starts on.
fn spread_out(lines: &[String], spread: impl Fn(usize, &str) -> bool) -> (String, Vec<usize>) {
    let mut text = String::new();
    let mut starts = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        starts.push(text.matches('\n').count() + 1);
        if spread(i, line) {
            text += &serde_json::to_string_pretty(&parse_json(line)).unwrap();
        } else {
            text += line;
        }
        text += if i % 7 == 3 { "\n\n" } else { "\n" };
    }
    (text, starts)
}

/// `text` imported from the file `name` of `env`, refused in one line
/// (exit 2): the file's path, and what pi7 said.
fn refused_import(env: &TestEnv, name: &str, text: &str) -> (String, String) {
    let path = env.write(name, text);
    let stderr = env.fails(&["import", path.to_str().unwrap()], 2);
    assert_one_line(&stderr);
    (path.display().to_string(), stderr)
}

/// An import replays its file as it reads it, so that memory does not grow
/// with the file: values spread over several lines still import exactly,
/// and a bad line far into the file is still refused where it is with
/// nothing imported: the database is unchanged, and a new one is not left
/// behind.
#[test]
fn a_long_file_is_imported_as_it_is_read_and_a_late_bad_line_undoes_it_all() {
    let source = TestEnv::new();
    let orders = source.write("orders.jsonl", &crate::util::one_line_orders(150));
    source.ok(&["submit", orders.to_str().unwrap()]);
    // What the saga publishes comes last: each order's confirmation.
    let reservations = source.json(&["list", "reservations"]);
    let mut confirm = vec!["confirm".to_string()];
    confirm.extend(
        reservations.as_array().unwrap()[..3]
            .iter()
            .map(|r| text(&r["_id"])),
    );
    source.ok(&confirm.iter().map(String::as_str).collect::<Vec<_>>());
    let exported = source.ok(&["export"]);
    let lines: Vec<String> = exported.lines().map(String::from).collect();
    let events = lines.iter().filter(|l| l.starts_with(r#"{"seq":"#)).count();
    let every_tenth = |i: usize, _: &str| i % 10 == 5;
    let last_of = |topic: &str| {
        let topic = format!(r#""topic":"{topic}""#);
        lines.iter().rposition(|l| l.contains(&topic)).unwrap()
    };

    let copy = TestEnv::new();
    let (good, _) = spread_out(&lines, every_tenth);
    assert!(
        good.lines().count() > lines.len() * 2,
        "spread over more lines"
    );
    let path = copy.write("log.jsonl", &good);
    assert_eq!(
        copy.ok(&["import", path.to_str().unwrap()]),
        format!("imported {events} events (0 already present)\n")
    );
    assert_eq!(copy.ok(&["export"]), exported, "imported exactly");

    // What the saga published last, altered: the replay, far into the
    // file, publishes something else. Into a new database.
    let last = last_of("salesorder/confirm");
    assert!(last > 400, "far into the file");
    let mut altered = lines.clone();
    let mut event = parse_json(&lines[last]);
    event["time"] = Value::from(1);
    altered[last] = event.to_string();
    let (bad, starts) = spread_out(&altered, |i, l| every_tenth(i, l) || i == last);
    let fresh = TestEnv::new();
    let (path, stderr) = refused_import(&fresh, "altered.jsonl", &bad);
    assert!(
        stderr.starts_with(&format!(
            "pi7: error: {path}:{}:1: event {} (salesorder/confirm) is not what pi7 publishes here: time is 1, pi7 has ",
            starts[last],
            text(&event["id"])
        )) && stderr.ends_with("; nothing was imported\n"),
        "{stderr}"
    );
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", fresh.db().display());
        assert!(
            !Path::new(&file).exists(),
            "a refused import into a new database leaves no {file}"
        );
    }

    // A typo in a request, far into the file, in a value spread over
    // lines. Into a database that has events of its own.
    let target = TestEnv::new();
    target.submit_example();
    let before = target.snapshot();
    let bytes = target.db_bytes();
    let request = last_of("salesorder/request");
    assert!(request > 100, "far into the file");
    let mut typo = lines.clone();
    typo[request] = typo[request].replacen("\"source\"", "\"sorce\"", 1);
    let (bad, _) = spread_out(&typo, |i, l| every_tenth(i, l) || i == request);
    let at = bad.find("\"sorce\"").unwrap();
    let line = bad[..at].matches('\n').count() + 1;
    let column = at - bad[..at].rfind('\n').unwrap() - 1 + "\"sorce\"".len();
    let (path, stderr) = refused_import(&target, "typo.jsonl", &bad);
    assert!(
        stderr.starts_with(&format!(
            "pi7: error: {path}:{line}:{column}: not an event envelope: unknown field `sorce`"
        )),
        "{stderr}"
    );
    assert_eq!(target.snapshot(), before);
    assert!(target.db_bytes() == bytes, "the database file is unchanged");
}

#[test]
fn verify_catches_a_column_that_disagrees_with_its_document() {
    // Each filter column edited alone: the document still says what it
    // said, but `list --status`, `expire` or a lookup by process would now
    // go by the column.
    // What is set, and what the columns then say: the process (the
    // second order's, or still the first's) and the status.
    let cases = [
        ("status = 'confirmed'", false, "confirmed"),
        ("process_id = '{second}'", true, "unconfirmed"),
    ];
    for (set, moved, column_status) in cases {
        let env = TestEnv::new();
        env.expect_damage();
        let first = env.submit_example();
        let second = env.submit_example();
        let set = set.replace("{second}", &second.process);
        execute(
            &env,
            &format!(
                "UPDATE reservations SET {set} WHERE id = '{}';",
                first.reservations[0]
            ),
        );
        let mut run = env.run(&["verify"]);
        assert_eq!(run.code, 1, "{}", run.stdout);
        // Violations are folded at 80 columns.
        run.stdout = run.stdout.replace("\n  ", " ");
        let process = if moved {
            &second.process
        } else {
            &first.process
        };
        assert!(
            run.stdout.contains(&format!(
                "violation: reservation {}: its columns say process {process}, status {column_status} but its document says process {}, status unconfirmed",
                first.reservations[0], first.process
            )),
            "{set}: {}",
            run.stdout
        );
        assert!(
            run.stderr.starts_with("pi7: error: 1 violation found"),
            "{set}: the column is the only thing wrong: {}{}",
            run.stdout,
            run.stderr
        );
    }
}

#[test]
fn reading_commands_report_an_empty_or_foreign_file_and_leave_it_untouched() {
    let env = TestEnv::new();
    let db = env.db_text();
    let reads = [
        &["list"][..],
        &["list", "reservations"],
        &["events"],
        &["pending"],
        &["export"],
        &["verify"],
    ];
    let untouched = |args: &[&str], contents: &[u8]| {
        assert_eq!(env.db_bytes(), contents, "pi7 {args:?} wrote to the file");
        for suffix in ["-wal", "-shm"] {
            let beside = format!("{db}{suffix}");
            assert!(
                !std::path::Path::new(&beside).exists(),
                "pi7 {args:?} left {beside}"
            );
        }
    };

    // Empty: read as an empty database, and said to be an empty file;
    // verify has nothing to check and says so.
    std::fs::write(env.db(), b"").unwrap();
    for args in reads {
        let run = env.run(args);
        if args == ["verify"] {
            assert_eq!(run.code, 4, "{}", run.stderr);
            assert_eq!(
                run.stderr,
                format!(
                    "pi7: error: cannot open the database {db}: it is an empty file, \
                     not a pi7 database, so nothing to verify\n"
                )
            );
        } else {
            assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
            assert!(
                run.stderr.starts_with(&format!(
                    "pi7: {db} is empty, not a pi7 database yet (writing commands make it one)\n"
                )),
                "{args:?}: {}",
                run.stderr
            );
        }
        untouched(args, b"");
    }

    // Foreign: refused, one line, exit 4.
    let foreign = b"my shopping list\n";
    std::fs::write(env.db(), foreign).unwrap();
    for args in reads {
        let run = env.run(args);
        assert_eq!(run.code, 4, "{args:?}: {}", run.stderr);
        assert_one_line(&run.stderr);
        assert!(
            run.stderr.contains(&format!("{db} is not a pi7 database")),
            "{args:?}: {}",
            run.stderr
        );
        untouched(args, foreign);
    }

    // A command that writes makes an empty file a pi7 database.
    std::fs::write(env.db(), b"").unwrap();
    env.submit_example();
    env.ok(&["verify"]);
}
