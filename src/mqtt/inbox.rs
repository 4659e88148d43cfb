//! The inbox: requests and commands that others publish on the broker,
//! taken as if typed on the command line, exactly once.
//!
//! | topic | body | does |
//! |---|---|---|
//! | `salesorder/request` | `{"processId": UUID, "salesorder": ORDER}` (the original's) | `pi7 submit` with that processId, once per processId |
//! | `pi7/command/confirm` | `{"id": ID}` | `pi7 confirm ID` |
//! | `pi7/command/reject` | `{"id": ID, "reason"?: TEXT}` | `pi7 reject ID --reason TEXT` |
//! | `pi7/command/cancel` | `{"id": ID, "reason"?: TEXT}` | `pi7 cancel ID --reason TEXT` |
//!
//! A message is read here into a typed [`Command`]; a [`Taker`] carries it
//! out through the same code the command line runs. A redelivery, or
//! pi7's own request coming back from the relay, finds its processId
//! already in the log and changes nothing; confirming, rejecting or
//! cancelling twice changes nothing the second time, as on the command
//! line. A message that cannot be taken is answered on
//! [`DEAD_LETTER_TOPIC`](super::wire::DEAD_LETTER_TOPIC) with its reason,
//! and recorded; nothing a message says stops the inbox.
//!
//! Messages are acknowledged (PUBACK) only after they were taken or dead-
//! lettered, so a message in hand when pi7 dies is delivered again. The
//! topics are shared subscriptions (`$share/pi7-NAME/...`), so that of
//! several inboxes of one relay name one takes each message.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rumqttc::v5::mqttbytes::v5::{Filter, Packet, Publish};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{Client, Connection, Event, MqttOptions};
use serde::Deserialize;
use serde_json::value::RawValue;
use uuid::Uuid;

use super::relay::Note;
use super::{sleep_unless, wire, Backoff, Broker};
use crate::app::{App, Decision, Diagnostic};
use crate::domain::order::{parse_orders, OrderRequest};
use crate::domain::Topic;
use crate::render;

pub const CONFIRM_TOPIC: &str = "pi7/command/confirm";
pub const REJECT_TOPIC: &str = "pi7/command/reject";
pub const CANCEL_TOPIC: &str = "pi7/command/cancel";

/// A message, read.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Submit {
        process_id: Uuid,
        order: OrderRequest,
    },
    Confirm {
        id: String,
    },
    Reject {
        id: String,
        reason: String,
    },
    Cancel {
        id: String,
        reason: String,
    },
}

/// Carries a command out, as the command line would. `Ok` holds the lines
/// it had to say on stderr (notes, and the workflow log when asked for);
/// `Err` is the one-line reason it was not taken, and nothing was written
/// then.
pub trait Taker {
    fn take(&mut self, command: &Command) -> Result<Vec<String>, String>;
    /// Keeps a message that could not be taken.
    fn record_dead_letter(&mut self, topic: &str, body: &[u8], reason: &str) -> Result<(), String>;
}

/// The use cases, as the command line calls them: `pi7 submit`'s with the
/// sender's processId, `pi7 confirm`'s, `pi7 reject`'s, `pi7 cancel`'s.
impl Taker for App {
    fn take(&mut self, command: &Command) -> Result<Vec<String>, String> {
        let taken = match command {
            Command::Submit { process_id, order } => self.submit_once(*process_id, order).map(drop),
            Command::Confirm { id } => self
                .decide(std::slice::from_ref(id), &Decision::Confirm)
                .map(drop),
            Command::Reject { id, reason } => self
                .decide(
                    std::slice::from_ref(id),
                    &Decision::Reject {
                        reason: reason.clone(),
                    },
                )
                .map(drop),
            Command::Cancel { id, reason } => self.cancel(id, reason).map(drop),
        };
        let now = self.now();
        let said = self
            .take_diagnostics()
            .into_iter()
            .map(|said| match said {
                Diagnostic::Note(line) => format!("pi7: inbox: {line}"),
                Diagnostic::Log(line) => render::log_line(now, std::process::id(), &line),
            })
            .collect();
        taken.map(|()| said).map_err(|e| e.message())
    }

    fn record_dead_letter(&mut self, topic: &str, body: &[u8], reason: &str) -> Result<(), String> {
        App::record_dead_letter(self, topic, body, reason).map_err(|e| e.message())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request<'a> {
    #[serde(rename = "processId")]
    process_id: Option<String>,
    #[serde(borrow)]
    salesorder: Option<&'a RawValue>,
    /// pi7's own requests carry their revision; the inbox takes first
    /// requests only, so it is read and not used.
    #[allow(dead_code)]
    revision: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ById {
    id: String,
    reason: Option<String>,
}

/// Reads a message on one of the inbox's topics.
pub fn parse(topic: &str, body: &[u8]) -> Result<Command, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8 text".to_string())?;
    let json_error = |e: serde_json::Error| e.to_string();
    if topic == Topic::SalesOrderRequest.as_str() {
        let request: Request = serde_json::from_str(text).map_err(json_error)?;
        let process_id = request.process_id.ok_or("the request has no processId")?;
        let process_id = Uuid::parse_str(&process_id)
            .map_err(|_| format!("processId '{process_id}' is not a UUID"))?;
        let order = request
            .salesorder
            .ok_or("the request has no salesorder")?
            .get();
        if !order.trim_start().starts_with('{') {
            return Err("salesorder is not a JSON object".into());
        }
        let mut orders = parse_orders(order).map_err(|e| format!("salesorder {e}"))?;
        let order = orders.remove(0);
        return Ok(Command::Submit { process_id, order });
    }
    let command: ById = serde_json::from_str(text).map_err(json_error)?;
    let given = command.reason.is_some();
    let reason = command.reason.unwrap_or_else(|| "no reason given".into());
    match topic {
        CONFIRM_TOPIC if !given => Ok(Command::Confirm { id: command.id }),
        CONFIRM_TOPIC => Err("a confirmation takes no reason".into()),
        REJECT_TOPIC => Ok(Command::Reject {
            id: command.id,
            reason,
        }),
        CANCEL_TOPIC => Ok(Command::Cancel {
            id: command.id,
            reason,
        }),
        other => Err(format!("pi7 takes nothing on topic {other}")),
    }
}

/// Takes messages until `stop` is raised, while `active` (this pi7 holds
/// the relay's lease: one inbox per relay name is connected at a time).
pub fn run(
    broker: &Broker,
    name: &str,
    taker: &mut dyn Taker,
    stop: &AtomicBool,
    active: &AtomicBool,
    note: &Note,
) {
    let options = match broker.options(&format!("pi7-inbox-{name}")) {
        Ok(mut options) => {
            // A persistent session: what is published while this inbox is
            // away waits for it on the broker; a message in hand when it
            // died comes again.
            options.set_clean_start(false);
            options.set_session_expiry_interval(Some(7 * 24 * 3600));
            options.set_manual_acks(true);
            options
        }
        Err(e) => return note(&format!("pi7: inbox: {e}")),
    };
    let mut backoff = Backoff::new();
    while !stop.load(Ordering::Relaxed) {
        if !active.load(Ordering::Relaxed) {
            sleep_unless(stop, Duration::from_millis(200));
            continue;
        }
        let (connected, error) = session(&options, name, taker, stop, active, note);
        if stop.load(Ordering::Relaxed) {
            return;
        }
        if let Some(error) = error {
            if connected {
                backoff.reset();
            }
            let wait = backoff.next_wait();
            note(&format!(
                "pi7: inbox: {} the broker at {broker} ({error}); retrying in {}",
                if connected { "lost" } else { "cannot reach" },
                humantime::format_duration(wait)
            ));
            sleep_unless(stop, wait);
        }
    }
}

/// One connection: (whether it connected, why it ended unless asked to).
fn session(
    options: &MqttOptions,
    name: &str,
    taker: &mut dyn Taker,
    stop: &AtomicBool,
    active: &AtomicBool,
    note: &Note,
) -> (bool, Option<String>) {
    let (client, mut connection) = Client::new(options.clone(), 64);
    // A shared subscription per relay name: of the inboxes of one pi7
    // system one takes each message; another system (another name) gets
    // its own copy.
    let share = format!("$share/pi7-{name}/");
    let topics = [
        format!("{share}{}", Topic::SalesOrderRequest.as_str()),
        format!("{share}{CONFIRM_TOPIC}"),
        format!("{share}{REJECT_TOPIC}"),
        format!("{share}{CANCEL_TOPIC}"),
    ];
    let filters = topics.iter().map(|t| Filter::new(t, QoS::AtLeastOnce));
    if let Err(e) = client.subscribe_many(filters) {
        return (false, Some(e.to_string()));
    }
    let mut connected = false;
    // Acks and dead letters wait here while rumqttc's queue is full: this
    // thread is the one that empties it, so it must never block on it.
    let mut outbox: VecDeque<Reply> = VecDeque::new();
    loop {
        while let Some(reply) = outbox.pop_front() {
            let sent = match &reply {
                Reply::Ack(publish) => client.try_ack(publish),
                Reply::DeadLetter { body, reason } => client.try_publish_with_properties(
                    wire::DEAD_LETTER_TOPIC,
                    QoS::AtLeastOnce,
                    false,
                    body.clone(),
                    wire::json_properties(vec![("reason".into(), reason.clone())]),
                ),
            };
            if sent.is_err() {
                outbox.push_front(reply);
                break;
            }
        }
        if stop.load(Ordering::Relaxed) || !active.load(Ordering::Relaxed) {
            let _ = client.try_disconnect();
            drain(&mut connection);
            return (connected, None);
        }
        match connection.recv_timeout(Duration::from_millis(200)) {
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => connected = true,
            Ok(Ok(Event::Incoming(Packet::Publish(publish)))) => {
                // Dead letter first: the message is acknowledged only once
                // its answer is on its way.
                outbox.extend(take(&publish, taker, note));
                outbox.push_back(Reply::Ack(publish));
            }
            Ok(Ok(Event::Incoming(Packet::Disconnect(d)))) => {
                return (
                    connected,
                    Some(format!("the broker disconnected ({:?})", d.reason_code)),
                )
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return (connected, Some(e.to_string())),
            Err(rumqttc::v5::RecvTimeoutError::Timeout) => {}
            Err(rumqttc::v5::RecvTimeoutError::Disconnected) => {
                return (connected, Some("the connection closed".into()))
            }
        }
    }
}

/// Lets a disconnect that was asked for go out.
fn drain(connection: &mut Connection) {
    for _ in 0..20 {
        match connection.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok(_)) => continue,
            _ => return,
        }
    }
}

/// What the inbox owes the broker.
enum Reply {
    Ack(Publish),
    DeadLetter { body: Vec<u8>, reason: String },
}

/// Takes one message; what to publish on the dead-letter topic when it
/// could not be taken.
fn take(publish: &Publish, taker: &mut dyn Taker, note: &Note) -> Option<Reply> {
    let topic = String::from_utf8_lossy(&publish.topic).into_owned();
    let outcome = parse(&topic, &publish.payload).and_then(|command| taker.take(&command));
    let reason = match outcome {
        Ok(said) => {
            for line in said {
                note(&line);
            }
            return None;
        }
        Err(reason) => reason,
    };
    let reason = reason.lines().collect::<Vec<_>>().join(" ");
    if let Err(e) = taker.record_dead_letter(&topic, &publish.payload, &reason) {
        // Still published: the message itself is not lost on the broker.
        note(&format!("pi7: inbox: cannot record a dead letter: {e}"));
    }
    Some(Reply::DeadLetter {
        body: wire::dead_letter(&topic, &publish.payload, &reason),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submit(body: &str) -> Result<Command, String> {
        parse("salesorder/request", body.as_bytes())
    }

    #[test]
    fn the_originals_request_is_a_submit_with_its_process_id() {
        let body = r#"{"processId": "6b91c191-0000-4000-8000-000000000001",
            "salesorder": {"customer": "christophe", "reservations": [{"id": 1, "reserved": "some hotel"}]}}"#;
        let Command::Submit { process_id, order } = submit(body).unwrap() else {
            panic!("not a submit")
        };
        assert_eq!(
            process_id.to_string(),
            "6b91c191-0000-4000-8000-000000000001"
        );
        assert_eq!(order.customer, "christophe");
        assert_eq!(order.reservations[0].reserved, "some hotel");
    }

    #[test]
    fn a_bad_request_says_why_in_one_line() {
        let id = "6b91c191-0000-4000-8000-000000000001";
        for (body, why) in [
            ("{oops", "key must be a string at line 1 column 2"),
            (r#"{"salesorder": {}}"#, "the request has no processId"),
            (
                r#"{"processId": "x", "salesorder": {}}"#,
                "processId 'x' is not a UUID",
            ),
            (
                &format!(r#"{{"processId": "{id}"}}"#),
                "the request has no salesorder",
            ),
            (
                &format!(r#"{{"processId": "{id}", "salesorder": []}}"#),
                "salesorder is not a JSON object",
            ),
            (
                &format!(
                    r#"{{"processId": "{id}", "salesorder": {{"reservations": [{{"id": 1, "reserved": "x"}}]}}}}"#
                ),
                "salesorder 1:1: the order has no \"customer\"",
            ),
            (
                &format!(r#"{{"processId": "{id}", "extra": 1}}"#),
                "unknown field `extra`",
            ),
        ] {
            let e = submit(body).unwrap_err();
            assert!(e.contains(why), "{body}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
        assert_eq!(
            parse("salesorder/request", &[0xff]).unwrap_err(),
            "the body is not UTF-8 text"
        );
    }

    #[test]
    fn commands_name_what_they_act_on_by_id() {
        assert_eq!(
            parse(CONFIRM_TOPIC, br#"{"id": "825a80dd"}"#).unwrap(),
            Command::Confirm {
                id: "825a80dd".into()
            }
        );
        assert_eq!(
            parse(REJECT_TOPIC, br#"{"id": "825a80dd", "reason": "full"}"#).unwrap(),
            Command::Reject {
                id: "825a80dd".into(),
                reason: "full".into()
            }
        );
        assert_eq!(
            parse(CANCEL_TOPIC, br#"{"id": "825a80dd"}"#).unwrap(),
            Command::Cancel {
                id: "825a80dd".into(),
                reason: "no reason given".into()
            }
        );
        assert!(parse(CONFIRM_TOPIC, br#"{"ids": ["x"]}"#)
            .unwrap_err()
            .contains("unknown field `ids`"));
        assert!(parse("pi7/command/other", br#"{"id": "x"}"#)
            .unwrap_err()
            .contains("pi7 takes nothing on topic pi7/command/other"));
    }
}
