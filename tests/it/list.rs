//! `pi7 list`: orders and reservations narrowed by status, process and
//! customer.

use crate::util::{assert_one_line, example, text, Submitted, TestEnv};

/// christophe (2 lines, pending), koen (3 lines, 1 confirmed, pending),
/// ann (1 line, confirmed), bob (2 lines, pending).
fn four_orders() -> (TestEnv, Vec<Submitted>) {
    let env = TestEnv::new();
    let orders: Vec<Submitted> = env
        .submit(&example("orders.jsonl"))
        .into_iter()
        .map(Submitted::from)
        .collect();
    env.ok(&[
        "confirm",
        &orders[2].reservations[0],
        &orders[1].reservations[0],
    ]);
    (env, orders)
}

fn order_customers(env: &TestEnv, filters: &[&str]) -> Vec<String> {
    let mut args = vec!["list", "orders"];
    args.extend_from_slice(filters);
    env.json(&args)
        .as_array()
        .expect("an array")
        .iter()
        .map(|o| text(&o["object"]["customer"]))
        .collect()
}

fn reservation_ids(env: &TestEnv, filters: &[&str]) -> Vec<String> {
    let mut args = vec!["list", "reservations"];
    args.extend_from_slice(filters);
    env.json(&args)
        .as_array()
        .expect("an array")
        .iter()
        .map(|r| text(&r["_id"]))
        .collect()
}

#[test]
fn orders_by_status() {
    let (env, _) = four_orders();
    assert_eq!(
        order_customers(&env, &[]),
        ["christophe", "koen", "ann", "bob"]
    );
    assert_eq!(
        order_customers(&env, &["--status", "pending"]),
        ["christophe", "koen", "bob"]
    );
    assert_eq!(order_customers(&env, &["--status", "confirmed"]), ["ann"]);
}

#[test]
fn orders_by_customer() {
    let (env, _) = four_orders();
    assert_eq!(order_customers(&env, &["--customer", "koen"]), ["koen"]);
    assert!(order_customers(&env, &["--customer", "nobody"]).is_empty());
    assert!(order_customers(&env, &["--customer", "Koen"]).is_empty());
    assert_eq!(
        order_customers(&env, &["--customer", "koen", "--status", "pending"]),
        ["koen"]
    );
    assert!(order_customers(&env, &["--customer", "koen", "--status", "confirmed"]).is_empty());
}

#[test]
fn orders_by_process() {
    let (env, orders) = four_orders();
    let bob = &orders[3];
    for id in [
        bob.process.as_str(),
        &bob.process[..8],
        &bob.order,
        &bob.reservations[1][..8],
    ] {
        assert_eq!(
            order_customers(&env, &["--process", id]),
            ["bob"],
            "--process {id}"
        );
    }
}

#[test]
fn reservations_by_status() {
    let (env, orders) = four_orders();
    assert_eq!(
        reservation_ids(&env, &["--status", "confirmed"]),
        [
            orders[1].reservations[0].clone(),
            orders[2].reservations[0].clone()
        ]
    );
    let unconfirmed = reservation_ids(&env, &["--status", "unconfirmed"]);
    assert_eq!(unconfirmed.len(), 6);
    assert!(!unconfirmed.contains(&orders[2].reservations[0]));
    assert_eq!(reservation_ids(&env, &[]).len(), 8);
}

#[test]
fn reservations_by_customer_and_process() {
    let (env, orders) = four_orders();
    let koen = &orders[1];
    assert_eq!(
        reservation_ids(&env, &["--customer", "koen"]),
        koen.reservations
    );
    assert_eq!(
        reservation_ids(&env, &["--process", &koen.process]),
        koen.reservations
    );
    assert_eq!(
        reservation_ids(&env, &["--process", &koen.process[..8]]),
        koen.reservations
    );
    assert_eq!(
        reservation_ids(&env, &["--process", &koen.reservations[2]]),
        koen.reservations
    );
    assert_eq!(
        reservation_ids(&env, &["--customer", "koen", "--status", "unconfirmed"]),
        koen.reservations[1..]
    );
    assert!(reservation_ids(&env, &["--customer", "nobody"]).is_empty());
}

#[test]
fn nothing_matching_is_said_on_stderr_not_stdout() {
    let (env, _) = four_orders();
    let run = env.run(&["list", "--customer", "nobody"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "pi7: no sales orders match\n");
    let run = env.run(&["list", "reservations", "--customer", "nobody"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "pi7: no reservations match\n");
}

/// Asserts that `stderr` is the one line rejecting `status`, listing the
/// known statuses; later issues may add states, so the list may go on.
fn assert_unknown_status(stderr: &str, noun: &str, status: &str, known: &str) {
    assert_one_line(stderr);
    let start = format!("pi7: error: unknown {noun} status '{status}' (known: {known}");
    assert!(
        stderr.starts_with(&start) && stderr.ends_with(")\n"),
        "{stderr:?} does not start with {start:?}"
    );
}

#[test]
fn an_unknown_status_is_bad_input() {
    let (env, _) = four_orders();
    let before = env.snapshot();
    let orders = "pending, confirmed";
    let stderr = env.fails(&["list", "--status", "shipped"], 2);
    assert_unknown_status(&stderr, "order", "shipped", orders);
    let stderr = env.fails(&["list", "orders", "--status", "unconfirmed"], 2);
    assert_unknown_status(&stderr, "order", "unconfirmed", orders);
    let stderr = env.fails(&["--json", "list", "--status", "Pending"], 2);
    assert_unknown_status(&stderr, "order", "Pending", orders);
    let stderr = env.fails(&["list", "reservations", "--status", "pending"], 2);
    assert_unknown_status(&stderr, "reservation", "pending", "unconfirmed, confirmed");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn an_unknown_process_is_not_found() {
    let (env, _) = four_orders();
    let nil = "00000000-0000-0000-0000-000000000000";
    assert_eq!(
        env.fails(&["list", "--process", nil], 3),
        format!(
            "pi7: error: no process, sales order or reservation has an ID starting with '{nil}'\n"
        )
    );
    env.fails(&["list", "reservations", "--process", nil], 3);
    env.fails(&["list", "--process", "abc"], 2);
}

#[test]
fn what_to_list_must_be_orders_or_reservations() {
    let env = TestEnv::new();
    let stderr = env.fails(&["list", "customers"], 2);
    assert!(
        stderr.starts_with("pi7: error: invalid value 'customers'"),
        "{stderr}"
    );
}
