"""apigee-mtls-doctor's module_utils, imported as ``ansible.module_utils.mtls.<name>`` (the way AnsiballZ ships them).

The files follow the pipeline of docs/architecture.md: links -> keystores -> probes -> verdicts -> diagnosis -> report
-> remediation -> fixes (alias_chain, alias_plan, apigee_stores, client_auth, backend_truststore) -> verification.
"""
