"""Distinguished names: the three text forms the runbook meets, parsing them back, and JSSE's equality.

* `dn_rfc4514(name)`   RFC 4514 text, most specific RDN first: ``CN=client,O=Example,C=AU``.
* `dn_java(name)`      `X500Principal.toString()` (what Apigee shows in certInfo issuer/subject):
                       ``CN=MyCompany Test SHA2 CA G2, DC=testcore, DC=test``.
* `dn_openssl(name)`   OpenSSL's compat "oneline" form (``openssl x509 -subject -nameopt compat``):
                       ``/C=AU/ST=VIC/O=Example/CN=client`` (most significant RDN first).
* `parse_dn(text)`     any of the above, plus OpenSSL 3's default ``C = AU, ST = VIC, CN = client`` form.
* `dn_canonical(name)` `X500Principal.getName(X500Principal.CANONICAL)`;
  `dn_equal(a, b)`     `X500Principal.equals`: the canonical forms are equal.

Modelled on OpenJDK 17 `sun.security.x509.AVA` (toRFC2253CanonicalString, isDerString(value, canonical=true),
toKeywordValueString, AVAKeyword table), `sun.security.x509.RDN.toRFC2253String(true)` with `AVAComparator`,
and `sun.security.x509.X500Name` (getRFC2253CanonicalName, equals, generateDN). Everything works on the DER encoding
of the name, so the attribute string types (PrintableString, UTF8String, IA5String, ...) are honoured as JSSE does:
only PrintableString and UTF8String values are compared as folded text; every other type (IA5String DC/email
included) is compared on its exact DER bytes.
"""
from __future__ import annotations

import functools
import re
import unicodedata

from ansible.module_utils.mtls.errors import MtlsError
from cryptography import x509

# ---------------------------------------------------------------------------------------------------- DER tags
TAG_UTF8 = 0x0C
TAG_PRINTABLE = 0x13
TAG_T61 = 0x14
TAG_IA5 = 0x16
TAG_GENERAL = 0x1B
TAG_UNIVERSAL = 0x1C
TAG_BMP = 0x1E
_STRING_TAGS_JAVA = {TAG_UTF8, TAG_PRINTABLE, TAG_T61, TAG_IA5, TAG_GENERAL, TAG_UNIVERSAL, TAG_BMP}
_CANONICAL_STRING_TAGS = {TAG_UTF8, TAG_PRINTABLE}  # AVA.isDerString(value, true)

# ---------------------------------------------------------------------------------------------------- OIDs
OID_CN = "2.5.4.3"
OID_C = "2.5.4.6"
OID_DC = "0.9.2342.19200300.100.1.25"
OID_EMAIL = "1.2.840.113549.1.9.1"

# AVAKeyword table (keyword, oid, rfc1779, rfc2253); oidMap keeps the LAST keyword registered for an OID.
_AVA_KEYWORDS = [
    ("CN", "2.5.4.3", True, True), ("C", "2.5.4.6", True, True), ("L", "2.5.4.7", True, True),
    ("S", "2.5.4.8", False, False), ("ST", "2.5.4.8", True, True), ("O", "2.5.4.10", True, True),
    ("OU", "2.5.4.11", True, True), ("T", "2.5.4.12", False, False),
    ("IP", "1.3.6.1.4.1.42.2.11.2.1", False, False), ("STREET", "2.5.4.9", True, True),
    ("DC", OID_DC, False, True), ("DNQUALIFIER", "2.5.4.46", False, False), ("DNQ", "2.5.4.46", False, False),
    ("SURNAME", "2.5.4.4", False, False), ("GIVENNAME", "2.5.4.42", False, False),
    ("INITIALS", "2.5.4.43", False, False), ("GENERATION", "2.5.4.44", False, False),
    ("EMAIL", OID_EMAIL, False, False), ("EMAILADDRESS", OID_EMAIL, False, False),
    ("UID", "0.9.2342.19200300.100.1.1", False, True), ("SERIALNUMBER", "2.5.4.5", False, False),
]
JAVA_KEYWORD = {}  # oid -> keyword used by toString() (AVA.DEFAULT)
RFC2253_KEYWORD = {}  # oid -> keyword used by the RFC 2253 / canonical forms
for _kw, _oid, _r1779, _r2253 in _AVA_KEYWORDS:
    JAVA_KEYWORD[_oid] = _kw
    if _r2253:
        RFC2253_KEYWORD[_oid] = _kw

# OpenSSL short names (OBJ_nid2sn) for the slash form
OPENSSL_SN = {
    "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
    "2.5.4.12": "title", "2.5.4.9": "street", OID_DC: "DC", "0.9.2342.19200300.100.1.1": "UID",
    OID_EMAIL: "emailAddress", "2.5.4.5": "serialNumber", "2.5.4.4": "SN", "2.5.4.42": "GN",
    "2.5.4.43": "initials", "2.5.4.44": "generationQualifier", "2.5.4.46": "dnQualifier", "2.5.4.17": "postalCode",
    "2.5.4.15": "businessCategory", "2.5.4.65": "pseudonym", "2.5.4.13": "description",
    "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC", "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionST",
    "1.3.6.1.4.1.311.60.2.1.1": "jurisdictionL", "2.5.4.97": "organizationIdentifier",
}

# Every attribute name the parser accepts (case-insensitive) -> OID.
_PARSE_KEYWORDS = {kw: oid for kw, oid, _a, _b in _AVA_KEYWORDS}
_PARSE_KEYWORDS.update({sn.upper(): oid for oid, sn in OPENSSL_SN.items()})
_PARSE_KEYWORDS.update({
    "COMMONNAME": "2.5.4.3", "COUNTRYNAME": "2.5.4.6", "LOCALITYNAME": "2.5.4.7",
    "STATEORPROVINCENAME": "2.5.4.8", "ORGANIZATIONNAME": "2.5.4.10", "ORGANIZATIONALUNITNAME": "2.5.4.11",
    "STREETADDRESS": "2.5.4.9", "DOMAINCOMPONENT": OID_DC, "USERID": "0.9.2342.19200300.100.1.1",
    "E": OID_EMAIL, "TITLE": "2.5.4.12", "SN": "2.5.4.4", "GENERATIONQUALIFIER": "2.5.4.44",
    "JURISDICTIONCOUNTRYNAME": "1.3.6.1.4.1.311.60.2.1.3",
})

# AVA types whose cryptography default encoding is not UTF8String (x509.NameAttribute default _type)
_DEFAULT_TAG = {OID_C: TAG_PRINTABLE, "1.3.6.1.4.1.311.60.2.1.3": TAG_PRINTABLE, "2.5.4.5": TAG_PRINTABLE,
                "2.5.4.46": TAG_PRINTABLE, OID_EMAIL: TAG_IA5, OID_DC: TAG_IA5}


# ---------------------------------------------------------------------------------------------------- DER reading
class _Ava:
    __slots__ = ("oid", "tag", "content", "der")

    def __init__(self, oid: str, tag: int, content: bytes, der: bytes):
        self.oid, self.tag, self.content, self.der = oid, tag, content, der


def _tlv(buf: bytes, pos: int) -> tuple[int, int, int, int]:
    """(tag, content_start, content_end, next_pos) of the DER element at pos."""
    if pos + 2 > len(buf):
        raise MtlsError("truncated DER in distinguished name")
    tag = buf[pos]
    length = buf[pos + 1]
    start = pos + 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4 or start + n > len(buf):
            raise MtlsError("bad DER length in distinguished name")
        length = int.from_bytes(buf[start:start + n], "big")
        start += n
    end = start + length
    if end > len(buf):
        raise MtlsError("truncated DER in distinguished name")
    return tag, start, end, end


def _oid_text(body: bytes) -> str:
    parts, val = [], 0
    for b in body:
        val = (val << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(val)
            val = 0
    if not parts:
        raise MtlsError("empty OID in distinguished name")
    first = parts[0]
    head = [0, first] if first < 40 else ([1, first - 40] if first < 80 else [2, first - 80])
    return ".".join(str(p) for p in head + parts[1:])


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _rdns_from_der(der: bytes) -> list[list[_Ava]]:
    tag, start, end, _ = _tlv(der, 0)
    if tag != 0x30:
        raise MtlsError("a distinguished name must be a DER SEQUENCE")
    rdns, pos = [], start
    while pos < end:
        stag, sstart, send, pos = _tlv(der, pos)
        if stag != 0x31:
            raise MtlsError("an RDN must be a DER SET")
        avas, apos = [], sstart
        while apos < send:
            atag, astart, aend, apos = _tlv(der, apos)
            if atag != 0x30:
                raise MtlsError("an attribute must be a DER SEQUENCE")
            otag, ostart, oend, vpos = _tlv(der, astart)
            if otag != 0x06:
                raise MtlsError("an attribute type must be an OID")
            vtag, vstart, vend, _ = _tlv(der, vpos)
            avas.append(_Ava(_oid_text(der[ostart:oend]), vtag, der[vstart:vend], der[vpos:vend]))
        if not avas:
            raise MtlsError("empty RDN in distinguished name")
        rdns.append(avas)
    return rdns


def _name_der(name) -> bytes:
    if isinstance(name, bytes | bytearray | memoryview):
        return bytes(name)
    if isinstance(name, x509.Name):
        return name.public_bytes()
    if isinstance(name, str):
        return parse_dn(name).public_bytes()
    raise MtlsError("not a distinguished name: %s" % type(name).__name__)


# A diagnosis compares the same few names (a keystore's chain, the CAs a backend names) for every link that shares
# them: each distinct DER name is read and made canonical once (pure functions of the bytes; _Ava is never changed).
@functools.lru_cache(maxsize=4096)
def _rdns_of_der(der: bytes) -> tuple:
    return tuple(tuple(r) for r in _rdns_from_der(der))


def _rdns(name) -> tuple:
    return _rdns_of_der(_name_der(name))


@functools.lru_cache(maxsize=4096)
def _canonical_of_der(der: bytes) -> tuple[tuple, str]:
    """(the AVA count of each RDN, X500Principal's CANONICAL form) of a DER name."""
    rdns = _rdns_of_der(der)
    return tuple(len(r) for r in rdns), ",".join(_canonical_rdn(r) for r in reversed(rdns))


def _decode(tag: int, content: bytes) -> str | None:
    try:
        if tag == TAG_UTF8:
            return content.decode("utf-8")
        if tag in (TAG_PRINTABLE, TAG_T61, TAG_IA5, TAG_GENERAL):
            return content.decode("latin-1")
        if tag == TAG_BMP:
            return content.decode("utf-16-be")
        if tag == TAG_UNIVERSAL:
            return content.decode("utf-32-be")
    except UnicodeDecodeError as exc:
        raise MtlsError("undecodable string (tag %d) in distinguished name" % tag) from exc
    return None


# ---------------------------------------------------------------------------------------------------- canonical
_PRINTABLE_EXTRA = set(" '()+,-./:=?")


def _is_printable_char(c: str) -> bool:  # DerValue.isPrintableStringChar
    return ("a" <= c <= "z") or ("A" <= c <= "Z") or ("0" <= c <= "9") or c in _PRINTABLE_EXTRA


def _java_trim(s: str) -> str:  # String.trim(): strips chars <= U+0020
    i, j = 0, len(s)
    while i < j and ord(s[i]) <= 0x20:
        i += 1
    while j > i and ord(s[j - 1]) <= 0x20:
        j -= 1
    return s[i:j]


def _canonical_ava(ava: _Ava) -> str:
    """AVA.toRFC2253CanonicalString()."""
    keyword = RFC2253_KEYWORD.get(ava.oid, ava.oid)
    out = keyword + "="
    if keyword[0].isdigit() or ava.tag not in _CANONICAL_STRING_TAGS:
        out += "#" + ava.der.hex()
    else:
        value = _decode(ava.tag, ava.content)
        escapees = ',+<>;"\\'
        buf, previous_white = [], False
        for i, c in enumerate(value):
            if _is_printable_char(c) or c in escapees or (i == 0 and c == "#"):
                if (i == 0 and c == "#") or c in escapees:
                    buf.append("\\")
                if c != " ":  # the only Character.isWhitespace() char among the printable ones
                    previous_white = False
                    buf.append(c)
                elif not previous_white:
                    previous_white = True
                    buf.append(c)
            else:
                previous_white = False
                buf.append(c)
        out += _java_trim("".join(buf))
    return unicodedata.normalize("NFKD", out.upper().lower())


def _canonical_rdn(avas) -> str:
    if len(avas) == 1:
        return _canonical_ava(avas[0])
    # AVAComparator (OpenJDK 17): AVAs with an RFC 2253 keyword first, then the others; within each group by
    # their canonical strings (String.compareTo; older JDKs ordered the OID group numerically)
    keyed = sorted(_canonical_ava(a) for a in avas if a.oid in RFC2253_KEYWORD)
    oids = sorted(_canonical_ava(a) for a in avas if a.oid not in RFC2253_KEYWORD)
    return "+".join(keyed + oids)


def dn_canonical(name) -> str:
    """`X500Principal.getName(CANONICAL)` for an x509.Name, DER bytes, or a DN text (see parse_dn)."""
    return _canonical_of_der(_name_der(name))[1]


def dn_equal(a, b) -> bool:
    """`X500Principal.equals`: same RDN/AVA counts and identical canonical forms (x509.Name, DER bytes or text)."""
    return _canonical_of_der(_name_der(a)) == _canonical_of_der(_name_der(b))


# ---------------------------------------------------------------------------------------------------- renderers
def _java_value(ava: _Ava) -> str:
    """AVA.toKeywordValueString() value part."""
    value = _decode(ava.tag, ava.content) if ava.tag in _STRING_TAGS_JAVA else None
    if value is None:
        return "#" + ava.der.hex().upper()
    escapees = ',+=\n<>#;\\"'
    quote, previous_white, buf = False, False, []
    for i, c in enumerate(value):
        if _is_printable_char(c) or c in escapees:
            if not quote and ((i == 0 and c in " \n") or c in escapees):
                quote = True
            if c not in " \n":
                if c in '"\\':
                    buf.append("\\")
                previous_white = False
            else:
                if not quote and previous_white:
                    quote = True
                previous_white = True
            buf.append(c)
        else:
            previous_white = False
            buf.append(c)
    if buf and buf[-1] in " \n":
        quote = True
    text = "".join(buf)
    return '"%s"' % text if quote else text


def dn_java(name) -> str:
    """`X500Principal.toString()`: the DN text Apigee shows in certInfo (``CN=x, OU=y, O=z, C=AU``)."""
    parts = []
    for avas in reversed(_rdns(name)):
        parts.append(" + ".join("%s=%s" % (JAVA_KEYWORD.get(a.oid, "OID." + a.oid), _java_value(a)) for a in avas))
    return ", ".join(parts)


def dn_rfc4514(name) -> str:
    """RFC 4514 text, most specific RDN first (cryptography's rendering, which uses the RFC 4514 keywords)."""
    if isinstance(name, bytes | bytearray | memoryview | str):
        name = name_from_der(_name_der(name))
    return name.rfc4514_string()


def _openssl_escape(value: str) -> str:
    out = []
    for c in value:
        if c in "/+":
            out.append("\\" + c)
        elif " " <= c <= "~":
            out.append(c)
        else:
            out.extend("\\x%02X" % b for b in c.encode("utf-8"))
    return "".join(out)


def dn_openssl(name) -> str:
    """OpenSSL's compat oneline form ``/C=AU/ST=VIC/O=Example/CN=client`` (most significant RDN first).

    Bytes outside printable ASCII are written ``\\xHH`` (UTF-8) and ``/``, ``+`` in values are backslash-escaped,
    exactly as `openssl x509 -subject -nameopt compat` prints them (a backslash itself is not escaped).
    """
    out = []
    for avas in _rdns(name):
        items = []
        for a in avas:
            key = OPENSSL_SN.get(a.oid, a.oid)
            value = _decode(a.tag, a.content)
            items.append("%s=%s" % (key, _openssl_escape(value) if value is not None else "#" + a.der.hex().upper()))
        out.append("/" + "+".join(items))
    return "".join(out)


# ---------------------------------------------------------------------------------------------------- parsing
def name_from_der(der: bytes) -> x509.Name:
    """An x509.Name carrying exactly the attribute types and string types of the DER encoding."""
    rdns = []
    for avas in _rdns_from_der(bytes(der)):
        rdns.append(x509.RelativeDistinguishedName([_attr(a.oid, a.tag, a.content) for a in avas]))
    return x509.Name(rdns)


def _attr(oid: str, tag: int | None, content: bytes | str) -> x509.NameAttribute:
    o = x509.ObjectIdentifier(oid)
    try:
        if tag is None:
            return x509.NameAttribute(o, content)
        value = _decode(tag, content) if isinstance(content, bytes) else content
        if value is None:
            raise MtlsError("attribute %s has a non-string value (DER tag %d), not supported" % (oid, tag))
        return x509.NameAttribute(o, value, x509.name._ASN1Type(tag))
    except ValueError as exc:
        raise MtlsError("bad value for attribute %s: %s" % (oid, exc)) from exc


def _keyword_oid(key: str, text: str) -> str:
    k = key.strip()
    up = k.upper()
    if up in _PARSE_KEYWORDS:
        return _PARSE_KEYWORDS[up]
    if up.startswith("OID."):
        k = k[4:]
    if re.fullmatch(r"[0-2](\.\d+)+", k):
        return k
    raise MtlsError("unknown attribute type %r in distinguished name %r" % (key.strip(), text))


_KEY_AHEAD = re.compile(r"\s*(?:[A-Za-z][A-Za-z0-9-]*|(?:OID\.)?\d+(?:\.\d+)+)\s*=")


class _Val:
    """A value being read: text pieces with escape marks (escaped whitespace is not trimmed) and pending bytes."""

    def __init__(self):
        self.chars: list[tuple[str, bool]] = []
        self.pending = bytearray()

    def flush(self):
        if self.pending:
            try:
                text = self.pending.decode("utf-8")
            except UnicodeDecodeError:
                text = self.pending.decode("latin-1")
            self.chars.extend((c, True) for c in text)
            self.pending = bytearray()

    def add(self, c: str, escaped: bool = False):
        self.flush()
        self.chars.append((c, escaped))

    def text(self, trim: bool = True) -> str:
        self.flush()
        chars = self.chars
        if trim:
            i, j = 0, len(chars)
            while i < j and chars[i][0].isspace() and not chars[i][1]:
                i += 1
            while j > i and chars[j - 1][0].isspace() and not chars[j - 1][1]:
                j -= 1
            chars = chars[i:j]
        return "".join(c for c, _ in chars)


_HEX = "0123456789abcdefABCDEF"


def _parse_comma_style(text: str) -> list[list[tuple[str, object]]]:
    """RFC 4514 / RFC 2253 / Java toString / OpenSSL 3 oneline: RDNs in text order; values str or ('#', bytes)."""
    rdns: list[list[tuple[str, object]]] = []
    avas: list[tuple[str, object]] = []
    i, n = 0, len(text)
    while True:
        eq = text.find("=", i)
        if eq < 0:
            raise MtlsError("missing '=' in distinguished name %r near %r" % (text, text[i:i + 20]))
        key = text[i:eq].strip()
        if not key or any(c in key for c in ',+;"\\'):
            raise MtlsError("bad attribute type %r in distinguished name %r" % (key, text))
        i = eq + 1
        while i < n and text[i] == " ":
            i += 1
        val = _Val()
        value: object
        if i < n and text[i] == "#":
            m = re.match(r"#([0-9A-Fa-f]+)", text[i:])
            if not m:
                raise MtlsError("bad #hex value for %s in distinguished name %r" % (key, text))
            value = ("#", bytes.fromhex(m.group(1)))
            i += m.end()
        elif i < n and text[i] == '"':
            i += 1
            while True:
                if i >= n:
                    raise MtlsError("unterminated quoted value for %s in distinguished name %r" % (key, text))
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n:
                    i = _escape(text, i, val)
                    continue
                val.add(c, True)
                i += 1
            value = val.text(trim=False)
        else:
            while i < n and text[i] not in ",;+":
                if text[i] == "\\":
                    if i + 1 >= n:
                        raise MtlsError("dangling backslash in distinguished name %r" % text)
                    i = _escape(text, i, val)
                    continue
                if text[i] == '"':
                    raise MtlsError("unexpected quote in value of %s in distinguished name %r" % (key, text))
                val.add(text[i])
                i += 1
            value = val.text()
        avas.append((key, value))
        while i < n and text[i] == " ":
            i += 1
        if i >= n:
            rdns.append(avas)
            return rdns
        sep = text[i]
        if sep not in ",;+":
            raise MtlsError("unexpected %r after the value of %s in distinguished name %r" % (sep, key, text))
        if sep != "+":
            rdns.append(avas)
            avas = []
        i += 1


def _escape(text: str, i: int, val: _Val) -> int:
    """Consume a backslash escape at text[i]: \\XX hex byte, \\xXX (OpenSSL), or \\c."""
    nxt = text[i + 1]
    if nxt in "xX" and i + 3 < len(text) and text[i + 2] in _HEX and text[i + 3] in _HEX:
        val.pending.append(int(text[i + 2:i + 4], 16))
        return i + 4
    if nxt in _HEX and i + 2 < len(text) and text[i + 2] in _HEX:
        val.pending.append(int(text[i + 1:i + 3], 16))
        return i + 3
    val.add(nxt, True)
    return i + 2


def _parse_slash(text: str) -> list[list[tuple[str, object]]]:
    """OpenSSL compat oneline ``/C=AU/O=x+OU=y/CN=z`` (also the `-subj` syntax): RDNs most significant first."""
    rdns: list[list[tuple[str, object]]] = []
    i, n = 1, len(text)
    avas: list[tuple[str, object]] = []
    while True:
        eq = text.find("=", i)
        if eq < 0:
            raise MtlsError("missing '=' in distinguished name %r near %r" % (text, text[i:i + 20]))
        key = text[i:eq]
        if not key.strip() or "/" in key:
            raise MtlsError("bad attribute type %r in distinguished name %r" % (key, text))
        i = eq + 1
        val = _Val()
        sep = None
        while i < n:
            c = text[i]
            if c == "\\" and i + 1 < n and (text[i + 1] in "/+" or re.match(r"[xX][0-9A-Fa-f]{2}", text[i + 1:i + 4])):
                i = _escape(text, i, val)  # OpenSSL escapes only '/', '+' and bytes outside printable ASCII
                continue
            if c in "/+" and _KEY_AHEAD.match(text, i + 1):
                sep = c
                break
            val.add(c)
            i += 1
        avas.append((key, val.text(trim=False)))
        if sep is None:
            rdns.append(avas)
            return rdns
        if sep == "/":
            rdns.append(avas)
            avas = []
        i += 1


_ONELINE = re.compile(r"^\s*(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+) = ")
_PREFIX = re.compile(r"^\s*(?:subject|issuer)\s*=\s*(?=\S)", re.IGNORECASE)


def detect_dn_form(text: str) -> str:
    """'openssl' (slash form), 'openssl_oneline' (``C = AU, CN = x``) or 'rfc4514' (RFC 4514 and Java forms)."""
    t = text.strip()
    if t.startswith("/"):
        return "openssl"
    if _ONELINE.match(t):
        return "openssl_oneline"
    return "rfc4514"


def parse_dn(text: str, form: str | None = None) -> x509.Name:
    """Parse a DN printed as RFC 4514/2253, Java X500Principal.toString(), or OpenSSL (slash or `C = AU, ...`).

    A leading ``subject=`` / ``issuer=`` (as `openssl x509 -subject` prints) is ignored. The form is detected unless
    given ("rfc4514", "java", "openssl", "openssl_oneline"). String types follow cryptography's defaults
    (PrintableString for C, IA5String for DC and emailAddress, UTF8String otherwise); a ``#hex`` value keeps its
    DER type. Raises MtlsError naming what is wrong.
    """
    if isinstance(text, x509.Name):
        return text
    if not isinstance(text, str):
        raise MtlsError("a distinguished name text is needed, got %s" % type(text).__name__)
    t = _PREFIX.sub("", text.lstrip(), count=1)
    form = form or detect_dn_form(t)
    if form == "openssl":
        t = t.rstrip("\r\n")  # trailing spaces belong to the last value in the slash form
    else:
        stripped = t.rstrip()
        if len(stripped) < len(t) and (len(stripped) - len(stripped.rstrip("\\"))) % 2 == 1:
            stripped += t[len(stripped)]  # keep an escaped trailing space ("CN=a\\ ")
        t = stripped
    if not t.strip():
        return x509.Name([])
    if form == "openssl":
        if not t.startswith("/"):
            raise MtlsError("an OpenSSL slash-form DN starts with '/': %r" % text)
        rdns_text = _parse_slash(t)
    elif form in ("rfc4514", "rfc2253", "java", "openssl_oneline"):
        rdns_text = _parse_comma_style(t)
        if form != "openssl_oneline":
            rdns_text = list(reversed(rdns_text))
    else:
        raise MtlsError("unknown DN form %r (rfc4514, java, openssl, openssl_oneline)" % form)
    rdns = []
    for avas in rdns_text:
        attrs = []
        for key, value in avas:
            oid = _keyword_oid(key, text)
            if isinstance(value, tuple):
                der = value[1]
                try:
                    tag, start, end, nxt = _tlv(der, 0)
                except MtlsError as exc:
                    raise MtlsError("bad #hex DER value for %s in %r" % (key.strip(), text)) from exc
                if nxt != len(der):
                    raise MtlsError("trailing bytes in #hex value for %s in %r" % (key.strip(), text))
                attrs.append(_attr(oid, tag, der[start:end]))
            else:
                attrs.append(_attr(oid, None, value))
        try:
            rdns.append(x509.RelativeDistinguishedName(attrs))
        except ValueError as exc:
            raise MtlsError("bad RDN in distinguished name %r: %s" % (text, exc)) from exc
    try:
        return x509.Name(rdns)
    except ValueError as exc:
        raise MtlsError("bad distinguished name %r: %s" % (text, exc)) from exc


def to_name(value) -> x509.Name:
    """x509.Name from a Name, DER bytes or DN text."""
    if isinstance(value, x509.Name):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return name_from_der(bytes(value))
    return parse_dn(value)
