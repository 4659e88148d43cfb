//! The PostgreSQL server the tests use: `PI7_TEST_POSTGRES` names it
//! (`.ci/run` starts one and sets it). Without it the PostgreSQL tests say
//! on stderr that they were skipped; under CI (`CI` set) they fail instead,
//! so that a missing server never passes as green.

use std::io::Write;
use std::sync::Mutex;

use super::PgStore;

/// The server's URL, or `None` after saying that `what` was skipped.
pub fn url(what: &str) -> Option<String> {
    match std::env::var("PI7_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI is set but PI7_TEST_POSTGRES is not: {what} needs a PostgreSQL server")
        }
        _ => {
            // Written past the test harness's capture, so that a skip is
            // seen even when the test passes.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {what}: set PI7_TEST_POSTGRES=postgres://… (see the README) to run it on PostgreSQL"
            );
            None
        }
    }
}

/// Stores not in use, each in a schema of its own, emptied before reuse.
/// A static, not a thread local: a connection must not be dropped while
/// a thread is torn down.
static IDLE: Mutex<Vec<PgStore>> = Mutex::new(Vec::new());

/// Runs `test` on an empty store in a schema of this test run's own.
pub fn with_store(test: impl FnOnce(&mut PgStore)) {
    // One at a time: the scripts draw the same processIds, and PostgreSQL's
    // advisory locks (pi7's process locks) belong to the database, not to
    // a schema, so two tests at once fought over each other's processes
    // until one gave up ("another pi7 kept changing the same orders").
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let idle = IDLE.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let mut store = match idle {
        Some(store) => store,
        None => {
            let Some(url) = url("a PostgreSQL store test") else {
                return;
            };
            let schema = format!(
                "pi7_test_{}_{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0)
            );
            PgStore::open_in(&url, Some(&schema)).expect("test server reachable")
        }
    };
    reset(&mut store);
    test(&mut store);
    IDLE.lock().unwrap_or_else(|e| e.into_inner()).push(store);
}

/// Empties every table and restarts every counter.
pub fn reset(store: &mut PgStore) {
    store
        .execute_batch(
            "TRUNCATE events, deliveries, redeliveries, salesorders, reservations
               RESTART IDENTITY CASCADE;
             ALTER SEQUENCE handling_order RESTART",
        )
        .expect("truncate");
}
