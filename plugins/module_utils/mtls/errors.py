"""The one project error type.

Every piece of the project raises `MtlsError` (or its subclass `ApigeeApiError`) for bad input or a failed
operation. The message says what is wrong and where (which block, which file, which request); `details` carries
plain data for reports. Neither ever holds key material, passwords or tokens.
"""
from __future__ import annotations


class MtlsError(Exception):
    """A clear, secret-free error: `.msg` (text) and `.details` (plain dict)."""

    def __init__(self, msg: str, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = dict(details)

    def __str__(self) -> str:
        return self.msg

    def to_dict(self) -> dict:
        return {"msg": self.msg, **self.details}


class ApigeeApiError(MtlsError):
    """An Apigee management API call failed: HTTP status, Apigee error code and message, method and URL."""

    def __init__(self, msg: str, status: int | None = None, code: str | None = None,
                 apigee_message: str | None = None, method: str | None = None, url: str | None = None):
        super().__init__(msg, status=status, code=code, apigee_message=apigee_message, method=method, url=url)
        self.status = status
        self.code = code
        self.apigee_message = apigee_message
        self.method = method
        self.url = url
