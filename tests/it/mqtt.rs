//! pi7 on a real broker: `pi7 relay` publishes the log to mosquitto, and
//! `--inbox` takes what others publish there. Every test starts its own
//! mosquitto (see `broker.rs`); without one installed they are skipped,
//! loudly, unless `CI` is set.

use std::collections::{BTreeMap, HashSet};
use std::process::{Child, Stdio};

use serde_json::{json, Value};

use crate::broker::{publish, Broker, Heard, Subscriber, USER};
use crate::util::{example, text, wait_for, TestEnv};

/// A running `pi7 relay`, its stderr kept in a file of the test's directory.
struct Relay {
    child: Child,
    stderr: std::path::PathBuf,
}

impl Relay {
    fn start(env: &TestEnv, broker: &Broker, extra: &[&str]) -> Relay {
        Relay::start_at(env, &broker.url(), extra, &[])
    }

    /// A relay on the broker at `url`, with `vars` in its environment.
    fn start_at(env: &TestEnv, url: &str, extra: &[&str], vars: &[(&str, &str)]) -> Relay {
        let stderr = env
            .dir()
            .join(format!("relay-{}.err", uuid::Uuid::new_v4().simple()));
        let child = env
            .std_cmd_at(crate::util::NOW)
            .args(["relay", "--mqtt", url, "--lease", "1s"])
            .args(extra)
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("pi7 relay starts");
        Relay { child, stderr }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Ctrl-C's twin: the relay must stop cleanly, exit 0.
    fn terminate(mut self) -> String {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().unwrap();
        let stderr = self.stderr();
        assert!(status.success(), "relay exited with {status}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr
    }

    fn kill(mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

/// The walkthrough's events, in log order.
const WALKTHROUGH: [&str; 4] = [
    "salesorder/request",
    "reservation/confirm",
    "reservation/confirm",
    "salesorder/confirm",
];

/// A broker, a database, and a subscriber on every topic; `None` when the
/// test is skipped for want of mosquitto.
fn setup(test: &str) -> Option<(Broker, TestEnv, Subscriber)> {
    let broker = Broker::start(test)?;
    let env = TestEnv::new();
    let sub = Subscriber::new(&broker, "#");
    Some((broker, env, sub))
}

/// The log as `pi7 events --json` prints it.
fn log(env: &TestEnv) -> Vec<Value> {
    env.json_lines(&["events"])
}

/// Waits until the subscriber heard every event of the log on its topic.
fn wait_for_log(sub: &Subscriber, env: &TestEnv) -> Vec<Value> {
    let events = log(env);
    wait_for_log_on(sub, &events);
    events
}

/// What the subscriber heard of pi7's events, de-duplicated by `id` (first
/// copy kept), checked against the log: each event exactly as in the log,
/// none that is not in it, every one of it, and per process in log order.
fn assert_heard_exactly_the_log(heard: &[Heard], events: &[Value]) {
    let by_id: BTreeMap<String, &Value> = events.iter().map(|e| (text(&e["id"]), e)).collect();
    let mut seen = HashSet::new();
    let mut last_seq_of_process: BTreeMap<String, u64> = BTreeMap::new();
    for h in heard.iter().filter(|h| h.property("id").is_some()) {
        let id = h.property("id").unwrap().to_string();
        let event = by_id
            .get(&id)
            .unwrap_or_else(|| panic!("heard an event that is not in the log: {h:?}"));
        assert_eq!(h.topic, text(&event["topic"]));
        assert_eq!(h.body, event["payload"], "the body of event {id}");
        if !seen.insert(id.clone()) {
            continue;
        }
        let seq = event["seq"].as_u64().unwrap();
        let process = text(&event["processId"]);
        let last = last_seq_of_process
            .insert(process.clone(), seq)
            .unwrap_or(0);
        assert!(
            seq > last,
            "process {process}: event {seq} first heard after event {last}"
        );
    }
    assert_eq!(
        seen.len(),
        events.len(),
        "heard {} of {} events",
        seen.len(),
        events.len()
    );
}

#[test]
fn the_walkthrough_goes_out_on_the_broker_in_log_order_with_its_envelope() {
    let Some((broker, env, sub)) = setup("mqtt walkthrough") else {
        return;
    };
    let order = env.submit_example();
    env.ok(&["confirm", &order.reservations[0]]);
    env.ok(&["confirm", &order.reservations[1]]);
    let relay = Relay::start(&env, &broker, &[]);
    let events = wait_for_log(&sub, &env);
    let stderr = relay.terminate();
    assert!(
        stderr.contains("pi7: relay: publishing 'default' to"),
        "{stderr}"
    );

    let heard = sub.heard();
    let topics: Vec<&str> = heard.iter().map(|h| h.topic.as_str()).collect();
    assert_eq!(topics, WALKTHROUGH);
    for (h, e) in heard.iter().zip(&events) {
        assert_eq!(h.body, e["payload"]);
        let mut expected = vec![
            ("id".to_string(), text(&e["id"])),
            ("seq".to_string(), e["seq"].to_string()),
            ("processId".to_string(), order.process.clone()),
        ];
        if !e["causationId"].is_null() {
            expected.push(("causationId".to_string(), text(&e["causationId"])));
        }
        expected.push(("source".to_string(), text(&e["source"])));
        expected.push(("time".to_string(), e["time"].to_string()));
        assert_eq!(h.properties, expected);
    }
    // The SPEC's bodies.
    let confirm = &heard[1].body;
    assert_eq!(
        confirm,
        &json!({"processId": order.process, "reservation": {
            "id": 1, "reserved": "some hotel", "status": "confirmed", "_id": order.reservations[0]}})
    );
    assert_eq!(
        heard[3].property("causationId"),
        Some(text(&events[2]["id"]).as_str())
    );
    let done = &heard[3].body;
    assert_eq!(text(&done["salesorder"]["_id"]), order.order);
    assert_eq!(text(&done["salesorder"]["customer"]), "christophe");
    assert_eq!(
        heard[0].body["salesorder"],
        json!({"customer": "christophe", "reservations": [
        {"id": 1, "reserved": "some hotel"}, {"id": 2, "reserved": "a plane"}]})
    );

    // The position is stored: a relay started again publishes nothing old,
    // and what lands later goes out after it.
    let relay = Relay::start(&env, &broker, &[]);
    env.submit(&example("order.json"));
    let events = wait_for_log(&sub, &env);
    relay.terminate();
    assert_heard_exactly_the_log(&sub.heard(), &events);
    assert_eq!(sub.heard().len(), 5, "{:#?}", sub.heard());

    // --from-start publishes everything again.
    let relay = Relay::start(&env, &broker, &["--from-start"]);
    sub.wait_for("the log again", |heard| heard.len() == 10);
    relay.terminate();
    let heard = sub.heard();
    let again: Vec<Option<&str>> = heard[5..].iter().map(|h| h.property("seq")).collect();
    assert_eq!(
        again,
        [Some("1"), Some("2"), Some("3"), Some("4"), Some("5")]
    );
}

#[test]
fn an_outside_request_is_submitted_once_and_commands_confirm_or_are_dead_lettered() {
    let Some((broker, env, sub)) = setup("mqtt inbox") else {
        return;
    };
    let relay = Relay::start(&env, &broker, &["--inbox"]);
    let process = "6b91c191-1f2e-4d3c-8b4a-000000000001";
    let request = json!({"processId": process, "salesorder": {
        "customer": "christophe",
        "reservations": [{"id": 1, "reserved": "some hotel"}, {"id": 2, "reserved": "a plane"}]}});
    let request = serde_json::to_vec(&request).unwrap();
    // The inbox connects once the relay holds its lease.
    wait_for("the inbox to subscribe", || {
        publish(&broker, "pi7/command/confirm", br#"{"id": "nothing"}"#);
        std::thread::sleep(std::time::Duration::from_millis(200));
        sub.heard().iter().any(|h| h.topic == "pi7/deadletter")
    });
    publish(&broker, "salesorder/request", &request);
    publish(&broker, "salesorder/request", &request);
    publish(
        &broker,
        "salesorder/request",
        br#"{"processId": "6b91c191", "salesorder": {}}"#,
    );
    // The inbox takes messages in order: once the third is answered, the
    // first two were taken.
    sub.wait_for("the dead letter", |heard| {
        heard
            .iter()
            .any(|h| h.topic == "pi7/deadletter" && h.body["topic"] == "salesorder/request")
    });
    let requests: Vec<Value> = log(&env)
        .into_iter()
        .filter(|e| e["topic"] == "salesorder/request")
        .collect();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(text(&requests[0]["processId"]), process);
    let letter = sub
        .heard()
        .into_iter()
        .find(|h| h.topic == "pi7/deadletter" && h.body["topic"] == "salesorder/request")
        .unwrap();
    assert_eq!(
        letter.body,
        json!({"topic": "salesorder/request",
               "reason": "processId '6b91c191' is not a UUID",
               "payload": r#"{"processId": "6b91c191", "salesorder": {}}"#})
    );
    assert_eq!(
        letter.property("reason"),
        Some("processId '6b91c191' is not a UUID")
    );

    // Confirm both lines by id prefix through the broker; the order
    // completes and its confirmation goes out.
    let reservations = env.json(&["list", "reservations"]);
    for r in reservations.as_array().unwrap() {
        let id = text(&r["_id"]);
        publish(
            &broker,
            "pi7/command/confirm",
            json!({"id": &id[..8]}).to_string().as_bytes(),
        );
    }
    sub.wait_for("salesorder/confirm", |heard| {
        heard.iter().any(|h| h.topic == "salesorder/confirm")
    });
    // Cancelling a confirmed order is refused, as on the command line.
    publish(
        &broker,
        "pi7/command/cancel",
        json!({"id": process}).to_string().as_bytes(),
    );
    sub.wait_for("the refused cancel", |heard| {
        heard
            .iter()
            .any(|h| h.topic == "pi7/deadletter" && h.body["topic"] == "pi7/command/cancel")
    });
    let events = wait_for_log(&sub, &env);
    let stderr = relay.terminate();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let topics: Vec<String> = events.iter().map(|e| text(&e["topic"])).collect();
    assert_eq!(topics, WALKTHROUGH);
    // Every dead letter is in the database too.
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    let recorded: Vec<(String, String)> = conn
        .prepare("SELECT topic, reason FROM dead_letters ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let heard_letters: Vec<(String, String)> = sub
        .heard()
        .iter()
        .filter(|h| h.topic == "pi7/deadletter")
        .map(|h| (text(&h.body["topic"]), text(&h.body["reason"])))
        .collect();
    assert_eq!(recorded, heard_letters);
    assert!(
        recorded.last().unwrap().1.contains("confirmed"),
        "{recorded:?}"
    );

    // A request published while no inbox runs waits on the broker for the
    // inbox's session.
    let later = "6b91c191-1f2e-4d3c-8b4a-000000000002";
    let request = json!({"processId": later, "salesorder": {
        "customer": "later", "reservations": [{"id": 1, "reserved": "a boat"}]}});
    publish(
        &broker,
        "salesorder/request",
        request.to_string().as_bytes(),
    );
    let relay = Relay::start(&env, &broker, &["--inbox"]);
    wait_for("the request published while away", || {
        log(&env).iter().any(|e| text(&e["processId"]) == later)
    });
    relay.terminate();
}

#[test]
fn a_relay_killed_again_and_again_loses_nothing() {
    let Some((broker, env, sub)) = setup("mqtt kills") else {
        return;
    };
    let order = r#"{"customer": "c", "reservations": [{"id": 1, "reserved": "a"}, {"id": 2, "reserved": "b"}]}"#;
    let batch = vec![order; 25].join("\n");
    let mut to_confirm: Vec<String> = Vec::new();
    // A fixed sequence of waits: the kills land wherever they land.
    let mut wait_ms: u64 = 37;
    for _ in 0..20 {
        let relay = Relay::start(&env, &broker, &[]);
        // Each relay is killed while it holds the lease and publishes, not
        // while it stands by for the one killed before it.
        wait_for("the relay to take the lease", || {
            relay.stderr().contains("pi7: relay: publishing 'default'")
        });
        let submitted = env.submit_stdin(&batch);
        if !to_confirm.is_empty() {
            let run = env.exec(
                env.cmd()
                    .args(["confirm", "-"])
                    .write_stdin(to_confirm.join("\n")),
            );
            assert_eq!(run.code, 0, "{}", run.stderr);
        }
        to_confirm = submitted
            .iter()
            .flat_map(|o| o["reservations"].as_array().unwrap().clone())
            .map(|r| text(&r["_id"]))
            .collect();
        wait_ms = (wait_ms * 7 + 13) % 400;
        std::thread::sleep(std::time::Duration::from_millis(wait_ms));
        relay.kill();
    }
    let run = env.exec(
        env.cmd()
            .args(["confirm", "-"])
            .write_stdin(to_confirm.join("\n")),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let relay = Relay::start(&env, &broker, &[]);
    let events = wait_for_log(&sub, &env);
    relay.terminate();
    assert_eq!(events.len(), 500 * 4);
    assert_heard_exactly_the_log(&sub.heard(), &events);
}

#[test]
fn a_broker_that_goes_away_and_comes_back_loses_nothing() {
    let Some((mut broker, env, sub)) = setup("mqtt broker restart") else {
        return;
    };
    let relay = Relay::start(&env, &broker, &[]);
    env.submit(&example("order.json"));
    wait_for_log(&sub, &env);
    broker.stop();
    for _ in 0..3 {
        env.submit(&example("order.json"));
    }
    wait_for("the relay to say it lost the broker", || {
        relay.stderr().contains("lost the broker")
            || relay.stderr().contains("cannot reach the broker")
    });
    broker.restart();
    let events = wait_for_log(&sub, &env);
    let stderr = relay.terminate();
    assert!(stderr.contains("retrying in"), "{stderr}");
    assert_heard_exactly_the_log(&sub.heard(), &events);
}

#[test]
fn a_relay_started_without_a_broker_retries_until_one_is_there() {
    let Some(mut broker) = Broker::start("mqtt broker late") else {
        return;
    };
    broker.stop();
    let env = TestEnv::new();
    env.submit(&example("order.json"));
    let relay = Relay::start(&env, &broker, &[]);
    wait_for("the relay to say it cannot reach the broker", || {
        relay.stderr().contains(&format!(
            "pi7: relay: cannot reach the broker at {}",
            broker.url()
        ))
    });
    broker.restart();
    // Acknowledged by the broker: the position moves to the end of the log.
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    wait_for("the position to reach the end of the log", || {
        conn.query_row("SELECT position FROM relay_positions", [], |r| {
            r.get::<_, i64>(0)
        })
        .is_ok_and(|p| p == 1)
    });
    let stderr = relay.terminate();
    let retried = stderr.find("retrying in").unwrap();
    let published = stderr.find("pi7: relay: publishing 'default'").unwrap();
    assert!(retried < published, "{stderr}");
}

#[test]
fn a_bad_broker_url_is_refused_in_one_line() {
    let env = TestEnv::new();
    let stderr = env.fails(&["relay", "--mqtt", "http://host:1"], 2);
    assert_eq!(
        stderr,
        "pi7: error: bad broker URL 'http://host:1': unknown scheme (expected mqtt://HOST:PORT or mqtts://HOST:PORT)\n"
    );
    let stderr = env.fails(
        &["relay", "--mqtt", "mqtts://u:secret@host", "--lease", "1ms"],
        2,
    );
    assert_eq!(stderr, "pi7: error: --lease must be at least 300ms\n");
    let stderr = env.fails(&["relay", "--mqtt", "mqtt://h", "--name", "a/#"], 2);
    assert_eq!(
        stderr,
        "pi7: error: --name 'a/#' is not a relay name: use letters, digits, '-', '_' and '.'\n"
    );
}

/// The dead letters a database recorded, (topic, reason) in order.
type Letters = Vec<(String, String)>;

/// Two relays with inboxes on one database, on either store: one holds the
/// lease and publishes while the other stands by; an outside service
/// submits, confirms (twice) and rejects through the broker, each exactly
/// once; when the first stops the second takes over where it left off; a
/// subscriber hears exactly the log, no event twice; and `--since`
/// publishes the rest of the log again under another name.
fn two_relays_and_an_outside_service(
    broker: &Broker,
    env: &TestEnv,
    sub: &Subscriber,
    db: &str,
    dead_letters: &dyn Fn() -> Letters,
) {
    let events = || env.json_lines(&["--db", db, "events"]);
    let first = Relay::start(env, broker, &["--db", db, "--inbox"]);
    wait_for("the first relay to take the lease", || {
        first.stderr().contains("pi7: relay: publishing 'default'")
    });
    let second = Relay::start(env, broker, &["--db", db, "--inbox"]);
    wait_for("the second relay to stand by", || {
        second
            .stderr()
            .contains("pi7: relay: 'default' is held by another relay")
    });
    wait_for("the inbox to subscribe", || {
        publish(broker, "pi7/command/confirm", br#"{"id": "nothing"}"#);
        std::thread::sleep(std::time::Duration::from_millis(200));
        sub.heard().iter().any(|h| h.topic == "pi7/deadletter")
    });

    let process = "6b91c191-1f2e-4d3c-8b4a-0000000000a1";
    let request = json!({"processId": process, "salesorder": {
        "customer": "christophe",
        "reservations": [{"id": 1, "reserved": "some hotel"}, {"id": 2, "reserved": "a plane"}]}});
    let request = request.to_string();
    publish(broker, "salesorder/request", request.as_bytes());
    publish(broker, "salesorder/request", request.as_bytes());
    wait_for("the request in the log", || {
        events().iter().any(|e| e["topic"] == "salesorder/request")
    });
    let reservations = env.json(&["--db", db, "list", "reservations"]);
    let ids: Vec<String> = reservations
        .as_array()
        .unwrap()
        .iter()
        .map(|r| text(&r["_id"]))
        .collect();
    assert_eq!(ids.len(), 2, "{reservations:#}");
    // QoS 1 may deliver a command twice: the second changes nothing.
    let confirm = json!({"id": ids[0]}).to_string();
    publish(broker, "pi7/command/confirm", confirm.as_bytes());
    publish(broker, "pi7/command/confirm", confirm.as_bytes());
    let reject = json!({"id": ids[1], "reason": "sold out"}).to_string();
    publish(broker, "pi7/command/reject", reject.as_bytes());
    publish(broker, "pi7/command/reject", b"not json");
    sub.wait_for("the cancellation and the dead letter", |heard| {
        heard.iter().any(|h| h.topic == "salesorder/cancel")
            && heard
                .iter()
                .any(|h| h.topic == "pi7/deadletter" && h.body["topic"] == "pi7/command/reject")
    });
    let topics: Vec<String> = events().iter().map(|e| text(&e["topic"])).collect();
    assert_eq!(
        topics,
        [
            "salesorder/request",
            "reservation/confirm",
            "reservation/reject",
            "salesorder/cancel",
            "reservation/release",
        ]
    );
    let order = env.json(&["--db", db, "show", process]);
    assert_eq!(order["object"]["status"], "cancelled", "{order:#}");

    // Another service's order, cancelled through the broker (twice: the
    // second changes nothing).
    let other = "6b91c191-1f2e-4d3c-8b4a-0000000000a2";
    let request = json!({"processId": other, "salesorder": {
        "customer": "someone", "reservations": [{"id": 1, "reserved": "a boat"}]}});
    publish(broker, "salesorder/request", request.to_string().as_bytes());
    wait_for("the second request in the log", || {
        events().iter().any(|e| text(&e["processId"]) == other)
    });
    let cancel = json!({"id": other, "reason": "changed my mind"}).to_string();
    publish(broker, "pi7/command/cancel", cancel.as_bytes());
    publish(broker, "pi7/command/cancel", cancel.as_bytes());
    wait_for("the cancellation of the second order", || {
        env.json(&["--db", db, "show", other])["object"]["status"] == "cancelled"
    });
    let of_other: Vec<String> = events()
        .iter()
        .filter(|e| text(&e["processId"]) == other)
        .map(|e| text(&e["topic"]))
        .collect();
    assert_eq!(
        of_other,
        [
            "salesorder/request",
            "salesorder/cancel",
            "reservation/release"
        ]
    );

    // The first relay stops; the second takes over from where the broker
    // acknowledged, and publishes what lands after.
    wait_for_log_on(sub, &events());
    first.terminate();
    wait_for("the second relay to take over", || {
        second.stderr().contains("pi7: relay: publishing 'default'")
    });
    env.ok(&["--db", db, "submit", &example("order.json")]);
    let log = events();
    wait_for_log_on(sub, &log);
    second.terminate();
    assert_heard_exactly_the_log(&sub.heard(), &log);
    let published = sub
        .heard()
        .iter()
        .filter(|h| h.property("id").is_some())
        .count();
    assert_eq!(published, log.len(), "no event was published twice");

    // What the inbox could not take is recorded as it was answered.
    let letters = dead_letters();
    let answered: Letters = sub
        .heard()
        .iter()
        .filter(|h| h.topic == "pi7/deadletter")
        .map(|h| (text(&h.body["topic"]), text(&h.body["reason"])))
        .collect();
    assert_eq!(letters, answered);
    assert_eq!(letters.last().unwrap().0, "pi7/command/reject");

    // --since publishes the log after that seq again, under a name of its own.
    let replay = Relay::start(
        env,
        broker,
        &["--db", db, "--name", "again", "--since", "3"],
    );
    let expected = log.len() - 3;
    sub.wait_for("the log after seq 3 again", |heard| {
        heard.iter().filter(|h| h.property("id").is_some()).count() == log.len() + expected
    });
    replay.terminate();
    let again: Vec<u64> = sub
        .heard()
        .iter()
        .filter_map(|h| h.property("seq"))
        .skip(log.len())
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(again, (4..=log.len() as u64).collect::<Vec<_>>());
}

/// Waits until the subscriber heard every event of `events`.
fn wait_for_log_on(sub: &Subscriber, events: &[Value]) {
    let ids: HashSet<String> = events.iter().map(|e| text(&e["id"])).collect();
    sub.wait_for("every event of the log on the broker", |heard| {
        let seen: HashSet<&str> = heard.iter().filter_map(|h| h.property("id")).collect();
        ids.iter().all(|id| seen.contains(id.as_str()))
    });
}

#[test]
fn two_relays_share_one_sqlite_database_and_an_outside_service_uses_the_inbox() {
    let Some((broker, env, sub)) = setup("mqtt two relays on sqlite") else {
        return;
    };
    let db = env.db().to_str().unwrap().to_string();
    let letters = || -> Letters {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let mut stmt = conn
            .prepare("SELECT topic, reason FROM dead_letters ORDER BY id")
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows
    };
    two_relays_and_an_outside_service(&broker, &env, &sub, &db, &letters);
}

#[test]
fn two_relays_share_one_postgres_database_and_an_outside_service_uses_the_inbox() {
    let Some(pg) = crate::postgres::PgDb::new("mqtt two relays on postgres") else {
        return;
    };
    let Some((broker, env, sub)) = setup("mqtt two relays on postgres") else {
        return;
    };
    let letters = || -> Letters {
        pg.sql("SELECT topic, reason FROM dead_letters ORDER BY id")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    };
    two_relays_and_an_outside_service(&broker, &env, &sub, &pg.url, &letters);
}

#[test]
fn the_relay_speaks_tls_and_gives_its_password_from_the_url_or_the_environment() {
    let Some((broker, secure)) = Broker::start_secure("mqtt over TLS with a password") else {
        return;
    };
    let env = TestEnv::new();
    // The test listens on the broker's plain listener; pi7 may only use the
    // TLS one, and only with the password.
    let sub = Subscriber::new(&broker, "#");
    env.submit(&example("order.json"));
    let ca = secure.ca.to_str().unwrap();

    let wrong = format!(
        "mqtts://{}:wrong-password@127.0.0.1:{}",
        USER.0, secure.port
    );
    let refused = Relay::start_at(&env, &wrong, &[], &[("PI7_MQTT_CA", ca)]);
    wait_for("the relay to say the broker refused it", || {
        refused
            .stderr()
            .contains("cannot reach the broker at mqtts://")
    });
    let stderr = refused.terminate();
    assert!(!stderr.contains("wrong-password"), "{stderr}");
    assert!(sub.heard().is_empty(), "{:?}", sub.heard());

    let url = format!("mqtts://127.0.0.1:{}", secure.port);
    let relay = Relay::start_at(
        &env,
        &url,
        &[],
        &[
            ("PI7_MQTT_CA", ca),
            ("PI7_MQTT_USERNAME", USER.0),
            ("PI7_MQTT_PASSWORD", USER.1),
        ],
    );
    let events = wait_for_log(&sub, &env);
    relay.terminate();
    assert_heard_exactly_the_log(&sub.heard(), &events);
}
