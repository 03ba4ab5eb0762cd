#!/usr/bin/python
"""Module mtls_preflight_host: the host is reachable and its Python has what the project's modules import."""

DOCUMENTATION = r"""
module: mtls_preflight_host
short_description: Check that a host runs the project's modules (its Python and the packages they import)
description:
  - Runs on the host it is delegated to (the probe host, an MP log host); that it runs at all proves Ansible reaches
    the host. It imports requests, cryptography and pyOpenSSL with the interpreter Ansible uses there and fails,
    naming the host's interpreter and the exact C(pip install) line, when one is missing.
options:
  libraries:
    description: Import names and the pip requirement that provides each.
    type: list
    elements: dict
    default:
      - {name: requests, requirement: "requests>=2.31,<3"}
      - {name: cryptography, requirement: "cryptography>=42,<51"}
      - {name: OpenSSL, requirement: "pyOpenSSL>=24,<27"}
requirements:
  - "Python 3.10 or later (it reports which of requests, cryptography and pyOpenSSL are there)"
extends_documentation_fragment:
  - attributes.info_module
seealso:
  - module: apigee_preflight
"""

EXAMPLES = r"""
- name: The probe host can run the probes
  mtls_preflight_host:
  delegate_to: "{{ mtls_probe_host }}"
"""

RETURN = r"""
python:
  description: The interpreter's version.
  returned: always
  type: str
  sample: 3.11.7
executable:
  description: The interpreter Ansible uses on the host.
  returned: always
  type: str
  sample: /usr/bin/python3
versions:
  description: The version of each package found, by import name.
  returned: always
  type: dict
  sample: {requests: 2.32.3, cryptography: 44.0.0, OpenSSL: 24.3.0}
missing:
  description: The pip requirements of the packages not found (the module fails when there is one).
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.module_ansible import MtlsModule
from ansible.module_utils.mtls.preflight import python_libraries


def main():
    module = MtlsModule({"libraries": {"type": "list", "elements": "dict", "default": None}})

    def work(p):
        libs = [(d["name"], d.get("requirement") or d["name"]) for d in p["libraries"]] if p["libraries"] else None
        found = python_libraries(libs) if libs else python_libraries()
        if found["missing"]:
            raise MtlsError("the Python that Ansible uses on this host (%s, %s) lacks %s: install with %s -m pip "
                            "install %s (or set ansible_python_interpreter to a Python that has them)"
                            % (found["executable"], found["python"], ", ".join(found["missing"]),
                               found["executable"], " ".join("'%s'" % r for r in found["missing"])))
        return dict(found, changed=False)

    module.run(work)


if __name__ == "__main__":
    main()
