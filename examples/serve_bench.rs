//! Load benchmark of `pi7 serve`: for 1, 16 and 64 concurrent clients,
//! confirms per second (each a different reservation), single-document
//! reads per second, and the original's REST story per second, with p50
//! and p99 latency; beside them the SQLite floor measured in the same run
//! (one process committing single-row transactions in WAL mode). Beside
//! each figure, the CPU time the server and this load generator each spent
//! per operation (from /proc): on a small machine they share the cores, so
//! a rate is only understood with what it cost on either side.
//!
//!   cargo build --release && cargo run --release --example serve_bench
//!   BENCH_SECONDS=5 cargo run --release --example serve_bench
//!   BENCH_CLIENTS=16 BENCH_ONLY=read cargo run --release --example serve_bench
//!
//! (`BENCH_CLIENTS` takes a comma-separated list of levels, `BENCH_ONLY`
//! one of `confirm`, `read`, `story`: to profile one workload alone.)
//!
//! It starts `target/release/pi7 serve` (or `$PI7_BIN`) on a throwaway
//! database on a free loopback port. Figures, not assertions.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

const LEVELS: [usize; 3] = [1, 16, 64];

/// The levels `BENCH_CLIENTS` names, or all of them.
fn levels() -> Vec<usize> {
    std::env::var("BENCH_CLIENTS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| LEVELS.to_vec())
}

/// Whether `BENCH_ONLY` lets `workload` run.
fn runs(workload: &str) -> bool {
    std::env::var("BENCH_ONLY").map_or(true, |only| only == workload)
}

fn seconds() -> Duration {
    let s = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    Duration::from_secs_f64(s)
}

/// Single-row commits per second, each its own transaction, in WAL mode
/// with synchronous=NORMAL, as pi7 opens its database.
fn sqlite_floor(dir: &std::path::Path) -> f64 {
    let conn = rusqlite::Connection::open(dir.join("floor.db")).unwrap();
    conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
        .unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        .unwrap();
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < seconds() {
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        conn.execute("INSERT INTO t (v) VALUES (?1)", ["a plane"])
            .unwrap();
        conn.execute_batch("COMMIT").unwrap();
        n += 1;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn pi7() -> String {
    std::env::var("PI7_BIN")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/pi7").into())
}

// The child is handed to `Server`, whose `drop` stops and waits for it.
#[allow(clippy::zombie_processes)]
fn serve(db: &std::path::Path) -> Server {
    let mut child = Command::new(pi7())
        .args([
            "--db",
            &db.display().to_string(),
            "serve",
            "--addr",
            "127.0.0.1:0",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .expect("pi7 serve starts (cargo build --release first)");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if stderr.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.wait();
            panic!("pi7 serve ended before printing its URL");
        }
        if let Some(at) = line.find("http://") {
            let url = line[at..].split_whitespace().next().unwrap();
            let url = url.trim_end_matches('/').to_string();
            // Keep draining stderr so the server never blocks on it.
            std::thread::spawn(move || for _ in stderr.lines() {});
            return Server { child, url };
        }
    }
}

/// Submits `orders` orders of two lines with the command line; returns
/// their reservation ids.
fn seed(db: &std::path::Path, orders: usize) -> Vec<String> {
    let order = r#"{"customer": "christophe", "reservations": [{"id": 1, "reserved": "some hotel"}, {"id": 2, "reserved": "a plane"}]}"#;
    let mut child = Command::new(pi7())
        .args(["--db", &db.display().to_string(), "--json", "submit", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let text = vec![order; orders].join("\n");
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .flat_map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["reservations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["_id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// CPU seconds (user + system) a process has used so far, from
/// `/proc/PID/stat`; 0 where there is no such file.
fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The fields after the command name, which may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime, fields 14 and 15 of the whole line; in clock ticks
    // of 1/100 s on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

/// What one workload measured.
struct Measured {
    rate: f64,
    p50: Duration,
    p99: Duration,
    /// CPU the server and this load generator spent per operation.
    server_cpu: Duration,
    client_cpu: Duration,
}

/// Runs `op` from `clients` threads for the benchmark's duration (or until
/// it says there is no more work) against `server`.
fn load(server: &Server, clients: usize, op: &(dyn Fn(&ureq::Agent) -> bool + Sync)) -> Measured {
    let pid = server.child.id().to_string();
    let (server_before, client_before) = (cpu_seconds(&pid), cpu_seconds("self"));
    let latencies = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..clients {
            scope.spawn(|| {
                let agent = ureq::AgentBuilder::new().max_idle_connections(1).build();
                let mut mine = Vec::new();
                while started.elapsed() < seconds() {
                    let t = Instant::now();
                    if !op(&agent) {
                        break;
                    }
                    mine.push(t.elapsed());
                }
                latencies.lock().unwrap().extend(mine);
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let server_cpu = cpu_seconds(&pid) - server_before;
    let client_cpu = cpu_seconds("self") - client_before;
    let mut all = latencies.into_inner().unwrap();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let per_op = |cpu: f64| Duration::from_secs_f64(cpu.max(0.0) / all.len().max(1) as f64);
    Measured {
        rate: all.len() as f64 / elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        server_cpu: per_op(server_cpu),
        client_cpu: per_op(client_cpu),
    }
}

fn post(agent: &ureq::Agent, url: &str, body: &str) -> Value {
    let response = agent
        .post(url)
        .set("Content-Type", "application/json")
        .send_string(body)
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    serde_json::from_str(&response.into_string().unwrap()).unwrap()
}

fn row(what: &str, clients: usize, m: Measured, floor: f64) {
    println!(
        "{what:<18} {clients:>7} {:>8.0} {:>7.2} {:>7.2} {:>8.3} {:>10.0} {:>10.0}",
        m.rate,
        m.p50.as_secs_f64() * 1e3,
        m.p99.as_secs_f64() * 1e3,
        m.rate / floor,
        m.server_cpu.as_secs_f64() * 1e6,
        m.client_cpu.as_secs_f64() * 1e6,
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let floor = sqlite_floor(dir.path());
    println!("SQLite floor (single-row WAL commits, one process): {floor:.0}/s");
    println!(
        "{:<18} {:>7} {:>8} {:>7} {:>7} {:>8} {:>10} {:>10}",
        "workload", "clients", "ops/s", "p50 ms", "p99 ms", "x floor", "server µs", "client µs"
    );
    for clients in levels() {
        let db = dir.path().join(format!("confirm-{clients}.db"));
        // Enough reservations that no client runs out: the floor bounds
        // how many confirms a run can make.
        let ids = seed(
            &db,
            ((floor * seconds().as_secs_f64()) as usize / 2).clamp(2_000, 40_000),
        );
        let server = serve(&db);
        let next = AtomicUsize::new(0);
        let url = format!("{}/api/store/reservation/confirmed", server.url);
        if runs("confirm") {
            let result = load(&server, clients, &|agent| {
                let Some(id) = ids.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    return false;
                };
                post(agent, &url, &format!("\"{id}\""));
                true
            });
            row("confirm", clients, result, floor);
        }

        if runs("read") {
            let reads = AtomicUsize::new(0);
            let result = load(&server, clients, &|agent| {
                let id = &ids[reads.fetch_add(1, Ordering::Relaxed) % ids.len()];
                let url = format!("{}/api/v1/documents/{id}", server.url);
                agent.get(&url).call().unwrap().into_string().unwrap();
                true
            });
            row("read one document", clients, result, floor);
        }
        if !runs("story") {
            continue;
        }

        // The original's story: its page's body (a JSON string of the
        // order's JSON), both confirmations (JSON strings), then the order.
        let story_body = serde_json::to_string(
            r#"{"customer": "christophe", "reservations": [{"id": 1, "reserved": "some hotel"}, {"id": 2, "reserved": "a plane"}]}"#,
        )
        .unwrap();
        let result = load(&server, clients, &|agent| {
            let submitted = post(
                agent,
                &format!("{}/api/web/salesorder/request", server.url),
                &story_body,
            );
            for r in submitted["reservations"].as_array().unwrap() {
                let id = r["_id"].as_str().unwrap();
                post(agent, &url, &format!("\"{id}\""));
            }
            let process = submitted["processId"].as_str().unwrap();
            let shown: Value = serde_json::from_str(
                &agent
                    .get(&format!("{}/api/v1/documents/{process}", server.url))
                    .call()
                    .unwrap()
                    .into_string()
                    .unwrap(),
            )
            .unwrap();
            assert_eq!(shown["salesorder"]["object"]["status"], "confirmed");
            true
        });
        row("REST story", clients, result, floor);
    }
}
