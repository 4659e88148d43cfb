//! `-v`: the workflow log on stderr, in the original PI 7's style; stdout
//! stays what it is without it.

use crate::util::{example, short, text, without_pids, Submitted, TestEnv, NOW};

#[test]
fn submit_logs_the_workflow_like_the_original() {
    let env = TestEnv::new();
    let run = env.run(&["-v", "submit", &example("order.json")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let order = Submitted::from(serde_json::json!({
        "processId": env.json(&["list"])[0]["processId"],
        "salesorder": env.json(&["list"])[0],
        "reservations": env.json(&["list", "reservations"]),
    }));
    let expected = format!(
        "\
[2018-11-26 22:05:56 +0000] [PID] [INFO] web: received sales order request
[2018-11-26 22:05:56 +0000] [PID] [INFO]      assigned processId {p}
[2018-11-26 22:05:56 +0000] [PID] [INFO]      publishing sales order request event
[2018-11-26 22:05:56 +0000] [PID] [INFO] integration: received sales order request
[2018-11-26 22:05:56 +0000] [PID] [INFO]              delivering to sales order and reservation components
[2018-11-26 22:05:56 +0000] [PID] [INFO] sales order: received sales order request
[2018-11-26 22:05:56 +0000] [PID] [INFO] salesorder: persisted {o}
[2018-11-26 22:05:56 +0000] [PID] [INFO] reservation: received sales order request
[2018-11-26 22:05:56 +0000] [PID] [INFO] reservation: making reservation for some hotel
[2018-11-26 22:05:56 +0000] [PID] [INFO] reservation: persisted {r1}
[2018-11-26 22:05:56 +0000] [PID] [INFO] reservation: making reservation for a plane
[2018-11-26 22:05:56 +0000] [PID] [INFO] reservation: persisted {r2}
",
        p = order.process,
        o = order.order,
        r1 = order.reservations[0],
        r2 = order.reservations[1],
    );
    assert_eq!(without_pids(&run.stderr), expected);
    // Every line carries the one pid of the process that wrote it.
    let pids: std::collections::BTreeSet<&str> = run
        .stderr
        .lines()
        .map(|l| l.split(['[', ']']).nth(3).unwrap())
        .collect();
    assert_eq!(pids.len(), 1);
    assert!(pids.iter().all(|p| p.parse::<u32>().is_ok()), "{pids:?}");

    // stdout is what it is without -v.
    let expected_stdout = format!(
        "\
process      {p}
sales order  {o}  christophe  pending
reservation  {r1}  some hotel  unconfirmed
reservation  {r2}  a plane     unconfirmed

",
        p = order.process,
        o = order.order,
        r1 = order.reservations[0],
        r2 = order.reservations[1],
    );
    assert_eq!(run.stdout, expected_stdout);
}

#[test]
fn confirm_logs_the_confirmation_and_the_saga() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let first = env.run_at(NOW + 3, &["-v", "confirm", &order.reservations[0]]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let second = env.run_at(NOW + 5, &["-v", "confirm", &order.reservations[1]]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let expected = format!(
        "\
[2018-11-26 22:05:59 +0000] [PID] [INFO] reservation: loaded {r1}
[2018-11-26 22:05:59 +0000] [PID] [INFO] reservation: confirming {r1}
[2018-11-26 22:05:59 +0000] [PID] [INFO] reservation: persisted {r1}
[2018-11-26 22:05:59 +0000] [PID] [INFO] integration: received reservation confirmation
[2018-11-26 22:05:59 +0000] [PID] [INFO]              delivering to sales order component
[2018-11-26 22:05:59 +0000] [PID] [INFO] sales order: received reservation confirmation
[2018-11-26 22:05:59 +0000] [PID] [INFO] salesorder: loaded context {p}
[2018-11-26 22:05:59 +0000] [PID] [INFO] salesorder: persisted {o}
",
        r1 = order.reservations[0],
        p = order.process,
        o = order.order,
    );
    assert_eq!(without_pids(&first.stderr), expected);
    let expected = format!(
        "\
[2018-11-26 22:06:01 +0000] [PID] [INFO] reservation: loaded {r2}
[2018-11-26 22:06:01 +0000] [PID] [INFO] reservation: confirming {r2}
[2018-11-26 22:06:01 +0000] [PID] [INFO] reservation: persisted {r2}
[2018-11-26 22:06:01 +0000] [PID] [INFO] integration: received reservation confirmation
[2018-11-26 22:06:01 +0000] [PID] [INFO]              delivering to sales order component
[2018-11-26 22:06:01 +0000] [PID] [INFO] sales order: received reservation confirmation
[2018-11-26 22:06:01 +0000] [PID] [INFO] salesorder: loaded context {p}
[2018-11-26 22:06:01 +0000] [PID] [INFO] salesorder: persisted {o}
[2018-11-26 22:06:01 +0000] [PID] [INFO] salesorder: all reservations are confirmed
[2018-11-26 22:06:01 +0000] [PID] [INFO] integration: received sales order confirmation
[2018-11-26 22:06:01 +0000] [PID] [INFO]              recorded; no component subscribes to it
",
        r2 = order.reservations[1],
        p = order.process,
        o = order.order,
    );
    assert_eq!(without_pids(&second.stderr), expected);
    assert_eq!(
        second.stdout,
        format!(
            "\
confirmed    {r2}  a plane
sales order  {o}  christophe  confirmed (2 of 2 lines confirmed)
",
            r2 = order.reservations[1],
            o = short(&order.order),
        )
    );
}

#[test]
fn verbose_leaves_stdout_alone() {
    let env = TestEnv::new();
    let order = env.submit_example();
    env.ok(&["confirm", &order.reservations[0]]);
    for args in [
        vec!["list"],
        vec!["list", "reservations"],
        vec!["events"],
        vec!["show", &order.process],
        vec!["show", &order.reservations[0]],
        vec!["--json", "list"],
        vec!["--json", "events"],
        vec!["--json", "show", &order.order],
    ] {
        let plain = env.run(&args);
        let mut verbose_args = vec!["-v"];
        verbose_args.extend_from_slice(&args);
        let verbose = env.run(&verbose_args);
        assert_eq!(plain.code, 0);
        assert_eq!(verbose.code, 0);
        assert_eq!(verbose.stdout, plain.stdout, "{args:?}");
    }

    // A writing command prints the same documents with or without -v.
    let run = env.run(&["-v", "--json", "submit", &example("order.json")]);
    assert_eq!(run.code, 0);
    assert!(!run.stderr.is_empty());
    let line = crate::util::parse_json(&run.stdout);
    let process = text(&line["processId"]);
    assert_eq!(line["salesorder"], env.json(&["show", &process]));
}

#[test]
fn without_verbose_a_command_says_nothing_on_stderr() {
    let env = TestEnv::new();
    let run = env.run(&["submit", &example("order.json")]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stderr, "");
}
