//! The command line as a new user meets it (issue 13): usage errors that
//! keep what clap knew, honest exit codes, notes where a result could
//! mislead, and output that keeps to the terminal's width.

use crate::util::{assert_one_line, one_line_orders, TestEnv};

#[test]
fn a_missing_argument_is_named_with_the_subcommands_help() {
    let env = TestEnv::new();
    for (args, missing, command) in [
        (&["expire"][..], "--older-than <DURATION>", "pi7 expire"),
        (&["show"][..], "<ID>", "pi7 show"),
        (&["confirm"][..], "<ID>...", "pi7 confirm"),
        (&["cancel"][..], "<ID>", "pi7 cancel"),
        (&["redeliver"][..], "<SEQ>", "pi7 redeliver"),
        (&["import"][..], "<FILE>", "pi7 import"),
        (&["completions"][..], "<SHELL>", "pi7 completions"),
    ] {
        let stderr = env.fails(args, 2);
        assert_one_line(&stderr);
        assert_eq!(
            stderr,
            format!(
                "pi7: error: the following required arguments were not provided: {missing} \
                 (`{command} --help` shows the usage)\n"
            )
        );
    }
}

#[test]
fn a_typo_gets_a_suggestion() {
    let env = TestEnv::new();
    let stderr = env.fails(&["sumbit"], 2);
    assert_one_line(&stderr);
    assert_eq!(
        stderr,
        "pi7: error: unrecognized subcommand 'sumbit'; a similar subcommand exists: 'submit' \
         (`pi7 --help` shows the usage)\n"
    );
    let stderr = env.fails(&["list", "--staus", "pending"], 2);
    assert_one_line(&stderr);
    assert_eq!(
        stderr,
        "pi7: error: unexpected argument '--staus' found; a similar argument exists: '--status' \
         (`pi7 list --help` shows the usage)\n"
    );
    let stderr = env.fails(&["reject", "abcd", "--reason"], 2);
    assert_eq!(
        stderr,
        "pi7: error: a value is required for '--reason <REASON>' but none was supplied \
         (`pi7 reject --help` shows the usage)\n"
    );
}

#[test]
fn bare_pi7_prints_the_help() {
    let env = TestEnv::new();
    let run = env.exec(env.cmd().env_remove("PI7_DB"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    assert!(
        run.stdout.starts_with("pi7: sales orders"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Commands:\n  submit"), "{}", run.stdout);
    let run = env.run(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("Commands:\n  submit"), "{}", run.stdout);
    assert!(!env.db().exists());
}

/// A `salesorder/request` for process `process`, as `pi7 export` writes it.
fn request_line(seq: u64, event: &str, process: &str, customer: &str) -> String {
    serde_json::json!({
        "seq": seq, "id": event, "topic": "salesorder/request", "processId": process,
        "causationId": null, "source": "web", "time": crate::util::NOW,
        "payload": { "processId": process, "salesorder": {
            "customer": customer,
            "reservations": [{ "id": 1, "reserved": "some hotel" }] } }
    })
    .to_string()
}

/// Imports the orders of ann and bob, whose process ids share their first
/// 9 characters, `5f633c9b-`; returns the two process ids.
pub fn import_twin_processes(env: &TestEnv) -> (&'static str, &'static str) {
    env.write("log.jsonl", &twin_processes_log());
    env.ok(&["import", "log.jsonl"]);
    (TWINS[0], TWINS[1])
}

/// Two process ids that share their first 9 characters.
pub const TWINS: [&str; 2] = [
    "5f633c9b-1111-4111-8111-111111111111",
    "5f633c9b-2222-4222-8222-222222222222",
];

/// The log [`import_twin_processes`] imports.
pub fn twin_processes_log() -> String {
    format!(
        "{}\n{}\n",
        request_line(1, "0a000000-0000-4000-8000-000000000001", TWINS[0], "ann"),
        request_line(2, "0b000000-0000-4000-8000-000000000002", TWINS[1], "bob")
    )
}

#[test]
fn tables_show_the_shortest_prefix_that_is_unique() {
    let env = TestEnv::new();
    import_twin_processes(&env);
    let table = env.ok(&["list", "orders"]);
    let processes: Vec<&str> = table
        .lines()
        .skip(1)
        .map(|row| row.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(processes, ["5f633c9b-1", "5f633c9b-2"], "{table}");
    // Every id shown names one thing: each is accepted as it is.
    for row in table.lines().skip(1) {
        let mut columns = row.split_whitespace();
        let (order, process) = (columns.next().unwrap(), columns.next().unwrap());
        assert_eq!(order.len(), 8, "{table}");
        env.ok(&["show", order]);
        env.ok(&["show", process]);
    }
    let events = env.ok(&["events"]);
    assert!(events.contains("  5f633c9b-1  "), "{events}");
    assert!(events.contains("  5f633c9b-2  "), "{events}");
    // A prefix of 8 names both.
    assert!(env.fails(&["show", "5f633c9b"], 3).contains("ambiguous"));
}

/// Asserts that no line of `text` is wider than 80 terminal columns.
fn assert_fits_80(what: &str, text: &str) {
    for line in text.lines() {
        let width = unicode_width::UnicodeWidthStr::width(line);
        assert!(width <= 80, "{what}: a line of {width} columns: {line}");
    }
}

#[test]
fn every_table_and_summary_keeps_to_80_columns_whatever_the_script() {
    let env = TestEnv::new();
    let wide = "東京🍣".repeat(30);
    let long = "x".repeat(100_000);
    let order = serde_json::json!({
        "customer": format!("{wide}{long}"),
        "reservations": [
            { "id": 1, "reserved": wide },
            { "id": 2, "reserved": long },
        ]
    });
    env.write("wide.json", &order.to_string());
    let submitted = env.ok(&["submit", "wide.json"]);
    assert_fits_80("submit", &submitted);
    assert!(
        submitted.contains("東京🍣東京🍣東…   unconfirmed"),
        "{submitted}"
    );
    let ids = env.submit(&crate::util::example("order.json"));
    let process = crate::util::text(&ids[0]["processId"]);
    let reservations = env.json(&["list", "reservations"]);
    let wide_one = reservations
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["object"]["reserved"] == wide)
        .map(|r| crate::util::text(&r["_id"]))
        .unwrap();
    assert_fits_80("confirm", &env.ok(&["confirm", &wide_one]));
    let rejected = env.ok(&["reject", &wide_one, "--reason", &format!("{wide} {long}")]);
    assert_fits_80("reject", &rejected);
    assert_fits_80("list", &env.ok(&["list"]));
    assert_fits_80("list reservations", &env.ok(&["list", "reservations"]));
    assert_fits_80("show", &env.ok(&["show", &wide_one]));
    assert_fits_80("events", &env.ok(&["events"]));
    assert_fits_80("show other", &env.ok(&["show", &process]));

    // An event no pi7 publishes, written behind pi7's back.
    env.expect_damage();
    crate::reliability::append_unreadable_request(&env);
    env.run(&["dispatch"]);
    env.run(&["dispatch"]);
    env.run(&["dispatch"]);
    let failed = env.ok(&["pending", "--failed"]);
    assert!(failed.contains("cannot read"), "{failed}");
    assert_fits_80("pending --failed", &failed);
}

/// `verify` quotes whole documents in its findings, customer names and
/// all: folded, its lines keep to 80 columns in any script.
#[test]
fn verify_findings_keep_to_80_columns_whatever_the_script() {
    let env = TestEnv::new();
    env.expect_damage();
    let wide = "東京🍣".repeat(30);
    let order = serde_json::json!({
        "customer": wide,
        "reservations": [{ "id": 1, "reserved": format!("{wide} {wide}") }]
    });
    env.write("wide.json", &order.to_string());
    env.ok(&["submit", "wide.json"]);
    crate::reliability::execute(
        &env,
        "UPDATE salesorders SET document = replace(document, '\"pending\"', '\"confirmed\"')",
    );
    let run = env.run(&["verify"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let unfolded = run.stdout.replace("\n  ", " ");
    assert!(
        unfolded.contains("differs from its replay"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("東京🍣東京🍣"), "{}", run.stdout);
    assert_fits_80("verify", &run.stdout);
}

#[test]
fn a_path_without_a_database_is_said_and_never_created_by_reading() {
    let env = TestEnv::new();
    let note = format!(
        "pi7: there is no database at {} yet (writing commands create it)\n",
        env.db_text()
    );
    for args in [
        &["list"][..],
        &["events"],
        &["pending"],
        &["--json", "list"],
    ] {
        let run = env.run(args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert!(run.stderr.starts_with(&note), "{args:?}: {}", run.stderr);
    }
    let stderr = env.fails(&["verify"], 4);
    assert_eq!(
        stderr,
        format!(
            "pi7: error: cannot open the database {}: there is no database there, \
             so nothing to verify\n",
            env.db_text()
        )
    );
    assert!(!env.db().exists(), "a read created the database");

    // Following waits for a writing command to make the file.
    let (_child, stderr, stdout) = follow_events(&env);
    let waiting = next_line(&stderr, "the note that there is no database yet");
    assert!(
        waiting.contains("waiting for a writing command"),
        "{waiting}"
    );
    assert!(!env.db().exists(), "--follow created the database");
    let submitted = env.submit_example();
    let event = crate::util::parse_json(&next_line(&stdout, "the submitted order's event"));
    assert_eq!(event["processId"], submitted.process.as_str());
}

/// `pi7 --json events --follow`, killed when the first value is dropped,
/// and the lines of its stderr and stdout as they come.
fn follow_events(env: &TestEnv) -> (crate::events::Killed, Lines, Lines) {
    let mut child = env
        .std_cmd_at(crate::util::NOW)
        .args(["--json", "events", "--follow"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("pi7 events --follow starts");
    let stderr = lines_of(child.stderr.take().unwrap());
    let stdout = lines_of(child.stdout.take().unwrap());
    (crate::events::Killed(child), stderr, stdout)
}

type Lines = std::sync::mpsc::Receiver<String>;

/// The lines a child writes to `pipe`, as they come.
fn lines_of(pipe: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(pipe)) {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    received
}

/// The next line, or a failure rather than a hang when none comes. The
/// bound only stops a hang: a loaded machine once took more than 10 s to
/// start the child and print.
fn next_line(lines: &std::sync::mpsc::Receiver<String>, what: &str) -> String {
    lines
        .recv_timeout(std::time::Duration::from_secs(120))
        .unwrap_or_else(|_| panic!("no line within 120 s: {what}"))
}

#[test]
fn show_of_a_held_order_succeeds_as_a_table_and_as_json() {
    let env = TestEnv::new();
    let held = env.json_lines(&["--hold", "submit", &crate::util::example("order.json")]);
    let process = crate::util::text(&held[0]["processId"]);
    let table = env.ok(&["show", &process]);
    assert!(table.contains("sales order  (none yet"), "{table}");
    let json = env.json(&["show", &process]);
    assert_eq!(json["processId"], process.as_str());
    assert_eq!(json["salesorder"], serde_json::Value::Null);
    assert_eq!(json["events"][0]["topic"], "salesorder/request");
    let at = env.json(&["show", &process, "--at", "1"]);
    assert_eq!(at, json);
}

#[test]
fn check_refuses_a_scenario_the_order_cannot_play() {
    let env = TestEnv::new();
    let stderr = env.fails(&["check", "--reject", "5"], 2);
    assert_eq!(
        stderr,
        "pi7: error: --reject 5: the order of christophe has no line 5 (its lines: 1, 2)\n"
    );
    env.write(
        "changed.json",
        r#"{"customer": "christophe", "reservations": [{"id": 1, "reserved": "a boat"}]}"#,
    );
    let stderr = env.fails(&["check", "--amend", "changed.json"], 2);
    assert_one_line(&stderr);
    assert!(
        stderr.starts_with("pi7: error: --amend: the saga refuses this amendment"),
        "{stderr}"
    );
    // A line the amendment adds can be rejected.
    env.write(
        "added.json",
        r#"{"customer": "christophe", "reservations": [{"id": 1, "reserved": "some hotel"}, {"id": 9, "reserved": "a car"}]}"#,
    );
    env.ok(&["check", "--amend", "added.json", "--reject", "9"]);
    assert!(!env.db().exists());
}

#[test]
fn a_database_in_a_read_only_directory_is_explained_in_one_line() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let dir = env.dir().join("readonly");
    std::fs::create_dir(&dir).unwrap();
    let db = dir.join("pi7.db");
    let db_text = db.display().to_string();
    let order = crate::util::example("order.json");
    env.ok(&["--db", &db_text, "submit", &order]);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let bytes = std::fs::read(&db).unwrap();
    let stderr = env.fails(&["--db", &db_text, "submit", &order], 4);
    let listed = env.run(&["--db", &db_text, "list"]);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_one_line(&stderr);
    assert_eq!(
        stderr,
        format!(
            "pi7: error: cannot open the database {db_text}: its directory {} is read-only \
             (or cannot be written), so SQLite cannot create the -wal and -shm files it keeps \
             beside the database; make the directory writable or move the database to one \
             that is\n",
            dir.display()
        )
    );
    assert_eq!(std::fs::read(&db).unwrap(), bytes);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(listed.stdout.contains("christophe"), "{}", listed.stdout);
}

#[test]
fn a_byte_order_mark_is_accepted_in_orders_and_imports() {
    let env = TestEnv::new();
    let order = std::fs::read_to_string(crate::util::example("order.json")).unwrap();
    env.write("bom.json", &format!("\u{feff}{order}"));
    let submitted = env.json_lines(&["submit", "bom.json"]);
    assert_eq!(
        submitted[0]["salesorder"]["object"]["customer"],
        "christophe"
    );
    let run = env.exec(
        env.cmd()
            .args(["submit", "-"])
            .write_stdin(format!("\u{feff}{order}")),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    env.ok(&["check", "bom.json"]);

    let exported = env.ok(&["export"]);
    let other = TestEnv::new();
    other.write("log.jsonl", &format!("\u{feff}{exported}"));
    assert_eq!(
        other.ok(&["import", "log.jsonl"]),
        "imported 2 events (0 already present)\n"
    );
}

#[test]
fn import_exits_5_when_a_delivery_fails_after_it() {
    // A log without export's header: the import delivers what it brings.
    let log = request_line(
        1,
        "0a000000-0000-4000-8000-000000000001",
        "5f633c9b-1111-4111-8111-111111111111",
        "ann",
    ) + "\n";
    let env = TestEnv::new();
    env.submit_example();
    // An event no pi7 publishes, written behind pi7's back.
    env.expect_damage();
    crate::reliability::append_unreadable_request(&env);
    env.write("log.jsonl", &log);
    let run = env.run(&["import", "log.jsonl"]);
    assert_eq!(run.stdout, "imported 1 event (0 already present)\n");
    assert_deliveries_failed(&run, 2);
    // The import itself landed: importing again appends nothing.
    let again = env.run(&["import", "log.jsonl"]);
    assert_eq!(again.stdout, "imported 0 events (1 already present)\n");
}

#[test]
fn confirm_json_says_whether_it_changed_anything_and_the_orders_status() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let first = env.json_lines(&["confirm", &order.reservations[0]]);
    assert_eq!(first[0]["changed"], true);
    assert_eq!(
        first[0]["salesorder"],
        serde_json::json!({
            "_id": order.order, "status": "pending", "linesConfirmed": 1, "lines": 2
        })
    );
    let again = env.json_lines(&["confirm", &order.reservations[0]]);
    assert_eq!(again[0]["changed"], false);
    assert_eq!(again[0]["object"]["status"], "confirmed");
    assert_eq!(again[0]["salesorder"]["status"], "pending");
    let rejected = env.json_lines(&["reject", &order.reservations[1]]);
    assert_eq!(rejected[0]["changed"], true);
    assert_eq!(rejected[0]["salesorder"]["status"], "cancelled");
    let run = env.run(&["--json", "reject", &order.reservations[1]]);
    assert_eq!(run.code, 0, "nothing changed is still a success");
    assert_eq!(crate::util::parse_json(&run.stdout)["changed"], false);
}

/// Asserts that a run did its work but `failed` deliveries failed: exit 5
/// and a last line that says what to do.
pub fn assert_deliveries_failed(run: &crate::util::Run, failed: usize) {
    assert_eq!(run.code, 5, "{}", run.stderr);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        format!(
            "pi7: error: {failed} deliveries failed; `pi7 pending --failed` lists those parked, \
             `pi7 dispatch` retries the others"
        )
    );
}

#[test]
fn options_that_would_do_nothing_are_refused() {
    let env = TestEnv::new();
    env.submit_example();
    let before = env.snapshot();
    for args in [
        &["--hold", "list"][..],
        &["list", "--hold"],
        &["check", "--hold"],
        &["--hold", "export"],
        &["--hold", "dispatch"],
    ] {
        let stderr = env.fails(args, 2);
        assert_one_line(&stderr);
        assert!(
            stderr.starts_with("pi7: error: --hold does nothing for `pi7 "),
            "{args:?}: {stderr}"
        );
    }
    // PI7_HOLD in the environment applies where it can and is no error elsewhere.
    let run = env.exec(env.cmd().env("PI7_HOLD", "1").arg("list"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = env.exec(env.cmd().env("PI7_HOLD", "banana").arg("list"));
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("invalid value 'banana'"),
        "{}",
        run.stderr
    );
    let run = env.exec(
        env.cmd()
            .env("PI7_HOLD", "banana")
            .args(["submit", &crate::util::example("order.json")]),
    );
    assert_eq!(run.code, 2, "PI7_HOLD=banana was taken for a yes");
    assert_eq!(env.snapshot(), before);

    let stderr = env.fails(&["dispatch", "--seed", "7"], 2);
    assert_eq!(
        stderr,
        "pi7: error: --seed does nothing without --order random: FIFO and LIFO are not random\n"
    );
    env.fails(&["dispatch", "--order", "lifo", "--seed", "7"], 2);
    assert_eq!(env.snapshot(), before);
    let run = env.run(&["dispatch", "--order", "random", "--seed", "7"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn ctrl_c_during_a_bulk_submit_says_what_was_recorded_and_how_to_finish() {
    const ORDERS: usize = 1000;
    const HELD: usize = 1000;
    let orders = one_line_orders(ORDERS);
    // The submit is stopped at a chosen write (PI7_PAUSE_AT_WRITE), so that
    // Ctrl-C lands mid-run every time: first while it records the orders,
    // in the one transaction that also delivers them (1000 requests, their
    // 2000 deliveries, each handled with two writes, one order and one
    // reservation: 7000 writes), then while it delivers what an earlier
    // command held back, in the transactions after it (4000 writes more).
    for (write, recorded) in [(700, false), (9000, true)] {
        let env = TestEnv::new();
        env.write("many.jsonl", &orders);
        env.write("held.jsonl", &one_line_orders(HELD));
        env.submit_example();
        env.ok(&["--hold", "submit", "held.jsonl"]);
        let before = env.snapshot();
        let (child, mut stderr) = env.paused_at_write(write, &["submit", "many.jsonl"]);
        let killed = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(130), "write {write}: {rest}");
        let mut lines: Vec<&str> = rest.lines().collect();
        let last = lines.pop().unwrap();
        if !recorded {
            assert_eq!(
                last,
                "pi7: interrupted before the orders were recorded: nothing was written"
            );
            assert_eq!(lines, Vec::<&str>::new());
            assert_eq!(
                env.snapshot(),
                before,
                "the interrupted transaction is gone"
            );
            continue;
        }
        let pending = env.json(&["pending"]).as_array().unwrap().len();
        assert!(pending > 0, "interrupted while delivering");
        assert_eq!(
            last,
            format!(
                "pi7: interrupted: {ORDERS} orders recorded (processIds above); {pending} deliveries \
                 pending; `pi7 dispatch` delivers them"
            )
        );
        assert_eq!(lines.len(), ORDERS);
        let process = lines[0].strip_prefix("process      ").unwrap();
        env.ok(&["show", process]);
        env.ok(&["dispatch"]);
        assert_eq!(
            env.json(&["list"]).as_array().unwrap().len(),
            ORDERS + HELD + 1
        );
        env.ok(&["verify"]);
    }
}

/// Long work shows a progress bar only when stderr is a terminal: through
/// a pipe, as in a script (and here), a run over the bars' threshold of
/// 10,000 says on stderr what it says without one, which is nothing.
#[test]
fn long_work_draws_no_progress_bar_through_a_pipe() {
    const ORDERS: usize = 10_001;
    let orders = one_line_orders(ORDERS);
    let env = TestEnv::new();
    env.write("many.jsonl", &orders);
    let run = env.run(&["--hold", "submit", "many.jsonl"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            0,
            "pi7: held: 20002 deliveries pending; `pi7 dispatch` delivers them\n"
        )
    );

    let run = env.run(&["dispatch"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert_eq!(run.stdout.lines().count(), 2 * ORDERS);

    let reservations = env.json(&["list", "reservations"]);
    let ids: Vec<&str> = reservations
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), ORDERS);
    let run = env.exec(env.cmd().args(["confirm", "-"]).write_stdin(ids.join("\n")));
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));

    let run = env.run(&["verify"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert!(run.stdout.starts_with("30003 events"), "{}", run.stdout);
}

#[test]
fn small_things_read_right() {
    let env = TestEnv::new();
    env.write(
        "one.json",
        r#"{"customer": "ann", "reservations": [{"id": 1, "reserved": "a room"}]}"#,
    );
    let one = crate::util::Submitted::from(env.json_lines(&["submit", "one.json"]).remove(0));
    // An empty reason would leave "rejected: ".
    for reason in ["", "  "] {
        let stderr = env.fails(&["reject", &one.reservations[0], "--reason", reason], 2);
        assert_one_line(&stderr);
        assert!(stderr.contains("give a reason"), "{stderr}");
        env.fails(&["cancel", &one.process, "--reason", reason], 2);
    }
    let confirmed = env.ok(&["confirm", &one.reservations[0]]);
    assert!(
        confirmed.ends_with("ann  confirmed (1 of 1 line confirmed)\n"),
        "{confirmed}"
    );
    let verified = env.ok(&["verify"]);
    assert!(
        verified.starts_with(
            "3 events, 3 deliveries (0 pending, 0 failed), 1 sales order, 1 reservation\n"
        ),
        "{verified}"
    );
    let json = env.json(&["verify"]);
    let rebuilt = env.json(&["rebuild"]);
    assert_eq!(json["salesorders"], rebuilt["salesorders"]);
    assert_eq!(json["salesorders"], 1);
    // Times say they are UTC.
    assert!(env
        .ok(&["events"])
        .starts_with("SEQ   ID        TOPIC                PROCESS   CAUSE     TIME (UTC)\n"));
    assert!(env
        .ok(&["list", "reservations"])
        .lines()
        .next()
        .unwrap()
        .ends_with("SINCE (UTC)"));
    // Help lists every status `list --status` takes, and not --now.
    let help = env.ok(&["list", "--help"]);
    for status in [
        "pending",
        "confirmed",
        "cancelled",
        "unconfirmed",
        "rejected",
        "released",
    ] {
        assert!(help.contains(status), "{status}: {help}");
    }
    let bash = std::fs::read_to_string(crate::util::repo_file("completions/pi7.bash")).unwrap();
    assert!(!bash.contains("--now"));
    assert!(bash.contains("pending confirmed cancelled unconfirmed rejected released"));
    let run = env.exec(env.cmd().env("PI7_NOW", "yesterday").arg("list"));
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "pi7: error: PI7_NOW must be unix seconds, like 1543269956, not 'yesterday'\n"
    );
    let walkthrough =
        std::fs::read_to_string(crate::util::repo_file("examples/walkthrough.sh")).unwrap();
    assert!(!walkthrough.contains("SPEC.md"));
}

#[test]
fn an_identical_amendment_changes_nothing_and_a_new_customer_is_said() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let before = env.snapshot();
    let run = env.run(&[
        "submit",
        "--process",
        &order.process,
        &crate::util::example("order.json"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        format!(
            "pi7: the amendment is the order of process {} as it stands; nothing changed\n",
            order.process
        )
    );
    assert_eq!(env.snapshot(), before);
    assert!(!env.ok(&["show", &order.process]).contains("revision"));
    assert_eq!(
        env.json(&["show", &order.process])["object"].get("revision"),
        None
    );

    env.write(
        "renamed.json",
        r#"{"customer": "koen", "reservations": [{"id": 1, "reserved": "some hotel"}, {"id": 2, "reserved": "a plane"}]}"#,
    );
    let run = env.run(&["submit", "--process", &order.process, "renamed.json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "pi7: the amendment changes the customer from 'christophe' to 'koen'\n"
    );
    assert_eq!(env.json(&["show", &order.process])["object"]["revision"], 2);
}

#[test]
fn the_readme_shows_where_every_id_it_types_comes_from() {
    let readme = std::fs::read_to_string(crate::util::repo_file("README.md")).unwrap();
    let blocks: Vec<&str> = readme
        .split("```console\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 4);
    for block in &blocks {
        let mut seen = String::new();
        for line in block.lines() {
            if let Some(command) = line.strip_prefix("$ ") {
                for word in command.split_whitespace() {
                    let is_id = word.len() >= 8 && word.chars().all(|c| c.is_ascii_hexdigit());
                    assert!(
                        !is_id || seen.contains(word),
                        "README types {word} before showing where it comes from:\n{block}"
                    );
                }
            }
            seen.push_str(line);
            seen.push('\n');
        }
    }
    // The walkthrough runs on a database of its own, so that its listings
    // show its one order, whatever the first command submitted.
    let walkthrough = readme.split("## Walkthrough").nth(1).unwrap();
    let first_block = walkthrough.split("```console\n").nth(1).unwrap();
    assert!(
        first_block.starts_with("$ export PI7_DB=$(mktemp -d)/pi7.db"),
        "{first_block}"
    );
    assert!(readme.contains("takes a few minutes"));
}

#[test]
fn info_says_which_database_is_in_use_and_what_it_holds() {
    let env = TestEnv::new();
    let run = env.run(&["info"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        format!(
            "database      {} (given by PI7_DB)\n              not there yet: the first \
             writing command creates it\n",
            env.db_text()
        )
    );
    assert!(!env.db().exists());

    let order = env.submit_example();
    env.ok(&["confirm", &order.reservations[0]]);
    let info = env.ok(&["info"]);
    let lines: Vec<&str> = info.lines().collect();
    assert_eq!(
        lines[0],
        format!("database      {} (given by PI7_DB)", env.db_text())
    );
    assert_eq!(
        lines[1],
        format!("schema        version {}", pi7::store::SCHEMA_VERSION)
    );
    assert!(lines[2].starts_with("size          "), "{info}");
    assert_eq!(
        lines[3..],
        [
            "events        2 events",
            "deliveries    3 (3 done)",
            "sales orders  1 (1 pending)",
            "reservations  2 (1 confirmed, 1 unconfirmed)",
        ]
    );
    let json = env.json(&["info"]);
    assert_eq!(json["chosenBy"], "PI7_DB");
    assert_eq!(json["schemaVersion"], pi7::store::SCHEMA_VERSION);
    assert_eq!(json["events"], 2);
    assert_eq!(json["salesorders"]["pending"], 1);
    assert_eq!(json["salesorders"]["cancelled"], 0);
    assert!(json["bytes"].as_u64().unwrap() > 0);

    let other = env.dir().join("other.db").display().to_string();
    let json = env.json(&["info", "--db", &other]);
    assert_eq!(json["chosenBy"], "--db");
    assert_eq!(json["exists"], false);
    let run = env.exec(env.cmd().env_remove("PI7_DB").args(["--json", "info"]));
    let json = crate::util::parse_json(&run.stdout);
    assert_eq!(json["chosenBy"], "default");
    assert!(
        crate::util::text(&json["path"]).ends_with("pi7.db"),
        "{json}"
    );
}

#[test]
fn list_takes_a_limit_a_sort_and_the_other_way_round() {
    let env = TestEnv::new();
    for customer in ["carol", "alice", "bob"] {
        env.submit_stdin(&format!(
            "{{\"customer\": \"{customer}\", \"reservations\": [{{\"id\": 1, \"reserved\": \"room of {customer}\"}}]}}"
        ));
    }
    let customers = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["list"];
        all.extend_from_slice(args);
        env.json(&all)
            .as_array()
            .unwrap()
            .iter()
            .map(|o| crate::util::text(&o["object"]["customer"]))
            .collect()
    };
    assert_eq!(customers(&[]), ["carol", "alice", "bob"]);
    assert_eq!(customers(&["--limit", "2"]), ["carol", "alice"]);
    assert_eq!(
        customers(&["--sort", "customer"]),
        ["alice", "bob", "carol"]
    );
    assert_eq!(
        customers(&["--sort", "customer", "--reverse", "--limit", "1"]),
        ["carol"]
    );
    assert_eq!(customers(&["--reverse"]), ["bob", "alice", "carol"]);
    let table = env.ok(&["list", "--sort", "customer", "--limit", "2"]);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(table.lines().nth(1).unwrap().contains("alice"), "{table}");
    let reserved = env.ok(&["list", "reservations", "--sort", "reserved", "--reverse"]);
    assert!(
        reserved.lines().nth(1).unwrap().contains("room of carol"),
        "{reserved}"
    );
    let stderr = env.fails(&["list", "--sort", "since"], 2);
    assert_one_line(&stderr);
    assert!(
        stderr.contains("--sort since does not apply to orders"),
        "{stderr}"
    );
    env.fails(&["list", "--limit", "0"], 2);
}

#[test]
fn list_tables_follow_a_terminal_narrower_than_80_columns() {
    let env = TestEnv::new();
    env.submit_stdin(
        r#"{"customer": "a customer with a rather long name indeed", "reservations": [{"id": 1, "reserved": "a room with a view of the sea"}]}"#,
    );
    let at = |columns: &str, what: &str| -> String {
        let run = env.exec(env.cmd().env("COLUMNS", columns).args(["list", what]));
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    // Ids, statuses, times and headers do not shrink: reservations need 71.
    for (what, columns) in [("orders", 60), ("reservations", 72)] {
        let wide = at("200", what);
        assert_eq!(wide, env.ok(&["list", what]), "never wider than 80");
        let narrow = at(&columns.to_string(), what);
        for line in narrow.lines() {
            assert!(crate::util::width(line) <= columns, "{what}: {line}");
        }
        assert!(narrow.contains('…'), "{narrow}");
        assert_ne!(narrow, wide);
    }
}

/// A writing command makes the file before it writes the schema into it: a
/// follower that finds the file empty (here made so, to be sure of it)
/// waits for the database instead of following nothing for good.
#[test]
fn following_an_empty_file_waits_for_the_database_in_it() {
    let env = TestEnv::new();
    std::fs::write(env.db(), b"").unwrap();
    let (_child, stderr, stdout) = follow_events(&env);
    let waiting = next_line(&stderr, "the note that the file is no database yet");
    assert!(
        waiting.contains("is empty, not a pi7 database yet; waiting for a writing command"),
        "{waiting}"
    );
    let submitted = env.submit_example();
    let event = crate::util::parse_json(&next_line(&stdout, "the submitted order's event"));
    assert_eq!(event["processId"], submitted.process.as_str());
}
