"""Make `ansible.module_utils.<ours>` importable on the controller, as AnsiballZ does on a managed host; and `lazy` /
`lazy_module`, through which a filter imports its module_utils only when a template calls it.

Ansible loads every filter file of this folder in each worker process it forks for a task, whenever that task's
templates look up any filter at all; the project's filters import their logic on first use, so a task that calls
none of them does not pay for importing the certificate core, the remediation planner and what they import."""
import importlib
import os

import ansible.module_utils

MODULE_UTILS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils")


def ensure() -> None:
    if MODULE_UTILS not in ansible.module_utils.__path__:
        ansible.module_utils.__path__.append(MODULE_UTILS)


ensure()


def lazy(module: str, name: str):
    """The function `name` of `ansible.module_utils.<module>`, imported when it is first called."""
    def call(*args, **kwargs):
        return getattr(importlib.import_module("ansible.module_utils." + module), name)(*args, **kwargs)
    call.__name__ = call.__qualname__ = name
    return call


class lazy_module:  # noqa: N801 - used as a module name
    """`ansible.module_utils.<module>`, imported at the first attribute read."""

    def __init__(self, module: str):
        self._name = "ansible.module_utils." + module

    def __getattr__(self, attr):
        return getattr(importlib.import_module(self._name), attr)


class FilterModule:
    """No filters here: Ansible loads every file in this folder, so this one declares an empty set."""

    def filters(self):
        return {}
