#!/usr/bin/env python3
"""What the dashboard's reads cost through `keygate serve`: `keys.get`
pipelined and one at a time, and `keys.list`, on any database.

    Benchmarks/Scripts/dashboard-reads.py DATABASE [path/to/keygate] [label]

DATABASE is a SQLite path or a postgresql:// URL (with Scripts/with-postgres.sh:
"$KEYGATE_TEST_POSTGRES"). On first use it gives `org_dashboard` the Pro plan
and 25 keys, three of them rotated with 20 days of grace, so that their
answers list earlier secrets; later runs reuse them. Then: 10,000 `keys.get`
written at once and read back, three times after a warm-up (the median and
all three, in seconds); 250 `keys.get` and 250 `keys.list` (all 25 keys), one
at a time, after 50 of each not counted (the median, in milliseconds).
Alternate the builds being compared, on one database.
"""
import time

from dashboard_server import start

organization = "org_dashboard"
server, label, ids = start(organization)
call = server.call


def pipelined(count):
    return server.pipelined([("keys.get", {"organizationId": organization, "keyId": ids[number % len(ids)]})
                             for number in range(count)])


def one_at_a_time(method, params):
    times = []
    for number in range(300):
        start = time.perf_counter()
        call(method, **params(number))
        times.append(time.perf_counter() - start)
    return sorted(times[50:])[125] * 1000


pipelined(2_000)
runs = sorted(pipelined(10_000) for _ in range(3))
get = one_at_a_time("keys.get", lambda number: {"organizationId": organization, "keyId": ids[number % len(ids)]})
listed = one_at_a_time("keys.list", lambda number: {"organizationId": organization, "limit": 50})
print(f"{label}: 10,000 keys.get pipelined {runs[1]:.3f} s ({', '.join(f'{run:.3f}' for run in runs)}); "
      f"keys.get p50 {get:.3f} ms; keys.list of 25 p50 {listed:.3f} ms")
server.stop()
