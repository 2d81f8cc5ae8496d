#!/usr/bin/env bash
# How long the first start after an upgrade takes while it rewrites keys'
# allowed origins (SQLite v19, PostgreSQL 17): a million keys with two
# origins each, one in a thousand with an IPv4 origin in a spelling no
# browser sends (`http://127.1:N`). Each run puts those spellings back,
# forgets the migration and times `keygate serve` starting on an empty
# stdin (it migrates, then stops); a last start times one with nothing to
# migrate. Reported in docs/PERFORMANCE.md.
#
#   swift build -c release --product keygate
#   Benchmarks/Scripts/upgrade-origins.sh                            # SQLite
#   Scripts/with-postgres.sh Benchmarks/Scripts/upgrade-origins.sh   # and PostgreSQL
#
# Needs sqlite3 (and psql for PostgreSQL). The SQLite database is made in a
# temporary folder and removed; the PostgreSQL one is the throwaway
# cluster's.
set -euo pipefail

keygate=${KEYGATE:-$(cd "$(dirname "$0")/../.." && pwd)/.build/release/keygate}
folder=$(mktemp -d /tmp/keygate-upgrade.XXXXXX)
trap 'rm -rf "$folder"' EXIT

# The rows, given how the store writes a number as 20 digits.
keys() { echo "SELECT 'key_' || $1, 'org_' || (i % 5000), 'n', 'owner_integration', 'booking.read', 'live',
        'kg_live_x...abcd', 60,
        CASE WHEN i % 1000 = 0 THEN 'http://127.1:' || (i % 60000 + 1) || ' https://a.example.com'
             ELSE 'https://app' || i || '.example.com http://localhost:3000' END,
        1700000000000"; }
columns="id, organization_id, name, kind, capabilities, environment, hint, rate_limit, allowed_origins, created_at"
back="UPDATE api_key SET allowed_origins = replace(allowed_origins, 'http://127.0.0.1:', 'http://127.1:')
      WHERE allowed_origins LIKE 'http://127.0.0.1:%'"

start() { /usr/bin/time -f "$1 %e s, %M KiB" "$keygate" serve "${@:2}" < /dev/null 2>&1 >/dev/null | tail -1; }

database="$folder/keys.sqlite"
"$keygate" serve --database "$database" < /dev/null 2>/dev/null
sqlite3 "$database" "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999999)
  INSERT INTO api_key ($columns) $(keys "printf('%020d', i)") FROM n"
for run in 1 2 3; do
  sqlite3 "$database" "$back; DELETE FROM grdb_migrations WHERE identifier LIKE 'v19:%';"
  start "SQLite, first start:" --database "$database"
done
start "SQLite, a later start:" --database "$database"
echo "SQLite, rewritten: $(sqlite3 "$database" "SELECT count(*) FROM api_key WHERE allowed_origins LIKE 'http://127.0.0.1:%'") of 1000"

if [ -n "${KEYGATE_TEST_POSTGRES:-}" ]; then
  url=$KEYGATE_TEST_POSTGRES
  psql=(psql "$url" -q -t -v ON_ERROR_STOP=1)
  "$keygate" serve --database "$url" < /dev/null 2>/dev/null
  "${psql[@]}" -c "INSERT INTO api_key ($columns) $(keys "lpad(i::text, 20, '0')") FROM generate_series(0, 999999) i"
  for run in 1 2 3; do
    "${psql[@]}" -c "$back" -c "DELETE FROM keygate_migration WHERE version = 17" -c "VACUUM api_key"
    start "PostgreSQL, first start:" --database "$url"
  done
  start "PostgreSQL, a later start:" --database "$url"
  echo "PostgreSQL, rewritten: $("${psql[@]}" -c "SELECT count(*) FROM api_key WHERE allowed_origins LIKE 'http://127.0.0.1:%'" | tr -d ' ') of 1000"
fi
