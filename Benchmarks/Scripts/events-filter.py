#!/usr/bin/env python3
"""What a page of `events.list` costs through `keygate serve`, with and
without `types`, over an outbox of 20,000 events, on any database.

    Benchmarks/Scripts/events-filter.py DATABASE [path/to/keygate] [label]

DATABASE is a SQLite path or a postgresql:// URL (with Scripts/with-postgres.sh:
"$KEYGATE_TEST_POSTGRES"); use a new one for each build. The script gives
`org_events` the Pro plan and 25 keys, renames them 20,000 times in all (each
a `key.updated`, written pipelined, not timed), then revokes one key: one
`key.revoked` at the end of the outbox. Then, one call at a time, 200 times
after 20 not counted (the median and the 90th percentile, in milliseconds):
a page of 100 events of every type from the start, and the next from its
cursor (which a build that tells a reader left behind checks); a page of 100 of
`key.updated` (full at once); a page of `key.revoked` from the start (which
reads its 1,000 events and comes back empty); and the walk a new notifier of
`key.revoked` makes from the start to the end of the outbox, page after page
while `hasMore` says so (its pages and its total, in milliseconds, five
times). A build from before `types` measures the first page alone.
"""
import time

from dashboard_server import start

organization = "org_events"
server, label, ids = start(organization)
call = server.call

renames = 20_000
server.pipelined([("keys.update", {"organizationId": organization, "keyId": ids[number % len(ids)],
                                    "name": f"Integration {number}"}) for number in range(renames)])
call("keys.revoke", organizationId=organization, keyId=ids[0])


def one_at_a_time(params):
    times = []
    for _ in range(220):
        start = time.perf_counter()
        call("events.list", **params)
        times.append(time.perf_counter() - start)
    counted = sorted(times[20:])
    return f"p50 {counted[100] * 1000:.3f} ms, p90 {counted[180] * 1000:.3f} ms"


every = one_at_a_time({"limit": 100})
onward = one_at_a_time({"limit": 100, "cursor": call("events.list", limit=100)["nextCursor"]})
if call("events.list", refused="invalid_params", types=["key.revoked"]) is None:
    # A build from before `types`: the unfiltered page is all it can be compared on.
    print(f"{label}: a page of 100, every type {every}; the next, from a cursor {onward}; this build takes no types")
    server.stop()
    raise SystemExit(0)
updated = one_at_a_time({"types": ["key.updated"], "limit": 100})
revoked = one_at_a_time({"types": ["key.revoked"], "limit": 100})
print(f"{label}: a page of 100, every type {every}; the next, from a cursor {onward}; of key.updated {updated}; "
      f"of key.revoked (none in its 1,000) {revoked}")

walks = []
for _ in range(5):
    start = time.perf_counter()
    cursor, pages, found = None, 0, 0
    while True:
        page = call("events.list", types=["key.revoked"], limit=100, **({"cursor": cursor} if cursor else {}))
        pages, found, cursor = pages + 1, found + len(page["events"]), page["nextCursor"]
        if not page["hasMore"]:
            break
    walks.append(time.perf_counter() - start)
    if found < 1:
        raise RuntimeError("the walk found no key.revoked")
walks.sort()
print(f"{label}: key.revoked from the start of an outbox of {renames + 27} events: {pages} pages, "
      f"median {walks[2] * 1000:.1f} ms ({walks[0] * 1000:.1f}-{walks[4] * 1000:.1f}), {found} found")
server.stop()
