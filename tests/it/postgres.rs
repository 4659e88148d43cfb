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
        let mut client = postgres::Client::connect(&self.admin, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("SET search_path TO {}", self.schema))
            .unwrap();
        client.query(sql, &[]).unwrap()
    }
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

/// A running `pi7 worker`.
struct Worker {
    child: Child,
}

impl Worker {
    fn start(env: &TestEnv, db: &str, concurrency: u32) -> Worker {
        let child = env
            .std_cmd_at(crate::util::NOW)
            .args(["--db", db, "worker", "--concurrency"])
            .arg(concurrency.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pi7 worker starts");
        Worker { child }
    }

    /// Stops it with SIGTERM; returns the (seq, component) of every delivery
    /// it printed, and its stderr.
    fn stop(self) -> (Vec<(u64, String)>, String) {
        let pid = self.child.id().to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let output = self.child.wait_with_output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            output.status.success(),
            "the worker did not stop cleanly: {stderr}"
        );
        assert!(stderr.contains("worker: stopped after"), "{stderr}");
        let handled = stdout
            .lines()
            .map(|line| {
                let words: Vec<&str> = line.split_whitespace().collect();
                assert_eq!(words[0], "delivered", "{line}");
                (words[1].parse().unwrap(), words[4].to_string())
            })
            .collect();
        (handled, stderr)
    }
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
        let reservations = array(&env.ok(&["--db", db, "--json", "list", "reservations"]));
        let ids: Vec<&str> = reservations
            .iter()
            .map(|r| r["_id"].as_str().unwrap())
            .collect();
        let mut confirm = vec!["confirm"];
        confirm.extend(ids.iter().skip(1));
        with_hold(&confirm);
        with_hold(&["reject", ids[0]]);
        if hold {
            wait_until_settled(&env, db);
        }
        anonymize(&format!(
            "{}{}{}",
            env.ok(&["--db", db, "list"]),
            env.ok(&["--db", db, "list", "reservations"]),
            env.ok(&["--db", db, "verify"])
        ))
    };
    let plain = story(db_plain, false);
    let worker = Worker::start(&env, db_worker, 2);
    let held = story(db_worker, true);
    let (handled, _) = worker.stop();
    assert_eq!(held, plain);
    assert!(plain.contains("cancelled"), "{plain}");
    let unique: BTreeSet<_> = handled.iter().collect();
    assert_eq!(unique.len(), handled.len(), "a delivery was handled twice");
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

    let mut handled = Vec::new();
    for worker in workers {
        handled.extend(worker.stop().0);
    }
    let unique: BTreeSet<_> = handled.iter().cloned().collect();
    assert_eq!(unique.len(), handled.len(), "a delivery was handled twice");
    let done = pg.sql("SELECT count(*) FROM deliveries WHERE status = 'done'");
    let all = pg.sql("SELECT count(*) FROM deliveries");
    assert_eq!(done[0].get::<_, i64>(0), all[0].get::<_, i64>(0));
    assert_eq!(handled.len() as i64, all[0].get::<_, i64>(0));
    let verify = env.ok(&["--db", db, "verify"]);
    assert!(verify.contains("ok: integrity"), "{verify}");
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
