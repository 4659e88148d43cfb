#!/usr/bin/env bash
# Whole-process benchmarks of the pi7 command line, beside the sqlite3 shell
# doing the equivalent statements on the same file (the floor: start a
# process, open the file, run the statements).
#
#   examples/bench.sh                              # everything, full sizes
#   BENCH_QUICK=1 examples/bench.sh                # everything, tiny sizes (checks the script)
#   BENCH_ONLY=confirm-one-order,submit-big,check examples/bench.sh
#   BENCH_DIR=/tmp/pi7-bench BENCH_RUNS=30 examples/bench.sh
#   PI7=target/release/pi7 examples/bench.sh       # that binary, no build
#
# Needs: hyperfine, /usr/bin/time (GNU time, for peak memory), sqlite3; the
# `peer` section also needs python3 with eventsourcing 9.5.6 (it is skipped,
# with a row saying why, without it). Builds the release binary unless PI7 is
# set. Databases and inputs are built once and cached under $BENCH_DIR
# (default target/bench; target/bench-quick with BENCH_QUICK=1); delete it to
# rebuild them. Building the 1M-event database takes minutes.
#
# Sections, in the order they run and print; BENCH_ONLY=NAME,NAME,... runs
# only those (default: all):
#
#   confirm-show       `pi7 confirm ID` (a real confirm, a new reservation
#                      each run) and `pi7 show ORDER`, each beside sqlite3
#                      doing one UPDATE / SELECT by id, on a database of ~1k
#                      events and one of ~1M events (200,000 three-line
#                      orders, every reservation confirmed); and 1M vs 1k.
#                      Targets: within 2x of the floor; 1M within 1.2x of 1k.
#   confirm-one-order  `pi7 confirm -` of every line of ONE order of 1,000 /
#                      2,000 / 4,000 / 10,000 lines, on a fresh copy of the db
#                      each run, beside sqlite3 running one UPDATE by id per
#                      line in one transaction. Each row also prints the growth
#                      per doubling of the line count: 2x is linear, 4x
#                      quadratic. Target: linear growth.
#   dispatch           `pi7 dispatch`, FIFO and --order random, of 2k / 8k /
#                      32k held deliveries, from a fresh copy each run; growth
#                      per doubling and random's cost beside FIFO's. Target:
#                      random costs what FIFO costs, and growth is linear.
#   submit-big         `pi7 submit` of a big JSON Lines file (20 MB and 200 MB
#                      of three-line orders, ~130k and ~1.3M orders) into a
#                      fresh db: wall and CPU time, peak RSS, the WAL's largest
#                      size (sampled every 0.1 s) and the db's size after;
#                      beside sqlite3 `.import` of the same lines (one row
#                      each); then the peak memory of each size side by side.
#                      Target: peak memory flat in the input size. (The
#                      200 MB run takes minutes a run: BENCH_BIG_RUNS=1 makes
#                      it one run.)
#   check              `pi7 check` (in memory, no floor) of an 8-line order,
#                      and of a 10-line order with --duplicates: time, peak RSS
#                      and states explored. Target: 10 lines with duplicates
#                      under 10 s and 500 MB.
#   submit             bulk submit of 10,000 three-line orders as JSON Lines
#                      into a fresh db, beside sqlite3 `.import` of the same
#                      lines; orders/s of wall and of CPU time. Target:
#                      >= 20,000 orders/s.
#   events             `pi7 --json events` over the ~1M-event db: time, peak
#                      RSS. Target: under 30 MB peak (it streams).
#   job                the whole job: submit 10,000 orders, then `confirm -`
#                      all 30,000 reservations. No target of its own.
#   peer               the whole job (2,000 orders) beside the same saga on
#                      Python's eventsourcing, by examples/peer_bench.sh.
#                      Target: pi7 >= 50x faster.
#
# wall = median wall time of the runs. CPU = user + system time, which a
# loaded machine disturbs far less than wall time: for hyperfine's rows the
# mean of its runs (its JSON has no median of them), for submit-big (timed
# by /usr/bin/time) the median. peak = max RSS from /usr/bin/time: the
# largest of submit-big's runs, one run elsewhere.
#
# Sizes and runs (BENCH_QUICK=1 sets tiny defaults; each can still be set):
#   BENCH_RUNS=20                 runs of the confirm/show rows (quick: 5)
#   BENCH_LARGE_ORDERS=200000     orders in the big db of confirm-show/events (quick: 2000)
#   BENCH_CONFIRM_LINES="1000 2000 4000 10000"  (quick: "100 200 400 1000")
#   BENCH_ONE_ORDER_RUNS=3        runs of each confirm-one-order size
#   BENCH_DISPATCH_SIZES="2000 8000 32000"      (quick: "200 800 3200")
#   BENCH_BIG_MB="20 200"         submit-big input sizes, MiB (quick: "1 4")
#   BENCH_BIG_RUNS=3              runs of each submit-big size (quick: 2)
#   BENCH_CHECK_CASES="8 10:dup"  lines of each check; ":dup" adds --duplicates (quick: "4 5:dup")
#   BENCH_CHECK_RUNS=5            (quick: 3)
#   BENCH_SUBMIT_ORDERS=10000     orders of the submit and job rows (quick: 1000)
#   BENCH_PEER_N=2000 BENCH_PEER_RUNS=3         (quick: 200 and 1)

set -euo pipefail

if [ -n "${PI7:-}" ]; then # PI7=path/to/pi7 benchmarks that binary instead
    case $PI7 in
    */*) PI7=$(cd "$(dirname "$PI7")" && pwd)/$(basename "$PI7") ;;
    *) PI7=$(command -v "$PI7") ;;
    esac
fi
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

SECTIONS="confirm-show confirm-one-order dispatch submit-big check submit events job peer"
ONLY=${BENCH_ONLY:-}
ONLY=${ONLY// /}
for s in ${ONLY//,/ }; do
    case " $SECTIONS " in
    *" $s "*) ;;
    *)
        echo "bench.sh: no section '$s' in BENCH_ONLY; the sections are: ${SECTIONS// /, }" >&2
        exit 2
        ;;
    esac
done
# want SECTION: whether BENCH_ONLY selects SECTION (everything when unset).
want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

if [ -n "${BENCH_QUICK:-}" ] && [ "${BENCH_QUICK}" != 0 ]; then
    QUICK=1
else
    QUICK=
fi
# pick FULL QUICK: the default of a size, by mode.
pick() { if [ -n "$QUICK" ]; then echo "$2"; else echo "$1"; fi; }

BENCH_DIR=${BENCH_DIR:-$(pick target/bench target/bench-quick)}
RUNS=${BENCH_RUNS:-$(pick 20 5)}
WARMUP=$(pick 3 1)
LARGE_ORDERS=${BENCH_LARGE_ORDERS:-$(pick 200000 2000)}
CONFIRM_LINES=${BENCH_CONFIRM_LINES:-$(pick "1000 2000 4000 10000" "100 200 400 1000")}
ONE_ORDER_RUNS=${BENCH_ONE_ORDER_RUNS:-3}
DISPATCH_SIZES=${BENCH_DISPATCH_SIZES:-$(pick "2000 8000 32000" "200 800 3200")}
BIG_MB=${BENCH_BIG_MB:-$(pick "20 200" "1 4")}
BIG_RUNS=${BENCH_BIG_RUNS:-$(pick 3 2)}
CHECK_CASES=${BENCH_CHECK_CASES:-$(pick "8 10:dup" "4 5:dup")}
CHECK_RUNS=${BENCH_CHECK_RUNS:-$(pick 5 3)}
SUBMIT_ORDERS=${BENCH_SUBMIT_ORDERS:-$(pick 10000 1000)}
PEER_N=${BENCH_PEER_N:-$(pick 2000 200)}
PEER_RUNS=${BENCH_PEER_RUNS:-$(pick 3 1)}
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)

if [ -z "${PI7:-}" ]; then
    cargo build --release --quiet
    PI7=$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/pi7
fi
export PI7_NOW=1700000000 # deterministic times; no effect on speed

log() { printf '%s\n' "$*" >&2; }

# orders N FIRST: N three-line orders as JSON Lines, customers FIRST, FIRST+1, ...
orders() {
    awk -v n="$1" -v first="$2" 'BEGIN {
        for (i = first; i < first + n; i++)
            printf "{\"customer\": \"customer-%d\", \"reservations\": [{\"id\": 1, \"reserved\": \"some hotel\"}, {\"id\": 2, \"reserved\": \"a plane\"}, {\"id\": 3, \"reserved\": \"a car\"}]}\n", i
    }'
}

# orders_file N: the path of a cached file of N orders (customers 0...N-1).
orders_file() {
    local file=$BENCH_DIR/orders-$1.jsonl
    [ -f "$file" ] || orders "$1" 0 >"$file"
    echo "$file"
}

# one_order N: one order of N lines, rooms 1...N, as one line of JSON.
one_order() {
    awk -v n="$1" 'BEGIN {
        printf "{\"customer\":\"big\",\"reservations\":["
        for (i = 1; i <= n; i++)
            printf "%s{\"id\":%d,\"reserved\":\"room %d\"}", (i > 1 ? "," : ""), i, i
        print "]}"
    }'
}

# The reservation ids that `pi7 list reservations --json` prints, one a line.
ids_of_listing() {
    grep -o '^    "_id": "[^"]*"' | cut -d'"' -f4
}

count() { sqlite3 -readonly "$1" "$2"; }

# fresh DB...: remove each database with its WAL and shared-memory files.
fresh() {
    local db
    for db in "$@"; do rm -f "$db" "$db-wal" "$db-shm"; done
}

# build_db DB ORDERS BATCH: ORDERS orders submitted BATCH at a time, each
# batch's reservations confirmed at once with `pi7 confirm -`.
build_db() {
    local db=$1 total=$2 batch=$3 done=0 n
    [ -f "$db.ok" ] && return
    fresh "$db"
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

# medians FILE: the median wall time, in seconds, of each command hyperfine ran.
medians() {
    grep -o '"median": *[0-9.e+-]*' "$1" | sed 's/.*: *//'
}

# cpus FILE: the mean CPU time (user + system), in seconds, of each command
# hyperfine ran.
cpus() {
    grep -o '"\(user\|system\)": *[0-9.e+-]*' "$1" | sed 's/.*: *//' |
        paste - - | awk '{ printf "%.6f\n", $1 + $2 }'
}

# median: the median of the numbers on standard input, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
ms() { awk -v s="$1" 'BEGIN { printf "%.1f ms", s * 1000 }'; }
# dur SECONDS: milliseconds under a second, seconds above.
dur() { awk -v s="$1" 'BEGIN { if (s < 1) printf "%.1f ms", s * 1000; else printf "%.2f s", s }'; }
# mib KIB: a size in KiB (as /usr/bin/time's %M gives it) in MiB.
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }
# per_sec N SECONDS: N / SECONDS, rounded.
per_sec() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else printf "n/a" }'; }
# thousands N: N with a comma every three digits.
thousands() { echo "$1" | sed ':a; s/\B[0-9]\{3\}\>/,&/; ta'; }
# per_doubling T1 N1 T2 N2: how much T grows each time N doubles, from
# (N1, T1) to (N2, T2): 2 for linear growth, 4 for quadratic.
per_doubling() {
    awk -v t1="$1" -v n1="$2" -v t2="$3" -v n2="$4" 'BEGIN {
        if (t1 > 0 && t2 > 0 && n2 != n1) printf "%.2f", exp(log(t2 / t1) * log(2) / log(n2 / n1)); else printf "n/a"
    }'
}

# label ORDERS: the name of a database of ORDERS three-line orders, all
# confirmed, by its number of events (5 an order): events-1k, events-1m...
label() {
    local events=$(($1 * 5))
    if [ "$events" -ge 1000000 ]; then
        echo "events-$((events / 1000000))m"
    else
        echo "events-$((events / 1000))k"
    fi
}

results=()
row() { results+=("$(printf '%-52s %s' "$1" "$2")"); }

SMALL=$BENCH_DIR/events-1k.db                   # 200 orders: 1,000 events (+ the confirm pool)
LARGE=$BENCH_DIR/$(label "$LARGE_ORDERS").db    # 200,000 orders: 1,000,000 events (+ pool)
FRESH=$BENCH_DIR/fresh.db
FLOOR=$BENCH_DIR/floor.db

# ---- confirm-show: confirm and show, each beside the sqlite3 floor ----
if want confirm-show; then
    build_db "$SMALL" 200 200
    build_db "$LARGE" "$LARGE_ORDERS" 10000
    declare -A confirm_median show_median confirm_cpu show_cpu
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
        { read -r pc; read -r sc; } < <(cpus "$BENCH_DIR/confirm-$name.json")
        row "confirm, $name: pi7 / sqlite3 UPDATE" "$(ms "$p") / $(ms "$s") = $(ratio "$p" "$s")x wall; $(ms "$pc") / $(ms "$sc") = $(ratio "$pc" "$sc")x CPU"
        confirm_median[$name]=$p
        confirm_cpu[$name]=$pc

        # show: a sales order by its full id (its document, lines and events);
        # sqlite3 selects the document by id.
        order=$(count "$db" 'SELECT id FROM salesorders ORDER BY rowid LIMIT 1 OFFSET 100')
        hyperfine --style basic --runs "$RUNS" --warmup "$WARMUP" \
            --export-json "$BENCH_DIR/show-$name.json" \
            --command-name "pi7 show ($name)" "$PI7 --db $db show $order >/dev/null" \
            --command-name "sqlite3 SELECT ($name)" "sqlite3 -readonly $db \"SELECT document FROM salesorders WHERE id = '$order'\"" >&2
        { read -r p; read -r s; } < <(medians "$BENCH_DIR/show-$name.json")
        { read -r pc; read -r sc; } < <(cpus "$BENCH_DIR/show-$name.json")
        row "show, $name: pi7 / sqlite3 SELECT" "$(ms "$p") / $(ms "$s") = $(ratio "$p" "$s")x wall; $(ms "$pc") / $(ms "$sc") = $(ratio "$pc" "$sc")x CPU"
        show_median[$name]=$p
        show_cpu[$name]=$pc
    done
    small=$(basename "$SMALL" .db)
    large=$(basename "$LARGE" .db)
    row "confirm, $large / $small" "$(ratio "${confirm_median[$large]}" "${confirm_median[$small]}")x wall, $(ratio "${confirm_cpu[$large]}" "${confirm_cpu[$small]}")x CPU"
    row "show, $large / $small" "$(ratio "${show_median[$large]}" "${show_median[$small]}")x wall, $(ratio "${show_cpu[$large]}" "${show_cpu[$small]}")x CPU"
fi

# ---- confirm-one-order: `confirm -` of every line of one big order ----
# Each size's database holds that one order, submitted; every run confirms
# all its lines on a fresh copy (--prepare), so the order is confirmed at the
# last one. sqlite3 runs one UPDATE by id per line, in one transaction. The
# floor runs first, so the copy left after the runs is pi7's, and checked.
if want confirm-one-order; then
    prev_n='' prev_wall='' prev_cpu=''
    WORK=$BENCH_DIR/one-order-work.db
    for n in $CONFIRM_LINES; do
        ONE=$BENCH_DIR/one-order-$n.db
        if [ ! -f "$ONE.ok" ]; then
            log "building $ONE: one order of $n lines..."
            fresh "$ONE"
            one_order "$n" >"$BENCH_DIR/one-order-$n.json"
            "$PI7" --db "$ONE" submit "$BENCH_DIR/one-order-$n.json" >/dev/null
            sqlite3 "$ONE" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null # all in the file that is copied
            process=$(count "$ONE" "SELECT process_id FROM salesorders WHERE customer = 'big'")
            count "$ONE" "SELECT id FROM reservations WHERE process_id = '$process' ORDER BY rowid" >"$BENCH_DIR/one-order-$n.ids"
            {
                echo 'BEGIN;'
                sed "s/.*/UPDATE reservations SET status = 'confirmed' WHERE id = '&';/" "$BENCH_DIR/one-order-$n.ids"
                echo 'COMMIT;'
            } >"$BENCH_DIR/one-order-$n.sql"
            touch "$ONE.ok"
        fi
        hyperfine --style basic --runs "$ONE_ORDER_RUNS" --warmup 0 \
            --export-json "$BENCH_DIR/one-order-$n.result.json" \
            --prepare "cp $ONE $WORK && rm -f $WORK-wal $WORK-shm" \
            --command-name "sqlite3 $n UPDATEs" "sqlite3 $WORK <$BENCH_DIR/one-order-$n.sql" \
            --command-name "pi7 confirm - ($n lines of one order)" \
            "$PI7 --db $WORK confirm - <$BENCH_DIR/one-order-$n.ids >/dev/null" >&2
        status=$(count "$WORK" "SELECT status FROM salesorders WHERE customer = 'big'")
        [ "$status" = confirmed ] || { log "bench.sh: after pi7 confirm - the order of $n lines is $status, not confirmed"; exit 1; }
        { read -r s; read -r p; } < <(medians "$BENCH_DIR/one-order-$n.result.json")
        { read -r sc; read -r pc; } < <(cpus "$BENCH_DIR/one-order-$n.result.json")
        growth=''
        if [ -n "$prev_n" ]; then
            growth="; per doubling from $prev_n: $(per_doubling "$prev_wall" "$prev_n" "$p" "$n")x wall, $(per_doubling "$prev_cpu" "$prev_n" "$pc" "$n")x CPU"
        fi
        row "confirm - of one order of $(thousands "$n") lines: pi7 / sqlite3" "$(dur "$p") / $(dur "$s") wall, $(dur "$pc") / $(dur "$sc") = $(ratio "$pc" "$sc")x CPU$growth"
        prev_n=$n prev_wall=$p prev_cpu=$pc
    done
    fresh "$WORK"
    row "  (per doubling: 2x is linear, 4x quadratic; target linear)" ""
fi

# ---- dispatch of held deliveries, FIFO and random, at three sizes ----
# Each run starts from a copy of a database holding N deliveries (N/2 orders
# submitted with --hold); a random order must cost what FIFO costs, not n².
if want dispatch; then
    declare -A prev_dispatch_wall prev_dispatch_cpu
    prev_n=''
    for n in $DISPATCH_SIZES; do
        HELD=$BENCH_DIR/held-$n.db
        if [ ! -f "$HELD.ok" ]; then
            fresh "$HELD"
            orders $((n / 2)) 0 | "$PI7" --db "$HELD" --hold submit - >/dev/null 2>&1
            touch "$HELD.ok"
        fi
        for order in fifo random; do
            seed='' # pi7 refuses --seed without --order random
            [ "$order" = fifo ] || seed='--seed 1'
            hyperfine --style basic --runs 3 --warmup 0 \
                --export-json "$BENCH_DIR/dispatch-$order-$n.json" \
                --prepare "cp $HELD $BENCH_DIR/dispatch.db; rm -f $BENCH_DIR/dispatch.db-wal $BENCH_DIR/dispatch.db-shm" \
                --command-name "pi7 dispatch --order $order ($n held)" \
                "$PI7 --db $BENCH_DIR/dispatch.db dispatch --order $order $seed >/dev/null" >&2
            p=$(medians "$BENCH_DIR/dispatch-$order-$n.json")
            pc=$(cpus "$BENCH_DIR/dispatch-$order-$n.json")
            extra=''
            if [ -n "$prev_n" ]; then
                extra="; per doubling from $prev_n: $(per_doubling "${prev_dispatch_wall[$order]}" "$prev_n" "$p" "$n")x wall, $(per_doubling "${prev_dispatch_cpu[$order]}" "$prev_n" "$pc" "$n")x CPU"
            fi
            if [ "$order" = random ]; then
                extra="; $(ratio "$pc" "$fifo_cpu")x FIFO's CPU$extra"
            else
                fifo_cpu=$pc
            fi
            row "dispatch --order $order, $n held deliveries" "$(ms "$p") wall, $(ms "$pc") CPU$extra"
            prev_dispatch_wall[$order]=$p
            prev_dispatch_cpu[$order]=$pc
        done
        prev_n=$n
    done
    fresh "$BENCH_DIR/dispatch.db"
fi

# ---- submit-big: a big JSON Lines file into a fresh db ----
# /usr/bin/time gives each run's wall and CPU time and peak RSS; the WAL's
# size is sampled while pi7 runs (SQLite removes the WAL when the last
# connection closes). sqlite3 `.import`s the same lines, one row each, into
# a fresh WAL-mode db: the floor of storing the input.
if want submit-big; then
    BIG=$BENCH_DIR/big.db
    line_bytes=$(orders 1 1000000 | wc -c)
    peaks=''
    for mb in $BIG_MB; do
        input=$BENCH_DIR/big-${mb}MB.jsonl
        if [ ! -f "$input.ok" ]; then
            log "writing $input..."
            orders $((mb * 1048576 / line_bytes + 1)) 0 >"$input"
            touch "$input.ok"
        fi
        n=$(wc -l <"$input")
        bytes=$(stat -c %s "$input")
        : >"$BENCH_DIR/big.times"
        : >"$BENCH_DIR/big.wal"
        : >"$BENCH_DIR/big.size"
        : >"$BENCH_DIR/floor.times"
        for ((run = 1; run <= BIG_RUNS; run++)); do
            log "submit-big: $mb MB ($n orders), run $run of $BIG_RUNS"
            fresh "$BIG"
            /usr/bin/time -f '%e %U %S %M' -a -o "$BENCH_DIR/big.times" \
                "$PI7" --db "$BIG" submit "$input" >/dev/null &
            pid=$!
            wal=0
            while kill -0 "$pid" 2>/dev/null; do
                size=$(stat -c %s "$BIG-wal" 2>/dev/null || echo 0)
                if [ "$size" -gt "$wal" ]; then wal=$size; fi
                sleep 0.1
            done
            wait "$pid"
            echo "$wal" >>"$BENCH_DIR/big.wal"
            du -cb "$BIG"* | tail -n1 | cut -f1 >>"$BENCH_DIR/big.size"

            fresh "$FLOOR"
            /usr/bin/time -f '%e %U %S %M' -a -o "$BENCH_DIR/floor.times" \
                sqlite3 "$FLOOR" 'PRAGMA journal_mode = WAL;' 'CREATE TABLE orders (doc TEXT);' \
                '.separator "\t" "\n"' ".import $input orders" >/dev/null
        done
        stored=$(count "$BIG" 'SELECT count(*) FROM salesorders')
        floor_rows=$(count "$FLOOR" 'SELECT count(*) FROM orders')
        if [ "$stored" -ne "$n" ] || [ "$floor_rows" -ne "$n" ]; then
            log "bench.sh: $n orders in $input, but pi7 stored $stored and sqlite3 $floor_rows"
            exit 1
        fi
        wall=$(awk '{ print $1 }' "$BENCH_DIR/big.times" | median)
        cpu=$(awk '{ print $2 + $3 }' "$BENCH_DIR/big.times" | median)
        peak=$(awk '$4 > m { m = $4 } END { print m }' "$BENCH_DIR/big.times")
        wal=$(sort -g "$BENCH_DIR/big.wal" | tail -n1)
        size=$(median <"$BENCH_DIR/big.size")
        fwall=$(awk '{ print $1 }' "$BENCH_DIR/floor.times" | median)
        fcpu=$(awk '{ print $2 + $3 }' "$BENCH_DIR/floor.times" | median)
        fpeak=$(awk '$4 > m { m = $4 } END { print m }' "$BENCH_DIR/floor.times")
        fsize=$(du -cb "$FLOOR"* | tail -n1 | cut -f1)
        row "submit-big, $(mib $((bytes / 1024))) = $(thousands "$n") orders: pi7 submit" "$(dur "$wall") wall, $(dur "$cpu") CPU ($(thousands "$(per_sec "$n" "$cpu")") orders/s of CPU), peak $(mib "$peak"), WAL up to $(mib $((wal / 1024))), db after $(mib $((size / 1024)))"
        row "  beside it: sqlite3 .import of the same lines" "$(dur "$fwall") wall, $(dur "$fcpu") CPU = pi7 at $(ratio "$cpu" "$fcpu")x CPU; peak $(mib "$fpeak"), db $(mib $((fsize / 1024)))"
        peaks+="${peaks:+, }$(mib $((bytes / 1024))) in: $(mib "$peak")"
        [ -n "${first_peak:-}" ] || first_peak=$peak
        last_peak=$peak
    done
    row "submit-big, peak memory by input size" "$peaks; last / first = $(ratio "$last_peak" "$first_peak")x (flat: 1x)"
    fresh "$BIG" "$FLOOR"
fi

# ---- check: an order's interleavings, explored in memory ----
if want check; then
    for case in $CHECK_CASES; do
        n=${case%%:*}
        flags=()
        name="check, order of $n lines"
        if [ "$case" != "$n" ]; then
            [ "${case#*:}" = dup ] || { log "bench.sh: BENCH_CHECK_CASES: '$case' is neither N nor N:dup"; exit 2; }
            flags=(--duplicates)
            name+=" --duplicates"
        fi
        one_order "$n" >"$BENCH_DIR/check-$n.json"
        hyperfine --style basic --runs "$CHECK_RUNS" --warmup 0 \
            --export-json "$BENCH_DIR/check-${case/:/-}.result.json" \
            --command-name "pi7 check ${flags[*]} ($n lines)" \
            "$PI7 check ${flags[*]} $BENCH_DIR/check-$n.json >/dev/null" >&2
        p=$(medians "$BENCH_DIR/check-${case/:/-}.result.json")
        pc=$(cpus "$BENCH_DIR/check-${case/:/-}.result.json")
        states=$(/usr/bin/time -f '%M' -o "$BENCH_DIR/check.rss" "$PI7" check "${flags[@]}" "$BENCH_DIR/check-$n.json" |
            grep -o 'through [0-9]* distinct states' | cut -d' ' -f2)
        row "$name" "$(dur "$p") wall, $(dur "$pc") CPU, peak $(mib "$(tail -n1 "$BENCH_DIR/check.rss")"), $states states"
    done
fi

# ---- submit: N orders of 3 lines as JSON Lines into a fresh db ----
if want submit; then
    input=$(orders_file "$SUBMIT_ORDERS")
    hyperfine --style basic --runs 5 --warmup 1 \
        --export-json "$BENCH_DIR/submit.json" \
        --prepare "rm -f $FRESH $FRESH-wal $FRESH-shm $FLOOR $FLOOR-wal $FLOOR-shm" \
        --command-name "pi7 submit $SUBMIT_ORDERS orders" \
        "$PI7 --db $FRESH submit $input >/dev/null" \
        --command-name "sqlite3 .import $SUBMIT_ORDERS lines" \
        "sqlite3 $FLOOR 'PRAGMA journal_mode = WAL;' 'CREATE TABLE orders (doc TEXT);' '.separator \"\\t\" \"\\n\"' '.import $input orders' >/dev/null" >&2
    { read -r p; read -r s; } < <(medians "$BENCH_DIR/submit.json")
    { read -r pc; read -r sc; } < <(cpus "$BENCH_DIR/submit.json")
    fresh "$FRESH"
    rss=$(/usr/bin/time -f '%M' "$PI7" --db "$FRESH" submit "$input" 2>&1 >/dev/null | tail -n1)
    row "submit $(thousands "$SUBMIT_ORDERS") orders (fresh db)" "$(dur "$p") wall, $(dur "$pc") CPU: $(thousands "$(per_sec "$SUBMIT_ORDERS" "$p")") orders/s wall, $(thousands "$(per_sec "$SUBMIT_ORDERS" "$pc")") orders/s of CPU (target 20,000); peak $(mib "$rss")"
    row "  beside it: sqlite3 .import of the same lines" "$(dur "$s") wall, $(dur "$sc") CPU = pi7 at $(ratio "$pc" "$sc")x CPU"
    fresh "$FRESH" "$FLOOR"
fi

# ---- events: the event log as JSON Lines over ~1M events ----
if want events; then
    build_db "$LARGE" "$LARGE_ORDERS" 10000
    events=$(count "$LARGE" 'SELECT count(*) FROM events')
    hyperfine --style basic --runs 3 --warmup 1 \
        --export-json "$BENCH_DIR/events.json" \
        --command-name "pi7 events --json ($events)" \
        "$PI7 --db $LARGE --json events >/dev/null" >&2
    p=$(medians "$BENCH_DIR/events.json")
    pc=$(cpus "$BENCH_DIR/events.json")
    rss=$(/usr/bin/time -f '%M' "$PI7" --db "$LARGE" --json events 2>&1 >/dev/null | tail -n1)
    row "events --json, $(thousands "$events") events" "$(ms "$p") wall, $(ms "$pc") CPU, $(thousands "$(per_sec "$events" "$p")") events/s, peak $(mib "$rss")"
fi

# ---- job: the whole job: submit N orders, then confirm every reservation ----
if want job; then
    input=$(orders_file "$SUBMIT_ORDERS")
    cat >"$BENCH_DIR/job.sh" <<EOF
set -e
rm -f $FRESH $FRESH-wal $FRESH-shm
$PI7 --db $FRESH submit $input >/dev/null
$PI7 --db $FRESH --json list reservations |
    grep -o '^    "_id": "[^"]*"' | cut -d'"' -f4 |
    $PI7 --db $FRESH confirm - >/dev/null
EOF
    hyperfine --style basic -N --runs 3 --warmup 0 \
        --export-json "$BENCH_DIR/job.json" \
        --command-name "submit $SUBMIT_ORDERS orders, confirm $((SUBMIT_ORDERS * 3)) reservations" \
        "bash $BENCH_DIR/job.sh" >&2
    p=$(medians "$BENCH_DIR/job.json")
    pc=$(cpus "$BENCH_DIR/job.json")
    confirmed=$(count "$FRESH" "SELECT count(*) FROM salesorders WHERE status = 'confirmed'")
    row "whole job: submit $(thousands "$SUBMIT_ORDERS") orders + confirm all" "$(dur "$p") wall, $(dur "$pc") CPU ($confirmed orders confirmed)"
    fresh "$FRESH"
fi

# ---- peer: the whole job beside Python's eventsourcing ----
if want peer; then
    name="whole job beside eventsourcing, $(thousands "$PEER_N") orders"
    peer=${PEER:-../shared/peers/eventsourcing_peer.py}
    if ! python3 -c 'import eventsourcing' 2>/dev/null; then
        row "$name" "skipped: python3 cannot import eventsourcing (pip install eventsourcing==9.5.6)"
    elif [ ! -f "$peer" ]; then
        row "$name" "skipped: no peer at $peer (set PEER=...)"
    else
        N=$PEER_N RUNS=$PEER_RUNS PI7=$PI7 PEER=$peer examples/peer_bench.sh | tee "$BENCH_DIR/peer.txt" >&2
        row "$name" "$(grep '^median:' "$BENCH_DIR/peer.txt" | sed 's/^median: //') (medians of $PEER_RUNS runs)"
    fi
fi

echo
echo "wall = median wall time; CPU = user + system (hyperfine: mean of its runs; submit-big: median)"
echo "peak = largest max RSS (/usr/bin/time); MB = MiB"
[ -z "$QUICK" ] || echo "BENCH_QUICK=1: tiny sizes, to check the script; not figures to report"
printf '%s\n' "${results[@]}"
