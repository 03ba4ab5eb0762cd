"""DN rendering and equality checked against Java itself: one JVM computes X500Principal.toString(),
getName(CANONICAL) and equals() for a few hundred generated names, and the core must agree on every one."""
import base64
import random
import shutil
import subprocess

import pytest
from ansible.module_utils.mtls import certcore
from cryptography import x509

from tests.helpers.pki import make_name

pytestmark = pytest.mark.interop

ORACLE = r"""
import javax.security.auth.x500.X500Principal;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;

public class DnOracle {
    static String b64(String s) { return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8)); }
    public static void main(String[] args) throws Exception {
        List<String> lines = Files.readAllLines(Path.of(args[0]));
        StringBuilder out = new StringBuilder();
        for (String line : lines) {
            String[] f = line.split(" ");
            X500Principal a = new X500Principal(HexFormat.of().parseHex(f[0]));
            X500Principal b = new X500Principal(HexFormat.of().parseHex(f[1]));
            out.append(b64(a.toString())).append(' ').append(b64(a.getName(X500Principal.CANONICAL)))
               .append(' ').append(a.equals(b)).append('\n');
        }
        System.out.print(out);
    }
}
"""

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
PRINTABLE = LETTERS + "0123456789 '()+,-./:=?"
UTF8 = PRINTABLE + ',+"\\<>;#=\t éÉßøÅ日本Ωжǅﬁ①'


def _value(rnd, alphabet, n=None):
    n = n or rnd.randint(1, 10)
    return "".join(rnd.choice(alphabet) for _ in range(n))


def _ava(rnd):
    kind = rnd.choice(["CN", "O", "OU", "L", "ST", "C", "DC", "EMAILADDRESS", "SERIALNUMBER", "2.5.4.17", "UID",
                       "STREET", "T"])
    if kind == "C":
        return ("C", _value(rnd, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 2), rnd.choice(["printable", "utf8"]))
    if kind in ("DC", "EMAILADDRESS"):
        return (kind, _value(rnd, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123.-"), rnd.choice(["ia5", "ia5", "utf8"]))
    enc = rnd.choice(["printable", "utf8", "utf8", "bmp", "t61"])
    return (kind, _value(rnd, PRINTABLE if enc in ("printable", "t61") else UTF8), enc)


def _name(rnd):
    rdns = []
    for _ in range(rnd.randint(0, 4)):
        size = rnd.choice([1, 1, 1, 2, 3])
        rdn, seen = [], set()
        while len(rdn) < size:
            a = _ava(rnd)
            if (a[0], a[1]) not in seen:
                seen.add((a[0], a[1]))
                rdn.append(a)
        rdns.append(rdn)
    return make_name(rdns)


def _variant(rnd, name):
    """A name that is often JSSE-equal to name: case, spacing, string type, AVA order changed, or an RDN moved."""
    choice = rnd.random()
    rdns = []
    for rdn in name.rdns:
        attrs = list(rdn)
        rnd.shuffle(attrs)
        new = []
        for a in attrs:
            value, typ = a.value, a._type
            if choice < 0.6 and rnd.random() < 0.7:
                value = value.swapcase() if rnd.random() < 0.5 else value.upper()
                if rnd.random() < 0.5 and a.oid != x509.NameOID.COUNTRY_NAME:
                    value = "  " + value.replace(" ", "   ") + " "
            if choice < 0.6 and rnd.random() < 0.4:
                typ = rnd.choice([x509.name._ASN1Type.UTF8String, x509.name._ASN1Type.PrintableString])
                if typ == x509.name._ASN1Type.PrintableString and any(c not in PRINTABLE for c in value):
                    typ = x509.name._ASN1Type.UTF8String
            new.append(x509.NameAttribute(a.oid, value, typ))
        rdns.append(x509.RelativeDistinguishedName(new))
    if choice > 0.8 and len(rdns) > 1:
        rdns.reverse()
    return x509.Name(rdns)


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    if not shutil.which("java"):
        pytest.skip("java is not installed")
    d = tmp_path_factory.mktemp("dnoracle")
    (d / "DnOracle.java").write_text(ORACLE)
    return d


def test_dn_forms_and_equality_agree_with_java(oracle):
    rnd = random.Random(20240611)
    cases = [(make_name("CN=MyCompany Test SHA2 CA G2,DC=testcore,DC=test,DC=dir,DC=mycompany,DC=com"),
              make_name("CN=mycompany test  sha2 ca g2,DC=testcore,DC=test,DC=dir,DC=mycompany,DC=com"))]
    while len(cases) < 400:
        a = _name(rnd)
        cases.append((a, _variant(rnd, a) if rnd.random() < 0.8 else _name(rnd)))
    lines = ["%s %s" % (a.public_bytes().hex(), b.public_bytes().hex()) for a, b in cases]
    (oracle / "cases.txt").write_text("\n".join(lines) + "\n")
    proc = subprocess.run(["java", "DnOracle.java", "cases.txt"], cwd=oracle, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    results = proc.stdout.splitlines()
    assert len(results) == len(cases)
    equal_count = 0
    for (a, b), line in zip(cases, results, strict=True):
        s, c, eq = line.split(" ")
        java_str = base64.b64decode(s).decode("utf-8")
        java_canon = base64.b64decode(c).decode("utf-8")
        assert certcore.dn_java(a) == java_str, a.public_bytes().hex()
        assert certcore.dn_canonical(a) == java_canon, a.public_bytes().hex()
        assert certcore.dn_equal(a, b) == (eq == "true"), (java_str, certcore.dn_java(b))
        equal_count += eq == "true"
    # the generated matrix must exercise both outcomes substantially
    assert 80 < equal_count < len(cases) - 80
