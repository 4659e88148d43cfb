//! `pi7 completions`: shell completion scripts from the clap definition;
//! and the ids the shell offers for `confirm`, `reject`, `cancel` and
//! `show` when completion runs through pi7 itself (`COMPLETE=bash pi7`).

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};

use super::Context;
use crate::app::{self, Access, App, Completing, IdCandidate};
use crate::cli::Cli;
use crate::render;

/// Print a shell completion script
///
/// The files in the repository's `completions/` directory are this output:
/// they complete commands, options and their values. To have TAB offer the
/// IDs in the database too (`pi7 confirm <TAB>` offers the unconfirmed
/// reservations), let pi7 complete instead: put `source <(COMPLETE=bash
/// pi7)` in ~/.bashrc, `source <(COMPLETE=zsh pi7)` in ~/.zshrc, or
/// `COMPLETE=fish pi7 | source` in
/// ~/.config/fish/completions/pi7.fish.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(ctx: &mut Context, args: Args) -> anyhow::Result<()> {
    clap_complete::generate(args.shell, &mut Cli::command(), "pi7", &mut *ctx.out);
    Ok(())
}

/// How many ids of each kind TAB offers at most: a few typed characters
/// narrow a big database down, and a shell asked to list a million would
/// hang.
const LIMIT: usize = 1000;

/// The reservations `confirm` and `reject` act on: the unconfirmed ones.
pub fn undecided() -> ArgValueCompleter {
    ArgValueCompleter::new(|current: &OsStr| ids(Completing::Undecided, current))
}

/// The orders `cancel` can withdraw and `submit --process` can amend, by
/// sales-order or process ID.
pub fn pending_orders() -> ArgValueCompleter {
    ArgValueCompleter::new(|current: &OsStr| ids(Completing::Pending, current))
}

/// Every sales order, process and reservation, for `show` and the
/// `--process` of the commands that read.
pub fn any_id() -> ArgValueCompleter {
    ArgValueCompleter::new(|current: &OsStr| ids(Completing::Any, current))
}

/// The candidates from the database the command line names. Completion
/// must never get in the way: any failure (no database, a locked or foreign
/// file) offers nothing and says nothing.
fn ids(completing: Completing, current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(typed) = current.to_str() else {
        return Vec::new();
    };
    let words: Vec<OsString> = std::env::args_os()
        .skip_while(|arg| arg != "--")
        .skip(1)
        .collect();
    // bash and zsh say which word is completed; the other shells complete
    // the last one.
    let index = std::env::var("_CLAP_COMPLETE_INDEX")
        .ok()
        .and_then(|i| i.parse().ok())
        .unwrap_or(words.len().saturating_sub(1))
        .min(words.len());
    let Some(db) = database(&words[..index]) else {
        return Vec::new();
    };
    // A PostgreSQL server is not asked on every TAB: opening it would
    // create pi7's tables in a schema that has none.
    if app::on_postgres(&db) {
        return Vec::new();
    }
    let Ok(app) = App::open(&db, Access::Read, app::Options::default()) else {
        return Vec::new();
    };
    let Ok(found) = app.id_candidates(completing, typed, LIMIT) else {
        return Vec::new();
    };
    let typed = typed.to_ascii_lowercase();
    // `confirm a b <TAB>` does not offer a and b again.
    let named: Vec<String> = words[..index]
        .iter()
        .filter_map(|w| w.to_str())
        .map(str::to_ascii_lowercase)
        .filter(|w| w.len() >= app::lookup::MIN_PREFIX)
        .filter(|w| w.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
        .collect();
    found
        .into_iter()
        .filter(|c| {
            let id = c.id.to_string();
            !named.iter().any(|w| id.starts_with(w.as_str()))
        })
        .map(|c| {
            // The short id is what tables show; past it, the user is typing
            // the full id, which then is what can complete.
            let value = if c.short.starts_with(&typed) {
                c.short.clone()
            } else {
                c.id.to_string()
            };
            CompletionCandidate::new(value).help(Some(help(completing, &c).into()))
        })
        .collect()
}

/// "some hotel · unconfirmed"; for `show` and `cancel`, which take several
/// kinds, the kind first: "sales order · christophe · pending".
fn help(completing: Completing, c: &IdCandidate) -> String {
    let mut parts = Vec::new();
    if completing != Completing::Undecided {
        parts.push(c.kind.to_string());
    }
    if let Some(name) = &c.name {
        parts.push(render::clip(name, 30));
    }
    parts.push(c.status.unwrap_or("no order yet").to_string());
    parts.join(" · ")
}

/// The database `words` (the command line up to the word completed) name:
/// the last `--db`, then `PI7_DB`, then the default, as pi7 itself decides.
fn database(words: &[OsString]) -> Option<PathBuf> {
    let mut typed = None;
    let mut words = words.iter();
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        } else if word == "--db" {
            typed = words.next().map(|w| unquote(w));
        } else if let Some(path) = word.to_str().and_then(|w| w.strip_prefix("--db=")) {
            typed = Some(unquote(OsStr::new(path)));
        }
    }
    let given = typed.or_else(|| {
        std::env::var_os("PI7_DB")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    app::db_path(given.as_deref()).ok()
}

/// A path as the shell will pass it, from the word as typed, which the
/// shell has not expanded yet: `~/x.db`, `'my orders.db'`.
fn unquote(word: &OsStr) -> PathBuf {
    let Some(text) = word.to_str() else {
        return PathBuf::from(word);
    };
    let text = ['\'', '"']
        .iter()
        .find_map(|q| {
            text.strip_prefix(*q)
                .map(|t| t.strip_suffix(*q).unwrap_or(t))
        })
        .unwrap_or(text);
    match (text.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<OsString> {
        text.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn the_last_db_before_the_word_completed_is_the_one_read() {
        let db = |line: &str| database(&words(line)).unwrap();
        assert_eq!(db("pi7 --db a.db confirm"), PathBuf::from("a.db"));
        assert_eq!(db("pi7 --db a.db confirm --db=b.db"), PathBuf::from("b.db"));
        assert_eq!(db("pi7 confirm --db 'my.db'"), PathBuf::from("my.db"));
        assert_eq!(db("pi7 confirm -- --db c.db"), db("pi7 confirm"));
    }
}
