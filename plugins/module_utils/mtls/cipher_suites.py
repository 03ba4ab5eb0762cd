"""The cipher suites of an MP's JSSE client, for a link whose SSLInfo <Ciphers> names them (plain Python).

What JSSE does with the list (OpenJDK 17, ``sun/security/ssl``), measured with this machine's JDK 17.0.15 in
``tests/interop/test_cipher_suites.py``:

* ``SSLSocket.setEnabledCipherSuites`` takes only the standard names of the suites JSSE implements
  (``CipherSuite.validValuesOf``); one name it does not know (an OpenSSL name such as ``ECDHE-RSA-AES128-GCM-SHA256``,
  a typo, a suite JSSE only knows by name such as ``TLS_AES_128_CCM_SHA256``) throws ``IllegalArgumentException:
  Unsupported CipherSuite`` for the whole list: the MP opens no connection at all. Apigee X's TlsInfo.ciphers says the
  names are Java's standard names.
* a known suite that ``jdk.tls.disabledAlgorithms`` disables (3DES, RC4, DES, export, NULL, anonymous, static ECDH) is
  accepted by that call and then left out of the ClientHello (``HandshakeContext.getActiveCipherSuites``).
* a TLS version is offered only when one of the remaining suites works with it (``getActiveProtocols``): the TLS 1.3
  suites (``TLS_AES_*``, ``TLS_CHACHA20_POLY1305_SHA256``) only in TLS 1.3, every other usable suite in TLS 1.2. With
  none left: ``SSLHandshakeException: No appropriate protocol (protocol is disabled or cipher suites are
  inappropriate)``; with the signalling value TLS_EMPTY_RENEGOTIATION_INFO_SCSV among them, ``No negotiable cipher
  suite``.

The probe then offers the backend exactly the remaining suites (OpenSSL's names for the TLS 1.2 ones), so a backend
that shares none of them refuses the probe as it refuses the MP.
"""
from __future__ import annotations

TLS13 = ("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256")

# the TLS 1.2 suites a JDK 17 client may use (its supported list, in its order), each with OpenSSL's name
TLS12 = {
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384": "DHE-RSA-AES256-GCM-SHA384",
    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "DHE-RSA-CHACHA20-POLY1305",
    "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384": "DHE-DSS-AES256-GCM-SHA384",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256": "DHE-RSA-AES128-GCM-SHA256",
    "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256": "DHE-DSS-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384": "ECDHE-ECDSA-AES256-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384": "ECDHE-RSA-AES256-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256": "ECDHE-ECDSA-AES128-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256": "ECDHE-RSA-AES128-SHA256",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256": "DHE-RSA-AES256-SHA256",
    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256": "DHE-DSS-AES256-SHA256",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256": "DHE-RSA-AES128-SHA256",
    "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256": "DHE-DSS-AES128-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA": "DHE-RSA-AES256-SHA",
    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA": "DHE-DSS-AES256-SHA",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA": "DHE-RSA-AES128-SHA",
    "TLS_DHE_DSS_WITH_AES_128_CBC_SHA": "DHE-DSS-AES128-SHA",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA256": "AES256-SHA256",
    "TLS_RSA_WITH_AES_128_CBC_SHA256": "AES128-SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
}

def unmeasured_for(plan, java: str) -> list:
    """The listed names whose handling by the MP's Java ``java`` this table (Java 17's, measured) may not tell: for 8
    and 11, the ChaCha20-Poly1305 suites (TLS got them in JDK 12, JDK-8140466) and the static ECDH ones (disabled in
    17.0.15's java.security); neither was measured on those releases."""
    if not plan or str(java).startswith("17"):
        return []
    return [n for n in plan["listed"] if "CHACHA20" in n or n.startswith(("TLS_ECDH_ECDSA_", "TLS_ECDH_RSA_"))]


# the signalling value JSSE lists among its suites (RFC 5746): accepted, never a suite a handshake can use
SCSV = "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"

# names setEnabledCipherSuites accepts that jdk.tls.disabledAlgorithms then leaves out (aliases included)
DISABLED = frozenset((
    "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384", "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256", "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA", "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA", "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "SSL_DHE_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "SSL_DHE_DSS_WITH_3DES_EDE_CBC_SHA", "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA", "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA", "SSL_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_DH_anon_WITH_AES_256_GCM_SHA384", "TLS_DH_anon_WITH_AES_128_GCM_SHA256",
    "TLS_DH_anon_WITH_AES_256_CBC_SHA256", "TLS_ECDH_anon_WITH_AES_256_CBC_SHA", "TLS_DH_anon_WITH_AES_256_CBC_SHA",
    "TLS_DH_anon_WITH_AES_128_CBC_SHA256", "TLS_ECDH_anon_WITH_AES_128_CBC_SHA", "TLS_DH_anon_WITH_AES_128_CBC_SHA",
    "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA", "SSL_DH_anon_WITH_3DES_EDE_CBC_SHA", "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "SSL_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_RC4_128_SHA", "TLS_ECDH_ECDSA_WITH_RC4_128_SHA", "TLS_ECDH_RSA_WITH_RC4_128_SHA",
    "SSL_RSA_WITH_RC4_128_MD5", "TLS_RSA_WITH_RC4_128_MD5", "TLS_ECDH_anon_WITH_RC4_128_SHA",
    "SSL_DH_anon_WITH_RC4_128_MD5", "TLS_DH_anon_WITH_RC4_128_MD5", "SSL_RSA_WITH_DES_CBC_SHA",
    "TLS_RSA_WITH_DES_CBC_SHA", "SSL_DHE_RSA_WITH_DES_CBC_SHA", "TLS_DHE_RSA_WITH_DES_CBC_SHA",
    "SSL_DHE_DSS_WITH_DES_CBC_SHA", "TLS_DHE_DSS_WITH_DES_CBC_SHA", "SSL_DH_anon_WITH_DES_CBC_SHA",
    "TLS_DH_anon_WITH_DES_CBC_SHA", "SSL_RSA_EXPORT_WITH_DES40_CBC_SHA", "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA",
    "SSL_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA",
    "SSL_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA", "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA",
    "SSL_DH_anon_EXPORT_WITH_DES40_CBC_SHA", "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA",
    "SSL_RSA_EXPORT_WITH_RC4_40_MD5", "TLS_RSA_EXPORT_WITH_RC4_40_MD5", "SSL_DH_anon_EXPORT_WITH_RC4_40_MD5",
    "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5", "TLS_RSA_WITH_NULL_SHA256", "TLS_ECDHE_ECDSA_WITH_NULL_SHA",
    "TLS_ECDHE_RSA_WITH_NULL_SHA", "SSL_RSA_WITH_NULL_SHA", "TLS_RSA_WITH_NULL_SHA", "TLS_ECDH_ECDSA_WITH_NULL_SHA",
    "TLS_ECDH_RSA_WITH_NULL_SHA", "TLS_ECDH_anon_WITH_NULL_SHA", "SSL_RSA_WITH_NULL_MD5", "TLS_RSA_WITH_NULL_MD5",
))


def cipher_plan(names) -> dict | None:
    """What a JSSE 17 client does with a link's <Ciphers>: None when the list is empty (the client's defaults).
    Otherwise {"listed", "unknown" (names JSSE refuses: the whole list fails), "disabled" (dropped), "tls13" and
    "tls12" (the suites it offers per version, as listed), "versions" (the versions they allow), "openssl12" (OpenSSL's
    names of the TLS 1.2 ones)}."""
    listed = [str(n).strip() for n in names or [] if str(n).strip()]
    if not listed:
        return None
    tls13 = [n for n in listed if n in TLS13]
    tls12 = [n for n in listed if n in TLS12]
    disabled = [n for n in listed if n in DISABLED]
    unknown = [n for n in listed if n not in TLS13 and n not in TLS12 and n not in DISABLED and n != SCSV]
    versions = [] if unknown else [v for v, suites in (("TLSv1.3", tls13), ("TLSv1.2", tls12)) if suites]
    return {"listed": listed, "unknown": unknown, "disabled": disabled, "tls13": tls13, "tls12": tls12,
            "versions": versions, "openssl12": [TLS12[n] for n in tls12]}


def no_handshake_reason(plan) -> str | None:
    """Why a JSSE client with this <Ciphers> plan opens no TLS connection at all, or None when it can."""
    if not plan:
        return None
    if plan["unknown"]:
        return ("SSLInfo <Ciphers> names %s, which Java does not know as cipher suites: JSSE refuses the list "
                "(\"Unsupported CipherSuite\"), so the MP opens no TLS connection. Use Java's standard names "
                "(e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)" % ", ".join(plan["unknown"]))
    if not plan["versions"]:
        # the signalling value keeps TLS 1.2 "active" in JSSE, which then finds no suite to offer
        said = ("No negotiable cipher suite" if SCSV in plan["listed"] else
                "No appropriate protocol (protocol is disabled or cipher suites are inappropriate)")
        return ("every suite in SSLInfo <Ciphers> (%s) is disabled in the MP's Java (jdk.tls.disabledAlgorithms) or "
                "not a suite: the MP opens no TLS connection (\"%s\")" % (", ".join(plan["listed"]), said))
    return None
