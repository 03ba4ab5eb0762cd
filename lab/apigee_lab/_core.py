"""Make the project's certificate core importable from the lab as ``ansible.module_utils.certcore``.

The certificate core lives in ``plugins/module_utils/`` and is imported the way AnsiballZ ships it to a host; the lab
appends that folder to ``ansible.module_utils.__path__`` (the same trick as ``tests/conftest.py``).
"""
from __future__ import annotations

import os

import ansible.module_utils

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_UTILS = os.path.join(REPO, "plugins", "module_utils")

if MODULE_UTILS not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(MODULE_UTILS)


def certcore():
    """The certificate core module (imported lazily so the lab starts even while it is being edited)."""
    from ansible.module_utils import certcore as _certcore

    return _certcore


def mtls_error_type():
    """The project's one error type (MtlsError)."""
    from ansible.module_utils.mtls_errors import MtlsError

    return MtlsError
