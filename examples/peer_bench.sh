#!/usr/bin/env bash
# The whole job beside the performance peer: submit N three-line orders,
# then confirm every reservation, once with pi7 (two commands: `submit -`
# and `confirm -`, each a whole process, on a fresh SQLite file) and once
# with the same saga on Python's `eventsourcing` library over SQLite
# (../shared/peers/eventsourcing_peer.py, timed inside its process, so its
# interpreter start is not counted against it). Runs the two in turn RUNS
# times and prints each run, the medians and the ratio of the medians.
#
#   examples/peer_bench.sh             # N=2000, RUNS=5
#   N=10000 RUNS=3 examples/peer_bench.sh
#   PI7=target/release/pi7 examples/peer_bench.sh   # that binary, no build
#
# Needs: python3 with eventsourcing 9.5.6 (pip install eventsourcing==9.5.6).

set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-2000}
RUNS=${RUNS:-5}
PEER=${PEER:-../shared/peers/eventsourcing_peer.py}
if ! python3 -c 'import eventsourcing' 2>/dev/null; then
    echo "peer_bench.sh needs the peer's library: pip install eventsourcing==9.5.6" >&2
    exit 2
fi
[ -f "$PEER" ] || { echo "peer_bench.sh: no peer at $PEER (set PEER=…)" >&2; exit 2; }

if [ -z "${PI7:-}" ]; then # PI7=path/to/pi7 benchmarks that binary instead
    cargo build --release --quiet
    PI7=$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/pi7
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

awk -v n="$N" 'BEGIN {
    for (i = 0; i < n; i++)
        printf "{\"customer\": \"c%d\", \"reservations\": [{\"id\": 1, \"reserved\": \"item 1\"}, {\"id\": 2, \"reserved\": \"item 2\"}, {\"id\": 3, \"reserved\": \"item 3\"}]}\n", i
}' >"$dir/orders.jsonl"

now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "whole job: $N three-line orders submitted, then all $((N * 3)) reservations confirmed; $RUNS runs each, in turn"
for run in $(seq 1 "$RUNS"); do
    db="$dir/pi7-$run.db"
    start=$(now)
    "$PI7" --db "$db" submit - <"$dir/orders.jsonl" >/dev/null
    submitted=$(now)
    # Listing the ids is not part of the job (the peer reads its own).
    "$PI7" --db "$db" --json list reservations --status unconfirmed |
        grep -o '^    "_id": "[^"]*"' | cut -d'"' -f4 >"$dir/ids"
    listed=$(now)
    "$PI7" --db "$db" confirm - <"$dir/ids" >/dev/null
    end=$(now)
    confirmed=$("$PI7" --db "$db" --json list orders --status confirmed | grep -c '"processId"' || true)
    pi7_s=$(awk -v a="$start" -v s="$submitted" -v l="$listed" -v e="$end" 'BEGIN { printf "%.3f", (s - a) + (e - l) }')
    peer_out=$(python3 "$PEER" "$N" "$dir/peer-$run")
    peer_s=$(echo "$peer_out" | awk '{ gsub(",", ""); printf "%.3f", $2 + $5 }')
    echo "run $run: pi7 ${pi7_s} s (orders confirmed $confirmed/$N)   peer ${peer_s} s ($peer_out)"
    echo "$pi7_s" >>"$dir/pi7.times"
    echo "$peer_s" >>"$dir/peer.times"
    rm -f "$dir"/peer-"$run".*
done
p=$(median <"$dir/pi7.times")
q=$(median <"$dir/peer.times")
echo "median: pi7 ${p} s, peer ${q} s; pi7 is $(awk -v p="$p" -v q="$q" 'BEGIN { printf "%.1f", q / p }')x faster (target 50x)"
