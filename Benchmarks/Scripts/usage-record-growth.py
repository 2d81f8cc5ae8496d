#!/usr/bin/env python3
"""Disk `usage.record` costs: bytes of the database per use recorded, as
each idempotency key is kept with its use for good (a retry of any age is
answered as a replay, never counted again).

    Benchmarks/Scripts/usage-record-growth.py [path/to/keygate] [uses] [database]

Sends `uses` (100,000) pipelined `usage.record` calls of 100 organizations to
`keygate serve` of the built `keygate` (default .build/release/keygate, else
.build/debug/keygate), each under an idempotency key as a product would make
one (`booking_` and 24 characters), and reports how much the database grew.
Without `database`, a fresh SQLite file in a scratch folder, measured after a
checkpoint (no VACUUM); with a PostgreSQL URL (`Scripts/with-postgres.sh`
exports one as KEYGATE_TEST_POSTGRES), the growth of `usage_record` and its
index as `pg_total_relation_size` reports it, measured with `psql`.
"""
import json
import os
import random
import sqlite3
import string
import subprocess
import sys
import tempfile

from built_keygate import keygate as built

keygate = built(sys.argv[1] if len(sys.argv) > 1 else None)
uses = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
database = sys.argv[3] if len(sys.argv) > 3 else None


def serve(database, requests):
    """Runs `keygate serve` over the requests and checks every reply."""
    result = subprocess.run([keygate, "serve", "--database", database, "--log-level", "error"], input=requests,
                            stdout=subprocess.PIPE, check=True)
    replies = [json.loads(line) for line in result.stdout.splitlines()]
    errors = [reply for reply in replies if "error" in reply]
    if len(replies) != requests.count(b"\n") or errors:
        sys.exit(f"{len(replies)} replies, {len(errors)} errors: {errors[:3]}")


def postgres_size():
    query = "SELECT coalesce(pg_total_relation_size(to_regclass('usage_record')), 0)"
    return int(subprocess.run(["psql", "-Atq", database, "-c", query], stdout=subprocess.PIPE, check=True).stdout)


random.seed(2026)
run = "".join(random.choices(string.ascii_lowercase, k=6))
requests = b"".join(
    json.dumps({"jsonrpc": "2.0", "id": index, "method": "usage.record", "params": {
        "organizationId": f"org_{run}_{index % 100}", "meter": "bookings", "amount": 1,
        "idempotencyKey": "booking_" + "".join(random.choices(string.ascii_letters + string.digits, k=24)),
    }}).encode() + b"\n"
    for index in range(uses))

with tempfile.TemporaryDirectory() as folder:
    if database is None:
        path = os.path.join(folder, "keygate.sqlite")
        serve(path, b"")  # the schema, and the file's first pages

        def size():
            connection = sqlite3.connect(path)
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.close()
            return os.path.getsize(path)

        before = size()
        serve(path, requests)
        grown, store = size() - before, "SQLite database file"
    else:
        serve(database, b"")
        before = postgres_size()
        serve(database, requests)
        grown, store = postgres_size() - before, "PostgreSQL usage_record with its index"
    print(f"{store}: {grown:,} bytes more for {uses:,} uses: {grown / uses:.0f} bytes a use")
