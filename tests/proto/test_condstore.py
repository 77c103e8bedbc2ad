"""CONDSTORE and QRESYNC (RFC 7162): HIGHESTMODSEQ, FETCH MODSEQ and
CHANGEDSINCE, STORE UNCHANGEDSINCE with [MODIFIED], SEARCH MODSEQ,
SELECT (QRESYNC ...) with VANISHED (EARLIER), VANISHED instead of EXPUNGE,
the enabling rules, sessions that enabled neither, and a bounded expunge
history (answers stay right after it is pruned)."""

import random
import sqlite3

import pytest

import mailgen
from helpers import flags_of


def fill(c, n, mailbox="INBOX"):
    for i in range(n):
        c.append(mailbox, mailgen.plain(subject="m%d" % i)).ok()


def modseq_of(items):
    v = items["MODSEQ"]
    assert isinstance(v, list) and len(v) == 1, items
    return int(v[0])


def highestmodseq(r):
    return int(r.codes()["HIGHESTMODSEQ"])


def uid_set(text):
    """Expands "1:3,7" into a set of ints."""
    out = set()
    for part in str(text).split(","):
        if ":" in part:
            a, b = part.split(":")
            a, b = int(a), int(b)
            out.update(range(min(a, b), max(a, b) + 1))
        else:
            out.add(int(part))
    return out


def vanished(r, earlier=None):
    """UIDs of the untagged VANISHED responses (only EARLIER ones, or only
    the others, when earlier is True/False)."""
    uids = set()
    for u in r.find("VANISHED"):
        args = u.args()
        is_earlier = bool(args) and isinstance(args[0], list)
        if earlier is not None and is_earlier != earlier:
            continue
        uids |= uid_set(args[-1])
    return uids


def uid_flags_modseq(r):
    """{uid: (flags, modseq)} of the FETCH responses."""
    out = {}
    for _, items in r.fetches():
        out[int(items["UID"])] = (flags_of(items["FLAGS"]) - {"\\RECENT"},
                                  modseq_of(items))
    return out


def test_capabilities(c):
    caps = c.capabilities()
    assert "CONDSTORE" in caps and "QRESYNC" in caps


def test_select_reports_highestmodseq(c):
    fill(c, 2)
    r = c.select().ok()
    assert highestmodseq(r) > 0
    st = c.command("STATUS INBOX (HIGHESTMODSEQ)").ok()
    assert "HIGHESTMODSEQ" in str(st.one("STATUS").args())


def test_enable_lists_what_it_turned_on(c):
    r = c.command("ENABLE CONDSTORE").ok()
    assert [str(a).upper() for a in r.one("ENABLED").args()] == ["CONDSTORE"]
    r = c.command("ENABLE CONDSTORE QRESYNC").ok()
    assert [str(a).upper() for a in r.one("ENABLED").args()] == ["QRESYNC"]
    r = c.command("ENABLE QRESYNC").ok()
    assert r.one("ENABLED").args() == []


def test_without_condstore_no_modseq_in_unsolicited_fetch(login, c):
    fill(c, 1)
    c.select().ok()
    other = login()
    other.select().ok()
    other.command("STORE 1 +FLAGS (\\Flagged)").ok()
    r = c.command("NOOP").ok()
    (_, items), = r.fetches()
    assert "MODSEQ" not in items
    other.command("STORE 1 +FLAGS (\\Deleted)").ok()
    other.command("EXPUNGE").ok()
    r = c.command("NOOP").ok()
    assert r.find("EXPUNGE") and not r.find("VANISHED")


def test_enabling_commands(login, user):
    """RFC 7162 3.1: each enabling command turns MODSEQ on in later
    unsolicited FETCH responses; the first one with a mailbox selected
    also reports HIGHESTMODSEQ."""
    setup = login()
    fill(setup, 1)
    for cmd in ["ENABLE CONDSTORE", "FETCH 1 (MODSEQ)",
                "FETCH 1 (FLAGS) (CHANGEDSINCE 1)", "SEARCH MODSEQ 1",
                "STORE 1 (UNCHANGEDSINCE 99999999) +FLAGS (\\Answered)",
                "STATUS INBOX (HIGHESTMODSEQ)"]:
        c = login()
        c.select().ok()
        r = c.command(cmd).ok()
        assert "HIGHESTMODSEQ" in r.codes(), (cmd, r.describe())
        other = login()
        other.select().ok()
        other.command("STORE 1 -FLAGS (\\Flagged)").ok()
        other.command("STORE 1 +FLAGS (\\Flagged)").ok()
        r = c.command("NOOP").ok()
        (_, items), = r.fetches()
        assert "MODSEQ" in items, (cmd, r.describe())
    c = login()
    r = c.command("SELECT INBOX (CONDSTORE)").ok()
    assert "HIGHESTMODSEQ" in r.codes()
    r = c.command("STORE 1 +FLAGS (\\Seen)").ok()
    (_, items), = r.fetches()
    assert "MODSEQ" in items


def test_fetch_modseq_and_changedsince(c):
    fill(c, 5)
    c.select().ok()
    r = c.command("FETCH 1:* (UID MODSEQ)").ok()
    base = {int(i["UID"]): modseq_of(i) for _, i in r.fetches()}
    assert len(base) == 5
    top = max(base.values())
    r = c.command("STORE 2,4 +FLAGS (\\Flagged)").ok()
    changed = {int(i["UID"]): modseq_of(i) for _, i in r.fetches()}
    assert set(changed) == {2, 4} and min(changed.values()) > top
    # RFC 7162 3.1.4.1: only what changed, with MODSEQ added.
    r = c.command("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % top).ok()
    got = {int(i["UID"]) if "UID" in i else s: i for s, i in r.fetches()}
    assert sorted(got) == [2, 4]
    assert all("MODSEQ" in i for i in got.values())
    r = c.command("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" %
                  max(changed.values())).ok()
    assert r.fetches() == []
    c.command("FETCH 1 (FLAGS) (CHANGEDSINCE x)").expect("BAD")
    c.command("FETCH 1 (FLAGS) (BOGUS 1)").expect("BAD")
    c.command("FETCH 1 (FLAGS) CHANGEDSINCE").expect("BAD")


def test_vanished_modifier_rules(c):
    fill(c, 2)
    c.select().ok()
    # Not enabled, not UID FETCH, no CHANGEDSINCE: all BAD (RFC 7162 3.2.6).
    c.command("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)").expect("BAD")
    c.command("ENABLE QRESYNC").ok()
    c.command("FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)").expect("BAD")
    c.command("UID FETCH 1:* (FLAGS) (VANISHED)").expect("BAD")
    c.command("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)").ok()


def test_store_unchangedsince_modified(login, c):
    """RFC 7162 3.1.3 example: a conditional STORE that fails for the
    messages changed by another client, [MODIFIED] naming them."""
    fill(c, 9)
    c.select().ok()
    r = c.command("FETCH 1:* (MODSEQ)").ok()
    mark = max(modseq_of(i) for _, i in r.fetches())
    other = login()
    other.select().ok()
    other.command("STORE 7,9 +FLAGS (\\Flagged)").ok()
    r = c.command("STORE 7,5,9 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Deleted)"
                  % mark).ok()
    assert r.code_name == "MODIFIED" and uid_set(r.code_args) == {7, 9}
    # .SILENT still tells the new MODSEQ of what changed.
    done = [(s, i) for s, i in r.fetches() if "MODSEQ" in i and "FLAGS" not in i]
    assert [s for s, _ in done] == [5]
    r = c.command("FETCH 5,7,9 (FLAGS)").ok()
    flags = {s: flags_of(i["FLAGS"]) for s, i in r.fetches()}
    assert "\\DELETED" in flags[5]
    assert "\\DELETED" not in flags[7] and "\\DELETED" not in flags[9]
    r = c.command("UID STORE 7 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)").ok()
    assert r.code_name == "MODIFIED" and r.code_args == "7"


def test_search_modseq(c):
    fill(c, 4)
    c.select().ok()
    r = c.command("FETCH 1:* (MODSEQ)").ok()
    mark = max(modseq_of(i) for _, i in r.fetches())
    r = c.command("STORE 3 +FLAGS (\\Draft)").ok()
    (_, items), = r.fetches()
    m3 = modseq_of(items)
    r = c.command("SEARCH MODSEQ %d" % (mark + 1)).ok()
    line = r.one("SEARCH")
    assert line.args() == ["3", ["MODSEQ", str(m3)]]
    r = c.command('SEARCH MODSEQ "/flags/\\\\draft" all %d' % (mark + 1)).ok()
    assert r.search() == [3]
    r = c.command("SEARCH MODSEQ %d" % (m3 + 1)).ok()
    assert r.one("SEARCH").args() == []
    r = c.command("UID SEARCH RETURN (COUNT) MODSEQ 1").ok()
    args = [str(a) for a in r.one("ESEARCH").args()[1:]]
    assert args[:3] == ["UID", "COUNT", "4"] and args[3] == "MODSEQ"
    c.command('SEARCH MODSEQ "/flags/x" bogus 1').expect("BAD")
    c.command("SEARCH MODSEQ").expect("BAD")


def test_qresync_needs_enable(c):
    fill(c, 1)
    r = c.select().ok()
    v = int(r.codes()["UIDVALIDITY"])
    c.command("SELECT INBOX (QRESYNC (%d 1))" % v).expect("BAD")
    c.command("ENABLE QRESYNC").ok()
    c.command("SELECT INBOX (QRESYNC (%d))" % v).expect("BAD")
    c.command("SELECT INBOX (QRESYNC (0 1))").expect("BAD")
    c.command("SELECT INBOX (QRESYNC (%d 1 1:5 (1:2)))" % v).expect("BAD")
    c.command("SELECT INBOX (QRESYNC (%d 1 1:5 (1:2 1:2)))" % v).ok()


def test_qresync_select(login, c):
    """RFC 7162 3.2.5: one SELECT brings a client from its point to now:
    VANISHED (EARLIER) for the expunged, FETCH for the changed."""
    fill(c, 10)
    r = c.select().ok()
    v, point = int(r.codes()["UIDVALIDITY"]), highestmodseq(r)
    other = login()
    other.select().ok()
    other.command("STORE 2 +FLAGS (\\Seen)").ok()
    other.command("STORE 3,5,8 +FLAGS (\\Deleted)").ok()
    other.command("UID EXPUNGE 3,5").ok()
    other.append("INBOX", mailgen.plain(subject="new")).ok()
    q = login()
    q.command("ENABLE QRESYNC").ok()
    r = q.command("SELECT INBOX (QRESYNC (%d %d))" % (v, point)).ok()
    assert vanished(r, earlier=True) == {3, 5}
    got = uid_flags_modseq(r)
    assert set(got) == {2, 8, 11}
    assert "\\SEEN" in got[2][0] and "\\DELETED" in got[8][0]
    assert all(m > point for _, m in got.values())
    assert highestmodseq(r) >= max(m for _, m in got.values())
    # known-uids limits the answer.
    q2 = login()
    q2.command("ENABLE QRESYNC").ok()
    r = q2.command("EXAMINE INBOX (QRESYNC (%d %d 1:4))" % (v, point)).ok()
    assert vanished(r, earlier=True) == {3}
    assert set(uid_flags_modseq(r)) == {2}
    # Another UIDVALIDITY: a plain SELECT.
    r = q2.command("SELECT INBOX (QRESYNC (%d %d))" % (v + 1, point)).ok()
    assert not r.find("VANISHED") and not r.fetches()
    # Re-selecting closes the old mailbox first (RFC 7162 3.2.11).
    assert any(u.code_name == "CLOSED" for u in r.untagged)


def test_vanished_replaces_expunge(login, c):
    fill(c, 6)
    c.command("ENABLE QRESYNC").ok()
    c.select().ok()
    other = login()
    other.select().ok()
    other.command("STORE 2,4 +FLAGS (\\Deleted)").ok()
    other.command("EXPUNGE").ok()
    r = c.command("NOOP").ok()
    assert not r.find("EXPUNGE")
    assert vanished(r, earlier=False) == {2, 4}
    r = c.command("STORE 1 +FLAGS (\\Deleted)").ok()
    r = c.command("EXPUNGE").ok()
    assert not r.find("EXPUNGE") and vanished(r, earlier=False) == {1}
    c.command("CREATE Dst").ok()
    r = c.command("UID MOVE 3 Dst").ok()
    assert not r.find("EXPUNGE") and vanished(r, earlier=False) == {3}


def test_uid_fetch_vanished(login, c):
    fill(c, 8)
    c.command("ENABLE QRESYNC").ok()
    c.select().ok()
    r = c.command("FETCH 1:* (MODSEQ)").ok()
    mark = max(modseq_of(i) for _, i in r.fetches())
    c.command("STORE 2,6 +FLAGS (\\Deleted)").ok()
    c.command("EXPUNGE").ok()
    c.command("UID STORE 4 +FLAGS (\\Answered)").ok()
    r = c.command("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % mark).ok()
    assert vanished(r, earlier=True) == {2, 6}
    assert set(uid_flags_modseq(r)) == {4}
    r = c.command("UID FETCH 3:5 (FLAGS) (CHANGEDSINCE %d VANISHED)" % mark).ok()
    assert not r.find("VANISHED")


def test_pruned_history_answers_safely(tmp_path, own_server):
    """With the expunge history pruned past the client's point, VANISHED
    (EARLIER) names every absent UID, never a present one, and a session
    that was behind still hears every expunge."""
    srv = own_server(extra_args=("--vanished-history", "4"))
    name, pw = srv.new_user()
    a = srv.login(name, pw)
    behind = srv.login(name, pw)
    fill(a, 20)
    r = a.select().ok()
    v, point = int(r.codes()["UIDVALIDITY"]), highestmodseq(r)
    behind.select().ok()
    rng = random.Random(7)
    gone = set(rng.sample(range(1, 21), 12))
    for uid in sorted(gone):
        a.command("UID STORE %d +FLAGS (\\Deleted)" % uid).ok()
        a.command("UID EXPUNGE %d" % uid).ok()
    a.command("UID STORE 1:* +FLAGS (\\Flagged)").ok()
    db = sqlite3.connect(str(srv.data_dir / "casella.db"))
    floor, = db.execute("SELECT max(vanished_floor) FROM mailboxes").fetchone()
    db.close()
    assert floor > point  # the history since the point is really gone
    q = srv.login(name, pw)
    q.command("ENABLE QRESYNC").ok()
    r = q.command("SELECT INBOX (QRESYNC (%d %d))" % (v, point)).ok()
    v_uids = vanished(r, earlier=True)
    assert v_uids >= gone and not (v_uids & (set(range(1, 21)) - gone))
    assert set(uid_flags_modseq(r)) == set(range(1, 21)) - gone
    r = behind.command("NOOP").ok()
    assert len(r.find("EXPUNGE")) == len(gone)
    r = behind.command("UID SEARCH ALL").ok()
    assert set(r.search()) == set(range(1, 21)) - gone


@pytest.mark.parametrize("seed", [1, 2])
def test_resync_matches_full_fetch(login, c, seed):
    """A QRESYNC client that reconnects after thousands of random changes
    by other sessions rebuilds the same state as a full fetch."""
    rng = random.Random(seed)
    fill(c, 60)
    c.command("ENABLE QRESYNC").ok()
    r = c.select().ok()
    v, point = int(r.codes()["UIDVALIDITY"]), highestmodseq(r)
    r = c.command("UID FETCH 1:* (FLAGS MODSEQ)").ok()
    cache = {u: f for u, (f, _) in uid_flags_modseq(r).items()}
    assert sorted(cache) == list(range(1, 61))
    c.logout()
    others = [login() for _ in range(3)]
    for o in others:
        o.select().ok()
    flags = ["\\Seen", "\\Flagged", "\\Answered", "\\Draft", "$Label1", "Work"]
    for step in range(1500):
        o = rng.choice(others)
        roll = rng.random()
        if roll < 0.05:
            o.append("INBOX", mailgen.plain(subject="s%d" % step)).ok()
        elif roll < 0.08:
            o.command("UID STORE %d +FLAGS (\\Deleted)" % rng.randint(1, 80)).ok()
            o.command("EXPUNGE").ok()
        else:
            op = rng.choice(["+FLAGS", "-FLAGS", "FLAGS"])
            o.command("UID STORE %d:%d %s (%s)" % (
                rng.randint(1, 80), rng.randint(1, 80), op,
                " ".join(rng.sample(flags, rng.randint(1, 3))))).ok()
    q = login()
    q.command("ENABLE QRESYNC").ok()
    r = q.command("SELECT INBOX (QRESYNC (%d %d %s))" % (
        v, point, ",".join(str(u) for u in sorted(cache)) or "1")).ok()
    for u in vanished(r, earlier=True):
        cache.pop(u, None)
    for u, (f, _) in uid_flags_modseq(r).items():
        if u in cache:
            cache[u] = f
    r = q.command("UID FETCH 1:* (FLAGS)").ok()
    truth = {int(i["UID"]): flags_of(i["FLAGS"]) - {"\\RECENT"}
             for _, i in r.fetches()}
    # Every message the client knew is either gone or has the flags a
    # full fetch shows (new ones it would fetch as new).
    assert cache == {u: f for u, f in truth.items() if u <= 60}
