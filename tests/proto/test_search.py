"""SEARCH (RFC 9051 6.4.4), ESEARCH return options (RFC 4731 / RFC 9051
7.3.4)."""

import pytest

import mailgen
from rawimap import Literal, astr, parse_seqset, quote

pytestmark = pytest.mark.usefixtures("server")


def _messages():
    big_body = b"".join(b"invoice line %04d ..........................................\r\n" % i
                        for i in range(80))
    assert len(big_body) > 4000
    return [
        (mailgen.plain(sender="Alice Example <alice@example.com>", to="bob@example.org",
                       cc="carol@example.net", subject="Hello World",
                       date="Fri, 01 Jan 2021 10:00:00 +0000", body="The quick brown fox\r\n"),
         ["\\Seen"], "05-Jan-2021 12:00:00 +0000"),
        (mailgen.plain(sender="Bob <bob@example.org>", to="alice@example.com",
                       subject="Re: hello", date="Mon, 15 Feb 2021 10:00:00 +0000",
                       body="lazy dog jumps\r\n"),
         ["\\Answered", "\\Flagged", "$Work"], "20-Feb-2021 12:00:00 +0000"),
        (mailgen.plain(sender="carol@example.net", to="Alice <alice@example.com>",
                       bcc="dave@example.com", subject="Invoice 42",
                       date="Wed, 10 Mar 2021 10:00:00 +0000", body=big_body),
         ["\\Deleted"], "10-Mar-2021 12:00:00 +0000"),
        (mailgen.plain(sender="Dave <dave@example.com>", to="alice@example.com",
                       subject="draft", date="Thu, 01 Apr 2021 10:00:00 +0000",
                       body="nothing special\r\n", extra_headers=["X-Custom: magic-value"]),
         ["\\Draft"], "01-Apr-2021 12:00:00 +0000"),
        (b"From: Eve <eve@example.com>\r\n"
         b"To: alice@example.com\r\n"
         b"Subject: Greetings from Cologne\r\n"
         b"Date: Sat, 01 May 2021 10:00:00 +0000\r\n"
         b"Message-ID: <eve.1@test.example>\r\n"
         b"MIME-Version: 1.0\r\n"
         b"Content-Type: text/plain; charset=utf-8\r\n"
         b"Content-Transfer-Encoding: 8bit\r\n\r\n" + "Grüße aus Köln\r\n".encode(),
         [], "01-May-2021 12:00:00 +0000"),
    ]


@pytest.fixture(scope="module")
def sc(_session_server):
    """A selected connection on a mailbox with five messages whose UIDs are
    2..6 (sequence number + 1)."""
    srv = _session_server.server
    name, pw = srv.new_user()
    c = srv.login(name, pw)
    c.append("INBOX", mailgen.plain(subject="dummy")).ok()
    for msg, flags, date in _messages():
        c.append("INBOX", msg, flags=flags, date=date).ok()
    c.select().ok()
    c.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok()
    c.command("UID EXPUNGE 1").ok()
    c.user = (name, pw)
    yield c
    c.close()


def search(c, criteria, uid=False):
    r = c.command("UID SEARCH" if uid else "SEARCH", criteria).ok()
    assert len(r.find("SEARCH")) == 1, r.describe()
    return sorted(r.search())


CASES = [
    ("ALL", [1, 2, 3, 4, 5]),
    ("SEEN", [1]),
    ("UNSEEN", [2, 3, 4, 5]),
    ("ANSWERED", [2]),
    ("UNANSWERED", [1, 3, 4, 5]),
    ("DELETED", [3]),
    ("UNDELETED", [1, 2, 4, 5]),
    ("FLAGGED", [2]),
    ("UNFLAGGED", [1, 3, 4, 5]),
    ("DRAFT", [4]),
    ("UNDRAFT", [1, 2, 3, 5]),
    ("KEYWORD $Work", [2]),
    ("UNKEYWORD $Work", [1, 3, 4, 5]),
    ("KEYWORD $Nope", []),
    ("FROM alice", [1]),
    ("FROM ALICE", [1]),
    ('FROM "Alice Example"', [1]),
    ("FROM example.org", [2]),
    ("TO bob@example.org", [1]),
    ("TO alice", [2, 3, 4, 5]),
    ("CC carol", [1]),
    ("BCC dave", [3]),
    ("SUBJECT hello", [1, 2]),
    ('SUBJECT "HELLO WORLD"', [1]),
    ("SUBJECT nothing-like-this", []),
    ("HEADER X-Custom magic", [4]),
    ('HEADER X-Custom ""', [4]),
    ('HEADER Message-ID ""', [1, 2, 3, 4, 5]),
    ('BODY "quick brown"', [1]),
    ("BODY QUICK", [1]),
    ('BODY "Hello World"', []),
    ('TEXT "Hello World"', [1]),
    ("TEXT lazy", [2]),
    ("TEXT magic-value", [4]),
    ("LARGER 4000", [3]),
    ("SMALLER 4000", [1, 2, 4, 5]),
    ("BEFORE 20-Feb-2021", [1]),
    ("ON 20-Feb-2021", [2]),
    ("SINCE 10-Mar-2021", [3, 4, 5]),
    ("SINCE 11-Mar-2021", [4, 5]),
    ("BEFORE 1-Jan-2021", []),
    ("SENTBEFORE 15-Feb-2021", [1]),
    ("SENTON 15-Feb-2021", [2]),
    ("SENTSINCE 01-Apr-2021", [4, 5]),
    ("UID 3:4", [2, 3]),
    ("UID 1", []),
    ("UID 6:*", [5]),
    ("2:4", [2, 3, 4]),
    ("2:4 SEEN", []),
    ("*", [5]),
    ("1,5 UNSEEN", [5]),
    ("NOT SEEN", [2, 3, 4, 5]),
    ("OR SEEN DRAFT", [1, 4]),
    ("(OR SEEN DRAFT) NOT FROM alice", [4]),
    ("OR (FROM alice SUBJECT hello) (FROM bob)", [1, 2]),
    ("NOT (OR SEEN DELETED)", [2, 4, 5]),
    ("OR OR SEEN DRAFT DELETED", [1, 3, 4]),
    ("((SEEN))", [1]),
    ("NOT NOT SEEN", [1]),
    ("UNSEEN SMALLER 4000 NOT DRAFT", [2, 5]),
]


@pytest.mark.parametrize("criteria,expected", CASES, ids=[c[0] for c in CASES])
def test_search(sc, criteria, expected):
    assert search(sc, criteria) == expected


def test_uid_search(sc):
    assert search(sc, "ALL", uid=True) == [2, 3, 4, 5, 6]
    assert search(sc, "SEEN", uid=True) == [2]
    assert search(sc, "UID 3:5 UNSEEN", uid=True) == [3, 4, 5]
    assert search(sc, "2:3", uid=True) == [3, 4]


def test_search_literal_argument(sc):
    r = sc.command("SEARCH SUBJECT", Literal("hello")).ok()
    assert sorted(r.search()) == [1, 2]


def test_search_charset_utf8(sc):
    r = sc.command("SEARCH CHARSET UTF-8 BODY", Literal("Grüße".encode())).ok()
    assert sorted(r.search()) == [5], r.describe()
    r = sc.command("SEARCH CHARSET US-ASCII SUBJECT hello").ok()
    assert sorted(r.search()) == [1, 2]


def test_search_unknown_charset(sc):
    r = sc.command("SEARCH CHARSET X-NO-SUCH-CHARSET SUBJECT hello").expect("NO")
    assert r.code_name == "BADCHARSET", r.describe()


@pytest.mark.parametrize("bad", ["FROBNICATE", "FROM", "SINCE 32-Jan-2021", "SINCE yesterday",
                                 "LARGER x", "(SEEN", "SEEN)", "OR SEEN", "UID", ""])
def test_search_bad_syntax(sc, bad):
    sc.command(("SEARCH " + bad).rstrip()).expect("BAD")
    sc.command("NOOP").ok()


# ---------------------------------------------------------------- ESEARCH

def esearch(r):
    """Parses the one untagged ESEARCH: (tag, uid?, {NAME: value})."""
    found = r.find("ESEARCH")
    assert len(found) == 1, "expected one ESEARCH:\n" + r.describe()
    args = found[0].args()
    tag = None
    if args and isinstance(args[0], list):
        corr = args.pop(0)
        assert astr(corr[0]).upper() == "TAG", r.describe()
        tag = astr(corr[1])
    uid = False
    if args and isinstance(args[0], str) and args[0].upper() == "UID":
        uid = True
        args.pop(0)
    assert len(args) % 2 == 0, r.describe()
    data = {str(args[i]).upper(): astr(args[i + 1]) for i in range(0, len(args), 2)}
    return tag, uid, data


def test_esearch_min_max_count_all(sc):
    r = sc.command("SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN").ok()
    assert not r.find("SEARCH"), r.describe()
    tag, uid, d = esearch(r)
    assert tag == r.tag and not uid, r.describe()
    assert d["MIN"] == "2" and d["MAX"] == "5" and d["COUNT"] == "4", r.describe()
    assert parse_seqset(d["ALL"]) == [2, 3, 4, 5], r.describe()


def test_uid_esearch(sc):
    r = sc.command("UID SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN").ok()
    tag, uid, d = esearch(r)
    assert tag == r.tag and uid, r.describe()
    assert (d["MIN"], d["MAX"], d["COUNT"]) == ("3", "6", "4"), r.describe()
    assert parse_seqset(d["ALL"]) == [3, 4, 5, 6]


def test_esearch_empty_return_means_all(sc):
    r = sc.command("SEARCH RETURN () FLAGGED").ok()
    _, _, d = esearch(r)
    assert d == {"ALL": "2"}, r.describe()


def test_esearch_single_option(sc):
    r = sc.command("SEARCH RETURN (MAX) ALL").ok()
    _, _, d = esearch(r)
    assert d == {"MAX": "5"}, r.describe()
    r = sc.command("SEARCH RETURN (COUNT) DELETED").ok()
    _, _, d = esearch(r)
    assert d == {"COUNT": "1"}, r.describe()


def test_esearch_no_match(sc):
    # RFC 4731 3.1: MIN, MAX and ALL are omitted for an empty result;
    # COUNT 0 is returned.
    r = sc.command("SEARCH RETURN (MIN MAX COUNT ALL) SUBJECT no-such-subject").ok()
    _, _, d = esearch(r)
    assert d == {"COUNT": "0"}, r.describe()


def test_esearch_bad_option(sc):
    sc.command("SEARCH RETURN (FROBS) ALL").expect("BAD")


def test_rev2_search_answers_esearch(server, sc):
    c = server.login(*sc.user, rev2=True)
    try:
        c.select().ok()
        r = c.command("SEARCH UNSEEN").ok()
        assert not r.find("SEARCH"), "IMAP4rev2 SEARCH must answer ESEARCH:\n" + r.describe()
        tag, uid, d = esearch(r)
        assert tag == r.tag and not uid
        assert parse_seqset(d["ALL"]) == [2, 3, 4, 5], r.describe()
        r = c.command("UID SEARCH SEEN").ok()
        tag, uid, d = esearch(r)
        assert uid and parse_seqset(d["ALL"]) == [2], r.describe()
        # empty result: ESEARCH with no ALL
        r = c.command("SEARCH SUBJECT no-such-subject").ok()
        _, _, d = esearch(r)
        assert "ALL" not in d, r.describe()
    finally:
        c.close()


# ------------------------------------------------------------- RECENT & co

def test_recent_new_old(server, user, connections):
    a = server.login(*user)
    connections.append(a)
    a.append("INBOX", mailgen.plain(subject="r1"), flags=["\\Seen"]).ok()
    a.append("INBOX", mailgen.plain(subject="r2")).ok()
    b = server.login(*user)
    connections.append(b)
    r = b.select().ok()
    assert r.one("RECENT").number == 2, r.describe()
    assert search(b, "RECENT") == [1, 2]
    assert search(b, "NEW") == [2]
    assert search(b, "OLD") == []
    assert search(b, "UNSEEN RECENT") == [2]
    # A second session that selects later sees them as not recent.
    c2 = server.login(*user)
    connections.append(c2)
    r = c2.select().ok()
    assert r.one("RECENT").number == 0, r.describe()
    assert search(c2, "RECENT") == []
    assert search(c2, "OLD") == [1, 2]
    assert search(c2, "NEW") == []
