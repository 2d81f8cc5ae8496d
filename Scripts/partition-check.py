#!/usr/bin/env python3
"""A PostgreSQL server gone silent under a serving keygate: what it answers.

Usage (as root, with iptables installed; it adds one rule and removes it):
    Scripts/with-postgres.sh python3 Scripts/partition-check.py [KEYGATE]
Or, with --stop (as root, or as the server's user), the server's processes
are stopped (SIGSTOP) rather than its packets dropped, and continued after:
    Scripts/with-postgres.sh python3 Scripts/partition-check.py --stop [KEYGATE]

Starts `keygate serve` (KEYGATE, default .build/debug/keygate) on the
server KEYGATE_TEST_POSTGRES names, creates a key and verifies it, then
drops every packet to the server's port (a network partition, a host gone
in a failover: nothing answers and nothing is refused). While it is
silent: the key in memory must keep being verified, the first request
after waiting at most the connection's timeouts (5 s for unanswered data,
5 s to connect anew), each after it at once; a write must fail with
storage_failure at once. Then the rule goes and writes must succeed again.

A stopped server is what no TCP timeout notices: its kernel still
acknowledges what is sent. There the first verification waits for the
answer timeout (2 s), then 1 s for the cancel request's answer; a key not
in memory is refused at once after that, as is a write.
Prints each answer with how long it took; exits 1 if one is wrong.
Not part of `swift test`: it changes the host's firewall, or stops the server.
"""
import json
import os
import re
import select
import signal
import subprocess
import sys
import time

url = os.environ["KEYGATE_TEST_POSTGRES"]
port = re.search(r":(\d+)/", url).group(1)
arguments = [argument for argument in sys.argv[1:] if argument != "--stop"]
stopping = "--stop" in sys.argv[1:]
keygate = arguments[0] if arguments else ".build/debug/keygate"
rule = ["INPUT", "-p", "tcp", "--dport", port, "-j", "DROP"]


def server_processes():
    """The postmaster (its data directory's postmaster.pid says which) and every process it started."""
    folder = subprocess.run(["psql", url, "-Atc", "SHOW data_directory"], check=True, capture_output=True,
                            text=True).stdout.strip()
    with open(os.path.join(folder, "postmaster.pid")) as lock:
        postmaster = lock.readline().strip()
    children = subprocess.run(["pgrep", "-P", postmaster], capture_output=True, text=True).stdout.split()
    return [int(postmaster)] + [int(child) for child in children]


def go_silent():
    if stopping:
        processes = server_processes()
        for pid in processes:
            os.kill(pid, signal.SIGSTOP)
        return lambda: [os.kill(pid, signal.SIGCONT) for pid in processes]
    subprocess.run(["iptables", "-I"] + rule, check=True)
    return lambda: subprocess.run(["iptables", "-D"] + rule, check=True)
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
unverified = {"key": call("keys.create", new_key)[0]["result"]["secret"], "capability": "booking.read"}
check("verification before", *call("keys.verify", verify), "valid", 1)
# Ended from outside (timeout, ^C), the server is continued, or the rule removed, all the same.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
speak = go_silent()
try:
    time.sleep(1.5)  # past the poll interval: the next verification asks the server
    check("first verification while silent", *call("keys.verify", verify), "valid", 4 if stopping else 12)
    for attempt in range(5):
        check(f"verification while silent ({attempt + 1})", *call("keys.verify", verify), "valid", 0.5)
    check("key not in memory while silent", *call("keys.verify", unverified), "storage_failure", 0.5)
    check("write while silent", *call("keys.create", new_key), "storage_failure", 0.5)
finally:
    speak()
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
