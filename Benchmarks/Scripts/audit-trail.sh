#!/bin/bash
# What a key's audit trail costs: the migration that indexes it (SQLite
# v24, PostgreSQL 22) over a log of 1,000,000 entries, and then a page of
# one key's entries against a page of the organization's log.
#
#   KEYGATE_BEFORE=path/to/older/keygate Benchmarks/Scripts/audit-trail.sh                        # SQLite only
#   KEYGATE_BEFORE=… Scripts/with-postgres.sh Benchmarks/Scripts/audit-trail.sh                  # and PostgreSQL
#
# KEYGATE_BEFORE is a build whose schema is one before the index (SQLite
# v23, PostgreSQL 21: 723f0a3); it creates the database, the log is
# inserted by SQL (1,000 organizations of 100 keys, ten entries a key,
# interleaved as time would), and the release build (KEYGATE, default
# .build/release/keygate) migrates it, timed, then answers 200 pages of 50
# of each kind one at a time after 20 (p50 and p90). On PostgreSQL it
# creates and drops a database named keygate_audit_bench.
set -euo pipefail

keygate=$(realpath "${KEYGATE:-.build/release/keygate}")
before=$(realpath "${KEYGATE_BEFORE:?name an older keygate build}")
entries=1000000
scratch=$(mktemp -d /tmp/keygate-audit.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

pages() {
  python3 - "$keygate" "$1" <<'PY'
import json, random, subprocess, sys, time
keygate, database = sys.argv[1], sys.argv[2]
server = subprocess.Popen([keygate, "serve", "--database", database], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL)
sent = 0
def call(params):
    global sent
    sent += 1
    server.stdin.write((json.dumps({"jsonrpc": "2.0", "id": sent, "method": "audit.list", "params": params}) + "\n").encode())
    server.stdin.flush()
    reply = json.loads(server.stdout.readline())
    if "result" not in reply:
        raise RuntimeError(reply)
    return reply["result"]["entries"]
def timed(params):
    times = []
    for number in range(220):
        start = time.perf_counter()
        entries = call(params(number))
        times.append(time.perf_counter() - start)
        if not entries:
            raise RuntimeError("an empty page")
    counted = sorted(times[20:])
    return f"p50 {counted[100] * 1000:.2f} ms, p90 {counted[180] * 1000:.2f} ms"
random.seed(7)
organization = lambda number: f"org_{number % 1000:04d}"
key = lambda number: {"organizationId": organization(number), "keyId": f"key_{number % 1000:04d}_{random.randrange(100):03d}",
                      "limit": 50}
trail = timed(key)
log = timed(lambda number: {"organizationId": organization(number), "limit": 50})
print(f"  a key's trail (10 entries): {trail}; the organization's log, 50 of 1,000: {log}")
server.stdin.close()
server.wait()
PY
}

timed_migrate() {
  start=$(date +%s%N); "$keygate" migrate --database "$1" > /dev/null; end=$(date +%s%N)
  echo "  migrated in $(( (end - start) / 1000000 )) ms"
}

database=$scratch/keygate.sqlite
"$before" migrate --database "$database" > /dev/null
python3 - "$database" "$entries" <<'PY'
import sqlite3, sys
path, entries = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path)
db.executemany("INSERT INTO audit_entry (organization_id, at, actor, action, key_id, details) VALUES (?, ?, 'user_1', 'key.updated', ?, '{}')",
               ((f"org_{i % 1000:04d}", 1764000000000 + i, f"key_{i % 1000:04d}_{(i // 1000) % 100:03d}") for i in range(entries)))
db.commit()
PY
echo "SQLite, $entries entries:"
timed_migrate "$database"
pages "$database"

[ -n "${KEYGATE_TEST_POSTGRES:-}" ] || exit 0
server=$KEYGATE_TEST_POSTGRES
psql -q "$server" -c "DROP DATABASE IF EXISTS keygate_audit_bench" -c "CREATE DATABASE keygate_audit_bench" 2> /dev/null
trap 'psql -q "$server" -c "DROP DATABASE IF EXISTS keygate_audit_bench"; rm -rf "$scratch"' EXIT
database="${server%/*}/keygate_audit_bench"
"$before" migrate --database "$database" > /dev/null
psql -q "$database" -c "INSERT INTO audit_entry (organization_id, at, actor, action, key_id, details)
    SELECT 'org_' || lpad((i % 1000)::text, 4, '0'), 1764000000000 + i, 'user_1', 'key.updated',
           'key_' || lpad((i % 1000)::text, 4, '0') || '_' || lpad(((i / 1000) % 100)::text, 3, '0'), '{}'
    FROM generate_series(0, $entries - 1) i" -c "VACUUM ANALYZE audit_entry"
echo "PostgreSQL, $entries entries:"
timed_migrate "$database"
pages "$database"
