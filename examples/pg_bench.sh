#!/usr/bin/env bash
# SQLite and PostgreSQL side by side, with the release build:
#
#   1. bulk submit of 10,000 three-line orders (one `pi7 submit`, delivered);
#   2. deliveries handled per second by 1, 2 and 4 `pi7 worker` processes
#      draining 30,000 held deliveries (15,000 orders submitted with --hold);
#   3. one `pi7 confirm` (a new reservation each run), median wall time;
#   4. PostgreSQL only: the ceiling of the append lock, with pgbench — a
#      transaction shaped like a delivery's serial tail (take one advisory
#      lock, read max(seq), insert an event and a delivery, update a
#      delivery, notify, commit), run by 1 and by 4 clients.
#
#   PI7_BENCH_POSTGRES=postgres://USER:PASS@HOST/DB examples/pg_bench.sh
#   (default: $PI7_TEST_POSTGRES; works in a schema of its own, dropped after)
#   BENCH_ORDERS=10000 BENCH_HELD=30000 BENCH_RUNS=15 BENCH_WORKERS="1 2 4"
#
# Needs: sqlite3, psql, pgbench (PostgreSQL's client programs).

set -euo pipefail
cd "$(dirname "$0")/.."

PG=${PI7_BENCH_POSTGRES:-${PI7_TEST_POSTGRES:-}}
if [ -z "$PG" ]; then
    echo "pg_bench.sh: set PI7_BENCH_POSTGRES=postgres://… (see the README)" >&2
    exit 2
fi
PGBENCH=$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)
for tool in sqlite3 psql "$PGBENCH"; do
    command -v "$tool" >/dev/null || { echo "pg_bench.sh needs $tool" >&2; exit 2; }
done

ORDERS=${BENCH_ORDERS:-10000}
HELD=${BENCH_HELD:-30000}
RUNS=${BENCH_RUNS:-15}
WORKERS=${BENCH_WORKERS:-1 2 4}

if [ -z "${PI7_BIN:-}" ]; then # PI7_BIN: another build, to try the script out
    cargo build --release --quiet
    PI7_BIN=$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/pi7
fi
PI7=$PI7_BIN
export PI7_NOW=1700000000 # deterministic times; no effect on speed

WORK=$(mktemp -d)
SCHEMA=pi7_bench_$$
case $PG in *\?*) sep='&' ;; *) sep='?' ;; esac
PGURL="$PG${sep}options=-csearch_path%3D$SCHEMA"
psql_bench() { PGOPTIONS="-csearch_path=$SCHEMA" psql "$PG" -X -Atq -v ON_ERROR_STOP=1 "$@"; }
cleanup() {
    local pids
    pids=$(jobs -p)
    [ -z "$pids" ] || kill $pids 2>/dev/null || true
    psql "$PG" -X -Atq -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

log() { printf '%s\n' "$*" >&2; }

# orders N: N three-line orders as JSON Lines.
orders() {
    awk -v n="$1" 'BEGIN {
        for (i = 0; i < n; i++)
            printf "{\"customer\": \"customer-%d\", \"reservations\": [{\"id\": 1, \"reserved\": \"some hotel\"}, {\"id\": 2, \"reserved\": \"a plane\"}, {\"id\": 3, \"reserved\": \"a car\"}]}\n", i
    }'
}

# fresh STORE: an empty database of that store; prints what --db takes.
fresh() {
    case $1 in
    sqlite)
        rm -f "$WORK"/bench.db*
        echo "$WORK/bench.db"
        ;;
    postgres)
        PGOPTIONS="-cclient_min_messages=warning" psql "$PG" -X -Atq -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE; CREATE SCHEMA $SCHEMA" >/dev/null
        echo "$PGURL"
        ;;
    esac
}

# count STORE SQL: one number from the store's database.
count() {
    case $1 in
    sqlite) sqlite3 -cmd ".timeout 5000" "$WORK/bench.db" "$2" ;;
    postgres) psql_bench -c "$2" ;;
    esac
}

# cpu_ticks: "busy total" jiffies of the whole machine so far.
cpu_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }
busy() { awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" 'BEGIN { printf "%.0f%%", 100 * (c - a) / (d - b) }'; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); if (NR % 2) print v[m]; else printf "%.1f\n", (v[m] + v[m + 1]) / 2 }'; }

orders "$ORDERS" >"$WORK/orders.jsonl"
# Held work goes in 5,000 orders a submit: on PostgreSQL one transaction
# takes a lock per order, and the server's default lock table
# (max_locks_per_transaction 64 x 100 connections) holds about 10,000.
orders $((HELD / 2)) | split -l 5000 - "$WORK/held-"
STORES="sqlite postgres"
declare -A SUBMIT DRAIN CONFIRM

log "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

# 1. bulk submit
for store in $STORES; do
    db=$(fresh "$store")
    "$PI7" --db "$db" verify >/dev/null 2>&1 || true # creates the schema
    start=$EPOCHREALTIME
    "$PI7" --db "$db" submit "$WORK/orders.jsonl" >/dev/null
    took=$(seconds "$start" "$EPOCHREALTIME")
    SUBMIT[$store]="$took s ($(rate "$ORDERS" "$took") orders/s)"
    log "submit  $store: ${SUBMIT[$store]}"
done

# 2. workers draining held deliveries
for store in $STORES; do
    for n in $WORKERS; do
        db=$(fresh "$store")
        for part in "$WORK"/held-*; do
            "$PI7" --db "$db" --hold submit "$part" >/dev/null 2>&1
        done
        pending=$(count "$store" "SELECT count(*) FROM deliveries WHERE status = 'pending'")
        pids=()
        read -r busy0 total0 < <(cpu_ticks)
        start=$EPOCHREALTIME
        for _ in $(seq "$n"); do
            "$PI7" --db "$db" worker >/dev/null 2>&1 &
            pids+=($!)
        done
        while [ "$(count "$store" "SELECT count(*) FROM deliveries WHERE status = 'pending'")" != 0 ]; do
            sleep 0.1
        done
        took=$(seconds "$start" "$EPOCHREALTIME")
        read -r busy1 total1 < <(cpu_ticks)
        kill -TERM "${pids[@]}"
        wait "${pids[@]}" 2>/dev/null || true
        DRAIN[$store,$n]="$(rate "$pending" "$took")/s (CPU $(busy "$busy0" "$total0" "$busy1" "$total1") busy)"
        log "drain   $store, $n worker(s): $pending deliveries in $took s = ${DRAIN[$store,$n]}"
    done
done

# 3. one confirm, median of RUNS (each on a reservation not yet confirmed)
for store in $STORES; do
    db=$(fresh "$store")
    orders $((RUNS + 3)) | "$PI7" --db "$db" submit - >/dev/null
    mapfile -t ids < <("$PI7" --db "$db" --json list reservations --status unconfirmed |
        grep -o '^    "_id": "[^"]*"' | cut -d'"' -f4)
    for id in "${ids[@]:0:3}"; do "$PI7" --db "$db" confirm "$id" >/dev/null; done # warm up
    CONFIRM[$store]=$(for id in "${ids[@]:3:$RUNS}"; do
        start=$EPOCHREALTIME
        "$PI7" --db "$db" confirm "$id" >/dev/null
        awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'
    done | median)
    log "confirm $store: median ${CONFIRM[$store]} ms of $RUNS"
done

# 4. the append lock's ceiling on this server
fresh postgres >/dev/null
psql_bench -c "CREATE TABLE probe_events (seq bigint PRIMARY KEY, payload text);
               CREATE TABLE probe_deliveries (key bigserial PRIMARY KEY, seq bigint, status text)"
cat >"$WORK/tail.sql" <<'SQL'
BEGIN;
SELECT pg_advisory_xact_lock(7366455, 99);
SELECT coalesce(max(seq), 0) FROM probe_events;
INSERT INTO probe_events SELECT coalesce(max(seq), 0) + 1, 'x' FROM probe_events;
INSERT INTO probe_deliveries (seq, status) SELECT max(seq), 'pending' FROM probe_events;
UPDATE probe_deliveries SET status = 'done' WHERE key = (SELECT max(key) FROM probe_deliveries);
SELECT pg_notify('pi7_bench_probe', '');
COMMIT;
SQL
declare -A TAIL
for clients in 1 4; do
    TAIL[$clients]=$(PGOPTIONS="-csearch_path=$SCHEMA" "$PGBENCH" "$PG" -n -T 10 -c "$clients" -j "$clients" -f "$WORK/tail.sql" 2>/dev/null |
        awk '/^latency average/ { lat = $4 } /^tps/ { tps = $3 } END { printf "%.0f tx/s, %.2f ms each", tps, lat }')
    log "append-lock tail, $clients client(s): ${TAIL[$clients]}"
done

log "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n| | SQLite | PostgreSQL |\n|---|---|---|\n'
printf '| bulk submit, %s three-line orders | %s | %s |\n' "$ORDERS" "${SUBMIT[sqlite]}" "${SUBMIT[postgres]}"
for n in $WORKERS; do
    printf '| %s worker(s) draining %s held deliveries | %s | %s |\n' "$n" "$HELD" "${DRAIN[sqlite,$n]}" "${DRAIN[postgres,$n]}"
done
printf '| one `confirm`, median of %s | %s ms | %s ms |\n' "$RUNS" "${CONFIRM[sqlite]}" "${CONFIRM[postgres]}"
printf '\nappend-lock tail (pgbench, PostgreSQL): 1 client %s; 4 clients %s\n' "${TAIL[1]}" "${TAIL[4]}"
