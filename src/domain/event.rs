//! Topics, components, the event envelope and the typed payloads.
//!
//! The routing of topics to components lives in `dispatch`, as data; this
//! module only names things and says how they look on the wire.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

use super::document::{OrderLine, SalesOrderDoc};
use super::order::OrderRequest;
use super::PayloadError;

/// A topic of the integration layer, spelled as the original spelled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Topic {
    #[serde(rename = "salesorder/request")]
    SalesOrderRequest,
    #[serde(rename = "reservation/confirm")]
    ReservationConfirm,
    #[serde(rename = "salesorder/confirm")]
    SalesOrderConfirm,
    #[serde(rename = "reservation/reject")]
    ReservationReject,
    #[serde(rename = "salesorder/cancel")]
    SalesOrderCancel,
    #[serde(rename = "reservation/release")]
    ReservationRelease,
}

impl Topic {
    pub const ALL: [Topic; 6] = [
        Topic::SalesOrderRequest,
        Topic::ReservationConfirm,
        Topic::SalesOrderConfirm,
        Topic::ReservationReject,
        Topic::SalesOrderCancel,
        Topic::ReservationRelease,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Topic::SalesOrderRequest => "salesorder/request",
            Topic::ReservationConfirm => "reservation/confirm",
            Topic::SalesOrderConfirm => "salesorder/confirm",
            Topic::ReservationReject => "reservation/reject",
            Topic::SalesOrderCancel => "salesorder/cancel",
            Topic::ReservationRelease => "reservation/release",
        }
    }

    /// How the original's workflow log spoke of an event of this topic.
    pub fn description(self) -> &'static str {
        match self {
            Topic::SalesOrderRequest => "sales order request",
            Topic::ReservationConfirm => "reservation confirmation",
            Topic::SalesOrderConfirm => "sales order confirmation",
            Topic::ReservationReject => "reservation rejection",
            Topic::SalesOrderCancel => "sales order cancellation",
            Topic::ReservationRelease => "reservation release",
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Topic {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Topic::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Topic::ALL.iter().map(|t| t.as_str()).collect();
                format!("unknown topic '{s}' (known: {})", known.join(", "))
            })
    }
}

/// Who published an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Web,
    Reservation,
    #[serde(rename = "salesorder")]
    SalesOrder,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Web => "web",
            Source::Reservation => "reservation",
            Source::SalesOrder => "salesorder",
        }
    }
}

impl FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "web" => Ok(Source::Web),
            "reservation" => Ok(Source::Reservation),
            "salesorder" => Ok(Source::SalesOrder),
            other => Err(format!("unknown source '{other}'")),
        }
    }
}

/// A component that events are delivered to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Component {
    #[serde(rename = "salesorder")]
    SalesOrder,
    #[serde(rename = "reservation")]
    Reservation,
}

impl Component {
    pub const ALL: [Component; 2] = [Component::SalesOrder, Component::Reservation];

    pub fn as_str(self) -> &'static str {
        match self {
            Component::SalesOrder => "salesorder",
            Component::Reservation => "reservation",
        }
    }

    /// How the original's workflow log named the component.
    pub fn display_name(self) -> &'static str {
        match self {
            Component::SalesOrder => "sales order",
            Component::Reservation => "reservation",
        }
    }

    pub fn source(self) -> Source {
        match self {
            Component::SalesOrder => Source::SalesOrder,
            Component::Reservation => Source::Reservation,
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Component {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Component::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown component '{s}' (known: salesorder, reservation)"))
    }
}

/// An event as it is stored and printed: the payload with its metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub seq: u64,
    pub id: Uuid,
    pub topic: Topic,
    #[serde(rename = "processId")]
    pub process_id: Uuid,
    #[serde(rename = "causationId")]
    pub causation_id: Option<Uuid>,
    pub source: Source,
    pub time: i64,
    pub payload: serde_json::Value,
}

/// An event about to be appended; the store gives it its `seq`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub id: Uuid,
    pub topic: Topic,
    pub process_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub source: Source,
    pub time: i64,
    pub payload: serde_json::Value,
}

impl NewEvent {
    pub fn sequenced(self, seq: u64) -> Envelope {
        Envelope {
            seq,
            id: self.id,
            topic: self.topic,
            process_id: self.process_id,
            causation_id: self.causation_id,
            source: self.source,
            time: self.time,
            payload: self.payload,
        }
    }
}

/// `salesorder/request`: a customer asked for these reservations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesOrderRequested {
    #[serde(rename = "processId")]
    pub process_id: Uuid,
    pub salesorder: OrderRequest,
    /// 1 for the first request of a process, one more for each amendment.
    #[serde(default = "first", skip_serializing_if = "is_first")]
    pub revision: u32,
}

fn first() -> u32 {
    1
}

fn is_first(revision: &u32) -> bool {
    *revision == 1
}

/// `reservation/reject`: someone refused a reservation (or it expired).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReservationRejected {
    #[serde(rename = "processId")]
    pub process_id: Uuid,
    pub reservation: OrderLine,
    pub reason: String,
}

/// `salesorder/cancel`: the order is cancelled; its reservations must go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesOrderCancelled {
    #[serde(rename = "processId")]
    pub process_id: Uuid,
    pub salesorder: ConfirmedOrder,
    pub reason: String,
    /// The revision of the request whose lines `salesorder` lists.
    #[serde(default = "first", skip_serializing_if = "is_first")]
    pub revision: u32,
}

/// `reservation/release`: a reservation was given back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReservationReleased {
    #[serde(rename = "processId")]
    pub process_id: Uuid,
    pub reservation: OrderLine,
    pub reason: String,
}

/// `reservation/confirm`: someone confirmed a reservation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReservationConfirmed {
    #[serde(rename = "processId")]
    pub process_id: Uuid,
    pub reservation: OrderLine,
}

/// `salesorder/confirm`: every line of the order is confirmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesOrderConfirmed {
    #[serde(rename = "processId")]
    pub process_id: Uuid,
    pub salesorder: ConfirmedOrder,
}

/// The order as `salesorder/confirm` and `salesorder/cancel` carry it:
/// `{_id, customer, reservations}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfirmedOrder {
    #[serde(rename = "_id")]
    pub id: Uuid,
    pub customer: String,
    pub reservations: Vec<OrderLine>,
}

impl ConfirmedOrder {
    pub fn from_doc(doc: &SalesOrderDoc) -> Self {
        ConfirmedOrder {
            id: doc.id,
            customer: doc.object.customer.clone().unwrap_or_default(),
            reservations: doc.object.reservations.clone(),
        }
    }
}

impl Envelope {
    /// Reads the payload as `T`, or says why the component cannot.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, PayloadError> {
        T::deserialize(&self.payload).map_err(|e| PayloadError {
            topic: self.topic,
            event_id: self.id,
            reason: e.to_string(),
        })
    }
}

impl Envelope {
    /// Whether an event that comes from elsewhere (an import) says what
    /// pi7's own events say: its payload names the envelope's process, and
    /// a request is a valid order. A payload this pi7 cannot read at all is
    /// let through: delivering it fails and parks it, where it waits for a
    /// pi7 that can.
    pub fn check_consistency(&self) -> Result<(), String> {
        if let Some(named) = self.payload.get("processId") {
            if named.as_str() != Some(self.process_id.to_string().as_str()) {
                return Err(format!(
                    "its payload's processId {named} is not the envelope's {}",
                    self.process_id
                ));
            }
        }
        if self.topic == Topic::SalesOrderRequest {
            if let Ok(request) = self.decode::<SalesOrderRequested>() {
                if request.revision == 0 {
                    return Err("a request's revision starts at 1".into());
                }
                let order =
                    serde_json::to_string(&request.salesorder).expect("an order always serializes");
                super::order::parse_orders(&order)
                    .map_err(|e| format!("its order is not valid: {}", e.message))?;
            }
        }
        Ok(())
    }
}
