"""The Ansible side of every Apigee module: one place for the connection options, the client, and the error handling.

Like amazon.aws's AnsibleAWSModule: a module declares only its own options and hands one function to ``run``; the
function gets the shared :class:`ApigeeClient` and returns the result dict. ``MtlsError`` (``ApigeeApiError``
included) becomes ``fail_json`` with Apigee's message in plain words; every result, failed or not, carries the client's
request count. A ``diff`` key in the result is kept only in diff mode, and ``warnings`` become Ansible warnings.
"""
from __future__ import annotations

from ansible.module_utils.apigee_client import ApigeeClient, apigee_argument_spec
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.mtls_errors import MtlsError


class ApigeeModule(AnsibleModule):
    def __init__(self, argument_spec: dict, **kwargs):
        spec = apigee_argument_spec()
        spec.update(argument_spec)
        kwargs.setdefault("supports_check_mode", True)
        super().__init__(argument_spec=spec, **kwargs)
        self._apigee_client = None

    def client_stats(self) -> dict:
        return self._apigee_client.stats() if self._apigee_client is not None else {}

    def run(self, work, prepare=None):
        """``prepare(params)`` (optional) validates local input before any API request; ``work(client, params[,
        prepared])`` does the job. Exits the module."""
        try:
            prepared = prepare(self.params) if prepare is not None else None
            self._apigee_client = ApigeeClient.from_params(self.params)
            if prepare is not None:
                result = work(self._apigee_client, self.params, prepared)
            else:
                result = work(self._apigee_client, self.params)
        except MtlsError as exc:
            self.fail_json(msg=str(exc), **self.client_stats())
        for warning in result.pop("warnings", None) or []:
            self.warn(warning)
        diff = result.pop("diff", None)
        if self._diff and diff is not None:
            result["diff"] = diff
        result.update(self.client_stats())
        self.exit_json(**result)
