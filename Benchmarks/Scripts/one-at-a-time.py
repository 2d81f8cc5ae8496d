#!/usr/bin/env python3
"""Verifications one at a time over a pipe, each sent when the one before
was answered: p50 and p99 of the round trip, for one `keygate serve` or for
several builds in turn (to tell a change of the code from a change of the
machine, which moves this row most).

    python3 Benchmarks/Scripts/one-at-a-time.py [KEYGATE ...] [--count N] [--rounds N]

Each build gets a new database in a scratch folder, the 25 keys of the
dashboard scripts, and `--count` verifications (20,000) after 1,000 left
unmeasured; the builds take turns `--rounds` times (2). Python adds its own
microseconds to each round trip, the same for every build."""
import argparse
import json
import os
import tempfile
import time

import built_keygate
from dashboard_server import Server


def measure(keygate, count):
    with tempfile.TemporaryDirectory() as folder:
        server = Server(keygate, os.path.join(folder, "keygate.sqlite"))
        ids = server.organization_with_keys("org_latency")
        secrets = [server.call("keys.rotate", organizationId="org_latency", keyId=key)["secret"] for key in ids]
        lines = [(json.dumps({"jsonrpc": "2.0", "id": number, "method": "keys.verify",
                              "params": {"key": secrets[number % len(secrets)], "capability": "booking.read"}})
                  + "\n").encode() for number in range(count + 1_000)]
        write, flush, read = server.process.stdin.write, server.process.stdin.flush, server.process.stdout.readline
        latencies = []
        for number, line in enumerate(lines):
            start = time.perf_counter_ns()
            write(line)
            flush()
            read()
            if number >= 1_000:
                latencies.append(time.perf_counter_ns() - start)
        server.stop()
    latencies.sort()
    return latencies[len(latencies) // 2] / 1_000, latencies[int(len(latencies) * 0.99)] / 1_000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("keygate", nargs="*")
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    builds = arguments.keygate or [built_keygate.keygate()]
    for _ in range(arguments.rounds):
        for keygate in builds:
            p50, p99 = measure(keygate, arguments.count)
            print(f"{keygate}: p50 {p50:.1f} µs, p99 {p99:.1f} µs", flush=True)


if __name__ == "__main__":
    main()
