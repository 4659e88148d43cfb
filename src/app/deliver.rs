//! The use cases of the delivery log: delivering what is pending in an
//! order the user chooses, and delivering a handled event again.

use super::{settle, App, Result};
use crate::dispatch::{self as dispatcher, RedeliverError};
use crate::domain::Component;
use crate::store::{DeliveryFilter, DeliveryStatus, Queries, Store};

pub use crate::dispatch::{Handled, Order, Report};

impl App {
    /// The deliveries to `component` of the process that `process` names
    /// (any of its ids, or a unique prefix).
    pub(super) fn delivery_filter(
        &self,
        component: Option<Component>,
        process: Option<&str>,
    ) -> Result<DeliveryFilter> {
        Ok(DeliveryFilter {
            component,
            process_id: process.map(|text| self.process_of(text)).transpose()?,
            exclude: Vec::new(),
        })
    }

    /// Delivers pending deliveries in `order`, only those to `component`
    /// and of `process` when given, at most `limit` of them; deliveries
    /// that handling publishes join in. Returns what each delivery did, in
    /// the order they were made.
    ///
    /// `progress` is told how many deliveries have been made, of how many:
    /// at first those pending, then as handling publishes, those that join
    /// in too (never more than `limit`). It moves as each batch commits.
    pub fn dispatch(
        &mut self,
        order: Order,
        component: Option<Component>,
        process: Option<&str>,
        limit: Option<usize>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Vec<Report>> {
        let plan = dispatcher::Plan {
            order,
            filter: self.delivery_filter(component, process)?,
            limit,
            handlers: dispatcher::Handlers::REAL,
        };
        let within = |n: usize| limit.map_or(n, |limit| n.min(limit));
        let mut expected = self
            .store
            .deliveries(DeliveryStatus::Pending, &plan.filter)?
            .len();
        progress(0, within(expected) as u64);
        let mut reports = Vec::new();
        dispatcher::dispatch(&mut self.store, &plan, &mut |r| {
            reports.push(r.clone());
            expected += dispatcher::joining(&r.published, &plan.filter);
            // Another writer's deliveries, pending after the count, are
            // taken as well.
            let total = within(expected).max(reports.len());
            progress(reports.len() as u64, total as u64);
        })?;
        Ok(reports)
    }

    /// Delivers event `seq` again to `component`, or to every component it
    /// is routed to, in one transaction; a parked delivery is retried.
    /// What it published waits for [`deliver_pending`](Self::deliver_pending).
    pub fn redeliver(&mut self, seq: u64, component: Option<Component>) -> Result<Vec<Report>> {
        let now = self.now();
        let reports = self.store.transaction(&mut |tx| {
            let event = tx
                .event(seq)
                .map_err(|_| RedeliverError::NoSuchEvent { seq })?;
            let components: Vec<Component> = match component {
                Some(c) => vec![c],
                None => dispatcher::subscribers(event.topic).to_vec(),
            };
            if components.is_empty() {
                return Err(RedeliverError::Unrouted {
                    seq,
                    topic: event.topic,
                }
                .into());
            }
            components
                .into_iter()
                .map(|c| dispatcher::redeliver(tx, seq, c, now, &dispatcher::Handlers::REAL))
                .collect::<anyhow::Result<Vec<_>>>()
        })?;
        Ok(reports)
    }

    /// Delivers everything pending (or, when the options hold, says how
    /// much waits), as every writing use case does before it returns; what
    /// it had to say joins the diagnostics. Returns how many deliveries
    /// failed. Apart from [`redeliver`](Self::redeliver) so that a face
    /// can show what the redelivery did even when this fails.
    pub fn deliver_pending(&mut self) -> Result<usize> {
        settle(
            &mut self.store,
            &self.options,
            &mut self.diagnostics,
            Vec::new(),
        )
    }
}
