"""The LMTP server (RFC 2033): replies per recipient, folders from
user+detail, trace headers, one body for all recipients, bad input, and
push to IDLE sessions the moment a delivery is acknowledged."""

import os
import re
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path

import pytest

import mailgen
from conftest import HOST, free_port
from helpers import fetch, idle_done, idle_start, idle_wait, status
from lmtpclient import Lmtp


@pytest.fixture
def lmtp_server(own_server):
    """lmtp_server(*flags) -> server with LMTP on .lmtp_port and on the
    unix socket .lmtp_path."""
    dirs = []

    def _start(*flags):
        d = tempfile.mkdtemp(prefix="lmtp", dir="/tmp")
        dirs.append(d)
        port = free_port()
        path = os.path.join(d, "lmtp.sock")
        srv = own_server(extra_args=["--lmtp-listen", "%s:%d" % (HOST, port),
                                     "--lmtp-listen", "unix:" + path] + list(flags))
        srv.lmtp_port, srv.lmtp_path = port, path
        return srv

    yield _start
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


def connect(srv):
    c = Lmtp(HOST, srv.lmtp_port)
    assert c.greeting.code == 220, c.greeting
    return c


def bodies(srv, user, password, mailbox="INBOX"):
    c = srv.login(user, password)
    c.select(mailbox).ok()
    got = fetch(c, "1:*", "BODY.PEEK[]") if status(c, mailbox)["MESSAGES"] else {}
    return [got[i]["BODY[]"] for i in sorted(got)]


def blob_count(srv):
    return sum(len(files) for _, _, files in os.walk(srv.data_dir / "blobs"))


def test_lhlo_advertises_the_extensions(lmtp_server):
    srv = lmtp_server()
    c = connect(srv)
    r = c.lhlo()
    caps = [l.split()[0].upper() for l in r.lines[1:]]
    for cap in ("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8",
                "CHUNKING", "SIZE"):
        assert cap in caps, r
    assert c.cmd("HELO x").code == 500  # RFC 2033 4.1: LHLO, not HELO
    assert c.cmd("QUIT").code == 221


def test_one_reply_per_recipient_and_one_body(lmtp_server):
    srv = lmtp_server()
    before = blob_count(srv)
    c = connect(srv)
    c.lhlo()
    msg = mailgen.plain(subject="to two users")
    mail, rr, data, final = c.transaction(
        "sender@remote.test", ["alice@example.test", "nobody@example.test",
                               "bob@example.test"], msg)
    assert mail.code == 250
    assert [r.code for r in rr] == [250, 550, 250], rr
    assert rr[1].lines[0].startswith("5.1.1"), rr[1]
    assert data.code == 354
    assert [r.code for r in final] == [250, 250], final
    assert "<alice@example.test>" in final[0].text and "<bob@example.test>" in final[1].text
    # One body file for both recipients.
    assert blob_count(srv) == before + 1
    for user in ("alice", "bob"):
        (got,) = bodies(srv, user, user + "pw")
        assert got.startswith(b"Return-Path: <sender@remote.test>\r\n"), got[:200]
        assert b"Delivered-To:" not in got  # shared body: no per-user header
        assert got.endswith(msg)


def test_single_recipient_gets_delivered_to(lmtp_server):
    srv = lmtp_server()
    c = connect(srv)
    c.lhlo()
    msg = mailgen.plain()
    _, rr, _, final = c.transaction("", ["Alice@Example.Test"], msg)
    assert [r.code for r in rr + final] == [250, 250], (rr, final)
    (got,) = bodies(srv, "alice", "alicepw")
    head = b"Return-Path: <>\r\nDelivered-To: Alice@Example.Test\r\n"
    assert got.startswith(head) and got.endswith(msg), got[:400]
    # RFC 5321 4.4: a Received field below them, "with LMTP" (RFC 3848).
    received = got[len(head):len(got) - len(msg)].decode()
    assert re.fullmatch(r"Received: from test\.example \(127\.0\.0\.1:\d+\)\r\n"
                        r"\tby \S+ \(Casella\) with LMTP id [0-9a-f]+\.[0-9a-f]+\r\n"
                        r"\tfor <Alice@Example\.Test>;\r\n\t[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} "
                        r"\d{4} \d\d:\d\d:\d\d [+-]\d{4}\r\n", received), received


def test_detail_goes_to_an_existing_folder_else_inbox(lmtp_server):
    srv = lmtp_server()
    srv.login("alice", "alicepw").command("CREATE Archive").ok()
    c = connect(srv)
    c.lhlo()
    for rcpt in ("alice+Archive@example.test", "alice+Missing@example.test"):
        _, rr, _, final = c.transaction("s@x.test", [rcpt], mailgen.plain(subject=rcpt))
        assert final and final[0].code == 250, (rr, final)
    assert len(bodies(srv, "alice", "alicepw", "Archive")) == 1
    (inbox,) = bodies(srv, "alice", "alicepw")
    assert b"alice+Missing" in inbox


def test_detail_folders_off(lmtp_server):
    srv = lmtp_server("--detail-folders", "off")
    srv.login("alice", "alicepw").command("CREATE Archive").ok()
    c = connect(srv)
    c.lhlo()
    c.transaction("s@x.test", ["alice+Archive@example.test"], mailgen.plain())
    assert len(bodies(srv, "alice", "alicepw")) == 1
    assert bodies(srv, "alice", "alicepw", "Archive") == []


def test_local_domains(lmtp_server):
    srv = lmtp_server("--local-domain", "example.test")
    c = connect(srv)
    c.lhlo()
    assert c.cmd("MAIL FROM:<s@x.test>").code == 250
    assert c.cmd("RCPT TO:<alice@example.test>").code == 250
    r = c.cmd("RCPT TO:<alice@other.test>")
    assert r.code == 550 and r.lines[0].startswith("5.1.2"), r


def test_dot_stuffing_round_trips(lmtp_server):
    srv = lmtp_server()
    c = connect(srv)
    c.lhlo()
    msg = b"Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\nend\r\n"
    c.send("MAIL FROM:<s@x.test>\r\nRCPT TO:<alice>\r\nDATA\r\n")
    assert [c.reply().code for _ in range(3)] == [250, 250, 354]
    c.send(b"Subject: dots\r\n\r\n..\r\n...\r\n..leading\r\nend\r\n.\r\n")
    assert c.reply().code == 250
    (got,) = bodies(srv, "alice", "alicepw")
    assert got.endswith(msg), got


def test_bare_lf_is_refused_and_nothing_stored(lmtp_server):
    srv = lmtp_server()
    c = connect(srv)
    c.lhlo()
    c.send("MAIL FROM:<s@x.test>\r\nRCPT TO:<alice>\r\nRCPT TO:<bob>\r\nDATA\r\n")
    assert [c.reply().code for _ in range(4)] == [250, 250, 250, 354]
    # "\n.\n" does not end the data (SMTP smuggling): only CRLF.CRLF does.
    c.send(b"Subject: lf\r\n\r\nbare\nline\n.\nstill data\r\n.\r\n")
    r1, r2 = c.reply(), c.reply()
    assert r1.code == r2.code == 550 and r1.lines[0].startswith("5.6.0"), (r1, r2)
    assert c.cmd("NOOP").code == 250  # the session goes on
    assert bodies(srv, "alice", "alicepw") == [] and bodies(srv, "bob", "bobpw") == []


def test_client_vanishing_mid_data_leaves_nothing(lmtp_server):
    srv = lmtp_server()
    c = connect(srv)
    c.lhlo()
    c.send("MAIL FROM:<s@x.test>\r\nRCPT TO:<alice>\r\nDATA\r\n")
    assert [c.reply().code for _ in range(3)] == [250, 250, 354]
    c.send(b"Subject: cut\r\n\r\n" + b"x" * 100000 + b"\r\nno final dot")
    c.close()
    time.sleep(0.3)
    c = connect(srv)
    c.lhlo()
    assert bodies(srv, "alice", "alicepw") == []


def test_commands_out_of_order(lmtp_server):
    srv = lmtp_server()
    c = connect(srv)
    r = c.cmd("MAIL FROM:<s@x.test>")
    assert r.code == 503, r  # before LHLO
    c.lhlo()
    assert c.cmd("RCPT TO:<alice>").code == 503
    assert c.cmd("DATA").code == 503
    assert c.cmd("MAIL FROM:<s@x.test>").code == 250
    assert c.cmd("MAIL FROM:<s@x.test>").code == 503  # nested
    assert c.cmd("DATA").code == 503  # no valid recipient (RFC 2033 4.2)
    assert c.cmd("RCPT TO:<nobody>").code == 550
    assert c.cmd("DATA").code == 503
    assert c.cmd("RSET").code == 250
    assert c.cmd("FROB").code == 500
    assert c.cmd("MAIL FROM:<bad address>").code == 501
    assert c.cmd("MAIL FROM:<s@x.test> FOO=BAR").code == 555
    assert c.cmd("VRFY alice").code == 252  # no user enumeration


def test_overlong_line_and_too_many_errors(lmtp_server):
    srv = lmtp_server()
    c = connect(srv)
    c.lhlo()
    r = c.cmd("NOOP " + "x" * 100000)
    assert r.code == 500 and r.lines[0].startswith("5.5.2"), r
    assert c.cmd("NOOP").code == 250
    codes = []
    try:
        for _ in range(30):
            codes.append(c.cmd("FROB").code)
    except (EOFError, ConnectionResetError, BrokenPipeError):
        pass
    assert 421 in codes or len(codes) < 30, codes
    assert c.expect_closed()


def test_size_limits(lmtp_server):
    srv = lmtp_server("--max-message-size", "10000")
    c = connect(srv)
    r = c.lhlo()
    assert "SIZE 10000" in r.lines
    r = c.cmd("MAIL FROM:<s@x.test> SIZE=20000")
    assert r.code == 552 and r.lines[0].startswith("5.3.4"), r
    msg = mailgen.plain(body="y" * 20000)
    _, rr, _, final = c.transaction("s@x.test", ["alice", "bob"], msg)
    assert [r.code for r in final] == [552, 552], final
    assert bodies(srv, "alice", "alicepw") == []
    # The session is still usable.
    _, _, _, final = c.transaction("s@x.test", ["alice"], mailgen.plain())
    assert final[0].code == 250


def test_bdat_chunks(lmtp_server):
    srv = lmtp_server()
    c = connect(srv)
    c.lhlo()
    msg = mailgen.plain(subject="chunked", body=".starts with a dot\r\n" * 50)
    half = len(msg) // 2
    c.send("MAIL FROM:<s@x.test> BODY=8BITMIME\r\nRCPT TO:<alice>\r\nRCPT TO:<bob>\r\n")
    assert [c.reply().code for _ in range(3)] == [250] * 3
    c.send(b"BDAT %d\r\n" % half + msg[:half])
    assert c.reply().code == 250
    c.send(b"BDAT %d LAST\r\n" % (len(msg) - half) + msg[half:])
    assert [c.reply().code for _ in range(2)] == [250, 250]
    (got,) = bodies(srv, "bob", "bobpw")
    assert got.endswith(msg)
    # BDAT without recipients: the chunk is read and refused.
    c.send("MAIL FROM:<s@x.test>\r\nRCPT TO:<nobody>\r\nBDAT 5 LAST\r\nhello")
    assert [c.reply().code for _ in range(3)] == [250, 550, 503]
    assert c.cmd("NOOP").code == 250


def test_pipelined_transactions(lmtp_server):
    """RFC 2920: a batch ends with DATA; the next batch may follow the
    final dot in the same write."""
    srv = lmtp_server()
    c = connect(srv)
    c.lhlo()
    envelope = b"MAIL FROM:<s@x.test>\r\nRCPT TO:<alice>\r\nRCPT TO:<nobody>\r\nRCPT TO:<bob>\r\nDATA\r\n"
    c.send(envelope)
    assert [c.reply().code for _ in range(4)] == [250, 250, 550, 250]
    assert c.reply().code == 354
    for i in range(10):
        c.send(mailgen.plain(subject="pipelined %d" % i) + b".\r\n" + envelope)
        assert [c.reply().code for _ in range(2)] == [250, 250]
        assert [c.reply().code for _ in range(5)] == [250, 250, 550, 250, 354]
    c.send(mailgen.plain() + b".\r\nRSET\r\nNOOP\r\nQUIT\r\n")
    assert [c.reply().code for _ in range(5)] == [250, 250, 250, 250, 221]
    assert len(bodies(srv, "alice", "alicepw")) == 11
    assert len(bodies(srv, "bob", "bobpw")) == 11


def test_smtputf8(lmtp_server):
    srv = lmtp_server()
    c = connect(srv)
    c.lhlo()
    assert c.cmd("MAIL FROM:<jörg@example.test>").code == 501
    assert c.cmd("MAIL FROM:<jörg@example.test> SMTPUTF8").code == 250
    assert c.cmd("RCPT TO:<alice>").code == 250
    assert c.cmd("RCPT TO:<jörg@example.test>").code == 550
    r, final = c.data(b"Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\n\r\ngr\xc3\xbc\xc3\x9fe\r\n", 1)
    assert r.code == 354 and final[0].code == 250, final


def test_unix_socket_mode(lmtp_server):
    srv = lmtp_server()
    st = os.stat(srv.lmtp_path)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o666
    c = Lmtp(path=srv.lmtp_path)
    assert c.greeting.code == 220
    c.lhlo()
    _, _, _, final = c.transaction("s@x.test", ["bob"], mailgen.plain())
    assert final[0].code == 250
    srv2 = lmtp_server("--lmtp-socket-mode", "0660", "--lmtp-socket-group", "nogroup")
    st = os.stat(srv2.lmtp_path)
    assert stat.S_IMODE(st.st_mode) == 0o660
    import grp
    assert grp.getgrgid(st.st_gid).gr_name == "nogroup"


def test_idle_session_sees_lmtp_delivery_at_once(lmtp_server):
    srv = lmtp_server()
    imap = srv.login("alice", "alicepw")
    imap.select().ok()
    tag, _ = idle_start(imap)
    time.sleep(0.1)
    c = connect(srv)
    c.lhlo()
    _, _, _, final = c.transaction("s@x.test", ["alice"], mailgen.plain())
    assert final[0].code == 250
    t0 = time.monotonic()
    seen = idle_wait(imap, lambda s: any(u.kind == "EXISTS" for u in s), 2.0)
    assert any(u.kind == "EXISTS" and u.number == 1 for u in seen), seen
    assert time.monotonic() - t0 < 0.5
    idle_done(imap, tag)


def test_acknowledged_mail_survives_kill9(lmtp_server):
    srv = lmtp_server()
    c = connect(srv)
    c.lhlo()
    msgs = [mailgen.plain(subject="durable %d" % i) for i in range(5)]
    for m in msgs:
        _, _, _, final = c.transaction("s@x.test", ["alice"], m)
        assert final[0].code == 250
    srv.kill9()
    srv.start()
    got = bodies(srv, "alice", "alicepw")
    assert len(got) == len(msgs)
    assert all(g.startswith(b"Return-Path: <s@x.test>\r\nDelivered-To: alice\r\n"
                            b"Received: ") and g.endswith(m) for g, m in zip(got, msgs))


def test_concurrent_deliveries_while_clients_idle(lmtp_server):
    srv = lmtp_server()
    idlers = []
    for _ in range(5):
        conn = srv.login("alice", "alicepw")
        conn.select().ok()
        idlers.append((conn, idle_start(conn)[0]))
    senders, per_sender = 4, 15
    errors = []

    def send(n):
        try:
            c = connect(srv)
            c.lhlo()
            for i in range(per_sender):
                msg = mailgen.plain(subject="c %d-%d" % (n, i),
                                    message_id="<c%d-%d@test>" % (n, i))
                _, rr, _, final = c.transaction("s@x.test", ["alice", "bob"], msg)
                if [r.code for r in final] != [250, 250]:
                    errors.append((rr, final))
            c.cmd("QUIT")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def run_deliver(n):
        # `casella deliver` processes, writing the store beside the server.
        for i in range(per_sender):
            msg = mailgen.plain(subject="d %d-%d" % (n, i), message_id="<d%d-%d@test>" % (n, i))
            for user in ("alice", "bob"):
                p = srv.cli("deliver", "-u", user, input=msg, check=False)
                if p.returncode != 0:
                    errors.append(p.stderr)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(senders)]
    threads += [threading.Thread(target=run_deliver, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    total = (senders + 2) * per_sender
    for conn, tag in idlers:
        seen = idle_wait(conn, lambda s: any(u.kind == "EXISTS" and u.number == total
                                             for u in s), 10.0)
        assert any(u.kind == "EXISTS" and u.number == total for u in seen), seen[-3:]
        idle_done(conn, tag)
    for user in ("alice", "bob"):
        ids = sorted(b.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0]
                     for b in bodies(srv, user, user + "pw"))
        assert len(ids) == total and len(set(ids)) == total


def role_pid(srv, role):
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if ppid == srv.pid and b"--role" in args and role.encode() in args:
            return int(pid)
    raise AssertionError("no %s process" % role)


def test_notices_the_mail_process_could_not_take_are_sent_again(lmtp_server):
    """With the mail process stopped, its notice queue fills up
    (net.unix.max_dgram_qlen); the LMTP process keeps what did not fit
    and sends it again, so the IDLE session still ends up right."""
    srv = lmtp_server()
    imap = srv.login("bob", "bobpw")
    imap.select().ok()
    tag, _ = idle_start(imap)
    mail = role_pid(srv, "mail")
    qlen = int(open("/proc/sys/net/unix/max_dgram_qlen").read())
    os.kill(mail, 19)  # SIGSTOP
    try:
        c = connect(srv)
        c.lhlo()
        # Distinct mailboxes, so the hub cannot coalesce the notices.
        users = ["alice"] + ["u%d" % i for i in range(qlen + 20)]
        for u in users[1:]:
            srv.cli("user", "add", u, input="pw\n")
        for u in users:
            _, _, _, final = c.transaction("s@x.test", [u], mailgen.plain())
            assert final[0].code == 250
        _, _, _, final = c.transaction("s@x.test", ["bob"], mailgen.plain())
        assert final[0].code == 250
    finally:
        os.kill(mail, 18)  # SIGCONT
    seen = idle_wait(imap, lambda s: any(u.kind == "EXISTS" and u.number == 1 for u in s), 5.0)
    assert any(u.kind == "EXISTS" and u.number == 1 for u in seen), seen
    idle_done(imap, tag)


def test_many_recipients_and_a_large_message(lmtp_server):
    """Ten recipients of a 300 KB message, one transaction each."""
    srv = lmtp_server()
    users = ["m%d" % i for i in range(10)]
    for u in users:
        srv.cli("user", "add", u, input="pw\n")
    c = connect(srv)
    c.lhlo()
    body = "".join("line %06d of a long message with words in it\r\n" % i
                   for i in range(6000))
    for _ in range(3):
        _, rr, _, final = c.transaction("s@x.test", users, mailgen.plain(body=body))
        assert [r.code for r in final] == [250] * 10, final
    assert "store failed" not in srv.log_text()
