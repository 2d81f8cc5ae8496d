"""Drive `keygate serve` from Python: one JSON-RPC request per line."""
import json
import subprocess
import sys

keygate = subprocess.Popen(sys.argv[1:] or ["swift", "run", "keygate", "serve"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

def call(method, **params):
    call.id += 1
    keygate.stdin.write(json.dumps({"jsonrpc": "2.0", "id": call.id, "method": method, "params": params}) + "\n")
    keygate.stdin.flush()
    reply = json.loads(keygate.stdout.readline())
    if "error" in reply:
        raise RuntimeError(reply["error"]["data"]["code"], reply["error"]["message"])
    return reply["result"]
call.id = 0

call("subscriptions.setPlan", organizationId="org_py", plan="pro", eventId="evt_py_1",
     occurredAt="2026-11-01T00:00:00Z")
created = call("keys.create", organizationId="org_py", name="Python", kind="owner_integration",
               capabilities=["booking.read"])
print(call("keys.verify", key=created["secret"], capability="booking.read")["code"])
keygate.stdin.close()
keygate.wait()
