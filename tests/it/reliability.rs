//! Reliability: many processes on one database, processes killed at random
//! moments, deliveries that fail, and `pi7 verify` catching damage.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use crate::util::{example, json_lines, text, TestEnv};

fn verify_ok(env: &TestEnv) -> String {
    let run = env.run(&["verify"]);
    assert_eq!(run.code, 0, "verify failed:\n{}{}", run.stdout, run.stderr);
    run.stdout
}

pub fn execute(env: &TestEnv, sql: &str) {
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    conn.execute_batch(sql).unwrap();
}

fn walkthrough(env: &TestEnv) {
    env.ok(&["submit", &example("orders.jsonl")]);
    let submitted = env.submit_example();
    for id in &submitted.reservations {
        env.ok(&["confirm", id]);
    }
}

#[test]
fn verify_passes_on_a_healthy_database() {
    let env = TestEnv::new();
    walkthrough(&env);
    env.ok(&["--hold", "submit", &example("order-3.json")]);
    assert_eq!(
        verify_ok(&env),
        "9 events, 14 deliveries (2 pending, 0 failed), 5 sales orders, 10 reservations\n\
         ok: integrity, log, deliveries, saga invariants and replay all check out\n"
    );
}

#[test]
fn verify_catches_a_document_that_differs_from_the_log() {
    let env = TestEnv::new();
    env.expect_damage();
    walkthrough(&env);
    execute(
        &env,
        "UPDATE reservations
         SET status = 'confirmed', document = replace(document, 'unconfirmed', 'confirmed')
         WHERE rowid = (SELECT min(rowid) FROM reservations WHERE status = 'unconfirmed')",
    );
    let mut run = env.run(&["verify"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.lines().all(|l| l.chars().count() <= 80));
    run.stdout = run.stdout.replace("\n  ", " ");
    assert!(
        run.stdout.contains("but its reservation is confirmed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("differs from its replay"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.starts_with("pi7: error: 2 violations found in"),
        "{}",
        run.stderr
    );
}

#[test]
fn verify_catches_a_lost_event_and_a_second_order_confirmation() {
    let env = TestEnv::new();
    env.expect_damage();
    walkthrough(&env);
    execute(
        &env,
        "INSERT INTO events (id, topic, process_id, causation_id, source, time, payload)
         SELECT '00000000' || substr(id, 9), topic, process_id, causation_id, source, time, payload
         FROM events WHERE topic = 'salesorder/confirm';
         DELETE FROM deliveries WHERE seq = 2;
         DELETE FROM events WHERE seq = 2;",
    );
    let mut run = env.run(&["verify"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.lines().all(|l| l.chars().count() <= 80));
    run.stdout = run.stdout.replace("\n  ", " ");
    assert!(
        run.stdout.contains("highest seq is 9: events are missing"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("salesorder/confirm was published 2 times"),
        "{}",
        run.stdout
    );
}

/// Appends an event whose payload no component can read, as an import from
/// a future pi7 might, with its deliveries.
pub fn append_unreadable_request(env: &TestEnv) -> u64 {
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    conn.execute_batch(
        "INSERT INTO events (id, topic, process_id, causation_id, source, time, payload)
         VALUES ('00000000-0000-4000-8000-00000000abcd', 'salesorder/request',
                 '00000000-0000-4000-8000-0000000000aa', NULL, 'web', 1543269956,
                 '{\"processId\": 42}');
         INSERT INTO deliveries (seq, component)
         SELECT seq, c.component FROM events, (SELECT 'salesorder' AS component
                                               UNION ALL SELECT 'reservation') c
         WHERE id = '00000000-0000-4000-8000-00000000abcd';",
    )
    .unwrap();
    conn.query_row("SELECT max(seq) FROM events", [], |r| r.get::<_, i64>(0))
        .unwrap() as u64
}

#[test]
fn a_failing_delivery_blocks_nothing_and_is_parked_after_three_attempts() {
    let env = TestEnv::new();
    // An event no pi7 publishes, written behind pi7's back.
    env.expect_damage();
    env.ok(&["submit", &example("order.json")]);
    let bad = append_unreadable_request(&env);
    env.ok(&["--hold", "submit", &example("order-3.json")]);

    let first = env.run(&["dispatch"]);
    crate::command_line::assert_deliveries_failed(&first, 2);
    assert!(
        first.stdout.contains("to reservation  applied"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains(&format!(
            "delivered {bad:<4} salesorder/request  to salesorder   failed\n"
        )),
        "{}",
        first.stdout
    );
    assert!(
        first.stderr.contains("failed (will retry)"),
        "{}",
        first.stderr
    );
    assert_eq!(
        env.json(&["list"]).as_array().unwrap().len(),
        2,
        "the good order went through"
    );

    assert_eq!(env.run(&["dispatch"]).code, 5);
    let third = env.run(&["dispatch"]);
    assert_eq!(third.code, 5, "{}", third.stderr);
    assert!(third.stdout.contains("failed (parked)"), "{}", third.stdout);
    assert!(
        third.stderr.contains("`pi7 pending --failed` lists it"),
        "{}",
        third.stderr
    );
    assert_eq!(env.json(&["pending"]), serde_json::json!([]));
    let parked = env.json(&["pending", "--failed"]);
    let parked = parked.as_array().unwrap();
    assert_eq!(parked.len(), 2);
    assert_eq!(parked[0]["attempts"], 3);
    assert!(text(&parked[0]["error"]).contains("cannot read the salesorder/request payload"));
    let quiet = env.run(&["dispatch"]);
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert_eq!(
        quiet.stdout, "",
        "a parked delivery is not retried by itself"
    );

    let retried = env.run(&["redeliver", &bad.to_string(), "--to", "salesorder"]);
    assert_eq!(retried.code, 5, "{}", retried.stderr);
    assert!(
        retried.stdout.contains("failed (parked)"),
        "{}",
        retried.stdout
    );
    assert_eq!(
        env.json(&["pending", "--failed"]).as_array().unwrap().len(),
        2,
        "nothing dropped"
    );
    // Parked work is not "ok": a script must see it in the exit status.
    let mut audit = env.run(&["verify"]);
    assert_eq!(audit.code, 1, "{}", audit.stdout);
    // Violations are folded at 80 columns.
    audit.stdout = audit.stdout.replace("\n  ", " ");
    assert!(
        audit.stdout.contains("(0 pending, 2 failed)"),
        "{}",
        audit.stdout
    );
    assert!(
        audit.stdout.contains(&format!(
            "violation: delivery of event {bad} (salesorder/request) to salesorder is parked after 4 attempts: "
        )) && audit
            .stdout
            .contains(&format!("`pi7 redeliver {bad} --to salesorder` retries it")),
        "{}",
        audit.stdout
    );
    assert!(
        audit
            .stdout
            .contains("is not a command pi7 takes here: its payload is not readable"),
        "{}",
        audit.stdout
    );
}

#[test]
fn eight_parallel_writers_lose_nothing_and_never_see_a_locked_database() {
    const WRITERS: usize = 8;
    const OPERATIONS: usize = 100;
    let env = Arc::new(TestEnv::new());
    env.ok(&["list"]); // create the database before the rush
    let pool: Arc<Mutex<Vec<String>>> = Arc::default();
    let processes: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let threads: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (env, pool, processes) = (env.clone(), pool.clone(), processes.clone());
            std::thread::spawn(move || {
                for op in 0..OPERATIONS {
                    let others: Vec<String> = {
                        let pool = pool.lock().unwrap();
                        pool.iter().rev().take(3).cloned().collect()
                    };
                    let args: Vec<String> = if op % 2 == 0 || others.is_empty() {
                        vec!["--json".into(), "submit".into(), "-".into()]
                    } else {
                        let mut args = vec!["--json".into(), "confirm".into()];
                        args.extend(others);
                        args
                    };
                    let order = format!(
                        "{{\"customer\": \"writer {writer}\", \"reservations\": [\
                         {{\"id\": 1, \"reserved\": \"op {op} a\"}}, {{\"id\": 2, \"reserved\": \"op {op} b\"}}]}}"
                    );
                    // Only submit reads stdin; a confirm may exit before a
                    // write to its stdin would land.
                    let submit = args[1] == "submit";
                    let output = env
                        .std_cmd_at(1_700_000_000 + op as i64)
                        .args(&args)
                        .stdin(if submit { Stdio::piped() } else { Stdio::null() })
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped())
                        .spawn()
                        .and_then(|mut child| {
                            if let Some(mut stdin) = child.stdin.take() {
                                stdin.write_all(order.as_bytes())?;
                            }
                            child.wait_with_output()
                        })
                        .unwrap();
                    let stderr = String::from_utf8_lossy(&output.stderr);
                    assert!(output.status.success(), "writer {writer} op {op} {args:?}: {stderr}");
                    assert!(!stderr.contains("locked"), "{stderr}");
                    if args[1] == "submit" {
                        let line = &json_lines(&String::from_utf8_lossy(&output.stdout))[0];
                        processes.lock().unwrap().insert(text(&line["processId"]));
                        let mut pool = pool.lock().unwrap();
                        for r in line["reservations"].as_array().unwrap() {
                            pool.push(text(&r["_id"]));
                        }
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let submitted = processes.lock().unwrap().clone();
    let events = env.json_lines(&["events"]);
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=events.len() as u64).collect::<Vec<_>>(),
        "no gaps in seq"
    );
    let requested: BTreeSet<String> = events
        .iter()
        .filter(|e| e["topic"] == "salesorder/request")
        .map(|e| text(&e["processId"]))
        .collect();
    assert_eq!(requested, submitted, "every submitted order is in the log");
    assert_eq!(env.json(&["pending"]), serde_json::json!([]));
    verify_ok(&env);
}

/// A small reproducible sequence of numbers in `1..=max`, so that every
/// run stops at the same (varied) points.
fn points(count: usize, max: usize) -> Vec<usize> {
    let mut state: u64 = 0x5eed;
    (0..count)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            1 + (state >> 33) as usize % max
        })
        .collect()
}

/// A small reproducible sequence of waits under `max_ms`, so every run
/// kills at the same (varied) moments.
pub fn waits(count: usize, max_ms: u64) -> Vec<std::time::Duration> {
    points(count, max_ms as usize)
        .into_iter()
        .map(|ms| std::time::Duration::from_millis(ms as u64 - 1))
        .collect()
}

#[test]
fn killing_pi7_at_any_moment_loses_nothing_and_the_next_command_finishes_the_work() {
    const ORDERS: usize = 500;
    let batch: String = (0..ORDERS)
        .map(|i| {
            format!(
                "{{\"customer\": \"c{i}\", \"reservations\": [{{\"id\": 1, \"reserved\": \"a\"}}, {{\"id\": 2, \"reserved\": \"b\"}}]}}\n"
            )
        })
        .collect();
    // Each run is stopped at a chosen write (PI7_PAUSE_AT_WRITE), inside
    // its transaction, and killed there: every kill lands mid-run. A
    // submit of these 500 orders makes 4000 writes (1500 to record them,
    // the rest to deliver), a dispatch of them 2500; the points stay below.
    let submits = points(10, 3900);
    let dispatches = points(20, 2400).split_off(10);
    let mut env = TestEnv::new();
    for (round, (submit_at, dispatch_at)) in submits.into_iter().zip(dispatches).enumerate() {
        // A fresh database every few rounds keeps each verify cheap.
        if round % 5 == 0 {
            env = TestEnv::new();
        }
        let batch_file = env.write("batch.jsonl", &batch);
        let batch_file = batch_file.to_str().unwrap();
        for (args, write) in [
            (vec!["submit", batch_file], submit_at),
            (vec!["dispatch"], dispatch_at),
        ] {
            if args[0] == "dispatch" {
                env.ok(&["--hold", "submit", batch_file]);
            }
            let requests_before = env
                .json_lines(&["events", "--topic", "salesorder/request"])
                .len();
            let (mut child, _) = env.paused_at_write(write, &args);
            child.kill().unwrap(); // SIGKILL
            let status = child.wait().unwrap();
            assert_eq!(status.code(), None, "{args:?} was killed, not ended");
            verify_ok(&env);
            let requests = env
                .json_lines(&["events", "--topic", "salesorder/request"])
                .len();
            let landed = requests - requests_before;
            assert!(
                landed == 0 || landed == ORDERS && args[0] == "submit",
                "{args:?} killed at write {write}: {landed} orders landed; a submit lands whole or not at all"
            );
            env.ok(&["dispatch"]);
            assert_eq!(env.json(&["pending"]), serde_json::json!([]));
            let out = verify_ok(&env);
            assert!(out.contains("(0 pending, 0 failed)"), "{out}");
            let orders = env.json(&["list"]).as_array().unwrap().len();
            assert_eq!(orders % ORDERS, 0, "every order landed is delivered whole");
        }
    }
}

/// One command to break, on a database its `setup` prepares.
pub struct Breakable {
    /// Prepares a fresh database and returns the command's arguments.
    pub setup: fn(&TestEnv) -> Vec<String>,
    /// Whether giving the command again once its work is finished changes
    /// nothing (a confirmation, a cancellation, an amendment). Not so for
    /// a submit: a second one is a second order, so there the processIds
    /// it printed are what prevents a duplicate.
    pub again_changes_nothing: bool,
}

/// How a failed command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ending {
    NothingRecorded,
    RecordedAndSaidSo,
}

/// The database's events and documents with every id replaced by where it
/// first appears (ids in the log first, in `seq` order; documents sorted
/// without their ids), so that two databases that made the same things
/// under different random ids compare equal.
pub fn canonical(env: &TestEnv) -> String {
    let mut labels: std::collections::HashMap<String, usize> = Default::default();
    let mut label = |text: &str, assign: bool| -> String {
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            let candidate = text.get(i..i + 36).filter(|c| {
                c.bytes().enumerate().all(|(k, b)| match k {
                    8 | 13 | 18 | 23 => b == b'-',
                    _ => b.is_ascii_hexdigit(),
                })
            });
            match candidate {
                Some(id) => {
                    let next = labels.len();
                    let n = match labels.get(id) {
                        Some(n) => n.to_string(),
                        // Ids only documents hold are derived from ids
                        // of the log (a reservation's from its process).
                        None if !assign => "?".to_string(),
                        None => {
                            labels.insert(id.to_string(), next);
                            next.to_string()
                        }
                    };
                    out += &format!("<id {n}>");
                    i += 36;
                }
                None => {
                    let c = text[i..].chars().next().unwrap();
                    out.push(c);
                    i += c.len_utf8();
                }
            }
        }
        out
    };
    let mut text = label(&env.ok(&["events", "--json"]), true);
    for kind in ["orders", "reservations"] {
        let docs = env.json(&["list", kind]);
        let mut docs: Vec<String> = docs
            .as_array()
            .unwrap()
            .iter()
            .map(|d| label(&d.to_string(), false))
            .collect();
        docs.sort();
        text += &format!("--- {kind}\n{}\n", docs.join("\n"));
    }
    text
}

/// Every id in `text`.
fn ids_in(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .filter(|w| uuid::Uuid::try_parse(w).is_ok())
        .map(str::to_string)
        .collect()
}

/// What a command recorded: the id each of its command events (no cause)
/// after `seq` is about (a reservation, or else a process).
fn recorded_after(env: &TestEnv, seq: u64) -> BTreeSet<String> {
    env.json_lines(&["events", "--since", &seq.to_string()])
        .iter()
        .filter(|e| e["causationId"].is_null())
        .map(|e| match e["payload"]["reservation"]["_id"].as_str() {
            Some(reservation) => reservation.to_string(),
            None => text(&e["processId"]),
        })
        .collect()
}

fn last_seq(env: &TestEnv) -> u64 {
    env.json_lines(&["events"])
        .last()
        .map_or(0, |e| e["seq"].as_u64().unwrap())
}

/// After `run` of `args` failed: either the database is as `before` and
/// nothing was printed, and giving the command again reaches `expected`;
/// or the command printed exactly what it recorded (every id on stdout and
/// in its last line, and nothing else) and the command that finishes it,
/// and that command reaches `expected` (the end state of a run that did
/// not fail, up to ids) with no duplicate.
pub fn assert_no_ghost(
    env: &TestEnv,
    command: &Breakable,
    args: &[String],
    (before, before_seq): (&str, u64),
    run: &crate::util::Run,
    expected: &str,
) -> Ending {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("pi7: error: "), "{}", run.stderr);
    let recorded = recorded_after(env, before_seq);
    let ending = if recorded.is_empty() {
        assert_eq!(env.snapshot(), before, "{args:?} left a ghost: {last}");
        assert_eq!(run.stdout, "", "{args:?}: nothing was recorded");
        assert!(!last.contains("recorded"), "{args:?}: {last}");
        env.ok(&args);
        Ending::NothingRecorded
    } else {
        let named: BTreeSet<String> = ids_in(&run.stdout).union(&ids_in(last)).cloned().collect();
        assert_eq!(
            named, recorded,
            "{args:?} names exactly what it recorded: {}{last}",
            run.stdout
        );
        assert!(
            last.contains("recorded before it failed"),
            "{args:?}: {last}"
        );
        let finish = last
            .split('`')
            .nth(1)
            .and_then(|c| c.strip_prefix("pi7 "))
            .unwrap_or_else(|| panic!("{args:?} names no command that finishes it: {last}"));
        env.ok(&finish.split_whitespace().collect::<Vec<_>>());
        if command.again_changes_nothing {
            env.ok(&args);
        }
        Ending::RecordedAndSaidSo
    };
    assert_eq!(canonical(env), expected, "{args:?} after {last}");
    verify_ok(env);
    ending
}

/// Runs `command` failing each of its writes in turn (PI7_FAIL_AT_WRITE),
/// until a run has no write left to fail, and holds every failure to
/// [`assert_no_ghost`]. Both endings must happen: a failure before the
/// commit and one after it.
fn fail_each_write(command: Breakable) {
    let expected = {
        let env = TestEnv::new();
        let args = (command.setup)(&env);
        env.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        canonical(&env)
    };
    let mut endings = BTreeSet::new();
    for n in 1.. {
        let env = TestEnv::new();
        let args = (command.setup)(&env);
        assert!(n < 200, "{args:?} never ran out of writes to fail");
        let before = (env.snapshot(), last_seq(&env));
        let run = env.exec(
            env.cmd()
                .env("PI7_FAIL_AT_WRITE", n.to_string())
                .args(&args),
        );
        if run.code == 0 {
            assert_eq!(canonical(&env), expected);
            break;
        }
        assert_eq!(run.code, 4, "write {n}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("write {n} failed")),
            "write {n}: {}",
            run.stderr
        );
        let before = (before.0.as_str(), before.1);
        endings.insert(assert_no_ghost(
            &env, &command, &args, before, &run, &expected,
        ));
    }
    assert_eq!(
        endings.into_iter().collect::<Vec<_>>(),
        [Ending::NothingRecorded, Ending::RecordedAndSaidSo]
    );
}

/// A database with `examples/order.json` submitted and delivered, and
/// `order-3.json` held, so that every command has other work to deliver.
fn with_held_work(env: &TestEnv) -> crate::util::Submitted {
    let order = env.submit_example();
    env.ok(&["--hold", "submit", &example("order-3.json")]);
    order
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

pub const SUBMIT: Breakable = Breakable {
    setup: |env| {
        env.ok(&["--hold", "submit", &example("order-3.json")]);
        strings(&["submit", &example("order.json")])
    },
    again_changes_nothing: false,
};

pub const CONFIRM: Breakable = Breakable {
    setup: |env| strings(&["confirm", &with_held_work(env).reservations[0]]),
    again_changes_nothing: true,
};

#[test]
fn a_submit_that_fails_at_any_write_leaves_nothing_or_says_what_it_recorded() {
    fail_each_write(SUBMIT);
}

#[test]
fn a_confirm_that_fails_at_any_write_leaves_nothing_or_says_it_is_kept() {
    fail_each_write(CONFIRM);
}

#[test]
fn a_reject_that_fails_at_any_write_leaves_nothing_or_says_it_is_kept() {
    fail_each_write(Breakable {
        setup: |env| {
            let order = with_held_work(env);
            strings(&["reject", &order.reservations[1], "--reason", "sold out"])
        },
        again_changes_nothing: true,
    });
}

#[test]
fn a_cancel_that_fails_at_any_write_leaves_nothing_or_says_it_is_kept() {
    fail_each_write(Breakable {
        setup: |env| strings(&["cancel", &with_held_work(env).process]),
        again_changes_nothing: true,
    });
}

#[test]
fn an_expire_that_fails_at_any_write_leaves_nothing_or_names_what_it_rejected() {
    fail_each_write(Breakable {
        setup: |env| {
            // Three reservations two hours old, then the held work.
            env.ok_at(
                crate::util::NOW - 7200,
                &["submit", &example("order-3.json")],
            );
            with_held_work(env);
            strings(&["expire", "--older-than", "1h"])
        },
        again_changes_nothing: true,
    });
}

#[test]
fn an_amendment_that_fails_at_any_write_leaves_nothing_or_says_it_is_kept() {
    fail_each_write(Breakable {
        setup: |env| {
            let order = with_held_work(env);
            env.ok(&["confirm", &order.reservations[0]]);
            // The confirmation delivered the held work: hold some again, for
            // the amendment to deliver after its own commit.
            env.ok(&["--hold", "submit", &example("order-3.json")]);
            // Line 1 stays, line 2 goes (its reservation is released), line 3 is new.
            let amended = env.write(
                "amended.json",
                r#"{"customer": "christophe", "reservations": [
                    {"id": 1, "reserved": "some hotel"}, {"id": 3, "reserved": "a car"}]}"#,
            );
            strings(&[
                "submit",
                "--process",
                &order.process,
                amended.to_str().unwrap(),
            ])
        },
        again_changes_nothing: true,
    });
}

/// A small tmpfs mounted over a directory, to fill up: a real full disk.
/// Unmounted when dropped, whatever the test did.
struct SmallDisk {
    path: std::path::PathBuf,
}

impl SmallDisk {
    /// Mounts `bytes` of tmpfs over `path`, or says why it cannot (not
    /// root, no mount in this container...).
    fn mount(path: &std::path::Path, bytes: u64) -> Result<SmallDisk, String> {
        let output = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "pi7-test"])
            .arg(path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "`mount -t tmpfs` failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(SmallDisk {
            path: path.to_path_buf(),
        })
    }

    fn filler(&self) -> std::path::PathBuf {
        self.path.join("filler")
    }

    /// Fills the disk up to its last `slack` bytes.
    fn fill(&self, slack: u64) {
        let mut file = std::fs::File::create(self.filler()).unwrap();
        for chunk in [1 << 16, 512] {
            let zeros = vec![0u8; chunk];
            while file.write_all(&zeros).is_ok() {}
        }
        let full = file.metadata().unwrap().len();
        file.set_len(full.saturating_sub(slack)).unwrap();
    }

    fn empty(&self) {
        std::fs::remove_file(self.filler()).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let unmounted = std::process::Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Busy (a pi7 still running after a failed assertion): detach
            // it, so that no mount outlives the test.
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.path)
                .status();
        }
    }
}

/// Runs `command` on a real full disk: a small tmpfs filled up to its last
/// 0, 1, 2... pages, until the command has room to succeed. Every failure
/// is held to [`assert_no_ghost`]. Where the machine does not let the test
/// mount a filesystem it says SKIPPED and why: the fault-injection tests
/// above fail every write of the same commands instead.
fn on_a_full_disk(command: Breakable) {
    let env = TestEnv::new();
    let disk = match SmallDisk::mount(env.dir(), 4 << 20) {
        Ok(disk) => disk,
        Err(why) => {
            eprintln!(
                "SKIPPED the full-disk test: {why}; the PI7_FAIL_AT_WRITE tests fail every write instead"
            );
            return;
        }
    };
    let args = (command.setup)(&env);
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let files = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("pi7.db")
            })
            .collect()
    };
    let template: Vec<(std::path::PathBuf, Vec<u8>)> = files(env.dir())
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    let restore = || {
        for file in files(env.dir()) {
            std::fs::remove_file(file).unwrap();
        }
        for (path, bytes) in &template {
            std::fs::write(path, bytes).unwrap();
        }
    };
    let before = (env.snapshot(), last_seq(&env));
    env.ok(&arg_refs);
    let expected = canonical(&env);

    let mut endings = Vec::new();
    for page in 0.. {
        assert!(page < 512, "{args:?} never had room to succeed");
        restore();
        disk.fill(page * 4096);
        let run = env.exec(env.cmd().args(&args));
        disk.empty();
        if run.code == 0 {
            assert_eq!(canonical(&env), expected, "{args:?} with {page} pages free");
            break;
        }
        assert_eq!(run.code, 4, "{page} pages free: {}", run.stderr);
        assert!(
            run.stderr.contains("disk is full") || run.stderr.contains("is the disk full"),
            "{page} pages free: the error names the full disk: {}",
            run.stderr
        );
        let before = (before.0.as_str(), before.1);
        endings.push(assert_no_ghost(
            &env, &command, &args, before, &run, &expected,
        ));
    }
    // The full disk made the command fail at least once; where it failed
    // (before its commit or after) depends on SQLite's page use, so that is
    // reported, not asserted.
    assert!(!endings.is_empty(), "{args:?} never failed on a full disk");
    eprintln!(
        "{args:?} on a full disk: {} runs failed with nothing recorded, {} after recording and saying so",
        endings.iter().filter(|e| **e == Ending::NothingRecorded).count(),
        endings.iter().filter(|e| **e == Ending::RecordedAndSaidSo).count()
    );
    drop(disk);
}

#[test]
fn a_submit_on_a_full_disk_leaves_nothing_or_says_what_it_recorded() {
    on_a_full_disk(SUBMIT);
}

#[test]
fn a_confirm_on_a_full_disk_leaves_nothing_or_says_it_is_kept() {
    on_a_full_disk(CONFIRM);
}
