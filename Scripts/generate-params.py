#!/usr/bin/env python3
"""Writes JSON-RPC requests whose params are generated from rpc.discover's own schemas.

Usage: generate-params.py DOCUMENT.json COUNT

DOCUMENT.json is the result of rpc.discover. For each method (rpc.discover
aside), COUNT params objects that its published params schema accepts, drawn
by hypothesis-jsonschema: every member's type, null where the schema allows
it, strings of any script, integers of any size, members left out where they
are optional. Half of the organization ids are one real id, so that requests
get past its check to the rest. Prints one request a line, ids from 1.

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

ORGANIZATION = "org_generated"


def schema_of(method):
    properties = {}
    for param in method["params"]:
        schema = param["schema"]
        if param["name"] == "organizationId":
            schema = {"anyOf": [{"const": ORGANIZATION}, schema]}
        properties[param["name"]] = schema
    required = [p["name"] for p in method["params"] if p.get("required")]
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def main(document_path, count):
    warnings.filterwarnings("ignore")
    document = json.load(open(document_path))
    number = 0
    for method in document["methods"]:
        if method["name"] == "rpc.discover":
            continue
        drawn = []

        @settings(max_examples=count, database=None, derandomize=True, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(from_schema(schema_of(method)))
        def draw(params):
            drawn.append(params)

        draw()
        for params in drawn[:count]:
            number += 1
            print(json.dumps({"jsonrpc": "2.0", "id": number, "method": method["name"], "params": params}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
