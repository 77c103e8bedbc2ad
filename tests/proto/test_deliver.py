"""`casella deliver`, the local delivery agent: -u/-m/-f, the INBOX
fallback, sysexits codes, and delivery as a user who cannot write the
store, through the running server's LMTP socket."""

import os
import shutil
import subprocess
import tempfile
import time

import pytest

import mailgen
from conftest import CASELLA, HOST, free_port, sanitizer_env
from helpers import fetch, idle_done, idle_start, idle_wait, status

EX_DATAERR, EX_NOUSER, EX_CANTCREAT, EX_TEMPFAIL = 65, 67, 73, 75


@pytest.fixture
def lmtp_srv(own_server):
    d = tempfile.mkdtemp(prefix="lda", dir="/tmp")
    os.chmod(d, 0o755)
    path = os.path.join(d, "lmtp.sock")
    srv = own_server(extra_args=["--lmtp-listen", "unix:" + path])
    srv.lmtp_path = path
    srv.login("alice", "alicepw").command("CREATE Archive").ok()
    yield srv
    shutil.rmtree(d, ignore_errors=True)


def deliver(srv, *args, message, as_user=None, env=None):
    cmd = [str(CASELLA), "--data", str(srv.data_dir), "deliver"] + list(args)
    if as_user is not None:
        cmd = ["runuser", "-u", as_user, "--"] + cmd
    e = sanitizer_env("detect_leaks=1")
    e.update(env or {})
    p = subprocess.run(cmd, input=message, capture_output=True, env=e, timeout=60)
    assert "Sanitizer" not in p.stderr.decode(errors="replace"), p.stderr
    return p


def messages(srv, mailbox="INBOX"):
    c = srv.login("alice", "alicepw")
    c.select(mailbox).ok()
    if status(c, mailbox)["MESSAGES"] == 0:
        return []
    got = fetch(c, "1:*", "BODY.PEEK[]")
    return [got[i]["BODY[]"] for i in sorted(got)]


def test_folder_sender_and_fallback(lmtp_srv):
    srv = lmtp_srv
    msg = mailgen.plain(subject="to the archive")
    p = deliver(srv, "-u", "alice", "-m", "Archive", "-f", "bounce@x.test", message=msg)
    assert p.returncode == 0, p.stderr
    assert messages(srv, "Archive") == [b"Return-Path: <bounce@x.test>\r\n" + msg]
    # A missing folder: INBOX, unless --strict-folder.
    p = deliver(srv, "-u", "alice", "-m", "Nope", message=msg)
    assert p.returncode == 0, p.stderr
    assert messages(srv) == [msg]
    p = deliver(srv, "-u", "alice", "-m", "Nope", "--strict-folder", message=msg)
    assert p.returncode == EX_CANTCREAT, p.stderr
    assert len(messages(srv)) == 1
    p = deliver(srv, "-u", "nobody-here", message=msg)
    assert p.returncode == EX_NOUSER, p.stderr
    p = deliver(srv, "-u", "alice", message=b"")
    assert p.returncode == EX_DATAERR
    p = deliver(srv, "-x", "alice", message=msg)
    assert p.returncode == 64  # EX_USAGE


def test_as_another_unix_user_through_lmtp(lmtp_srv):
    srv = lmtp_srv
    imap = srv.login("alice", "alicepw")
    imap.select("Archive").ok()
    tag, _ = idle_start(imap)
    time.sleep(0.1)
    # mbox "From " line and LF line ends, as an MTA may hand them over.
    raw = b"From bounce@x.test Mon Dec  1 10:00:00 2026\nSubject: lf\n\n.dot line\nbody\n"
    p = deliver(srv, "-u", "alice", "-m", "Archive", "-f", "bounce@x.test",
                "--lmtp", "unix:" + srv.lmtp_path, message=raw, as_user="nobody")
    assert p.returncode == 0, p.stderr
    seen = idle_wait(imap, lambda s: any(u.kind == "EXISTS" for u in s), 2.0)
    assert any(u.kind == "EXISTS" and u.number == 1 for u in seen), seen
    idle_done(imap, tag)
    want = b"Return-Path: <bounce@x.test>\r\nSubject: lf\r\n\r\n.dot line\r\nbody\r\n"
    assert messages(srv, "Archive") == [want]
    # The same bytes when deliver writes the store itself.
    assert deliver(srv, "-u", "alice", "-m", "Archive", "-f", "bounce@x.test",
                   message=raw).returncode == 0
    assert messages(srv, "Archive") == [want, want]


def test_lmtp_errors_map_to_sysexits(lmtp_srv):
    srv = lmtp_srv
    env = {"CASELLA_LMTP": "unix:" + srv.lmtp_path}
    msg = mailgen.plain()
    p = deliver(srv, "-u", "ghost", message=msg, as_user="nobody", env=env)
    assert p.returncode == EX_NOUSER, p.stderr
    p = deliver(srv, "-u", "alice", "-m", "Nope", "--strict-folder", message=msg,
                as_user="nobody", env=env)
    assert p.returncode == EX_CANTCREAT, p.stderr
    p = deliver(srv, "-u", "alice", "-m", "Nope", message=msg, as_user="nobody", env=env)
    assert p.returncode == 0, p.stderr
    assert messages(srv) == [msg]


def test_no_server_and_no_access_is_a_temporary_failure(own_server):
    srv = own_server()
    p = deliver(srv, "-u", "alice", "--lmtp", "unix:/nonexistent/lmtp.sock",
                message=mailgen.plain(), as_user="nobody")
    assert p.returncode == EX_TEMPFAIL, p.stderr
    assert b"LMTP" in p.stderr
    # As the owner (root here) with no server at all, it still delivers.
    srv.stop_checked()
    p = deliver(srv, "-u", "alice", message=mailgen.plain())
    assert p.returncode == 0, p.stderr
