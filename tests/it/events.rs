//! `pi7 events`: filters, `--follow`, and readers that stop reading.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::util::{parse_json, text, Submitted, TestEnv, NOW};

/// Two processes: the first confirmed (4 events), the second with one line
/// confirmed (2 events), interleaved in the log.
fn two_processes(env: &TestEnv) -> (Submitted, Submitted) {
    let first = env.submit_example();
    let second = env.submit_example();
    env.ok_at(NOW + 1, &["confirm", &first.reservations[0]]);
    env.ok_at(NOW + 2, &["confirm", &second.reservations[1]]);
    env.ok_at(NOW + 3, &["confirm", &first.reservations[1]]);
    (first, second)
}

fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

#[test]
fn events_are_in_seq_order() {
    let env = TestEnv::new();
    two_processes(&env);
    let events = env.json_lines(&["events"]);
    assert_eq!(seqs(&events), [1, 2, 3, 4, 5, 6]);
    let topics: Vec<String> = events.iter().map(|e| text(&e["topic"])).collect();
    assert_eq!(
        topics,
        [
            "salesorder/request",
            "salesorder/request",
            "reservation/confirm",
            "reservation/confirm",
            "reservation/confirm",
            "salesorder/confirm",
        ]
    );
}

#[test]
fn events_of_one_process() {
    let env = TestEnv::new();
    let (first, second) = two_processes(&env);
    assert_eq!(
        seqs(&env.json_lines(&["events", "--process", &first.process])),
        [1, 3, 5, 6]
    );
    assert_eq!(
        seqs(&env.json_lines(&["events", "--process", &second.process[..8]])),
        [2, 4]
    );
    // Any id of the process names it.
    assert_eq!(
        seqs(&env.json_lines(&["events", "--process", &second.reservations[0]])),
        [2, 4]
    );
    assert_eq!(
        seqs(&env.json_lines(&["events", "--process", &first.order])),
        [1, 3, 5, 6]
    );
}

#[test]
fn events_of_one_topic() {
    let env = TestEnv::new();
    let (first, _) = two_processes(&env);
    assert_eq!(
        seqs(&env.json_lines(&["events", "--topic", "reservation/confirm"])),
        [3, 4, 5]
    );
    assert_eq!(
        seqs(&env.json_lines(&["events", "--topic", "salesorder/request"])),
        [1, 2]
    );
    let confirms = env.json_lines(&["events", "--topic", "salesorder/confirm"]);
    assert_eq!(seqs(&confirms), [6]);
    assert_eq!(confirms[0]["processId"], first.process.as_str());
    assert_eq!(
        seqs(&env.json_lines(&[
            "events",
            "--topic",
            "reservation/confirm",
            "--process",
            &first.process
        ])),
        [3, 5]
    );
    let stderr = env.fails(&["events", "--topic", "order/shipped"], 2);
    assert!(
        stderr.starts_with("pi7: error: invalid value 'order/shipped' for '--topic <TOPIC>'"),
        "{stderr}"
    );
}

#[test]
fn events_since_a_seq() {
    let env = TestEnv::new();
    two_processes(&env);
    assert_eq!(seqs(&env.json_lines(&["events", "--since", "4"])), [5, 6]);
    assert_eq!(
        seqs(&env.json_lines(&["events", "--since", "0"])),
        [1, 2, 3, 4, 5, 6]
    );
    assert!(env.json_lines(&["events", "--since", "6"]).is_empty());
    assert!(env.json_lines(&["events", "--since", "1000"]).is_empty());
    assert!(env
        .json_lines(&["events", "--since", &u64::MAX.to_string()])
        .is_empty());
    assert_eq!(
        seqs(&env.json_lines(&["events", "--since", "2", "--topic", "salesorder/confirm"])),
        [6]
    );
}

#[test]
fn a_bad_since_is_a_usage_error() {
    let env = TestEnv::new();
    env.submit_example();
    let before = env.snapshot();
    for bad in ["abc", "-1", "1.5", "", "18446744073709551616"] {
        let stderr = env.fails(&["events", "--since", bad], 2);
        crate::util::assert_one_line(&stderr);
    }
    assert_eq!(env.snapshot(), before);
}

/// Kills the child when dropped, so a failing assertion leaves no process.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn follow_prints_events_as_they_land() {
    let env = TestEnv::new();
    let first = env.submit_example();

    let mut child = env
        .std_cmd_at(NOW)
        .args(["--json", "events", "--follow"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("pi7 events --follow starts");
    let stdout = child.stdout.take().expect("a piped stdout");
    let child = Killed(child);
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let next = |what: &str| -> Value {
        let line = received
            // Only a bound on a hang, not a speed: a loaded machine can
            // take seconds to start the child.
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no line from --follow within 120 s: {what}"));
        parse_json(&line)
    };

    let old = next("the event already in the log");
    assert_eq!(old["seq"], 1);
    assert_eq!(old["processId"], first.process.as_str());

    let second = env.submit_example();
    let new = next("the event of a submit made while following");
    assert_eq!(new["seq"], 2);
    assert_eq!(new["topic"], "salesorder/request");
    assert_eq!(new["processId"], second.process.as_str());

    env.ok_at(NOW + 1, &["confirm", &second.reservations[0]]);
    let confirm = next("the event of a confirm made while following");
    assert_eq!(confirm["seq"], 3);
    assert_eq!(confirm["topic"], "reservation/confirm");
    drop(child);
}

#[test]
fn a_reader_that_stops_early_is_no_error() {
    let env = TestEnv::new();
    // Enough JSON that it cannot all sit in a pipe's buffer (64 KiB).
    let line = r#"{"customer": "many", "reservations": [{"id": 1, "reserved": "a room with a view of the sea"}]}"#;
    env.submit_stdin(&format!("{line}\n").repeat(1000));

    for args in [&["--json", "events"][..], &["events"][..]] {
        let mut child = env
            .std_cmd_at(NOW)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pi7 events starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        assert!(!first.is_empty());
        drop(stdout);
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(stderr, "", "{args:?}");
        assert!(status.success(), "{args:?}: {status}");
    }
}
