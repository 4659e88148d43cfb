//! The MQTT relay's benchmark: events relayed per second from a
//! 100,000-event log to a mosquitto on loopback, beside mosquitto's floor
//! (a plain rumqttc publisher of the same messages, QoS 1, same subscriber),
//! and the lag from commit to a subscriber while commands write.
//!
//! ```sh
//! cargo build --release && cargo run --release --example mqtt_bench
//! ```
//!
//! Needs mosquitto (`apt-get install mosquitto`); starts its own on a free
//! port, in a temporary directory, and the release `pi7` of this checkout.
//! Prints figures; asserts nothing about them.

use std::collections::HashSet;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rumqttc::v5::mqttbytes::v5::{Filter, Packet, PublishProperties};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{Client, Event, MqttOptions};
use serde_json::Value;

/// Orders of 3 lines: 20k + 60k + 20k = 100k events (`BENCH_ORDERS` for
/// a quicker run).
fn orders() -> usize {
    std::env::var("BENCH_ORDERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000)
}
const LAG_ORDERS: usize = 300;

fn main() {
    let pi7 = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/pi7");
    assert!(pi7.is_file(), "build it first: cargo build --release");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut broker = start_broker(dir.path(), port);
    let url = format!("mqtt://127.0.0.1:{port}");

    eprintln!(
        "building a log of {} three-line orders, every line confirmed…",
        orders()
    );
    build_log(&pi7, &db);
    let events: Vec<Value> = String::from_utf8(
        pi7_cmd(&pi7, &db)
            .args(["--json", "events"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    let total = events.len();
    let bytes: usize = events.iter().map(|e| e["payload"].to_string().len()).sum();
    println!(
        "log: {total} events, mean body {} bytes",
        bytes / total.max(1)
    );

    // The floor: the same messages, published by a plain rumqttc client.
    let floor = {
        let sub = Subscriber::new(port, "bench/#");
        let start = Instant::now();
        plain_publish(port, &events);
        sub.wait_count(total);
        start.elapsed()
    };
    // The relay, from the start of the log.
    let relayed = {
        let sub = Subscriber::new(port, "#");
        let start = Instant::now();
        let mut relay = spawn_relay(&pi7, &db, &url, &["--from-start"]);
        sub.wait_count(total);
        let elapsed = start.elapsed();
        stop(&mut relay);
        elapsed
    };
    let rate = |d: Duration| total as f64 / d.as_secs_f64();
    println!(
        "floor  (plain rumqttc publisher, QoS 1): {total} messages in {:.2} s = {:.0} msg/s",
        floor.as_secs_f64(),
        rate(floor)
    );
    println!(
        "relay  (pi7 relay --from-start):          {total} events   in {:.2} s = {:.0} events/s ({:.2}x the floor's time)",
        relayed.as_secs_f64(),
        rate(relayed),
        relayed.as_secs_f64() / floor.as_secs_f64()
    );

    // Lag: commands write one at a time while the relay follows the log.
    for poll in ["50ms", "5ms"] {
        lag(&pi7, &db, &url, port, poll);
    }
    broker.kill().ok();
    broker.wait().ok();
}

/// Commit → subscriber lag: this process commits one `salesorder/request`
/// at a time (the transaction `pi7 submit` runs), noting when each commit
/// returned, at uneven intervals so that commits land anywhere in the
/// relay's poll; the subscriber notes when each seq arrives.
fn lag(pi7: &Path, db: &Path, url: &str, port: u16, poll: &str) {
    use pi7::store::Store as _;
    let sub = Subscriber::new(port, "#");
    let mut relay = spawn_relay(pi7, db, url, &["--poll", poll]);
    let base = last_seq(db);
    // Let the relay catch up before measuring.
    std::thread::sleep(Duration::from_secs(1));
    let order = pi7::domain::order::parse_orders(
        r#"{"customer": "lag", "reservations": [{"id": 1, "reserved": "a"}]}"#,
    )
    .unwrap()
    .remove(0);
    let mut store = pi7::store::SqliteStore::open(db, pi7::store::OpenMode::ReadWrite).unwrap();
    let mut committed = Vec::new();
    let mut pause: u64 = 7;
    for _ in 0..LAG_ORDERS {
        let acted = store
            .transaction(&mut |tx| {
                let process = uuid::Uuid::new_v4();
                Ok(pi7::operations::submit(
                    tx,
                    &order,
                    process,
                    uuid::Uuid::new_v4(),
                    0,
                )?)
            })
            .unwrap();
        committed.push((acted.published[0].seq, wall_ms()));
        pause = (pause * 13 + 5) % 23;
        std::thread::sleep(Duration::from_millis(pause));
    }
    let end = last_seq(db);
    wait(|| sub.seqs_after(base).len() as u64 >= end - base);
    stop(&mut relay);
    let arrived: std::collections::HashMap<u64, f64> = sub.arrivals().into_iter().collect();
    let mut lags: Vec<f64> = committed.iter().map(|(seq, t)| arrived[seq] - t).collect();
    lags.sort_by(f64::total_cmp);
    let pct = |p: f64| lags[((lags.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "lag    (commit → subscriber, --poll {poll}, {} commits 0-22 ms apart): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lags.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}

fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

fn last_seq(db: &Path) -> u64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| {
        r.get::<_, i64>(0)
    })
    .unwrap() as u64
}

fn pi7_cmd(pi7: &Path, db: &Path) -> Command {
    let mut cmd = Command::new(pi7);
    cmd.env("PI7_DB", db);
    cmd
}

fn build_log(pi7: &Path, db: &Path) {
    let order = r#"{"customer": "bench", "reservations": [{"id": 1, "reserved": "a"}, {"id": 2, "reserved": "b"}, {"id": 3, "reserved": "c"}]}"#;
    let input = vec![order; orders()].join("\n");
    let mut child = pi7_cmd(pi7, db)
        .args(["--json", "submit", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(input.as_bytes()).unwrap();
    });
    let out = child.wait_with_output().unwrap();
    let ids: Vec<String> = String::from_utf8(out.stdout)
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
        .collect();
    let mut child = pi7_cmd(pi7, db)
        .args(["confirm", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let text = ids.join("\n");
    std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(text.as_bytes()).unwrap();
    });
    assert!(child.wait().unwrap().success());
}

fn start_broker(dir: &Path, port: u16) -> Child {
    let binary = ["mosquitto", "/usr/sbin/mosquitto"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| Command::new(p).arg("-h").output().is_ok())
        .expect("mosquitto is installed (apt-get install mosquitto)");
    let config = dir.join("mosquitto.conf");
    std::fs::write(
        &config,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\n"),
    )
    .unwrap();
    let child = Command::new(binary)
        .arg("-c")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait(|| TcpStream::connect(("127.0.0.1", port)).is_ok());
    child
}

fn spawn_relay(pi7: &Path, db: &Path, url: &str, extra: &[&str]) -> Child {
    pi7_cmd(pi7, db)
        .args(["relay", "--mqtt", url, "--name", "bench"])
        .args(extra)
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn stop(child: &mut Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
}

fn wait(mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "gave up waiting"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Publishes every event's body with its properties on `bench/<topic>`,
/// QoS 1, as fast as the broker acknowledges.
fn plain_publish(port: u16, events: &[Value]) {
    let mut options = MqttOptions::new("bench-floor", "127.0.0.1", port);
    // As the relay connects: no Nagle delay.
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    options.set_network_options(network);
    let (client, mut connection) = Client::new(options, 256);
    let acked = Arc::new(Mutex::new(0usize));
    let driver = {
        let acked = Arc::clone(&acked);
        let total = events.len();
        std::thread::spawn(move || {
            for event in connection.iter() {
                if let Ok(Event::Incoming(Packet::PubAck(_))) = event {
                    let mut a = acked.lock().unwrap();
                    *a += 1;
                    if *a == total {
                        return;
                    }
                }
            }
        })
    };
    for e in events {
        let properties = PublishProperties {
            payload_format_indicator: Some(1),
            content_type: Some("application/json".into()),
            user_properties: ["id", "seq", "processId", "causationId", "source", "time"]
                .iter()
                .filter(|k| !e[**k].is_null())
                .map(|k| (k.to_string(), e[*k].to_string()))
                .collect(),
            ..PublishProperties::default()
        };
        client
            .publish_with_properties(
                format!("bench/{}", e["topic"].as_str().unwrap()),
                QoS::AtLeastOnce,
                false,
                e["payload"].to_string(),
                properties,
            )
            .unwrap();
    }
    driver.join().unwrap();
    let _ = client.disconnect();
}

/// Counts what it hears and when.
struct Subscriber {
    arrivals: Arc<Mutex<Vec<(u64, f64)>>>,
    count: Arc<Mutex<usize>>,
    client: Client,
}

impl Subscriber {
    fn new(port: u16, filter: &str) -> Subscriber {
        let options = MqttOptions::new(
            format!("bench-sub-{}", uuid::Uuid::new_v4().simple()),
            "127.0.0.1",
            port,
        );
        let (client, mut connection) = Client::new(options, 256);
        client
            .subscribe_many([Filter::new(filter, QoS::AtLeastOnce)])
            .unwrap();
        let arrivals: Arc<Mutex<Vec<(u64, f64)>>> = Arc::default();
        let count: Arc<Mutex<usize>> = Arc::default();
        let subscribed = Arc::new(AtomicBool::new(false));
        {
            let (arrivals, count, subscribed) = (
                Arc::clone(&arrivals),
                Arc::clone(&count),
                Arc::clone(&subscribed),
            );
            std::thread::spawn(move || {
                for event in connection.iter() {
                    match event {
                        Ok(Event::Incoming(Packet::SubAck(_))) => {
                            subscribed.store(true, Ordering::Relaxed)
                        }
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            *count.lock().unwrap() += 1;
                            let seq = p.properties.as_ref().and_then(|props| {
                                props
                                    .user_properties
                                    .iter()
                                    .find(|(k, _)| k == "seq")
                                    .and_then(|(_, v)| v.parse().ok())
                            });
                            if let Some(seq) = seq {
                                arrivals.lock().unwrap().push((seq, wall_ms()));
                            }
                        }
                        Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => return,
                        _ => {}
                    }
                }
            });
        }
        wait(|| subscribed.load(Ordering::Relaxed));
        Subscriber {
            arrivals,
            count,
            client,
        }
    }

    fn count(&self) -> usize {
        *self.count.lock().unwrap()
    }

    fn wait_count(&self, n: usize) {
        wait(|| self.count() >= n);
    }

    fn arrivals(&self) -> Vec<(u64, f64)> {
        self.arrivals.lock().unwrap().clone()
    }

    fn seqs_after(&self, base: u64) -> HashSet<u64> {
        self.arrivals()
            .into_iter()
            .map(|(s, _)| s)
            .filter(|s| *s > base)
            .collect()
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.client.disconnect();
    }
}
