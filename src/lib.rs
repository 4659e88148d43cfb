//! pi7: the PI 7 order/order-line system with its sales-order saga, as a
//! library behind the `pi7` command.
//!
//! - [`domain`]: the pure core (events, documents, components, saga).
//! - [`store`]: SQLite and in-memory storage.
//! - [`dispatch`]: routing and the delivery loop, generic over the store.
//! - [`app`]: the use cases, the one door every face goes through.
//! - [`cli`] and [`commands`]: the command line, parse → `app` → render.

pub mod app;
pub mod check;
pub mod cli;
pub mod commands;
pub mod crash;
pub mod dispatch;
pub mod domain;
pub mod error;
pub mod http;
pub mod operations;
pub mod render;
pub mod replay;
pub mod store;

use clap::Parser;
use std::io::{ErrorKind, Write};
use std::process::ExitCode;

/// The whole `pi7` binary: parse, run, map the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
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
/// every other error, with the values clap would have listed.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
    }
    let rendered = e.render().to_string();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid usage");
    let mut message = first.strip_prefix("error: ").unwrap_or(first).to_string();
    if let Some(values) = lines.find(|l| l.starts_with("[possible values:")) {
        message = format!("{message} {values}");
    }
    let _ = writeln!(
        std::io::stderr(),
        "pi7: error: {message} (`pi7 --help` shows the usage)"
    );
    ExitCode::from(error::USAGE)
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
