//! What the process view shows beside a process's documents: the saga's
//! timeline, each delivery to the sales-order saga in the order it was
//! handled, with the order's status after it. The statuses come from
//! folding the pure saga over those deliveries, so they show how the order
//! got where it is, whatever order its events arrived in.

use uuid::Uuid;

use super::{App, Process, Result};
use crate::domain::{saga, Component, SalesOrderDoc};
use crate::store::{DeliveryStatus, Queries};

/// One delivery to the saga.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TimelineStep {
    /// The 1-based position among the saga's deliveries of this process.
    pub step: usize,
    /// The event delivered.
    pub seq: u64,
    pub topic: &'static str,
    /// `done`, `pending` or `failed`.
    pub delivery: &'static str,
    /// The order's status after it (`None` when not handled yet).
    pub status: Option<&'static str>,
    /// Lines confirmed after it, of how many.
    pub confirmed: usize,
    pub lines: usize,
    /// The customer, once known.
    pub customer: Option<String>,
}

/// A process with its saga's timeline.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProcessView {
    #[serde(flatten)]
    pub process: Process,
    pub timeline: Vec<TimelineStep>,
}

impl App {
    /// The process any id (or unique prefix) of it names, with its saga's
    /// timeline.
    pub fn process_view(&self, text: &str) -> Result<ProcessView> {
        let process_id = self.process_of(text)?;
        let process = self.process(process_id)?;
        let timeline = self.timeline(&process, process_id)?;
        Ok(ProcessView { process, timeline })
    }

    fn timeline(&self, process: &Process, process_id: Uuid) -> Result<Vec<TimelineStep>> {
        let mut state: Option<SalesOrderDoc> = None;
        let mut steps = Vec::new();
        let to_saga = self
            .store
            .deliveries_by_handling(Some(process_id))?
            .into_iter()
            .map(|(delivery, _)| delivery)
            .filter(|d| d.component == Component::SalesOrder);
        for delivery in to_saga {
            let event = process.events.iter().find(|e| e.seq == delivery.seq);
            let handled = delivery.status == DeliveryStatus::Done;
            if let (true, Some(event)) = (handled, event) {
                // An event the saga cannot read leaves the order as it was.
                let _ = saga::apply(&mut state, event);
            }
            let order = state.as_ref().map(|d| &d.object);
            steps.push(TimelineStep {
                step: steps.len() + 1,
                seq: delivery.seq,
                topic: delivery.topic.as_str(),
                delivery: delivery.status.as_str(),
                status: handled.then(|| order.map(|o| o.status.as_str())).flatten(),
                confirmed: order.map_or(0, |o| {
                    o.reservations
                        .iter()
                        .filter(|l| l.status == crate::domain::ReservationStatus::Confirmed)
                        .count()
                }),
                lines: order.map_or(0, |o| o.reservations.len()),
                customer: order.and_then(|o| o.customer.clone()),
            });
        }
        Ok(steps)
    }
}
