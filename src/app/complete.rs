//! The ids a command would take, for the shell to offer when the user
//! presses TAB: only reads, and only what the command would act on.

use uuid::Uuid;

use super::read::Enough;
use super::{App, Result};
use crate::domain::{OrderStatus, ReservationStatus, SalesOrderDoc};
use crate::store::{DocumentKind, Queries};

/// Which ids an argument takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completing {
    /// `confirm` and `reject`: reservations still unconfirmed.
    Undecided,
    /// `cancel` and `submit --process`: the sales orders (and processes)
    /// of pending orders that were requested, which the customer may still
    /// withdraw or amend.
    Pending,
    /// `show`: every sales order, process and reservation.
    Any,
}

/// One id to offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdCandidate {
    /// "sales order", "process" or "reservation".
    pub kind: &'static str,
    pub id: Uuid,
    /// The shortest prefix (of at least 8) that names it, as tables show it.
    pub short: String,
    /// The order's customer, or the reservation's item.
    pub name: Option<String>,
    /// Its status; `None` for a process whose order the saga has not heard
    /// of yet (held).
    pub status: Option<&'static str>,
}

impl App {
    /// What an argument `completing` takes whose id starts with `typed`
    /// (any case; nothing for text that cannot begin an id), at most `limit`
    /// of each kind.
    pub fn id_candidates(
        &self,
        completing: Completing,
        typed: &str,
        limit: usize,
    ) -> Result<Vec<IdCandidate>> {
        let typed = typed.to_ascii_lowercase();
        if !typed.chars().all(|c| c.is_ascii_hexdigit() || c == '-') || limit == 0 {
            return Ok(Vec::new());
        }
        let mut found = match completing {
            Completing::Undecided => self.undecided(&typed, limit)?,
            Completing::Pending => self.pending(&typed, limit)?,
            Completing::Any => self.any(&typed, limit)?,
        };
        let ids = self.short_ids(found.iter().map(|c| c.id))?;
        for candidate in &mut found {
            candidate.short = ids.short(&candidate.id);
        }
        Ok(found)
    }

    fn undecided(&self, typed: &str, limit: usize) -> Result<Vec<IdCandidate>> {
        let mut found = Vec::new();
        let unconfirmed = ReservationStatus::Unconfirmed.as_str();
        let read = self
            .store
            .for_each_reservation(Some(unconfirmed), None, None, &mut |doc| {
                if doc.id.to_string().starts_with(typed) {
                    found.push(IdCandidate {
                        kind: DocumentKind::Reservation.as_str(),
                        id: doc.id,
                        short: String::new(),
                        name: Some(doc.object.reserved),
                        status: Some(doc.object.status.as_str()),
                    });
                }
                enough(found.len(), limit)
            });
        stop_when_enough(read)?;
        Ok(found)
    }

    fn pending(&self, typed: &str, limit: usize) -> Result<Vec<IdCandidate>> {
        let (mut orders, mut processes) = (Vec::new(), Vec::new());
        let pending = OrderStatus::Pending.as_str();
        let read = self
            .store
            .for_each_sales_order(Some(pending), None, None, &mut |doc| {
                // Withdrawing or amending an order the saga only knows from
                // a confirmation is refused: its request has not arrived.
                if doc.object.customer.is_none() {
                    return Ok(());
                }
                for (kind, id, into) in [
                    (DocumentKind::SalesOrder, doc.id, &mut orders),
                    (DocumentKind::Process, doc.process_id, &mut processes),
                ] {
                    if into.len() < limit && id.to_string().starts_with(typed) {
                        into.push(order_candidate(kind, id, Some(&doc)));
                    }
                }
                enough(orders.len().min(processes.len()), limit)
            });
        stop_when_enough(read)?;
        orders.append(&mut processes);
        Ok(orders)
    }

    fn any(&self, typed: &str, limit: usize) -> Result<Vec<IdCandidate>> {
        let kinds = [
            DocumentKind::SalesOrder,
            DocumentKind::Process,
            DocumentKind::Reservation,
        ];
        let mut found = self.store.find(typed, &kinds, limit)?;
        // Orders first, then processes, then reservations, as `show`'s
        // help names them.
        found.sort_by_key(|f| (kinds.iter().position(|k| *k == f.kind), f.id));
        let mut candidates = Vec::with_capacity(found.len());
        for f in found {
            candidates.push(match f.kind {
                DocumentKind::Reservation => {
                    let doc = self.store.reservation_by_id(f.id)?;
                    IdCandidate {
                        kind: f.kind.as_str(),
                        id: f.id,
                        short: String::new(),
                        name: doc.as_ref().map(|d| d.object.reserved.clone()),
                        status: doc.map(|d| d.object.status.as_str()),
                    }
                }
                DocumentKind::SalesOrder => {
                    let doc = self.store.sales_order_by_id(f.id)?;
                    order_candidate(f.kind, f.id, doc.as_ref())
                }
                DocumentKind::Process => {
                    let doc = self.store.sales_order_by_process(f.id)?;
                    order_candidate(f.kind, f.id, doc.as_ref())
                }
            });
        }
        Ok(candidates)
    }
}

fn order_candidate(kind: DocumentKind, id: Uuid, order: Option<&SalesOrderDoc>) -> IdCandidate {
    IdCandidate {
        kind: kind.as_str(),
        id,
        short: String::new(),
        name: order.and_then(|o| o.object.customer.clone()),
        status: order.map(|o| o.object.status.as_str()),
    }
}

/// Stops a read once `have` reached `limit`.
fn enough(have: usize, limit: usize) -> anyhow::Result<()> {
    if have >= limit {
        return Err(Enough.into());
    }
    Ok(())
}

fn stop_when_enough(read: anyhow::Result<()>) -> Result<()> {
    match read {
        Err(e) if e.chain().any(|c| c.is::<Enough>()) => Ok(()),
        other => Ok(other?),
    }
}
