"""Mail through a real Postfix (Debian's, private configuration from
../shared/scripts/start-postfix): over LMTP, and through `casella
deliver` as mailbox_command run as the recipient's Unix user and as a
pipe(8) transport.  An IDLE client sees each message arrive."""

import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

import mailgen
from conftest import CASELLA, HOST, SHARED_SCRIPTS, Server, free_port
from helpers import fetch, idle_done, idle_start, idle_wait, status

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or SHARED_SCRIPTS is None or shutil.which("swaks") is None,
    reason="needs root, ../shared/scripts and swaks")


def start_postfix(directory, **env):
    e = dict(os.environ)
    e.update(env)
    p = subprocess.run([str(SHARED_SCRIPTS / "start-postfix"), directory],
                       capture_output=True, text=True, env=e, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    return dict(re.findall(r"^export (\w+)='([^']*)'$", p.stdout, re.M))


@pytest.fixture
def postfix():
    """postfix(**env) -> the start-postfix exports; stopped at teardown."""
    dirs = []

    def _start(**env):
        d = tempfile.mkdtemp(prefix="pf", dir="/tmp")
        dirs.append(d)
        info = start_postfix(d, **env)
        info["DIR"] = d
        return info

    yield _start
    for d in dirs:
        subprocess.run([str(SHARED_SCRIPTS / "stop-postfix"), d], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def socket_dir():
    d = tempfile.mkdtemp(prefix="pfl", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def swaks(pf, to, subject, body="Hello through Postfix.\n"):
    p = subprocess.run(["swaks", "-S", "--server", HOST, "--port", pf["SMTP_PORT"],
                        "--from", "sender@remote.test", "--to", to,
                        "--header", "Subject: " + subject, "--body", body],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    return time.monotonic()


def wait_queue(pf):
    p = subprocess.run([str(SHARED_SCRIPTS / "postfix-wait-queue"), pf["DIR"], "60"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-3000:]
    log = open(pf["POSTFIX_LOG"]).read()
    assert "status=bounced" not in log and "status=deferred" not in log, log[-3000:]
    return log


def idle_on(srv, mailbox):
    c = srv.login("alice", "alicepw")
    c.select(mailbox).ok()
    tag, _ = idle_start(c)
    return c, tag


def expect_exists(conn, tag, n, timeout=30.0):
    seen = idle_wait(conn, lambda s: any(u.kind == "EXISTS" and u.number == n for u in s),
                     timeout)
    assert any(u.kind == "EXISTS" and u.number == n for u in seen), seen
    idle_done(conn, tag)


def bodies(srv, user, mailbox):
    c = srv.login(user, user + "pw")
    c.select(mailbox).ok()
    if status(c, mailbox)["MESSAGES"] == 0:
        return []
    got = fetch(c, "1:*", "BODY.PEEK[]")
    return [got[i]["BODY[]"] for i in sorted(got)]


def test_postfix_over_lmtp_reaches_idle_client(own_server, postfix):
    port = free_port()
    srv = own_server(extra_args=["--lmtp-listen", "%s:%d" % (HOST, port)])
    srv.login("alice", "alicepw").command("CREATE Archive").ok()
    pf = postfix(LMTP_TARGET="inet:%s:%d" % (HOST, port))
    conn, tag = idle_on(srv, "Archive")
    swaks(pf, "alice+Archive@" + pf["MAIL_DOMAIN"], "over lmtp")
    expect_exists(conn, tag, 1)
    log = wait_queue(pf)
    assert re.search(r"to=<alice\+Archive@example\.test>.*relay=%s\[%s\]:%d.*status=sent"
                     % (HOST, re.escape(HOST), port), log), log[-2000:]
    (got,) = bodies(srv, "alice", "Archive")
    assert got.startswith(b"Return-Path: <sender@remote.test>\r\n"), got[:300]
    assert b"Subject: over lmtp" in got
    # Two recipients, one LMTP transaction, one stored body.
    blobs = sum(len(f) for _, _, f in os.walk(srv.data_dir / "blobs"))
    swaks(pf, "alice@example.test,bob@example.test", "to both")
    wait_queue(pf)
    assert sum(len(f) for _, _, f in os.walk(srv.data_dir / "blobs")) == blobs + 1
    assert b"Subject: to both" in bodies(srv, "bob", "INBOX")[0]


def test_postfix_mailbox_command_as_the_recipient(own_server, postfix, socket_dir):
    sock = os.path.join(socket_dir, "lmtp.sock")
    srv = own_server(extra_args=["--lmtp-listen", "unix:" + sock])
    srv.login("alice", "alicepw").command("CREATE Archive").ok()
    command = ("'%s' deliver -u \"$USER\" -m \"$EXTENSION\" -f \"$SENDER\" --lmtp unix:%s"
               % (CASELLA, sock))
    pf = postfix(MAILBOX_COMMAND=command, LOCAL_USERS="alice")
    conn, tag = idle_on(srv, "Archive")
    # local(8) folds the extension to "archive": deliver finds Archive.
    swaks(pf, "alice+Archive@" + pf["MAIL_DOMAIN"], "as alice")
    expect_exists(conn, tag, 1)
    log = wait_queue(pf)
    assert re.search(r"to=<alice\+Archive@example\.test>.*relay=local.*status=sent", log), \
        log[-2000:]
    (got,) = bodies(srv, "alice", "Archive")
    assert b"Subject: as alice" in got and got.count(b"Return-Path:") == 1, got[:400]
    assert b"Delivered-To: alice" in got  # added by local(8)


def test_postfix_pipe_transport_runs_deliver(postfix, socket_dir):
    # pipe(8) runs deliver as the store's owner, which writes the store
    # itself: the data directory must be reachable by that user (not
    # under pytest's private /tmp/pytest-of-root).
    data = os.path.join(socket_dir, "data")
    os.mkdir(data)
    srv = Server(data, socket_dir)
    srv.add_user("alice", "alicepw")
    srv.start()
    try:
        command = "%s --data %s deliver -u ${user} -m ${extension} -f ${sender}" % (
            CASELLA, data)
        pf = postfix(DELIVER_CMD=command, DELIVER_USER="casella")
        conn, tag = idle_on(srv, "INBOX")
        swaks(pf, "alice@" + pf["MAIL_DOMAIN"], "through pipe")
        expect_exists(conn, tag, 1)
        wait_queue(pf)
        (got,) = bodies(srv, "alice", "INBOX")
        assert b"Subject: through pipe" in got and got.count(b"Return-Path:") == 1
    finally:
        srv.stop_checked()
