//! The shared test environment: every test gets its own temporary
//! directory and database, a fixed clock and a cleared environment, so it
//! never sees the user's data and its output is the same on every run.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

/// How long a test waits for something that must happen (a server to
/// answer, a page to change, a message to arrive) before it fails. It bounds
/// a wait, it measures nothing: a slow machine makes a test slower, never red.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// Polls `ready` until it gives a value, and returns it; fails the test,
/// naming `what`, if it has not after [`PATIENCE`].
pub fn wait_for_value<T>(what: &str, mut ready: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = ready() {
            return value;
        }
        if std::time::Instant::now() >= deadline {
            panic!("gave up waiting for {what} after {PATIENCE:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Polls `done` until it holds; fails the test, naming `what`, if it does
/// not after [`PATIENCE`].
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    wait_for_value(what, || done().then_some(()))
}

/// The time of the original walkthrough's first log line, in unix seconds.
pub const NOW: i64 = 1543269956;

/// The repository's `examples/` file `name`.
pub fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .display()
        .to_string()
}

/// `count` orders of one line each, customers `c0`, `c1`, …, as JSON
/// Lines: a bulk submit.
pub fn one_line_orders(count: usize) -> String {
    (0..count)
        .map(|i| format!("{{\"customer\": \"c{i}\", \"reservations\": [{{\"id\": 1, \"reserved\": \"a room\"}}]}}\n"))
        .collect()
}

/// `stdout` of a `--json submit` of [`one_line_orders`]`(count)`: every
/// order once, as submitted and delivered, in the order of the input.
pub fn assert_submitted_in_order(stdout: &str, count: usize) {
    let customers: Vec<String> = stdout
        .lines()
        .map(|line| {
            let order: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(order["salesorder"]["object"]["status"], "pending", "{line}");
            order["salesorder"]["object"]["customer"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let expected: Vec<String> = (0..count).map(|i| format!("c{i}")).collect();
    assert_eq!(customers, expected);
}

/// A file of the repository, by its path relative to the root.
pub fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// One temporary directory with one database in it.
///
/// When it goes, `pi7 rebuild` must find every document of its database
/// equal to what the log makes (see the `Drop` impl), unless the test
/// damaged the database on purpose and said so with
/// [`expect_damage`](TestEnv::expect_damage).
pub struct TestEnv {
    dir: tempfile::TempDir,
    db: PathBuf,
    damaged: AtomicBool,
}

/// How one run of pi7 ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = dir.path().join("pi7.db");
        TestEnv {
            dir,
            db,
            damaged: AtomicBool::new(false),
        }
    }

    /// Says that the test damages the database on purpose (edits a
    /// document, loses an event), so that its documents need not equal a
    /// rebuild of its log when the test ends.
    pub fn expect_damage(&self) {
        self.damaged.store(true, Ordering::Relaxed);
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn db(&self) -> &Path {
        &self.db
    }

    /// The database path as pi7 names it in messages.
    pub fn db_text(&self) -> String {
        self.db.display().to_string()
    }

    /// pi7 as a plain process, for tests that must hold on to it (`--follow`,
    /// broken pipes): run in the temporary directory, with nothing of the
    /// caller's environment but `PATH`, and the clock at `now`.
    pub fn std_cmd_at(&self, now: i64) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pi7"));
        cmd.env_clear()
            .current_dir(self.dir())
            .env("HOME", self.dir())
            .env("PI7_DB", &self.db)
            .env("PI7_NOW", now.to_string());
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd
    }

    /// `pi7 ARGS`, stopped for good just before its `write`th write, inside
    /// that write's transaction (PI7_PAUSE_AT_WRITE): a point of its work
    /// the test chooses, where a kill or a Ctrl-C is sure to land mid-run
    /// whatever the machine's speed. Its stdout is discarded; what is left
    /// of its stderr is returned with it.
    // The caller waits for the child it is given.
    #[allow(clippy::zombie_processes)]
    pub fn paused_at_write(
        &self,
        write: usize,
        args: &[&str],
    ) -> (
        std::process::Child,
        std::io::BufReader<std::process::ChildStderr>,
    ) {
        use std::io::BufRead;
        let mut child = self
            .std_cmd_at(NOW)
            .env("PI7_PAUSE_AT_WRITE", write.to_string())
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("pi7 starts");
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let marker = format!("pi7: paused before write {write} (PI7_PAUSE_AT_WRITE)\n");
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).unwrap() == 0 {
                let status = child.wait().unwrap();
                panic!("pi7 {args:?} ended ({status}) before write {write}: {seen}");
            }
            if line == marker {
                return (child, stderr);
            }
            seen += &line;
        }
    }

    pub fn cmd_at(&self, now: i64) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.std_cmd_at(now))
    }

    pub fn cmd(&self) -> assert_cmd::Command {
        self.cmd_at(NOW)
    }

    /// Writes `contents` to `name` in the temporary directory.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir().join(name);
        std::fs::write(&path, contents).expect("writing a test file");
        path
    }

    /// Runs a prepared command to its end. No input may make pi7 panic, so
    /// every run checks that first.
    pub fn exec(&self, cmd: &mut assert_cmd::Command) -> Run {
        let Output {
            status,
            stdout,
            stderr,
        } = cmd.output().expect("pi7 runs");
        let run = Run {
            code: status.code().expect("pi7 exited, not killed by a signal"),
            stdout: String::from_utf8(stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(stderr).expect("stderr is UTF-8"),
        };
        assert!(
            !run.stderr.contains("panicked"),
            "pi7 panicked: {}",
            run.stderr
        );
        run
    }

    /// Runs `pi7 ARGS` at `now`, whatever the outcome.
    pub fn run_at(&self, now: i64, args: &[&str]) -> Run {
        self.exec(self.cmd_at(now).args(args))
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_at(NOW, args)
    }

    /// Runs `pi7 ARGS`, which must succeed, and returns its stdout.
    pub fn ok_at(&self, now: i64, args: &[&str]) -> String {
        let run = self.run_at(now, args);
        assert_eq!(run.code, 0, "pi7 {args:?} failed: {}", run.stderr);
        run.stdout
    }

    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_at(NOW, args)
    }

    /// Runs `pi7 ARGS`, which must exit with `code` and print nothing on
    /// stdout; returns its stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let run = self.run(args);
        assert_eq!(
            run.code, code,
            "pi7 {args:?}: expected exit {code}, got {}; stderr: {}",
            run.code, run.stderr
        );
        assert_eq!(run.stdout, "", "pi7 {args:?} failed but printed on stdout");
        run.stderr
    }

    /// `pi7 --json ARGS`, parsed as one JSON value.
    pub fn json(&self, args: &[&str]) -> Value {
        parse_json(&self.ok(&with_json(args)))
    }

    /// `pi7 --json ARGS` at `now`, parsed as JSON Lines.
    pub fn json_lines_at(&self, now: i64, args: &[&str]) -> Vec<Value> {
        json_lines(&self.ok_at(now, &with_json(args)))
    }

    pub fn json_lines(&self, args: &[&str]) -> Vec<Value> {
        self.json_lines_at(NOW, args)
    }

    /// Submits `file` (`-` is `stdin`) and returns the submitted orders as
    /// `submit --json` prints them.
    pub fn submit(&self, file: &str) -> Vec<Value> {
        self.json_lines(&["submit", file])
    }

    pub fn submit_stdin(&self, stdin: &str) -> Vec<Value> {
        let run = self.exec(
            self.cmd()
                .args(["submit", "-", "--json"])
                .write_stdin(stdin),
        );
        assert_eq!(run.code, 0, "submit from stdin failed: {}", run.stderr);
        json_lines(&run.stdout)
    }

    /// The order of `examples/order.json`, submitted.
    pub fn submit_example(&self) -> Submitted {
        let mut orders = self.submit(&example("order.json"));
        assert_eq!(orders.len(), 1);
        Submitted::from(orders.remove(0))
    }

    /// Everything a user can see of the database: the event log and both
    /// document lists. Equal snapshots mean an unchanged database.
    pub fn snapshot(&self) -> String {
        let events = self.ok(&["events", "--json"]);
        let orders = self.ok(&["list", "orders", "--json"]);
        let reservations = self.ok(&["list", "reservations", "--json"]);
        format!("{events}\n--- orders\n{orders}\n--- reservations\n{reservations}")
    }

    /// The database file's bytes, for failures that must not touch it.
    pub fn db_bytes(&self) -> Vec<u8> {
        std::fs::read(&self.db).expect("reading the database file")
    }
}

impl Drop for TestEnv {
    /// Every database the tests make must rebuild to exactly the documents
    /// it holds: `pi7 rebuild` finds no difference. Skipped when the test
    /// failed already, damaged the database on purpose, never made one, or
    /// made one that pi7 refuses to write (not a pi7 database, a newer
    /// pi7's, read-only: exit 4).
    fn drop(&mut self) {
        if std::thread::panicking() || self.damaged.load(Ordering::Relaxed) || !self.db.exists() {
            return;
        }
        let run = self.run(&["--json", "rebuild"]);
        if run.code == 4 {
            return;
        }
        assert_eq!(
            run.code, 0,
            "`pi7 rebuild` failed on the database the test left:\n{}{}",
            run.stdout, run.stderr
        );
        let report = parse_json(&run.stdout);
        assert_eq!(
            report["differences"],
            Value::Array(Vec::new()),
            "`pi7 rebuild` found documents that differ from what the log makes \
             (call env.expect_damage() in a test that damages them on purpose)"
        );
    }
}

/// The ids of one submitted order.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub process: String,
    pub order: String,
    pub reservations: Vec<String>,
    pub json: Value,
}

impl From<Value> for Submitted {
    fn from(json: Value) -> Submitted {
        Submitted {
            process: text(&json["processId"]),
            order: text(&json["salesorder"]["_id"]),
            reservations: json["reservations"]
                .as_array()
                .expect("reservations is an array")
                .iter()
                .map(|r| text(&r["_id"]))
                .collect(),
            json,
        }
    }
}

fn with_json<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    all
}

pub fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Parses JSON Lines: every line must be one JSON value.
pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines().map(parse_json).collect()
}

/// A JSON string's contents.
pub fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_string()
}

/// The first 8 characters of an id, as tables show it.
pub fn short(id: &str) -> &str {
    &id[..8]
}

/// The keys of a JSON object, in order.
pub fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// Replaces the pid in workflow log lines (`[…] [21308] [INFO] …`) by `PID`.
pub fn without_pids(log: &str) -> String {
    log.lines()
        .map(|line| {
            let Some((time, rest)) = line.split_once("] [") else {
                return line.to_string();
            };
            match rest.split_once("] ") {
                Some((pid, rest)) if pid.chars().all(|c| c.is_ascii_digit()) => {
                    format!("{time}] [PID] {rest}")
                }
                _ => line.to_string(),
            }
        })
        .map(|line| line + "\n")
        .collect()
}

/// Asserts that a failure is reported as one line on stderr.
pub fn assert_one_line(stderr: &str) {
    assert!(
        stderr.ends_with('\n') && stderr.lines().count() == 1,
        "expected one line on stderr, got: {stderr:?}"
    );
    assert!(
        stderr.starts_with("pi7: error: "),
        "expected a pi7 error, got: {stderr:?}"
    );
}

/// How many terminal columns `text` takes.
pub fn width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}
