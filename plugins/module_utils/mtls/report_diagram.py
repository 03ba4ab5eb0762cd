"""A picture of a broken link for the Markdown report: the stored chain against the CAs the backend accepts, as a
Mermaid flowchart (GitLab and GitHub render it in tickets). Plain Python, from the report row only.

Drawn for the verdicts where the picture is the diagnosis: ca_mismatch (the chain's top issuer is not accepted),
chain_incomplete (the missing intermediates, dashed, connect it), and the key-type / signature verdicts (the chain is
accepted by name but not by key or signature: the leaf says which key it has).
"""
from __future__ import annotations

DRAWN = ("ca_mismatch", "chain_incomplete", "key_type_not_accepted", "no_certificate_verify_scheme",
         "signature_algorithm_rejected")


def _label(text) -> str:
    return str(text or "?").replace('"', "#quot;").replace("\n", " ")


def _cn(dn) -> str:
    """The most telling part of a DN for a box: its CN, else the whole DN."""
    for part in str(dn or "").split(","):
        if part.strip().upper().startswith("CN="):
            return part.strip()
    return str(dn or "?")


def chain_diagram(row) -> str | None:
    """The Mermaid source (without the fence) for one report row, or None when its verdict is not drawn or the row
    has no stored chain or no accepted CA names."""
    verdict = row.get("verdict")
    chain = row.get("chain_summary") or []
    accepted = list(row.get("acceptable_cas") or [])
    if verdict not in DRAWN or not chain or not accepted:
        return None
    rem = row.get("remediation") or {}
    lines = ["flowchart LR",
             '  subgraph stored["stored chain: %s / %s"]' % (_label(row.get("keystore")), _label(row.get("alias")))]
    for i, cert in enumerate(chain):
        role = "leaf" if i == 0 else "CA"
        lines.append('    c%d["%s: %s"]' % (i, role, _label(_cn(cert.get("subject")))))
    for i in range(len(chain) - 1):
        lines.append("    c%d -->|issued by| c%d" % (i, i + 1))
    lines.append("  end")
    lines.append('  subgraph backend["CAs %s:%s accepts"]' % (_label(row.get("host")), _label(row.get("port"))))
    for j, dn in enumerate(accepted):
        lines.append('    a%d["%s"]' % (j, _label(_cn(dn))))
    lines.append("  end")
    top = chain[-1]
    top_issuer = top.get("issuer")
    hit = next((j for j, dn in enumerate(accepted) if dn == top_issuer or dn == top.get("subject")), None)
    missing = [m for m in rem.get("missing") or [] if isinstance(m, dict)]
    last = "c%d" % (len(chain) - 1)
    if verdict == "chain_incomplete" and missing:
        prev = last
        for k, m in enumerate(missing):
            lines.append('  m%d["missing: %s"]' % (k, _label(_cn(m.get("subject")))))
            lines.append("  %s -.->|issued by| m%d" % (prev, k))
            prev = "m%d" % k
        lines.append("  %s -.->|issued by| a0" % prev if hit is None else "  %s --> a%d" % (prev, hit))
        lines.append("  classDef missing stroke-dasharray: 5 5")
        lines.append("  class %s missing" % ",".join("m%d" % k for k in range(len(missing))))
    elif hit is not None:
        lines.append("  %s -->|%s| a%d" % (last, "accepted" if verdict != "ca_mismatch" else "issued by", hit))
    else:
        lines.append('  %s -. "issuer %s: not accepted" .-x a0' % (last, _label(_cn(top_issuer))))
    if verdict in ("key_type_not_accepted", "no_certificate_verify_scheme", "signature_algorithm_rejected"):
        lines.append('  note0["%s"]' % _label(rem.get("key_type") or verdict.replace("_", " ")))
        lines.append("  c0 --- note0")
    return "\n".join(lines)
