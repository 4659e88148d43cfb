//! IDs and their prefixes, like git's short hashes: at least 4 characters,
//! unique, or the command says what it could mean.

use std::collections::BTreeMap;

use crate::util::{assert_one_line, text, Submitted, TestEnv, NOW};

const NIL: &str = "00000000-0000-0000-0000-000000000000";

/// The shortest prefix of `id`, at least 4 characters, that no other id of
/// `all` starts with; so a test never depends on random ids not colliding.
fn unique_prefix<'a>(id: &'a str, all: &[&str]) -> &'a str {
    (4..=id.len())
        .map(|n| &id[..n])
        .find(|p| all.iter().filter(|other| other.starts_with(p)).count() == 1)
        .expect("an id is a unique prefix of itself")
}

fn all_ids(order: &Submitted) -> Vec<&str> {
    let mut all = vec![order.process.as_str(), order.order.as_str()];
    all.extend(order.reservations.iter().map(String::as_str));
    all
}

#[test]
fn confirm_takes_a_unique_prefix() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let all = all_ids(&order);
    let prefix = unique_prefix(&order.reservations[1], &all);
    let confirmed = env.json_lines(&["confirm", prefix]);
    assert_eq!(confirmed.len(), 1);
    assert_eq!(confirmed[0]["_id"], order.reservations[1].as_str());
    assert_eq!(confirmed[0]["object"]["status"], "confirmed");
    let first = env.json(&["show", &order.reservations[0]]);
    assert_eq!(first["object"]["status"], "unconfirmed");
}

#[test]
fn show_takes_a_unique_prefix_of_any_id() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let all = all_ids(&order);
    for id in &all {
        let prefix = unique_prefix(id, &all);
        let shown = env.json(&["show", prefix]);
        let expected = if order.reservations.iter().any(|r| r == id) {
            id.to_string()
        } else {
            order.order.clone()
        };
        assert_eq!(shown["_id"], expected.as_str(), "show {prefix}");
        // Upper case and surrounding blanks are forgiven.
        let shouted = format!(" {} ", prefix.to_uppercase());
        assert_eq!(env.json(&["show", &shouted])["_id"], expected.as_str());
    }
}

/// Whole ids, which scripts pass by the thousand, are looked up many at a
/// time: in capitals, among blanks, beside a prefix of the same reservation
/// and a sales order's id (not a reservation), each is still what it names.
#[test]
fn confirm_takes_whole_ids_in_any_case_and_names_each_once() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let [first, second, ..] = order.reservations.as_slice() else {
        panic!("the example order has several lines");
    };
    let before = env.snapshot();
    assert_eq!(
        env.fails(&["confirm", first, &order.order], 3),
        format!(
            "pi7: error: no reservation has an ID starting with '{}'\n",
            order.order
        )
    );
    assert_eq!(env.snapshot(), before);
    let shouted = format!(" {} ", first.to_uppercase());
    let confirmed = env.ok(&["confirm", &shouted, &first[..8], second]);
    let lines: Vec<&str> = confirmed
        .lines()
        .filter(|l| l.starts_with("confirmed"))
        .collect();
    assert_eq!(lines.len(), 2, "{confirmed}");
    assert!(lines[0].contains(first.as_str()) && lines[1].contains(second.as_str()));
    for id in [first, second] {
        assert_eq!(env.json(&["show", id])["object"]["status"], "confirmed");
    }
}

#[test]
fn a_prefix_of_three_characters_is_too_short() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let before = env.snapshot();
    let prefix = &order.reservations[0][..3];
    let expected =
        format!("pi7: error: ID prefix '{prefix}' is too short: give at least 4 characters\n");
    assert_eq!(env.fails(&["confirm", prefix], 2), expected);
    assert_eq!(env.fails(&["show", prefix], 2), expected);
    assert_eq!(
        env.fails(&["events", "--process", &order.process[..3]], 2),
        format!(
            "pi7: error: ID prefix '{}' is too short: give at least 4 characters\n",
            &order.process[..3]
        )
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn text_that_is_not_an_id_is_bad_input() {
    let env = TestEnv::new();
    env.submit_example();
    let before = env.snapshot();
    assert_eq!(
        env.fails(&["confirm", "hotel"], 2),
        "pi7: error: 'hotel' is not an ID: IDs are hex digits and dashes\n"
    );
    assert_eq!(
        env.fails(&["show", ""], 2),
        "pi7: error: '' is not an ID: IDs are hex digits and dashes\n"
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn an_unknown_id_is_not_found() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let before = env.snapshot();
    assert_eq!(
        env.fails(&["confirm", NIL], 3),
        format!("pi7: error: no reservation has an ID starting with '{NIL}'\n")
    );
    assert_eq!(
        env.fails(&["show", NIL], 3),
        format!(
            "pi7: error: no sales order, reservation or process has an ID starting with '{NIL}'\n"
        )
    );
    // A sales order is not a reservation to confirm.
    assert_eq!(
        env.fails(&["confirm", &order.order], 3),
        format!(
            "pi7: error: no reservation has an ID starting with '{}'\n",
            order.order
        )
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn confirm_writes_nothing_unless_every_id_is_found() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let before = env.snapshot();
    let stderr = env.fails(&["confirm", &order.reservations[0], NIL], 3);
    assert_one_line(&stderr);
    assert_eq!(env.snapshot(), before);
    let stderr = env.fails(&["confirm", &order.reservations[0], "12"], 2);
    assert_one_line(&stderr);
    assert_eq!(env.snapshot(), before);
}

/// Submits orders until two reservations share their first four
/// characters; returns that prefix and every reservation id with it, in
/// order. With 400 new reservations a round, a round finds one about
/// 70% of the time, so this takes a round or two.
pub fn ambiguous_reservation_prefix(env: &TestEnv) -> (String, Vec<String>) {
    let line = r#"{"customer": "many", "reservations": [{"id": 1, "reserved": "x"}, {"id": 2, "reserved": "y"}]}"#;
    let batch = format!("{line}\n").repeat(200);
    for _ in 0..20 {
        env.submit_stdin(&batch);
        let mut by_prefix: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in env.json(&["list", "reservations"]).as_array().unwrap() {
            let id = text(&r["_id"]);
            by_prefix.entry(id[..4].to_string()).or_default().push(id);
        }
        if let Some((prefix, mut ids)) = by_prefix.into_iter().find(|(_, ids)| ids.len() > 1) {
            ids.sort();
            return (prefix, ids);
        }
    }
    panic!("no two of 8000 reservations share a 4-character prefix");
}

#[test]
fn an_ambiguous_prefix_lists_the_candidates() {
    let env = TestEnv::new();
    let (prefix, ids) = ambiguous_reservation_prefix(&env);
    let before = env.snapshot();

    let mut expected =
        format!("pi7: error: ID prefix '{prefix}' is ambiguous; the candidates are:\n");
    for id in &ids {
        expected += &format!("  reservation  {id}\n");
    }
    assert_eq!(env.fails(&["confirm", &prefix], 3), expected);

    let stderr = env.fails(&["show", &prefix], 3);
    assert!(
        stderr.starts_with(&format!(
            "pi7: error: ID prefix '{prefix}' is ambiguous; the candidates are:\n"
        )),
        "{stderr}"
    );
    for id in &ids {
        assert!(
            stderr.contains(&format!("  reservation  {id}\n")),
            "{stderr}"
        );
    }
    assert_eq!(env.snapshot(), before);

    // One more character tells them apart.
    let longer = unique_prefix(&ids[0], &ids.iter().map(String::as_str).collect::<Vec<_>>());
    let confirmed = env.json_lines_at(NOW + 1, &["confirm", longer]);
    assert_eq!(confirmed.len(), 1);
    assert_eq!(confirmed[0]["_id"], ids[0].as_str());
}

/// Whole ids go straight to the write transaction; one that is not there is
/// still said to be not there while another writer holds the database,
/// rather than the database being busy: looking ids up needs no lock.
#[test]
fn an_unknown_whole_id_is_not_found_while_another_writer_holds_the_database() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let before = env.snapshot();
    let holder = rusqlite::Connection::open(env.db()).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let run = env
        .cmd()
        // Each attempt waits 20 ms instead of 5 s for the lock.
        .env("PI7_BUSY_TIMEOUT_MS", "20")
        .args(["confirm", &order.reservations[0], NIL])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stderr),
        format!("pi7: error: no reservation has an ID starting with '{NIL}'\n")
    );
    assert_eq!(run.status.code(), Some(3));
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    assert_eq!(env.snapshot(), before);
}
