//! Human output, compared whole. Ids are random, so the expected text is
//! built from the ids that `--json` reported; everything else is fixed by
//! the clock in `PI7_NOW`.

use crate::util::{example, short, text, Submitted, TestEnv, NOW};

/// An order of examples/order.json, submitted at NOW, line 1 confirmed at
/// NOW + 3 and line 2 at NOW + 5.
fn confirmed_order(env: &TestEnv) -> Submitted {
    let order = env.submit_example();
    env.ok_at(NOW + 3, &["confirm", &order.reservations[0]]);
    env.ok_at(NOW + 5, &["confirm", &order.reservations[1]]);
    order
}

fn event_ids(env: &TestEnv) -> Vec<String> {
    env.json_lines(&["events"])
        .iter()
        .map(|e| text(&e["id"]))
        .collect()
}

fn assert_fits_80_columns(output: &str) {
    for line in output.lines() {
        assert!(
            line.chars().count() <= 80,
            "wider than 80 columns ({}): {line:?}",
            line.chars().count()
        );
    }
}

#[test]
fn submit_prints_the_process_order_and_reservations() {
    let env = TestEnv::new();
    let stdout = env.ok(&["submit", &example("order.json")]);
    let order = &env.json(&["list"])[0];
    let reservations = env.json(&["list", "reservations"]);
    let expected = format!(
        "\
process      {p}
sales order  {o}  christophe  pending
reservation  {r1}  some hotel  unconfirmed
reservation  {r2}  a plane     unconfirmed

",
        p = text(&order["processId"]),
        o = text(&order["_id"]),
        r1 = text(&reservations[0]["_id"]),
        r2 = text(&reservations[1]["_id"]),
    );
    assert_eq!(stdout, expected);
    assert_fits_80_columns(&stdout);
}

#[test]
fn confirm_prints_the_reservation_and_its_order() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let stdout = env.ok(&["confirm", &order.reservations[0]]);
    assert_eq!(
        stdout,
        format!(
            "\
confirmed    {r1}  some hotel
sales order  {o}  christophe  pending (1 of 2 lines confirmed)
",
            r1 = order.reservations[0],
            o = short(&order.order),
        )
    );
    let run = env.run(&["confirm", &order.reservations[1], &order.reservations[0]]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout,
        format!(
            "\
confirmed    {r2}  a plane
sales order  {o}  christophe  confirmed (2 of 2 lines confirmed)
",
            r2 = order.reservations[1],
            o = short(&order.order),
        )
    );
    assert_eq!(
        run.stderr,
        format!(
            "pi7: reservation {} is already confirmed; nothing changed\n",
            order.reservations[0]
        )
    );
}

#[test]
fn events_is_a_table_in_seq_order() {
    let env = TestEnv::new();
    let order = confirmed_order(&env);
    let e = event_ids(&env);
    let stdout = env.ok(&["events"]);
    let expected = format!(
        "\
SEQ   ID        TOPIC                PROCESS   CAUSE     TIME (UTC)
1     {e1}  salesorder/request   {p}  -         2018-11-26 22:05:56
2     {e2}  reservation/confirm  {p}  -         2018-11-26 22:05:59
3     {e3}  reservation/confirm  {p}  -         2018-11-26 22:06:01
4     {e4}  salesorder/confirm   {p}  {e3}  2018-11-26 22:06:01
",
        p = short(&order.process),
        e1 = short(&e[0]),
        e2 = short(&e[1]),
        e3 = short(&e[2]),
        e4 = short(&e[3]),
    );
    assert_eq!(stdout, expected);
    assert_fits_80_columns(&stdout);
}

#[test]
fn events_of_an_empty_log_is_the_header() {
    let env = TestEnv::new();
    assert_eq!(
        env.ok(&["events"]),
        "SEQ   ID        TOPIC                PROCESS   CAUSE     TIME (UTC)\n"
    );
    assert_eq!(env.ok(&["events", "--json"]), "");
}

#[test]
fn list_is_a_table() {
    let env = TestEnv::new();
    let done = confirmed_order(&env);
    let koen = Submitted::from(env.submit(&example("order-3.json")).remove(0));
    let stdout = env.ok(&["list"]);
    let expected = format!(
        "\
ORDER     PROCESS   CUSTOMER    STATUS     CONFIRMED
{o1}  {p1}  christophe  confirmed  2/2
{o2}  {p2}  koen        pending    0/3
",
        o1 = short(&done.order),
        p1 = short(&done.process),
        o2 = short(&koen.order),
        p2 = short(&koen.process),
    );
    assert_eq!(stdout, expected);
    assert_fits_80_columns(&stdout);

    let stdout = env.ok(&["list", "reservations"]);
    let expected = format!(
        "\
RESERVATION  PROCESS   LINE  RESERVED    STATUS       SINCE (UTC)
{r1}     {p1}  1     some hotel  confirmed    2018-11-26 22:05:59
{r2}     {p1}  2     a plane     confirmed    2018-11-26 22:06:01
{r3}     {p2}  1     some hotel  unconfirmed  2018-11-26 22:05:56
{r4}     {p2}  2     a plane     unconfirmed  2018-11-26 22:05:56
{r5}     {p2}  3     a bike      unconfirmed  2018-11-26 22:05:56
",
        p1 = short(&done.process),
        p2 = short(&koen.process),
        r1 = short(&done.reservations[0]),
        r2 = short(&done.reservations[1]),
        r3 = short(&koen.reservations[0]),
        r4 = short(&koen.reservations[1]),
        r5 = short(&koen.reservations[2]),
    );
    assert_eq!(stdout, expected);
    assert_fits_80_columns(&stdout);
}

#[test]
fn show_of_an_order_has_its_lines_history_and_events() {
    let env = TestEnv::new();
    let order = confirmed_order(&env);
    let e = event_ids(&env);
    let stdout = env.ok(&["show", &order.process]);
    let expected = format!(
        "\
sales order  {o}
process      {p}
customer     christophe
status       confirmed (2 of 2 lines confirmed)

LINE  RESERVED    STATUS     RESERVATION
1     some hotel  confirmed  {r1}
2     a plane     confirmed  {r2}

history:
TIME (UTC)           RESERVATION  RESERVED    STATUS
2018-11-26 22:05:56  {s1}     some hotel  unconfirmed
2018-11-26 22:05:56  {s2}     a plane     unconfirmed
2018-11-26 22:05:59  {s1}     some hotel  confirmed
2018-11-26 22:06:01  {s2}     a plane     confirmed

events:
SEQ   ID        TOPIC                PROCESS   CAUSE     TIME (UTC)
1     {e1}  salesorder/request   {sp}  -         2018-11-26 22:05:56
2     {e2}  reservation/confirm  {sp}  -         2018-11-26 22:05:59
3     {e3}  reservation/confirm  {sp}  -         2018-11-26 22:06:01
4     {e4}  salesorder/confirm   {sp}  {e3}  2018-11-26 22:06:01
",
        o = order.order,
        p = order.process,
        sp = short(&order.process),
        r1 = order.reservations[0],
        r2 = order.reservations[1],
        s1 = short(&order.reservations[0]),
        s2 = short(&order.reservations[1]),
        e1 = short(&e[0]),
        e2 = short(&e[1]),
        e3 = short(&e[2]),
        e4 = short(&e[3]),
    );
    assert_eq!(stdout, expected);
    assert_fits_80_columns(&stdout);
    // The order's own id shows the same.
    assert_eq!(env.ok(&["show", &order.order]), expected);
}

#[test]
fn show_of_a_reservation_has_its_history_and_the_process_events() {
    let env = TestEnv::new();
    let order = env.submit_example();
    env.ok_at(NOW + 3, &["confirm", &order.reservations[0]]);
    let e = event_ids(&env);
    let stdout = env.ok(&["show", &order.reservations[0]]);
    let expected = format!(
        "\
reservation  {r1}
process      {p}
sales order  {o} (pending)
line         1: some hotel
status       confirmed

history:
TIME (UTC)           RESERVATION  RESERVED    STATUS
2018-11-26 22:05:56  {s1}     some hotel  unconfirmed
2018-11-26 22:05:59  {s1}     some hotel  confirmed

events:
SEQ   ID        TOPIC                PROCESS   CAUSE     TIME (UTC)
1     {e1}  salesorder/request   {sp}  -         2018-11-26 22:05:56
2     {e2}  reservation/confirm  {sp}  -         2018-11-26 22:05:59
",
        r1 = order.reservations[0],
        s1 = short(&order.reservations[0]),
        p = order.process,
        sp = short(&order.process),
        o = order.order,
        e1 = short(&e[0]),
        e2 = short(&e[1]),
    );
    assert_eq!(stdout, expected);
    assert_fits_80_columns(&stdout);
}

#[test]
fn long_names_still_fit_in_80_columns_where_pi7_decides_the_width() {
    let env = TestEnv::new();
    let file = env.write(
        "long.json",
        r#"{"customer": "a customer with a rather long name", "reservations": [{"id": 123456, "reserved": "x"}]}"#,
    );
    env.submit(file.to_str().unwrap());
    for args in [vec!["list"], vec!["list", "reservations"], vec!["events"]] {
        assert_fits_80_columns(&env.ok(&args));
    }
}

#[test]
fn tables_escape_control_characters_and_keep_to_80_columns() {
    let env = TestEnv::new();
    let long = "Christophe-Alexandre de la Vallée-Poussin van Genechten";
    let order = format!(
        "{{\"customer\": \"{long}\\u001b[2J\", \"reservations\": [{{\"id\": 1, \"reserved\": \"a hotel\\nwith a view over the whole bay\"}}]}}"
    );
    env.submit_stdin(&order);
    for args in [vec!["list"], vec!["list", "reservations"], vec!["events"]] {
        let out = env.ok(&args);
        assert!(!out.contains('\u{1b}'), "{args:?}: {out:?}");
        for line in out.lines() {
            assert!(line.chars().count() <= 80, "{args:?}: {line:?}");
        }
    }
    assert!(env.ok(&["list"]).contains("Christophe-Alexandre de…"));
    assert!(env
        .ok(&["list", "reservations"])
        .contains("a hotel\\nwith a…"));
}
