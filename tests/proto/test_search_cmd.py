"""SEARCH and UID SEARCH: every RFC 9051 search key (plus RFC 3501's NEW,
OLD and RECENT), NOT/OR/parentheses, date boundaries in the stored zone,
ESEARCH result options (RFC 4731), SAVE and "$" (RFC 5182), the IMAP4rev2
response form, and bad input answered with BAD/NO on a connection that
keeps working.
"""

import imaplib

import pytest

from helpers import wait_indexed

from rawimap import Literal

# Five messages whose internal dates and Date: headers sit on day
# boundaries: the stored zone decides the day, not UTC.
M1 = (b"From: Alice <alice@example.com>\r\n"
      b"To: Bob <bob@example.org>\r\n"
      b"Cc: Carol <carol@example.net>\r\n"
      b"Subject: Hello World\r\n"
      b"Date: Mon, 04 Jan 2021 10:00:00 +0000\r\n"
      b"\r\n"
      b"The quick brown fox.\r\n")
# Internal date 23:30 -0500 on the 4th is the 5th in UTC.
M1_DATE = "04-Jan-2021 23:30:00 -0500"

M2 = (b"From: Carol <carol@example.net>\r\n"
      b"To: Alice <alice@example.com>\r\n"
      b"Subject: Re: meeting\r\n"
      b"Date: Tue, 05 Jan 2021 00:30:00 +0100\r\n"
      b"\r\n"
      b"Jumps over the lazy dog.\r\n" + b"filler line\r\n" * 40)
# 00:30 +0100 on the 5th is the 4th in UTC; so is the Date: header.
M2_DATE = "05-Jan-2021 00:30:00 +0100"

M3 = (b"From: Dave <dave@example.com>\r\n"
      b"To: Bob <bob@example.org>\r\n"
      b"Bcc: Erin <erin@example.com>\r\n"
      b"Subject: A long\r\n subject line\r\n"
      b"X-Custom: yes\r\n"
      b"\r\n" + b"x" * 5000 + b"\r\n")
# No Date: header: SENT* keys use the internal date.
M3_DATE = "10-Feb-2021 12:00:00 +0000"

M4 = ("From: Frank <frank@example.com>\r\n"
      "To: Alice <alice@example.com>\r\n"
      "Subject: Caf\u00e9 order\r\n"
      "Date: not a date at all\r\n"
      "\r\n"
      "Gr\u00f6\u00dfe: large\r\n").encode("utf-8")
# An unparseable Date: header also falls back to the internal date.
M4_DATE = "01-Mar-2021 00:00:00 +0000"

M5 = (b"From: Alice <alice@example.com>\r\n"
      b"To: Bob <bob@example.org>\r\n"
      b"Subject: weekly report\r\n"
      b"Date: Sun, 28 Feb 2021 23:00:00 -0200\r\n"
      b"\r\n"
      b"Numbers.\r\n")
M5_DATE = "02-Mar-2021 08:00:00 +0000"

MESSAGES = [
    (M1, "\\Seen", M1_DATE),
    (M2, "\\Flagged \\Answered $Work", M2_DATE),
    (M3, "\\Deleted \\Draft", M3_DATE),
    (M4, "", M4_DATE),
    (M5, "\\Seen $Junk", M5_DATE),
]


def append(c, msg, flags="", date=None, mailbox="INBOX"):
    parts = ["APPEND", mailbox]
    if flags:
        parts.append("(%s)" % flags)
    if date:
        parts.append('"%s"' % date)
    parts.append(Literal(msg))
    return c.command(*parts).ok()


@pytest.fixture
def box(c):
    """The five messages in INBOX, selected (UIDs = sequence numbers)."""
    for msg, flags, date in MESSAGES:
        append(c, msg, flags, date)
    c.command("SELECT INBOX").ok()
    return c


def search(c, *criteria):
    """Sequence numbers (or UIDs) of an OK SEARCH in rev1 form."""
    r = c.command(*criteria).ok()
    assert not r.find("ESEARCH"), r.describe()
    assert len(r.find("SEARCH")) == 1, r.describe()
    return r.search()


def esearch(r):
    """(tag, uid, {ITEM: value}) of the one ESEARCH response in r."""
    found = r.find("ESEARCH")
    assert len(found) == 1, r.describe()
    args = found[0].args()
    assert isinstance(args[0], list) and str(args[0][0]).upper() == "TAG", r.describe()
    tag = args[0][1].decode()
    rest = args[1:]
    uid = False
    if rest and str(rest[0]).upper() == "UID":
        uid = True
        rest = rest[1:]
    assert len(rest) % 2 == 0, r.describe()
    items = {}
    for i in range(0, len(rest), 2):
        name = str(rest[i]).upper()
        assert name not in items, r.describe()
        items[name] = str(rest[i + 1])
    return tag, uid, items


# ------------------------------------------------------------------ keys

@pytest.mark.parametrize("criteria,want", [
    ("ALL", [1, 2, 3, 4, 5]),
    ("SEEN", [1, 5]),
    ("UNSEEN", [2, 3, 4]),
    ("ANSWERED", [2]),
    ("UNANSWERED", [1, 3, 4, 5]),
    ("FLAGGED", [2]),
    ("UNFLAGGED", [1, 3, 4, 5]),
    ("DELETED", [3]),
    ("UNDELETED", [1, 2, 4, 5]),
    ("DRAFT", [3]),
    ("UNDRAFT", [1, 2, 4, 5]),
    ("KEYWORD $Work", [2]),
    ("KEYWORD $work", [2]),
    ("KEYWORD $Nothing", []),
    ("UNKEYWORD $Junk", [1, 2, 3, 4]),
    ("seen unanswered", [1, 5]),
])
def test_flag_keys(box, criteria, want):
    assert search(box, "SEARCH", criteria) == want


@pytest.mark.parametrize("criteria,want", [
    ("FROM alice", [1, 5]),
    ("FROM ALICE@EXAMPLE.COM", [1, 5]),
    ('FROM "Carol <carol"', [2]),
    ("TO bob", [1, 3, 5]),
    ("CC carol", [1]),
    ("CC bob", []),
    ("BCC erin", [3]),
    ('BCC ""', [3]),
    ("SUBJECT hello", [1]),
    ('SUBJECT "HELLO WORLD"', [1]),
    # The folded Subject of M3 matches unfolded.
    ('SUBJECT "long subject line"', [3]),
    ('HEADER X-Custom ""', [3]),
    ("HEADER x-custom YES", [3]),
    ("HEADER X-Custom no", []),
    ('HEADER X-Missing ""', []),
    ('HEADER Subject "re:"', [2]),
    ('FROM ""', [1, 2, 3, 4, 5]),
    ('BODY "quick brown"', [1]),
    ("BODY LAZY", [2]),
    # Header text is not body text.
    ("BODY hello", []),
    ('TEXT "hello world"', [1]),
    ("TEXT quick", [1]),
    ("TEXT dave@example", [3]),
    ('BODY ""', [1, 2, 3, 4, 5]),
])
def test_string_keys(box, criteria, want):
    assert search(box, "SEARCH", criteria) == want


def test_utf8_strings(box):
    # Non-ASCII bytes compare exactly (no charset decoding yet).
    cafe = "caf\u00e9".encode()
    r = box.command("SEARCH CHARSET UTF-8 SUBJECT", Literal(cafe)).ok()
    assert r.search() == [4]
    r = box.command("SEARCH CHARSET utf-8 BODY", Literal("gr\u00f6\u00dfe".encode())).ok()
    assert r.search() == [4]
    r = box.command("SEARCH CHARSET US-ASCII TEXT", Literal(b"large")).ok()
    assert r.search() == [4]


def test_size_keys(box):
    sizes = [len(m[0]) for m in MESSAGES]
    big = sizes[2]
    assert search(box, "SEARCH LARGER %d" % (big - 1)) == [3]
    assert search(box, "SEARCH LARGER %d" % big) == []
    assert search(box, "SEARCH SMALLER %d" % (big + 1)) == [1, 2, 3, 4, 5]
    assert search(box, "SEARCH SMALLER %d" % big) == [1, 2, 4, 5]
    s1 = sizes[0]
    want = [i + 1 for i, s in enumerate(sizes) if s < s1 + 1]
    assert 1 in want
    assert search(box, "SEARCH SMALLER %d" % (s1 + 1)) == want
    assert search(box, "SEARCH LARGER 0 SMALLER 1") == []
    assert search(box, "SEARCH LARGER 9223372036854775807") == []


@pytest.mark.parametrize("criteria,want", [
    # Internal dates compare by the day in their stored zone.
    ("ON 4-Jan-2021", [1]),
    ("ON 04-jan-2021", [1]),
    ("ON 5-Jan-2021", [2]),
    ("BEFORE 4-Jan-2021", []),
    ("BEFORE 5-Jan-2021", [1]),
    ("SINCE 5-Jan-2021", [2, 3, 4, 5]),
    ("SINCE 4-Jan-2021", [1, 2, 3, 4, 5]),
    ('SINCE "1-Mar-2021"', [4, 5]),
    ("ON 1-Mar-2021", [4]),
    ("BEFORE 1-Mar-2021", [1, 2, 3]),
    ("SINCE 3-Mar-2021", []),
    # Date: header in its own zone; M3 and M4 fall back to internal dates.
    ("SENTON 4-Jan-2021", [1]),
    ("SENTON 5-Jan-2021", [2]),
    ("SENTON 28-Feb-2021", [5]),
    ("SENTON 2-Mar-2021", []),
    ("SENTON 10-Feb-2021", [3]),
    ("SENTON 1-Mar-2021", [4]),
    ("SENTBEFORE 5-Jan-2021", [1]),
    ("SENTBEFORE 1-Mar-2021", [1, 2, 3, 5]),
    ("SENTSINCE 10-Feb-2021", [3, 4, 5]),
    ("SENTSINCE 1-Mar-2021", [4]),
])
def test_date_keys(box, criteria, want):
    assert search(box, "SEARCH", criteria) == want


@pytest.mark.parametrize("criteria,want", [
    ("2:4", [2, 3, 4]),
    ("4:2", [2, 3, 4]),
    ("*", [5]),
    ("1,3,5", [1, 3, 5]),
    ("UID 2,4", [2, 4]),
    ("UID 4:*", [4, 5]),
    ("UID 100", []),
    ("UID 100:*", [5]),
    ("NOT SEEN", [2, 3, 4]),
    ("NOT NOT SEEN", [1, 5]),
    ("OR SEEN FLAGGED", [1, 2, 5]),
    ("OR (FLAGGED ANSWERED) DELETED", [2, 3]),
    ("NOT (OR SEEN DELETED)", [2, 4]),
    ("(SEEN FROM alice)", [1, 5]),
    ("(SEEN (FROM alice (TO bob)))", [1, 5]),
    ("OR OR DRAFT FLAGGED KEYWORD $Junk", [2, 3, 5]),
    ("OR BODY quick SUBJECT weekly", [1, 5]),
    ("NOT BODY quick", [2, 3, 4, 5]),
    ("SEEN 2:5", [5]),
    ("OR 1 SUBJECT report", [1, 5]),
])
def test_sets_and_logic(box, criteria, want):
    assert search(box, "SEARCH", criteria) == want


def test_recent_new_old(login, user):
    a = login()
    for msg, flags, date in MESSAGES[:2]:
        append(a, msg, flags, date)
    a.command("SELECT INBOX").ok()
    # a claimed \Recent for both; a second session sees none recent.
    b = login()
    b.command("SELECT INBOX").ok()
    assert search(a, "SEARCH RECENT") == [1, 2]
    assert search(a, "SEARCH NEW") == [2]
    assert search(a, "SEARCH OLD") == []
    assert search(b, "SEARCH RECENT") == []
    assert search(b, "SEARCH OLD") == [1, 2]
    assert search(b, "SEARCH NEW") == []


def test_uid_search_after_expunge(c):
    for i in range(4):
        append(c, b"Subject: m%d\r\n\r\nbody %d\r\n" % (i + 1, i + 1))
    c.command("SELECT INBOX").ok()
    c.command("STORE 1 +FLAGS (\\Deleted)").ok()
    c.command("EXPUNGE").ok()
    # Now sequence numbers 1..3 are UIDs 2..4.
    assert search(c, "SEARCH ALL") == [1, 2, 3]
    assert search(c, "UID SEARCH ALL") == [2, 3, 4]
    assert search(c, "UID SEARCH UID 3:*") == [3, 4]
    assert search(c, "SEARCH UID 3") == [2]
    assert search(c, "UID SEARCH 1") == [2]
    assert search(c, "UID SEARCH SUBJECT m3") == [3]
    assert search(c, "uid search body \"BODY 4\"") == [4]
    assert search(c, "UID SEARCH UID 1") == []


def test_empty_mailbox(c):
    c.command("SELECT INBOX").ok()
    r = c.command("SEARCH ALL").ok()
    assert [u.raw for u in r.find("SEARCH")] == [b"* SEARCH"]
    assert search(c, "SEARCH BODY x") == []
    assert search(c, "UID SEARCH 1:*") == []
    r = c.command("SEARCH RETURN (MIN MAX COUNT ALL) ALL").ok()
    assert esearch(r)[2] == {"COUNT": "0"}


# --------------------------------------------------------------- ESEARCH

def test_esearch_options(box):
    r = box.command("SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN").ok()
    tag, uid, items = esearch(r)
    assert tag == r.tag and not uid
    assert items == {"MIN": "2", "MAX": "4", "COUNT": "3", "ALL": "2:4"}
    assert not r.find("SEARCH")

    r = box.command("SEARCH RETURN (COUNT) SEEN").ok()
    assert esearch(r)[2] == {"COUNT": "2"}
    r = box.command("SEARCH RETURN (MIN) SEEN").ok()
    assert esearch(r)[2] == {"MIN": "1"}
    r = box.command("SEARCH RETURN (MAX) SEEN").ok()
    assert esearch(r)[2] == {"MAX": "5"}
    # RETURN () means ALL; ALL is a compact sequence set.
    r = box.command("SEARCH RETURN () OR SEEN 2:3").ok()
    assert esearch(r)[2] == {"ALL": "1:3,5"}
    r = box.command("SEARCH RETURN (ALL) 1,3,5").ok()
    assert esearch(r)[2] == {"ALL": "1,3,5"}


def test_esearch_no_match(box):
    r = box.command("SEARCH RETURN (MIN MAX COUNT ALL) KEYWORD none").ok()
    assert esearch(r)[2] == {"COUNT": "0"}
    r = box.command("SEARCH RETURN (MIN MAX ALL) KEYWORD none").ok()
    tag, uid, items = esearch(r)
    assert items == {}
    assert r.find("ESEARCH")[0].raw == b'* ESEARCH (TAG "%s")' % r.tag.encode()


def test_uid_esearch(c):
    for i in range(6):
        append(c, b"Subject: n%d\r\n\r\nx\r\n" % i, "\\Seen" if i != 2 else "")
    c.command("SELECT INBOX").ok()
    c.command("STORE 1:2 +FLAGS (\\Deleted)").ok()
    c.command("EXPUNGE").ok()
    # UIDs 3..6 remain at sequence numbers 1..4; UID 3 is unseen.
    r = c.command("UID SEARCH RETURN (MIN MAX COUNT ALL) SEEN").ok()
    tag, uid, items = esearch(r)
    assert uid and tag == r.tag
    assert items == {"MIN": "4", "MAX": "6", "COUNT": "3", "ALL": "4:6"}
    r = c.command("SEARCH RETURN (MIN MAX ALL) SEEN").ok()
    tag, uid, items = esearch(r)
    assert not uid
    assert items == {"MIN": "2", "MAX": "4", "ALL": "2:4"}


def test_save_and_dollar(box):
    r = box.command("SEARCH RETURN (SAVE) UNSEEN").ok()
    # SAVE alone sends no result at all.
    assert not r.find("ESEARCH") and not r.find("SEARCH"), r.describe()
    r = box.command("FETCH $ (UID)").ok()
    assert sorted(seq for seq, _ in r.fetches()) == [2, 3, 4]
    r = box.command("UID FETCH $ (FLAGS)").ok()
    assert sorted(int(d["UID"]) for _, d in r.fetches()) == [2, 3, 4]
    # "$" as a search key and as a UID set.
    assert search(box, "SEARCH $") == [2, 3, 4]
    assert search(box, "SEARCH UID $ FLAGGED") == [2]
    assert search(box, "SEARCH NOT $") == [1, 5]
    # SAVE with other options still answers them; the saved set is
    # replaced, and "$" in the same command still means the old one.
    r = box.command("SEARCH RETURN (SAVE COUNT) OR $ SEEN").ok()
    assert esearch(r)[2] == {"COUNT": "5"}
    assert search(box, "SEARCH $") == [1, 2, 3, 4, 5]


def test_save_min_max(box):
    # RFC 5182 2.4: SAVE with only MIN/MAX saves just those.
    r = box.command("SEARCH RETURN (SAVE MIN) UNSEEN").ok()
    assert esearch(r)[2] == {"MIN": "2"}
    assert search(box, "SEARCH $") == [2]
    box.command("SEARCH RETURN (SAVE MIN MAX) UNSEEN").ok()
    assert search(box, "SEARCH $") == [2, 4]
    box.command("SEARCH RETURN (SAVE MAX ALL) UNSEEN").ok()
    assert search(box, "SEARCH $") == [2, 3, 4]


def test_save_failure_empties_result(box):
    box.command("SEARCH RETURN (SAVE) SEEN").ok()
    assert search(box, "SEARCH $") == [1, 5]
    box.command("SEARCH RETURN (SAVE) BOGUS").expect("BAD")
    assert search(box, "SEARCH $") == []
    r = box.command("FETCH $ (FLAGS)").ok()
    assert r.fetches() == []
    box.command("SEARCH RETURN (SAVE) SEEN").ok()
    box.command("SEARCH RETURN (SAVE) 99").expect("BAD")
    assert search(box, "SEARCH $") == []
    # A failed SEARCH without SAVE leaves "$" alone.
    box.command("SEARCH RETURN (SAVE) SEEN").ok()
    box.command("SEARCH BOGUS").expect("BAD")
    assert search(box, "SEARCH $") == [1, 5]


def test_save_survives_expunge(box):
    box.command("SEARCH RETURN (SAVE) OR 1 5").ok()
    box.command("STORE 1 +FLAGS (\\Deleted)").ok()
    box.command("EXPUNGE").ok()
    # UIDs 1 (expunged) and 5 were saved; UID 5 is now sequence 3.
    assert search(box, "SEARCH $") == [3]
    assert search(box, "UID SEARCH $") == [5]


def test_rev2_form(login, user):
    c = login(rev2=True)
    for msg, flags, date in MESSAGES:
        append(c, msg, flags, date)
    c.command("SELECT INBOX").ok()
    r = c.command("SEARCH SEEN").ok()
    assert not r.find("SEARCH"), r.describe()
    tag, uid, items = esearch(r)
    assert tag == r.tag and not uid and items == {"ALL": "1,5"}
    r = c.command("UID SEARCH UNSEEN").ok()
    assert esearch(r)[1:] == (True, {"ALL": "2:4"})
    r = c.command("SEARCH KEYWORD none").ok()
    assert esearch(r)[2] == {}
    r = c.command("SEARCH RETURN (COUNT) ALL").ok()
    assert esearch(r)[2] == {"COUNT": "5"}
    r = c.command("SEARCH RETURN (SAVE) SEEN").ok()
    assert not r.find("ESEARCH") and not r.find("SEARCH")


def test_tag_is_quoted(box):
    r = box.command("SEARCH RETURN (COUNT) ALL", tag="x.1").ok()
    assert r.find("ESEARCH")[0].raw == b'* ESEARCH (TAG "x.1") COUNT 5'


# ------------------------------------------------------------ bad input

@pytest.mark.parametrize("criteria", [
    "", "FOO", "SEEN BOGUS", '"ALL"', "FROM", "HEADER Subject", "NOT",
    "OR SEEN", "()", "(SEEN", "BEFORE 32-Jan-2021", "ON 2021-01-01",
    "SINCE", "LARGER x", "SMALLER -5", "LARGER 99999999999999999999",
    "UID", "UID x", "0", "1:", "6", "1:7", "RETURN (BOGUS) ALL",
    "RETURN ALL", "CHARSET", "CHARSET UTF-8", "KEYWORD",
])
def test_bad_criteria(box, criteria):
    r = box.command(("SEARCH " + criteria).rstrip())
    r.expect("BAD")
    assert not r.find("SEARCH") and not r.find("ESEARCH")
    assert search(box, "SEARCH SEEN") == [1, 5]


def test_bad_charset(box):
    r = box.command("SEARCH CHARSET X-NO-SUCH-CHARSET SUBJECT x").expect("NO", code="BADCHARSET")
    assert r.code.upper() == "BADCHARSET (US-ASCII UTF-8)"
    box.command("UID SEARCH CHARSET X-NO-SUCH-CHARSET ALL").expect("NO", code="BADCHARSET")
    box.command("NOOP").ok()
    assert search(box, "SEARCH CHARSET us-ascii SEEN") == [1, 5]


def test_limits(box):
    box.command("SEARCH " + "NOT " * 100 + "ALL").expect("BAD")
    box.command("SEARCH " + "ALL " * 10001 + "ALL").expect("BAD")
    assert search(box, "SEARCH " + "NOT " * 10 + "SEEN") == [1, 5]
    assert search(box, "SEARCH " + "SEEN " * 2000 + "ALL") == [1, 5]


def test_search_needs_selected_mailbox(c):
    c.command("SEARCH ALL").expect("BAD", "NO")
    c.command("NOOP").ok()


def test_literal_arguments(box):
    r = box.command("SEARCH HEADER", Literal(b"x-custom"), Literal(b"YES")).ok()
    assert r.search() == [3]
    r = box.command("SEARCH BODY", Literal(b"quick", mode="plus")).ok()
    assert r.search() == [1]


# ---------------------------------------------- metadata without files

def test_metadata_keys_do_not_read_files(own_server):
    """Flag, set, size and date keys must not open message files: with
    the body files gone they still work, body keys fail cleanly."""
    srv = own_server()
    c = srv.login("alice", "alicepw")
    try:
        for msg, flags, date in MESSAGES:
            append(c, msg, flags, date)
        c.command("SELECT INBOX").ok()
        wait_indexed(srv.data_dir)
        blobs = srv.data_dir / "blobs"
        hidden = srv.data_dir / "blobs.hidden"
        assert blobs.is_dir()
        blobs.rename(hidden)
        try:
            assert search(c, "SEARCH SEEN") == [1, 5]
            assert search(c, "SEARCH OR FLAGGED UID 3:4 NOT 1") == [2, 3, 4]
            assert search(c, "SEARCH ON 5-Jan-2021") == [2]
            assert search(c, "SEARCH LARGER 1000") == [3]
            # AND stops at the cheap key: nothing left to read.
            assert search(c, "SEARCH KEYWORD none BODY x") == []
            assert search(c, "SEARCH OR ALL BODY x") == [1, 2, 3, 4, 5]
            # BODY and TEXT are answered by the full-text index built at
            # delivery; a header key must still check the field itself.
            assert search(c, "SEARCH BODY quick") == [1]
            c.command("SEARCH SUBJECT hello").expect("NO")
        finally:
            hidden.rename(blobs)
        assert search(c, "SEARCH BODY quick") == [1]
    finally:
        c.close()


# ---------------------------------------------------------------- imaplib

def test_imaplib(server, user):
    m = imaplib.IMAP4("127.0.0.1", server.port, timeout=10)
    try:
        m.login(*user)
        for msg, flags, date in MESSAGES:
            typ, _ = m.append("INBOX", "(%s)" % flags if flags else None,
                              '"%s"' % date, msg)
            assert typ == "OK"
        typ, _ = m.select("INBOX")
        assert typ == "OK"
        typ, data = m.search(None, "FROM", '"alice"', "SEEN")
        assert typ == "OK" and data == [b"1 5"]
        typ, data = m.uid("SEARCH", "OR", "FLAGGED", "DELETED")
        assert typ == "OK" and data == [b"2 3"]
        typ, data = m.search("UTF-8", "BODY", "fox")
        assert typ == "OK" and data == [b"1"]
        typ, data = m.search(None, "KEYWORD", "nothing")
        assert typ == "OK" and data == [b""]
        with pytest.raises(imaplib.IMAP4.error):
            m.search(None, "NOSUCHKEY")
        typ, data = m.search("X-NO-SUCH-CHARSET", "ALL")
        assert typ == "NO" and b"BADCHARSET" in data[0]
        typ, data = m.search(None, "SENTON", "5-Jan-2021")
        assert typ == "OK" and data == [b"2"]
        typ, _ = m.noop()
        assert typ == "OK"
    finally:
        try:
            m.logout()
        except Exception:
            pass
