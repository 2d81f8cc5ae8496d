#!/bin/bash
# What keygate status costs beside a table of remembered calls that grew:
# the whole command (median of three) on a new database, then with
# 1,000,000 and 3,000,000 usage.record uses under idempotency keys,
# inserted by SQL, then with as many audit entries besides. Past a million
# rows a table is counted no further.
#
#   Benchmarks/Scripts/status-remembered.sh                  # SQLite only
#   Scripts/with-postgres.sh Benchmarks/Scripts/status-remembered.sh   # and PostgreSQL
#
# Runs the release build (KEYGATE, default .build/release/keygate); on
# PostgreSQL it creates and drops a database named keygate_status_bench.
set -euo pipefail

keygate=$(realpath "${KEYGATE:-.build/release/keygate}")
scratch=$(mktemp -d /tmp/keygate-status.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

median_ms() {
  for _ in 1 2 3; do
    start=$(date +%s%N); "$keygate" status --database "$1" > /dev/null; end=$(date +%s%N)
    echo $(( (end - start) / 1000000 ))
  done | sort -n | sed -n 2p
}

database=$scratch/keygate.sqlite
"$keygate" migrate --database "$database" > /dev/null
echo "SQLite, 0 uses: $(median_ms "$database") ms"
for uses in 1000000 3000000; do
  python3 - "$database" "$uses" <<'PY'
import sqlite3, sys
path, uses = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path)
have = db.execute("SELECT COUNT(*) FROM usage_record").fetchone()[0]
db.executemany("INSERT INTO usage_record (organization_id, idempotency_key, meter, period_start, amount, recorded_at) "
               "VALUES (?, ?, 'bookings', 0, 1, 0)",
               ((f"org_{i % 1000:04d}", f"use-{i:09d}") for i in range(have, uses)))
db.commit()
PY
  echo "SQLite, $uses uses: $(median_ms "$database") ms"
done
for entries in 1000000 3000000; do
  python3 - "$database" "$entries" <<'PY'
import sqlite3, sys
path, entries = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path)
have = db.execute("SELECT COUNT(*) FROM audit_entry").fetchone()[0]
db.executemany("INSERT INTO audit_entry (organization_id, at, actor, action, key_id, details) "
               "VALUES (?, ?, 'user_1', 'key.created', ?, '{\"name\":\"Zapier\"}')",
               ((f"org_{i % 1000:04d}", i, f"key_{i:09d}") for i in range(have, entries)))
db.commit()
PY
  echo "SQLite, 3000000 uses and $entries audit entries: $(median_ms "$database") ms"
done
"$keygate" status --database "$database" | grep '^remembered\|^audit log'

[ -n "${KEYGATE_TEST_POSTGRES:-}" ] || exit 0
server=$KEYGATE_TEST_POSTGRES
psql -q "$server" -c "DROP DATABASE IF EXISTS keygate_status_bench" -c "CREATE DATABASE keygate_status_bench" 2> /dev/null
trap 'psql -q "$server" -c "DROP DATABASE IF EXISTS keygate_status_bench"; rm -rf "$scratch"' EXIT
database="${server%/*}/keygate_status_bench"
"$keygate" migrate --database "$database" > /dev/null
echo "PostgreSQL, 0 uses: $(median_ms "$database") ms"
for uses in 1000000 3000000; do
  psql -q "$database" -c "INSERT INTO usage_record (organization_id, idempotency_key, meter, period_start, amount, recorded_at)
      SELECT 'org_' || (i % 1000), 'use-' || i, 'bookings', 0, 1, 0
      FROM generate_series((SELECT COUNT(*) FROM usage_record), $uses - 1) i" -c "VACUUM ANALYZE usage_record"
  echo "PostgreSQL, $uses uses: $(median_ms "$database") ms"
done
for entries in 1000000 3000000; do
  psql -q "$database" -c "INSERT INTO audit_entry (organization_id, at, actor, action, key_id, details)
      SELECT 'org_' || (i % 1000), i, 'user_1', 'key.created', 'key_' || i, '{\"name\":\"Zapier\"}'
      FROM generate_series((SELECT COUNT(*) FROM audit_entry), $entries - 1) i" -c "VACUUM ANALYZE audit_entry"
  echo "PostgreSQL, 3000000 uses and $entries audit entries: $(median_ms "$database") ms"
done
"$keygate" status --database "$database" | grep '^remembered\|^audit log'
