#!/usr/bin/env python3
"""Mutation checks: does a test fail when a line that matters is wrong?

Each mutation in the list (Scripts/mutations.txt unless another file is
named) changes one piece of source text that must occur exactly once
(or, given `after`, the first occurrence past a text that occurs once:
the same SQL in an old migration and in the one a new database ends
with, say). The
script applies one mutation at a time, builds the package and its tests,
runs the tests the mutation names, and puts the source back before the
next one, whatever happens (an interrupt included). A mutation that no
test notices "survives": either a test is missing or the line does not
matter, and a reader has to say which.

    Scripts/with-postgres.sh Scripts/mutate.py            # every mutation
    Scripts/with-postgres.sh Scripts/mutate.py -k stale -k quota   # ids containing either
    Scripts/mutate.py --check     # only: does each still name its text? (swift test runs it)

Run it under Scripts/with-postgres.sh, so that the PostgreSQL store's
tests run too. It builds in .build-mutate, apart from the everyday build.
Exit status: 0 when every mutation was killed, 1 when one survived or did
not build (a mutation must compile to say anything), 2 on a bad list.

The list: blocks separated by blank lines, `#` comments, each block

    id: stale-events-are-applied
    file: Sources/KeyStore/Storage/SQLiteKeyStorage+Subscriptions.swift
    from: $0.lastEventAt) > checked.occurredAt
    to: $0.lastEventAt) >= checked.occurredAt
    tests: BillingEventTests
    why: an event as old as the last one applied is still applied

and, optionally, `after: <text that occurs once, before the change>` and
`leaves: <a glob of files outside the checkout>`: what the mutated build's
tests create there as the defect would (run as root, a device taken for a
database gets `/dev/null-usage` beside it), removed after the mutation
unless they were there before, or the next unmutated run fails on them. A
line that starts with `+` continues the field above it on a new line
(what follows the `+`, spaces included), for a change across lines.
"""
import argparse
import glob
import os
import pathlib
import signal
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRATCH = ".build-mutate"
FIELDS = ("id", "file", "from", "to", "tests", "why")
OPTIONAL = ("after", "leaves")


def read_list(path):
    mutations, block = [], {}
    lines = path.read_text().splitlines() + [""]
    for number, line in enumerate(lines, 1):
        if line.startswith("#"):
            continue
        if line.startswith("+") and block:
            last = list(block)[-1]
            block[last] += "\n" + line[1:]
            continue
        if not line.strip():
            if block:
                missing = [field for field in FIELDS if field not in block]
                if missing:
                    sys.exit(f"{path}:{number}: mutation {block.get('id', '?')} lacks {', '.join(missing)}")
                mutations.append(block)
                block = {}
            continue
        field, separator, value = line.partition(": ")
        if not separator or field not in FIELDS + OPTIONAL:
            sys.exit(f"{path}:{number}: expected one of {', '.join(FIELDS + OPTIONAL)} followed by ': '")
        block[field] = value
    ids = [mutation["id"] for mutation in mutations]
    if len(ids) != len(set(ids)):
        sys.exit(f"{path}: mutation ids must be unique")
    return mutations


def locate(source, mutation):
    """Where the mutation's `from` starts in `source`, or why it cannot be placed."""
    start = 0
    if "after" in mutation:
        if source.count(mutation["after"]) != 1:
            return None, f"`after` occurs {source.count(mutation['after'])} times in {mutation['file']}, not once"
        start = source.index(mutation["after"]) + len(mutation["after"])
        found = source.find(mutation["from"], start)
        if found < 0:
            return None, f"`from` does not occur after `after` in {mutation['file']}"
        return found, None
    count = source.count(mutation["from"])
    if count != 1:
        return None, f"`from` occurs {count} times in {mutation['file']}, not once"
    return source.index(mutation["from"]), None


def mutated(source, mutation):
    place, _ = locate(source, mutation)
    return source[:place] + mutation["to"] + source[place + len(mutation["from"]):]


def check_applies(mutation):
    _, problem = locate((ROOT / mutation["file"]).read_text(), mutation)
    if problem:
        return problem
    if mutation["from"] == mutation["to"]:
        return "`from` and `to` are the same"
    return None


def run(command, log):
    log.write(f"$ {' '.join(command)}\n")
    log.flush()
    return subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT).returncode


def try_mutation(mutation, log):
    path = ROOT / mutation["file"]
    original = path.read_text()
    pattern = mutation.get("leaves")
    present = set(glob.glob(pattern)) if pattern else set()
    path.write_text(mutated(original, mutation))
    try:
        if run(["swift", "build", "--build-tests", "--scratch-path", SCRATCH], log) != 0:
            return "did not build"
        status = run(["swift", "test", "--skip-build", "--scratch-path", SCRATCH,
                      "--filter", mutation["tests"]], log)
        return "killed" if status != 0 else "SURVIVED"
    finally:
        path.write_text(original)
        for left in set(glob.glob(pattern)) - present if pattern else ():
            log.write(f"removing {left}, which the mutation's tests left\n")
            os.remove(left)


def stop(signum, frame):
    # A TERM (from Scripts/with-postgres.sh's own stop, say) unwinds like an
    # interrupt, so the mutated file is put back.
    raise KeyboardInterrupt


def main():
    signal.signal(signal.SIGTERM, stop)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("list", nargs="?", default=str(ROOT / "Scripts" / "mutations.txt"))
    parser.add_argument("-k", dest="matches", action="append", default=[],
                        help="only the mutations whose id contains this (may be given several times)")
    parser.add_argument("--check", action="store_true",
                        help="only check that each mutation still names its text once in its file, then exit")
    arguments = parser.parse_args()

    mutations = [m for m in read_list(pathlib.Path(arguments.list))
                 if not arguments.matches or any(match in m["id"] for match in arguments.matches)]
    problems = [(m["id"], problem) for m in mutations if (problem := check_applies(m))]
    for identifier, problem in problems:
        print(f"mutate: {identifier}: {problem}", file=sys.stderr)
    if problems:
        return 2
    if arguments.check:
        print(f"mutate: all {len(mutations)} mutations apply")
        return 0
    if not os.environ.get("KEYGATE_TEST_POSTGRES"):
        print("mutate: KEYGATE_TEST_POSTGRES is not set: the PostgreSQL tests will be skipped", file=sys.stderr)

    log_path = ROOT / SCRATCH / "mutate.log"
    log_path.parent.mkdir(exist_ok=True)
    # The unmutated package must build and pass the named tests, or a
    # failure says nothing about a mutation.
    with log_path.open("w") as log:
        if run(["swift", "build", "--build-tests", "--scratch-path", SCRATCH], log) != 0:
            print(f"mutate: the package does not build as it is; see {log_path}", file=sys.stderr)
            return 2
        filters = "|".join(sorted({f"(?:{m['tests']})" for m in mutations}))
        if run(["swift", "test", "--skip-build", "--scratch-path", SCRATCH, "--filter", filters], log) != 0:
            print(f"mutate: the named tests fail without a mutation; see {log_path}", file=sys.stderr)
            return 2

        results = []
        for mutation in mutations:
            started = time.monotonic()
            log.write(f"\n=== {mutation['id']}\n")
            outcome = try_mutation(mutation, log)
            results.append((mutation, outcome))
            print(f"{outcome:>13}  {mutation['id']}  ({time.monotonic() - started:.0f} s)", flush=True)

    survivors = [(m, outcome) for m, outcome in results if outcome != "killed"]
    print(f"\n{len(results) - len(survivors)} of {len(results)} mutations killed; log: {log_path}")
    for mutation, outcome in survivors:
        print(f"  {outcome}: {mutation['id']}: {mutation['why']}")
    return 1 if survivors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("mutate: interrupted; the source is as it was", file=sys.stderr)
        sys.exit(130)
