#!/usr/bin/env bash
# The story of the README's walkthrough, run against a throwaway database:
#
#   submit examples/order.json, list the unconfirmed reservations, confirm
#   one, confirm the other, show the order, list the events.
#
# Prints each command and its output, and fails unless the order ends up
# confirmed and `salesorder/confirm` was published exactly once.
#
# Usage: examples/walkthrough.sh
#   PI7=path/to/pi7 examples/walkthrough.sh   # a built binary
# PI7 defaults to `cargo run -q --` in this repository. Needs python3 (to
# read pi7's JSON); jq is not required.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# PI7 is either one executable (a path may contain spaces) or a command line.
if [[ -n "${PI7:-}" && -x "${PI7}" ]]; then
    pi7=("$(cd "$(dirname "$PI7")" && pwd)/$(basename "$PI7")")
elif [[ -n "${PI7:-}" ]]; then
    read -r -a pi7 <<<"$PI7"
else
    pi7=(cargo run -q --manifest-path "$repo/Cargo.toml" --)
fi

cd "$repo"
work=$(mktemp -d "${TMPDIR:-/tmp}/pi7-walkthrough.XXXXXX")
trap 'rm -rf "$work"' EXIT
export PI7_DB="$work/pi7.db"

# Runs pi7 with the arguments, showing the command and its output; the
# output is also kept in $out for the next step.
out=
step() {
    printf '\n$ pi7 %s\n' "$*"
    out=$("${pi7[@]}" "$@")
    printf '%s\n' "$out"
}

# Reads a JSON document on stdin and prints the value at a python expression
# over `doc`, e.g. `json_get 'doc["processId"]'`.
json_get() {
    python3 -c 'import json, sys; doc = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

step submit examples/order.json --json
process=$(json_get 'doc["processId"]' <<<"$out")

step list reservations --status unconfirmed --json
first=$(json_get 'doc[0]["_id"]' <<<"$out")
second=$(json_get 'doc[1]["_id"]' <<<"$out")

step confirm "$first" --json
step show "$process" --json
confirmed=$(json_get 'sum(l["status"] == "confirmed" for l in doc["object"]["reservations"])' <<<"$out")
echo "# the order has $confirmed of 2 lines confirmed"
if [[ "$confirmed" != 1 ]]; then
    echo "walkthrough: FAILED: after one confirm, $confirmed lines are confirmed, not 1" >&2
    exit 1
fi

step confirm "$second" --json
step show "$process" --json
status=$(json_get 'doc["object"]["status"]' <<<"$out")

step events
step events --json
published=$(python3 -c '
import json, sys
print(sum(json.loads(line)["topic"] == "salesorder/confirm" for line in sys.stdin if line.strip()))
' <<<"$out")

echo
if [[ "$status" != "confirmed" ]]; then
    echo "walkthrough: FAILED: the order is $status, not confirmed" >&2
    exit 1
fi
if [[ "$published" != 1 ]]; then
    echo "walkthrough: FAILED: salesorder/confirm was published $published times, not once" >&2
    exit 1
fi
echo "walkthrough: the order of process $process is confirmed; salesorder/confirm was published once"
