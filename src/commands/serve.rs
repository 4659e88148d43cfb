//! `pi7 serve`: the web application over the database.

use super::Context;
use crate::app;
use crate::http;

/// Serve the original PI 7's web application over the database: its pages
/// (`/`, `/backend.html`, `/log.html`, `/all.html`), its REST API, a view of
/// each process (`/process/ID`) and pi7's JSON API under `/api/v1/`
///
/// Prints its URL on stderr and runs until Ctrl-C or SIGTERM; requests in
/// flight finish first. What the pages do is visible to the command line
/// at once, and what the command line does shows up in open pages.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to listen, HOST:PORT; port 0 picks a free port. An address
    /// other machines can reach needs --token.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8000")]
    pub addr: String,

    /// Every write then needs `Authorization: Bearer TOKEN`
    #[arg(long, env = "PI7_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

pub fn run(ctx: &mut Context, args: Args) -> app::Result<()> {
    let config = http::Config {
        db: ctx.db_path()?,
        addr: args.addr,
        token: args.token,
        options: app::Options {
            now: ctx.fixed_now,
            hold: ctx.hold,
            log: ctx.verbose,
        },
    };
    http::serve(config, ctx.err)
}
