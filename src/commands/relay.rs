//! `pi7 relay`: pi7 on an MQTT broker. The log goes out (the relay), and
//! with `--inbox` requests and commands come in, each taken through the
//! same code as the command that a person would type.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::confirm::{decide, resolve_reservations, Decision};
use super::{cancel, Context};
use crate::mqtt::inbox::{self, Command, Taker};
use crate::mqtt::relay::{self, Config, Note};
use crate::mqtt::Broker;
use crate::operations;
use crate::store::{OpenMode, Store};

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

pub fn run(ctx: &mut Context, args: Args) -> anyhow::Result<()> {
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
    let mut store = ctx.open(OpenMode::ReadWrite)?;

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second Ctrl-C ends at once, without waiting for the broker.
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))?;
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    let note: Note = Arc::new(|line: &str| {
        let _ = writeln!(std::io::stderr(), "pi7: {line}");
    });
    let holding = Arc::new(AtomicBool::new(false));
    let inbox_thread = args.inbox.then(|| {
        let mut taker = CliTaker {
            db: ctx.db_path(),
            now: ctx.now_override,
            verbose: ctx.verbose,
            hold: ctx.hold,
        };
        let (broker, name) = (config.broker.clone(), config.name.clone());
        let (stop, holding, note) = (Arc::clone(&stop), Arc::clone(&holding), Arc::clone(&note));
        std::thread::spawn(move || inbox::run(&broker, &name, &mut taker, &stop, &holding, &note))
    });
    let relayed = relay::run(&mut store, &config, &stop, &holding, &note);
    // Whatever ended the relay ends the inbox too.
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(thread) = inbox_thread {
        let _ = thread.join();
    }
    relayed?;
    note("relay: stopped");
    Ok(())
}

/// Takes the inbox's commands as the command line does: the same lookups,
/// the same operations, the same delivery afterwards.
struct CliTaker {
    db: Result<PathBuf, crate::store::StoreError>,
    now: Option<i64>,
    verbose: bool,
    hold: bool,
}

impl CliTaker {
    fn take_with(&self, command: &Command, ctx: &mut Context) -> anyhow::Result<()> {
        match command {
            Command::Submit { process_id, order } => {
                let mut store = ctx.open(OpenMode::ReadWrite)?;
                let now = ctx.now;
                let (taken, log) = store.transaction(&mut |tx| {
                    // Once per processId: a redelivery, or pi7's own request
                    // back from the relay, finds it in the log.
                    if tx.has_process(*process_id)? {
                        return Ok((false, Vec::new()));
                    }
                    let acted = operations::submit(tx, order, *process_id, Uuid::new_v4(), now)?;
                    Ok((true, acted.log))
                })?;
                ctx.log(&log)?;
                if taken {
                    ctx.settle(&mut store)?;
                }
                Ok(())
            }
            Command::Confirm { id } | Command::Reject { id, .. } => {
                let mut store = ctx.open(OpenMode::ReadWrite)?;
                let ids = resolve_reservations(&store, std::slice::from_ref(id))?;
                let decision = match command {
                    Command::Reject { reason, .. } => Decision::Reject {
                        reason: reason.clone(),
                    },
                    _ => Decision::Confirm,
                };
                decide(ctx, &mut store, &ids, &decision)
            }
            Command::Cancel { id, reason } => cancel::run(
                ctx,
                cancel::Args {
                    id: id.clone(),
                    reason: reason.clone(),
                },
            ),
        }
    }
}

impl Taker for CliTaker {
    fn take(&mut self, command: &Command) -> Result<String, String> {
        let mut out = std::io::sink();
        let mut err = Vec::new();
        let mut ctx = self.context(&mut out, &mut err);
        let result = self.take_with(command, &mut ctx);
        // The notes a command prints ("already confirmed; nothing changed")
        // and, with -v, the workflow log.
        let _ = std::io::stderr().write_all(&err);
        result.map(|()| String::new()).map_err(|e| format!("{e:#}"))
    }

    fn record_dead_letter(&mut self, topic: &str, body: &[u8], reason: &str) -> Result<(), String> {
        let mut out = std::io::sink();
        let mut err = Vec::new();
        let ctx = self.context(&mut out, &mut err);
        let now = ctx.now;
        ctx.open(OpenMode::ReadWrite)
            .and_then(|mut store| store.record_dead_letter(now, topic, body, reason))
            .map_err(|e| e.to_string())
    }
}

impl CliTaker {
    fn context<'a>(&self, out: &'a mut dyn Write, err: &'a mut dyn Write) -> Context<'a> {
        Context {
            db: self.db.as_ref().ok().cloned(),
            json: false,
            verbose: self.verbose,
            hold: self.hold,
            now: self.now.unwrap_or_else(super::clock_now),
            now_override: self.now,
            out,
            err,
        }
    }
}
