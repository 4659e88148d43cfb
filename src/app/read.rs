//! The use cases that only read: listing documents with the `list`
//! filters, one document or process in detail, the event log, and the
//! deliveries still to make.

use uuid::Uuid;

use super::lookup::{learn_short_ids, process_of, resolve, short_ids};
use super::{App, Result};
use crate::domain::{Component, Envelope, OrderStatus, ReservationDoc, ReservationStatus};
use crate::domain::{SalesOrderDoc, Topic};
use crate::error::InputError;
use crate::render::ShortIds;
use crate::store::{DocumentKind, Queries};

pub use crate::store::{Delivery, DeliveryStatus};

/// Which documents to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    Orders,
    Reservations,
}

/// The `list` filters, as the user gave them.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct ListFilter {
    /// Only those with this status.
    pub status: Option<String>,
    /// Only those of this process (any ID of the process, or a unique prefix).
    pub process: Option<String>,
    /// Only those of this customer.
    pub customer: Option<String>,
}

/// The `list` filters, checked and resolved.
struct Filter {
    status: Option<&'static str>,
    process: Option<Uuid>,
}

/// Which events to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventFilter {
    /// Only those after this seq.
    pub since: u64,
    pub process: Option<Uuid>,
    pub topic: Option<Topic>,
}

/// One process: its documents and its events.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Process {
    #[serde(rename = "processId")]
    pub process_id: Uuid,
    /// `null` until an event of the process has reached the saga.
    #[schema(value_type = Option<Object>)]
    pub salesorder: Option<SalesOrderDoc>,
    /// In the order they were made.
    #[schema(value_type = Vec<Object>)]
    pub reservations: Vec<ReservationDoc>,
    /// In `seq` order.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Envelope>,
}

/// What an id named, with its whole process.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Shown {
    /// "sales order", "reservation" or "process".
    pub kind: &'static str,
    /// The full id the given id or prefix named.
    pub id: Uuid,
    #[serde(flatten)]
    pub process: Process,
}

impl Shown {
    /// The reservation the id named, when it named one.
    pub fn reservation(&self) -> Option<&ReservationDoc> {
        self.process.reservations.iter().find(|r| r.id == self.id)
    }
}

impl App {
    /// The shortest prefix (of at least 8 characters) that names one thing,
    /// for each of `which`: how tables show ids.
    pub fn short_ids(&self, which: impl IntoIterator<Item = Uuid>) -> Result<ShortIds> {
        let _snapshot = self.store.begin_read();
        Ok(short_ids(&self.store, which)?)
    }

    /// [`App::short_ids`], adding to what `ids` knows already (for a log
    /// printed as it is read).
    pub fn learn_short_ids(
        &self,
        ids: &mut ShortIds,
        which: impl IntoIterator<Item = Uuid>,
    ) -> Result<()> {
        Ok(learn_short_ids(&self.store, ids, which)?)
    }

    /// The process that an ID of any kind (or a unique prefix) belongs to.
    pub fn process_of(&self, text: &str) -> Result<Uuid> {
        Ok(process_of(&self.store, text)?)
    }

    fn filter(&self, what: What, given: &ListFilter) -> Result<Filter> {
        Ok(Filter {
            status: given
                .status
                .as_deref()
                .map(|s| check_status(what, s))
                .transpose()?,
            process: given
                .process
                .as_deref()
                .map(|text| self.process_of(text))
                .transpose()?,
        })
    }

    /// Sales orders in the order they were made, narrowed by `filter`.
    pub fn orders(&self, filter: &ListFilter) -> Result<Vec<SalesOrderDoc>> {
        let mut all = Vec::new();
        self.for_each_order(filter, &mut |doc| {
            all.push(doc);
            Ok(())
        })?;
        Ok(all)
    }

    /// [`orders`](Self::orders), one document at a time, so that a listing
    /// of a million never holds them all.
    pub fn for_each_order(
        &self,
        filter: &ListFilter,
        each: &mut dyn FnMut(SalesOrderDoc) -> anyhow::Result<()>,
    ) -> Result<()> {
        let f = self.filter(What::Orders, filter)?;
        Ok(self.store.for_each_sales_order(
            f.status,
            f.process,
            filter.customer.as_deref(),
            each,
        )?)
    }

    /// Reservations in the order they were made, narrowed by `filter`
    /// (`customer` is the customer of the reservation's order).
    pub fn reservations(&self, filter: &ListFilter) -> Result<Vec<ReservationDoc>> {
        let mut all = Vec::new();
        self.for_each_reservation(filter, &mut |doc| {
            all.push(doc);
            Ok(())
        })?;
        Ok(all)
    }

    /// [`reservations`](Self::reservations), one document at a time.
    pub fn for_each_reservation(
        &self,
        filter: &ListFilter,
        each: &mut dyn FnMut(ReservationDoc) -> anyhow::Result<()>,
    ) -> Result<()> {
        let f = self.filter(What::Reservations, filter)?;
        Ok(self.store.for_each_reservation(
            f.status,
            f.process,
            filter.customer.as_deref(),
            each,
        )?)
    }

    /// The sales order, reservation or process `text` names (an id or a
    /// unique prefix), with its whole process.
    pub fn show(&self, text: &str) -> Result<Shown> {
        let kinds = [
            DocumentKind::SalesOrder,
            DocumentKind::Reservation,
            DocumentKind::Process,
        ];
        let found = resolve(&self.store, text, &kinds)?;
        Ok(Shown {
            kind: found.kind.as_str(),
            id: found.id,
            process: self.process(found.process_id)?,
        })
    }

    /// One process by its full id.
    pub fn process(&self, process_id: Uuid) -> Result<Process> {
        let mut events = Vec::new();
        self.for_each_event(
            &EventFilter {
                process: Some(process_id),
                ..EventFilter::default()
            },
            &mut |e| {
                events.push(e);
                Ok(())
            },
        )?;
        Ok(Process {
            process_id,
            salesorder: self.store.sales_order_by_process(process_id)?,
            reservations: self.store.reservations_of(process_id)?,
            events,
        })
    }

    /// Calls `each` for every event `filter` lets through, in `seq` order;
    /// returns the last seq seen (`filter.since` when none).
    pub fn for_each_event(
        &self,
        filter: &EventFilter,
        each: &mut dyn FnMut(Envelope) -> anyhow::Result<()>,
    ) -> Result<u64> {
        Ok(self
            .store
            .for_each_event(filter.since, filter.process, filter.topic, each)?)
    }

    /// The events `filter` lets through, at most `limit` of them.
    pub fn events(&self, filter: &EventFilter, limit: usize) -> Result<Vec<Envelope>> {
        let mut events = Vec::new();
        let read = self.for_each_event(filter, &mut |e| {
            if events.len() >= limit {
                return Err(Enough.into());
            }
            events.push(e);
            Ok(())
        });
        match read {
            Err(e) if e.chain().any(|c| c.is::<Enough>()) => Ok(events),
            Err(e) => Err(e),
            Ok(_) => Ok(events),
        }
    }

    /// The seq of the newest event; 0 for an empty log.
    pub fn last_seq(&self) -> Result<u64> {
        Ok(self.store.last_seq()?)
    }

    /// Deliveries not handled yet, or (`failed`) parked after failing.
    pub fn deliveries(
        &self,
        failed: bool,
        component: Option<Component>,
        process: Option<&str>,
    ) -> Result<Vec<Delivery>> {
        let filter = self.delivery_filter(component, process)?;
        let status = if failed {
            DeliveryStatus::Failed
        } else {
            DeliveryStatus::Pending
        };
        Ok(self.store.deliveries(status, &filter)?)
    }
}

/// Stops a read once it has what it was asked for.
#[derive(Debug, thiserror::Error)]
#[error("enough events read")]
pub(super) struct Enough;

fn check_status(what: What, status: &str) -> Result<&'static str, InputError> {
    let known: Vec<&'static str> = match what {
        What::Orders => OrderStatus::ALL.iter().map(|s| s.as_str()).collect(),
        What::Reservations => ReservationStatus::ALL.iter().map(|s| s.as_str()).collect(),
    };
    known
        .iter()
        .find(|k| **k == status)
        .copied()
        .ok_or_else(|| {
            let noun = match what {
                What::Orders => "order",
                What::Reservations => "reservation",
            };
            InputError(format!(
                "unknown {noun} status '{status}' (known: {})",
                known.join(", ")
            ))
        })
}
