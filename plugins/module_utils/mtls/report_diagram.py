"""A picture of a broken link for the reports: the stored chain against the CAs the backend accepts, as a Mermaid
flowchart in the Markdown (GitLab and GitHub render it in tickets) and as an SVG beside it (for mail, where nothing
renders Mermaid). Plain Python, from the report row only; both drawings come from one model (``chain_model``).

Drawn for the verdicts where the picture is the diagnosis: ca_mismatch (the chain's top issuer is not accepted),
chain_incomplete (the missing intermediates, dashed, connect it), and the key-type / signature verdicts (the chain is
accepted by name but not by key or signature: the leaf says which key it has).
"""
from __future__ import annotations

import re
from xml.sax.saxutils import escape

DRAWN = ("ca_mismatch", "chain_incomplete", "key_type_not_accepted", "no_certificate_verify_scheme",
         "signature_algorithm_rejected")
NOTED = ("key_type_not_accepted", "no_certificate_verify_scheme", "signature_algorithm_rejected")


def _label(text) -> str:
    return str(text or "?").replace('"', "#quot;").replace("\n", " ")


def _cn(dn) -> str:
    """The most telling part of a DN for a box: its CN, else the whole DN."""
    for part in str(dn or "").split(","):
        if part.strip().upper().startswith("CN="):
            return part.strip()
    return str(dn or "?")


def chain_model(row) -> dict | None:
    """What the picture shows, for one report row (None when its verdict is not drawn or the row has no stored chain
    or no accepted CA names): the stored chain, the accepted CAs, the missing CAs, the edges and the note.

    Edges are ``(from, to, label, style)``, style ``solid``, ``dashed`` or ``refused``; node ids ``c<i>`` (stored),
    ``a<j>`` (accepted), ``m<k>`` (missing), ``note0``."""
    verdict = row.get("verdict")
    chain = row.get("chain_summary") or []
    accepted = list(row.get("acceptable_cas") or [])
    if verdict not in DRAWN or not chain or not accepted:
        return None
    rem = row.get("remediation") or {}
    model = {"stored_title": "stored chain: %s / %s" % (row.get("keystore") or "?", row.get("alias") or "?"),
             "backend_title": "CAs %s:%s accepts" % (row.get("host") or "?", row.get("port") or "?"),
             "chain": [("c%d" % i, "%s: %s" % ("leaf" if i == 0 else "CA", _cn(c.get("subject"))))
                       for i, c in enumerate(chain)],
             "accepted": [("a%d" % j, _cn(dn)) for j, dn in enumerate(accepted)],
             "missing": [],
             "edges": [("c%d" % i, "c%d" % (i + 1), "issued by", "solid") for i in range(len(chain) - 1)],
             "note": None}
    top = chain[-1]
    hit = next((j for j, dn in enumerate(accepted) if dn in (top.get("issuer"), top.get("subject"))), None)
    missing = [m for m in rem.get("missing") or [] if isinstance(m, dict)]
    last = "c%d" % (len(chain) - 1)
    if verdict == "chain_incomplete" and missing:
        prev = last
        for k, m in enumerate(missing):
            model["missing"].append(("m%d" % k, "missing: %s" % _cn(m.get("subject"))))
            model["edges"].append((prev, "m%d" % k, "issued by", "dashed"))
            prev = "m%d" % k
        same = next((j for j, dn in enumerate(accepted) if dn == missing[-1].get("subject")), None)
        if same is not None:      # the last missing CA is itself one the backend accepts
            model["edges"].append((prev, "a%d" % same, "accepted", "dashed"))
        else:
            model["edges"].append((prev, "a0", "issued by", "dashed") if hit is None else
                                  (prev, "a%d" % hit, "", "solid"))
    elif hit is not None:
        model["edges"].append((last, "a%d" % hit, "accepted" if verdict != "ca_mismatch" else "issued by", "solid"))
    else:
        model["edges"].append((last, "a0", "issuer %s: not accepted" % _cn(top.get("issuer")), "refused"))
    if verdict in NOTED:
        model["note"] = rem.get("key_type") or verdict.replace("_", " ")
    return model


def chain_diagram(row) -> str | None:
    """The Mermaid source (without the fence) for one report row, or None (``chain_model``)."""
    model = chain_model(row)
    if model is None:
        return None
    lines = ["flowchart LR", '  subgraph stored["%s"]' % _label(model["stored_title"])]
    lines += ['    %s["%s"]' % (nid, _label(text)) for nid, text in model["chain"]]
    lines += ["    %s -->|%s| %s" % (a, label, b) for a, b, label, _ in model["edges"]
              if a.startswith("c") and b.startswith("c")]
    lines += ["  end", '  subgraph backend["%s"]' % _label(model["backend_title"])]
    lines += ['    %s["%s"]' % (nid, _label(text)) for nid, text in model["accepted"]]
    lines.append("  end")
    lines += ['  %s["%s"]' % (nid, _label(text)) for nid, text in model["missing"]]
    for a, b, label, style in model["edges"]:
        if a.startswith("c") and b.startswith("c"):
            continue
        if style == "dashed":
            lines.append("  %s -.->|%s| %s" % (a, label, b))
        elif style == "refused":
            lines.append('  %s -. "%s" .-x %s' % (a, _label(label), b))
        else:
            lines.append("  %s -->%s %s" % (a, "|%s|" % label if label else "", b))
    if model["missing"]:
        lines.append("  classDef missing stroke-dasharray: 5 5")
        lines.append("  class %s missing" % ",".join(nid for nid, _ in model["missing"]))
    if model["note"]:
        lines += ['  note0["%s"]' % _label(model["note"]), "  c0 --- note0"]
    return "\n".join(lines)


# --------------------------------------------------------------------------- SVG

BOX_W, BOX_H, GAP, COL_GAP, PAD = 300, 40, 36, 160, 20


def chain_svg(row) -> str | None:
    """The same picture as a standalone SVG document (for mail), or None (``chain_model``)."""
    model = chain_model(row)
    if model is None:
        return None
    left = model["chain"] + model["missing"]
    right = model["accepted"]
    x_left, x_right = PAD, PAD + BOX_W + COL_GAP
    pos = {}
    for i, (nid, _) in enumerate(left):
        pos[nid] = (x_left, PAD + 30 + i * (BOX_H + GAP))
    for j, (nid, _) in enumerate(right):
        pos[nid] = (x_right, PAD + 30 + j * (BOX_H + GAP))
    rows = max(len(left), len(right)) + (1 if model["note"] else 0)
    width, height = x_right + BOX_W + PAD, PAD + 30 + rows * (BOX_H + GAP) + PAD
    if model["note"]:
        pos["note0"] = (x_left, PAD + 30 + len(left) * (BOX_H + GAP))
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="sans-serif" font-size="12">' % (width, height, width, height),
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
           'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#333"/></marker></defs>',
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="%d" font-weight="bold">%s</text>' % (x_left, PAD + 12, escape(model["stored_title"])),
           '<text x="%d" y="%d" font-weight="bold">%s</text>' % (x_right, PAD + 12, escape(model["backend_title"]))]
    missing = {nid for nid, _ in model["missing"]}
    for nid, text in left + right:
        x, y = pos[nid]
        dash = ' stroke-dasharray="5 5"' if nid in missing else ""
        fill = "#fff3cd" if nid in missing else ("#e8f0fe" if nid.startswith("a") else "#f1f3f4")
        out.append('<g id="%s"><rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="%s" stroke="#333"%s/>'
                   '<text x="%d" y="%d">%s</text></g>' % (nid, x, y, BOX_W, BOX_H, fill, dash, x + 8, y + 25,
                                                          escape(_fit(text))))
    for a, b, label, style in model["edges"]:
        (xa, ya), (xb, yb) = pos[a], pos[b]
        if xa == xb:   # down the same column
            x1, y1, x2, y2 = xa + BOX_W // 2, ya + BOX_H, xb + BOX_W // 2, yb
        else:          # across to the backend's column
            x1, y1, x2, y2 = xa + BOX_W, ya + BOX_H // 2, xb, yb + BOX_H // 2
        color = "#c5221f" if style == "refused" else "#333"
        dash = ' stroke-dasharray="5 5"' if style in ("dashed", "refused") else ""
        out.append('<line class="%s" x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s"%s marker-end="url(#arrow)"/>'
                   % (style, x1, y1, x2, y2, color, dash))
        if label:
            out.append('<text x="%d" y="%d" fill="%s">%s</text>' % ((x1 + x2) // 2 + 4, (y1 + y2) // 2 - 4, color,
                                                                    escape(_fit(label, 40))))
        if style == "refused":
            out.append('<text x="%d" y="%d" fill="%s" font-size="18">&#x2717;</text>' % (x2 - 16, y2 + 6, color))
    if model["note"]:
        x, y = pos["note0"]
        out.append('<g id="note0"><rect x="%d" y="%d" width="%d" height="%d" fill="#fce8e6" stroke="#c5221f"/>'
                   '<text x="%d" y="%d">%s</text></g>' % (x, y, BOX_W, BOX_H, x + 8, y + 25,
                                                          escape(_fit(model["note"]))))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _fit(text, width=44) -> str:
    text = str(text)
    return text if len(text) <= width else text[:width - 1] + "\u2026"


def svg_name(link_id) -> str:
    """The file name of a link's SVG beside the reports (``diagrams/<name>.svg``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(link_id)).strip("_") + ".svg"
