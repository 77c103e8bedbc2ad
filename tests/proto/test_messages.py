"""Message commands: APPEND (incl. MULTIAPPEND, UIDPLUS), SELECT/EXAMINE,
FETCH, STORE, COPY, MOVE, EXPUNGE, UID EXPUNGE, CLOSE, UNSELECT, CHECK, UID
forms and sequence sets (RFC 9051 6.3.2-6.4; RFC 3502; RFC 4315; RFC 6851;
RFC 3691)."""

import base64
import re
import time
from datetime import datetime, timedelta, timezone

import pytest

import mailgen
from helpers import (appenduid, apply_expunges, copyuid, fetch, flags_of,
                     list_boxes, status)
from rawimap import Literal, astr, parse_seqset, quote

SYSTEM_FLAGS = {"\\SEEN", "\\ANSWERED", "\\FLAGGED", "\\DELETED", "\\DRAFT"}
DATE_RE = re.compile(r"^[ 0-3]\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}$")


def parse_internaldate(value):
    s = astr(value)
    assert DATE_RE.match(s), "bad INTERNALDATE %r" % s
    return datetime.strptime(s.strip(), "%d-%b-%Y %H:%M:%S %z")


def user_flags(value):
    """FETCH FLAGS without \\Recent (which depends on who selected first)."""
    return flags_of(value) - {"\\RECENT"}


# ------------------------------------------------------------------ APPEND

def test_append_appenduid(c):
    uidvalidity = status(c, "INBOX")["UIDVALIDITY"]
    r = c.append("INBOX", mailgen.plain(subject="first")).ok()
    v, uids = appenduid(r)
    assert v == uidvalidity and uids == [1], r.describe()
    r = c.append("INBOX", mailgen.plain(subject="second")).ok()
    assert appenduid(r) == (uidvalidity, [2]), r.describe()
    assert status(c, "INBOX")["UIDNEXT"] == 3


def test_append_flags_and_date(c):
    msg = mailgen.plain()
    c.append("INBOX", msg, flags=["\\Seen", "\\Flagged", "$Label1"],
             date="14-Jul-2020 10:11:12 +0200").ok()
    c.select().ok()
    d = fetch(c, "1", "(FLAGS INTERNALDATE RFC822.SIZE)")[1]
    assert user_flags(d["FLAGS"]) == {"\\SEEN", "\\FLAGGED", "$LABEL1"}, d
    expected = datetime(2020, 7, 14, 10, 11, 12, tzinfo=timezone(timedelta(hours=2)))
    assert parse_internaldate(d["INTERNALDATE"]) == expected, d
    assert int(d["RFC822.SIZE"]) == len(msg)


def test_append_single_digit_day(c):
    c.append("INBOX", mailgen.plain(), date=" 4-Jan-2021 00:00:01 -0500").ok()
    c.select().ok()
    d = fetch(c, "1", "INTERNALDATE")[1]
    expected = datetime(2021, 1, 4, 0, 0, 1, tzinfo=timezone(timedelta(hours=-5)))
    assert parse_internaldate(d["INTERNALDATE"]) == expected


def test_append_default_internaldate_is_now(c):
    c.append("INBOX", mailgen.plain()).ok()
    c.select().ok()
    d = fetch(c, "1", "INTERNALDATE")[1]
    now = datetime.now(timezone.utc)
    assert abs((parse_internaldate(d["INTERNALDATE"]) - now).total_seconds()) < 120, d


@pytest.mark.parametrize("date", ["32-Jan-2021 00:00:00 +0000", "01-Foo-2021 00:00:00 +0000",
                                  "01-Jan-2021 25:00:00 +0000", "yesterday"])
def test_append_bad_date(c, date):
    c.append("INBOX", mailgen.plain(), date=date).expect("BAD")
    c.command("NOOP").ok()
    assert status(c, "INBOX")["MESSAGES"] == 0


def test_append_missing_mailbox_trycreate(c):
    c.append("NoSuchBox", mailgen.plain()).expect("NO", code="TRYCREATE")
    c.command("NOOP").ok()


def test_append_nonsync_literal(c):
    caps = c.capabilities()
    assert "LITERAL+" in caps or "LITERAL-" in caps
    msg = mailgen.plain(subject="non-sync")
    r = c.command("APPEND INBOX", Literal(msg, mode="plus")).ok()
    assert appenduid(r)[1] == [1]
    c.select().ok()
    assert fetch(c, "1", "BODY.PEEK[]")[1]["BODY[]"] == msg


def test_append_to_selected_mailbox_announces_exists(c):
    c.append("INBOX", mailgen.plain()).ok()
    r = c.select().ok()
    assert r.one("EXISTS").number == 1
    r = c.append("INBOX", mailgen.plain()).ok()
    exists = [u.number for u in r.find("EXISTS")]
    if not exists:
        exists = [u.number for u in c.command("NOOP").ok().find("EXISTS")]
    assert exists and exists[-1] == 2, r.describe()


def test_multiappend(c):
    assert "MULTIAPPEND" in c.capabilities(), "RFC 3502: MULTIAPPEND must be advertised"
    m1 = mailgen.plain(subject="multi 1")
    m2 = mailgen.multipart()
    m3 = mailgen.plain(subject="multi 3")
    r = c.command("APPEND INBOX (\\Seen)", Literal(m1),
                  "(\\Flagged) \"01-Feb-2021 12:00:00 +0000\"", Literal(m2),
                  Literal(m3)).ok()
    v, uids = appenduid(r)
    assert uids == [1, 2, 3], r.describe()
    c.select().ok()
    got = fetch(c, "1:*", "(UID FLAGS BODY.PEEK[])")
    assert [got[i]["BODY[]"] for i in (1, 2, 3)] == [m1, m2, m3]
    assert user_flags(got[1]["FLAGS"]) == {"\\SEEN"}
    assert user_flags(got[2]["FLAGS"]) == {"\\FLAGGED"}
    assert user_flags(got[3]["FLAGS"]) == set()


def test_multiappend_is_atomic(c):
    # RFC 3502 6: if any message can't be appended, none are.
    r = c.command("APPEND INBOX", Literal(mailgen.plain()), '"99-Xyz-2021 00:00:00 +0000"',
                  Literal(mailgen.plain()))
    assert r.status in ("BAD", "NO"), r.describe()
    c.command("NOOP").ok()
    assert status(c, "INBOX")["MESSAGES"] == 0


# ----------------------------------------------------------- SELECT/EXAMINE

def _two_messages(c):
    c.append("INBOX", mailgen.plain(subject="seen"), flags=["\\Seen", "$Work"]).ok()
    c.append("INBOX", mailgen.plain(subject="unseen")).ok()


def test_select_responses_rev1(c):
    _two_messages(c)
    st = status(c, "INBOX")
    r = c.select().ok()
    assert r.code_name == "READ-WRITE", r.describe()
    assert r.one("EXISTS").number == 2
    assert r.one("RECENT").number == 2, r.describe()
    flags = flags_of(r.one("FLAGS").args()[0])
    assert SYSTEM_FLAGS <= flags, r.describe()
    assert "$WORK" in flags, r.describe()
    codes = r.codes()
    assert "PERMANENTFLAGS" in codes, r.describe()
    perm = set(codes["PERMANENTFLAGS"].strip("()").upper().split())
    assert "\\*" in perm and SYSTEM_FLAGS <= perm, r.describe()
    assert "\\RECENT" not in perm
    assert int(codes["UIDVALIDITY"]) == st["UIDVALIDITY"], r.describe()
    assert int(codes["UIDNEXT"]) == 3, r.describe()
    # RFC 3501 6.3.1: OK [UNSEEN n] is the first unseen message.
    assert int(codes["UNSEEN"]) == 2, r.describe()


def test_select_rev2_has_no_recent_and_has_list(login):
    c = login(rev2=True)
    _two_messages(c)
    r = c.select().ok()
    assert not r.find("RECENT"), "IMAP4rev2 has no RECENT response:\n" + r.describe()
    assert r.one("EXISTS").number == 2
    # RFC 9051 6.3.2: the server MUST return a LIST response with the name.
    lst = r.find("LIST")
    assert lst and astr(lst[0].args()[2]) == "INBOX", r.describe()
    codes = r.codes()
    assert "UIDVALIDITY" in codes and "UIDNEXT" in codes and "PERMANENTFLAGS" in codes, r.describe()
    assert r.code_name == "READ-WRITE"


def test_select_rev2_fetch_flags_never_recent(login):
    c = login(rev2=True)
    _two_messages(c)
    c.select().ok()
    for d in fetch(c, "1:*", "FLAGS").values():
        assert "\\RECENT" not in flags_of(d["FLAGS"]), d


def test_reselect_sends_closed_in_rev2(login):
    # RFC 9051 7.1: [CLOSED] separates the old mailbox's responses from the
    # new one's when SELECT replaces a selected mailbox.
    c = login(rev2=True)
    c.command("CREATE Other").ok()
    c.select().ok()
    r = c.select("Other").ok()
    assert any(u.status == "OK" and u.code_name == "CLOSED" for u in r.untagged), r.describe()


def test_examine_read_only(c):
    _two_messages(c)
    r = c.select(examine=True).ok()
    assert r.code_name == "READ-ONLY", r.describe()
    assert r.one("EXISTS").number == 2
    c.command("STORE 1 +FLAGS (\\Flagged)").expect("NO")
    # BODY[] (not PEEK) must not set \Seen in a read-only mailbox.
    fetch(c, "2", "BODY[]")
    assert "\\SEEN" not in flags_of(fetch(c, "2", "FLAGS")[2]["FLAGS"])
    c.command("UNSELECT").ok()
    c.select().ok()
    assert "\\SEEN" not in flags_of(fetch(c, "2", "FLAGS")[2]["FLAGS"])


def test_failed_select_leaves_no_mailbox_selected(c):
    c.select().ok()
    c.select("NoSuchBox").expect("NO")
    # RFC 9051 6.3.2: a failed SELECT deselects the current mailbox.
    c.command("FETCH 1 FLAGS").expect("BAD")


def test_select_missing(c):
    c.select("Missing").expect("NO")


# -------------------------------------------------------------------- FETCH

@pytest.fixture
def box(c):
    """INBOX with a plain, a multipart, an 8-bit and a bare-LF message."""
    msgs = [mailgen.plain(subject="plain one", extra_headers=[
        "X-Folded: first part", "  continued part", "X-Empty:"]),
        mailgen.multipart(), mailgen.eightbit(), mailgen.bare_lf()]
    for m in msgs:
        c.append("INBOX", m).ok()
    c.select().ok()
    return c, msgs


def test_fetch_rfc822_size(box):
    c, msgs = box
    got = fetch(c, "1:*", "RFC822.SIZE")
    for i, m in enumerate(msgs, 1):
        assert int(got[i]["RFC822.SIZE"]) == len(m), (i, got[i])


def test_fetch_body_exact(box):
    c, msgs = box
    got = fetch(c, "1:*", "BODY.PEEK[]")
    for i, m in enumerate(msgs, 1):
        assert got[i]["BODY[]"] == m, "message %d differs" % i


def test_fetch_eightbit_and_bare_lf_exact(box):
    c, msgs = box
    assert fetch(c, "3", "BODY.PEEK[]")[3]["BODY[]"] == msgs[2]
    assert fetch(c, "4", "BODY.PEEK[]")[4]["BODY[]"] == msgs[3]


def test_fetch_uid_and_flags(box):
    c, _ = box
    got = fetch(c, "1:*", "(UID FLAGS)")
    assert [int(got[i]["UID"]) for i in (1, 2, 3, 4)] == [1, 2, 3, 4]
    for d in got.values():
        assert user_flags(d["FLAGS"]) == set(), d


def test_fetch_peek_does_not_set_seen(box):
    c, _ = box
    fetch(c, "1", "BODY.PEEK[]")
    fetch(c, "1", "BODY.PEEK[TEXT]")
    assert "\\SEEN" not in flags_of(fetch(c, "1", "FLAGS")[1]["FLAGS"])


def test_fetch_body_sets_seen(box):
    c, msgs = box
    r = c.command("FETCH 1 BODY[]").ok()
    items = {}
    for _, d in r.fetches():
        items.update(d)
    assert items["BODY[]"] == msgs[0]
    # RFC 9051 6.4.5: the flag change SHOULD be reported with the FETCH.
    assert "FLAGS" in items and "\\SEEN" in flags_of(items["FLAGS"]), r.describe()
    assert "\\SEEN" in flags_of(fetch(c, "1", "FLAGS")[1]["FLAGS"])
    assert "\\SEEN" not in flags_of(fetch(c, "2", "FLAGS")[2]["FLAGS"])


def test_fetch_rfc822_sets_seen(box):
    c, msgs = box
    d = fetch(c, "2", "RFC822")[2]
    assert d["RFC822"] == msgs[1]
    assert "\\SEEN" in flags_of(fetch(c, "2", "FLAGS")[2]["FLAGS"])


def test_fetch_header_and_text(box):
    c, msgs = box
    head, body = mailgen.split_header_body(msgs[0])
    d = fetch(c, "1", "(BODY.PEEK[HEADER] BODY.PEEK[TEXT])")[1]
    assert d["BODY[HEADER]"] == head
    assert d["BODY[TEXT]"] == body


def test_fetch_rfc822_header_and_text(box):
    c, msgs = box
    head, body = mailgen.split_header_body(msgs[1])
    d = fetch(c, "2", "(RFC822.HEADER RFC822.TEXT)")[2]
    assert d["RFC822.HEADER"] == head
    assert d["RFC822.TEXT"] == body


def test_fetch_header_fields(box):
    c, msgs = box
    d = fetch(c, "1", "BODY.PEEK[HEADER.FIELDS (From Subject)]")[1]
    value = d["BODY[HEADER.FIELDS (FROM SUBJECT)]"]
    assert value == b"From: Alice <alice@example.com>\r\nSubject: plain one\r\n\r\n", value


def test_fetch_header_fields_case_and_folding(box):
    c, _ = box
    d = fetch(c, "1", "BODY.PEEK[HEADER.FIELDS (x-folded X-EMPTY)]")[1]
    value = d["BODY[HEADER.FIELDS (X-FOLDED X-EMPTY)]"]
    assert value == b"X-Folded: first part\r\n  continued part\r\nX-Empty:\r\n\r\n", value


def test_fetch_header_fields_missing_field(box):
    # The blank line is always included (RFC 9051 6.4.5).
    c, _ = box
    d = fetch(c, "1", "BODY.PEEK[HEADER.FIELDS (X-Not-There)]")[1]
    assert d["BODY[HEADER.FIELDS (X-NOT-THERE)]"] == b"\r\n"


def test_fetch_header_fields_not(box):
    c, msgs = box
    head, _ = mailgen.split_header_body(msgs[0])
    d = fetch(c, "1", "BODY.PEEK[HEADER.FIELDS.NOT (From Subject X-Folded)]")[1]
    value = d["BODY[HEADER.FIELDS.NOT (FROM SUBJECT X-FOLDED)]"]
    expected = b"".join(l + b"\r\n" for l in head.split(b"\r\n")[:-2]
                        if not re.match(rb"(?i)(From|Subject|X-Folded):|\s", l))
    assert value == expected + b"\r\n", value


def test_fetch_partial(box):
    c, msgs = box
    d = fetch(c, "1", "(BODY.PEEK[]<0.10> BODY.PEEK[TEXT]<2.5>)")[1]
    assert d["BODY[]<0>"] == msgs[0][:10]
    _, body = mailgen.split_header_body(msgs[0])
    assert d["BODY[TEXT]<2>"] == body[2:7]


def test_fetch_partial_past_end(box):
    c, msgs = box
    d = fetch(c, "1", "BODY.PEEK[]<100000.10>")[1]
    assert d["BODY[]<100000>"] == b""
    n = len(msgs[0])
    d = fetch(c, "1", "BODY.PEEK[]<%d.100>" % (n - 3))[1]
    assert d["BODY[]<%d>" % (n - 3)] == msgs[0][-3:]


def test_fetch_mime_parts(box):
    c, msgs = box
    d = fetch(c, "2", "(BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[2.MIME])")[2]
    assert d["BODY[1]"] == mailgen.MULTIPART_TEXT_PART
    assert base64.b64decode(d["BODY[2]"]) == mailgen.ATTACHMENT
    assert d["BODY[2.MIME]"].startswith(b"Content-Type: application/octet-stream")
    assert d["BODY[2.MIME]"].endswith(b"\r\n\r\n")


def test_fetch_binary(box):
    # RFC 9051 6.4.5 BINARY[]: the decoded content of a part.
    c, _ = box
    d = fetch(c, "2", "(BINARY.PEEK[2] BINARY.SIZE[2])")[2]
    assert d["BINARY[2]"] == mailgen.ATTACHMENT
    assert int(d["BINARY.SIZE[2]"]) == len(mailgen.ATTACHMENT)


def test_fetch_bodystructure_multipart(box):
    c, _ = box
    bs = fetch(c, "2", "BODYSTRUCTURE")[2]["BODYSTRUCTURE"]
    assert isinstance(bs, list)
    assert isinstance(bs[0], list) and isinstance(bs[1], list), bs
    assert astr(bs[2]).upper() == "MIXED", bs
    p1, p2 = bs[0], bs[1]
    assert [astr(p1[0]).upper(), astr(p1[1]).upper()] == ["TEXT", "PLAIN"], p1
    assert int(p1[6]) == len(mailgen.MULTIPART_TEXT_PART), p1
    assert int(p1[7]) == 1, p1  # lines
    assert [astr(p2[0]).upper(), astr(p2[1]).upper()] == ["APPLICATION", "OCTET-STREAM"], p2
    assert astr(p2[5]).upper() == "BASE64", p2


def test_fetch_bodystructure_plain(box):
    c, msgs = box
    bs = fetch(c, "1", "BODYSTRUCTURE")[1]["BODYSTRUCTURE"]
    _, body = mailgen.split_header_body(msgs[0])
    assert [astr(bs[0]).upper(), astr(bs[1]).upper()] == ["TEXT", "PLAIN"], bs
    params = [astr(x).upper() for x in bs[2]]
    assert params == ["CHARSET", "US-ASCII"], bs
    assert astr(bs[5]).upper() == "7BIT", bs
    assert int(bs[6]) == len(body), bs


def test_fetch_envelope(box):
    c, _ = box
    env = fetch(c, "1", "ENVELOPE")[1]["ENVELOPE"]
    assert len(env) == 10, env
    assert astr(env[1]) == "plain one"
    frm = env[2]
    assert astr(frm[0][0]) == "Alice"
    assert astr(frm[0][2]) == "alice" and astr(frm[0][3]) == "example.com", frm
    assert astr(env[0]) == "Mon, 04 Jan 2021 10:00:00 +0000"
    # sender and reply-to default to from (RFC 9051 7.5.2)
    assert env[3] == frm and env[4] == frm, env
    assert env[6] is None and env[7] is None  # no Cc, no Bcc


def test_fetch_fast_macro(box):
    c, msgs = box
    d = fetch(c, "1", "FAST")[1]
    assert {"FLAGS", "INTERNALDATE", "RFC822.SIZE"} <= set(d), d
    assert int(d["RFC822.SIZE"]) == len(msgs[0])


def test_fetch_all_macro(box):
    c, _ = box
    d = fetch(c, "1", "ALL")[1]
    assert {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"} <= set(d), d


def test_fetch_unknown_item_is_bad(box):
    c, _ = box
    c.command("FETCH 1 (FLAGS FROBS)").expect("BAD")
    c.command("FETCH 1 BODY[NOSUCHSECTION]").expect("BAD")
    c.command("NOOP").ok()


# -------------------------------------------------------------------- STORE

@pytest.fixture
def five(c):
    for i in range(1, 6):
        c.append("INBOX", mailgen.plain(subject="msg %d" % i)).ok()
    c.select().ok()
    return c


def test_store_add_remove_replace(five):
    c = five
    r = c.command("STORE 1 +FLAGS (\\Flagged \\Answered)").ok()
    (seq, d), = r.fetches()
    assert seq == 1 and user_flags(d["FLAGS"]) == {"\\FLAGGED", "\\ANSWERED"}, r.describe()
    r = c.command("STORE 1 -FLAGS (\\Answered)").ok()
    (seq, d), = r.fetches()
    assert user_flags(d["FLAGS"]) == {"\\FLAGGED"}, r.describe()
    r = c.command("STORE 1 FLAGS (\\Draft)").ok()
    (seq, d), = r.fetches()
    assert user_flags(d["FLAGS"]) == {"\\DRAFT"}, r.describe()
    assert user_flags(fetch(c, "1", "FLAGS")[1]["FLAGS"]) == {"\\DRAFT"}


def test_store_silent(five):
    c = five
    r = c.command("STORE 2 +FLAGS.SILENT (\\Seen)").ok()
    assert not r.find("FETCH"), r.describe()
    r = c.command("STORE 2 FLAGS.SILENT ($A)").ok()
    assert not r.find("FETCH"), r.describe()
    assert user_flags(fetch(c, "2", "FLAGS")[2]["FLAGS"]) == {"$A"}
    r = c.command("STORE 2 -FLAGS.SILENT ($A)").ok()
    assert not r.find("FETCH"), r.describe()
    assert user_flags(fetch(c, "2", "FLAGS")[2]["FLAGS"]) == set()


def test_store_keywords(five):
    c = five
    r = c.command("STORE 1:3 +FLAGS ($Label1 Work)").ok()
    got = dict(r.fetches())
    assert set(got) == {1, 2, 3}, r.describe()
    for d in got.values():
        assert user_flags(d["FLAGS"]) == {"$LABEL1", "WORK"}
    c.command("STORE 2 -FLAGS (Work)").ok()
    got = fetch(c, "1:*", "FLAGS")
    assert user_flags(got[1]["FLAGS"]) == {"$LABEL1", "WORK"}
    assert user_flags(got[2]["FLAGS"]) == {"$LABEL1"}
    assert user_flags(got[4]["FLAGS"]) == set()
    # The keywords persist across sessions.
    c.command("UNSELECT").ok()
    r = c.select().ok()
    assert {"$LABEL1", "WORK"} <= flags_of(r.one("FLAGS").args()[0]), r.describe()


def test_store_invalid_flag_syntax(five):
    c = five
    c.command("STORE 1 +FLAGS (\\Seen").expect("BAD")
    c.command("STORE 1 FROBFLAGS (\\Seen)").expect("BAD")
    c.command("NOOP").ok()


# --------------------------------------------------------------- COPY/MOVE

def test_copy_copyuid(five):
    c = five
    c.command("CREATE Dest").ok()
    c.command("STORE 2 +FLAGS.SILENT (\\Flagged $K)").ok()
    dst_validity = status(c, "Dest")["UIDVALIDITY"]
    r = c.command("COPY 2:3 Dest").ok()
    assert r.code_name == "COPYUID", r.describe()
    v, src, dst = copyuid(r.code_args)
    assert v == dst_validity and src == [2, 3] and dst == [1, 2], r.describe()
    assert not r.find("EXPUNGE")
    assert status(c, "INBOX")["MESSAGES"] == 5
    src_bodies = fetch(c, "2:3", "BODY.PEEK[]")
    c.select("Dest").ok()
    got = fetch(c, "1:*", "(FLAGS BODY.PEEK[])")
    assert got[1]["BODY[]"] == src_bodies[2]["BODY[]"]
    assert got[2]["BODY[]"] == src_bodies[3]["BODY[]"]
    assert {"\\FLAGGED", "$K"} <= flags_of(got[1]["FLAGS"])


def test_copy_missing_mailbox_trycreate(five):
    five.command("COPY 1 Nowhere").expect("NO", code="TRYCREATE")


def test_move(five):
    c = five
    c.command("CREATE Dest").ok()
    c.command("STORE 2 +FLAGS.SILENT (\\Answered)").ok()
    body2 = fetch(c, "2", "BODY.PEEK[]")[2]["BODY[]"]
    r = c.command("MOVE 2 Dest").ok()
    # RFC 9051 6.4.8: COPYUID in an untagged OK before the EXPUNGE.
    idx_copyuid = [i for i, u in enumerate(r.untagged) if u.status == "OK" and u.code_name == "COPYUID"]
    idx_expunge = [i for i, u in enumerate(r.untagged) if u.kind == "EXPUNGE"]
    assert idx_copyuid, "no untagged OK [COPYUID]:\n" + r.describe()
    assert idx_expunge and [r.untagged[i].number for i in idx_expunge] == [2], r.describe()
    assert idx_copyuid[0] < idx_expunge[0], r.describe()
    _, src, dst = copyuid(r.untagged[idx_copyuid[0]].code_args)
    assert src == [2] and dst == [1]
    assert [int(d["UID"]) for d in fetch(c, "1:*", "UID").values()] == [1, 3, 4, 5]
    c.select("Dest").ok()
    d = fetch(c, "1", "(FLAGS BODY.PEEK[])")[1]
    assert d["BODY[]"] == body2 and "\\ANSWERED" in flags_of(d["FLAGS"])


def test_move_several_expunge_numbers(five):
    c = five
    c.command("CREATE Dest").ok()
    r = c.command("MOVE 2,4:5 Dest").ok()
    remaining = apply_expunges([1, 2, 3, 4, 5], r.untagged)
    assert remaining == [1, 3], r.describe()
    assert [int(d["UID"]) for d in fetch(c, "1:*", "UID").values()] == [1, 3]
    assert status(c, "Dest")["MESSAGES"] == 3


def test_move_missing_mailbox(five):
    c = five
    c.command("MOVE 1 Nowhere").expect("NO", code="TRYCREATE")
    assert len(fetch(c, "1:*", "UID")) == 5


def test_uid_move(five):
    c = five
    c.command("CREATE Dest").ok()
    r = c.command("UID MOVE 3:4 Dest").ok()
    assert apply_expunges([1, 2, 3, 4, 5], r.untagged) == [1, 2, 5], r.describe()
    oks = [u for u in r.untagged if u.code_name == "COPYUID"]
    assert oks or r.code_name == "COPYUID", r.describe()


# ------------------------------------------------------------------ EXPUNGE

def test_expunge(five):
    c = five
    c.command("STORE 2,4 +FLAGS.SILENT (\\Deleted)").ok()
    r = c.command("EXPUNGE").ok()
    assert len(r.find("EXPUNGE")) == 2, r.describe()
    assert apply_expunges([1, 2, 3, 4, 5], r.untagged) == [1, 3, 5], r.describe()
    assert [int(d["UID"]) for d in fetch(c, "1:*", "UID").values()] == [1, 3, 5]
    assert status(c, "INBOX")["MESSAGES"] == 3


def test_expunge_nothing(five):
    r = five.command("EXPUNGE").ok()
    assert not r.find("EXPUNGE")


def test_uid_expunge_only_listed(five):
    c = five
    c.command("STORE 2:4 +FLAGS.SILENT (\\Deleted)").ok()
    r = c.command("UID EXPUNGE 3,5").ok()
    assert [u.number for u in r.find("EXPUNGE")] == [3], r.describe()
    assert [int(d["UID"]) for d in fetch(c, "1:*", "UID").values()] == [1, 2, 4, 5]


def test_close_expunges_silently(five):
    c = five
    c.command("STORE 1,3 +FLAGS.SILENT (\\Deleted)").ok()
    r = c.command("CLOSE").ok()
    assert not r.find("EXPUNGE"), r.describe()
    c.command("FETCH 1 FLAGS").expect("BAD")
    assert status(c, "INBOX")["MESSAGES"] == 3


def test_close_after_examine_does_not_expunge(five):
    c = five
    c.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok()
    c.select(examine=True).ok()
    c.command("CLOSE").ok()
    assert status(c, "INBOX")["MESSAGES"] == 5


def test_unselect_does_not_expunge(five):
    c = five
    c.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok()
    r = c.command("UNSELECT").ok()
    assert not r.find("EXPUNGE")
    c.command("FETCH 1 FLAGS").expect("BAD")
    assert status(c, "INBOX")["MESSAGES"] == 5


def test_unselect_without_selection(c):
    c.command("UNSELECT").expect("BAD", "NO")


def test_check(five):
    five.command("CHECK").ok()


# ---------------------------------------------------------------- UID forms

@pytest.fixture
def gappy(five):
    """Five messages, UIDs 1..5, then 1 and 3 expunged: seq 1,2,3 = UID 2,4,5."""
    c = five
    c.command("STORE 1,3 +FLAGS.SILENT (\\Deleted)").ok()
    c.command("EXPUNGE").ok()
    return c


def test_uid_fetch(gappy):
    c = gappy
    r = c.command("UID FETCH 4 FLAGS").ok()
    (seq, d), = r.fetches()
    # RFC 9051 6.4.9: UID is always included in UID FETCH responses.
    assert seq == 2 and int(d["UID"]) == 4, r.describe()


def test_uid_fetch_ranges(gappy):
    c = gappy
    got = fetch(c, "1:4", "FLAGS", uid=True)
    assert sorted(got) == [1, 2], got
    assert sorted(int(d["UID"]) for d in got.values()) == [2, 4]
    got = fetch(c, "3", "FLAGS", uid=True)
    assert got == {}


def test_uid_fetch_beyond_highest_is_empty(gappy):
    r = gappy.command("UID FETCH 1000:2000 FLAGS").ok()
    assert not r.find("FETCH"), r.describe()


def test_uid_fetch_n_star_includes_last(gappy):
    # RFC 9051 6.4.9: "559:*" always includes the last message.
    got = fetch(gappy, "1000:*", "FLAGS", uid=True)
    assert list(got) == [3] and int(got[3]["UID"]) == 5, got


def test_uid_store(gappy):
    c = gappy
    r = c.command("UID STORE 5 +FLAGS (\\Flagged)").ok()
    (seq, d), = r.fetches()
    assert seq == 3 and int(d["UID"]) == 5, r.describe()
    assert "\\FLAGGED" in flags_of(d["FLAGS"])
    r = c.command("UID STORE 3 +FLAGS (\\Flagged)").ok()  # expunged UID: no-op
    assert not r.find("FETCH"), r.describe()


def test_uid_copy(gappy):
    c = gappy
    c.command("CREATE Dest").ok()
    r = c.command("UID COPY 4:5 Dest").ok()
    _, src, dst = copyuid(r.code_args)
    assert src == [4, 5] and dst == [1, 2], r.describe()


def test_uid_search(gappy):
    c = gappy
    r = c.command("UID SEARCH ALL").ok()
    assert sorted(r.search()) == [2, 4, 5], r.describe()
    r = c.command("SEARCH ALL").ok()
    assert sorted(r.search()) == [1, 2, 3], r.describe()


# ----------------------------------------------------------- sequence sets

def test_sequence_sets(five):
    c = five

    def seqs(s):
        return sorted(fetch(c, s, "UID"))

    assert seqs("2:*") == [2, 3, 4, 5]
    assert seqs("*:2") == [2, 3, 4, 5]
    assert seqs("1,3") == [1, 3]
    assert seqs("*") == [5]
    assert seqs("2:2") == [2]
    assert seqs("1:2,4:*") == [1, 2, 4, 5]
    assert seqs("3,1:2,2") == [1, 2, 3]


@pytest.mark.parametrize("bad", ["0", "1:", "a", "1,,2", "4294967296", ":3", "1:0", "-1", "1.5"])
def test_invalid_sequence_set_is_bad(five, bad):
    five.command("FETCH %s FLAGS" % bad).expect("BAD")
    five.command("NOOP").ok()


@pytest.mark.parametrize("cmd", ["FETCH 6 FLAGS", "FETCH 4:9 FLAGS", "STORE 6 +FLAGS (\\Seen)",
                                 "COPY 7 INBOX", "FETCH 1,99 UID"])
def test_sequence_number_beyond_exists_is_bad(five, cmd):
    # RFC 9051 9 (seq-number): the server should answer BAD.
    five.command(cmd).expect("BAD")
    five.command("NOOP").ok()


def test_star_in_empty_mailbox(c):
    c.select().ok()
    # '*' names no message in an empty mailbox: we answer OK with nothing,
    # which clients that fetch before looking at EXISTS cope with best.
    r = c.command("FETCH 1:* FLAGS").ok()
    assert not r.find("FETCH")
    r = c.command("UID FETCH 1:* FLAGS").ok()
    assert not r.find("FETCH")


# ------------------------------------------------------- bodies and sharing

def test_large_message_roundtrip(c):
    msg = mailgen.sized(5 * 1024 * 1024 + 7, subject="large")
    r = c.append("INBOX", msg).ok()
    c.select().ok()
    d = fetch(c, "1", "(RFC822.SIZE BODY.PEEK[])")[1]
    assert int(d["RFC822.SIZE"]) == len(msg)
    assert d["BODY[]"] == msg
    d = fetch(c, "1", "BODY.PEEK[]<4194304.100>")[1]
    assert d["BODY[]<4194304>"] == msg[4194304:4194404]


def test_literal8_append_in_rev2(login):
    # RFC 9051 6.3.12: append-data may be a literal8 (~{N}).
    c = login(rev2=True)
    msg = mailgen.eightbit()
    r = c.command("APPEND INBOX", Literal(msg, mode="binary")).ok()
    c.select().ok()
    assert fetch(c, "1", "BODY.PEEK[]")[1]["BODY[]"] == msg


def test_copy_to_same_mailbox(five):
    c = five
    r = c.command("COPY 1 INBOX").ok()
    _, src, dst = copyuid(r.code_args)
    assert src == [1] and dst == [6], r.describe()
    got = fetch(c, "1:*", "(UID BODY.PEEK[])")
    assert len(got) == 6
    assert got[6]["BODY[]"] == got[1]["BODY[]"] and int(got[6]["UID"]) == 6


def test_copy_then_expunge_source_keeps_body(five):
    # Copies share bodies; expunging or deleting the source must not
    # remove a body still in use.
    c = five
    c.command("CREATE Dest").ok()
    bodies = fetch(c, "1:5", "BODY.PEEK[]")
    c.command("COPY 1:3 Dest").ok()
    c.command("MOVE 4 Dest").ok()
    c.command("STORE 1:* +FLAGS.SILENT (\\Deleted)").ok()
    c.command("EXPUNGE").ok()
    c.select("Dest").ok()
    got = fetch(c, "1:*", "BODY.PEEK[]")
    assert [got[i]["BODY[]"] for i in (1, 2, 3, 4)] == [bodies[i]["BODY[]"] for i in (1, 2, 3, 4)]
    c.command("CREATE Dest2").ok()
    c.command("COPY 1 Dest2").ok()
    c.command("UNSELECT").ok()
    c.command("DELETE Dest").ok()
    c.select("Dest2").ok()
    assert fetch(c, "1", "BODY.PEEK[]")[1]["BODY[]"] == bodies[1]["BODY[]"]


def test_logout_does_not_expunge(server, user, five):
    c = five
    c.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok()
    c.logout()
    c2 = server.login(*user)
    try:
        assert status(c2, "INBOX")["MESSAGES"] == 5
    finally:
        c2.close()


# ------------------------------------------------------- nested MIME parts

def test_nested_sections(c):
    msg, sections = mailgen.nested()
    c.append("INBOX", msg).ok()
    c.select().ok()
    items = " ".join("BODY.PEEK[%s]" % s for s in sections)
    d = fetch(c, "1", "(%s)" % items)[1]
    for sec, expected in sections.items():
        got = d.get("BODY[%s]" % sec)
        assert got == expected, "BODY[%s]: expected %r, got %r" % (sec, expected, got)


def test_nested_bodystructure(c):
    msg, sections = mailgen.nested()
    c.append("INBOX", msg).ok()
    c.select().ok()
    bs = fetch(c, "1", "BODYSTRUCTURE")[1]["BODYSTRUCTURE"]
    assert astr(bs[2]).upper() == "MIXED", bs
    p1, p2 = bs[0], bs[1]
    assert [astr(p1[0]).upper(), astr(p1[1]).upper()] == ["TEXT", "PLAIN"], p1
    assert int(p1[6]) == len(sections["1"]), p1
    # message/rfc822: type subtype params id desc enc size envelope body lines
    assert [astr(p2[0]).upper(), astr(p2[1]).upper()] == ["MESSAGE", "RFC822"], p2
    assert int(p2[6]) == len(sections["2"]), p2
    env = p2[7]
    assert astr(env[1]) == "inner message", env
    inner = p2[8]
    assert isinstance(inner[0], list) and isinstance(inner[1], list), inner
    assert astr(inner[2]).upper() == "ALTERNATIVE", inner
    assert astr(inner[1][1]).upper() == "HTML", inner
    assert int(p2[9]) == sections["2"].count(b"\r\n"), p2


def test_body_1_of_single_part_message(box):
    # RFC 9051 6.4.5: a non-multipart message has one part, numbered 1.
    c, msgs = box
    _, body = mailgen.split_header_body(msgs[0])
    assert fetch(c, "1", "BODY.PEEK[1]")[1]["BODY[1]"] == body


def test_envelope_address_forms(c):
    msg = mailgen.plain(sender='"Doe, John" <john@example.com>',
                        to="a@example.org, B Person <b@example.org>",
                        cc="undisclosed-recipients:;")
    c.append("INBOX", msg).ok()
    c.select().ok()
    env = fetch(c, "1", "ENVELOPE")[1]["ENVELOPE"]
    assert astr(env[2][0][0]) == "Doe, John", env[2]
    to = env[5]
    assert [(astr(a[2]), astr(a[3])) for a in to] == [("a", "example.org"), ("b", "example.org")], to
    assert to[0][0] is None and astr(to[1][0]) == "B Person", to


def test_inbox_any_case_in_append_and_copy(five):
    c = five
    c.append("inbox", mailgen.plain()).ok()
    c.command("COPY 1 InBoX").ok()
    assert status(c, "INBOX")["MESSAGES"] == 7


def test_copyuid_non_contiguous(five):
    c = five
    c.command("CREATE Dest").ok()
    r = c.command("COPY 1,3,5 Dest").ok()
    _, src, dst = copyuid(r.code_args)
    assert src == [1, 3, 5] and dst == [1, 2, 3], r.describe()


# ------------------------------------------------------------ big responses

@pytest.fixture
def many(c):
    n = 400
    msgs = [mailgen.plain(subject="bulk %d" % i, body=("line %d\r\n" % i) * 40) for i in range(n)]
    c.command("APPEND INBOX", *[Literal(m) for m in msgs]).ok()
    c.select().ok()
    return c, msgs


def test_fetch_many_bodies(many):
    c, msgs = many
    c.timeout = 60
    got = fetch(c, "1:*", "(UID BODY.PEEK[])")
    assert len(got) == len(msgs)
    for i, m in enumerate(msgs, 1):
        assert got[i]["BODY[]"] == m and int(got[i]["UID"]) == i


def test_store_many(many):
    c, msgs = many
    c.timeout = 60
    r = c.command("STORE 1:* +FLAGS (\\Flagged)").ok()
    assert sorted(seq for seq, _ in r.fetches()) == list(range(1, len(msgs) + 1))
    r = c.command("SEARCH FLAGGED").ok()
    assert r.search() == list(range(1, len(msgs) + 1))


def test_search_text_many(many):
    c, msgs = many
    r = c.command("SEARCH BODY \"line 399\"").ok()
    assert r.search() == [400], r.describe()


def test_large_nonsync_literal_after_login(c):
    # After login the server advertises LITERAL+ (any size, RFC 7888 3)
    # or LITERAL- (over 4096 bytes: BAD [TOOBIG], RFC 7888 4).
    caps = c.capabilities()
    msg = mailgen.sized(200 * 1024, subject="big non-sync")
    tag = c.next_tag()
    c.send(tag.encode() + b" APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
    untagged, tagged = c.read_until_tagged(tag)
    if "LITERAL+" in caps:
        assert tagged.status == "OK", tagged
        c.select().ok()
        assert fetch(c, "1", "BODY.PEEK[]")[1]["BODY[]"] == msg
    else:
        assert tagged.status == "BAD" and tagged.code_name == "TOOBIG", tagged
