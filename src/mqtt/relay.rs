//! The relay: the event log, published on the broker in log order, each
//! event at least once (QoS 1), as a transactional outbox would.
//!
//! The relay's position is a row in the database ([`Lease`]): the highest
//! seq up to which the broker acknowledged every event. It moves only after
//! PUBACKs, so a relay killed at any moment and started again publishes
//! again what it had not seen acknowledged, and nothing is lost; a
//! subscriber drops the duplicates by the `id` user property. The row
//! carries a lease, so that of several relays on one database one publishes
//! and the others stand by.
//!
//! One connection is two threads: the feeder (this thread) reads the log in
//! pages and hands publishes to rumqttc, and keeps the lease and the
//! position; the driver runs the connection and matches PUBACKs to events.
//! A connection that fails is dropped whole and a new one starts from the
//! stored position: nothing that rumqttc kept from the old one is trusted.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::v5::mqttbytes::v5::{Packet, PubAckReason};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{Client, ClientError, Connection, Event, MqttOptions};
use rumqttc::Outgoing;

use super::{sleep_unless, wire, Backoff, Broker};
use crate::app::{self, App, Lease};
use crate::domain::Envelope;
use crate::error::InputError;

/// How many events the feeder reads at a time.
const PAGE: usize = 1000;
/// How long a stopping relay waits for the acknowledgements of what it
/// already published before it gives them up (and does not count them).
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How often, at most, the position is written while events stream.
const SAVE_EVERY: Duration = Duration::from_millis(200);

/// What `pi7 relay` was asked to do.
#[derive(Debug, Clone)]
pub struct Config {
    pub broker: Broker,
    /// The relay's name: one position (and one lease) per name.
    pub name: String,
    /// Publish from after this seq instead of the stored position
    /// (`--from-start` is 0, `--since SEQ`).
    pub start: Option<u64>,
    /// How long a lease lasts without renewal: how long a killed relay
    /// keeps the others standing by.
    pub lease: Duration,
    /// How often the log is read for new events when the relay has caught up.
    pub poll: Duration,
}

/// Writes one whole line on stderr (pi7's notes start `pi7: `), from any
/// thread.
pub type Note = Arc<dyn Fn(&str) + Send + Sync>;

/// How one connection ended.
enum Ended {
    /// Stop was asked for; everything acknowledged is stored.
    Stopped,
    /// Another relay holds the lease now.
    LeaseLost,
    /// The broker could not be reached, or went away.
    Broker { error: String, connected: bool },
}

/// Publishes the log until `stop` is raised. `holding` says, for the
/// inbox, whether this relay holds the lease.
pub fn run(
    db: &mut App,
    config: &Config,
    stop: &AtomicBool,
    holding: &AtomicBool,
    note: &Note,
) -> app::Result<()> {
    let owner = owner_id();
    let options = config
        .broker
        .options(&format!("pi7-relay-{}", short_random()))?;
    let mut start = config.start;
    let mut backoff = Backoff::new();
    let mut standing_by = false;
    while !stop.load(Ordering::Relaxed) {
        let position = match db.take_relay_lease(&config.name, &owner, config.lease)? {
            Lease::Held { position } => position,
            Lease::HeldBy { owner: other, .. } => {
                holding.store(false, Ordering::Relaxed);
                if !standing_by {
                    note(&format!(
                        "pi7: relay: '{}' is held by another relay ({other}); standing by until it stops or its lease lapses",
                        config.name
                    ));
                    standing_by = true;
                }
                sleep_unless(stop, (config.lease / 2).min(Duration::from_secs(1)));
                continue;
            }
        };
        standing_by = false;
        holding.store(true, Ordering::Relaxed);
        let position = match start.take() {
            Some(seq) => {
                db.set_relay_position(&config.name, &owner, seq)?;
                seq
            }
            None => position,
        };
        match session(db, config, &options, &owner, position, stop, note)? {
            Ended::Stopped => break,
            Ended::LeaseLost => {
                holding.store(false, Ordering::Relaxed);
                note(&format!(
                    "pi7: relay: another relay took over '{}' after this one's lease lapsed; standing by",
                    config.name
                ));
            }
            Ended::Broker { error, connected } => {
                if connected {
                    backoff.reset();
                }
                let wait = backoff.next_wait();
                let what = if connected {
                    "lost the broker"
                } else {
                    "cannot reach the broker"
                };
                note(&format!(
                    "pi7: relay: {what} at {} ({error}); retrying in {}",
                    config.broker,
                    humantime::format_duration(wait)
                ));
                sleep_unless(stop, wait);
            }
        }
    }
    holding.store(false, Ordering::Relaxed);
    db.release_relay_lease(&config.name, &owner)?;
    Ok(())
}

/// What the feeder and the driver share about the publishes in flight.
#[derive(Default)]
struct Flight {
    /// Published events waiting for rumqttc to give them a packet id, in
    /// publish order (which is the order rumqttc sends them).
    unassigned: VecDeque<u64>,
    by_packet: HashMap<u16, u64>,
    /// Published and not acknowledged.
    outstanding: BTreeSet<u64>,
    last_published: u64,
    /// Why the connection ended, once it has.
    ended: Option<String>,
}

impl Flight {
    /// Every event up to this one is acknowledged.
    fn acknowledged(&self) -> u64 {
        match self.outstanding.first() {
            Some(first) => first - 1,
            None => self.last_published,
        }
    }
}

fn session(
    db: &mut App,
    config: &Config,
    options: &MqttOptions,
    owner: &str,
    position: u64,
    stop: &AtomicBool,
    note: &Note,
) -> app::Result<Ended> {
    let (client, mut connection) = Client::new(options.clone(), 256);
    if let Err(error) = handshake(&mut connection) {
        return Ok(Ended::Broker {
            error,
            connected: false,
        });
    }
    note(&format!(
        "pi7: relay: publishing '{}' to {} from seq {}",
        config.name,
        config.broker,
        position + 1
    ));
    let flight = Arc::new(Mutex::new(Flight {
        last_published: position,
        ..Flight::default()
    }));
    let driver = {
        let flight = Arc::clone(&flight);
        std::thread::spawn(move || drive(connection, &flight))
    };
    let ended = feed(db, config, &client, &flight, owner, position, stop, note);
    let _ = client.try_disconnect();
    drop(client);
    let _ = driver.join();
    ended
}

/// Waits for the broker's CONNACK.
fn handshake(connection: &mut Connection) -> Result<(), String> {
    loop {
        match connection.recv() {
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => return Ok(()),
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("the connection closed".into()),
        }
    }
}

/// Runs the connection: gives each published event its packet id and
/// crosses it off when the broker acknowledges it.
fn drive(mut connection: Connection, flight: &Mutex<Flight>) {
    let end = |why: String| {
        let mut f = flight.lock().expect("the flight lock is never poisoned");
        f.ended.get_or_insert(why);
    };
    loop {
        match connection.recv() {
            Ok(Ok(Event::Outgoing(Outgoing::Publish(packet)))) if packet != 0 => {
                let mut f = flight.lock().expect("the flight lock is never poisoned");
                if let Some(seq) = f.unassigned.pop_front() {
                    f.by_packet.insert(packet, seq);
                }
            }
            Ok(Ok(Event::Incoming(Packet::PubAck(ack)))) => {
                let mut f = flight.lock().expect("the flight lock is never poisoned");
                let Some(seq) = f.by_packet.remove(&ack.pkid) else {
                    continue;
                };
                match ack.reason {
                    PubAckReason::Success | PubAckReason::NoMatchingSubscribers => {
                        f.outstanding.remove(&seq);
                    }
                    refused => {
                        drop(f);
                        return end(format!("the broker refused event {seq}: {refused:?}"));
                    }
                }
            }
            Ok(Ok(Event::Incoming(Packet::Disconnect(d)))) => {
                return end(format!("the broker disconnected ({:?})", d.reason_code));
            }
            Ok(Ok(Event::Outgoing(Outgoing::Disconnect))) => return end("disconnected".into()),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return end(e.to_string()),
            Err(_) => return end("the connection closed".into()),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn feed(
    db: &mut App,
    config: &Config,
    client: &Client,
    flight: &Mutex<Flight>,
    owner: &str,
    position: u64,
    stop: &AtomicBool,
    note: &Note,
) -> app::Result<Ended> {
    let lock = || flight.lock().expect("the flight lock is never poisoned");
    let mut page: VecDeque<Envelope> = VecDeque::new();
    let mut last_read = position;
    let mut stored = position;
    let mut saved_at = Instant::now();
    let mut stopping: Option<Instant> = None;
    loop {
        if stopping.is_none() && stop.load(Ordering::Relaxed) {
            let waiting = lock().outstanding.len();
            if waiting > 0 {
                note(&format!(
                    "pi7: relay: stopping: waiting for the broker to acknowledge {waiting} events"
                ));
            }
            stopping = Some(Instant::now());
        }
        let ended = lock().ended.clone();
        if let Some(error) = ended {
            save(db, config, owner, lock().acknowledged(), stored)?;
            return Ok(if stopping.is_some() {
                Ended::Stopped
            } else {
                Ended::Broker {
                    error,
                    connected: true,
                }
            });
        }
        if stopping.is_none() && page.is_empty() {
            page.extend(db.events_after(last_read, PAGE)?);
            if let Some(last) = page.back() {
                last_read = last.seq;
            }
        }
        let mut published = 0;
        while stopping.is_none() {
            let Some(event) = page.front() else { break };
            let seq = event.seq;
            let message = wire::message(event);
            {
                let mut f = lock();
                f.unassigned.push_back(seq);
                f.outstanding.insert(seq);
            }
            match client.try_publish_with_properties(
                message.topic,
                QoS::AtLeastOnce,
                false,
                message.body,
                message.properties,
            ) {
                Ok(()) => {
                    lock().last_published = seq;
                    page.pop_front();
                    published += 1;
                }
                Err(e) => {
                    // Full (rumqttc holds as many as the broker lets be
                    // in flight) or closed: take it back; the loop finds
                    // out which.
                    let mut f = lock();
                    f.unassigned.pop_back();
                    f.outstanding.remove(&seq);
                    if !matches!(e, ClientError::TryRequest(_)) {
                        f.ended.get_or_insert(e.to_string());
                    }
                    break;
                }
            }
        }
        let (acknowledged, in_flight) = {
            let f = lock();
            (f.acknowledged(), f.outstanding.len())
        };
        let due = saved_at.elapsed() >= SAVE_EVERY.min(config.lease / 3);
        if (acknowledged > stored && (due || in_flight == 0))
            || saved_at.elapsed() >= config.lease / 3
        {
            if !db.renew_relay_lease(&config.name, owner, acknowledged, config.lease)? {
                return Ok(Ended::LeaseLost);
            }
            stored = stored.max(acknowledged);
            saved_at = Instant::now();
        }
        if let Some(since) = stopping {
            if in_flight == 0 || since.elapsed() >= STOP_GRACE {
                if in_flight > 0 {
                    note(&format!(
                        "pi7: relay: stopping without {in_flight} acknowledgements; those events are published again next time"
                    ));
                }
                save(db, config, owner, acknowledged, stored)?;
                return Ok(Ended::Stopped);
            }
        }
        if published == 0 {
            let idle = page.is_empty() && in_flight == 0;
            std::thread::sleep(if idle && stopping.is_none() {
                config.poll
            } else {
                Duration::from_millis(1)
            });
        }
    }
}

/// Stores what is acknowledged, if that is more than is stored.
fn save(
    db: &mut App,
    config: &Config,
    owner: &str,
    acknowledged: u64,
    stored: u64,
) -> app::Result<()> {
    if acknowledged > stored {
        db.renew_relay_lease(&config.name, owner, acknowledged, config.lease)?;
    }
    Ok(())
}

/// Names this process in the lease row, for the message a relay standing
/// by prints.
fn owner_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host} pid {} ({})", std::process::id(), short_random())
}

fn short_random() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

/// Checks a relay's configuration before anything connects.
pub fn check(config: &Config) -> Result<(), InputError> {
    // The name goes into topic filters and client ids.
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if config.name.is_empty() || !config.name.chars().all(allowed) {
        return Err(InputError(format!(
            "--name '{}' is not a relay name: use letters, digits, '-', '_' and '.'",
            config.name
        )));
    }
    if config.lease < Duration::from_millis(300) {
        return Err(InputError("--lease must be at least 300ms".into()));
    }
    config.broker.options("pi7-check").map(|_| ())
}
