//! The command-line definition. The committed completion scripts in
//! `completions/` are generated from this, so help text lives here and in
//! each command's `Args`.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

use crate::commands::{
    cancel, check, completions, confirm, dispatch, events, expire, list, pending, redeliver, serve,
    show, submit, verify,
};

/// pi7: sales orders, reservations and a saga that confirms an order once
/// every reservation is confirmed, whatever order the events arrive in.
///
/// Every command appends to and reads from one SQLite file; writing commands
/// then deliver every pending event to its components before they return.
#[derive(Debug, Parser)]
#[command(name = "pi7", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// The database file [default: pi7.db in the platform data directory,
    /// e.g. ~/.local/share/pi7/pi7.db]
    #[arg(long, global = true, env = "PI7_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Print machine-readable JSON on stdout instead of tables
    #[arg(long, global = true)]
    pub json: bool,

    /// Print the workflow log on stderr, in the original PI 7's style
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Append events and their deliveries but deliver nothing (`pi7 dispatch`
    /// delivers them later)
    #[arg(
        long,
        global = true,
        env = "PI7_HOLD",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub hold: bool,

    /// The current time, in unix seconds, for reproducible runs
    #[arg(
        long,
        global = true,
        env = "PI7_NOW",
        value_name = "UNIX_SECONDS",
        hide = true
    )]
    pub now: Option<i64>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Submit(submit::Args),
    List(list::Args),
    Confirm(confirm::Args),
    Reject(confirm::reject::Args),
    Cancel(cancel::Args),
    Expire(expire::Args),
    Show(show::Args),
    Events(events::Args),
    Pending(pending::Args),
    Dispatch(dispatch::Args),
    Redeliver(redeliver::Args),
    Check(check::Args),
    Verify(verify::Args),
    Rebuild(crate::commands::rebuild::Args),
    Export(crate::commands::export::Args),
    Import(crate::commands::import::Args),
    Serve(serve::Args),
    Completions(completions::Args),
}
