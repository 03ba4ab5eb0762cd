"""The project's own copy of the facts the contract tests check, from Apigee Edge's published OpenAPI specs.

A user's clone has no ``../shared/reference``; the contract tests still run, against ``edge-contract.json``: the four
Edge management API specs (``keystores-and-trustores``, ``references``, ``proxies``, ``deployments``, as published by
Apigee) with their prose removed (descriptions and summaries emptied; examples and tags dropped) and nothing else
changed: paths, methods, parameters, request bodies, status codes, schemas and field names stay as published.
When the full specs are present (``APIGEE_OPENAPI_DIR``, or ``../shared/reference/apigee-edge-openapi`` beside the
project), ``test_contract_file_matches_the_published_specs`` checks this file is exactly what :func:`facts` extracts.

Regenerate: ``.venv/bin/python tests/contract/edge_contract.py /path/to/apigee-edge-openapi``.
"""
from __future__ import annotations

import json
import os
import sys

import yaml

SPECS = ("keystores-and-trustores", "references", "proxies", "deployments")
PROSE = frozenset({"example", "examples", "tags", "externalDocs"})  # dropped
TEXT = frozenset({"description", "summary"})  # kept as "" (OpenAPI requires a response description)
HERE = os.path.dirname(os.path.abspath(__file__))
CONTRACT_FILE = os.path.join(HERE, "edge-contract.json")


def full_spec_dir():
    """Where the published specs are, or None."""
    candidates = [os.environ.get("APIGEE_OPENAPI_DIR"),
                  os.path.join(HERE, "..", "..", "..", "shared", "reference", "apigee-edge-openapi")]
    for path in candidates:
        if path and all(os.path.isfile(os.path.join(path, n + ".yaml")) for n in SPECS):
            return os.path.abspath(path)
    return None


def _strip(node):
    if isinstance(node, dict):
        return {k: ("" if k in TEXT and isinstance(v, str) else _strip(v)) for k, v in node.items() if k not in PROSE}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def facts(spec_dir) -> dict:
    """{spec name: the spec without its prose} from the published YAML files."""
    out = {}
    for name in SPECS:
        with open(os.path.join(spec_dir, name + ".yaml"), encoding="utf-8") as fh:
            out[name] = _strip(yaml.safe_load(fh))
    return out


def load() -> dict:
    """The specs the contract tests use: the project's contract file."""
    with open(CONTRACT_FILE, encoding="utf-8") as fh:
        return json.load(fh)["specs"]


def main(argv) -> int:
    spec_dir = argv[1] if len(argv) > 1 else full_spec_dir()
    if not spec_dir:
        print("usage: edge_contract.py DIR_OF_THE_PUBLISHED_EDGE_SPECS", file=sys.stderr)
        return 2
    doc = {"source": "Apigee Edge management API OpenAPI specs (%s.yaml), prose removed" % ", ".join(SPECS),
           "specs": facts(spec_dir)}
    with open(CONTRACT_FILE, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1, sort_keys=True)
        fh.write("\n")
    print("wrote %s" % CONTRACT_FILE)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
