//! pi7 on PostgreSQL: the same commands print the same as on SQLite, a log
//! moves between the stores exactly, and workers on one database handle
//! every delivery exactly once.
//!
//! These need a server: `PI7_TEST_POSTGRES=postgres://USER:PASS@HOST/DB`
//! (`.ci/run` starts one). Without it each test says on stderr that it was
//! skipped; with `CI` set it fails instead. Every test works in a schema of
//! its own, named in the URL (`options=-csearch_path=…`).

use std::collections::BTreeSet;
use std::io::Write as _;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::util::{example, TestEnv};

/// A schema of its own on the test server, dropped when done.
pub struct PgDb {
    admin: String,
    schema: String,
    /// The URL pi7 is given: the server's, in this schema.
    pub url: String,
}

impl PgDb {
    /// `None` (after saying so) when no server is configured.
    pub fn new(test: &str) -> Option<PgDb> {
        let admin = match std::env::var("PI7_TEST_POSTGRES") {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var_os("CI").is_some() => {
                panic!("CI is set but PI7_TEST_POSTGRES is not: {test} needs PostgreSQL")
            }
            _ => {
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED {test}: set PI7_TEST_POSTGRES=postgres://… (see the README) to run it"
                );
                return None;
            }
        };
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let schema = format!(
            "pi7_it_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("test server");
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .unwrap();
        let separator = if admin.contains('?') { '&' } else { '?' };
        let url = format!("{admin}{separator}options=-csearch_path%3D{schema}");
        Some(PgDb { admin, schema, url })
    }

    pub fn sql(&self, sql: &str) -> Vec<postgres::Row> {
        query(&self.admin, Some(&self.schema), sql)
    }
}

/// Runs `sql` on the server at `url`, in `schema` when given.
fn query(url: &str, schema: Option<&str>, sql: &str) -> Vec<postgres::Row> {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    if let Some(schema) = schema {
        client
            .batch_execute(&format!("SET search_path TO {schema}"))
            .unwrap();
    }
    client.query(sql, &[]).unwrap()
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema));
        }
    }
}

/// Replaces every id (and its 8-character short form) with `id1`, `id2`…
/// in the order they first appear, so that two runs that made the same
/// things under different random ids print the same.
fn anonymize(text: &str) -> String {
    let bytes = text.as_bytes();
    let is_uuid = |s: &[u8]| {
        s.len() == 36
            && s.iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
            })
    };
    let mut ids: Vec<String> = Vec::new();
    let mut i = 0;
    while i + 36 <= bytes.len() {
        if is_uuid(&bytes[i..i + 36]) {
            let id = text[i..i + 36].to_string();
            if !ids.contains(&id) {
                ids.push(id);
            }
            i += 36;
        } else {
            i += 1;
        }
    }
    let mut out = text.to_string();
    for (n, id) in ids.iter().enumerate() {
        out = out.replace(id.as_str(), &format!("<id{n}>"));
        out = out.replace(&id[..8], &format!("<id{n}:8>"));
    }
    // Tables show only the short form of ids no full id names.
    let mut shorts: Vec<String> = Vec::new();
    let words: Vec<&str> = out
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| {
            w.len() == 8
                && w.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
        .collect();
    for word in words {
        if !shorts.iter().any(|s| s == word) {
            shorts.push(word.to_string());
        }
    }
    for (n, short) in shorts.iter().enumerate() {
        out = out.replace(short.as_str(), &format!("<short{n}>"));
    }
    out
}

/// A JSON array as `list --json` prints it.
fn array(text: &str) -> Vec<serde_json::Value> {
    match crate::util::parse_json(text) {
        serde_json::Value::Array(items) => items,
        other => panic!("not an array: {other}"),
    }
}

/// The walkthrough and the reading commands, as one transcript.
fn walkthrough(env: &TestEnv, db: &str) -> String {
    let mut transcript = String::new();
    let mut run = |args: &[&str]| {
        let mut full = vec!["--db", db];
        full.extend_from_slice(args);
        let run = env.run(&full);
        transcript.push_str(&format!(
            "$ pi7 {}\n[exit {}]\n{}{}",
            args.join(" "),
            run.code,
            run.stdout,
            run.stderr
        ));
        run.stdout
    };
    run(&["submit", &example("order.json")]);
    run(&["submit", &example("orders.jsonl")]);
    let reservations = array(&run(&["--json", "list", "reservations"]));
    let first = reservations[0]["_id"].as_str().unwrap().to_string();
    let second = reservations[1]["_id"].as_str().unwrap().to_string();
    let process = reservations[0]["processId"].as_str().unwrap().to_string();
    run(&["list", "reservations", "--status", "unconfirmed"]);
    run(&["confirm", &first[..8]]);
    run(&["confirm", &second]);
    run(&["reject", &reservations[3]["_id"].as_str().unwrap()[..8]]);
    run(&["--hold", "submit", &example("order-3.json")]);
    run(&["pending"]);
    run(&["dispatch", "--order", "lifo", "--limit", "1"]);
    run(&["show", &process[..8]]);
    run(&["--json", "show", &process]);
    run(&["list"]);
    run(&["list", "--customer", "koen"]);
    run(&["events"]);
    run(&["events", "--json", "--process", &process[..8]]);
    run(&["verify"]);
    run(&["rebuild"]);
    run(&["--json", "rebuild"]);
    run(&["export"]);
    run(&["confirm", "0000"]);
    run(&["show", "ffffffff"]);
    transcript
}

#[test]
fn every_command_prints_the_same_on_postgres_as_on_sqlite() {
    let Some(pg) = PgDb::new("every_command_prints_the_same_on_postgres_as_on_sqlite") else {
        return;
    };
    let env = TestEnv::new();
    let sqlite = env.db_text();
    let on_sqlite = anonymize(&walkthrough(&env, &sqlite));
    let on_postgres = anonymize(&walkthrough(&env, &pg.url));
    assert!(on_sqlite.contains("ok: integrity"), "{on_sqlite}");
    assert!(on_sqlite.contains("[exit 3]"), "{on_sqlite}");
    if let Some((i, (a, b))) = on_sqlite
        .lines()
        .zip(on_postgres.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
    {
        panic!("line {i} differs:\n  SQLite:     {a}\n  PostgreSQL: {b}\n\n{on_postgres}");
    }
    assert_eq!(on_sqlite, on_postgres);
}

/// Short ids are as long as telling things apart takes, on PostgreSQL as
/// on SQLite: eight characters, or more where two ids share them.
#[test]
fn tables_show_the_shortest_unique_prefix_on_postgres() {
    let Some(pg) = PgDb::new("tables_show_the_shortest_unique_prefix_on_postgres") else {
        return;
    };
    let env = TestEnv::new();
    env.write("log.jsonl", &crate::command_line::twin_processes_log());
    env.ok(&["--db", &pg.url, "import", "log.jsonl"]);
    let table = env.ok(&["--db", &pg.url, "list", "orders"]);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .map(|row| row.split_whitespace().take(2).collect())
        .collect();
    assert_eq!(rows.len(), 2, "{table}");
    for (row, process) in rows.iter().zip(["5f633c9b-1", "5f633c9b-2"]) {
        assert_eq!(row[0].len(), 8, "{table}");
        assert_eq!(row[1], process, "{table}");
    }
}

#[test]
fn export_moves_a_system_between_sqlite_and_postgres_exactly() {
    let Some(pg) = PgDb::new("export_moves_a_system_between_sqlite_and_postgres_exactly") else {
        return;
    };
    let Some(back) = PgDb::new("export_moves_a_system_between_sqlite_and_postgres_exactly") else {
        return;
    };
    let env = TestEnv::new();
    walkthrough(&env, &pg.url);
    let exported = env.ok(&["--db", &pg.url, "export"]);
    assert!(exported.lines().count() > 20, "{exported}");
    let file = env.write("export.jsonl", &exported);
    let file = file.to_str().unwrap();

    // PostgreSQL → SQLite: the same log, to the byte.
    let copy = env.dir().join("copy.db");
    let copy = copy.to_str().unwrap();
    env.ok(&["--db", copy, "import", file]);
    assert_eq!(env.ok(&["--db", copy, "export"]), exported);
    assert_eq!(
        env.ok(&["--db", copy, "events"]),
        env.ok(&["--db", &pg.url, "events"])
    );
    env.ok(&["--db", copy, "verify"]);

    // … and back into another PostgreSQL database.
    let again = env.write("again.jsonl", &env.ok(&["--db", copy, "export"]));
    env.ok(&["--db", &back.url, "import", again.to_str().unwrap()]);
    assert_eq!(env.ok(&["--db", &back.url, "export"]), exported);
    assert_eq!(
        env.ok(&["--db", &back.url, "list", "--json"]),
        env.ok(&["--db", &pg.url, "list", "--json"])
    );
    env.ok(&["--db", &back.url, "verify"]);
}

#[test]
fn an_unreachable_server_or_a_refused_login_is_one_line_and_exit_4() {
    let env = TestEnv::new();
    let down = "postgres://pi7@127.0.0.1:1/nothing";
    let stderr = env.fails(&["--db", down, "list"], 4);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(
            "pi7: error: cannot open the database postgres://pi7@127.0.0.1:1/nothing: "
        ),
        "{stderr}"
    );
    let Some(pg) = PgDb::new("an_unreachable_server_or_a_refused_login_is_one_line_and_exit_4")
    else {
        return;
    };
    // The right server, a wrong password: the message never shows it.
    let (scheme_user, host) = pg.admin.rsplit_once('@').unwrap();
    let user = scheme_user
        .split(':')
        .nth(1)
        .unwrap()
        .trim_start_matches('/');
    let wrong = format!("postgres://{user}:not-the-password@{host}");
    let stderr = env.fails(&["--db", &wrong, "submit", &example("order.json")], 4);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("password authentication failed"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-password"), "{stderr}");
}

#[test]
fn a_database_written_by_a_newer_pi7_is_refused_untouched() {
    let Some(pg) = PgDb::new("a_database_written_by_a_newer_pi7_is_refused_untouched") else {
        return;
    };
    let env = TestEnv::new();
    env.ok(&["--db", &pg.url, "submit", &example("order.json")]);
    pg.sql("INSERT INTO pi7_schema (version, migrated) VALUES (99, 0)");
    let stderr = env.fails(&["--db", &pg.url, "list"], 4);
    assert!(stderr.contains("newer pi7 (schema version 99"), "{stderr}");
    let events = pg.sql("SELECT count(*) FROM events");
    assert_eq!(events[0].get::<_, i64>(0), 1);
}

/// A running `pi7 worker`; what it prints is read as it goes, so a worker
/// that prints a lot never blocks on a full pipe.
struct Worker {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Worker {
    fn start(env: &TestEnv, db: &str, concurrency: u32) -> Worker {
        let mut child = env
            .std_cmd_at(crate::util::NOW)
            .args(["--db", db, "worker", "--concurrency"])
            .arg(concurrency.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pi7 worker starts");
        let (stdout, stderr) = (Arc::default(), Arc::default());
        let readers = vec![
            drain(child.stdout.take().unwrap(), &stdout),
            drain(child.stderr.take().unwrap(), &stderr),
        ];
        let worker = Worker {
            child,
            stdout,
            stderr,
            readers,
        };
        // Until it says so it may not have taken over SIGTERM yet.
        crate::util::wait_for("the worker to start", || {
            worker.stderr().contains("worker: handling deliveries")
        });
        worker
    }

    /// What it printed on stderr so far.
    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for its pipes to close; returns (stdout, stderr).
    fn output(mut self) -> (String, String) {
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        let stdout = self.stdout.lock().unwrap().clone();
        let stderr = self.stderr.lock().unwrap().clone();
        (stdout, stderr)
    }

    /// Stops it with SIGTERM; returns the (seq, component) of every delivery
    /// it printed, and its stderr.
    fn stop(mut self) -> (Vec<(u64, String)>, String) {
        let pid = self.child.id().to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        let (stdout, stderr) = self.output();
        assert!(
            status.success(),
            "the worker did not stop cleanly: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains("worker: stopped after"), "{stderr}");
        (handled(&stdout), stderr)
    }

    /// SIGKILL: whatever it was doing. Returns the deliveries it printed
    /// before it died (each printed one was committed).
    fn kill(mut self) -> Vec<(u64, String)> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let (stdout, stderr) = self.output();
        assert!(!stderr.contains("panicked"), "{stderr}");
        handled(&stdout)
    }
}

/// A test that fails midway leaves no worker behind.
impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Copies everything `from` says into `into`, until it closes.
fn drain(
    mut from: impl std::io::Read + Send + 'static,
    into: &Arc<Mutex<String>>,
) -> std::thread::JoinHandle<()> {
    let into = into.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        while let Ok(n @ 1..) = from.read(&mut buffer) {
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    })
}

/// The (seq, component) of every `delivered …` line; a line cut short by a
/// kill does not count.
fn handled(stdout: &str) -> Vec<(u64, String)> {
    stdout
        .split_inclusive('\n')
        .filter(|line| line.ends_with('\n'))
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(words[0], "delivered", "{line}");
            (words[1].parse().unwrap(), words[4].to_string())
        })
        .collect()
}

/// Stops the workers; returns their stderr, after checking that no
/// delivery was printed twice by them (and those `printed` before).
fn stop_workers(workers: Vec<Worker>, mut printed: Vec<(u64, String)>) -> Vec<String> {
    let mut stderrs = Vec::new();
    for worker in workers {
        let (handled, stderr) = worker.stop();
        printed.extend(handled);
        stderrs.push(stderr);
    }
    let unique: BTreeSet<_> = printed.iter().collect();
    assert_eq!(unique.len(), printed.len(), "a delivery was handled twice");
    stderrs
}

/// `pi7 verify` passes and `pi7 rebuild` finds every document as the log
/// makes it.
fn verify_ok(env: &TestEnv, db: &str) {
    let verify = env.ok(&["--db", db, "verify"]);
    assert!(verify.contains("ok: integrity"), "{verify}");
    let rebuild = crate::util::parse_json(&env.ok(&["--db", db, "--json", "rebuild"]));
    assert_eq!(rebuild["differences"], serde_json::json!([]), "{rebuild}");
}

/// Waits until nothing is pending (the workers are working), bounded.
fn wait_until_settled(env: &TestEnv, db: &str) {
    for _ in 0..3000 {
        if array(&env.ok(&["--db", db, "--json", "pending"])).is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("deliveries stayed pending with workers running");
}

/// `pi7 --hold submit` with a worker running ends as a plain submit does.
fn held_work_with_a_worker_ends_as_a_plain_submit(db_plain: &str, db_worker: &str) {
    let env = TestEnv::new();
    let story = |db: &str, hold: bool| {
        let with_hold = |args: &[&str]| {
            let mut full = vec!["--db", db];
            if hold {
                full.push("--hold");
            }
            full.extend_from_slice(args);
            env.ok(&full);
        };
        with_hold(&["submit", &example("orders.jsonl")]);
        if hold {
            wait_until_settled(&env, db);
        }
        // Christophe's first line is rejected, every other confirmed:
        // chosen by content, since workers store documents in the order
        // they finish and listings follow that order.
        let orders = array(&env.ok(&["--db", db, "--json", "list"]));
        let christophe = orders
            .iter()
            .find(|o| o["object"]["customer"] == "christophe")
            .map(|o| o["processId"].clone())
            .expect("christophe's order");
        let reservations = array(&env.ok(&["--db", db, "--json", "list", "reservations"]));
        let (rejected, confirmed): (Vec<&serde_json::Value>, Vec<&serde_json::Value>) =
            reservations
                .iter()
                .partition(|r| r["processId"] == christophe && r["object"]["id"] == 1);
        let mut confirm = vec!["confirm"];
        confirm.extend(confirmed.iter().map(|r| r["_id"].as_str().unwrap()));
        with_hold(&confirm);
        with_hold(&["reject", rejected[0]["_id"].as_str().unwrap()]);
        if hold {
            wait_until_settled(&env, db);
        }
        // Each order with its lines, by customer: workers that handle the
        // held requests at once store the documents in the order they
        // finish, so listings may come in another order than a plain
        // submit's.
        end_states(&env, db);
        let mut state: Vec<String> = array(&env.ok(&["--db", db, "--json", "list"]))
            .iter()
            .map(|o| {
                let lines: Vec<String> = o["object"]["reservations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| format!("{}:{}:{}", l["id"], l["reserved"], l["status"]))
                    .collect();
                format!(
                    "{} {} {}",
                    o["object"]["customer"],
                    o["object"]["status"],
                    lines.join(" ")
                )
            })
            .collect();
        state.sort();
        state.push(env.ok(&["--db", db, "verify"]));
        state.join("\n")
    };
    let plain = story(db_plain, false);
    let worker = Worker::start(&env, db_worker, 2);
    let held = story(db_worker, true);
    stop_workers(vec![worker], Vec::new());
    assert_eq!(held, plain);
    assert!(plain.contains("cancelled"), "{plain}");
}

#[test]
fn held_work_and_a_worker_end_as_a_plain_submit_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.db");
    let worked = dir.path().join("worked.db");
    held_work_with_a_worker_ends_as_a_plain_submit(
        plain.to_str().unwrap(),
        worked.to_str().unwrap(),
    );
}

#[test]
fn held_work_and_a_worker_end_as_a_plain_submit_on_postgres() {
    let Some(pg) = PgDb::new("held_work_and_a_worker_end_as_a_plain_submit_on_postgres") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.db");
    held_work_with_a_worker_ends_as_a_plain_submit(plain.to_str().unwrap(), &pg.url);
}

#[test]
fn several_workers_on_one_postgres_handle_every_delivery_exactly_once() {
    let Some(pg) = PgDb::new("several_workers_on_one_postgres_handle_every_delivery_exactly_once")
    else {
        return;
    };
    let env = TestEnv::new();
    let db = pg.url.as_str();
    env.ok(&["--db", db, "verify"]); // creates the schema before workers race to
    let workers: Vec<Worker> = (0..3).map(|_| Worker::start(&env, db, 2)).collect();
    let orders: String = (0..24)
        .map(|i| {
            format!(
                "{{\"customer\": \"c{}\", \"reservations\": [{{\"id\": 1, \"reserved\": \"a\"}}, {{\"id\": 2, \"reserved\": \"b\"}}, {{\"id\": 3, \"reserved\": \"c\"}}]}}\n",
                i % 5
            )
        })
        .collect();
    let file = env.write("orders.jsonl", &orders);
    env.ok(&["--db", db, "--hold", "submit", file.to_str().unwrap()]);
    wait_until_settled(&env, db);
    let reservations = array(&env.ok(&["--db", db, "--json", "list", "reservations"]));
    assert_eq!(reservations.len(), 72);
    // Confirmed in groups that span several orders, while workers run.
    for chunk in reservations.chunks(5) {
        let mut args = vec!["--db", db, "--hold", "confirm"];
        args.extend(chunk.iter().map(|r| r["_id"].as_str().unwrap()));
        env.ok(&args);
    }
    wait_until_settled(&env, db);

    stop_workers(workers, Vec::new());
    every_delivery_handled_once(&|sql| pg.sql(sql));
    verify_ok(&env, db);
    let orders = array(&env.ok(&["--db", db, "--json", "list"]));
    assert_eq!(orders.len(), 24);
    assert!(
        orders.iter().all(|o| o["object"]["status"] == "confirmed"),
        "{orders:?}"
    );
}

#[test]
fn serve_on_postgres_names_the_database_without_its_password() {
    let Some(pg) = PgDb::new("serve_on_postgres_names_the_database_without_its_password") else {
        return;
    };
    let password = pg
        .url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(user, _)| user.split_once(':'))
        .map(|(_, password)| password.to_string())
        .expect("the test server's URL holds a password");
    let env = TestEnv::new();
    let server = crate::server::Server::start(&env, &["--db", &pg.url]);
    assert!(server.banner.contains("postgres://"), "{}", server.banner);
    assert!(!server.banner.contains(&password), "{}", server.banner);
    // It serves that database: an order submitted over HTTP is there.
    let reply = server.post(
        "/api/web/salesorder/request",
        &std::fs::read_to_string(example("order.json")).unwrap(),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let orders = server.get("/api/store/salesorder");
    assert_eq!(orders.status, 200, "{}", orders.body);
    assert_eq!(orders.json().as_array().unwrap().len(), 1);
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains(&password), "{stderr}");
    assert_eq!(pg.sql("SELECT id FROM salesorders").len(), 1);
}

/// One order of three lines (ids 1, 2, 3) for `customer`, as JSON.
fn three_lines(customer: &str) -> String {
    format!(
        "{{\"customer\": \"{customer}\", \"reservations\": [{{\"id\": 1, \"reserved\": \"a hotel\"}}, {{\"id\": 2, \"reserved\": \"a plane\"}}, {{\"id\": 3, \"reserved\": \"a car\"}}]}}\n"
    )
}

/// Every delivery was handled, once: none pending or parked, and each was
/// finished exactly one time (a second handling would count a second
/// attempt; a handling a kill cut short never commits its count).
fn every_delivery_handled_once(rows: &dyn Fn(&str) -> Vec<postgres::Row>) -> i64 {
    let count = |sql: &str| rows(sql)[0].get::<_, i64>(0);
    let all = count("SELECT count(*) FROM deliveries");
    assert!(all > 0);
    assert_eq!(
        count("SELECT count(*) FROM deliveries WHERE status = 'done' AND attempts = 1 AND error IS NULL AND handled IS NOT NULL"),
        all,
        "a delivery is not done, or was finished more than once"
    );
    all
}

/// One order as it ended: its status and its lines' (line id, status),
/// after checking that it is a state the saga can end in and that its
/// lines say what its reservation documents say.
type EndState = (String, Vec<(u64, String)>);

fn end_states(env: &TestEnv, db: &str) -> std::collections::BTreeMap<String, EndState> {
    let reservations: std::collections::HashMap<String, serde_json::Value> =
        array(&env.ok(&["--db", db, "--json", "list", "reservations"]))
            .into_iter()
            .map(|r| (r["_id"].as_str().unwrap().to_string(), r))
            .collect();
    let mut states = std::collections::BTreeMap::new();
    for order in array(&env.ok(&["--db", db, "--json", "list"])) {
        let process = order["processId"].as_str().unwrap().to_string();
        let status = order["object"]["status"].as_str().unwrap().to_string();
        let lines: Vec<(u64, String)> = order["object"]["reservations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|line| {
                let id = line["_id"].as_str().unwrap();
                let stored = &reservations[id]["object"]["status"];
                assert_eq!(&line["status"], stored, "order {process}, line {line}");
                (
                    line["id"].as_u64().unwrap(),
                    line["status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let all = |s: &str| lines.iter().all(|(_, l)| l == s);
        let any = |s: &str| lines.iter().any(|(_, l)| l == s);
        let consistent = match status.as_str() {
            "confirmed" => all("confirmed"),
            "cancelled" => {
                // Every reservation of the process, lines dropped by an
                // amendment too, is settled for good.
                reservations.values().all(|r| {
                    r["processId"] != order["processId"]
                        || ["rejected", "released"]
                            .contains(&r["object"]["status"].as_str().unwrap())
                })
            }
            "pending" => !all("confirmed") && !any("rejected") && !any("released"),
            _ => false,
        };
        assert!(consistent, "order {process} ended inconsistent: {order}");
        states.insert(process, (status, lines));
    }
    states
}

/// Runs `jobs` on `threads` threads at once, job `i` on thread `i % threads`.
fn run_on_threads<J: Sync>(threads: usize, jobs: &[J], run: impl Fn(usize, &J) + Sync) {
    std::thread::scope(|scope| {
        for thread in 0..threads {
            let run = &run;
            scope.spawn(move || {
                for (i, job) in jobs.iter().enumerate().skip(thread).step_by(threads) {
                    run(i, job);
                }
            });
        }
    });
}

/// One command of the mixed load: its arguments, and whether another
/// command may have made its order refuse it (exit 2) first.
struct Job {
    args: Vec<String>,
    may_be_refused: bool,
}

impl Job {
    fn new(args: &[&str], may_be_refused: bool) -> Job {
        Job {
            args: args.iter().map(|a| a.to_string()).collect(),
            may_be_refused,
        }
    }

    /// Runs it on `db`, held when `hold`.
    fn run(&self, env: &TestEnv, db: &str, hold: bool) {
        let mut args = vec!["--db", db];
        if hold && self.args[0] != "rebuild" {
            args.push("--hold");
        }
        args.extend(self.args.iter().map(String::as_str));
        let run = env.run(&args);
        let allowed: &[i32] = if self.may_be_refused { &[0, 2] } else { &[0] };
        assert!(
            allowed.contains(&run.code),
            "pi7 {args:?} exited {}: {}",
            run.code,
            run.stderr
        );
        if self.args[0] == "rebuild" {
            // Whatever commands and workers are doing, the documents are
            // always what the log makes.
            assert!(run.stdout.ends_with(": no differences\n"), "{}", run.stdout);
        }
    }
}

#[test]
fn eight_commands_and_four_workers_at_once_lose_no_update_and_handle_each_delivery_once() {
    let Some(pg) = PgDb::new(
        "eight_commands_and_four_workers_at_once_lose_no_update_and_handle_each_delivery_once",
    ) else {
        return;
    };
    let env = TestEnv::new();
    let db = pg.url.as_str();
    env.ok(&["--db", db, "verify"]); // creates the schema before workers race to
    let workers: Vec<Worker> = (0..4).map(|i| Worker::start(&env, db, 1 + i % 2)).collect();

    // 40 orders, one per submit, half of them held, from 8 processes at once.
    let files: Vec<String> = (0..40)
        .map(|n| {
            let file = env.write(
                &format!("order-{n}.json"),
                &three_lines(&format!("c{n:02}")),
            );
            file.to_str().unwrap().to_string()
        })
        .collect();
    let submits: Vec<Job> = files
        .iter()
        .map(|f| Job::new(&["submit", f], false))
        .collect();
    run_on_threads(8, &submits, |i, job| job.run(&env, db, i % 2 == 0));
    wait_until_settled(&env, db);

    // Each order's reservations, by line id; kind = what is done to it.
    let mut lines: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let mut process_of_customer = std::collections::BTreeMap::new();
    for order in array(&env.ok(&["--db", db, "--json", "list"])) {
        let customer = order["object"]["customer"].as_str().unwrap().to_string();
        let process = order["processId"].as_str().unwrap().to_string();
        let ids = order["object"]["reservations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["_id"].as_str().unwrap().to_string())
            .collect();
        lines.insert(process.clone(), ids);
        process_of_customer.insert(customer, process);
    }
    assert_eq!(lines.len(), 40, "every submitted order is there");
    let processes: Vec<&String> = process_of_customer.values().collect();
    let kind = |n: usize| n % 5;
    // Round one: confirms (some spanning two orders), cancels racing
    // confirms, amendments; the lines of one order go to different
    // commands, run by different threads at the same time.
    let mut first: Vec<Job> = Vec::new();
    let mut second: Vec<Job> = Vec::new();
    for (n, process) in processes.iter().enumerate() {
        let ids = &lines[*process];
        match kind(n) {
            // Confirmed line by line; the last line together with the
            // next such order's.
            0 => {
                first.push(Job::new(&["confirm", &ids[0]], false));
                first.push(Job::new(&["confirm", &ids[1]], false));
                let partner = processes[(n + 5) % 40];
                first.push(Job::new(&["confirm", &ids[2], &lines[partner][2]], false));
            }
            // Two lines confirmed now, the third rejected later.
            1 => {
                first.push(Job::new(&["confirm", &ids[0]], false));
                first.push(Job::new(&["confirm", &ids[1]], false));
                second.push(Job::new(&["reject", &ids[2]], false));
            }
            // A cancel racing the confirms: either may win.
            2 => {
                for id in ids {
                    first.push(Job::new(&["confirm", id], true));
                }
                first.push(Job::new(&["cancel", process], true));
            }
            // Amended (line 3 dropped, line 4 added), then confirmed.
            3 => {
                let customer = format!("c{n:02}");
                let order = format!(
                    "{{\"customer\": \"{customer}\", \"reservations\": [{{\"id\": 1, \"reserved\": \"a hotel\"}}, {{\"id\": 2, \"reserved\": \"a plane\"}}, {{\"id\": 4, \"reserved\": \"a boat\"}}]}}"
                );
                let file = env.write(&format!("amend-{n}.json"), &order);
                first.push(Job::new(
                    &["submit", "--process", process, file.to_str().unwrap()],
                    false,
                ));
            }
            // Two lines confirmed in one command; the order stays pending.
            _ => first.push(Job::new(&["confirm", &ids[0], &ids[1]], false)),
        }
    }
    // Rebuilds, which keep every writer out for a moment, among them.
    for _ in 0..3 {
        first.push(Job::new(&["rebuild"], false));
    }
    // Interleaved, so that one order's lines are not run in a row.
    let stride = if first.len() % 31 == 0 { 37 } else { 31 };
    let shuffled: Vec<&Job> = (0..first.len())
        .map(|i| &first[i * stride % first.len()])
        .collect();
    run_on_threads(8, &shuffled, |i, job| job.run(&env, db, i % 2 == 1));
    wait_until_settled(&env, db);

    // Round two: the rejections, and the amended orders' lines confirmed.
    for (n, process) in processes.iter().enumerate() {
        if kind(n) == 3 {
            for r in array(&env.ok(&[
                "--db",
                db,
                "--json",
                "list",
                "reservations",
                "--process",
                process,
                "--status",
                "unconfirmed",
            ])) {
                second.push(Job::new(&["confirm", r["_id"].as_str().unwrap()], false));
            }
        }
    }
    run_on_threads(8, &second, |i, job| job.run(&env, db, i % 2 == 0));
    wait_until_settled(&env, db);

    stop_workers(workers, Vec::new());
    every_delivery_handled_once(&|sql| pg.sql(sql));
    verify_ok(&env, db);

    let states = end_states(&env, db);
    let lines_in = |n: usize| {
        states[processes[n].as_str()]
            .1
            .iter()
            .map(|(id, status)| format!("{id}:{status}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for n in 0..40 {
        let status = states[processes[n].as_str()].0.as_str();
        let expected = match kind(n) {
            0 => ("confirmed", "1:confirmed 2:confirmed 3:confirmed"),
            1 => ("cancelled", "1:released 2:released 3:rejected"),
            2 if status == "confirmed" => ("confirmed", "1:confirmed 2:confirmed 3:confirmed"),
            2 => ("cancelled", ""), // which lines were confirmed first varies
            3 => ("confirmed", "1:confirmed 2:confirmed 4:confirmed"),
            _ => ("pending", "1:confirmed 2:confirmed 3:unconfirmed"),
        };
        assert_eq!(status, expected.0, "order {n} ({})", processes[n]);
        if !expected.1.is_empty() {
            assert_eq!(lines_in(n), expected.1, "order {n} ({})", processes[n]);
        }
    }
    // The amendment's dropped line was released, not lost.
    for (n, process) in processes.iter().enumerate().filter(|(n, _)| kind(*n) == 3) {
        let dropped = array(&env.ok(&[
            "--db",
            db,
            "--json",
            "list",
            "reservations",
            "--process",
            process,
        ]));
        assert!(
            dropped
                .iter()
                .any(|r| r["object"]["id"] == 3 && r["object"]["status"] == "released"),
            "order {n}: {dropped:?}"
        );
    }
}

/// Confirms, held, every unconfirmed reservation there is now, one order's
/// at a time (a command that spans orders would wait on workers that hold
/// them; these tests are about the workers).
fn confirm_what_is_unconfirmed(env: &TestEnv, db: &str) {
    let mut by_process: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for r in array(&env.ok(&[
        "--db",
        db,
        "--json",
        "list",
        "reservations",
        "--status",
        "unconfirmed",
    ])) {
        by_process
            .entry(r["processId"].as_str().unwrap().to_string())
            .or_default()
            .push(r["_id"].as_str().unwrap().to_string());
    }
    for ids in by_process.values() {
        let mut args = vec!["--db", db, "--hold", "confirm"];
        args.extend(ids.iter().map(String::as_str));
        env.ok(&args);
    }
}

/// Every order ended confirmed, consistently, and there are `expected`.
fn all_confirmed(env: &TestEnv, db: &str, expected: usize) {
    let states = end_states(env, db);
    assert_eq!(states.len(), expected);
    for (process, (status, _)) in &states {
        assert_eq!(status, "confirmed", "order of process {process}");
    }
}

#[test]
fn workers_killed_at_thirty_random_moments_leave_nothing_half_done_or_done_twice() {
    let Some(pg) =
        PgDb::new("workers_killed_at_thirty_random_moments_leave_nothing_half_done_or_done_twice")
    else {
        return;
    };
    let env = TestEnv::new();
    let db = pg.url.as_str();
    env.ok(&["--db", db, "verify"]);
    let batch: String = (0..8).map(|i| three_lines(&format!("c{i}"))).collect();
    let batch = env.write("batch.jsonl", &batch);
    let batch = batch.to_str().unwrap();
    let survivors: Vec<Worker> = (0..2).map(|_| Worker::start(&env, db, 1)).collect();
    let feeding = std::sync::atomic::AtomicBool::new(true);
    let mut printed = Vec::new();
    let mut rounds = 0;
    std::thread::scope(|scope| {
        // Held work keeps coming while workers are killed.
        let feeder = scope.spawn(|| {
            let mut rounds = 0;
            while feeding.load(Ordering::SeqCst) {
                env.ok(&["--db", db, "--hold", "submit", batch]);
                confirm_what_is_unconfirmed(&env, db);
                rounds += 1;
            }
            rounds
        });
        // The moments are the same on every run (a fixed seed); whether a
        // kill lands in the middle of a delivery depends on the machine,
        // and every kill is checked the same way at the end.
        for (i, wait) in crate::reliability::waits(30, 400).into_iter().enumerate() {
            let victim = Worker::start(&env, db, 1 + (i % 2) as u32);
            std::thread::sleep(Duration::from_millis(100) + wait);
            printed.extend(victim.kill());
        }
        feeding.store(false, Ordering::SeqCst);
        rounds = feeder.join().unwrap();
    });
    wait_until_settled(&env, db);
    confirm_what_is_unconfirmed(&env, db);
    wait_until_settled(&env, db);
    stop_workers(survivors, printed);
    // A last worker finds nothing left, and none of it half done.
    let (last, _) = Worker::start(&env, db, 1).stop();
    assert_eq!(last, [], "the survivors left work behind");
    every_delivery_handled_once(&|sql| pg.sql(sql));
    verify_ok(&env, db);
    all_confirmed(&env, db, rounds * 8);
}

/// A PostgreSQL server of the test's own, in a temporary directory on a
/// free port, that the test may stop and start (the shared one on 5432 is
/// other tests' and must never be restarted). It runs as the `postgres`
/// user when the tests run as root, since PostgreSQL refuses root.
struct PrivateServer {
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

impl PrivateServer {
    /// A running server, or `None` (after saying so loudly) when
    /// PostgreSQL's binaries are not installed and `CI` is not set.
    fn start(test: &str) -> Option<PrivateServer> {
        let bin = std::path::Path::new(PG_BIN);
        if !bin.join("initdb").is_file() || !bin.join("pg_ctl").is_file() {
            if std::env::var_os("CI").is_some() {
                panic!("{test}: {PG_BIN}/initdb and pg_ctl are missing, and CI must run the PostgreSQL tests (apt-get install postgresql-15)");
            }
            eprintln!(
                "\n*** SKIPPED {test}: {PG_BIN}/initdb and pg_ctl are missing (apt-get install postgresql-15) ***\n"
            );
            return None;
        }
        let uid = std::process::Command::new("id").arg("-u").output().unwrap();
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        let server = PrivateServer {
            dir: tempfile::tempdir().unwrap(),
            port: crate::broker::free_port(),
            as_postgres,
        };
        if as_postgres {
            let chown = std::process::Command::new("chown")
                .args(["postgres:", server.dir.path().to_str().unwrap()])
                .status()
                .unwrap();
            assert!(chown.success());
        }
        server.run(
            "initdb",
            &[
                "-D",
                &server.data(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        server.start_again();
        Some(server)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// One of PostgreSQL's programs, as the user that may run it.
    fn program(&self, name: &str) -> std::process::Command {
        let program = format!("{PG_BIN}/{name}");
        if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--", &program]);
            c
        } else {
            std::process::Command::new(&program)
        }
    }

    /// Runs one of PostgreSQL's programs, which must succeed.
    fn run(&self, name: &str, args: &[&str]) {
        let output = self
            .program(name)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{name} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Starts it on its port and waits until it accepts connections.
    fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
    }

    /// Stops it as an administrator would: open connections are ended.
    fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .program("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}

#[test]
fn workers_say_when_the_server_is_down_and_carry_on_after_it_restarts() {
    let Some(server) =
        PrivateServer::start("workers_say_when_the_server_is_down_and_carry_on_after_it_restarts")
    else {
        return;
    };
    let env = TestEnv::new();
    let db = server.url();
    let db = db.as_str();
    env.ok(&["--db", db, "verify"]);
    let workers: Vec<Worker> = (0..2).map(|_| Worker::start(&env, db, 2)).collect();
    let batch: String = (0..20).map(|i| three_lines(&format!("c{i}"))).collect();
    let batch = env.write("batch.jsonl", &batch);
    let batch = batch.to_str().unwrap();
    env.ok(&["--db", db, "--hold", "submit", batch]);
    wait_until_settled(&env, db);

    // Down in the middle of the work.
    env.ok(&["--db", db, "--hold", "submit", batch]);
    confirm_what_is_unconfirmed(&env, db);
    server.stop();
    crate::util::wait_for("every worker to say the database is down", || {
        workers.iter().all(|w| w.stderr().contains("; retrying"))
    });
    let stderr = env.fails(&["--db", db, "list"], 4);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    server.start_again();
    crate::util::wait_for("every worker to say the database works again", || {
        workers
            .iter()
            .all(|w| w.stderr().contains("the database works again"))
    });
    wait_until_settled(&env, db);
    confirm_what_is_unconfirmed(&env, db);
    wait_until_settled(&env, db);

    for stderr in stop_workers(workers, Vec::new()) {
        for line in stderr.lines().filter(|l| l.contains("retrying")) {
            assert!(
                line.starts_with("pi7: worker ")
                    && line.contains(&format!(
                        ": cannot reach the database postgres://postgres@127.0.0.1:{}/postgres: ",
                        server.port
                    ))
                    && line.ends_with("; retrying until it is back"),
                "a line that says the server is down names it: {line}\n{stderr}"
            );
        }
    }
    every_delivery_handled_once(&|sql| query(db, None, sql));
    verify_ok(&env, db);
    all_confirmed(&env, db, 40);
}

#[test]
fn rebuild_puts_damaged_documents_right_on_postgres_as_on_sqlite() {
    let Some(pg) = PgDb::new("rebuild_puts_damaged_documents_right_on_postgres_as_on_sqlite")
    else {
        return;
    };
    let env = TestEnv::new();
    let sqlite = env.db_text();
    // The same documents on both, by the order they were stored in.
    let damage = |row: &str| {
        [
            format!("UPDATE reservations SET status = 'bogus' WHERE {row} = (SELECT min({row}) FROM reservations)"),
            format!("UPDATE salesorders SET document = replace(document, 'pending', 'confirmed') WHERE {row} = (SELECT max({row}) FROM salesorders)"),
            format!("DELETE FROM reservations WHERE {row} = (SELECT max({row}) FROM reservations)"),
            "INSERT INTO salesorders (id, process_id, customer, status, document) VALUES ('not-an-id', 'nobody', NULL, 'pending', 'not json')".to_string(),
        ]
    };
    let mut transcripts = Vec::new();
    for db in [sqlite.as_str(), pg.url.as_str()] {
        walkthrough(&env, db);
        for statement in damage(if db == sqlite { "rowid" } else { "row" }) {
            if db == sqlite {
                let conn = rusqlite::Connection::open(env.db()).unwrap();
                conn.execute_batch(&statement).unwrap();
            } else {
                pg.sql(&statement);
            }
        }
        assert_ne!(env.run(&["--db", db, "verify"]).code, 0);
        transcripts.push(anonymize(&format!(
            "{}{}",
            env.ok(&["--db", db, "rebuild"]),
            env.ok(&["--db", db, "rebuild"])
        )));
        verify_ok(&env, db);
    }
    assert!(
        transcripts[0].contains("4 differences (now fixed)\n"),
        "{}",
        transcripts[0]
    );
    assert!(
        transcripts[0].ends_with(": no differences\n"),
        "{}",
        transcripts[0]
    );
    assert_eq!(transcripts[1], transcripts[0]);
}

/// One command on more orders than a default server's lock table has
/// entries (`max_locks_per_transaction` × `max_connections`, 6,400): each
/// new process would have held a lock until the commit, and the submit
/// failed with "out of shared memory".
#[test]
fn a_command_on_fifteen_thousand_new_orders_fits_a_default_lock_table() {
    let Some(pg) = PgDb::new("a_command_on_fifteen_thousand_new_orders_fits_a_default_lock_table")
    else {
        return;
    };
    let env = TestEnv::new();
    let file = env.write("many.jsonl", &crate::util::one_line_orders(15_000));
    let run = env.run(&["--db", &pg.url, "--hold", "submit", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("30000 deliveries pending"),
        "{}",
        run.stderr
    );
    let count = |sql: &str| pg.sql(sql)[0].get::<_, i64>(0);
    assert_eq!(
        count("SELECT count(DISTINCT process_id) FROM events"),
        15_000
    );
    // The first deliveries of many processes in one batch take their locks
    // as before, and the log verifies.
    env.ok(&["--db", &pg.url, "dispatch", "--limit", "2000"]);
    assert_eq!(
        count("SELECT count(*) FROM deliveries WHERE status = 'done'"),
        2000
    );
    env.ok(&["--db", &pg.url, "verify"]);
}

/// A submit delivers its orders' first deliveries in the transaction that
/// records them; past 256 new processes those need no lock of their own,
/// and finding their deliveries must not ask for one (it asked forever).
#[test]
fn a_submit_of_many_new_orders_delivers_them_in_its_own_transaction() {
    let Some(pg) = PgDb::new("a_submit_of_many_new_orders_delivers_them_in_its_own_transaction")
    else {
        return;
    };
    let env = TestEnv::new();
    let file = env.write("many.jsonl", &crate::util::one_line_orders(2_500));
    let run = env.run(&["--db", &pg.url, "--json", "submit", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    crate::util::assert_submitted_in_order(&run.stdout, 2_500);
    let count = |sql: &str| pg.sql(sql)[0].get::<_, i64>(0);
    assert_eq!(count("SELECT count(*) FROM salesorders"), 2_500);
    assert_eq!(
        count("SELECT count(*) FROM deliveries WHERE status = 'done'"),
        5_000
    );
    env.ok(&["--db", &pg.url, "verify"]);
}
