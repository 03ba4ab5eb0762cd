"""The one reader of operator material given either as content (PEM text) or as a path to a file."""
from __future__ import annotations

import os

from ansible.module_utils.mtls import certcore
from ansible.module_utils.mtls.errors import MtlsError


def read_material(value, what: str, secret: bool = False):
    """Bytes of an input given either as content (PEM text) or as a path to a file (PEM or DER). None stays None.

    The value is echoed in an error only when it looks like a path (short, one line) and the option is not a secret:
    Ansible masks a no_log option's value wherever it appears, so for a secret the error says what the value looked
    like instead of showing "********"."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    text = str(value)
    if "-----BEGIN" in text:
        return text.encode("utf-8")
    path = os.path.expanduser(text.strip())
    looks_like_path = bool(path) and "\n" not in path and len(path) < 4096
    if looks_like_path and os.path.isfile(path):
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except OSError as exc:
            if secret:
                raise MtlsError("%s: the file at the path given cannot be read: %s" % (what, exc.strerror)) from None
            raise MtlsError("%s: cannot read %s: %s" % (what, path, exc.strerror)) from None
    if secret:
        if looks_like_path and len(text) < 256:
            raise MtlsError("%s: the value looks like a path, but no readable file is there (nor is it PEM content); "
                            "give the path of the key file on the host that runs the module, or the PEM itself"
                            % what)
        raise MtlsError("%s is neither PEM content nor a readable file" % what)
    if len(text) < 256 and "\n" not in text:
        raise MtlsError("%s: %s is neither PEM content nor a readable file" % (what, text))
    raise MtlsError("%s is neither PEM content nor a readable file" % what)


def load_ca_bundle(items):
    """CA certificates from a list of PEM texts or file paths."""
    certs = []
    for item in items or []:
        if not item:
            continue
        if "-----BEGIN" in item:
            data, source = item.encode("ascii", "replace"), "ca_bundle (inline PEM)"
        else:
            path = os.path.expanduser(item)
            if not os.path.isfile(path):
                raise MtlsError("ca_bundle file %s does not exist" % item)
            with open(path, "rb") as fh:
                data, source = fh.read(), "ca_bundle file %s" % item
        certs.extend(certcore.load_certificates(data, source))
    return certs
