//! How an event looks on the broker: published on its topic, its payload as
//! the JSON body (the original's shapes, byte for byte what `pi7 events
//! --json` prints as `payload`), and its envelope beside the body as MQTT 5
//! user properties, so that a subscriber can drop duplicates by `id`
//! without parsing the body.

use rumqttc::v5::mqttbytes::v5::PublishProperties;

use crate::domain::Envelope;

/// The user properties an event carries, in this order. `causationId` is
/// left out when the event has no cause (a command published it).
pub const PROPERTIES: [&str; 6] = ["id", "seq", "processId", "causationId", "source", "time"];

/// Where dead letters go: messages the inbox could not take.
pub const DEAD_LETTER_TOPIC: &str = "pi7/deadletter";

/// One event as a message: topic, body and properties.
pub struct Message {
    pub topic: &'static str,
    pub body: Vec<u8>,
    pub properties: PublishProperties,
}

pub fn message(event: &Envelope) -> Message {
    let mut user = vec![
        ("id".to_string(), event.id.to_string()),
        ("seq".to_string(), event.seq.to_string()),
        ("processId".to_string(), event.process_id.to_string()),
    ];
    if let Some(cause) = event.causation_id {
        user.push(("causationId".to_string(), cause.to_string()));
    }
    user.push(("source".to_string(), event.source.as_str().to_string()));
    user.push(("time".to_string(), event.time.to_string()));
    Message {
        topic: event.topic.as_str(),
        body: serde_json::to_vec(&event.payload).expect("a JSON value always serializes"),
        properties: json_properties(user),
    }
}

/// Properties that say the body is UTF-8 JSON, with `user` beside it.
pub fn json_properties(user: Vec<(String, String)>) -> PublishProperties {
    PublishProperties {
        payload_format_indicator: Some(1),
        content_type: Some("application/json".into()),
        user_properties: user,
        ..PublishProperties::default()
    }
}

/// A dead letter's body: what came in, on which topic, and why it was not
/// taken. A body that is not UTF-8 is carried lossily (the database keeps
/// the bytes).
pub fn dead_letter(topic: &str, payload: &[u8], reason: &str) -> Vec<u8> {
    let body = serde_json::json!({
        "topic": topic,
        "reason": reason,
        "payload": String::from_utf8_lossy(payload),
    });
    serde_json::to_vec(&body).expect("a JSON value always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Source, Topic};
    use uuid::Uuid;

    #[test]
    fn an_event_travels_as_its_payload_with_its_envelope_beside_it() {
        let event = Envelope {
            seq: 4,
            id: Uuid::from_u128(1),
            topic: Topic::SalesOrderConfirm,
            process_id: Uuid::from_u128(2),
            causation_id: Some(Uuid::from_u128(3)),
            source: Source::SalesOrder,
            time: 1543269959,
            payload: serde_json::json!({"processId": Uuid::from_u128(2), "salesorder": {}}),
        };
        let m = message(&event);
        assert_eq!(m.topic, "salesorder/confirm");
        assert_eq!(
            String::from_utf8(m.body).unwrap(),
            r#"{"processId":"00000000-0000-0000-0000-000000000002","salesorder":{}}"#
        );
        let names: Vec<&str> = m
            .properties
            .user_properties
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(names, PROPERTIES);
        assert_eq!(
            m.properties.user_properties[1],
            ("seq".to_string(), "4".to_string())
        );
        assert_eq!(
            m.properties.content_type.as_deref(),
            Some("application/json")
        );

        let uncaused = Envelope {
            causation_id: None,
            ..event
        };
        let m = message(&uncaused);
        assert!(m
            .properties
            .user_properties
            .iter()
            .all(|(k, _)| k != "causationId"));
    }

    #[test]
    fn a_dead_letter_says_what_came_where_and_why() {
        let body = dead_letter("salesorder/request", b"{oops", "invalid JSON");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"topic": "salesorder/request", "reason": "invalid JSON", "payload": "{oops"})
        );
    }
}
