#!/usr/bin/env python3
"""Disk a day of usage history costs: bytes of the usage file (`<database>-usage`)
per key used on a day, with its counts by capability and by outcome.

    Benchmarks/Scripts/usage-growth.py [path/to/keygate] [keys] [days]

Makes a database with the built `keygate` (default .build/release/keygate, else
.build/debug/keygate), so that the usage file has this build's own schema, then
writes into it what the flush writes for `keys` keys (10,000) verified on each
of `days` days (60): a day's row per key (counts, last use, origin and address)
and a count for one capability and one refusal, in batches of 1,000 keys in
order of id, a day after another, each batch a transaction, as the flush does.
Reports the file's size over the key-days, after a checkpoint (no VACUUM: pages
are as full as writing in this order leaves them).
"""
import os
import random
import sqlite3
import string
import subprocess
import sys
import tempfile

from built_keygate import keygate as built

keygate = built(sys.argv[1] if len(sys.argv) > 1 else None)
keys = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
days = int(sys.argv[3]) if len(sys.argv) > 3 else 60

with tempfile.TemporaryDirectory() as folder:
    database = os.path.join(folder, "keygate.sqlite")
    subprocess.run([keygate, "serve", "--database", database, "--log-level", "error"], stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, check=True)
    usage = sqlite3.connect(database + "-usage")
    random.seed(2026)
    ids = sorted("key_" + "".join(random.choices(string.ascii_letters + string.digits, k=20)) for _ in range(keys))
    for index in range(days):
        day = "2026-%02d-%02d" % (1 + index // 28, 1 + index % 28)
        for start in range(0, keys, 1_000):
            batch = ids[start:start + 1_000]
            usage.executemany(
                "INSERT INTO key_usage_day (key_id, day, valid, invalid, last_used_at, last_origin, last_ip) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(key, day, random.randint(1, 5_000), random.randint(0, 50), 1_790_000_000_000 + random.randint(0, 10**8),
                  "https://app.example.com", "203.0.113.%d" % random.randint(1, 254)) for key in batch])
            usage.executemany(
                "INSERT INTO key_usage_count (key_id, day, dimension, name, count) VALUES (?, ?, ?, ?, ?)",
                [(key, day, "capability", "booking.read", random.randint(1, 5_000)) for key in batch]
                + [(key, day, "outcome", "rate_limited", random.randint(1, 50)) for key in batch])
            usage.commit()
    usage.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = os.path.getsize(database + "-usage")
    print(f"usage file: {size:,} bytes for {keys * days:,} key-days: {size / (keys * days):.0f} bytes a key-day")
