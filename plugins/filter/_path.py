"""Make `ansible.module_utils.<ours>` importable on the controller, as AnsiballZ does on a managed host."""
import os

import ansible.module_utils

MODULE_UTILS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils")


def ensure() -> None:
    if MODULE_UTILS not in ansible.module_utils.__path__:
        ansible.module_utils.__path__.append(MODULE_UTILS)


ensure()


class FilterModule:
    """No filters here: Ansible loads every file in this folder, so this one declares an empty set."""

    def filters(self):
        return {}
