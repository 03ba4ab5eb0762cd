"""The JSSE selection model (certcore.jsse_select) against OpenJDK's own key managers, over real TLS handshakes.

One JVM (tests/interop/jsse/JsseMatrix.java) runs the whole matrix against an OpenSSL server that advertises each
case's acceptable-CA list; see tests/interop/jsse/jsse_matrix.py for how the cases and the server are built.
Standalone, with a printed summary:  .venv/bin/python tests/interop/jsse/jsse_matrix.py
"""
from __future__ import annotations

import os
import shutil
import sys
from types import SimpleNamespace

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "jsse"))
import jsse_matrix as jm  # noqa: E402

pytestmark = pytest.mark.interop

MIN_CASES = 200


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    if jm.java_executable() is None:
        pytest.skip("java (OpenJDK 17) is not installed: run `make setup`")
    workdir = tmp_path_factory.mktemp("jsse-matrix")
    try:
        yield jm.run_matrix(str(workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # the keystores hold (test) private keys


def test_matrix_is_large_and_covers_every_dimension(matrix):
    cases = matrix.cases
    assert len(cases) >= MIN_CASES
    assert len({c.id for c in cases}) == len(cases)
    cov = jm.coverage(cases)
    assert cov["alg"] == {"RSA", "EC"}
    assert cov["form"] == {"leaf", "full"}
    assert cov["protocol"] == {"TLSv1.2", "TLSv1.3"}
    assert {"ok", "expired", "wrong_eku", "not_yet_valid", "deep"} <= cov["leaf"]
    assert {"root", "intermediate", "unrelated", "empty", "several_mixed", "several_none", "leaf_subject",
            "int2"} <= cov["ca_list"]
    assert set(jm.VARIANTS) == cov["variant"]
    assert {"exact", "swap_string_type", "upper_case", "lower_case", "inner_spaces", "outer_spaces",
            "multi_rdn_order_swapped", "multi_rdn_split", "rdn_order_reversed"} <= cov["variant"]
    # every encoding variant is exercised where it can matter (listed DN = an issuer in the chain) in both protocols
    for variant in jm.VARIANTS:
        protos = {c.protocol for c in cases if c.variant == variant and c.ca_list == "intermediate"}
        assert protos == {"TLSv1.2", "TLSv1.3"}, variant
    # several acceptable CAs really means several on the wire
    assert all(len(c.acceptable) >= 2 for c in cases if c.ca_list.startswith("several"))
    assert all(not c.acceptable for c in cases if c.ca_list == "empty")


def test_every_case_ran_with_both_key_managers_and_the_harness_is_sound(matrix):
    """Both sides agree on what happened, the advertised DER is exactly the case's, the protocol is the pinned one."""
    problems = []
    for case in matrix.cases:
        for km in jm.KEY_MANAGERS:
            sent, issues = jm.jsse_observation(matrix, case, km)
            if sent is None or issues:
                problems.append(f"{case.describe()} {km}: {issues}")
    assert not problems, "\n".join(problems[:20])


def test_the_matrix_has_both_outcomes_for_each_key_manager_and_protocol(matrix):
    """A matrix where JSSE always (or never) sends would prove nothing about the model."""
    for km in jm.KEY_MANAGERS:
        for protocol in jm.PROTOCOLS:
            seen = {jm.jsse_observation(matrix, c, km)[0] for c in matrix.cases if c.protocol == protocol}
            assert seen == {True, False}, (km, protocol, seen)


def test_jsse_treats_encoding_variants_as_documented(matrix):
    """The listed intermediate with a full chain: JSSE matches exactly the variants X500Principal.equals folds."""
    for case in matrix.cases:
        if case.grid == "encoding" and case.ca_list == "intermediate":
            for km in jm.KEY_MANAGERS:
                sent, _ = jm.jsse_observation(matrix, case, km)
                assert sent is jm.VARIANTS[case.variant][1], f"{case.describe()} {km}"


def test_the_comparison_catches_a_model_that_ignores_the_list(matrix):
    """A naive model ("always sends the stored chain") must be caught, so agreement below means something."""

    def always_sends(chain, acceptable_cas, key_manager="SunX509", key_types=None, at=None):
        return SimpleNamespace(sent=True, matched_index=None, matched_issuer=None, reason="naive", rank=None)

    outcomes = jm.compare(matrix, always_sends)
    wrong = [o for o in outcomes if not o.agrees]
    assert len(wrong) == sum(1 for o in outcomes if o.jsse_sent is False) > 100


def test_model_agrees_with_jsse_on_every_case(matrix):
    from ansible.module_utils.mtls.certcore import jsse_select

    outcomes = jm.compare(matrix, jsse_select)
    report = jm.summary(matrix, outcomes)
    print(report)
    assert len(outcomes) == len(matrix.cases) * len(jm.KEY_MANAGERS)
    assert all(o.agrees for o in outcomes), report
