"""A recording stand-in for the Apigee client in unit tests: answers GETs from dicts, 404 for anything else."""
from __future__ import annotations

import io
import zipfile

from ansible.module_utils.mtls.errors import ApigeeApiError


class FakeClient:
    org = "acme"
    mgmt_url = "http://edge"

    def __init__(self, data, raw):
        self.data, self.raw, self.seen = data, raw, []

    def get(self, path, params=None, cache=True):
        self.seen.append(path)
        if path not in self.data:
            raise ApigeeApiError("not found: %s" % path, status=404)
        return self.data[path]

    def get_raw(self, path, params=None, headers=None, cache=False):
        self.seen.append(path)
        if path not in self.raw:
            raise ApigeeApiError("not found: %s" % path, status=404)
        return self.raw[path]


def bundle(targets, policies=None):
    """A revision bundle (zip bytes) with apiproxy/targets/<name>.xml for each item of targets."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("apiproxy/proxy.xml", "<APIProxy name='x'/>")
        for name, xml in targets.items():
            zf.writestr("apiproxy/targets/%s.xml" % name, xml)
        for name, xml in (policies or {}).items():
            zf.writestr("apiproxy/policies/%s.xml" % name, xml)
    return buf.getvalue()
