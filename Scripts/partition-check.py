#!/usr/bin/env python3
"""A PostgreSQL server gone silent under a serving keygate: what it answers.

Usage (as root, with iptables installed; it adds one rule and removes it):
    Scripts/with-postgres.sh python3 Scripts/partition-check.py [KEYGATE]

Starts `keygate serve` (KEYGATE, default .build/debug/keygate) on the
server KEYGATE_TEST_POSTGRES names, creates a key and verifies it, then
drops every packet to the server's port (a network partition, a host gone
in a failover: nothing answers and nothing is refused). While it is
silent: the key in memory must keep being verified, the first request
after waiting at most the connection's timeouts (5 s for unanswered data,
5 s to connect anew), each after it at once; a write must fail with
storage_failure at once. Then the rule goes and writes must succeed again.
Prints each answer with how long it took; exits 1 if one is wrong.
Not part of `swift test`: it changes the host's firewall.
"""
import json
import os
import re
import select
import subprocess
import sys
import time

url = os.environ["KEYGATE_TEST_POSTGRES"]
port = re.search(r":(\d+)/", url).group(1)
keygate = sys.argv[1] if len(sys.argv) > 1 else ".build/debug/keygate"
rule = ["INPUT", "-p", "tcp", "--dport", port, "-j", "DROP"]
serve = subprocess.Popen([keygate, "serve", "--database", url], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
pending = b""
sent = 0
failures = []


def call(method, params, timeout=60):
    """One request; its reply (None if none came in `timeout` s) and how long it took."""
    global pending, sent
    sent += 1
    serve.stdin.write((json.dumps({"jsonrpc": "2.0", "id": sent, "method": method, "params": params}) + "\n").encode())
    start = time.monotonic()
    while b"\n" not in pending:
        ready, _, _ = select.select([serve.stdout], [], [], max(0.0, timeout - (time.monotonic() - start)))
        if not ready:
            return None, time.monotonic() - start
        pending += os.read(serve.stdout.fileno(), 65536)
    line, pending = pending.split(b"\n", 1)
    return json.loads(line), time.monotonic() - start


def outcome(reply):
    if reply is None:
        return "no reply"
    return (reply.get("result") or reply.get("error", {}).get("data") or {}).get("code") or "created"


def check(what, reply, took, expected, within):
    ok = reply is not None and outcome(reply) == expected and took <= within
    print(f"{'ok  ' if ok else 'FAIL'} {what}: {outcome(reply)} in {took:.2f} s (expected {expected} within {within} s)")
    if not ok:
        failures.append(what)


call("subscriptions.setPlan", {"organizationId": "org_p", "plan": "pro", "eventId": "e1",
                               "occurredAt": "2026-12-01T00:00:00Z"})
new_key = {"organizationId": "org_p", "name": "k", "kind": "owner_integration", "capabilities": ["booking.read"]}
secret = call("keys.create", new_key)[0]["result"]["secret"]
verify = {"key": secret, "capability": "booking.read"}
check("verification before", *call("keys.verify", verify), "valid", 1)
subprocess.run(["iptables", "-I"] + rule, check=True)
try:
    time.sleep(1.5)  # past the poll interval: the next verification asks the server
    check("first verification while silent", *call("keys.verify", verify), "valid", 12)
    for attempt in range(5):
        check(f"verification while silent ({attempt + 1})", *call("keys.verify", verify), "valid", 0.5)
    check("write while silent", *call("keys.create", new_key), "storage_failure", 0.5)
finally:
    subprocess.run(["iptables", "-D"] + rule, check=True)
reply, took = None, 0.0
for _ in range(40):  # bounded: 40 tries, a quarter of a second apart
    reply, took = call("keys.create", new_key)
    if outcome(reply) == "created":
        break
    time.sleep(0.25)
check("write once the server answers again", reply, took, "created", 1)
serve.stdin.close()
serve.wait(30)
sys.exit(1 if failures else 0)
