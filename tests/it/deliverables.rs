//! Files committed beside the code that must keep up with it: the
//! walkthrough script and the shell completions.

use crate::util::{repo_file, TestEnv};

#[test]
fn the_walkthrough_script_runs_the_story_to_a_confirmed_order() {
    let env = TestEnv::new();
    let mut cmd = std::process::Command::new("bash");
    cmd.env_clear()
        .current_dir(env.dir())
        .env("HOME", env.dir())
        .env("TMPDIR", env.dir())
        .env("PI7", env!("CARGO_BIN_EXE_pi7"))
        .arg(repo_file("examples/walkthrough.sh"));
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    let output = cmd.output().expect("bash runs");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        output.status.success(),
        "walkthrough.sh failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    for step in [
        "$ pi7 submit examples/order.json --json\n",
        "$ pi7 list reservations --status unconfirmed --json\n",
        "# the order has 1 of 2 lines confirmed\n",
        "$ pi7 events\n",
    ] {
        assert!(stdout.contains(step), "no {step:?} in:\n{stdout}");
    }
    // The last `show` prints the confirmed order.
    let last_show = stdout
        .rsplit("$ pi7 show ")
        .next()
        .and_then(|rest| rest.split_once('\n'))
        .map(|(_, output)| output.split("\n$ ").next().unwrap())
        .expect("the script shows the order");
    let order = crate::util::parse_json(last_show);
    assert_eq!(order["object"]["customer"], "christophe");
    assert_eq!(order["object"]["status"], "confirmed");
    assert!(stdout.ends_with("salesorder/confirm was published once\n"));
    // It cleaned up after itself and never touched the test's database.
    let left: Vec<_> = std::fs::read_dir(env.dir()).unwrap().collect();
    assert!(left.is_empty(), "walkthrough.sh left {left:?}");
}

#[test]
fn the_committed_completions_are_what_pi7_generates() {
    let env = TestEnv::new();
    for (shell, file) in [
        ("bash", "completions/pi7.bash"),
        ("zsh", "completions/_pi7"),
        ("fish", "completions/pi7.fish"),
    ] {
        let generated = env.ok(&["completions", shell]);
        let committed = std::fs::read_to_string(repo_file(file)).unwrap_or_default();
        assert!(
            generated == committed,
            "{file} is not what `pi7 completions {shell}` prints now; regenerate it with\n\
             \n    cargo run -q -- completions {shell} > {file}\n"
        );
        assert!(generated.contains("submit"), "{shell}: {generated}");
    }
}

/// The man pages in `man/` are what clap_mangen makes of the current
/// clap definition: `pi7.1`, and `pi7-COMMAND.1` for each command.
/// `PI7_UPDATE_MAN=1 cargo test --test tests man_pages` writes them anew.
#[test]
fn the_committed_man_pages_are_what_the_cli_generates() {
    use clap::CommandFactory;
    let generated = tempfile::tempdir().unwrap();
    clap_mangen::generate_to(pi7::cli::Cli::command(), generated.path()).unwrap();
    let man = repo_file("man");
    if std::env::var_os("PI7_UPDATE_MAN").is_some() {
        let _ = std::fs::remove_dir_all(&man);
        std::fs::create_dir_all(&man).unwrap();
        for page in std::fs::read_dir(generated.path()).unwrap() {
            let page = page.unwrap().path();
            std::fs::copy(&page, man.join(page.file_name().unwrap())).unwrap();
        }
    }
    let names = |dir: &std::path::Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    let pages = names(generated.path());
    assert!(pages.contains(&"pi7.1".to_string()) && pages.contains(&"pi7-submit.1".to_string()));
    let regenerate =
        "regenerate them with\n\n    PI7_UPDATE_MAN=1 cargo test --test tests man_pages\n";
    assert_eq!(
        names(&man),
        pages,
        "man/ does not hold one page per command; {regenerate}"
    );
    for page in &pages {
        let want = std::fs::read_to_string(generated.path().join(page)).unwrap();
        let have = std::fs::read_to_string(man.join(page)).unwrap();
        assert!(
            want == have,
            "man/{page} is not what the CLI generates now; {regenerate}"
        );
    }
}
