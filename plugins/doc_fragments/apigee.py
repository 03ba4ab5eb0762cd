"""Documentation shared by every module that talks to the Apigee management API (see apigee_client.py)."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
requirements:
  - requests>=2.31 (the management API client)
  - cryptography>=42 (certificates)
options:
  mgmt_url:
    description:
      - The management API base URL. On Apigee X / hybrid the default becomes C(https://apigee.googleapis.com)
        (a regional endpoint is C(https://<region>-apigee.googleapis.com)).
    type: str
    default: https://api.enterprise.apigee.com
  org:
    description: The Apigee organization (on Apigee X / hybrid, the Google Cloud project ID).
    type: str
    required: true
  platform:
    description:
      - C(edge) (Edge for Private or Public Cloud), C(x) (Apigee X) or C(hybrid) (Apigee hybrid). X and hybrid take
        Google credentials, a service account key file (O(service_account_file)), Application Default Credentials
        when nothing is given, or an access token (O(token)).
    type: str
    choices: [edge, x, hybrid]
    default: edge
  service_account_file:
    description:
      - A Google service account key file (JSON) for Apigee X / hybrid; its access tokens are refreshed when they
        expire. The key itself is never logged.
    type: path
  username:
    description: Management API user (basic auth or OAuth2 password grant).
    type: str
  password:
    description: Password of O(username).
    type: str
  token:
    description: A bearer token instead of a user and password.
    type: str
  mfa_token:
    description: A one-time MFA code for the OAuth2 login.
    type: str
  passcode:
    description:
      - A one-time passcode of a SAML (SSO) org, from C(https://<zone>.login.apigee.com/passcode), for the OAuth2
        login instead of a user and password; O(login_url) then names the zone. Used once - log in once with module
        C(apigee_login) and pass its tokens to later tasks.
    type: str
  refresh_token:
    description: The refresh token of O(token) (from C(apigee_login)); an access token that expires during the run is
      refreshed once with it.
    type: str
  login_url:
    description: The Edge login service (OAuth2).
    type: str
    default: https://login.apigee.com
  auth_type:
    description: How to authenticate.
    type: str
    choices: [auto, basic, oauth2, token]
    default: auto
  validate_certs:
    description: Check the management API's TLS certificate.
    type: bool
    default: true
  ca_path:
    description: CA bundle for the management API's TLS certificate.
    type: path
  timeout:
    description: Seconds per HTTP request.
    type: int
    default: 30
  retries:
    description: Retries on 429 and 5xx.
    type: int
    default: 5
notes:
  - Connection options also come from the environment (C(APIGEE_MGMT_URL), C(APIGEE_ORG), C(APIGEE_USERNAME),
    C(APIGEE_PASSWORD), C(APIGEE_TOKEN), C(APIGEE_PASSCODE), C(APIGEE_REFRESH_TOKEN), C(APIGEE_PLATFORM),
    C(APIGEE_SERVICE_ACCOUNT_FILE), ...).
"""
