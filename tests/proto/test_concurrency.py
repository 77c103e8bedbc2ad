"""Several sessions on one mailbox: unilateral EXISTS/FETCH/EXPUNGE
updates (RFC 9051 5.2, 7.4), IDLE (RFC 2177 / RFC 9051 6.3.13), concurrent
APPENDs, and the rule that no EXPUNGE is sent during FETCH/STORE/SEARCH
(RFC 9051 7.5.1)."""

import threading
import time

import pytest

import mailgen
from helpers import (apply_expunges, appenduid, fetch, flags_of, idle_done,
                     idle_start, idle_wait, status)
from rawimap import Literal


def noop_until(conn, pred, timeout=5.0):
    """Sends NOOPs until pred(untagged responses so far) is true."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        seen += conn.command("NOOP").ok().untagged
        if pred(seen) or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)


def test_append_shows_exists_in_other_session(login):
    a = login()
    b = login()
    a.append("INBOX", mailgen.plain()).ok()
    a.select().ok()
    r = b.select().ok()
    assert r.one("EXISTS").number == 1
    a.append("INBOX", mailgen.plain()).ok()
    a.append("INBOX", mailgen.plain()).ok()
    seen = noop_until(b, lambda s: any(u.kind == "EXISTS" for u in s))
    exists = [u.number for u in seen if u.kind == "EXISTS"]
    assert exists and exists[-1] == 3, seen
    assert sorted(fetch(b, "1:*", "UID")) == [1, 2, 3]


def test_store_shows_fetch_in_other_session(login):
    a = login()
    b = login()
    for _ in range(3):
        a.append("INBOX", mailgen.plain()).ok()
    a.select().ok()
    b.select().ok()
    a.command("STORE 2 +FLAGS (\\Flagged $Shared)").ok()
    seen = noop_until(b, lambda s: any(u.kind == "FETCH" for u in s))
    fetches = [u for u in seen if u.kind == "FETCH"]
    assert fetches, "no unilateral FETCH after another session's STORE: %r" % seen
    from rawimap import parse_fetch
    seq, d = parse_fetch(fetches[-1])
    assert seq == 2 and {"\\FLAGGED", "$SHARED"} <= flags_of(d["FLAGS"]), fetches


def test_expunge_shows_in_other_session(login):
    a = login()
    b = login()
    for _ in range(5):
        a.append("INBOX", mailgen.plain()).ok()
    a.select().ok()
    b.select().ok()
    a.command("STORE 2,4 +FLAGS.SILENT (\\Deleted)").ok()
    a.command("EXPUNGE").ok()
    seen = noop_until(b, lambda s: len([u for u in s if u.kind == "EXPUNGE"]) >= 2)
    assert apply_expunges([1, 2, 3, 4, 5], seen) == [1, 3, 5], seen
    got = fetch(b, "1:*", "UID")
    assert [int(got[i]["UID"]) for i in sorted(got)] == [1, 3, 5]


def test_expunge_and_append_together(login):
    a = login()
    b = login()
    for _ in range(3):
        a.append("INBOX", mailgen.plain()).ok()
    a.select().ok()
    b.select().ok()
    a.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok()
    a.command("EXPUNGE").ok()
    a.append("INBOX", mailgen.plain()).ok()
    seen = noop_until(b, lambda s: any(u.kind == "EXISTS" for u in s)
                      and any(u.kind == "EXPUNGE" for u in s))
    uids = apply_expunges([1, 2, 3], seen)
    exists = [u.number for u in seen if u.kind == "EXISTS"]
    assert uids == [2, 3] and exists[-1] == 3, seen
    got = fetch(b, "1:*", "UID")
    assert [int(got[i]["UID"]) for i in sorted(got)] == [2, 3, 4]


def test_idle_sees_append_from_other_session(login):
    a = login()
    b = login()
    b.select().ok()
    tag, _ = idle_start(b)
    time.sleep(0.2)
    t0 = time.monotonic()
    a.append("INBOX", mailgen.plain()).ok()
    seen = idle_wait(b, lambda s: any(u.kind == "EXISTS" for u in s), 2.0)
    elapsed = time.monotonic() - t0
    assert any(u.kind == "EXISTS" and u.number == 1 for u in seen), (
        "no '* 1 EXISTS' within 2 s of another session's APPEND (got %r)" % seen)
    assert elapsed < 2.5
    idle_done(b, tag)
    b.command("NOOP").ok()


def test_idle_sees_deliver_from_cli(server, user, login):
    b = login()
    b.select().ok()
    tag, _ = idle_start(b)
    time.sleep(0.2)
    msg = mailgen.plain(subject="delivered while idling")
    server.deliver(user[0], msg)
    t0 = time.monotonic()
    seen = idle_wait(b, lambda s: any(u.kind == "EXISTS" for u in s), 2.0)
    assert any(u.kind == "EXISTS" and u.number == 1 for u in seen), (
        "no '* 1 EXISTS' within 2 s after `casella deliver` exited (got %r)" % seen)
    idle_done(b, tag)
    assert fetch(b, "1", "BODY.PEEK[]")[1]["BODY[]"] == msg


def test_idle_sees_flags_and_expunge(login):
    a = login()
    b = login()
    for _ in range(2):
        a.append("INBOX", mailgen.plain()).ok()
    a.select().ok()
    b.select().ok()
    tag, _ = idle_start(b)
    time.sleep(0.2)
    a.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok()
    a.command("EXPUNGE").ok()
    seen = idle_wait(b, lambda s: any(u.kind == "EXPUNGE" for u in s), 2.0)
    assert [u.number for u in seen if u.kind == "EXPUNGE"] == [1], seen
    idle_done(b, tag)


def test_idle_done_without_events(login):
    b = login()
    b.select().ok()
    tag, _ = idle_start(b)
    time.sleep(0.3)
    idle_done(b, tag)
    b.command("NOOP").ok()


def test_idle_bad_continuation(login):
    # Anything but DONE ends IDLE with BAD (RFC 2177 / RFC 9051 6.3.13
    # leave it to the server; it must not hang or crash).
    b = login()
    b.select().ok()
    tag, _ = idle_start(b)
    b.send("NOTDONE\r\n")
    untagged, tagged = b.read_until_tagged(tag)
    assert tagged.status in ("BAD", "NO"), tagged
    b.command("NOOP").ok()


def test_idle_in_authenticated_state(login):
    # IDLE is valid in the authenticated state too.
    b = login()
    tag, _ = idle_start(b)
    idle_done(b, tag)


def test_concurrent_appends(server, user):
    threads = 8
    per_thread = 25
    errors = []
    uids = []
    lock = threading.Lock()

    def worker(n):
        try:
            conn = server.login(*user)
            try:
                for i in range(per_thread):
                    r = conn.append("INBOX", mailgen.plain(subject="t%d m%d" % (n, i)))
                    if r.status != "OK":
                        errors.append(r.describe())
                        return
                    _, got = appenduid(r)
                    with lock:
                        uids.extend(got)
            finally:
                conn.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("thread %d: %r" % (n, e))

    ts = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not errors, errors[:5]
    total = threads * per_thread
    assert sorted(uids) == list(range(1, total + 1)), "APPENDUIDs not unique/contiguous"
    c = server.login(*user)
    try:
        st = status(c, "INBOX")
        assert st["MESSAGES"] == total and st["UIDNEXT"] == total + 1, st
        c.select().ok()
        got = fetch(c, "1:*", "(UID BODY.PEEK[HEADER.FIELDS (Subject)])")
        assert [int(got[i]["UID"]) for i in sorted(got)] == list(range(1, total + 1))
        subjects = {got[i]["BODY[HEADER.FIELDS (SUBJECT)]"] for i in got}
        assert len(subjects) == total
    finally:
        c.close()


def test_no_expunge_during_fetch_store_search(server, user):
    """RFC 9051 7.5.1: EXPUNGE MUST NOT be sent while responding to FETCH,
    STORE or SEARCH.  Another session expunges while this one runs those
    commands; any EXPUNGE must wait for a command that allows it."""
    name, pw = user
    n = 60
    setup = server.login(name, pw)
    r = setup.command("APPEND INBOX", *[Literal(mailgen.plain(subject="x%d" % i)) for i in range(n)])
    r.ok()
    setup.close()
    reader = server.login(name, pw)
    writer = server.login(name, pw)
    try:
        reader.select().ok()
        writer.select().ok()
        stop = threading.Event()
        werr = []

        def expunger():
            try:
                uid = n
                while not stop.is_set() and uid > n // 2:
                    writer.command("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid).ok()
                    writer.command("UID EXPUNGE %d" % uid).ok()
                    uid -= 1
                    time.sleep(0.01)
            except Exception as e:  # noqa: BLE001
                werr.append(repr(e))

        t = threading.Thread(target=expunger)
        t.start()
        known = list(range(1, n + 1))  # the reader's view: seq -> UID
        violations = []
        deadline = time.monotonic() + 6
        rounds = 0
        while t.is_alive() and time.monotonic() < deadline:
            rounds += 1
            for cmd in ("FETCH 1:* (FLAGS)", "STORE 1 +FLAGS.SILENT ($x)", "SEARCH ALL"):
                r = reader.command(cmd)
                if any(u.kind == "EXPUNGE" for u in r.untagged):
                    violations.append(r.describe())
                # Sequence numbers stay those of the client's view.  (Data
                # for a message expunged elsewhere may be missing or the
                # command may fail with NO, RFC 2180 4.1.)
                assert r.status in ("OK", "NO"), r.describe()
                seqs = {u.number for u in r.find("FETCH")}
                assert not seqs or max(seqs) <= len(known), r.describe()
            r = reader.command("NOOP").ok()
            known = apply_expunges(known, r.untagged)
        stop.set()
        t.join(30)
        assert not werr, werr
        assert rounds >= 3, "the race never ran (%d rounds)" % rounds
        assert not violations, "EXPUNGE during FETCH/STORE/SEARCH:\n" + violations[0]
        r = reader.command("NOOP").ok()
        known = apply_expunges(known, r.untagged)
        got = fetch(reader, "1:*", "UID")
        assert [int(got[i]["UID"]) for i in sorted(got)] == [u for u in known], (known, got)
    finally:
        reader.close()
        writer.close()


def test_fetch_body_expunged_by_other_session(login):
    """Another session expunges a message this one still shows; fetching
    its body must not crash the server (RFC 2180 4.1: data or NO), and the
    EXPUNGE comes at the next NOOP."""
    a = login()
    b = login()
    msgs = [mailgen.plain(subject="keep me %d" % i) for i in range(2)]
    for m in msgs:
        a.append("INBOX", m).ok()
    a.select().ok()
    b.select().ok()
    b.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok()
    b.command("EXPUNGE").ok()
    r = a.command("FETCH 1:2 BODY.PEEK[]")
    assert r.status in ("OK", "NO"), r.describe()
    assert not r.find("EXPUNGE"), r.describe()
    for seq, d in r.fetches():
        if "BODY[]" in d:
            assert d["BODY[]"] == msgs[seq - 1], "wrong body for message %d" % seq
    r = a.command("NOOP").ok()
    assert [u.number for u in r.find("EXPUNGE")] == [1], r.describe()
    assert fetch(a, "1", "BODY.PEEK[]")[1]["BODY[]"] == msgs[1]


def test_selected_mailbox_deleted_by_other_session(login):
    a = login()
    b = login()
    a.command("CREATE Doomed").ok()
    a.append("Doomed", mailgen.plain()).ok()
    a.select("Doomed").ok()
    r = b.command("DELETE Doomed")
    assert r.status in ("OK", "NO"), r.describe()
    # a's session goes on somehow: tagged answers, or BYE and close
    from rawimap import ConnectionClosed
    try:
        r = a.command("FETCH 1 BODY.PEEK[]")
        assert r.status in ("OK", "NO", "BAD"), r.describe()
        r = a.command("NOOP")
        assert r.status in ("OK", "NO", "BAD"), r.describe()
        a.select().ok()
    except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
        pass
    b.command("NOOP").ok()


def test_pending_expunge_not_sent_during_fetch_store_search(login):
    """Deterministic form of the rule above: the EXPUNGE is already pending
    when FETCH, STORE and SEARCH run; only NOOP may deliver it."""
    a = login()
    b = login()
    a.command("APPEND INBOX", *[Literal(mailgen.plain(subject="p%d" % i)) for i in range(4)]).ok()
    a.select().ok()
    b.select().ok()
    b.command("STORE 2 +FLAGS.SILENT (\\Deleted)").ok()
    b.command("EXPUNGE").ok()
    for cmd in ("FETCH 1:* (UID FLAGS)", "STORE 1 +FLAGS ($y)", "SEARCH ALL",
                "FETCH 3 BODY.PEEK[HEADER]"):
        r = a.command(cmd)
        assert r.status in ("OK", "NO"), r.describe()
        assert not r.find("EXPUNGE"), "EXPUNGE sent during %s:\n%s" % (cmd, r.describe())
        seqs = {u.number for u in r.find("FETCH")}
        assert not seqs or max(seqs) <= 4, r.describe()
        if cmd == "SEARCH ALL":
            assert r.search() in ([1, 2, 3, 4], [1, 3, 4]), r.describe()
    r = a.command("NOOP").ok()
    assert [u.number for u in r.find("EXPUNGE")] == [2], r.describe()
    got = fetch(a, "1:*", "UID")
    assert [int(got[i]["UID"]) for i in sorted(got)] == [1, 3, 4]


def test_many_idlers_all_told(login):
    """Sessions in IDLE on one mailbox share one fetch of its changes
    (view_share_begin): every one must still get each change, including
    idlers that stand at different points (one saw fewer messages)."""
    a = login()
    idlers = []
    for i in range(30):
        c = login(rev2=(i % 2 == 0))
        c.select().ok()
        idlers.append(c)
    a.append("INBOX", mailgen.plain(subject="first")).ok()
    # Half of them catch up before idling; the others are one behind.
    for c in idlers[:15]:
        c.command("NOOP").ok()
    tags = [idle_start(c)[0] for c in idlers]
    time.sleep(0.2)
    a.append("INBOX", mailgen.plain(subject="second")).ok()
    for c, tag in zip(idlers, tags):
        seen = idle_wait(c, lambda s: any(u.kind == "EXISTS" and u.number == 2
                                          for u in s), 3.0)
        assert any(u.kind == "EXISTS" and u.number == 2 for u in seen), (idlers.index(c), seen)
        idle_done(c, tag)
    a.command("SELECT INBOX").ok()
    tags = [idle_start(c)[0] for c in idlers]
    time.sleep(0.2)
    a.command("STORE 1 +FLAGS (\\Flagged)").ok()
    for c, tag in zip(idlers, tags):
        seen = idle_wait(c, lambda s: any(u.kind == "FETCH" for u in s), 3.0)
        assert any(u.kind == "FETCH" for u in seen), ("fetch", idlers.index(c), seen)
        idle_done(c, tag)


def test_recent_goes_to_one_rev1_session(login):
    """RFC 3501 2.3.2: a new message is \\Recent in exactly one session,
    the first to learn of it."""
    a = login()
    c = login()
    writer = login()
    a.select().ok()
    c.select().ok()
    writer.append("INBOX", mailgen.plain(subject="new")).ok()
    r = a.command("NOOP").ok()
    assert r.one("EXISTS").number == 1
    assert r.one("RECENT").number == 1, r.describe()
    d = fetch(a, "1", "FLAGS")[1]
    assert "\\Recent" in d["FLAGS"], d
    r = c.command("NOOP").ok()
    assert r.one("EXISTS").number == 1
    assert all(u.number == 0 for u in r.find("RECENT")), r.describe()
    d = fetch(c, "1", "FLAGS")[1]
    assert "\\Recent" not in d["FLAGS"], d
