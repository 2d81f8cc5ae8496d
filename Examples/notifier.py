"""A product's notifier: reads Keygate's outbox (`events.list`) for the
events it acts on and hands each to `deliver`, at least once.

    python3 Examples/notifier.py CURSOR_FILE [--once] [keygate serve command…]

It keeps the cursor of the last page it handled in CURSOR_FILE, written
only after every event on the page was delivered, so a crash between the
two delivers those events again on the next run, never skips one: the
receiving end deduplicates by event id. Stopped for longer than the
outbox keeps events, it is told (`cursor_expired`) and starts over from
the oldest kept. With --once it reads until the outbox has nothing more
and stops; otherwise it polls every few seconds.
"""
import json
import os
import subprocess
import sys
import time

# The types this notifier sends mail for; the others never cross the pipe.
TYPES = ["key.revoked", "key.leak_reported", "key.expiring", "keys.suspended", "quota.threshold"]
POLL_SECONDS = 5

arguments = sys.argv[1:]
cursor_file = arguments.pop(0)
once = "--once" in arguments
command = [argument for argument in arguments if argument != "--once"] or ["swift", "run", "keygate", "serve"]
keygate = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def call(method, **params):
    call.id += 1
    keygate.stdin.write(json.dumps({"jsonrpc": "2.0", "id": call.id, "method": method, "params": params}) + "\n")
    keygate.stdin.flush()
    reply = json.loads(keygate.stdout.readline())
    if "error" in reply:
        raise RuntimeError(reply["error"]["data"]["code"], reply["error"]["message"])
    return reply["result"]
call.id = 0


def deliver(event):
    """Stands in for an email or a webhook to the organization's owner.
    `message` is written for a person; `data` is for a program."""
    print(json.dumps({"id": event["id"], "to": event["organizationId"], "type": event["type"],
                      "subject": event["message"]}, ensure_ascii=False), flush=True)


def saved_cursor():
    try:
        with open(cursor_file) as file:
            return file.read().strip() or None
    except FileNotFoundError:
        return None


def save_cursor(cursor):
    # Written whole or not at all: a crash leaves the old cursor.
    with open(cursor_file + ".new", "w") as file:
        file.write(cursor)
        file.flush()
        os.fsync(file.fileno())
    os.replace(cursor_file + ".new", cursor_file)


cursor = saved_cursor()
while True:
    params = {"types": TYPES, "limit": 100}
    if cursor:
        params["cursor"] = cursor
    try:
        page = call("events.list", **params)
    except RuntimeError as error:
        if error.args[0] != "cursor_expired":
            raise
        # Down longer than the outbox keeps events: some were deleted before
        # they were delivered. Start over from the oldest kept (the receiver
        # drops those it has by id) and have someone check what was lost.
        print(f"notifier: {error.args[1]}", file=sys.stderr)
        cursor = None
        save_cursor("")
        continue
    for event in page["events"]:
        deliver(event)
    # A page may hold none of these types and still move the cursor past
    # the events of others it read: keep it either way.
    if page["nextCursor"] and page["nextCursor"] != cursor:
        cursor = page["nextCursor"]
        save_cursor(cursor)
    if page["hasMore"]:
        continue
    if once:
        break
    time.sleep(POLL_SECONDS)

keygate.stdin.close()
keygate.wait()
