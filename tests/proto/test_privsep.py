"""Privilege separation (docs/security.md): which user runs each process,
that the data directory is private, and that code running inside a
caged login process (tests/privsep/probe.c, preloaded: it stands in for
an exploited pre-login bug) can open no file of the store, no secret,
nothing at all, and connect nowhere."""

import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BUILD, REPO, Server

PROBE_SRC = REPO / "tests" / "privsep" / "probe.c"


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    out = tmp_path_factory.mktemp("probe") / "probe.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(out), str(PROBE_SRC), "-ldl"],
                   check=True)
    os.chmod(out.parent, 0o755)
    return out


def children(pid):
    """{role: [uid, ...]} of casellad's processes below pid."""
    roles = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            status = (d / "status").read_text()
            cmd = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(re.search(r"PPid:\s+(\d+)", status).group(1))
        uid = int(re.search(r"Uid:\s+(\d+)", status).group(1))
        if ppid == pid and b"--role" in cmd:
            role = cmd[cmd.index(b"--role") + 1].decode().split(":")[0]
            roles.setdefault(role, []).append(uid)
    return roles


def test_roles_run_as_their_users(own_server):
    if os.geteuid() != 0:
        pytest.skip("needs root to start as root")
    srv = own_server()
    casella = pwd.getpwnam("casella").pw_uid
    login = pwd.getpwnam("casella-login").pw_uid
    # The children drop root once they have their sockets: a moment
    # after the master listens.
    srv.login("alice", "alicepw").close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        roles = children(srv.pid)
        if all(u != 0 for uids in roles.values() for u in uids):
            break
        time.sleep(0.1)
    assert set(roles) == {"auth", "mail", "login"}, roles
    assert roles["auth"] == [casella] and roles["mail"] == [casella], roles
    assert roles["login"] and all(u == login for u in roles["login"]), roles
    assert login != casella
    status = Path("/proc/%d/status" % srv.pid).read_text()
    assert re.search(r"Uid:\s+0\s", status), "the master keeps root only"


def test_data_directory_made_private(own_server):
    srv = own_server()
    srv.stop_checked()
    data = srv.data_dir
    # An operator's loose directory: 0755 and 0644 everywhere.
    os.chmod(data, 0o755)
    for p in data.rglob("*"):
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    srv.start()
    for p in [data] + list(data.rglob("*")):
        st = p.lstat()
        if stat.S_ISSOCK(st.st_mode):
            continue
        want = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
        assert stat.S_IMODE(st.st_mode) == want, "%s is %o" % (p, stat.S_IMODE(st.st_mode))
        if os.geteuid() == 0:
            assert st.st_uid == pwd.getpwnam("casella").pw_uid, p


def probe_server(own_server, probe):
    srv = own_server()
    srv.stop_checked()
    data = srv.data_dir
    targets = [data / "casella.db", data, data / "blobs", data / "auth",
               data / "auth" / "credentials.db", Path("/run/casella/data/casella.db")]
    srv.extra_env = {"LD_PRELOAD": str(probe),
                     "CASELLA_PROBE_PATHS": ":".join(str(t) for t in targets),
                     "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:verify_asan_link_order=0"}
    srv.start()
    return srv, targets, wait_probe(srv, targets)


def wait_probe(srv, targets):
    """The probe's lines, once both login processes reported."""
    deadline = time.monotonic() + 20
    lines = []
    while time.monotonic() < deadline:
        lines = [l for l in srv.log_text().splitlines() if l.startswith("probe ")]
        if len(lines) >= 2 * (len(targets) + 2):
            break
        time.sleep(0.2)
    return lines


def check_probe_lines(lines, targets):
    assert lines, "the probe did not run in any login process"
    for t in list(targets) + ["/etc/shadow"]:
        hits = [l for l in lines if "open(%s)" % t in l]
        assert hits, "no probe of %s" % t
        for l in hits:
            assert l.endswith("= -1 errno=13"), "a login process opened it: " + l
    for l in [l for l in lines if "connect(" in l]:
        assert "= -1 errno=" in l, "a login process connected out: " + l


def test_prelogin_process_cannot_reach_mail_or_secrets(own_server, probe):
    srv, targets, lines = probe_server(own_server, probe)
    # The files are there: the test itself (as the owner or root) opens
    # them.
    for t in targets[:5]:
        assert os.path.exists(t), t
    check_probe_lines(lines, targets)


def test_cage_holds_without_root(probe):
    # Run as the data directory's owner itself: the login processes then
    # share the uid that owns every file, and Landlock alone keeps them
    # out.
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to start as another user")
    owner = pwd.getpwnam("casella")
    base = Path(tempfile.mkdtemp(prefix="casella-nonroot-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        data = base / "data"
        data.mkdir()
        os.chown(data, owner.pw_uid, owner.pw_gid)
        shutil.copy(probe, base / "probe.so")
        os.chmod(base / "probe.so", 0o755)
        srv = Server(data, base)
        srv.add_user("alice", "alicepw")
        targets = [data / "casella.db", data, data / "auth" / "credentials.db"]
        srv.prefix = ["setpriv", "--reuid=casella", "--regid=casella",
                      "--clear-groups", "--"]
        srv.extra_env = {"LD_PRELOAD": str(base / "probe.so"),
                         "CASELLA_PROBE_PATHS": ":".join(str(t) for t in targets),
                         "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:"
                                         "verify_asan_link_order=0"}
        srv.start()
        try:
            lines = wait_probe(srv, targets)
            assert lines and all(" uid=%d " % owner.pw_uid in l for l in lines), lines
            check_probe_lines(lines, targets)
            # And the server itself works, as that user.
            c = srv.login("alice", "alicepw")
            c.select().ok()
            c.close()
        finally:
            srv.stop_checked()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_mail_process_cannot_read_secrets(own_server, probe):
    # The mail process holds the mail, but only the auth process may read
    # the credential store: Landlock in the mail process says so.
    srv = own_server()
    srv.stop_checked()
    data = srv.data_dir
    creds = data / "auth" / "credentials.db"
    store = data / "casella.db"
    mounted = Path("/run/casella/data")
    targets = [creds, mounted / "auth" / "credentials.db", store, mounted / "casella.db"]
    srv.extra_env = {"LD_PRELOAD": str(probe), "CASELLA_PROBE_ROLE": "mail",
                     "CASELLA_PROBE_PATHS": ":".join(str(t) for t in targets),
                     "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:verify_asan_link_order=0"}
    srv.start()
    deadline = time.monotonic() + 20
    lines = []
    while time.monotonic() < deadline and len(lines) < len(targets) + 2:
        lines = [l for l in srv.log_text().splitlines() if l.startswith("probe ")]
        time.sleep(0.2)
    def result(path):
        hits = [l for l in lines if "open(%s)" % path in l]
        assert len(hits) == 1, (path, lines)
        return hits[0]
    for secret in targets[:2]:
        assert result(secret).endswith("= -1 errno=13"), result(secret)
    # The mail store itself it opens, through the mount it works in.
    assert not result(mounted / "casella.db").endswith("= -1 errno=13"), lines
    # And the server works.
    c = srv.login("alice", "alicepw")
    c.select().ok()
    c.close()
