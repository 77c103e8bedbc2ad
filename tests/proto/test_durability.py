"""Durability and shutdown: what got OK survives kill -9; SIGTERM is a
clean, prompt exit even with clients connected."""

import signal
import subprocess
import threading
import time

import mailgen
from helpers import appenduid, fetch, flags_of, status
from rawimap import ConnectionClosed


def test_append_survives_kill9(own_server):
    srv = own_server()
    c = srv.login("alice", "alicepw")
    msgs = [mailgen.plain(subject="durable"), mailgen.eightbit(), mailgen.bare_lf(),
            mailgen.multipart()]
    uids = []
    for m in msgs:
        uids += appenduid(c.append("INBOX", m, flags=["\\Flagged"]).ok())[1]
    validity = status(c, "INBOX")["UIDVALIDITY"]
    srv.kill9()
    srv.start()
    c = srv.login("alice", "alicepw")
    st = status(c, "INBOX")
    assert st["MESSAGES"] == len(msgs) and st["UIDVALIDITY"] == validity, st
    c.select().ok()
    got = fetch(c, "1:*", "(UID FLAGS BODY.PEEK[])")
    assert [int(got[i]["UID"]) for i in sorted(got)] == uids
    assert [got[i]["BODY[]"] for i in sorted(got)] == msgs
    for d in got.values():
        assert "\\FLAGGED" in flags_of(d["FLAGS"])
    c.close()


def test_flags_mailboxes_expunge_survive_kill9(own_server):
    srv = own_server()
    c = srv.login("alice", "alicepw")
    c.command("CREATE Keep/Sub").ok()
    c.command("SUBSCRIBE Keep").ok()
    for i in range(3):
        c.append("INBOX", mailgen.plain(subject="m%d" % i)).ok()
    c.select().ok()
    c.command("STORE 1 +FLAGS (\\Seen $Kw)").ok()
    c.command("STORE 2 +FLAGS.SILENT (\\Deleted)").ok()
    c.command("EXPUNGE").ok()
    srv.kill9()
    srv.start()
    c = srv.login("alice", "alicepw")
    r = c.command('LIST "" "*"').ok()
    names = {str(u.args()[2] if isinstance(u.args()[2], str) else u.args()[2].decode())
             for u in r.find("LIST")}
    assert {"INBOX", "Keep", "Keep/Sub"} <= names, r.describe()
    r = c.command('LSUB "" "*"').ok()
    assert len(r.find("LSUB")) == 1, r.describe()
    c.select().ok()
    got = fetch(c, "1:*", "(UID FLAGS)")
    assert [int(got[i]["UID"]) for i in sorted(got)] == [1, 3]
    assert {"\\SEEN", "$KW"} <= flags_of(got[1]["FLAGS"])
    # UIDs are not reused after the restart
    r = c.append("INBOX", mailgen.plain()).ok()
    assert appenduid(r)[1] == [4], r.describe()
    c.close()


def test_acknowledged_appends_survive_kill9_under_load(own_server):
    srv = own_server()
    acked = {}  # uid -> message
    stop = threading.Event()
    errors = []

    def appender(n):
        try:
            c = srv.login("alice", "alicepw")
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
            return
        i = 0
        while not stop.is_set():
            msg = mailgen.plain(subject="load %d-%d" % (n, i))
            i += 1
            try:
                r = c.append("INBOX", msg)
            except (OSError, ConnectionClosed):
                return  # killed mid-command: not acknowledged
            if r.status == "OK":
                acked[appenduid(r)[1][0]] = msg

    threads = [threading.Thread(target=appender, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    srv.kill9()
    stop.set()
    for t in threads:
        t.join(10)
    assert not errors, errors
    assert acked, "no APPEND completed in 1.5 s"
    srv.start()
    c = srv.login("alice", "alicepw")
    c.select().ok()
    got = fetch(c, "1:*", "(UID BODY.PEEK[])")
    stored = {int(d["UID"]): d["BODY[]"] for d in got.values()}
    for uid, msg in acked.items():
        assert stored.get(uid) == msg, "acknowledged UID %d lost or changed after kill -9" % uid
    c.close()


def test_sigterm_with_idle_and_plain_clients(own_server):
    srv = own_server()
    plain = srv.login("alice", "alicepw")
    plain.select().ok()
    idler = srv.login("bob", "bobpw")
    idler.select().ok()
    tag = idler.next_tag()
    idler.send(tag + " IDLE\r\n")
    assert idler.read_response().is_continuation
    fresh = srv.connect()  # not logged in
    proc = srv.proc
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(5)
    except subprocess.TimeoutExpired:
        raise AssertionError("casellad did not exit within 5 s of SIGTERM with clients connected")
    assert rc == 0, "exit status %s after SIGTERM\n%s" % (rc, srv.log_tail())
    assert time.monotonic() - t0 < 5
    for conn in (plain, idler, fresh):
        assert conn.wait_closed(2), "client connection still open after the server exited"
    srv.stop_checked()  # sanitizer check of the log
    # restart works and data is intact
    srv.start()
    c = srv.login("alice", "alicepw")
    c.command("NOOP").ok()
    c.close()


def test_sigterm_during_append_literal(own_server):
    srv = own_server()
    c = srv.login("alice", "alicepw")
    tag = c.next_tag()
    c.send(tag + " APPEND INBOX {5000}\r\n")
    assert c.read_response().is_continuation
    c.send(b"From: half\r\n\r\n" + b"z" * 100)
    time.sleep(0.2)
    srv.proc.send_signal(signal.SIGTERM)
    rc = srv.proc.wait(5)
    assert rc == 0, srv.log_tail()
    srv.stop_checked()
    srv.start()
    c = srv.login("alice", "alicepw")
    assert status(c, "INBOX")["MESSAGES"] == 0
    c.close()


def test_shared_bodies_survive_source_delete_and_kill9(own_server):
    srv = own_server()
    c = srv.login("alice", "alicepw")
    c.command("CREATE Src").ok()
    c.command("CREATE Dst").ok()
    msg = mailgen.multipart()
    c.append("Src", msg).ok()
    c.select("Src").ok()
    c.command("COPY 1 Dst").ok()
    c.command("UNSELECT").ok()
    c.command("DELETE Src").ok()
    srv.kill9()
    srv.start()
    c = srv.login("alice", "alicepw")
    c.select("Dst").ok()
    assert fetch(c, "1", "BODY.PEEK[]")[1]["BODY[]"] == msg
    c.close()
