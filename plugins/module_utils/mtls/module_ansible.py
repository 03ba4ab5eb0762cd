"""The Ansible side of every module of the project: one anatomy, one place for errors, diff and warnings.

Like amazon.aws's AnsibleAWSModule: a module declares only its own options and hands one function to ``run``.

- :class:`MtlsModule` (any module): ``run(work)`` calls ``work(params)``; ``MtlsError`` (and ``OSError`` from local
  files) becomes ``fail_json`` with the message in plain words; a ``diff`` key in the result is kept only in diff mode,
  ``warnings`` become Ansible warnings, ``changed`` defaults to False.
- :class:`ApigeeModule` (modules that talk to the management API): adds the shared connection options
  (``apigee_argument_spec``), builds the one :class:`ApigeeClient` after the local input is checked
  (``prepare(params)``), calls ``work(client, params[, prepared])``, and every result, failed or not, carries the
  client's request count.
- :class:`ApigeePairModule` (a module that reads two orgs, e.g. an Edge org and the Apigee X org it moves to): one dict
  option per org with the connection options as suboptions (``apigee_connection_suboptions``), one client per org
  built on first use, and every result carries both clients' request counts.
"""
from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.mtls.apigee.client import ApigeeClient, apigee_argument_spec, apigee_connection_suboptions
from ansible.module_utils.mtls.errors import MtlsError


class MtlsModule(AnsibleModule):
    def __init__(self, argument_spec: dict, **kwargs):
        kwargs.setdefault("supports_check_mode", True)
        super().__init__(argument_spec=argument_spec, **kwargs)

    def extra_result(self) -> dict:
        """What every result of this module carries, failed or not (nothing here; the request count for Apigee)."""
        return {}

    def fail(self, exc) -> None:
        self.fail_json(msg=str(exc), **self.extra_result())

    def finish(self, result: dict) -> None:
        """Warnings to Ansible, the diff only in diff mode, then exit."""
        for warning in result.pop("warnings", None) or []:
            self.warn(warning)
        diff = result.pop("diff", None)
        if self._diff and diff is not None:
            result["diff"] = diff
        result.setdefault("changed", False)
        result.update(self.extra_result())
        self.exit_json(**result)

    def run(self, work) -> None:
        """``work(params)`` does the job and returns the result dict. Exits the module."""
        try:
            result = work(self.params)
        except (MtlsError, OSError) as exc:
            self.fail(exc)
        self.finish(result)


class ApigeeModule(MtlsModule):
    def __init__(self, argument_spec: dict, **kwargs):
        spec = apigee_argument_spec()
        spec.update(argument_spec)
        super().__init__(spec, **kwargs)
        self._apigee_client = None

    def extra_result(self) -> dict:
        return self._apigee_client.stats() if self._apigee_client is not None else {}

    def client_stats(self) -> dict:
        return self.extra_result()

    def client(self) -> ApigeeClient:
        """The one client of this module run (built on first use)."""
        if self._apigee_client is None:
            self._apigee_client = ApigeeClient.from_params(self.params)
        return self._apigee_client

    def run(self, work, prepare=None) -> None:
        """``prepare(params)`` (optional) validates local input before any API request; ``work(client, params[,
        prepared])`` does the job. Exits the module."""
        def call(params):
            prepared = prepare(params) if prepare is not None else None
            client = self.client()
            return work(client, params, prepared) if prepare is not None else work(client, params)

        super().run(call)


class ApigeePairModule(MtlsModule):
    def __init__(self, argument_spec: dict, sides: dict, **kwargs):
        """sides: {option name: {"required": bool, "extra": {suboptions beyond the connection}}}."""
        spec = {name: {"type": "dict", "required": side.get("required", False),
                       "options": apigee_connection_suboptions(side.get("extra"))} for name, side in sides.items()}
        spec.update(argument_spec)
        super().__init__(spec, **kwargs)
        self._clients = {}

    def client(self, side: str) -> ApigeeClient:
        """The one client of this module run for the org of option ``side``."""
        if side not in self._clients:
            self._clients[side] = ApigeeClient.from_params(self.params[side])
        return self._clients[side]

    def extra_result(self) -> dict:
        by_side = {side: c.stats() for side, c in self._clients.items()}
        return {"api_requests": sum(s["api_requests"] for s in by_side.values()),
                "api_requests_by_org": {side: s["api_requests"] for side, s in by_side.items()}}
