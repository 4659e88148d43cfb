//! Fuzzes the event handlers with arbitrary payloads: the saga and the
//! reservation component must answer Ok or Err (a `PayloadError`), never
//! panic, whatever JSON an event carries and whatever state they hold.
//!
//! Input layout: byte 0 picks the topic among `Topic::ALL`, the rest is the
//! payload as JSON (inputs whose rest is not JSON are skipped). The whole
//! input is also tried as a serialized `Envelope`; when it is one, it is
//! handled too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pi7::domain::{reservation, saga, Envelope, SalesOrderDoc, Source, Topic};
use serde_json::{json, Value};
use std::sync::OnceLock;
use uuid::Uuid;

const PROCESS: Uuid = Uuid::from_u128(0x0123_4567_89ab_4def_8123_4567_89ab_cdef);

fn envelope(seq: u64, topic: Topic, payload: Value) -> Envelope {
    Envelope {
        seq,
        id: Uuid::from_u128(0xfeed_0000 + u128::from(seq)),
        topic,
        process_id: PROCESS,
        causation_id: None,
        source: Source::Web,
        time: 1_700_000_000_000,
        payload,
    }
}

/// Saga documents in each interesting state: just requested, partly
/// confirmed, fully confirmed, and one holding an unmatched confirmation.
fn docs() -> &'static [SalesOrderDoc] {
    static DOCS: OnceLock<Vec<SalesOrderDoc>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let request = envelope(
            1,
            Topic::SalesOrderRequest,
            json!({
                "processId": PROCESS,
                "salesorder": {
                    "customer": "christophe",
                    "reservations": [
                        {"id": 1, "reserved": "some hotel"},
                        {"id": 2, "reserved": "a plane"}
                    ]
                }
            }),
        );
        let requested = saga::handle(None, &request).expect("valid request");
        let mut docs = requested.changed.clone();
        let mut doc = requested.changed[0].clone();
        for (seq, line) in doc.object.reservations.clone().into_iter().enumerate() {
            let mut line = serde_json::to_value(&line).unwrap();
            line["status"] = json!("confirmed");
            let confirm = envelope(
                2 + seq as u64,
                Topic::ReservationConfirm,
                json!({"processId": PROCESS, "reservation": line}),
            );
            doc = saga::handle(Some(&doc), &confirm)
                .expect("valid confirmation")
                .changed[0]
                .clone();
            docs.push(doc.clone());
        }
        let stray = envelope(
            9,
            Topic::ReservationConfirm,
            json!({"processId": PROCESS, "reservation": {
                "id": 7, "reserved": "a tent", "status": "confirmed",
                "_id": Uuid::from_u128(7)
            }}),
        );
        docs.push(saga::handle(None, &stray).expect("valid stray").changed[0].clone());
        docs
    })
}

fn run_handlers(event: &Envelope) {
    let _ = saga::handle(None, event);
    for doc in docs() {
        let _ = saga::handle(Some(doc), event);
    }
    let _ = reservation::handle(&[], event);
    if let Ok(outcome) = reservation::handle(&[], event) {
        // Handling the same request again with what it made must not panic
        // either (the duplicate-delivery path).
        let _ = reservation::handle(&outcome.changed, event);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = serde_json::from_slice::<Envelope>(data) {
        let _ = serde_json::to_string(&event).expect("an envelope serializes");
        run_handlers(&event);
    }
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let topic = Topic::ALL[usize::from(first) % Topic::ALL.len()];
    let Ok(payload) = serde_json::from_slice::<Value>(rest) else {
        return;
    };
    run_handlers(&envelope(100, topic, payload));
});
