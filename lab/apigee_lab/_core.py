"""Make the project's certificate core importable from the lab as ``ansible.module_utils.mtls.certcore``.

The certificate core lives in ``plugins/module_utils/mtls/`` and is imported the way AnsiballZ ships it to a host;
``plugins/filter/_path.py`` (loaded here by file) is the one place that makes that import path resolve.
"""
from __future__ import annotations

import importlib.util
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("_mtls_filter_path", os.path.join(REPO, "plugins", "filter", "_path.py"))
_spec.loader.exec_module(importlib.util.module_from_spec(_spec))


def certcore():
    """The certificate core module (imported lazily so the lab starts even while it is being edited)."""
    from ansible.module_utils.mtls import certcore as _certcore

    return _certcore


def mtls_error_type():
    """The project's one error type (MtlsError)."""
    from ansible.module_utils.mtls.errors import MtlsError

    return MtlsError
