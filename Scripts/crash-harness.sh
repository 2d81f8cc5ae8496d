#!/usr/bin/env bash
# Full-size crash-safety run: 300 SIGKILLs of keygate serve during a stream
# of creates, rotations, revocations, plan changes, recorded uses and
# verifications, on every store: SQLite, and PostgreSQL directly and through
# PgBouncer. Without KEYGATE_TEST_POSTGRES it starts a throwaway cluster
# (Scripts/with-postgres.sh) where PostgreSQL is installed, and runs on
# SQLite alone, saying so, where it is not.
# KEYGATE_CRASH_KILLS and KEYGATE_CRASH_SEED may be set to change it.
set -euo pipefail
cd "$(dirname "$0")/.."
export KEYGATE_CRASH_KILLS="${KEYGATE_CRASH_KILLS:-300}"
if [ -z "${KEYGATE_TEST_POSTGRES:-}" ]; then
  if command -v pg_config >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exec Scripts/with-postgres.sh swift test --filter CrashSafetyTests
  fi
  echo "crash-harness: PostgreSQL is not installed: SQLite only" >&2
fi
swift test --filter CrashSafetyTests
