//! `pi7 completions`: shell completion scripts from the clap definition.

use clap::CommandFactory;

use super::Context;
use crate::cli::Cli;

/// Print a shell completion script
///
/// The files in the repository's `completions/` directory are this output.
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
