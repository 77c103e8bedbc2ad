"""SORT, UID SORT (RFC 5256 3, with RFC 5957 DISPLAYFROM/DISPLAYTO), ESORT
(RFC 5267 3) and THREAD (RFC 5256 4: ORDEREDSUBJECT and REFERENCES).

Every expected order and thread below was worked out by hand from the
RFC text for the crafted messages, and is written out literally.
"""

import pytest

from rawimap import Literal

# ------------------------------------------------------------------ SORT

# Five messages; the comment on each lists its sort values by hand.
# Body padding makes RFC822.SIZE order 2 < 4 < 1 < 5 < 3.
SORT_MSGS = [
    # 1: from carol, to bob (display "Zack"), no cc, base "Banana",
    #    sent 05-Jan 10:00Z, arrival 03-Jan
    (b"From: Carol <carol@example.net>\r\n"
     b"To: Zack <bob@example.org>\r\n"
     b"Subject: Re: Banana\r\n"
     b"Date: Tue, 05 Jan 2021 10:00:00 +0000\r\n"
     b"\r\n" + b"a" * 3000 + b"\r\n", "03-Jan-2021 00:00:00 +0000"),
    # 2: from alice (no display name: "alice@example.com"), to zoe
    #    ("Zoe"), cc carl, base "apple", sent 05-Jan 11:00Z (05:00 -0600),
    #    arrival 01-Jan
    (b"From: alice@example.com\r\n"
     b"To: Zoe <zoe@example.org>\r\n"
     b"Cc: Carl <carl@example.net>\r\n"
     b"Subject: apple\r\n"
     b"Date: Tue, 05 Jan 2021 05:00:00 -0600\r\n"
     b"\r\n" + b"b" * 1000 + b"\r\n", "01-Jan-2021 00:00:00 +0000"),
    # 3: from DAVE (display "Aaron D"), to alice, cc bob, base "Cherry",
    #    no Date: sent = arrival 04-Jan 12:00Z
    (b"From: \"Aaron D\" <DAVE@example.com>\r\n"
     b"To: alice@example.com\r\n"
     b"Cc: bob@example.org (Bob)\r\n"
     b"Subject: [list] Cherry\r\n"
     b"\r\n" + b"c" * 5000 + b"\r\n", "04-Jan-2021 12:00:00 +0000"),
    # 4: from bob ("Bob"), to yves (no display: "yves@example.org"),
    #    cc amy, base "apple", sent 05-Jan 23:30Z, arrival 02-Jan
    (b"From: Bob <bob@example.org>\r\n"
     b"To: <yves@example.org>\r\n"
     b"Cc: Amy <amy@example.net>, Zed <zed@example.net>\r\n"
     b"Subject: Fwd: apple\r\n"
     b"Date: Wed, 06 Jan 2021 00:30:00 +0100\r\n"
     b"\r\n" + b"d" * 2000 + b"\r\n", "02-Jan-2021 00:00:00 +0000"),
    # 5: no From, To, Cc or Subject: all empty; sent 05-Jan 10:00Z (the
    #    same as 1), arrival 05-Jan
    (b"Date: Tue, 05 Jan 2021 10:00:00 +0000\r\n"
     b"X-Note: nothing else\r\n"
     b"\r\n" + b"e" * 4000 + b"\r\n", "05-Jan-2021 00:00:00 +0000"),
]


def append(c, msg, date, mailbox="INBOX"):
    return c.command("APPEND", mailbox, '"%s"' % date, Literal(msg)).ok()


def fill(c, msgs, shift_uids=False):
    """Appends msgs to INBOX and selects it.  With shift_uids, a first
    message is appended and expunged, so UID = sequence number + 1."""
    if shift_uids:
        append(c, b"Subject: gone\r\n\r\nx\r\n", "01-Jan-2020 00:00:00 +0000")
    for msg, date in msgs:
        append(c, msg, date)
    c.command("SELECT INBOX").ok()
    if shift_uids:
        c.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok()
        c.command("EXPUNGE").ok()
    return c


@pytest.fixture
def box(c):
    return fill(c, SORT_MSGS)


def sort(c, *args):
    r = c.command(*args).ok()
    found = r.find("SORT")
    assert len(found) == 1 and not r.find("ESEARCH"), r.describe()
    return [int(t) for t in found[0].args()]


@pytest.mark.parametrize("criteria,want", [
    ("(ARRIVAL)", [2, 4, 1, 3, 5]),
    ("(SIZE)", [2, 4, 1, 5, 3]),
    ("(REVERSE SIZE)", [3, 5, 1, 4, 2]),
    # Case-insensitive: carol < DAVE; a missing From is "" and first.
    ("(FROM)", [5, 2, 4, 1, 3]),
    ("(TO)", [5, 3, 1, 4, 2]),
    # Only the first Cc counts (amy for 4); 1 and 5 tie on "".
    ("(CC)", [1, 5, 4, 3, 2]),
    # Base subjects: "" < apple = apple < Banana < Cherry; ties keep
    # sequence order.
    ("(SUBJECT)", [5, 2, 4, 1, 3]),
    # REVERSE flips the key, not the sequence-number tie-break.
    ("(REVERSE SUBJECT)", [3, 1, 2, 4, 5]),
    # In UTC: 3 (04-Jan, internal date), 1 = 5 (tie), 2 (11:00Z), 4.
    ("(DATE)", [3, 1, 5, 2, 4]),
    ("(REVERSE DATE)", [4, 2, 1, 5, 3]),
    ("(SUBJECT REVERSE DATE)", [5, 4, 2, 1, 3]),
    ("(REVERSE SUBJECT SIZE)", [3, 1, 2, 4, 5]),
    ("(subject size)", [5, 2, 4, 1, 3]),
    # RFC 5957: display name, else the address.
    ("(DISPLAYFROM)", [5, 3, 2, 4, 1]),
    ("(DISPLAYTO)", [5, 3, 4, 1, 2]),
    ("(REVERSE ARRIVAL)", [5, 3, 1, 4, 2]),
])
def test_sort_keys(box, criteria, want):
    assert sort(box, "SORT", criteria, "UTF-8", "ALL") == want


def test_sort_search_criteria(box):
    assert sort(box, "SORT (SIZE) UTF-8 NOT FROM alice") == [4, 1, 5, 3]
    assert sort(box, "SORT (SIZE) US-ASCII 2:4") == [2, 4, 3]
    assert sort(box, "SORT (DATE) utf-8 OR SUBJECT apple LARGER 4500") == [3, 2, 4]
    assert sort(box, 'SORT (SIZE) "UTF-8" SUBJECT nothing-matches') == []
    r = box.command("SORT (SIZE) UTF-8 SUBJECT nothing-matches").ok()
    assert r.find("SORT")[0].raw == b"* SORT", r.describe()


def test_uid_sort(c):
    fill(c, SORT_MSGS, shift_uids=True)
    assert sort(c, "UID SORT (SIZE) UTF-8 ALL") == [3, 5, 2, 6, 4]
    assert sort(c, "SORT (SIZE) UTF-8 ALL") == [2, 4, 1, 5, 3]
    # UIDs 2:4 are sequence numbers 1:3; by arrival 2, 1, 3.
    assert sort(c, "UID SORT (ARRIVAL) UTF-8 UID 2:4") == [3, 2, 4]


def esort(r):
    """(uid, {ITEM: value}) of the one ESEARCH response, with its tag
    checked."""
    found = r.find("ESEARCH")
    assert len(found) == 1 and not r.find("SORT"), r.describe()
    args = found[0].args()
    assert str(args[0][0]).upper() == "TAG" and args[0][1].decode() == r.tag
    rest = args[1:]
    uid = bool(rest) and str(rest[0]).upper() == "UID"
    if uid:
        rest = rest[1:]
    assert len(rest) % 2 == 0, r.describe()
    return uid, {str(rest[i]).upper(): str(rest[i + 1]) for i in range(0, len(rest), 2)}


def test_esort(box):
    r = box.command("SORT RETURN (MIN MAX COUNT ALL) (SIZE) UTF-8 ALL").ok()
    # RFC 5267: MIN/MAX are the first and last in sort order; ALL keeps
    # the order and is not folded into ranges.
    assert esort(r) == (False, {"MIN": "2", "MAX": "3", "COUNT": "5",
                                "ALL": "2,4,1,5,3"})
    # Ascending runs may be ranges: 5, 3 4, 1 2.
    r = box.command("SORT RETURN (ALL) (DISPLAYTO) UTF-8 ALL").ok()
    assert esort(r) == (False, {"ALL": "5,3:4,1:2"})
    r = box.command("SORT RETURN () (REVERSE SIZE) UTF-8 ALL").ok()
    assert esort(r) == (False, {"ALL": "3,5,1,4,2"})
    r = box.command("SORT RETURN (COUNT) (SIZE) UTF-8 SUBJECT none").ok()
    assert esort(r) == (False, {"COUNT": "0"})
    r = box.command("SORT RETURN (MIN MAX ALL) (SIZE) UTF-8 SUBJECT none").ok()
    assert esort(r) == (False, {})
    r = box.command("SORT RETURN (min) (DATE) UTF-8 ALL").ok()
    assert esort(r) == (False, {"MIN": "3"})


def test_uid_esort(c):
    fill(c, SORT_MSGS, shift_uids=True)
    r = c.command("UID SORT RETURN (MIN MAX ALL) (SIZE) UTF-8 ALL").ok()
    assert esort(r) == (True, {"MIN": "3", "MAX": "4", "ALL": "3,5,2,6,4"})


def test_sort_rev2(login):
    c = login(rev2=True)
    fill(c, SORT_MSGS)
    # Plain SORT answers * SORT even in IMAP4rev2 mode; RETURN asks for
    # ESEARCH.
    assert sort(c, "SORT (ARRIVAL) UTF-8 ALL") == [2, 4, 1, 3, 5]
    r = c.command("SORT RETURN (COUNT) (ARRIVAL) UTF-8 ALL").ok()
    assert esort(r) == (False, {"COUNT": "5"})


def test_capabilities(c):
    caps = {x.upper() for x in c.capabilities()}
    assert {"SORT", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES",
            "ESORT"} <= caps


@pytest.mark.parametrize("command", [
    "SORT (FOO) UTF-8 ALL",
    "SORT () UTF-8 ALL",
    "SORT (REVERSE) UTF-8 ALL",
    "SORT (SIZE REVERSE) UTF-8 ALL",
    "SORT (REVERSE REVERSE SIZE) UTF-8 ALL",
    "SORT SIZE UTF-8 ALL",
    "SORT (SIZE)",
    "SORT (SIZE) UTF-8",
    "SORT (SIZE) UTF-8 FOO",
    "SORT (SIZE) UTF-8 CHARSET UTF-8 ALL",
    "SORT (SIZE) UTF-8 RETURN (ALL) ALL",
    "SORT (SIZE) (UTF-8) ALL",
    "SORT RETURN (SAVE) (SIZE) UTF-8 ALL",
    "SORT RETURN (PARTIAL 1:5) (SIZE) UTF-8 ALL",
    "SORT RETURN ALL (SIZE) UTF-8 ALL",
    "SORT (SIZE) UTF-8 99",
    "UID SORT (SIZE) UTF-8 UID x",
    "THREAD FOO UTF-8 ALL",
    "THREAD (REFERENCES) UTF-8 ALL",
    "THREAD",
    "THREAD REFERENCES",
    "THREAD REFERENCES UTF-8",
    "THREAD ORDEREDSUBJECT UTF-8 BOGUS",
])
def test_bad_input(box, command):
    r = box.command(command)
    assert r.status == "BAD", r.describe()
    assert not r.find("SORT") and not r.find("THREAD") and not r.find("ESEARCH")
    assert sort(box, "SORT (SIZE) UTF-8 ALL") == [2, 4, 1, 5, 3]


@pytest.mark.parametrize("command", [
    "SORT (SIZE) KOI8-R ALL",
    "SORT RETURN (ALL) (SIZE) ISO-8859-1 ALL",
    "THREAD REFERENCES BIG5 ALL",
    "THREAD ORDEREDSUBJECT x ALL",
])
def test_bad_charset(box, command):
    r = box.command(command)
    assert r.status == "NO" and r.code_name == "BADCHARSET", r.describe()
    assert r.code_args.strip("()").upper().split() == ["US-ASCII", "UTF-8"]
    assert box.command("NOOP").status == "OK"


def test_needs_selected(c):
    for cmd in ("SORT (SIZE) UTF-8 ALL", "THREAD REFERENCES UTF-8 ALL"):
        r = c.command(cmd)
        assert r.status in ("BAD", "NO"), r.describe()
    assert c.command("NOOP").status == "OK"


# ------------------------------------------------------------------ THREAD

def msg(mid=None, subject=None, date=None, refs=None, irt=None):
    h = b"From: t@example.com\r\n"
    if mid is not None:
        h += b"Message-ID: <" + mid.encode() + b">\r\n"
    if refs is not None:
        h += b"References: " + refs.encode() + b"\r\n"
    if irt is not None:
        h += b"In-Reply-To: " + irt.encode() + b"\r\n"
    if subject is not None:
        h += b"Subject: " + subject.encode() + b"\r\n"
    h += b"Date: " + date.encode() + b" +0000\r\n"
    return (h + b"\r\nbody\r\n", "01-Jan-2021 00:00:00 +0000")


# Seventeen messages, numbered as in the comments.
THREAD_MSGS = [
    msg("a@x", "Topic A", "01 Jan 2021 10:00:00"),                  # 1
    msg("b@x", "Re: Topic A", "01 Jan 2021 11:00:00", "<a@x>"),     # 2
    msg("c@x", "Re: Topic A", "01 Jan 2021 12:00:00",
        "<a@x>\r\n <b@x>"),                                         # 3
    msg("d@x", "Re: Topic A", "01 Jan 2021 10:30:00",
        irt="Your message of Friday (<z@x>) <a@x>"),                # 4
    msg("e@x", "Lost parent", "02 Jan 2021 09:00:00", "<missing@x>"),  # 5
    msg("f@x", "Re: Orphans", "02 Jan 2021 10:00:00", "<gone@x>"),  # 6
    msg("g@x", "Re: Orphans", "02 Jan 2021 08:00:00",
        "(comment) <gone@x>"),                                      # 7
    msg("h@x", "Re: Topic A", "03 Jan 2021 10:00:00"),              # 8
    msg("i@x", "Subject B", "04 Jan 2021 10:00:00"),                # 9
    msg("j@x", "subject b", "04 Jan 2021 09:00:00"),                # 10
    msg("a@x", "Dup", "05 Jan 2021 00:00:00"),                      # 11
    msg("k@x", "Self", "05 Jan 2021 01:00:00", "<k@x>"),            # 12
    msg("l@x", "Loop", "06 Jan 2021 10:00:00", "<n@x>"),            # 13
    msg("n@x", "Loop", "06 Jan 2021 11:00:00", "<bad id> <l@x>"),   # 14
    msg(None, "", "07 Jan 2021 00:00:00"),                          # 15
    msg("p@x", None, "07 Jan 2021 01:00:00"),                       # 16
    msg("q@x", "Orphans", "02 Jan 2021 07:00:00"),                  # 17
]

# REFERENCES, by hand:
#  1 <- 2 (References), 2 <- 3, 1 <- 4 (In-Reply-To: the first valid id).
#  5's parent <missing@x> is a dummy with one child: promoted (step 3).
#  6 and 7 share the dummy <gone@x>, kept at the top with two children;
#  17 "Orphans" is not a reply, but the subject table keeps the dummy
#  (step 5.B.v), so 17 joins it (5.C.v.b): children 17, 7, 6 by date.
#  8 "Re: Topic A" has no references; it joins 1 as a reply (5.C.v.c).
#  9 and 10 have the same base subject ignoring case and neither is a
#  reply: a new dummy holds both (5.C.v.d), 10 first (earlier).
#  11 repeats 1's Message-ID: it gets a unique one and stands alone.
#  12 refers to itself: no loop is made.  14 would be 13's child
#  through its References, but 13 is already 14's child: no loop.
#  15 and 16 have empty subjects and are never merged.
#  Threads by date: 1 (01-Jan), dummy via 17 (02-Jan 07:00), 5, dummy
#  via 10, 11, 12, 14, 15, 16.
REFERENCES_ALL = ("(1 (4)(2 3)(8))((17)(7)(6))(5)((10)(9))(11)(12)(14 13)"
                  "(15)(16)")

# Without 1 and 3, 11 is the first message with <a@x>: 2 and 4 are its
# children; 8 has nothing to join.
REFERENCES_SOME = ("((17)(7)(6))(5)(8)((10)(9))(11 (4)(2))(12)(14 13)(15)"
                   "(16)")

# ORDEREDSUBJECT, by hand: groups by base subject ("" < Dup < Lost
# parent < Loop < Orphans < Self < Subject B = subject b < Topic A), each
# in date order, the first the parent of the rest; threads by the date
# of their first message.
ORDERED_ALL = "(1 (4)(2)(3)(8))(17 (7)(6))(5)(10 9)(11)(12)(13 14)(15 16)"


def thread(c, *args):
    r = c.command(*args).ok()
    found = r.find("THREAD")
    assert len(found) == 1, r.describe()
    raw = found[0].raw.decode()
    assert raw.startswith("* THREAD"), raw
    return raw[len("* THREAD"):].lstrip(" ")


def renumber(text, offset):
    """Adds offset to every number of a thread-list string."""
    import re
    return re.sub(r"\d+", lambda m: str(int(m.group()) + offset), text)


@pytest.fixture
def threads(c):
    return fill(c, THREAD_MSGS)


def test_thread_references(threads):
    assert thread(threads, "THREAD REFERENCES UTF-8 ALL") == REFERENCES_ALL
    assert thread(threads, "THREAD references us-ascii NOT 1 NOT 3") == \
        REFERENCES_SOME
    # Only the Orphans subject: dummy <gone@x> (6, 7) plus 17 merged in.
    assert thread(threads, "THREAD REFERENCES UTF-8 SUBJECT orphans") == \
        "((17)(7)(6))"
    # A reply whose parent is not selected stands alone.
    assert thread(threads, "THREAD REFERENCES UTF-8 3") == "(3)"
    assert thread(threads, "THREAD REFERENCES UTF-8 SUBJECT nothing") == ""


def test_thread_orderedsubject(threads):
    assert thread(threads, "THREAD ORDEREDSUBJECT UTF-8 ALL") == ORDERED_ALL
    assert thread(threads, "THREAD ORDEREDSUBJECT UTF-8 1:4") == \
        "(1 (4)(2)(3))"
    assert thread(threads, "THREAD ORDEREDSUBJECT UTF-8 9:10") == "(10 9)"
    assert thread(threads, "THREAD ORDEREDSUBJECT UTF-8 9") == "(9)"


def test_uid_thread(c):
    fill(c, THREAD_MSGS, shift_uids=True)
    assert thread(c, "UID THREAD REFERENCES UTF-8 ALL") == \
        renumber(REFERENCES_ALL, 1)
    assert thread(c, "THREAD REFERENCES UTF-8 ALL") == REFERENCES_ALL
    assert thread(c, "UID THREAD ORDEREDSUBJECT UTF-8 ALL") == \
        renumber(ORDERED_ALL, 1)


def test_thread_deep(c):
    """A reply chain c1 <- c2 <- ... with a leaf reply li under each ci:
    the answer nests one level per chain link."""
    n = 120
    msgs = []
    for i in range(1, n + 1):
        refs = " ".join("<c%d@x>" % k for k in range(1, i))
        msgs.append(msg("c%d@x" % i, "Re: deep", "01 Jan 2021 10:00:%02d" % (i % 60),
                        refs or None))
    for i in range(1, n + 1):
        refs = " ".join("<c%d@x>" % k for k in range(1, i + 1))
        msgs.append(msg("l%d@x" % i, "Re: deep", "02 Jan 2021 10:00:00", refs))
    # Dates: each ci before li (02-Jan) so ci+1 comes first among the
    # children of ci; c_i has sequence number i, l_i has n + i.
    for m, date in msgs:
        append(c, m, date)
    c.command("SELECT INBOX").ok()

    def expect(i):
        if i == n:
            return "%d %d" % (n, 2 * n)
        return "%d (%s)(%d)" % (i, expect(i + 1), n + i)

    assert thread(c, "THREAD REFERENCES UTF-8 ALL") == "(%s)" % expect(1)
