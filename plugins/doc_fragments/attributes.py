"""The ``attributes:`` every module documents (check mode, diff mode), written once.

``attributes`` is for a module that changes Apigee or a file; ``attributes.info_module`` for one that only reads. A
module that says more than these words gives its own ``description`` for that attribute, which wins (ansible-core
merges a fragment's attributes under the module's own, as community.crypto's ``attributes`` fragment is used).
"""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Reads Apigee, computes C(changed), writes nothing.
  diff_mode:
    support: full
    description: Shows the state before and after (parsed fields, never key material or passwords).
"""

    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Read-only; never changes anything.
  diff_mode:
    support: none
    description: Read-only.
"""
