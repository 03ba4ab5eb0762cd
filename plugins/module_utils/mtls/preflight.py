"""Preflight: what a run checks before any other task, each failing fast with the exact thing to fix.

- ``placeholders``: inventory values still holding the example inventory's placeholders (``CHANGE-ME``, ``myorg``,
  ``example.com`` / ``example.org`` / ``example.net`` / ``*.example.*`` / ``*.invalid`` hosts); a secret's value is
  never repeated, only its name.
- ``python_libraries``: the Python packages the modules need on the host they run on (the probe host), with the pip
  line that installs what is missing.
- ``check_access``: the credentials, the organization and the environments, with one API call (the org's environment
  list).
"""
from __future__ import annotations

import importlib
import re
import sys

from ansible.module_utils.mtls.apigee import resources as res
from ansible.module_utils.mtls.errors import MtlsError

SECRET_WORDS = ("password", "token", "passcode", "secret", "private_key")
PLACEHOLDER_WORDS = re.compile(r"change[-_ ]?me", re.I)
PLACEHOLDER_ORGS = ("myorg", "my-org", "your-org", "yourorg")
# example.com / .org / .net (RFC 2606), example.internal and any host under them, and *.invalid
PLACEHOLDER_HOST = re.compile(r"(?:^|[@./\s])(?:[a-z0-9-]+\.)*(?:example\.[a-z]+|[a-z0-9-]+\.invalid)(?=$|[:/\s])",
                              re.I)

# import name, pip requirement (the ranges of requirements.txt)
LIBRARIES = (("requests", "requests>=2.31,<3"), ("cryptography", "cryptography>=42,<51"),
             ("OpenSSL", "pyOpenSSL>=24,<27"))


def _is_secret(key: str) -> bool:
    return any(w in key.lower() for w in SECRET_WORDS)


def _strings(value, where):
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, "%s.%s" % (where, k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _strings(v, "%s[%d]" % (where, i))


def placeholders(values: dict, ignore=()) -> list[str]:
    """One message per inventory value that still holds a placeholder; secrets are named, never shown."""
    out = []
    for key in sorted(values or {}):
        if key in (ignore or ()):
            continue
        for where, text in _strings(values[key], key):
            shown = "" if _is_secret(where) else " (%r)" % text
            if PLACEHOLDER_WORDS.search(text):
                out.append("%s still holds the placeholder CHANGE-ME%s: set the real value (a vault variable for "
                           "a secret)" % (where, shown))
            elif key == "apigee_org" and text.strip().lower() in PLACEHOLDER_ORGS:
                out.append("apigee_org is still the example organization %r: set your Apigee organization" % text)
            elif PLACEHOLDER_HOST.search(text):
                out.append("%s still names an example host or address%s: set the real one" % (where, shown))
    return out


def python_libraries(libraries=LIBRARIES) -> dict:
    """{python, executable, versions: {import name: version}, missing: [pip requirement]} of this interpreter."""
    versions, missing = {}, []
    for name, requirement in libraries:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            missing.append(requirement)
            continue
        versions[name] = getattr(mod, "__version__", "?")
    return {"python": "%d.%d.%d" % sys.version_info[:3], "executable": sys.executable, "versions": versions,
            "missing": missing}


def check_access(client, envs) -> dict:
    """GET the organization's environments: the credentials work, the org exists and the user may read it, and
    every environment asked for is one of them. Raises MtlsError in plain words (the client's for 401/403/404)."""
    found = res.names(client.get(res.environments_path(), cache=False), res.environments_path())
    unknown = [e for e in envs or [] if e not in found]
    if unknown:
        raise MtlsError("environment(s) %s do not exist in organization %r at %s; it has: %s (check apigee_envs)"
                        % (", ".join(repr(e) for e in unknown), getattr(client, "org", "?"),
                           getattr(client, "mgmt_url", "?"), ", ".join(found) or "none"))
    return {"org": getattr(client, "org", None), "envs": list(envs or []), "org_envs": found}
