"""The project's copy of Apigee X / hybrid facts from the published spec (apigee-x.yaml): the property names of each
resource the tool reads and the lab answers in its X mode (``x-contract.json``). A user's clone has no
``../shared/reference``; the tests use this file, and check it against the spec where the spec is present
(``APIGEE_X_OPENAPI`` or ``../shared/reference/apigee-x-openapi/apigee-x.yaml``).

Regenerate: ``.venv/bin/python -m tests.contract.x_contract [path/to/apigee-x.yaml]``.
"""
from __future__ import annotations

import json
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
CONTRACT_FILE = os.path.join(HERE, "x-contract.json")
SOURCE = ("apigee-x-openapi/apigee-x.yaml (components.schemas: the property names of the resources the tool reads "
          "and the lab answers in X mode)")


SCHEMAS = sorted("GoogleCloudApigeeV1" + n for n in (
    "Keystore", "Alias", "Certificate", "TargetServer", "TlsInfo", "ListDeploymentsResponse", "Deployment",
    "DebugSession", "ListDebugSessionsResponse", "Session", "DebugSessionTransaction", "Point", "Result", "Reference",
    "ListApiProxiesResponse", "ApiProxy"))


def spec_path():
    for path in (os.environ.get("APIGEE_X_OPENAPI"),
                 os.path.join(HERE, "..", "..", "..", "shared", "reference", "apigee-x-openapi", "apigee-x.yaml")):
        if path and os.path.isfile(path):
            return os.path.abspath(path)
    return None


def load() -> dict:
    """schema name -> its property names."""
    with open(CONTRACT_FILE, encoding="utf-8") as fh:
        return json.load(fh)["schemas"]


def facts(path, names) -> dict:
    with open(path, encoding="utf-8") as fh:
        schemas = yaml.safe_load(fh)["components"]["schemas"]
    return {n: sorted((schemas[n].get("properties") or {}).keys()) for n in names}


def main(argv) -> int:
    path = argv[1] if len(argv) > 1 else spec_path()
    if not path:
        print("apigee-x.yaml not found: give its path", file=sys.stderr)
        return 2
    names = sorted(load()) if os.path.exists(CONTRACT_FILE) and os.path.getsize(CONTRACT_FILE) else SCHEMAS
    data = {"source": SOURCE, "schemas": facts(path, names)}
    with open(CONTRACT_FILE, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
