#!/usr/bin/env python3
"""Replays keys.create's SQL from Python's sqlite3 on a scratch copy of the
serve rows' fixture: what SQLite alone costs a creation, without Keygate's
parsing, checks or answers (docs/PERFORMANCE.md).

    python3 Benchmarks/Scripts/replay-create.py              # as keygate writes it
    SKIP=audit,outbox python3 Benchmarks/Scripts/replay-create.py
    SQL="DROP TRIGGER change_event_pruned" python3 Benchmarks/Scripts/replay-create.py

SKIP names parts to leave out: count, sub (the reads before the insert),
audit, outbox, savepoint. SQL runs statements (separated by ';;') on the
copy first. COUNT sets how many keys (5,000). Times include Python's own
overhead per statement, a few microseconds; compare runs, not absolute
values. For instructions rather than time, run it under callgrind with
two COUNTs and take the difference (docs/PERFORMANCE.md).
"""
import os, secrets, shutil, sqlite3, time, uuid

here = os.path.dirname(os.path.abspath(__file__))
fixture = os.path.join(here, "..", ".data", "keys-1000-big100000.sqlite")
scratch = os.path.join(here, "..", ".data", "replay-create.sqlite")
if not os.path.exists(fixture):
    raise SystemExit("run keygate-bench once first: it seeds %s" % fixture)
for suffix in ["", "-wal", "-shm", "-usage", "-usage-wal", "-usage-shm"]:
    if os.path.exists(scratch + suffix):
        os.remove(scratch + suffix)
    if os.path.exists(fixture + suffix):
        shutil.copy(fixture + suffix, scratch + suffix)

db = sqlite3.connect(scratch, isolation_level=None)
# As keygate serve's connections: savepoint journals in memory.
for pragma in ["journal_mode = WAL", "synchronous = NORMAL", "temp_store = MEMORY"]:
    db.execute("PRAGMA " + pragma)
for statement in filter(None, os.environ.get("SQL", "").split(";;")):
    db.execute(statement)
skip = set(filter(None, os.environ.get("SKIP", "").split(",")))

COUNT = int(os.environ.get("COUNT", "5000"))
GROUP, ORGANIZATIONS = 128, 250  # as keygate serve's write groups and the benchmark's rows
run = uuid.uuid4().hex[:8]
organizations = ["org_new_%s_%d" % (run, index) for index in range(ORGANIZATIONS)]
details = '{"allowedOrigins":[],"capabilities":["booking.read"],"environment":"live","kind":"owner_integration","name":"bench","rateLimit":60}'
event = '{"capabilities":["booking.read"],"environment":"live","hint":"kg_live_…abcd","keyId":"%s","kind":"owner_integration","name":"bench"}'
start, done, base = time.perf_counter(), 0, int(time.time() * 1000)
while done < COUNT:
    db.execute("BEGIN IMMEDIATE")
    for _ in range(min(GROUP, COUNT - done)):
        organization = organizations[done % ORGANIZATIONS]
        key = "key_%013d%s" % (base + done, secrets.token_hex(4))
        now = base + done
        # One savepoint per command: the store's write, the command's first,
        # runs in the command's own.
        if "savepoint" not in skip:
            db.execute("SAVEPOINT command")
        if "count" not in skip:
            db.execute("SELECT COUNT(*) FROM api_key WHERE organization_id = ? AND revoked_at IS NULL"
                       " AND (expires_at IS NULL OR expires_at > ?) AND instr(?, ' ' || kind || ' ') > 0",
                       (organization, now, " owner_integration ")).fetchone()
        if "sub" not in skip:
            db.execute("SELECT organization_id, plan, status FROM subscription WHERE organization_id = ?",
                       (organization,)).fetchone()
        db.execute("INSERT INTO api_key (id, organization_id, name, kind, capabilities, environment, hint, rate_limit,"
                   " allowed_origins, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (key, organization, "bench %d" % done, "owner_integration", "booking.read", "live",
                    "kg_live_…abcd", 60, "", now, None))
        db.execute("INSERT INTO key_secret (digest, key_id, key_seq, expires_at)"
                   " VALUES (?1, ?2, (SELECT seq FROM api_key WHERE id = ?2), NULL)", (secrets.token_bytes(32), key))
        if "audit" not in skip:
            db.execute("INSERT INTO audit_entry (organization_id, at, actor, action, key_id, details)"
                       " VALUES (?, ?, ?, ?, ?, ?)", (organization, now, "system", "key.created", key, details))
        if "outbox" not in skip:
            db.execute("INSERT INTO outbox_event (id, organization_id, type, at, key_id, data, once)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (once) WHERE once IS NOT NULL DO NOTHING",
                       ("evt_" + key, organization, "key.created", now, key, event % key, None))
        if "savepoint" not in skip:
            db.execute("RELEASE command")
        done += 1
    db.execute("COMMIT")
elapsed = time.perf_counter() - start
print("%s: %.0f creations/s, %.1f µs each" % (",".join(sorted(skip)) or "all", COUNT / elapsed, elapsed / COUNT * 1e6))
db.close()
for suffix in ["", "-wal", "-shm", "-usage", "-usage-wal", "-usage-shm"]:
    if os.path.exists(scratch + suffix):
        os.remove(scratch + suffix)
