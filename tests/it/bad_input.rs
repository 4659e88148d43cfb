//! SPEC "Bad input": every bad order gets one line on stderr that names
//! what is wrong and where (file, line, column), exit code 2, and leaves the
//! database exactly as it was.

use crate::util::{assert_one_line, example, TestEnv};

/// Submits `contents` as the file `file`, and then on standard input, to a
/// database that already holds an order; both must fail with exit 2 and
/// `pi7: error: <file>:<problem>` (`<stdin>` for standard input), writing
/// nothing.
fn rejects(file: &str, contents: &str, problem: &str) {
    let env = TestEnv::new();
    env.submit_example();
    let before = env.snapshot();

    env.write(file, contents);
    let stderr = env.fails(&["submit", file], 2);
    assert_eq!(stderr, format!("pi7: error: {file}:{problem}\n"));
    assert_one_line(&stderr);
    let stderr = env.fails(&["--json", "submit", file], 2);
    assert_eq!(stderr, format!("pi7: error: {file}:{problem}\n"));

    let run = env.exec(env.cmd().args(["submit", "-"]).write_stdin(contents));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, format!("pi7: error: <stdin>:{problem}\n"));

    assert_eq!(
        env.snapshot(),
        before,
        "a rejected input changed the database"
    );
}

#[test]
fn a_missing_file() {
    let env = TestEnv::new();
    env.submit_example();
    let before = env.snapshot();
    let stderr = env.fails(&["submit", "no-such-order.json"], 2);
    assert_eq!(
        stderr,
        "pi7: error: cannot read no-such-order.json: No such file or directory (os error 2)\n"
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn an_unreadable_file() {
    let env = TestEnv::new();
    env.submit_example();
    let before = env.snapshot();
    std::fs::create_dir(env.dir().join("orders")).unwrap();
    let stderr = env.fails(&["submit", "orders"], 2);
    assert_eq!(
        stderr,
        "pi7: error: cannot read orders: Is a directory (os error 21)\n"
    );
    std::fs::write(env.dir().join("binary.json"), b"{\"customer\": \"\xff\"}").unwrap();
    let stderr = env.fails(&["submit", "binary.json"], 2);
    assert!(
        stderr.starts_with("pi7: error: binary.json is not UTF-8 text: "),
        "{stderr}"
    );
    assert_one_line(&stderr);
    assert_eq!(env.snapshot(), before);
}

#[test]
fn bad_input_to_a_new_database_creates_no_database() {
    let env = TestEnv::new();
    env.write("bad.json", r#"{"customer": "c"}"#);
    env.fails(&["submit", "bad.json"], 2);
    env.fails(&["submit", "missing.json"], 2);
    assert!(!env.db().exists());
}

#[test]
fn invalid_json() {
    rejects(
        "invalid.json",
        r#"{
  "customer": "christophe",
  "reservations": [
    { "id": 1, "reserved": "some hotel" }
    { "id": 2, "reserved": "a plane" }
  ]
}
"#,
        "5:5: expected `,` or `]`",
    );
}

#[test]
fn truncated_json() {
    rejects(
        "truncated.json",
        "{\"customer\": \"c\", \"reservations\": [{\"id\": 1, \"reserved\": \"x\"}]",
        "1:62: EOF while parsing an object",
    );
}

#[test]
fn trailing_garbage() {
    let env = TestEnv::new();
    env.write(
        "trailing.json",
        r#"{"customer": "c", "reservations": [{"id": 1, "reserved": "x"}]} xyz"#,
    );
    let stderr = env.fails(&["submit", "trailing.json"], 2);
    assert!(
        stderr.starts_with("pi7: error: trailing.json:1:6")
            && stderr.ends_with(": expected value\n"),
        "{stderr}"
    );
    assert!(!env.db().exists());
}

#[test]
fn no_order_at_all() {
    rejects("empty.json", "", "1:1: no order in the input");
    rejects("blank.json", "\n  \n", "3:1: no order in the input");
    rejects("none.json", "[]", "1:3: no order in the input");
}

/// Orders are read one value at a time, yet the input's first value still
/// decides its form, as when the whole text was parsed at once.
#[test]
fn an_array_and_orders_one_after_another_do_not_mix() {
    let one = r#"{"customer": "c", "reservations": [{"id": 1, "reserved": "x"}]}"#;
    rejects(
        "array-then-object.json",
        &format!("[{one}]\n\n  {one}\n"),
        "3:3: trailing characters",
    );
    rejects(
        "object-then-array.json",
        &format!("{one}\n[{one}]\n"),
        "2:1: an order must be a JSON object",
    );
}

#[test]
fn not_an_object() {
    rejects(
        "string.json",
        "\"an order\"\n",
        "1:1: an order must be a JSON object",
    );
    rejects(
        "array-of-numbers.json",
        "[\n  1\n]\n",
        "2:3: an order must be a JSON object",
    );
}

#[test]
fn a_missing_customer() {
    rejects(
        "no-customer.json",
        r#"{
  "reservations": [ { "id": 1, "reserved": "some hotel" } ]
}
"#,
        "1:1: the order has no \"customer\"",
    );
}

#[test]
fn an_empty_customer() {
    rejects(
        "empty-customer.json",
        r#"{
  "customer": "",
  "reservations": [ { "id": 1, "reserved": "some hotel" } ]
}
"#,
        "2:15: \"customer\" is empty",
    );
    rejects(
        "blank-customer.json",
        r#"{"customer": "  ", "reservations": [{"id": 1, "reserved": "x"}]}"#,
        "1:14: \"customer\" is empty",
    );
}

#[test]
fn a_customer_that_is_not_a_string() {
    rejects(
        "number-customer.json",
        r#"{"customer": 42, "reservations": [{"id": 1, "reserved": "x"}]}"#,
        "1:14: \"customer\" must be a string",
    );
}

#[test]
fn missing_reservations() {
    rejects(
        "no-reservations.json",
        "{\n  \"customer\": \"christophe\"\n}\n",
        "1:1: the order has no \"reservations\"",
    );
}

#[test]
fn empty_reservations() {
    rejects(
        "empty-reservations.json",
        "{\n  \"customer\": \"christophe\",\n  \"reservations\": []\n}\n",
        "3:19: \"reservations\" is empty",
    );
}

#[test]
fn reservations_that_are_not_an_array() {
    rejects(
        "object-reservations.json",
        r#"{"customer": "c", "reservations": {"id": 1, "reserved": "x"}}"#,
        "1:35: \"reservations\" must be an array of lines",
    );
    rejects(
        "number-line.json",
        r#"{"customer": "c", "reservations": [1]}"#,
        "1:36: a reservation line must be a JSON object",
    );
}

#[test]
fn a_line_without_id() {
    rejects(
        "no-id.json",
        r#"{
  "customer": "christophe",
  "reservations": [
    { "id": 1, "reserved": "some hotel" },
    { "reserved": "a plane" }
  ]
}
"#,
        "5:5: the line has no \"id\"",
    );
}

#[test]
fn a_line_without_reserved() {
    rejects(
        "no-reserved.json",
        r#"{
  "customer": "christophe",
  "reservations": [
    { "id": 1 },
    { "id": 2, "reserved": "a plane" }
  ]
}
"#,
        "4:5: the line has no \"reserved\"",
    );
    rejects(
        "empty-reserved.json",
        r#"{"customer": "c", "reservations": [{"id": 1, "reserved": ""}]}"#,
        "1:58: \"reserved\" is empty",
    );
}

#[test]
fn a_non_integer_line_id() {
    rejects(
        "float-id.json",
        r#"{"customer": "c", "reservations": [{"id": 1.5, "reserved": "x"}]}"#,
        "1:43: line \"id\" must be an integer, not 1.5",
    );
    rejects(
        "string-id.json",
        r#"{"customer": "c", "reservations": [{"id": "1", "reserved": "x"}]}"#,
        "1:43: line \"id\" must be an integer, not \"1\"",
    );
    rejects(
        "huge-id.json",
        r#"{"customer": "c", "reservations": [{"id": 99999999999999999999, "reserved": "x"}]}"#,
        "1:43: line \"id\" must be an integer, not 99999999999999999999",
    );
}

#[test]
fn a_duplicate_line_id() {
    rejects(
        "duplicate-id.json",
        r#"{
  "customer": "christophe",
  "reservations": [
    { "id": 1, "reserved": "some hotel" },
    { "id": 1, "reserved": "a plane" }
  ]
}
"#,
        "5:13: line id 1 is used twice in this order",
    );
}

#[test]
fn an_unknown_field() {
    rejects(
        "typo.json",
        r#"{"custmer": "c", "reservations": [{"id": 1, "reserved": "x"}]}"#,
        "1:10: unknown field `custmer`, expected `customer` or `reservations`",
    );
    rejects(
        "line-typo.json",
        r#"{
  "customer": "christophe",
  "reservations": [ { "id": 1, "reserverd": "some hotel" } ]
}
"#,
        "3:42: unknown field `reserverd`, expected `id` or `reserved`",
    );
}

#[test]
fn a_duplicate_field() {
    rejects(
        "twice.json",
        r#"{"customer": "c", "customer": "d", "reservations": [{"id": 1, "reserved": "x"}]}"#,
        "1:28: duplicate field `customer`",
    );
}

#[test]
fn one_bad_order_in_json_lines_rejects_the_batch() {
    let good = std::fs::read_to_string(example("orders.jsonl")).unwrap();
    let batch = format!(
        "{good}{}\n{}\n",
        r#"{"customer": "eve", "reservations": [{"id": 1}]}"#,
        r#"{"customer": "fay", "reservations": [{"id": 1, "reserved": "x"}]}"#
    );
    rejects("batch.jsonl", &batch, "5:38: the line has no \"reserved\"");
}

#[test]
fn one_bad_order_in_an_array_rejects_the_array() {
    rejects(
        "batch.json",
        r#"[
  {"customer": "a", "reservations": [{"id": 1, "reserved": "x"}]},
  {"customer": "b", "reservations": [{"id": 1, "reserved": "x"}, {"id": 1, "reserved": "y"}]},
  {"customer": "c", "reservations": [{"id": 1, "reserved": "x"}]}
]
"#,
        "3:73: line id 1 is used twice in this order",
    );
}

#[test]
fn confirm_with_no_ids_on_standard_input() {
    let env = TestEnv::new();
    env.submit_example();
    let before = env.snapshot();
    let run = env.exec(env.cmd().args(["confirm", "-"]).write_stdin("\n  \n"));
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr, "pi7: error: no reservation IDs given\n");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn bad_flags_and_arguments_are_usage_errors() {
    let env = TestEnv::new();
    env.submit_example();
    let before = env.snapshot();
    for args in [
        &["--bogus", "list"][..],
        &["list", "--bogus"],
        &["frobnicate"],
        &["confirm"],
        &["show"],
        &["show", "a", "b"],
        &["completions", "tcsh"],
        &["events", "--since"],
        &["--now", "yesterday", "list"],
    ] {
        let run = env.run(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("error"), "{args:?}: {}", run.stderr);
    }
    assert_eq!(env.snapshot(), before);
}

#[test]
fn help_and_version_are_not_errors() {
    let env = TestEnv::new();
    let help = env.ok(&["--help"]);
    for command in ["submit", "list", "confirm", "show", "events", "completions"] {
        assert!(help.contains(command), "--help does not name {command}");
        env.ok(&[command, "--help"]);
    }
    assert_eq!(
        env.ok(&["--version"]),
        format!("pi7 {}\n", env!("CARGO_PKG_VERSION"))
    );
    assert!(!env.db().exists(), "--help touched the database");
}
