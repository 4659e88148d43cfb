//! Databases pi7 must not write to: not a pi7 database, written by a newer
//! pi7, read-only. Each failure is exit 4 with one line on stderr, and the
//! file stays byte for byte what it was.

use std::os::unix::fs::PermissionsExt;

use crate::util::{assert_one_line, example, TestEnv};

/// Every command that opens the database, writing or reading.
fn every_command(env: &TestEnv) -> Vec<Vec<String>> {
    let order = env.write(
        "order.json",
        &std::fs::read_to_string(example("order.json")).unwrap(),
    );
    let order = order.display().to_string();
    [
        vec!["submit", order.as_str()],
        vec!["confirm", "00000000"],
        vec!["list"],
        vec!["list", "reservations"],
        vec!["show", "00000000"],
        vec!["events"],
        vec!["pending"],
        vec!["dispatch"],
    ]
    .into_iter()
    .map(|args| args.into_iter().map(String::from).collect())
    .collect()
}

/// Runs every command against the database, each of which must fail with
/// exit 4 and exactly `message`, leaving the file's bytes alone.
fn every_command_refuses(env: &TestEnv, message: &str) {
    let bytes = env.db_bytes();
    for args in every_command(env) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let stderr = env.fails(&args, 4);
        assert_eq!(stderr, format!("pi7: error: {message}\n"), "{args:?}");
        assert_one_line(&stderr);
        assert!(env.db_bytes() == bytes, "pi7 {args:?} changed the file");
    }
}

#[test]
fn a_text_file_is_not_a_pi7_database() {
    let env = TestEnv::new();
    let text = "These are my notes, not a database.\n".repeat(40);
    std::fs::write(env.db(), &text).unwrap();
    every_command_refuses(
        &env,
        &format!(
            "{} is not a pi7 database (the file is not an SQLite database)",
            env.db_text()
        ),
    );
    assert_eq!(std::fs::read_to_string(env.db()).unwrap(), text);
}

#[test]
fn an_sqlite_database_of_another_application_is_not_a_pi7_database() {
    let env = TestEnv::new();
    {
        let conn = rusqlite::Connection::open(env.db()).unwrap();
        conn.execute_batch(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
             INSERT INTO notes (body) VALUES ('buy milk'), ('call mum');",
        )
        .unwrap();
    }
    every_command_refuses(
        &env,
        &format!(
            "{} is not a pi7 database (it is an SQLite database of another application)",
            env.db_text()
        ),
    );
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    let notes: i64 = conn
        .query_row("SELECT count(*) FROM notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(notes, 2);
}

#[test]
fn a_database_of_a_newer_pi7_is_refused_untouched() {
    let env = TestEnv::new();
    env.submit_example();
    {
        let conn = rusqlite::Connection::open(env.db()).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    every_command_refuses(
        &env,
        &format!(
            "{} was written by a newer pi7 (schema version 99; this pi7 knows up to 4); upgrade pi7 to use it",
            env.db_text()
        ),
    );
}

#[test]
fn a_read_only_database_can_be_read_but_not_written() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let before = env.snapshot();
    std::fs::set_permissions(env.db(), std::fs::Permissions::from_mode(0o444)).unwrap();
    let bytes = env.db_bytes();

    let message = format!(
        "pi7: error: {} is read-only: this command writes to the database\n",
        env.db_text()
    );
    let file = example("order.json");
    for args in [
        &["submit", file.as_str()][..],
        &["confirm", &order.reservations[0]],
        &["--json", "confirm", &order.reservations[0]],
        &["dispatch"],
    ] {
        assert_eq!(env.fails(args, 4), message, "{args:?}");
        assert!(env.db_bytes() == bytes, "pi7 {args:?} changed the file");
    }

    // Reading commands still work, and see everything.
    assert_eq!(env.snapshot(), before);
    assert_eq!(
        env.json(&["show", &order.process])["object"]["customer"],
        "christophe"
    );
    env.ok(&["list"]);
    env.ok(&["events"]);
    env.ok(&["show", &order.reservations[0]]);
    assert!(env.db_bytes() == bytes, "reading changed the file");
}

#[test]
fn a_database_that_cannot_be_created_is_a_storage_error() {
    let env = TestEnv::new();
    env.write("not-a-directory", "a file where a directory should be\n");
    let db = env.dir().join("not-a-directory").join("pi7.db");
    let run = env.exec(
        env.cmd()
            .env("PI7_DB", &db)
            .args(["submit", &example("order.json")]),
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_one_line(&run.stderr);
    assert!(
        run.stderr.starts_with(&format!(
            "pi7: error: cannot open the database {}: ",
            db.display()
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn the_database_directory_is_created_when_writing() {
    let env = TestEnv::new();
    let db = env.dir().join("nested").join("deeper").join("orders.db");
    let run = env.exec(
        env.cmd()
            .arg("--db")
            .arg(&db)
            .args(["submit", &example("order.json")]),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(db.exists());
    assert!(!env.db().exists(), "--db did not win over PI7_DB");
}

#[test]
fn without_a_db_option_the_database_lives_in_the_data_directory_under_home() {
    let env = TestEnv::new();
    let run = env.exec(
        env.cmd()
            .env_remove("PI7_DB")
            .args(["submit", &example("order.json")]),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(env
        .dir()
        .join(".local")
        .join("share")
        .join("pi7")
        .join("pi7.db")
        .exists());
}

#[test]
fn reading_a_database_that_is_not_there_shows_nothing_and_creates_nothing() {
    let env = TestEnv::new();
    assert_eq!(env.json(&["list", "orders"]), serde_json::json!([]));
    assert_eq!(env.ok(&["events", "--json"]), "");
    assert!(!env.db().exists(), "a read created the database");
}

#[test]
fn reading_a_read_only_database_leaves_no_files_beside_it() {
    let env = TestEnv::new();
    env.ok(&["submit", &example("order.json")]);
    let mut permissions = std::fs::metadata(env.db()).unwrap().permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(env.db(), permissions).unwrap();
    assert_eq!(env.json(&["list", "orders"]).as_array().unwrap().len(), 1);
    let mut beside: Vec<String> = std::fs::read_dir(env.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("pi7.db"))
        .collect();
    beside.sort();
    assert_eq!(beside, ["pi7.db"]);
}

#[test]
fn a_database_with_a_negative_schema_version_is_refused_untouched() {
    let env = TestEnv::new();
    env.ok(&["submit", &example("order.json")]);
    {
        let conn = rusqlite::Connection::open(env.db()).unwrap();
        conn.pragma_update(None, "user_version", -1).unwrap();
    }
    env.expect_damage();
    let bytes = env.db_bytes();
    let stderr = env.fails(&["list"], 4);
    assert!(stderr.contains("unknown schema version -1"), "{stderr}");
    assert_eq!(env.db_bytes(), bytes);
}

/// The deliveries table as schema version 3 left it: its status checked
/// with an `IN` list.
const VERSION_3_DELIVERIES: &str = "
    CREATE TABLE old_deliveries (
        key       INTEGER PRIMARY KEY,
        seq       INTEGER NOT NULL REFERENCES events (seq),
        component TEXT    NOT NULL,
        status    TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'done', 'failed')),
        attempts  INTEGER NOT NULL DEFAULT 0,
        error     TEXT,
        handled   INTEGER UNIQUE,
        log_seq   INTEGER,
        UNIQUE (seq, component)
    );
    INSERT INTO old_deliveries SELECT * FROM deliveries;
    DROP TABLE deliveries;
    ALTER TABLE old_deliveries RENAME TO deliveries;
    CREATE INDEX deliveries_pending ON deliveries (key) WHERE status = 'pending';
    CREATE INDEX deliveries_failed ON deliveries (key) WHERE status = 'failed';
    PRAGMA user_version = 3;";

/// A database of schema version 3 is upgraded when pi7 first opens it,
/// reading or writing: its deliveries table is written again with the new
/// check, every delivery kept as it was, and pi7 goes on with it.
#[test]
fn a_version_3_database_is_upgraded_keeping_every_delivery() {
    let env = TestEnv::new();
    env.submit_example();
    env.ok(&["--hold", "submit", &example("order.json")]);
    let pending = env.json(&["pending"]);
    let exported = env.ok(&["export"]);
    let schema = |env: &TestEnv| -> (i64, String) {
        let conn = rusqlite::Connection::open(env.db()).unwrap();
        let version = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        let sql = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE name = 'deliveries'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        (version, sql)
    };
    rusqlite::Connection::open(env.db())
        .unwrap()
        .execute_batch(VERSION_3_DELIVERIES)
        .unwrap();
    let (version, sql) = schema(&env);
    assert_eq!(version, 3);
    assert!(sql.contains("IN ('pending', 'done', 'failed')"), "{sql}");

    assert_eq!(env.json(&["pending"]), pending);
    let (version, sql) = schema(&env);
    assert_eq!(version, pi7::store::SCHEMA_VERSION);
    assert!(
        sql.contains("status = 'pending' OR status = 'done' OR status = 'failed'"),
        "{sql}"
    );
    assert_eq!(env.ok(&["export"]), exported);
    env.ok(&["dispatch"]);
    assert_eq!(env.json(&["pending"]), serde_json::json!([]));
    env.ok(&["verify"]);
}

/// A new database gets pi7's page size; one an older pi7 made with
/// SQLite's default keeps its own and goes on working.
#[test]
fn a_new_database_has_pi7s_page_size_and_an_older_one_keeps_its_own() {
    let page_size = |env: &TestEnv| -> i64 {
        rusqlite::Connection::open(env.db())
            .unwrap()
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap()
    };
    let env = TestEnv::new();
    env.submit_example();
    assert_eq!(page_size(&env), pi7::store::PAGE_SIZE);

    rusqlite::Connection::open(env.db())
        .unwrap()
        .execute_batch(
            "PRAGMA journal_mode = DELETE; PRAGMA page_size = 4096; VACUUM;
             PRAGMA journal_mode = WAL;",
        )
        .unwrap();
    assert_eq!(page_size(&env), 4096);
    let exported = env.ok(&["export"]);
    env.submit_example();
    assert_eq!(page_size(&env), 4096);
    assert!(env.ok(&["export"]).starts_with(exported.trim_end()));
    env.ok(&["verify"]);
}
