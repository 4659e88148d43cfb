//! `pi7 relay`: pi7 on an MQTT broker. The log goes out (the relay), and
//! with `--inbox` requests and commands come in, each taken through the
//! same use case (`app`) as the command that a person would type.

use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use super::Context;
use crate::app::{self, Access, App};
use crate::mqtt::inbox;
use crate::mqtt::relay::{self, Config, Note};
use crate::mqtt::Broker;

/// Publish the event log on an MQTT broker, in log order, each event at
/// least once; with --inbox, also take orders and commands published there
///
/// Each event goes out on its topic (`salesorder/request`, …) with its
/// payload as the JSON body and its envelope (`id`, `seq`, `processId`,
/// `causationId`, `source`, `time`) as MQTT 5 user properties, QoS 1. The
/// relay's position is kept in the database and moves only when the broker
/// acknowledged, so a relay stopped or killed resumes where it was; it
/// follows events as any pi7 appends them, until Ctrl-C. Several relays on
/// one database take turns: one publishes, the others stand by.
///
/// The broker's user name and password come from the URL
/// (`mqtt://USER:PASSWORD@HOST`) or PI7_MQTT_USERNAME / PI7_MQTT_PASSWORD;
/// `mqtts://` verifies the broker against the system's certificate
/// authorities, or those in the PEM file PI7_MQTT_CA.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The broker: mqtt://HOST[:PORT] (1883) or mqtts://HOST[:PORT] (8883)
    #[arg(long, value_name = "URL", env = "PI7_MQTT")]
    pub mqtt: String,

    /// Also take the original's `salesorder/request` messages and the
    /// commands on `pi7/command/confirm`, `pi7/command/reject` and
    /// `pi7/command/cancel`; what cannot be taken goes to `pi7/deadletter`
    #[arg(long)]
    pub inbox: bool,

    /// Publish the whole log again, from its first event
    #[arg(long, conflicts_with = "since")]
    pub from_start: bool,

    /// Publish again from the event after SEQ
    #[arg(long, value_name = "SEQ")]
    pub since: Option<u64>,

    /// The relay's name: each name keeps its own position (one per broker)
    #[arg(long, default_value = "default")]
    pub name: String,

    /// How long a relay that stopped answering keeps the others standing by
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub lease: Duration,

    /// How often to look for new events once caught up
    #[arg(long, value_name = "DURATION", default_value = "50ms", value_parser = humantime::parse_duration)]
    pub poll: Duration,
}

pub fn run(ctx: &mut Context, args: Args) -> app::Result<()> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let broker = Broker::parse(
        &args.mqtt,
        env("PI7_MQTT_USERNAME"),
        env("PI7_MQTT_PASSWORD"),
        env("PI7_MQTT_CA"),
    )?;
    let config = Config {
        broker,
        name: args.name,
        start: match (args.from_start, args.since) {
            (true, _) => Some(0),
            (false, since) => since,
        },
        lease: args.lease,
        poll: args.poll.max(Duration::from_millis(1)),
    };
    relay::check(&config)?;
    // A long-running face: the clock is read for each command it takes,
    // unless PI7_NOW fixes it.
    let options = app::Options {
        now: ctx.fixed_now,
        hold: ctx.hold,
        log: ctx.verbose,
    };
    let db = ctx.db_path()?;
    let mut relay_db = App::open(&db, Access::Write, options.clone())?;

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second Ctrl-C ends at once, without waiting for the broker.
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))?;
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    let note: Note = Arc::new(|line: &str| {
        let _ = writeln!(std::io::stderr(), "{line}");
    });
    let holding = Arc::new(AtomicBool::new(false));
    let inbox_thread = if args.inbox {
        let mut inbox_db = App::open(&db, Access::Write, options)?;
        let (broker, name) = (config.broker.clone(), config.name.clone());
        let (stop, holding, note) = (Arc::clone(&stop), Arc::clone(&holding), Arc::clone(&note));
        Some(std::thread::spawn(move || {
            inbox::run(&broker, &name, &mut inbox_db, &stop, &holding, &note)
        }))
    } else {
        None
    };
    let relayed = relay::run(&mut relay_db, &config, &stop, &holding, &note);
    // Whatever ended the relay ends the inbox too.
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(thread) = inbox_thread {
        let _ = thread.join();
    }
    relayed?;
    note("pi7: relay: stopped");
    Ok(())
}
