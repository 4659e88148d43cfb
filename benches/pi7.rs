//! In-process benchmarks: parsing orders, the saga handler, and dispatching
//! submitted orders over SQLite (in memory) and over the in-memory store.
//!
//! `cargo bench` runs them; `cargo bench -- dispatch` runs some. The
//! whole-process figures (latency beside the sqlite3 shell, bulk submit,
//! memory) are in `examples/bench.sh`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use uuid::Uuid;

use pi7::dispatch::{dispatch, publish, Plan};
use pi7::domain::order::{parse_orders, OrderRequest, RequestedLine};
use pi7::domain::{reservation, saga, NewEvent, Source, Topic};
use pi7::store::{MemoryStore, SqliteStore, Store};

const NOW: i64 = 1_700_000_000;

/// `n` orders of three lines, as JSON Lines.
fn orders_jsonl(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"customer\": \"customer-{i}\", \"reservations\": [\
                 {{\"id\": 1, \"reserved\": \"some hotel\"}}, \
                 {{\"id\": 2, \"reserved\": \"a plane\"}}, \
                 {{\"id\": 3, \"reserved\": \"a car\"}}]}}\n"
            )
        })
        .collect()
}

fn order(i: usize) -> OrderRequest {
    OrderRequest {
        customer: format!("customer-{i}"),
        reservations: ["some hotel", "a plane", "a car"]
            .iter()
            .zip(1..)
            .map(|(reserved, id)| RequestedLine {
                id,
                reserved: reserved.to_string(),
            })
            .collect(),
    }
}

/// Deterministic ids, so that every run does the same work.
fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x7069_3700_0000_4000_8000_0000_0000_0000 | n)
}

/// The `salesorder/request` event that `pi7 submit` publishes for order `i`.
fn request(i: usize) -> NewEvent {
    let process_id = id(2 * i as u128);
    NewEvent {
        id: id(2 * i as u128 + 1),
        topic: Topic::SalesOrderRequest,
        process_id,
        causation_id: None,
        source: Source::Web,
        time: NOW,
        // What `pi7 submit` publishes: `{processId, salesorder}`.
        payload: serde_json::json!({ "processId": process_id, "salesorder": order(i) }),
    }
}

fn bench_parse(c: &mut Criterion) {
    let text = orders_jsonl(10_000);
    let mut group = c.benchmark_group("parse_orders");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("10k orders of 3 lines, JSON Lines", |b| {
        b.iter(|| parse_orders(black_box(&text)).unwrap())
    });
    group.finish();
}

fn bench_saga(c: &mut Criterion) {
    let request = request(0).sequenced(1);
    // The saga's state after the request, and the confirmation of line 1.
    let pending = saga::handle(None, &request).unwrap().changed.remove(0);
    let reservations = reservation::handle(&[], &request).unwrap().changed;
    let confirmation = reservation::confirm(&reservations[0], id(1_000_000), NOW)
        .published
        .remove(0)
        .sequenced(2);
    let mut group = c.benchmark_group("saga::handle");
    group.bench_function("request, no state yet", |b| {
        b.iter(|| saga::handle(black_box(None), black_box(&request)).unwrap())
    });
    group.bench_function("confirmation of one of three lines", |b| {
        b.iter(|| saga::handle(black_box(Some(&pending)), black_box(&confirmation)).unwrap())
    });
    group.finish();
}

/// A store holding `n` submitted orders whose deliveries are all pending.
fn submitted<S: Store>(mut store: S, n: usize) -> S {
    store
        .transaction(&mut |tx| {
            let mut log = Vec::new();
            for i in 0..n {
                publish(tx, request(i), &mut log)?;
            }
            Ok(())
        })
        .unwrap();
    store
}

fn drain<S: Store>(store: &mut S) -> usize {
    dispatch(store, &Plan::drain(), &mut |report| {
        black_box(report);
    })
    .unwrap()
}

fn bench_dispatch(c: &mut Criterion) {
    let mut group = c.benchmark_group("dispatch");
    group.sample_size(10);
    for n in [100, 1_000] {
        // Each order makes two deliveries: to the saga and to reservations.
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("{n} submitted orders, SQLite in memory"), |b| {
            b.iter_batched(
                || submitted(SqliteStore::in_memory().unwrap(), n),
                |mut store| assert_eq!(drain(&mut store), 2 * n),
                BatchSize::PerIteration,
            )
        });
        group.bench_function(format!("{n} submitted orders, MemoryStore"), |b| {
            b.iter_batched(
                || submitted(MemoryStore::new(), n),
                |mut store| assert_eq!(drain(&mut store), 2 * n),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench_parse, bench_saga, bench_dispatch);
criterion_main!(benches);
