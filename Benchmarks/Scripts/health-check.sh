#!/bin/bash
# What one health.check costs keygate serve: 20,000 pipelined through one
# process, the whole process timed, less a process that answers nothing
# (start-up and stop); the difference over 20,000 is one check. Also the
# database check's observedValue (the probe's round trip) at the median
# and the 99th percentile.
#
#   Benchmarks/Scripts/health-check.sh                      # a fresh SQLite file
#   Benchmarks/Scripts/health-check.sh "$KEYGATE_TEST_POSTGRES"
#   Scripts/with-postgres.sh bash -c 'Benchmarks/Scripts/health-check.sh "$KEYGATE_TEST_POSTGRES"'
#
# Runs the release build (KEYGATE, default .build/release/keygate).
set -euo pipefail

keygate=${KEYGATE:-.build/release/keygate}
scratch=$(mktemp -d /tmp/keygate-health.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
database=${1:-$scratch/keygate.sqlite}
count=20000

python3 -c "
for i in range($count): print('{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"health.check\",\"params\":{}}' % i)
" > "$scratch/health.check.jsonl"
: > "$scratch/nothing.jsonl"
# Created and migrated before anything is timed.
"$keygate" serve --database "$database" < /dev/null 2> /dev/null

seconds() {
  local start end
  start=$(date +%s%N)
  "$keygate" serve --database "$database" < "$scratch/$1.jsonl" > "$scratch/$1.out" 2> /dev/null
  end=$(date +%s%N)
  printf '%d.%09d\n' $(((end - start) / 1000000000)) $(((end - start) % 1000000000))
}
health=$(seconds health.check)
nothing=$(seconds nothing)
python3 - "$scratch/health.check.out" "$health" "$nothing" "$count" <<'PY'
import json, sys
path, health, nothing, count = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
replies = [json.loads(line)["result"] for line in open(path)]
assert len(replies) == count, f"{len(replies)} replies of {count}"
probes = sorted(reply["checks"][0]["observedValue"] for reply in replies)
statuses = sorted({reply["status"] for reply in replies})
per_check = (health - nothing) / count * 1e6
print(f"{count} health.check in {health:.2f} s, a process answering nothing {nothing:.2f} s: "
      f"{per_check:.0f} µs a check ({1e6 / per_check:,.0f}/s); status {', '.join(statuses)}")
print(f"database probe round trip: median {probes[len(probes) // 2]} µs, "
      f"99th percentile {probes[int(len(probes) * 0.99)]} µs, most {probes[-1]} µs")
PY
