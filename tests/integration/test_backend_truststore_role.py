"""Role backend_truststore through ansible-playbook on local files: a reload pending from an interrupted run happens on
the next run (then nothing more to do); a failed reload restores the previous file with its owner, group and mode; a
symlinked truststore is written through; a path with a space reaches the validate command as one argument."""
import grp
import os
import pwd
import subprocess
import sys

import pytest
import yaml
from ansible.module_utils.mtls.backend_truststore import apply_truststore_cert, reload_marker

from tests.helpers.pki import chain_pem, make_ca

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def cas():
    return {"old": chain_pem([make_ca("CN=Role Test Old CA")]).decode(),
            "new": chain_pem([make_ca("CN=Role Test New CA")]).decode()}


def run_role(tmp_path, path, cert, reload_cmd, validate_cmd=""):
    play = [{"name": "backend", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": sys.executable},
             "tasks": [{"name": "Trust", "ansible.builtin.include_role": {"name": "backend_truststore"},
                        "vars": {"backend_truststore_path": str(path), "backend_truststore_certs": [cert],
                                 "backend_truststore_reload_cmd": reload_cmd,
                                 "backend_truststore_validate_cmd": validate_cmd}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                          str(tmp_path / "play.yml"), "-i", "localhost,"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    return res.returncode, res.stdout + res.stderr


def reloads(log):
    return log.read_text().count("reloaded") if log.exists() else 0


def test_a_reload_pending_from_an_interrupted_run_happens_next_time(tmp_path, cas):
    path, log = tmp_path / "ca.pem", tmp_path / "reload.log"
    path.write_text(cas["old"])
    # an earlier run wrote the CA and was killed before its handler reloaded the backend
    assert apply_truststore_cert(str(path), "pem_bundle", cas["new"])["reload_pending"] is True
    assert os.path.exists(reload_marker(str(path)))
    reload_cmd = "sh -c 'echo reloaded >> %s'" % log
    rc, out = run_role(tmp_path, path, cas["new"], reload_cmd)
    assert rc == 0, out[-3000:]
    assert reloads(log) == 1 and not os.path.exists(reload_marker(str(path)))
    rc, out = run_role(tmp_path, path, cas["new"], reload_cmd)
    assert rc == 0 and "changed=0" in out, out[-3000:]
    assert reloads(log) == 1


def test_a_failed_reload_restores_the_file_with_its_owner_group_and_mode(tmp_path, cas):
    if os.geteuid() != 0:
        pytest.skip("needs root to give the file to another owner")
    path = tmp_path / "ca.pem"
    path.write_text(cas["old"])
    uid, gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
    os.chown(path, uid, gid)
    os.chmod(path, 0o640)
    rc, out = run_role(tmp_path, path, cas["new"], "sh -c 'echo backend refused the reload >&2; exit 1'")
    assert rc != 0 and "backend refused the reload" in out and "previous file was restored" in out
    st = os.stat(path)
    assert path.read_text() == cas["old"]
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (uid, gid, 0o640)


def test_a_symlinked_truststore_in_a_folder_with_a_space_is_written_through(tmp_path, cas):
    real_dir = tmp_path / "real dir"
    real_dir.mkdir()
    real, link, log = real_dir / "client ca.pem", tmp_path / "ca-link.pem", tmp_path / "reload.log"
    real.write_text(cas["old"])
    link.symlink_to(real)
    rc, out = run_role(tmp_path, real, cas["new"], "sh -c 'echo reloaded >> %s'" % log, "test -s %s")
    assert rc == 0, out[-3000:]
    assert cas["new"].strip() in real.read_text() and reloads(log) == 1
    rc, out = run_role(tmp_path, link, cas["old"] + cas["new"], "sh -c 'echo reloaded >> %s'" % log, "test -s %s")
    assert rc == 0 and "changed=0" in out, out[-3000:]
    other = chain_pem([make_ca("CN=Role Test Third CA")]).decode()
    rc, out = run_role(tmp_path, link, other, "sh -c 'echo reloaded >> %s'" % log, "test -s %s")
    assert rc == 0, out[-3000:]
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert other.strip() in real.read_text() and reloads(log) == 2
