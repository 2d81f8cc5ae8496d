#!/usr/bin/env python3
"""Holds a recorded keygate serve session against its own rpc.discover document.

Usage: check-contract.py DOCUMENT.json SESSION.jsonl

DOCUMENT.json is the result of rpc.discover. Each line of SESSION.jsonl is
{"request": <the request sent, or null when it was not JSON>, "reply": <the reply>}.
Checks, with a real JSON Schema validator (Draft 2020-12):
- every result validates against its method's result schema;
- every request answered with a result validates against its params;
- every error's data validates against components.schemas.ErrorData, and a
  method's error is one the method lists (code and data.code);
- no message shows an unfilled placeholder.
Prints each violation; exits 1 if there was any, 0 otherwise.
"""
import json
import re
import sys

try:
    from jsonschema import Draft202012Validator
except ImportError:
    sys.exit("check-contract.py needs the jsonschema package (Debian: python3-jsonschema; PyPI: jsonschema)")

PROTOCOL = {("parse_error", -32700), ("invalid_request", -32600), ("request_too_large", -32600),
            ("method_not_found", -32601)}
PLACEHOLDER = re.compile(r"\{[A-Za-z]+\}|%#@|%arg")


def main(document_path, session_path):
    document = json.load(open(document_path))
    Draft202012Validator.check_schema({"type": "object"})
    methods = {m["name"]: m for m in document["methods"]}
    error_data = document["components"]["schemas"]["ErrorData"]
    problems = []
    checked = 0

    def validate(schema, value, where):
        Draft202012Validator.check_schema(schema)
        # Formats asserted too (date, date-time), where this jsonschema can check them.
        checker = Draft202012Validator.FORMAT_CHECKER
        for error in Draft202012Validator(schema, format_checker=checker).iter_errors(value):
            path = "/".join(str(p) for p in error.absolute_path)
            problems.append(f"{where}: at /{path}: {error.message}")

    for number, line in enumerate(open(session_path), 1):
        entry = json.loads(line)
        request, reply = entry["request"], entry["reply"]
        method_name = request.get("method") if isinstance(request, dict) else None
        method = methods.get(method_name)
        where = f"line {number} ({method_name or 'no method'})"
        checked += 1
        if "result" in reply:
            if method is None:
                problems.append(f"{where}: a result for an unknown method")
                continue
            validate(method["result"]["schema"], reply["result"], where + " result")
            params = {d["name"]: d["schema"] for d in method["params"]}
            required = [d["name"] for d in method["params"] if d.get("required")]
            validate({"type": "object", "properties": params, "required": required, "additionalProperties": False},
                     request.get("params", {}), where + " params")
            messages = [reply["result"].get("message")] if isinstance(reply["result"], dict) else []
        else:
            error = reply["error"]
            validate(error_data, error.get("data"), where + " error.data")
            code = (error.get("data", {}).get("code"), error.get("code"))
            listed = {(e["data"]["code"], e["code"]) for e in method["errors"]} if method else set()
            if code not in listed and code not in PROTOCOL:
                problems.append(f"{where}: error {code} is not listed for the method")
            messages = [error.get("message"), error.get("data", {}).get("message")]
        for message in messages:
            if isinstance(message, str) and PLACEHOLDER.search(message):
                problems.append(f"{where}: unfilled placeholder in {message!r}")

    for problem in problems:
        print(problem)
    print(f"{checked} replies checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
