#!/usr/bin/env python3
"""Holds the JSON-RPC examples of the docs against rpc.discover's document.

Usage: check-doc-examples.py DOCUMENT.json FILE.md [FILE.md ...]

Reads every ```json block (objects, one after another, over any number of
lines) and every line of a ```text block that is a whole JSON object (a
transcript's requests; replies shortened with "…" are not JSON and are
passed over). A request must name a published method and its params must
validate against that method's params; a reply's result, against the
result schema of the request before it; an error's data, against ErrorData.
Prints each violation and how many examples it read; exits 1 if there was
any violation or no example at all.
"""
import json
import re
import sys

try:
    from jsonschema import Draft202012Validator
except ImportError:
    sys.exit("check-doc-examples.py needs the jsonschema package (Debian: python3-jsonschema; PyPI: jsonschema)")


def objects(path):
    text = open(path, encoding="utf-8").read()
    decoder = json.JSONDecoder()
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        index, block = 0, block.strip()
        while index < len(block):
            while index < len(block) and block[index] in " \n":
                index += 1
            if index >= len(block):
                break
            value, index = decoder.raw_decode(block, index)
            yield value
    for block in re.findall(r"```text\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith("{"):
                try:
                    yield json.loads(line)
                except ValueError:
                    continue


def main(document_path, paths):
    document = json.load(open(document_path))
    methods = {m["name"]: m for m in document["methods"]}
    error_data = document["components"]["schemas"]["ErrorData"]
    checker = Draft202012Validator.FORMAT_CHECKER
    problems, read = [], 0

    def validate(schema, value, where):
        for error in Draft202012Validator(schema, format_checker=checker).iter_errors(value):
            path = "/".join(str(p) for p in error.absolute_path)
            problems.append(f"{where}: at /{path}: {error.message}")

    for path in paths:
        method = None
        for value in objects(path):
            if not isinstance(value, dict) or value.get("jsonrpc") != "2.0":
                continue
            read += 1
            where = f"{path}: {json.dumps(value)[:80]}"
            if "method" in value:
                method = methods.get(value["method"])
                if method is None:
                    problems.append(f"{where}: no published method {value['method']!r}")
                    continue
                params = {p["name"]: p["schema"] for p in method["params"]}
                required = [p["name"] for p in method["params"] if p.get("required")]
                validate({"type": "object", "properties": params, "required": required, "additionalProperties": False},
                         value.get("params", {}), where + " params")
            elif "result" in value and method is not None:
                validate(method["result"]["schema"], value["result"], where + " result")
            elif "error" in value:
                validate(error_data, value["error"].get("data"), where + " error.data")
    for problem in problems:
        print(problem)
    print(f"{read} examples read, {len(problems)} problems")
    return 1 if problems or read == 0 else 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
