#!/usr/bin/env python3
"""Writes JSON-RPC requests whose params are generated from rpc.discover's own schemas.

Usage: generate-params.py DOCUMENT.json COUNT [HINTS.json]

DOCUMENT.json is the result of rpc.discover. For each method (rpc.discover
aside), COUNT params objects that its published params schema accepts, drawn
by hypothesis-jsonschema: every member's type, null where the schema allows
it, strings of any script, integers of any size, members left out where they
are optional. HINTS.json maps a member's name to real values (an
organization's id, its keys' ids and secrets, the catalog's plans, kinds and
capabilities): a member so named, or the items of an array so named, is one
of them about half the time, so that requests get past the first check to
the rest. Prints one request a line, ids from 1.

Deterministic: the same document and COUNT give the same requests.
"""
import json
import sys
import warnings

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis_jsonschema import from_schema
except ImportError:
    sys.exit("generate-params.py needs hypothesis-jsonschema (PyPI: hypothesis-jsonschema)")

def hinted(name, schema, hints):
    """The schema, its values sometimes taken from the hints for `name`."""
    if "anyOf" in schema:
        return {**schema, "anyOf": [hinted(name, option, hints) for option in schema["anyOf"]]}
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if "object" in types and "properties" in schema:
        properties = {member: hinted(member, sub, hints) for member, sub in schema["properties"].items()}
        return {**schema, "properties": properties}
    if "array" in types and "items" in schema:
        return {**schema, "items": hinted(name, schema["items"], hints)}
    if "string" in types and hints.get(name):
        return {"anyOf": [{"enum": hints[name]}, schema]}
    return schema


def schema_of(method, hints):
    properties = {p["name"]: hinted(p["name"], p["schema"], hints) for p in method["params"]}
    required = [p["name"] for p in method["params"] if p.get("required")]
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def main(document_path, count, hints_path=None):
    warnings.filterwarnings("ignore")
    document = json.load(open(document_path))
    hints = json.load(open(hints_path)) if hints_path else {}
    number = 0
    for method in document["methods"]:
        if method["name"] == "rpc.discover":
            continue
        drawn = []

        @settings(max_examples=count, database=None, derandomize=True, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(from_schema(schema_of(method, hints)))
        def draw(params):
            drawn.append(params)

        draw()
        for params in drawn[:count]:
            number += 1
            print(json.dumps({"jsonrpc": "2.0", "id": number, "method": method["name"], "params": params}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:]))
