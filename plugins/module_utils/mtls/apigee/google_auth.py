"""Google OAuth2 credentials for the Apigee X / hybrid management API (``https://apigee.googleapis.com``), with the
library made for it (google-auth): a service account key file, or Application Default Credentials (ADC: the
``GOOGLE_APPLICATION_CREDENTIALS`` file, ``gcloud auth application-default login``, a workload identity); a given
access token needs none of this (the client sends it as it is). Tokens are refreshed when they expire and once more
on a 401. Errors in plain words; never a key, never a token.
"""
from __future__ import annotations

import json
import threading

from ansible.module_utils.mtls.errors import MtlsError

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)

try:
    import google.auth
    import google.auth.exceptions
    import google.auth.transport.requests
    from google.oauth2 import service_account
    HAS_GOOGLE_AUTH = True
except ImportError:  # pragma: no cover - exercised only where google-auth is not installed
    HAS_GOOGLE_AUTH = False


class GoogleCredentials:
    """One set of Google credentials for one client: ``token()`` gives a valid access token (refreshed when it has
    expired, or when ``force`` says Apigee refused the last one)."""

    def __init__(self, service_account_file=None, session=None):
        if not HAS_GOOGLE_AUTH:
            raise MtlsError("the Python library 'google-auth' is required for Apigee X / hybrid credentials "
                            "(pip install google-auth), or give an access token (apigee_token)")
        self._lock = threading.Lock()
        self._session = session
        if service_account_file:
            self.source = "service account key file %s" % service_account_file
            self._creds = _from_file(service_account_file)
        else:
            self.source = "Application Default Credentials"
            try:
                self._creds, _ = google.auth.default(scopes=list(SCOPES))
            except google.auth.exceptions.DefaultCredentialsError:
                raise MtlsError("no Google credentials for Apigee X / hybrid: give a service account key file "
                                "(apigee_service_account_file), set up Application Default Credentials (gcloud auth "
                                "application-default login, or GOOGLE_APPLICATION_CREDENTIALS), or give an access "
                                "token (apigee_token, e.g. from gcloud auth print-access-token)") from None

    @property
    def account(self):
        return getattr(self._creds, "service_account_email", None) or getattr(self._creds, "signer_email", None)

    def token(self, force=False) -> str:
        with self._lock:
            if force or not self._creds.valid:
                request = google.auth.transport.requests.Request(session=self._session)
                try:
                    self._creds.refresh(request)
                except google.auth.exceptions.RefreshError as exc:
                    raise MtlsError("Google refused the credentials (%s%s): %s" % (
                        self.source, ", %s" % self.account if self.account else "", _reason(exc))) from None
                except google.auth.exceptions.TransportError as exc:
                    raise MtlsError("cannot reach Google's token endpoint for the %s: %s" % (
                        self.source, type(exc).__name__)) from None
            return self._creds.token


def _from_file(path):
    try:
        with open(path, encoding="utf-8") as fh:
            info = json.load(fh)
    except FileNotFoundError:
        raise MtlsError("service account key file %s does not exist" % path) from None
    except (OSError, ValueError):
        raise MtlsError("service account key file %s is not a JSON key file" % path) from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise MtlsError("%s is not a service account key file (its \"type\" is not \"service_account\"; download a "
                        "JSON key of the service account from the Google Cloud console)" % path)
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if missing:
        raise MtlsError("service account key file %s lacks %s" % (path, ", ".join(missing)))
    try:
        return service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))
    except (ValueError, TypeError):
        raise MtlsError("the private key of service account key file %s cannot be read" % path) from None


def _reason(exc) -> str:
    """What Google said, without anything secret: its error and description (an assertion or token never)."""
    args = getattr(exc, "args", ())
    text = str(args[0]) if args else type(exc).__name__
    return text.split("\n")[0][:300]
