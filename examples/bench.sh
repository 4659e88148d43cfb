#!/usr/bin/env bash
# Whole-process benchmarks of the pi7 command line, beside the sqlite3 shell
# doing one equivalent statement on the same file (the floor: start a
# process, open the file, run one statement).
#
#   examples/bench.sh            # everything
#   BENCH_DIR=/tmp/pi7-bench examples/bench.sh
#   BENCH_RUNS=30 examples/bench.sh
#
# Needs: hyperfine, /usr/bin/time (GNU time, for peak memory), sqlite3.
# Builds the release binary, then builds (once; cached under $BENCH_DIR,
# default target/bench) a database of about 1,000 events and one of about
# 1,000,000 events (200,000 orders of 3 lines, every reservation confirmed:
# 200k requests + 600k reservation confirmations + 200k order confirmations).
# Delete $BENCH_DIR to rebuild them. Building the big one takes minutes.
#
# Targets (from the benchmarks issue): `confirm` and `show` within 2x of the
# sqlite3 floor; the 1M-event figures within 1.2x of the 1k-event ones; bulk
# submit >= 20,000 orders/s; `events --json` over 1M events under 30 MB peak.

set -euo pipefail

cd "$(dirname "$0")/.."

missing=()
command -v hyperfine >/dev/null || missing+=("hyperfine  (Debian/Ubuntu: apt-get install hyperfine; or: cargo install hyperfine)")
[ -x /usr/bin/time ] || missing+=("/usr/bin/time  (Debian/Ubuntu: apt-get install time)")
command -v sqlite3 >/dev/null || missing+=("sqlite3  (Debian/Ubuntu: apt-get install sqlite3)")
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench.sh needs these tools, which are missing:" >&2
    for m in "${missing[@]}"; do echo "  $m" >&2; done
    exit 2
fi

BENCH_DIR=${BENCH_DIR:-target/bench}
RUNS=${BENCH_RUNS:-20}
WARMUP=3
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)

cargo build --release --quiet
PI7=$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/pi7
export PI7_NOW=1700000000 # deterministic times; no effect on speed

log() { printf '%s\n' "$*" >&2; }

# orders N FIRST: N three-line orders as JSON Lines, customers FIRST, FIRST+1, ...
orders() {
    awk -v n="$1" -v first="$2" 'BEGIN {
        for (i = first; i < first + n; i++)
            printf "{\"customer\": \"customer-%d\", \"reservations\": [{\"id\": 1, \"reserved\": \"some hotel\"}, {\"id\": 2, \"reserved\": \"a plane\"}, {\"id\": 3, \"reserved\": \"a car\"}]}\n", i
    }'
}

# The reservation ids that `pi7 list reservations --json` prints, one a line.
ids_of_listing() {
    grep -o '^    "_id": "[^"]*"' | cut -d'"' -f4
}

count() { sqlite3 -readonly "$1" "$2"; }

# build_db DB ORDERS BATCH: ORDERS orders submitted BATCH at a time, each
# batch's reservations confirmed at once with `pi7 confirm -`.
build_db() {
    local db=$1 total=$2 batch=$3 done=0 n
    [ -f "$db.ok" ] && return
    rm -f "$db" "$db-wal" "$db-shm"
    log "building $db: $total orders of 3 lines, every reservation confirmed..."
    while [ "$done" -lt "$total" ]; do
        n=$((total - done < batch ? total - done : batch))
        orders "$n" "$done" | "$PI7" --db "$db" submit - >/dev/null
        "$PI7" --db "$db" --json list reservations --status unconfirmed |
            ids_of_listing | "$PI7" --db "$db" confirm - >/dev/null
        done=$((done + n))
        log "  $done orders, $(count "$db" 'SELECT count(*) FROM events') events"
    done
    touch "$db.ok"
}

# pool DB N: make sure DB has at least N unconfirmed reservations (whole
# orders submitted for the purpose), for the confirm benchmark to use up.
pool() {
    local db=$1 want=$2 have
    have=$(count "$db" "SELECT count(*) FROM reservations WHERE status = 'unconfirmed'")
    if [ "$have" -lt "$want" ]; then
        orders $(((want - have) / 3 + 1)) 900000000 | "$PI7" --db "$db" submit - >/dev/null
    fi
}

# median FILE: the median wall time, in seconds, of each command hyperfine ran.
medians() {
    grep -o '"median": *[0-9.e+-]*' "$1" | sed 's/.*: *//'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ms() { awk -v s="$1" 'BEGIN { printf "%.1f ms", s * 1000 }'; }

results=()
row() { results+=("$(printf '%-52s %s' "$1" "$2")"); }

SMALL=$BENCH_DIR/events-1k.db   # 200 orders: 1,000 events (+ the confirm pool)
LARGE=$BENCH_DIR/events-1m.db   # 200,000 orders: 1,000,000 events (+ pool)
build_db "$SMALL" 200 200
build_db "$LARGE" 200000 10000

# ---- confirm and show, each beside the sqlite3 floor ----
declare -A confirm_median show_median
for db in "$SMALL" "$LARGE"; do
    name=$(basename "$db" .db)
    events=$(count "$db" 'SELECT count(*) FROM events')
    log "== $name ($events events)"

    # confirm: every timed run confirms a different, still unconfirmed
    # reservation (taken from a pool by --prepare), so each is a real write:
    # the confirmation, its event, the saga's delivery (and on an order's last
    # line its salesorder/confirm). sqlite3 confirms other reservations of the
    # pool: one UPDATE of one row by id.
    need=$((2 * (RUNS + WARMUP) + 6))
    pool "$db" "$need"
    count "$db" "SELECT id FROM reservations WHERE status = 'unconfirmed' ORDER BY rowid LIMIT $need" >"$BENCH_DIR/pool"
    head -n $((RUNS + WARMUP + 3)) "$BENCH_DIR/pool" >"$BENCH_DIR/pool.pi7"
    tail -n +$((RUNS + WARMUP + 4)) "$BENCH_DIR/pool" |
        sed "s/.*/UPDATE reservations SET status = 'confirmed' WHERE id = '&';/" >"$BENCH_DIR/pool.sql"
    # hyperfine runs each command through a shell (for the redirections) and
    # subtracts the shell's own start-up time.
    hyperfine --style basic --runs "$RUNS" --warmup "$WARMUP" \
        --export-json "$BENCH_DIR/confirm-$name.json" \
        --prepare "head -n1 $BENCH_DIR/pool.pi7 >$BENCH_DIR/cur.pi7 && sed -i 1d $BENCH_DIR/pool.pi7" \
        --prepare "head -n1 $BENCH_DIR/pool.sql >$BENCH_DIR/cur.sql && sed -i 1d $BENCH_DIR/pool.sql" \
        --command-name "pi7 confirm ($name)" "$PI7 --db $db confirm - <$BENCH_DIR/cur.pi7 >/dev/null" \
        --command-name "sqlite3 UPDATE ($name)" "sqlite3 $db <$BENCH_DIR/cur.sql" >&2
    { read -r p; read -r s; } < <(medians "$BENCH_DIR/confirm-$name.json")
    row "confirm, $name: pi7 / sqlite3 UPDATE" "$(ms "$p") / $(ms "$s") = $(ratio "$p" "$s")x"
    confirm_median[$name]=$p

    # show: a sales order by its full id (its document, lines and events);
    # sqlite3 selects the document by id.
    order=$(count "$db" 'SELECT id FROM salesorders ORDER BY rowid LIMIT 1 OFFSET 100')
    hyperfine --style basic --runs "$RUNS" --warmup "$WARMUP" \
        --export-json "$BENCH_DIR/show-$name.json" \
        --command-name "pi7 show ($name)" "$PI7 --db $db show $order >/dev/null" \
        --command-name "sqlite3 SELECT ($name)" "sqlite3 -readonly $db \"SELECT document FROM salesorders WHERE id = '$order'\"" >&2
    { read -r p; read -r s; } < <(medians "$BENCH_DIR/show-$name.json")
    row "show, $name: pi7 / sqlite3 SELECT" "$(ms "$p") / $(ms "$s") = $(ratio "$p" "$s")x"
    show_median[$name]=$p
done
row "confirm, 1M events / 1k events" "$(ratio "${confirm_median[events-1m]}" "${confirm_median[events-1k]}")x"
row "show, 1M events / 1k events" "$(ratio "${show_median[events-1m]}" "${show_median[events-1k]}")x"

# ---- bulk submit: 10,000 orders of 3 lines as JSON Lines into a fresh db ----
orders 10000 0 >"$BENCH_DIR/orders-10k.jsonl"
FRESH=$BENCH_DIR/fresh.db
hyperfine --style basic --runs 5 --warmup 1 \
    --export-json "$BENCH_DIR/submit.json" \
    --prepare "rm -f $FRESH $FRESH-wal $FRESH-shm" \
    --command-name "pi7 submit 10,000 orders" \
    "$PI7 --db $FRESH submit $BENCH_DIR/orders-10k.jsonl >/dev/null" >&2
p=$(medians "$BENCH_DIR/submit.json")
rm -f "$FRESH" "$FRESH-wal" "$FRESH-shm"
rss=$(/usr/bin/time -f '%M' "$PI7" --db "$FRESH" submit "$BENCH_DIR/orders-10k.jsonl" 2>&1 >/dev/null | tail -n1)
row "submit 10,000 orders (fresh db)" "$(ms "$p"), $(awk -v s="$p" 'BEGIN { printf "%.0f", 10000 / s }') orders/s, peak $((rss / 1024)) MB"

# ---- the event log as JSON Lines over ~1M events ----
events=$(count "$LARGE" 'SELECT count(*) FROM events')
hyperfine --style basic --runs 3 --warmup 1 \
    --export-json "$BENCH_DIR/events.json" \
    --command-name "pi7 events --json (1M)" \
    "$PI7 --db $LARGE --json events >/dev/null" >&2
p=$(medians "$BENCH_DIR/events.json")
rss=$(/usr/bin/time -f '%M' "$PI7" --db "$LARGE" --json events 2>&1 >/dev/null | tail -n1)
row "events --json, $events events" "$(ms "$p"), $(awk -v s="$p" -v n="$events" 'BEGIN { printf "%.0f", n / s }') events/s, peak $((rss / 1024)) MB"

# ---- dispatch of held deliveries, FIFO and random, at three sizes ----
# Each run starts from a copy of a database holding N deliveries (N/2 orders
# submitted with --hold); a random order must cost what FIFO costs, not n².
for n in 2000 8000 32000; do
    HELD=$BENCH_DIR/held-$n.db
    if [ ! -f "$HELD.ok" ]; then
        rm -f "$HELD" "$HELD-wal" "$HELD-shm"
        orders $((n / 2)) 0 | "$PI7" --db "$HELD" --hold submit - >/dev/null 2>&1
        touch "$HELD.ok"
    fi
    for order in fifo random; do
        hyperfine --style basic --runs 3 --warmup 0 \
            --export-json "$BENCH_DIR/dispatch-$order-$n.json" \
            --prepare "cp $HELD $BENCH_DIR/dispatch.db; rm -f $BENCH_DIR/dispatch.db-wal $BENCH_DIR/dispatch.db-shm" \
            --command-name "pi7 dispatch --order $order ($n held)" \
            "$PI7 --db $BENCH_DIR/dispatch.db dispatch --order $order --seed 1 >/dev/null" >&2
        p=$(medians "$BENCH_DIR/dispatch-$order-$n.json")
        row "dispatch --order $order, $n held deliveries" "$(ms "$p")"
    done
done
rm -f "$BENCH_DIR/dispatch.db" "$BENCH_DIR/dispatch.db-wal" "$BENCH_DIR/dispatch.db-shm"

# ---- the whole job: submit 10,000 orders, then confirm every reservation ----
cat >"$BENCH_DIR/job.sh" <<EOF
set -e
rm -f $FRESH $FRESH-wal $FRESH-shm
$PI7 --db $FRESH submit $BENCH_DIR/orders-10k.jsonl >/dev/null
$PI7 --db $FRESH --json list reservations |
    grep -o '^    "_id": "[^"]*"' | cut -d'"' -f4 |
    $PI7 --db $FRESH confirm - >/dev/null
EOF
hyperfine --style basic -N --runs 3 --warmup 0 \
    --export-json "$BENCH_DIR/job.json" \
    --command-name "submit 10,000 orders, confirm 30,000 reservations" \
    "bash $BENCH_DIR/job.sh" >&2
p=$(medians "$BENCH_DIR/job.json")
confirmed=$(count "$FRESH" "SELECT count(*) FROM salesorders WHERE status = 'confirmed'")
row "whole job: submit 10k orders + confirm all" "$(ms "$p") ($confirmed orders confirmed)"

echo
echo "medians of whole-process wall time (hyperfine); peak = max RSS (/usr/bin/time)"
printf '%s\n' "${results[@]}"
