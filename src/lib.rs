//! pi7: the PI 7 order/order-line system with its sales-order saga, as a
//! library behind the `pi7` command.
//!
//! - [`domain`]: the pure core (events, documents, components, saga).
//! - [`store`]: SQLite and in-memory storage.
//! - [`dispatch`]: routing and the delivery loop, generic over the store.
//! - [`app`]: the use cases, the one door every face goes through.
//! - [`cli`] and [`commands`]: the command line, parse → `app` → render.
//! - [`mqtt`]: the relay (log → broker) and the inbox (broker → `app`).

pub mod app;
pub mod check;
pub mod cli;
pub mod commands;
pub mod crash;
pub mod dispatch;
pub mod domain;
pub mod error;
pub mod http;
pub mod mqtt;
pub mod operations;
pub mod render;
pub mod replay;
pub mod store;

use std::io::{ErrorKind, Write};
use std::process::ExitCode;

/// The whole `pi7` binary: parse, run, map the outcome to an exit code.
pub fn main() -> ExitCode {
    // `COMPLETE=bash pi7` prints the shell's registration; the shell then
    // runs `COMPLETE=bash pi7 -- WORDS…` on TAB, answered here and exited.
    clap_complete::CompleteEnv::with_factory(<cli::Cli as clap::CommandFactory>::command)
        .complete();
    let parsed = <cli::Cli as clap::CommandFactory>::command()
        .try_get_matches()
        .and_then(|matches| {
            let mut cli = <cli::Cli as clap::FromArgMatches>::from_arg_matches(&matches)?;
            cli.global.hold_typed = typed(&matches, "hold");
            cli.global.db_typed = typed(&matches, "db");
            Ok(cli)
        });
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut err = std::io::stderr();
    let result = commands::run(cli, &mut out, &mut err).and_then(|()| Ok(out.flush()?));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = out.flush();
            let _ = writeln!(err, "pi7: error: {e:#}");
            ExitCode::from(error::exit_code(&e))
        }
    }
}

/// Help and version as clap prints them; a usage error as one line, like
/// every other error, keeping what clap knew: the missing arguments, the
/// suggestion, the values it would have listed, and which command's help to
/// read. Bare `pi7` prints the help, as `gh` and `jj` do.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let bare = std::env::args_os().len() == 1;
    if bare
        && matches!(
            e.kind(),
            ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        )
    {
        let help = <cli::Cli as clap::CommandFactory>::command().render_help();
        let _ = write!(std::io::stdout(), "{help}");
        return ExitCode::SUCCESS;
    }
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
    }
    let _ = writeln!(
        std::io::stderr(),
        "pi7: error: {}",
        one_line_usage_error(&e.render().to_string(), &subcommand_typed())
    );
    ExitCode::from(error::USAGE)
}

/// The subcommand on the command line, if any: `pi7 list` when clap's
/// message has no usage line to take it from.
fn subcommand_typed() -> String {
    let command = <cli::Cli as clap::CommandFactory>::command();
    std::env::args()
        .skip(1)
        .find(|arg| command.find_subcommand(arg).is_some())
        .map_or("pi7".to_string(), |name| format!("pi7 {name}"))
}

/// Folds clap's multi-line rendering of a usage error into one line;
/// `command` is what to ask for help on when clap's message shows no usage.
pub fn one_line_usage_error(rendered: &str, command: &str) -> String {
    let mut lines = rendered.lines().map(str::trim);
    let first = lines.next().unwrap_or("invalid usage");
    let mut message = first.strip_prefix("error: ").unwrap_or(first).to_string();
    let mut details: Vec<&str> = Vec::new();
    let mut tips: Vec<&str> = Vec::new();
    let mut command = command.to_string();
    for line in lines {
        if let Some(usage) = line.strip_prefix("Usage: ") {
            // `Usage: pi7 expire --older-than <DURATION>`: the words before
            // the first option or placeholder name the (sub)command.
            command = usage
                .split_whitespace()
                .take_while(|w| !w.starts_with(['-', '<', '[']))
                .collect::<Vec<_>>()
                .join(" ");
            break;
        }
        if let Some(tip) = line.strip_prefix("tip: ") {
            tips.push(tip);
        } else if line.starts_with("[possible values:") {
            message = format!("{message} {line}");
        } else if !line.is_empty() && !line.starts_with("For more information") {
            details.push(line);
        }
    }
    if !details.is_empty() {
        let sep = if message.ends_with(':') { " " } else { ": " };
        message = format!("{message}{sep}{}", details.join(", "));
    }
    for tip in tips {
        message = format!("{message}; {tip}");
    }
    format!("{message} (`{command} --help` shows the usage)")
}

/// Whether the global option `id` was typed on the command line, before or
/// after the subcommand (rather than taken from the environment).
fn typed(matches: &clap::ArgMatches, id: &str) -> bool {
    use clap::parser::ValueSource;
    let here = matches.value_source(id) == Some(ValueSource::CommandLine);
    here || matches
        .subcommand()
        .is_some_and(|(_, sub)| sub.value_source(id) == Some(ValueSource::CommandLine))
}

/// A reader that stopped reading (`pi7 events | head`) is not an error.
fn is_broken_pipe(e: &app::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(|j| j.io_error_kind())
                .is_some_and(|k| k == ErrorKind::BrokenPipe)
    })
}
