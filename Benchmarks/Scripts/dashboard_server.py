"""A `keygate serve` the dashboard scripts drive one call at a time, and the
organization of 25 keys they measure on."""
import json
import subprocess
import sys
import threading
import time

from built_keygate import keygate as built


def start(organization):
    """The server the script's arguments name (DATABASE [path/to/keygate]
    [label]), the label its results go under (the binary's path unless
    given), and the ids of `organization`'s keys."""
    database = sys.argv[1]
    keygate = built(sys.argv[2] if len(sys.argv) > 2 else None)
    label = sys.argv[3] if len(sys.argv) > 3 else keygate
    server = Server(keygate, database)
    return server, label, server.organization_with_keys(organization)


class Server:
    def __init__(self, keygate, database):
        self.process = subprocess.Popen([keygate, "serve", "--database", database], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, bufsize=1 << 20)
        self.sent = 0

    def call(self, method, refused=None, **params):
        """The result; `None` for an error whose code is `refused`, any other raises."""
        self.sent += 1
        self.process.stdin.write(
            (json.dumps({"jsonrpc": "2.0", "id": self.sent, "method": method, "params": params}) + "\n").encode())
        self.process.stdin.flush()
        reply = json.loads(self.process.stdout.readline())
        if "error" in reply:
            if reply["error"]["data"]["code"] == refused:
                return None
            raise RuntimeError(method, reply["error"])
        return reply["result"]

    def pipelined(self, requests):
        """Sends every request ((method, params) pairs) at once and reads
        their replies, each of which must be a result; the seconds taken."""
        lines = b"".join((json.dumps({"jsonrpc": "2.0", "id": number, "method": method, "params": params}) + "\n").encode()
                         for number, (method, params) in enumerate(requests))
        start = time.perf_counter()
        # Written from another thread: the replies must be read while the requests go in.
        writer = threading.Thread(target=lambda: (self.process.stdin.write(lines), self.process.stdin.flush()))
        writer.start()
        for _ in range(len(requests)):
            reply = self.process.stdout.readline()
            if b'"result"' not in reply:
                raise RuntimeError(reply)
        writer.join()
        return time.perf_counter() - start

    def organization_with_keys(self, organization):
        """The ids of the organization's keys: on first use it gets the Pro plan
        and 25 keys, three of them rotated with 20 days of grace, so that their
        answers list earlier secrets; later runs reuse them."""
        self.call("subscriptions.setPlan", organizationId=organization, plan="pro", eventId=f"evt_{organization}",
                  occurredAt="2026-11-01T00:00:00Z")
        keys = self.call("keys.list", organizationId=organization, limit=200)["keys"]
        if not keys:
            for number in range(25):
                self.call("keys.create", organizationId=organization, name=f"Integration {number}",
                          kind="owner_integration", capabilities=["booking.read"])
            keys = self.call("keys.list", organizationId=organization, limit=200)["keys"]
            for key in keys[:3]:
                self.call("keys.rotate", organizationId=organization, keyId=key["id"], gracePeriodSeconds=20 * 86_400)
        return [key["id"] for key in keys]

    def stop(self):
        self.process.stdin.close()
        self.process.wait()
