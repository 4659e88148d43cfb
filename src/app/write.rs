//! The use cases that write: submit (and amend), confirm, reject, cancel,
//! expire. Each looks up what it is given before it writes anything, writes
//! in one transaction, delivers what that published, and returns the
//! documents as they are afterwards.

use std::collections::BTreeSet;
use uuid::Uuid;

use super::lookup::{resolve, whole_id};
use super::saved::Saved;
use super::{first_attempt, App, Result};
use crate::dispatch::{self as dispatcher, Handlers};
use crate::domain::order::OrderRequest;
use crate::domain::saga;
use crate::domain::Topic;
use crate::domain::{ReservationDoc, ReservationStatus, SalesOrderDoc};
use crate::error::InputError;
use crate::operations::{self, Acted, Refused};
use crate::render;
use crate::store::{DocumentKind, Queries, StoreError};

/// One submitted (or amended) order as it stands after delivery.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Submitted {
    #[serde(rename = "processId")]
    pub process_id: Uuid,
    /// `null` while the request is held undelivered.
    #[schema(value_type = Option<Object>)]
    pub salesorder: Option<SalesOrderDoc>,
    #[schema(value_type = Vec<Object>)]
    pub reservations: Vec<ReservationDoc>,
}

/// The orders one submit recorded: their requests are the events of the
/// log from `first` to `last` on that topic.
#[derive(Debug)]
pub struct Recorded {
    pub first: u64,
    pub last: u64,
    pub orders: usize,
    /// Their documents, as the submit's transaction left them.
    saved: Saved,
}

/// What a person decides about a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Confirm,
    Reject { reason: String },
}

impl Decision {
    pub fn past_tense(&self) -> &'static str {
        match self {
            Decision::Confirm => "confirmed",
            Decision::Reject { .. } => "rejected",
        }
    }
}

/// Reservations after a decision, and the orders they belong to.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Decided {
    /// Each reservation decided about, once, in the order first named.
    #[schema(value_type = Vec<Object>)]
    pub reservations: Vec<ReservationDoc>,
    /// The ids of those the decision did not change (already decided).
    pub unchanged: Vec<Uuid>,
    /// The sales orders of their processes, in process-id order.
    #[schema(value_type = Vec<Object>)]
    pub orders: Vec<SalesOrderDoc>,
}

impl App {
    /// Submits orders, each under a new processId, all in one transaction.
    pub fn submit(&mut self, orders: &[OrderRequest]) -> Result<Vec<Submitted>> {
        let recorded = self.submit_all(&mut orders.iter().cloned().map(Ok))?;
        let mut submitted = Vec::with_capacity(recorded.orders);
        self.for_each_submitted(&recorded, &mut |one| {
            submitted.push(one);
            Ok(())
        })
        .map_err(|e| self.recorded_then(e, &recorded))?;
        Ok(submitted)
    }

    /// `e`, a failure after `recorded` was committed, naming the processes
    /// it recorded (when they can be read): a retry would submit them twice.
    fn recorded_then(&self, e: super::Error, recorded: &Recorded) -> super::Error {
        let mut processes = Vec::new();
        let listed = self.for_each_submitted_process(recorded, &mut |p| {
            processes.push(p);
            Ok(())
        });
        match listed {
            Ok(()) => e.recorded(processes),
            Err(_) => e,
        }
    }

    /// Submits the orders `orders` yields, each under a new processId, all
    /// in one transaction: nothing is written unless every one is valid (an
    /// `Err` it yields undoes them all and is returned). Each is written as
    /// it is read, so memory does not grow with their number: what grows is
    /// the transaction, in the WAL on disk. Returns where their requests are
    /// in the log, for [`for_each_submitted`](Self::for_each_submitted).
    pub fn submit_all(
        &mut self,
        orders: &mut dyn Iterator<Item = anyhow::Result<OrderRequest>>,
    ) -> Result<Recorded> {
        let now = self.now();
        let keep_log = self.options.log;
        let mut started = false;
        let recorded = self.record_delivering(&mut |tx, delivering| {
            first_attempt(&mut started)?;
            let mut all = Acted::default();
            let mut recorded = Recorded {
                first: 0,
                last: 0,
                orders: 0,
                saved: Saved::default(),
            };
            for order in &mut *orders {
                let mut acted =
                    operations::submit(tx, &order?, Uuid::new_v4(), Uuid::new_v4(), now)?;
                if let Some(request) = acted.published.first() {
                    if recorded.orders == 0 {
                        recorded.first = request.seq;
                    }
                    recorded.last = request.seq;
                }
                recorded.orders += 1;
                // Only a verbose run shows the log: it would hold memory in
                // proportion to the input.
                if !keep_log {
                    acted.log.clear();
                }
                all.absorb(acted);
                // Delivered a batch at a time, so that what waits for it
                // does not grow with the input either. Each order is a
                // process of its own, so delivering one changes nothing the
                // orders after it are recorded against; and handling a new
                // order's request publishes nothing (a test requires it),
                // so the log still shows the requests as one command.
                if all.published.len() >= dispatcher::BATCH {
                    delivering.deliver(tx, &all.published)?;
                    all.published.clear();
                }
            }
            if recorded.orders == 0 {
                return Err(InputError("no order in the input".into()).into());
            }
            Ok((recorded, all))
        })?;
        // The requests are committed: from here on, a failure must say
        // which processes it recorded, or a retry would submit them twice.
        match self.settle() {
            Ok(saved) => Ok(Recorded { saved, ..recorded }),
            Err(e) => Err(self.recorded_then(e, &recorded)),
        }
    }

    /// Calls `each` with every order `recorded` names as it stands now, in
    /// the order submitted, reading them a page at a time.
    pub fn for_each_submitted(
        &self,
        recorded: &Recorded,
        each: &mut dyn FnMut(Submitted) -> Result<()>,
    ) -> Result<()> {
        self.for_each_submitted_process(recorded, &mut |process_id| {
            each(self.submitted_new(process_id, &recorded.saved)?)
        })
    }

    fn for_each_submitted_process(
        &self,
        recorded: &Recorded,
        each: &mut dyn FnMut(Uuid) -> Result<()>,
    ) -> Result<()> {
        const PAGE: usize = 1000;
        let mut since = recorded.first.saturating_sub(1);
        loop {
            // A page is read on one snapshot: its statements take the
            // file's locks once, and no writer waits on a long output.
            let _snapshot = self.store.begin_read();
            let page = self
                .store
                .processes_since(since, Topic::SalesOrderRequest, PAGE)?;
            for &(seq, process_id) in &page {
                if seq > recorded.last {
                    return Ok(());
                }
                each(process_id)?;
            }
            match page.last() {
                Some(&(last, _)) if page.len() == PAGE => since = last,
                _ => return Ok(()),
            }
        }
    }

    /// Amends the pending order of the process `process` names (any of its
    /// ids, or a unique prefix): its lines become `order`'s.
    /// An amendment identical to the order as it stands changes nothing
    /// and publishes nothing; one that changes the customer says so.
    pub fn amend(&mut self, process: &str, order: &OrderRequest) -> Result<Submitted> {
        let process_id = self.process_of(process)?;
        let before = self.store.sales_order_by_process(process_id)?;
        if let Some(doc) = before.as_ref().filter(|d| saga::amends_nothing(d, order)) {
            // Refusals (a confirmed order, say) still come first.
            saga::check_amendment(doc, order).map_err(Refused::from)?;
            self.note(format!(
                "the amendment is the order of process {process_id} as it stands; nothing changed"
            ));
            return self.submitted(process_id);
        }
        let customer = before.and_then(|d| d.object.customer);
        let now = self.now();
        self.record(&mut |tx| {
            let acted =
                operations::amend(tx, process_id, order, Uuid::new_v4(), now, &Handlers::REAL)?;
            Ok(((), acted))
        })?;
        if let Some(was) = customer.filter(|was| *was != order.customer) {
            self.note(format!(
                "the amendment changes the customer from '{}' to '{}'",
                render::clip(&was, 24),
                render::clip(&order.customer, 24)
            ));
        }
        let what = format!("the amendment of process {process_id} was");
        // Read back whole: an amendment saves only some of the process's
        // reservations.
        self.settle()
            .and_then(|_saved| self.submitted(process_id))
            .map_err(|e| e.after_commit(&what))
    }

    /// Submits `order` under the processId its sender chose (the original's
    /// `salesorder/request` carries one), once: `None` when that process is
    /// in the log already — a redelivery, or pi7's own request coming back.
    pub fn submit_once(
        &mut self,
        process_id: Uuid,
        order: &OrderRequest,
    ) -> Result<Option<Submitted>> {
        let now = self.now();
        let new = self.record(&mut |tx| {
            if tx.has_process(process_id)? {
                return Ok((false, Acted::default()));
            }
            let acted = operations::submit(tx, order, process_id, Uuid::new_v4(), now)?;
            Ok((true, acted))
        })?;
        // Also when it was not new: the flags `record` left are for it.
        let saved = self.settle()?;
        if !new {
            return Ok(None);
        }
        self.submitted_new(process_id, &saved).map(Some)
    }

    /// The order of a process as it is now.
    fn submitted(&self, process_id: Uuid) -> Result<Submitted> {
        Ok(Submitted {
            process_id,
            salesorder: self.store.sales_order_by_process(process_id)?,
            reservations: self.store.reservations_of(process_id)?,
        })
    }

    /// [`submitted`](Self::submitted) for a process the transaction that
    /// left `saved` created: every document it has, it saved there.
    fn submitted_new(&self, process_id: Uuid, saved: &Saved) -> Result<Submitted> {
        Ok(Submitted {
            process_id,
            salesorder: self.sales_order_now(process_id, saved)?,
            reservations: match saved.reservations_of_new(process_id) {
                Some(reservations) => reservations,
                None => self.store.reservations_of(process_id)?,
            },
        })
    }

    /// The sales order of a process as it is now: as the transaction that
    /// left `saved` saved it, or else from the database.
    fn sales_order_now(&self, process_id: Uuid, saved: &Saved) -> Result<Option<SalesOrderDoc>> {
        match saved.sales_order(process_id) {
            Some(doc) => Ok(Some(doc.clone())),
            None => Ok(self.store.sales_order_by_process(process_id)?),
        }
    }

    /// Confirms or rejects the reservations `texts` name (ids or unique
    /// prefixes), every one looked up before anything is written.
    pub fn decide(&mut self, texts: &[String], decision: &Decision) -> Result<Decided> {
        self.decide_with_progress(texts, decision, &mut |_, _| {})
    }

    /// [`decide`](Self::decide), telling `progress` how many of the
    /// reservations are recorded, of how many, as the transaction that
    /// records them goes: the longest part of deciding many (three fifths
    /// of confirming 10,000; looking them up is quick, and delivering what
    /// the decisions published, the rest, is not counted).
    pub fn decide_with_progress(
        &mut self,
        texts: &[String],
        decision: &Decision,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Decided> {
        if texts.is_empty() {
            return Err(InputError("no reservation IDs given".into()).into());
        }
        // Whole ids, which scripts give by the thousand, go straight to the
        // transaction, which reads each reservation anyway: looking each up
        // first cost a bulk confirm 3% of its work. Only when one is not
        // there (which undoes the transaction, so nothing is written) is
        // what was typed looked up, for the message that says what it finds;
        // and when the database was too busy to write, since an id that is
        // not there is the better thing to say, and reading needs no lock.
        if let Some(ids) = whole_ids(texts) {
            return match self.decide_ids(&ids, decision, progress) {
                Err(e) if matches!(e.kind, super::Kind::NotFound | super::Kind::Busy) => {
                    self.resolve_reservations(texts)?;
                    Err(e)
                }
                decided => decided,
            };
        }
        let ids = self.resolve_reservations(texts)?;
        self.decide_ids(&ids, decision, progress)
    }

    /// The reservations `texts` name, each once, in the order first named.
    fn resolve_reservations(&self, texts: &[String]) -> Result<Vec<Uuid>> {
        let _snapshot = self.store.begin_read();
        // Whole ids, which scripts give by the thousand, are checked by a
        // point look-up each (on PostgreSQL, one query for all); a prefix,
        // or an id that is not there, the search that says what it finds.
        let whole: Vec<Uuid> = texts.iter().filter_map(|text| whole_id(text)).collect();
        let known = self.store.known_reservations(&whole)?;
        let mut ids = texts
            .iter()
            .map(|text| match whole_id(text) {
                Some(id) if known.contains(&id) => Ok(id),
                _ => Ok(resolve(&self.store, text, &[DocumentKind::Reservation])?.id),
            })
            .collect::<Result<Vec<Uuid>>>()?;
        once_each(&mut ids);
        Ok(ids)
    }

    fn decide_ids(
        &mut self,
        ids: &[Uuid],
        decision: &Decision,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Decided> {
        let now = self.now();
        let total = ids.len() as u64;
        let keep_log = self.options.log;
        let unchanged = self.record(&mut |tx| {
            // A busy database runs this again from the start.
            progress(0, total);
            let mut all = Acted::default();
            let mut unchanged = Vec::new();
            for (done, id) in ids.iter().enumerate() {
                let mut acted = match decision {
                    Decision::Confirm => operations::confirm(tx, *id, Uuid::new_v4(), now)?,
                    Decision::Reject { reason } => {
                        operations::reject(tx, *id, reason, Uuid::new_v4(), now)?
                    }
                };
                // As in `submit_all`: the log of thousands of decisions is
                // held only when a verbose run will show it.
                if !keep_log {
                    acted.log.clear();
                }
                if !acted.changed {
                    // As it was found: what this transaction delivers
                    // later (a release, say) is not what it already was.
                    let status = tx.reservation(*id)?.map(|r| r.object.status);
                    unchanged.push((*id, status));
                }
                all.absorb(acted);
                progress(done as u64 + 1, total);
            }
            Ok((unchanged, all))
        })?;
        let unchanged: Vec<Uuid> = unchanged
            .into_iter()
            .map(|(id, status)| {
                if let Some(status) = status {
                    self.note(format!(
                        "reservation {id} is already {status}; nothing changed"
                    ));
                }
                id
            })
            .collect();
        let kept: std::collections::HashSet<&Uuid> = unchanged.iter().collect();
        let changed: Vec<Uuid> = ids
            .iter()
            .filter(|id| !kept.contains(id))
            .copied()
            .collect();
        let noun = match decision {
            Decision::Confirm => "confirmation",
            Decision::Reject { .. } => "rejection",
        };
        let what = match changed.as_slice() {
            [one] => format!("the {noun} of reservation {one} was"),
            many => format!(
                "the {noun} of {} reservations (ids on stdout) was",
                many.len()
            ),
        };
        self.settle()
            .and_then(|saved| self.decided(ids, unchanged, &saved))
            .map_err(|e| {
                if changed.is_empty() {
                    e
                } else {
                    // Named on stdout as well, as a submit's orders are.
                    let mut e = e.after_commit(&what);
                    e.recorded = changed;
                    e
                }
            })
    }

    /// The reservations `ids` and their orders as they are now, those the
    /// transaction that left `saved` saved as it saved them.
    fn decided(&self, ids: &[Uuid], unchanged: Vec<Uuid>, saved: &Saved) -> Result<Decided> {
        // One snapshot for all of it: the reads take the file's locks once.
        let _snapshot = self.store.begin_read();
        let mut reservations = Vec::with_capacity(ids.len());
        let mut processes = BTreeSet::new();
        for id in ids {
            let doc = match saved.reservation(*id) {
                Some(doc) => doc.clone(),
                None => self
                    .store
                    .reservation_by_id(*id)?
                    .ok_or_else(|| StoreError::Corrupt(format!("reservation {id} vanished")))?,
            };
            processes.insert(doc.process_id);
            reservations.push(doc);
        }
        let mut orders = Vec::new();
        for process_id in processes {
            orders.extend(self.sales_order_now(process_id, saved)?);
        }
        Ok(Decided {
            reservations,
            unchanged,
            orders,
        })
    }

    /// The customer withdraws the order of the process `id` names; returns
    /// the order as it is afterwards.
    pub fn cancel(&mut self, id: &str, reason: &str) -> Result<Option<SalesOrderDoc>> {
        let process_id = self.process_of(id)?;
        let now = self.now();
        let changed = self.record(&mut |tx| {
            let acted = operations::withdraw(tx, process_id, reason, now)?;
            Ok((acted.changed, acted))
        })?;
        if !changed {
            self.note(format!(
                "the order of process {process_id} is already cancelled; nothing changed"
            ));
        }
        let what = format!("the cancellation of process {process_id} was");
        self.settle()
            .and_then(|saved| self.sales_order_now(process_id, &saved))
            .map_err(|e| if changed { e.after_commit(&what) } else { e })
    }

    /// Rejects, with reason "expired", every unconfirmed reservation made
    /// more than `older_than` seconds ago.
    pub fn expire(&mut self, older_than: std::time::Duration) -> Result<Decided> {
        let deadline = i64::try_from(older_than.as_secs())
            .ok()
            .and_then(|age| self.now().checked_sub(age))
            .ok_or_else(|| InputError(format!("{older_than:?} is too long a duration")))?;
        let unconfirmed = ReservationStatus::Unconfirmed.as_str();
        let expired: Vec<_> = self
            .store
            .list_reservations(Some(unconfirmed), None, None)?
            .into_iter()
            .filter(|r| r.object.history.first().is_some_and(|h| h.time < deadline))
            .map(|r| r.id)
            .collect();
        if expired.is_empty() {
            self.note("no unconfirmed reservation is that old".into());
            self.settle()?;
            return Ok(Decided {
                reservations: Vec::new(),
                unchanged: Vec::new(),
                orders: Vec::new(),
            });
        }
        let reason = Decision::Reject {
            reason: "expired".to_string(),
        };
        self.decide_ids(&expired, &reason, &mut |_, _| {})
    }
}

/// The ids `texts` give when every one is a whole id, each once.
fn whole_ids(texts: &[String]) -> Option<Vec<Uuid>> {
    let mut ids = texts
        .iter()
        .map(|text| whole_id(text))
        .collect::<Option<Vec<_>>>()?;
    once_each(&mut ids);
    Some(ids)
}

/// Keeps the first naming of each reservation: the same one named twice
/// (by its id and a prefix, say) is decided once, or its second naming
/// would find it decided and report that nothing changed.
fn once_each(ids: &mut Vec<Uuid>) {
    let mut seen = BTreeSet::new();
    ids.retain(|id| seen.insert(*id));
}
