//! [`Queries`]: the reads commands make, which every store answers alike,
//! and [`AnyStore`], the store a `--db` value names (a file: SQLite; a
//! `postgres://` URL: PostgreSQL), which commands hold.
//!
//! `Store::transaction` is generic, so a store cannot be a trait object;
//! `AnyStore` is the closed set of stores the command line can open, and
//! forwards every trait to the one it holds.

use uuid::Uuid;

use super::{
    Delivery, DeliveryFilter, DeliveryStatus, DocumentChange, DocumentKind, Found, Handling,
    OpenMode, PgStore, SqliteStore, Store, StoreError, Tx,
};
use crate::domain::{Envelope, ReservationDoc, SalesOrderDoc, Topic};
use crate::replay::{LogSource, Rebuilt, Step};

/// The reads the command line makes, outside any unit of work.
pub trait Queries {
    fn sales_order_by_id(&self, id: Uuid) -> Result<Option<SalesOrderDoc>, StoreError>;
    fn sales_order_by_process(&self, process_id: Uuid)
        -> Result<Option<SalesOrderDoc>, StoreError>;
    fn reservation_by_id(&self, id: Uuid) -> Result<Option<ReservationDoc>, StoreError>;
    /// A process's reservations in the order they were made.
    fn reservations_of(&self, process_id: Uuid) -> Result<Vec<ReservationDoc>, StoreError>;
    /// Which of `ids` name a reservation, without reading their documents:
    /// many at once, for commands that name thousands.
    fn known_reservations(
        &self,
        ids: &[Uuid],
    ) -> Result<std::collections::HashSet<Uuid>, StoreError>;
    /// Sales orders in the order they were created, narrowed by the filters.
    fn list_sales_orders(
        &self,
        status: Option<&str>,
        process_id: Option<Uuid>,
        customer: Option<&str>,
    ) -> Result<Vec<SalesOrderDoc>, StoreError> {
        let mut all = Vec::new();
        self.for_each_sales_order(status, process_id, customer, &mut |doc| {
            all.push(doc);
            Ok(())
        })
        .map_err(into_store_error)?;
        Ok(all)
    }
    /// Reservations in the order they were made; `customer` is that of
    /// their sales order.
    fn list_reservations(
        &self,
        status: Option<&str>,
        process_id: Option<Uuid>,
        customer: Option<&str>,
    ) -> Result<Vec<ReservationDoc>, StoreError> {
        let mut all = Vec::new();
        self.for_each_reservation(status, process_id, customer, &mut |doc| {
            all.push(doc);
            Ok(())
        })
        .map_err(into_store_error)?;
        Ok(all)
    }
    fn for_each_sales_order(
        &self,
        status: Option<&str>,
        process_id: Option<Uuid>,
        customer: Option<&str>,
        each: &mut dyn FnMut(SalesOrderDoc) -> anyhow::Result<()>,
    ) -> anyhow::Result<()>;
    fn for_each_reservation(
        &self,
        status: Option<&str>,
        process_id: Option<Uuid>,
        customer: Option<&str>,
        each: &mut dyn FnMut(ReservationDoc) -> anyhow::Result<()>,
    ) -> anyhow::Result<()>;
    /// Everything of `kinds` whose id starts with `prefix` (lowercase hex
    /// and dashes); at most `limit` of each kind.
    fn find(
        &self,
        prefix: &str,
        kinds: &[DocumentKind],
        limit: usize,
    ) -> Result<Vec<Found>, StoreError>;
    /// Calls `each` for every event after `since`, in `seq` order, narrowed
    /// by process and topic; returns the last seq seen.
    fn for_each_event(
        &self,
        since: u64,
        process_id: Option<Uuid>,
        topic: Option<Topic>,
        each: &mut dyn FnMut(Envelope) -> anyhow::Result<()>,
    ) -> anyhow::Result<u64>;
    fn event_by_id(&self, id: Uuid) -> Result<Option<Envelope>, StoreError>;
    /// The seq and process of each event of `topic` after `since`, in `seq`
    /// order, at most `limit` of them: which processes a run of events
    /// names, without reading the events whole.
    fn processes_since(
        &self,
        since: u64,
        topic: Topic,
        limit: usize,
    ) -> Result<Vec<(u64, Uuid)>, StoreError>;
    /// (number of events, highest seq).
    fn event_count(&self) -> Result<(u64, u64), StoreError>;
    /// Deliveries with `status`, first first, narrowed by `filter`.
    fn deliveries(
        &self,
        status: DeliveryStatus,
        filter: &DeliveryFilter,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Every delivery (of one process, when given) with where it was
    /// handled, in handling order, unhandled ones last.
    fn deliveries_by_handling(
        &self,
        process_id: Option<Uuid>,
    ) -> Result<Vec<(Delivery, Option<Handling>)>, StoreError>;
    /// Every row whose filter columns disagree with its document.
    fn column_mismatches(&self) -> Result<Vec<String>, StoreError>;
    /// `["ok"]`, or what the storage engine found wrong with itself.
    fn integrity_check(&self) -> Result<Vec<String>, StoreError>;
    /// The highest `seq` in the log (0 when it is empty).
    fn last_seq(&self) -> Result<u64, StoreError>;
    /// The ids just before and just after `id` among sales orders,
    /// reservations and processes: what the shortest unique prefix of `id`
    /// must tell it apart from.
    fn neighbours(&self, id: &str) -> Result<Vec<String>, StoreError>;
    /// How many sales orders, reservations and processes have ids that
    /// start with `prefix`, counting at most two of each kind: whether the
    /// prefix names one thing alone.
    fn sharing_prefix(&self, prefix: &str) -> Result<u64, StoreError>;
    /// The schema version, and how many rows each table holds, by status
    /// where it has one (`"deliveries done"`): what `pi7 info` shows.
    fn counts(&self) -> Result<(i64, std::collections::BTreeMap<String, u64>), StoreError>;
}

/// Implements [`Queries`] by handing every call to `$target`.
macro_rules! forward_queries {
    ($ty:ty, |$s:ident| $target:expr) => {
        impl Queries for $ty {
            fn sales_order_by_id(&self, id: Uuid) -> Result<Option<SalesOrderDoc>, StoreError> {
                let $s = self;
                $target.sales_order_by_id(id)
            }
            fn sales_order_by_process(
                &self,
                process_id: Uuid,
            ) -> Result<Option<SalesOrderDoc>, StoreError> {
                let $s = self;
                $target.sales_order_by_process(process_id)
            }
            fn reservation_by_id(&self, id: Uuid) -> Result<Option<ReservationDoc>, StoreError> {
                let $s = self;
                $target.reservation_by_id(id)
            }
            fn reservations_of(&self, process_id: Uuid) -> Result<Vec<ReservationDoc>, StoreError> {
                let $s = self;
                $target.reservations_of(process_id)
            }
            fn known_reservations(
                &self,
                ids: &[Uuid],
            ) -> Result<std::collections::HashSet<Uuid>, StoreError> {
                let $s = self;
                $target.known_reservations(ids)
            }
            fn for_each_sales_order(
                &self,
                status: Option<&str>,
                process_id: Option<Uuid>,
                customer: Option<&str>,
                each: &mut dyn FnMut(SalesOrderDoc) -> anyhow::Result<()>,
            ) -> anyhow::Result<()> {
                let $s = self;
                $target.for_each_sales_order(status, process_id, customer, each)
            }
            fn for_each_reservation(
                &self,
                status: Option<&str>,
                process_id: Option<Uuid>,
                customer: Option<&str>,
                each: &mut dyn FnMut(ReservationDoc) -> anyhow::Result<()>,
            ) -> anyhow::Result<()> {
                let $s = self;
                $target.for_each_reservation(status, process_id, customer, each)
            }
            fn find(
                &self,
                prefix: &str,
                kinds: &[DocumentKind],
                limit: usize,
            ) -> Result<Vec<Found>, StoreError> {
                let $s = self;
                $target.find(prefix, kinds, limit)
            }
            fn for_each_event(
                &self,
                since: u64,
                process_id: Option<Uuid>,
                topic: Option<Topic>,
                each: &mut dyn FnMut(Envelope) -> anyhow::Result<()>,
            ) -> anyhow::Result<u64> {
                let $s = self;
                $target.for_each_event(since, process_id, topic, each)
            }
            fn event_by_id(&self, id: Uuid) -> Result<Option<Envelope>, StoreError> {
                let $s = self;
                $target.event_by_id(id)
            }
            fn processes_since(
                &self,
                since: u64,
                topic: Topic,
                limit: usize,
            ) -> Result<Vec<(u64, Uuid)>, StoreError> {
                let $s = self;
                $target.processes_since(since, topic, limit)
            }
            fn event_count(&self) -> Result<(u64, u64), StoreError> {
                let $s = self;
                $target.event_count()
            }
            fn deliveries(
                &self,
                status: DeliveryStatus,
                filter: &DeliveryFilter,
            ) -> Result<Vec<Delivery>, StoreError> {
                let $s = self;
                $target.deliveries(status, filter)
            }
            fn deliveries_by_handling(
                &self,
                process_id: Option<Uuid>,
            ) -> Result<Vec<(Delivery, Option<Handling>)>, StoreError> {
                let $s = self;
                $target.deliveries_by_handling(process_id)
            }
            fn column_mismatches(&self) -> Result<Vec<String>, StoreError> {
                let $s = self;
                $target.column_mismatches()
            }
            fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
                let $s = self;
                $target.integrity_check()
            }
            fn last_seq(&self) -> Result<u64, StoreError> {
                let $s = self;
                $target.last_seq()
            }
            fn neighbours(&self, id: &str) -> Result<Vec<String>, StoreError> {
                let $s = self;
                $target.neighbours(id)
            }
            fn sharing_prefix(&self, prefix: &str) -> Result<u64, StoreError> {
                let $s = self;
                $target.sharing_prefix(prefix)
            }
            fn counts(&self) -> Result<(i64, std::collections::BTreeMap<String, u64>), StoreError> {
                let $s = self;
                $target.counts()
            }
        }
    };
}

// The stores answer with their inherent methods of the same names (a
// missing one would recurse, which rustc's `unconditional_recursion` denies).
forward_queries!(SqliteStore, |s| s);
forward_queries!(PgStore, |s| s);
forward_queries!(AnyStore, |s| s.queries());

/// The storage error inside `e`, which only store code produced.
fn into_store_error(e: anyhow::Error) -> StoreError {
    match e.downcast::<StoreError>() {
        Ok(store) => store,
        Err(e) => match e.downcast::<rusqlite::Error>() {
            Ok(sqlite) => StoreError::Sqlite(sqlite),
            Err(e) => match e.downcast::<postgres::Error>() {
                Ok(pg) => StoreError::Postgres(pg),
                Err(e) => StoreError::Corrupt(e.to_string()),
            },
        },
    }
}

/// The store a `--db` value names.
// An App holds one, for as long as it lives; the SQLite side is the one
// used most, and boxing it would cost a pointer chase on every read.
#[allow(clippy::large_enum_variant)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(Box<PgStore>),
}

/// The MQTT relay's bookkeeping: the same rows and rules on both stores.
impl AnyStore {
    pub fn take_relay_lease(
        &mut self,
        name: &str,
        owner: &str,
        ttl: std::time::Duration,
    ) -> Result<super::Lease, StoreError> {
        match self {
            AnyStore::Sqlite(store) => store.take_relay_lease(name, owner, ttl),
            AnyStore::Postgres(store) => store.take_relay_lease(name, owner, ttl),
        }
    }

    pub fn renew_relay_lease(
        &mut self,
        name: &str,
        owner: &str,
        position: u64,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError> {
        match self {
            AnyStore::Sqlite(store) => store.renew_relay_lease(name, owner, position, ttl),
            AnyStore::Postgres(store) => store.renew_relay_lease(name, owner, position, ttl),
        }
    }

    pub fn set_relay_position(
        &mut self,
        name: &str,
        owner: &str,
        position: u64,
    ) -> Result<bool, StoreError> {
        match self {
            AnyStore::Sqlite(store) => store.set_relay_position(name, owner, position),
            AnyStore::Postgres(store) => store.set_relay_position(name, owner, position),
        }
    }

    pub fn release_relay_lease(&mut self, name: &str, owner: &str) -> Result<(), StoreError> {
        match self {
            AnyStore::Sqlite(store) => store.release_relay_lease(name, owner),
            AnyStore::Postgres(store) => store.release_relay_lease(name, owner),
        }
    }

    pub fn events_after(
        &self,
        since: u64,
        limit: usize,
    ) -> Result<Vec<crate::domain::Envelope>, StoreError> {
        match self {
            AnyStore::Sqlite(store) => store.events_after(since, limit),
            AnyStore::Postgres(store) => store.events_after(since, limit),
        }
    }

    pub fn record_dead_letter(
        &mut self,
        time: i64,
        topic: &str,
        payload: &[u8],
        reason: &str,
    ) -> Result<(), StoreError> {
        match self {
            AnyStore::Sqlite(store) => store.record_dead_letter(time, topic, payload, reason),
            AnyStore::Postgres(store) => store.record_dead_letter(time, topic, payload, reason),
        }
    }
}

impl AnyStore {
    /// Opens `db`: a `postgres://` or `postgresql://` URL connects to
    /// PostgreSQL; anything else is an SQLite file.
    pub fn open(db: &std::path::Path, mode: OpenMode) -> Result<Self, StoreError> {
        match db.to_str().filter(|s| super::is_postgres_url(s)) {
            Some(url) => Ok(AnyStore::Postgres(Box::new(PgStore::open(url)?))),
            None => Ok(AnyStore::Sqlite(SqliteStore::open(db, mode)?)),
        }
    }

    /// The database as messages name it: the file, or the URL without its
    /// password.
    pub fn name(&self) -> String {
        match self {
            AnyStore::Sqlite(s) => s.path().display().to_string(),
            AnyStore::Postgres(p) => p.shown().to_string(),
        }
    }

    /// Reads until the guard is dropped see one state of the database
    /// ([`SqliteStore::begin_read`]); on PostgreSQL each read stays its own.
    pub fn begin_read(&self) -> Option<super::ReadSnapshot<'_>> {
        match self {
            AnyStore::Sqlite(s) => s.begin_read(),
            AnyStore::Postgres(_) => None,
        }
    }

    /// Starts a group of units of work that share one commit
    /// ([`SqliteStore::begin_group`]). On PostgreSQL, where writers need not
    /// take turns, each unit of work goes on committing on its own.
    pub fn begin_group(&mut self) -> Result<(), StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.begin_group(),
            AnyStore::Postgres(_) => Ok(()),
        }
    }

    /// Commits (or rolls back) the group [`begin_group`](Self::begin_group)
    /// started.
    pub fn end_group(&mut self, commit: bool) -> Result<(), StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.end_group(commit),
            AnyStore::Postgres(_) => Ok(()),
        }
    }

    /// Replays the log with `replay` (given the log and its last seq) and
    /// makes the stored documents exactly what it made, with no other
    /// writer in between: `pi7 rebuild`'s work, in one transaction.
    pub fn rebuild_documents(
        &mut self,
        replay: &mut dyn FnMut(&dyn LogSource, u64) -> anyhow::Result<Rebuilt>,
    ) -> anyhow::Result<(Rebuilt, Vec<DocumentChange>)> {
        match self {
            AnyStore::Sqlite(s) => s.write_locked(|store| {
                let (_, last) = store.event_count()?;
                let rebuilt = replay(&*store, last)?;
                let changes = store.replace_documents(&rebuilt)?;
                Ok((rebuilt, changes))
            }),
            AnyStore::Postgres(p) => p.rebuild_documents(replay),
        }
    }

    /// False for an SQLite database in memory: what reading a path that
    /// holds no database yet gives.
    pub fn on_disk(&self) -> bool {
        match self {
            AnyStore::Sqlite(s) => s.on_disk(),
            AnyStore::Postgres(_) => true,
        }
    }

    fn queries(&self) -> &dyn Queries {
        match self {
            AnyStore::Sqlite(s) => s,
            AnyStore::Postgres(p) => &**p,
        }
    }
}

impl Store for AnyStore {
    fn transaction<T>(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Tx) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        match self {
            AnyStore::Sqlite(s) => s.transaction(work),
            AnyStore::Postgres(p) => p.transaction(work),
        }
    }
}

impl LogSource for AnyStore {
    fn for_each_step(
        &self,
        process_id: Option<Uuid>,
        each: &mut dyn FnMut(Step) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        match self {
            AnyStore::Sqlite(s) => s.for_each_step(process_id, each),
            AnyStore::Postgres(p) => p.for_each_step(process_id, each),
        }
    }
}
