#!/bin/bash
# Instructions one write request costs keygate serve, counted by callgrind:
# a measure that does not move with the machine's load, unlike a rate on
# this shared 2-core machine (docs/PERFORMANCE.md). Counts user-space
# instructions only: system calls and cache misses are not in it.
#
#   Benchmarks/Scripts/instructions.sh create          # keys.create
#   Benchmarks/Scripts/instructions.sh setPlan         # subscriptions.setPlan
#   Benchmarks/Scripts/instructions.sh record          # usage.record
#   Benchmarks/Scripts/instructions.sh serve-verify    # keys.verify through keygate serve, ten keys held
#   Benchmarks/Scripts/instructions.sh create path/to/keygate
#   Benchmarks/Scripts/instructions.sh verify          # keys.verify in process, hot keys
#   Benchmarks/Scripts/instructions.sh reply           # the same through RPCServer.reply(to:)
#   Benchmarks/Scripts/instructions.sh cold            # a key's first verification in process (a miss)
#
# `verify`, `reply` and `cold` run the benchmark itself (default
# Benchmarks/.build/release/keygate-bench) with `--profile-verify`,
# `--profile-reply` or `--profile-cold`: 50,000 and then 150,000
# verifications of the 1,000 hot keys, the difference over 100,000; for
# `cold`, the first verifications of 20,000 and then 60,000 keys, the
# difference over 40,000. Under valgrind SHA-256 runs without the CPU's SHA instructions,
# so the count overstates what hashing costs natively (about 2,100 of it
# is the hash).
#
# Runs the release build (default .build/release/keygate) on a scratch copy
# of the serve rows' fixture (keygate-bench seeds it), pipelined, twice: with
# 500 and with 1,500 requests. The difference over 1,000 is what one request
# costs, without start-up. Needs valgrind (apt-get install valgrind); the
# binary is copied without its debug information, which valgrind 3.19
# cannot read.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
operation=${1:-create}
command -v valgrind > /dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# What one run reports: the instructions callgrind collected.
collected() {
    grep -a 'Collected' "$work/valgrind.txt" | awk '{print $4}'
}

if [ "$operation" = verify ] || [ "$operation" = reply ] || [ "$operation" = cold ]; then
    binary=${2:-$here/Benchmarks/.build/release/keygate-bench}
    small=50000 large=150000 unit=verification
    if [ "$operation" = cold ]; then small=20000 large=60000; fi
else
    binary=${2:-$here/.build/release/keygate}
    fixture=$here/Benchmarks/.data/keys-1000-big100000.sqlite
    [ -f "$fixture" ] || { echo "run keygate-bench once first: it seeds $fixture" >&2; exit 1; }
    small=500 large=1500 unit=request
fi
objcopy --strip-debug "$binary" "$work/program"

# `verify`, `reply` and `cold`: that many verifications in the benchmark itself.
verifications() {
    COUNT=$1 valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" "$work/program" \
        "--profile-$operation" > /dev/null 2> "$work/valgrind.txt"
    collected
}

# The writes: that many pipelined requests through `keygate serve`.
requests() {
    local number=$1
    rm -f "$work"/k.sqlite*
    # serve-verify starts from a new database, which any build can open.
    if [ "$operation" != serve-verify ]; then
        for suffix in "" -wal -shm -usage -usage-wal -usage-shm; do
            if [ -f "$fixture$suffix" ]; then cp "$fixture$suffix" "$work/k.sqlite$suffix"; fi
        done
    fi
    python3 - "$operation" "$number" "${fixture%.sqlite}.secrets" > "$work/in.jsonl" <<'PY'
import sys, uuid
operation, count, run = sys.argv[1], int(sys.argv[2]), uuid.uuid4().hex[:8]
if operation == "serve-verify":
    # Ten of the fixture's keys imported, then verified in turn: after the
    # first ten, each is held in memory. Most run into their rate limit,
    # which costs what a valid answer does (docs/PERFORMANCE.md).
    secrets = open(sys.argv[3]).read().split()[:10]
    print('{"jsonrpc":"2.0","id":"p","method":"subscriptions.setPlan","params":{"organizationId":"org_v","plan":"pro","eventId":"evt_v","occurredAt":"2026-11-01T00:00:00Z"}}')
    print('{"jsonrpc":"2.0","id":"i","method":"keys.import","params":{"organizationId":"org_v","keys":[%s]}}' % ",".join(
        '{"name":"k","kind":"owner_integration","capabilities":["booking.read"],"key":"%s"}' % secret for secret in secrets))
    for index in range(count):
        print('{"jsonrpc":"2.0","id":%d,"method":"keys.verify","params":{"key":"%s","capability":"booking.read"}}'
              % (index, secrets[index % len(secrets)]))
    sys.exit()
line = {
    "create": '"keys.create","params":{"organizationId":"org_i_%s_%d","name":"k %d","kind":"owner_integration","capabilities":["booking.read"]}',
    "setPlan": '"subscriptions.setPlan","params":{"organizationId":"org_j_%s_%d","plan":"starter","eventId":"evt_j_%d","occurredAt":"2026-11-02T00:00:00Z"}',
    "record": '"usage.record","params":{"organizationId":"org_i_%s_%d","meter":"bookings","amount":1,"idempotencyKey":"u%d"}',
}[operation]
# 250 Pro organizations first, as the benchmark's creation row has them.
for index in range(250):
    print('{"jsonrpc":"2.0","id":"p%d","method":"subscriptions.setPlan","params":{"organizationId":"org_i_%s_%d","plan":"pro","eventId":"evt_i_%s_%d","occurredAt":"2026-11-01T00:00:00Z"}}' % (index, run, index, run, index))
for index in range(count):
    print('{"jsonrpc":"2.0","id":%d,"method":%s}' % (index, line % (run, index % 250, index)))
PY
    valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" "$work/program" serve \
        --database "$work/k.sqlite" --catalog "$here/Plans/plans.xml" --localization "$here/Localization" \
        --log-level warning < "$work/in.jsonl" > "$work/out.jsonl" 2> "$work/valgrind.txt"
    local failed answered
    answered=$(wc -l < "$work/out.jsonl")
    [ "$answered" -ge "$number" ] || { echo "$answered answers to $number requests: $(tail -3 "$work/valgrind.txt")" >&2; exit 1; }
    failed=$(grep -c '"error":{' "$work/out.jsonl" || true)
    [ "$failed" = 0 ] || { echo "$failed requests failed, e.g.: $(grep -m1 '"error":{' "$work/out.jsonl" | cut -c1-300)" >&2; exit 1; }
    collected
}

count() {
    if [ "$unit" = verification ]; then verifications "$1"; else requests "$1"; fi
}

first=$(count "$small")
second=$(count "$large")
echo "$operation: $(( (second - first) / (large - small) )) instructions a $unit (callgrind, $(basename "$binary"))"
