//! `pi7 worker`: handle pending deliveries as they appear, until stopped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use super::dispatch::print_report;
use super::Context;
use crate::app::worker::{run_thread, Event};
use crate::app::Access;
use crate::error::InputError;

/// Handle pending deliveries as they appear, until Ctrl-C or SIGTERM
///
/// Runs on either store; any number of workers, on any number of machines,
/// can share one PostgreSQL database: each delivery is claimed by one of
/// them and handled in a transaction of its own, so a stop or a crash never
/// leaves half a delivery. Prints one line per delivery handled (`-v`: the
/// workflow log too). Commands given `--hold` leave their deliveries to it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many deliveries to handle at once (threads, each with its own
    /// connection)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
}

pub fn run(ctx: &mut Context, args: Args) -> crate::app::Result<()> {
    let db = ctx.db_path()?;
    // Open once up front, so that a wrong --db is one clear error, not a
    // worker that retries forever.
    let shown = ctx.app(Access::Write)?.name();
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .map_err(|e| InputError(format!("cannot catch Ctrl-C and SIGTERM: {e}")))?;
    }
    let (sender, events) = mpsc::channel();
    let threads: Vec<_> = (1..=usize::from(args.concurrency))
        .map(|id| {
            let (db, stop, sender) = (db.clone(), stop.clone(), sender.clone());
            std::thread::spawn(move || run_thread(id, db, stop, sender))
        })
        .collect();
    drop(sender);
    ctx.note(&format!(
        "worker: handling deliveries with {} thread{}; Ctrl-C stops",
        args.concurrency,
        if args.concurrency == 1 { "" } else { "s" }
    ))?;
    let mut handled = 0u64;
    loop {
        match events.recv_timeout(Duration::from_millis(100)) {
            Ok(event) => {
                show(ctx, &shown, event, &mut handled)?;
                ctx.out.flush()?;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    for thread in threads {
        let _ = thread.join();
    }
    ctx.note(&format!("worker: stopped after {handled} deliveries"))?;
    Ok(())
}

fn show(ctx: &mut Context, db: &str, event: Event, handled: &mut u64) -> anyhow::Result<()> {
    match event {
        Event::Handled(report) => {
            *handled += 1;
            ctx.log(&report.log)?;
            print_report(ctx, &report, "delivered")?;
            ctx.report_failures(std::slice::from_ref(&report))?;
        }
        Event::Down(thread, why) => {
            ctx.note(&format!(
                "worker {thread}: cannot reach the database {db}: {why}; retrying until it is back"
            ))?;
        }
        Event::Up(thread) => ctx.note(&format!("worker {thread}: the database works again"))?,
    }
    Ok(())
}
