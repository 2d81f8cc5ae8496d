#!/usr/bin/env python3
"""What the dashboard's changes to a key cost through `keygate serve`, one at
a time: `keys.update` of a name (no plan gate), of capabilities (gated: the
key is read first), `keys.rotate` without grace, without an idempotency key,
with one, and sent again under it (`key_already_rotated`), and `keys.create`
without an idempotency key, with one, and sent again under it
(`key_already_created`), on any database (each key created is revoked at
once, not timed).

    Benchmarks/Scripts/dashboard-writes.py DATABASE [path/to/keygate] [label]

DATABASE is a SQLite path or a postgresql:// URL (with Scripts/with-postgres.sh:
"$KEYGATE_TEST_POSTGRES"). On first use it gives `org_dashboard_writes` the Pro
plan and 25 keys, three of them rotated with 20 days of grace, so that their
answers list earlier secrets; later runs reuse them. Each change runs 300
times after 50 not counted, over the 25 keys in turn: the median and the
90th percentile, in milliseconds. Alternate the builds being compared, on
one database.
"""
import time

from dashboard_server import start

organization = "org_dashboard_writes"
server, label, ids = start(organization)
call = server.call


def one_at_a_time(method, params):
    times = []
    for number in range(350):
        start = time.perf_counter()
        call(method, **params(number))
        times.append(time.perf_counter() - start)
    counted = sorted(times[50:])
    return f"p50 {counted[150] * 1000:.3f} ms, p90 {counted[270] * 1000:.3f} ms"


def key(number):
    return {"organizationId": organization, "keyId": ids[number % len(ids)]}


renamed = one_at_a_time("keys.update", lambda number: {**key(number), "name": f"Integration {number % len(ids)} ({number})"})
capabilities = one_at_a_time("keys.update", lambda number: {
    **key(number), "capabilities": ["booking.read"] if number % 2 else ["booking.read", "services.read"]})
rotated = one_at_a_time("keys.rotate", lambda number: {**key(number), "gracePeriodSeconds": 0})
print(f"{label}: keys.update name {renamed}; keys.update capabilities {capabilities}; keys.rotate {rotated}")

# Rotations and creations go under idempotency keys no earlier run used.
run = time.time_ns()
rotated_keyed = one_at_a_time("keys.rotate", lambda number: {
    **key(number), "gracePeriodSeconds": 0, "idempotencyKey": f"rotate-{run}-{number}"})
rotated_again = one_at_a_time("keys.rotate", lambda number: {
    **key(number), "gracePeriodSeconds": 0, "idempotencyKey": f"rotate-{run}-{number}", "refused": "key_already_rotated"})
print(f"{label}: keys.rotate with an idempotency key {rotated_keyed}; sent again {rotated_again}")

# Creations go to an organization of their own.
creation = {"organizationId": "org_dashboard_creations", "name": "Integration", "kind": "owner_integration",
            "capabilities": ["booking.read"]}
call("subscriptions.setPlan", organizationId=creation["organizationId"], plan="pro", eventId="evt_dashboard_creations",
     occurredAt="2026-11-01T00:00:00Z")
for live in call("keys.list", organizationId=creation["organizationId"], status="active", limit=200)["keys"]:
    call("keys.revoke", organizationId=creation["organizationId"], keyId=live["id"])


def creations(params):
    """Each key made is revoked at once, not timed: Pro allows 25 live keys."""
    times = []
    for number in range(350):
        start = time.perf_counter()
        created = call("keys.create", **params(number))
        times.append(time.perf_counter() - start)
        if created:
            call("keys.revoke", organizationId=creation["organizationId"], keyId=created["key"]["id"])
    counted = sorted(times[50:])
    return f"p50 {counted[150] * 1000:.3f} ms, p90 {counted[270] * 1000:.3f} ms"


plain = creations(lambda number: creation)
keyed = creations(lambda number: {**creation, "idempotencyKey": f"{run}-{number}"})
again = creations(lambda number: {**creation, "idempotencyKey": f"{run}-{number}", "refused": "key_already_created"})
print(f"{label}: keys.create {plain}; with an idempotency key {keyed}; sent again {again}")
server.stop()
