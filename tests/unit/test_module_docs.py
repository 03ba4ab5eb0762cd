"""Every module we ship (all in library/, none in a role) has documentation that Ansible itself can read: DOCUMENTATION
with an attributes block (check_mode, diff_mode), EXAMPLES and RETURN; the shared Apigee connection options come from
the `apigee` documentation fragment (plugins/doc_fragments/apigee.py) wherever a module takes them."""
import glob
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
MODULE_DIRS = [os.path.join(ROOT, "library")]


def test_no_module_or_filter_hides_in_a_role():
    hidden = glob.glob(os.path.join(ROOT, "roles", "*", "library", "*.py")) + \
        glob.glob(os.path.join(ROOT, "roles", "*", "filter_plugins", "*.py"))
    assert hidden == [], "modules belong in library/, filters in plugins/filter/: %s" % hidden


def _modules(folder):
    return sorted(os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(folder, "*.py")))


def _takes_connection_options(path):
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    return "ApigeeModule(" in text or "apigee_argument_spec()" in text


@pytest.fixture(scope="module")
def docs():
    out = {}
    for folder in MODULE_DIRS:
        names = _modules(folder)
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_LIBRARY=folder)
        res = subprocess.run([os.path.join(BIN, "ansible-doc"), "-t", "module", "--json", *names], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120, check=False)
        assert res.returncode == 0, res.stderr[-3000:]
        assert "WARNING" not in res.stderr, res.stderr[-3000:]  # e.g. a duplicate key Ansible would silently drop
        out.update(json.loads(res.stdout))
    return out


def test_every_module_is_documented(docs):
    names = [n for folder in MODULE_DIRS for n in _modules(folder)]
    assert len(names) >= 12
    for name in names:
        entry = docs.get(name)
        assert entry and entry.get("doc"), name
        doc = entry["doc"]
        assert doc["short_description"] and doc["options"], name
        assert {"check_mode", "diff_mode"} <= set(doc.get("attributes", {})), name
        assert entry.get("examples", "").strip() and entry.get("return"), name


def test_connection_options_match_the_client_argument_spec(docs):
    """Modules that take apigee_argument_spec() document exactly those options, with the same types and defaults."""
    from ansible.module_utils.mtls.apigee.client import apigee_argument_spec

    spec = apigee_argument_spec()
    users = [n for folder in MODULE_DIRS for n in _modules(folder)
             if _takes_connection_options(os.path.join(folder, n + ".py"))]
    assert len(users) >= 8
    for name in users:
        opts = docs[name]["doc"]["options"]
        for key, want in spec.items():
            assert key in opts, (name, key)
            assert opts[key].get("type", "str") == want.get("type", "str"), (name, key)
            if "default" in want and want["default"] is not None:
                assert opts[key].get("default") == want["default"], (name, key)
            assert bool(opts[key].get("required", False)) == bool(want.get("required", False)), (name, key)


def test_attributes_come_from_the_fragment_and_say_what_the_code_does(docs):
    """Every module extends the `attributes` fragment (plugins/doc_fragments/attributes.py); each attribute has a
    support level and words; check_mode `full` is what the module's AnsibleModule declares."""
    names = [(folder, n) for folder in MODULE_DIRS for n in _modules(folder)]
    for folder, name in names:
        with open(os.path.join(folder, name + ".py"), encoding="utf-8") as fh:
            text = fh.read()
        assert "  - attributes" in text, name
        attrs = docs[name]["doc"]["attributes"]
        for key in ("check_mode", "diff_mode"):
            assert attrs[key]["support"] in ("full", "partial", "none"), (name, key)
            assert attrs[key].get("description"), (name, key)
        if attrs["check_mode"]["support"] == "full":
            assert "supports_check_mode" not in text or "supports_check_mode=False" not in text, name
        if attrs["diff_mode"]["support"] == "none":
            assert "before and after" not in attrs["diff_mode"]["description"], name


def _structured_without_shape(returns, where=""):
    """RETURN values of type dict / list of dicts that say neither what they contain nor show a sample."""
    out = []
    for name, spec in (returns or {}).items():
        spec = spec or {}
        structured = spec.get("type") == "dict" or (spec.get("type") == "list" and spec.get("elements") == "dict")
        if structured and "contains" not in spec and "sample" not in spec:
            out.append(where + name)
        out += _structured_without_shape(spec.get("contains"), where + name + ".")
    return out


def test_module_docs_say_what_the_ecosystem_expects(docs):
    """requirements, seealso, and for every structured return value its contains or a sample."""
    for folder in MODULE_DIRS:
        for name in _modules(folder):
            doc = docs[name]["doc"]
            assert doc.get("requirements"), "%s: no requirements" % name
            assert doc.get("seealso"), "%s: no seealso" % name
            missing = _structured_without_shape(docs[name].get("return"))
            assert not missing, "%s: RETURN without contains or sample: %s" % (name, ", ".join(missing))


def test_a_module_that_talks_to_two_orgs_documents_each_orgs_connection_options(docs):
    """ApigeePairModule's dict options (one per org) document exactly apigee_connection_suboptions plus their own
    keys, with the same types, defaults and required flags."""
    from ansible.module_utils.mtls.apigee.client import apigee_connection_suboptions

    spec = apigee_connection_suboptions({"envs": {"type": "list", "elements": "str", "required": True}})
    for side in ("source", "target"):
        sub = docs["apigee_migration_check"]["doc"]["options"][side]["suboptions"]
        assert set(sub) == set(spec), (side, set(sub) ^ set(spec))
        for key, want in spec.items():
            assert sub[key].get("type", "str") == want.get("type", "str"), (side, key)
            assert sub[key].get("default") == want.get("default"), (side, key)
            assert bool(sub[key].get("required", False)) == bool(want.get("required", False)), (side, key)
            assert "fallback" not in want   # one org's APIGEE_* variables are never handed to the other
