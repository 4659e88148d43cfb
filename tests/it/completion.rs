//! TAB completion through pi7 itself (`source <(COMPLETE=bash pi7)`): the
//! shell asks `COMPLETE=SHELL pi7 -- WORDS…` and pi7 answers with the ids
//! in the database that the command would act on.

use crate::util::{short, TestEnv};

/// What pi7 offers for the last of `words`, asked as fish asks (one
/// `value<TAB>help` a line), without the options it offers beside.
fn offered(env: &TestEnv, words: &[&str]) -> Vec<(String, String)> {
    let run = env.exec(
        env.cmd()
            .env("COMPLETE", "fish")
            .args(["--", "pi7"])
            .args(words),
    );
    assert_eq!(run.code, 0, "{words:?}: {}", run.stderr);
    assert_eq!(run.stderr, "", "{words:?}");
    run.stdout
        .lines()
        .filter(|line| !line.starts_with('-'))
        .map(|line| {
            let (value, help) = line.split_once('\t').unwrap_or((line, ""));
            (value.to_string(), help.to_string())
        })
        .collect()
}

fn pair(value: &str, help: &str) -> (String, String) {
    (value.to_string(), help.to_string())
}

#[test]
fn confirm_and_reject_offer_the_unconfirmed_reservations_only() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let (hotel, plane) = (&order.reservations[0], &order.reservations[1]);
    env.ok(&["confirm", plane]);
    let before = env.db_bytes();
    for command in ["confirm", "reject"] {
        assert_eq!(
            offered(&env, &[command, ""]),
            [pair(short(hotel), "some hotel · unconfirmed")],
            "{command}"
        );
    }
    // What is typed narrows it; an id already named is not offered again.
    assert_eq!(offered(&env, &["confirm", &plane[..8]]), []);
    assert_eq!(offered(&env, &["confirm", hotel, ""]), []);
    assert_eq!(env.db_bytes(), before, "completing wrote to the database");
    env.ok(&["confirm", hotel]);
    assert_eq!(offered(&env, &["confirm", ""]), []);
}

#[test]
fn show_offers_the_order_its_process_and_reservations_and_cancel_what_it_can_cancel() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let (hotel, plane) = (&order.reservations[0], &order.reservations[1]);
    let mut reservations = vec![
        pair(short(hotel), "reservation · some hotel · unconfirmed"),
        pair(short(plane), "reservation · a plane · unconfirmed"),
    ];
    reservations.sort();
    let mut everything = vec![
        pair(short(&order.order), "sales order · christophe · pending"),
        pair(short(&order.process), "process · christophe · pending"),
    ];
    assert_eq!(offered(&env, &["cancel", ""]), everything);
    assert_eq!(
        offered(&env, &["submit", "x.json", "--process", ""]),
        everything
    );
    everything.extend(reservations);
    assert_eq!(offered(&env, &["show", ""]), everything);
    assert_eq!(offered(&env, &["events", "--process", ""]), everything);

    env.ok(&["cancel", &order.order]);
    assert_eq!(offered(&env, &["cancel", ""]), []);
    assert_eq!(offered(&env, &["submit", "--process", ""]), []);
    let shown = offered(&env, &["show", &order.order[..4]]);
    assert!(
        shown.contains(&pair(
            short(&order.order),
            "sales order · christophe · cancelled"
        )),
        "{shown:?}"
    );
}

#[test]
fn ids_come_from_the_database_the_command_line_names_and_a_missing_one_offers_none() {
    let env = TestEnv::new();
    let other = env.dir().join("other.db");
    let other = other.to_str().unwrap();
    let order = env.submit_example();
    std::fs::rename(env.db(), other).unwrap();
    // PI7_DB names a path with no database: nothing, silently, and no file.
    assert_eq!(offered(&env, &["show", ""]), []);
    assert!(!env.db().exists(), "completing created the database");
    let expected = [pair(
        short(&order.reservations[0]),
        "some hotel · unconfirmed",
    )];
    assert_eq!(
        offered(
            &env,
            &["--db", other, "confirm", &order.reservations[0][..8]]
        ),
        expected
    );
    let typed = format!("--db={other}");
    assert_eq!(
        offered(&env, &["confirm", &typed, &order.reservations[0][..8]]),
        expected
    );
    let missing = env.dir().join("typo.db");
    let missing = missing.to_str().unwrap();
    assert_eq!(offered(&env, &["--db", missing, "confirm", ""]), []);
    assert!(!std::path::Path::new(missing).exists());
}

#[test]
fn offered_ids_are_the_shortest_unique_prefixes_the_tables_show() {
    let env = TestEnv::new();
    let (first, _) = crate::command_line::import_twin_processes(&env);
    let processes: Vec<_> = offered(&env, &["show", "5f63"])
        .into_iter()
        .filter(|(_, help)| help.starts_with("process"))
        .collect();
    assert_eq!(
        processes,
        [
            pair("5f633c9b-1", "process · ann · pending"),
            pair("5f633c9b-2", "process · bob · pending")
        ]
    );
    // Typed past the short id, it is the full id that completes.
    assert_eq!(
        offered(&env, &["cancel", "5F633C9B-11"]),
        [pair(first, "process · ann · pending")]
    );
}

/// The whole round trip in bash: the registration `COMPLETE=bash pi7`
/// prints, sourced, and its function called as bash calls it on TAB.
#[test]
fn bash_completes_an_id_through_the_registration_pi7_prints() {
    let env = TestEnv::new();
    let order = env.submit_example();
    let hotel = &order.reservations[0];
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_pi7"));
    let path = std::env::join_paths(std::iter::once(bin.parent().unwrap().to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let script = format!(
        "source <(COMPLETE=bash pi7)
         COMP_WORDS=(pi7 confirm {typed}); COMP_CWORD=2; COMP_TYPE=9
         _clap_complete_pi7 pi7 {typed} confirm
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        typed = &hotel[..8]
    );
    let output = std::process::Command::new("bash")
        .env_clear()
        .current_dir(env.dir())
        .env("HOME", env.dir())
        .env("PI7_DB", env.db())
        .env("PATH", path)
        .args(["-c", &script])
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout, format!("{}\n", short(hotel)), "{stderr}");
}
