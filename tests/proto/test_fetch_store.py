"""FETCH and STORE in depth (RFC 9051 6.4.5, 6.4.6, 6.4.9, 7.5.2; RFC 3516
BINARY; RFC 7162 UNCHANGEDSINCE): every attribute, partials, MIME part
sections, ENVELOPE and BODYSTRUCTURE, big bodies sent zero-copy, output
that pauses, implicit \\Seen, STORE forms, keywords and errors."""

import base64
import quopri

import pytest

import mailgen
from helpers import fetch, flags_of
from rawimap import Literal, astr


def user_flags(value):
    return flags_of(value) - {"\\RECENT"}


def one_fetch(r):
    """{ITEM: value} merged over the FETCH responses of a Result."""
    d = {}
    for _, items in r.fetches():
        d.update(items)
    return d


@pytest.fixture
def plain(c):
    msg = mailgen.plain(subject="Hello there", body=b"Line one\r\nLine two\r\n",
                        cc="Carol <carol@example.net>",
                        extra_headers=["X-Mixed-Case: yes",
                                       "x-folded: a\r\n\tb"])
    c.append("INBOX", msg, date="17-Jul-1996 02:44:25 -0700").ok()
    c.select().ok()
    return c, msg


# ------------------------------------------------------------ attributes

def test_simple_attributes(plain):
    c, msg = plain
    d = fetch(c, "1", "(UID FLAGS INTERNALDATE RFC822.SIZE)")[1]
    assert int(d["UID"]) == 1
    assert user_flags(d["FLAGS"]) == set()
    # The zone given to APPEND is kept (RFC 9051 2.3.3).
    assert astr(d["INTERNALDATE"]) == "17-Jul-1996 02:44:25 -0700"
    assert int(d["RFC822.SIZE"]) == len(msg)


def test_single_attribute_without_parentheses(plain):
    c, msg = plain
    assert fetch(c, "1", "RFC822.SIZE")[1] == {"RFC822.SIZE": str(len(msg))}


def test_body_sections(plain):
    c, msg = plain
    head, text = mailgen.split_header_body(msg)
    d = fetch(c, "1", "(BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT])")[1]
    assert d["BODY[]"] == msg
    assert d["BODY[HEADER]"] == head
    assert d["BODY[TEXT]"] == text


def test_rfc822_aliases(plain):
    c, msg = plain
    head, text = mailgen.split_header_body(msg)
    d = fetch(c, "1", "(RFC822.HEADER RFC822.TEXT RFC822)")[1]
    assert d["RFC822.HEADER"] == head
    assert d["RFC822.TEXT"] == text
    assert d["RFC822"] == msg


def test_header_fields_case_insensitive(plain):
    c, _ = plain
    d = fetch(c, "1", "BODY.PEEK[HEADER.FIELDS (subject X-MIXED-case cc)]")[1]
    (name, value), = d.items()
    assert name == "BODY[HEADER.FIELDS (SUBJECT X-MIXED-CASE CC)]", name
    # Message order, not request order; the blank line ends it.
    assert value == (b"Cc: Carol <carol@example.net>\r\nSubject: Hello there\r\n"
                     b"X-Mixed-Case: yes\r\n\r\n"), value


def test_header_fields_quoted_name_and_folding(plain):
    c, _ = plain
    d = fetch(c, "1", 'BODY.PEEK[HEADER.FIELDS ("X-Folded")]')[1]
    assert list(d.values()) == [b"x-folded: a\r\n\tb\r\n\r\n"], d


def test_header_fields_not(plain):
    c, msg = plain
    head, _ = mailgen.split_header_body(msg)
    d = fetch(c, "1", "BODY.PEEK[HEADER.FIELDS.NOT (From To Cc Subject Date "
                      "Message-ID MIME-Version)]")[1]
    value = list(d.values())[0]
    assert value == (b"Content-Type: text/plain; charset=us-ascii\r\n"
                     b"X-Mixed-Case: yes\r\nx-folded: a\r\n\tb\r\n\r\n"), value


@pytest.mark.parametrize("item,name,piece", [
    ("BODY.PEEK[]<0.10>", "BODY[]<0>", lambda m, h, t: m[:10]),
    ("BODY.PEEK[]<5.1000000>", "BODY[]<5>", lambda m, h, t: m[5:]),
    ("BODY.PEEK[TEXT]<2.5>", "BODY[TEXT]<2>", lambda m, h, t: t[2:7]),
    ("BODY.PEEK[HEADER]<6.4>", "BODY[HEADER]<6>", lambda m, h, t: h[6:10]),
    ("BODY.PEEK[HEADER.FIELDS (Subject)]<0.7>", "BODY[HEADER.FIELDS (SUBJECT)]<0>",
     lambda m, h, t: b"Subject"),
    ("BINARY.PEEK[]<1.3>", "BINARY[]<1>", lambda m, h, t: m[1:4]),
    ("BODY.PEEK[]<100000.10>", "BODY[]<100000>", lambda m, h, t: b""),
])
def test_partial(plain, item, name, piece):
    c, msg = plain
    head, text = mailgen.split_header_body(msg)
    d = fetch(c, "1", item)[1]
    assert d == {name: piece(msg, head, text)}, d


def test_partial_past_end_is_empty_string(plain):
    # RFC 9051 6.4.5: an origin past the end gives an empty string.
    c, msg = plain
    r = c.command("FETCH 1 BODY.PEEK[TEXT]<%d.10>" % len(msg)).ok()
    assert b'BODY[TEXT]<%d> ""' % len(msg) in r.untagged[0].raw, r.describe()


def test_binary_whole_message(plain):
    c, msg = plain
    d = fetch(c, "1", "(BINARY.PEEK[] BINARY.SIZE[])")[1]
    assert d["BINARY[]"] == msg
    assert int(d["BINARY.SIZE[]"]) == len(msg)


def test_binary_with_nul_is_literal8(login):
    c = login(rev2=True)
    msg = mailgen.plain(body=b"nul \x00 here\r\n")
    c.command("APPEND INBOX", Literal(msg, mode="binary")).ok()
    c.select().ok()
    r = c.command("FETCH 1 BINARY.PEEK[]").ok()
    assert b"BINARY[] ~{%d}\r\n" % len(msg) in r.untagged[0].raw, r.describe()
    assert one_fetch(r)["BINARY[]"] == msg


def test_macros(plain):
    c, _ = plain
    assert set(fetch(c, "1", "FAST")[1]) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE"}
    assert set(fetch(c, "1", "ALL")[1]) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE",
                                           "ENVELOPE"}
    assert set(fetch(c, "1", "full")[1]) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE",
                                            "ENVELOPE", "BODY"}


def test_uid_fetch_always_has_uid(c):
    for i in range(3):
        c.append("INBOX", mailgen.plain(subject="m%d" % i)).ok()
    c.select().ok()
    c.command("STORE 2 +FLAGS (\\Deleted)").ok()
    c.command("EXPUNGE").ok()
    got = fetch(c, "1:*", "FLAGS", uid=True)
    assert {s: int(d["UID"]) for s, d in got.items()} == {1: 1, 2: 3}
    got = fetch(c, "3", "RFC822.SIZE", uid=True)
    assert set(got) == {2} and got[2]["UID"] == "3", got


# ------------------------------------------------------------------ \Seen

def test_body_sets_seen_once_and_reports_it(plain):
    c, msg = plain
    r = c.command("FETCH 1 BODY[TEXT]").ok()
    d = one_fetch(r)
    assert "\\SEEN" in flags_of(d["FLAGS"]), r.describe()
    # Now already seen: no FLAGS unless asked for.
    r = c.command("FETCH 1 BODY[TEXT]").ok()
    assert "FLAGS" not in one_fetch(r), r.describe()


def test_flags_not_repeated_when_requested(c):
    c.append("INBOX", mailgen.plain()).ok()
    c.select().ok()
    r = c.command("FETCH 1 (FLAGS BODY[])").ok()
    fetch_resp, = r.find("FETCH")
    names = [t for t in fetch_resp.args()[0][::2]]
    assert [n.upper() for n in names] == ["FLAGS", "BODY[]"], r.describe()
    assert "\\SEEN" in flags_of(one_fetch(r)["FLAGS"]), r.describe()


@pytest.mark.parametrize("item", ["BODY.PEEK[]", "BODY.PEEK[HEADER]", "RFC822.HEADER",
                                  "BINARY.PEEK[]", "BINARY.SIZE[]", "ENVELOPE",
                                  "BODYSTRUCTURE"])
def test_peek_forms_leave_seen_alone(plain, item):
    c, _ = plain
    fetch(c, "1", item)
    assert "\\SEEN" not in flags_of(fetch(c, "1", "FLAGS")[1]["FLAGS"])


@pytest.mark.parametrize("item", ["BODY[]", "BODY[TEXT]", "RFC822", "RFC822.TEXT",
                                  "BINARY[]", "BODY[HEADER.FIELDS (From)]"])
def test_non_peek_forms_set_seen(plain, item):
    c, _ = plain
    fetch(c, "1", item)
    assert "\\SEEN" in flags_of(fetch(c, "1", "FLAGS")[1]["FLAGS"])


def test_examine_does_not_set_seen(c):
    c.append("INBOX", mailgen.plain()).ok()
    c.select(examine=True).ok()
    r = c.command("FETCH 1 BODY[]").ok()
    assert "FLAGS" not in one_fetch(r), r.describe()
    c.select().ok()
    assert "\\SEEN" not in flags_of(fetch(c, "1", "FLAGS")[1]["FLAGS"])


def test_seen_from_fetch_reaches_other_session(login, c):
    c.append("INBOX", mailgen.plain()).ok()
    c.select().ok()
    other = login()
    other.select().ok()
    c.command("FETCH 1 BODY[]").ok()
    r = other.command("NOOP").ok()
    (seq, d), = r.fetches()
    assert seq == 1 and "\\SEEN" in flags_of(d["FLAGS"]), r.describe()


# ------------------------------------------------------ big and many

def test_big_message_byte_exact(c):
    msg = mailgen.sized(3 * 1024 * 1024 + 13, subject="three megabytes")
    c.append("INBOX", msg).ok()
    c.select().ok()
    head, text = mailgen.split_header_body(msg)
    d = fetch(c, "1", "BODY.PEEK[]")[1]
    assert d["BODY[]"] == msg
    # Several big items in one response: the response resumes after each.
    d = fetch(c, "1", "(BODY.PEEK[TEXT] RFC822.SIZE BODY.PEEK[]<70001.2000000> "
                      "BODY.PEEK[HEADER] BINARY.PEEK[] UID)")[1]
    assert d["BODY[TEXT]"] == text
    assert int(d["RFC822.SIZE"]) == len(msg)
    assert d["BODY[]<70001>"] == msg[70001:2070001]
    assert d["BODY[HEADER]"] == head
    assert d["BINARY[]"] == msg
    assert d["UID"] == "1"


def test_big_messages_in_one_fetch(c):
    msgs = [mailgen.sized(300 * 1024 + i * 4099, subject="big %d" % i) for i in range(4)]
    for m in msgs:
        c.append("INBOX", m).ok()
    c.select().ok()
    got = fetch(c, "1:*", "(BODY.PEEK[] FLAGS)")
    assert [got[i]["BODY[]"] == msgs[i - 1] for i in (1, 2, 3, 4)] == [True] * 4


def test_many_messages_pause_and_resume(c):
    # 300 messages of ~2 KB: more than the output high-water mark.
    msgs = [mailgen.plain(subject="many %d" % i, body=(b"%05d " % i) * 400 + b"\r\n")
            for i in range(300)]
    for m in msgs:
        c.append("INBOX", m).ok()
    c.select().ok()
    r = c.command("FETCH 1:* (UID BODY.PEEK[] RFC822.SIZE)").ok()
    got = r.fetches()
    assert [seq for seq, _ in got] == list(range(1, 301))
    for seq, d in got:
        assert int(d["UID"]) == seq
        assert d["BODY[]"] == msgs[seq - 1], "message %d differs" % seq
        assert int(d["RFC822.SIZE"]) == len(msgs[seq - 1])
    # And the session goes on.
    r = c.command("FETCH 1:* (BODY[TEXT])").ok()
    assert len(r.fetches()) == 300
    assert all("\\SEEN" in flags_of(d["FLAGS"]) for _, d in r.fetches())


# -------------------------------------------------------- MIME parts

NESTED = (
    b"From: Outer <outer@example.com>\r\n"
    b"To: a@example.com\r\n"
    b"Subject: nested\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    b"\r\n"
    b"preamble\r\n"
    b"--outer\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"caf=C3=A9 soft=\r\nbreak  \r\n"
    b"--outer\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"Content-Description: forwarded\r\n"
    b"\r\n"
    b"From: Inner <inner@example.org>\r\n"
    b"Subject: inner one\r\n"
    b"Content-Type: multipart/alternative; boundary=inner\r\n"
    b"\r\n"
    b"--inner\r\n"
    b"\r\n"
    b"plain inner\r\n"
    b"--inner\r\n"
    b"Content-Type: text/html\r\n"
    b"\r\n"
    b"<p>html</p>\r\n"
    b"--inner--\r\n"
    b"--outer\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-Disposition: attachment; filename=\"x.bin\"\r\n"
    b"Content-Language: en, de\r\n"
    b"\r\n" + base64.encodebytes(bytes(range(256))).replace(b"\n", b"\r\n") +
    b"--outer--\r\n"
    b"epilogue\r\n"
)


@pytest.fixture
def nested(c):
    c.append("INBOX", NESTED).ok()
    c.append("INBOX", mailgen.plain(body=b"just text\r\n")).ok()
    c.select().ok()
    return c


def test_part_sections(nested):
    c = nested
    d = fetch(c, "1", "(BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2.HEADER] "
                      "BODY.PEEK[2.TEXT] BODY.PEEK[2.1] BODY.PEEK[2.2] "
                      "BODY.PEEK[2.2.MIME] BODY.PEEK[3]<0.4>)")[1]
    # RFC 2046 5.1.1: the CRLF before a delimiter belongs to it.
    assert d["BODY[1]"] == b"caf=C3=A9 soft=\r\nbreak  "
    assert d["BODY[1.MIME]"] == (b"Content-Type: text/plain; charset=utf-8\r\n"
                                 b"Content-Transfer-Encoding: quoted-printable\r\n\r\n")
    assert d["BODY[2.HEADER]"].startswith(b"From: Inner") and \
        d["BODY[2.HEADER]"].endswith(b"boundary=inner\r\n\r\n")
    assert d["BODY[2.TEXT]"].startswith(b"--inner\r\n") and \
        d["BODY[2.TEXT]"].endswith(b"--inner--")
    assert d["BODY[2.1]"] == b"plain inner"
    assert d["BODY[2.2]"] == b"<p>html</p>"
    assert d["BODY[2.2.MIME]"] == b"Content-Type: text/html\r\n\r\n"
    assert d["BODY[3]<0>"] == b"AAEC"


def test_part_one_of_single_part_message(nested):
    c = nested
    d = fetch(c, "2", "(BODY.PEEK[1] BODY.PEEK[TEXT] BINARY.PEEK[1])")[2]
    assert d["BODY[1]"] == d["BODY[TEXT]"] == d["BINARY[1]"] == b"just text\r\n"


def test_missing_parts_are_nil(nested):
    c = nested
    d = fetch(c, "1", "(BODY.PEEK[9] BODY.PEEK[1.1] BODY.PEEK[1.TEXT] "
                      "BODY.PEEK[2.1.HEADER])")[1]
    assert d == {"BODY[9]": None, "BODY[1.1]": None, "BODY[1.TEXT]": None,
                 "BODY[2.1.HEADER]": None}, d
    d = fetch(c, "2", "BODY.PEEK[2]")[2]
    assert d == {"BODY[2]": None}


def test_binary_decodes_parts(nested):
    c = nested
    d = fetch(c, "1", "(BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[3] "
                      "BINARY.SIZE[3] BINARY.PEEK[3]<250.100>)")[1]
    # Soft line break joined, trailing transport white space dropped.
    assert d["BINARY[1]"] == "café soft".encode() + b"break"
    assert d["BINARY[1]"] == quopri.decodestring(b"caf=C3=A9 soft=\r\nbreak")
    assert int(d["BINARY.SIZE[1]"]) == len(d["BINARY[1]"])
    assert d["BINARY[3]"] == bytes(range(256))
    assert int(d["BINARY.SIZE[3]"]) == 256
    assert d["BINARY[3]<250>"] == bytes(range(250, 256))


def test_big_multipart_parts_around_bulk(c):
    # Parts before and after a big zero-copy item, and a big decoded part.
    blob = bytes(range(256)) * 1200
    b64 = base64.encodebytes(blob).replace(b"\n", b"\r\n")
    msg = (b"Subject: big parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
           b"--b\r\n\r\nfirst\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
           b64 + b"--b--\r\n")
    c.append("INBOX", msg).ok()
    c.select().ok()
    d = fetch(c, "1", "(BODY.PEEK[1] BODY.PEEK[] BODY.PEEK[2] BINARY.PEEK[2] "
                      "BINARY.SIZE[2] BODY.PEEK[1.MIME] BODYSTRUCTURE)")[1]
    assert d["BODY[1]"] == b"first"
    assert d["BODY[]"] == msg
    assert d["BODY[2]"] == b64[:-2]
    assert d["BINARY[2]"] == blob
    assert int(d["BINARY.SIZE[2]"]) == len(blob)
    assert d["BODY[1.MIME]"] == b"\r\n"
    assert int(d["BODYSTRUCTURE"][1][6]) == len(b64) - 2


def test_binary_part_with_nul_is_literal8(nested):
    c = nested
    r = c.command("FETCH 1 BINARY.PEEK[3]").ok()
    assert b"BINARY[3] ~{256}\r\n" in r.untagged[0].raw, r.describe()


def test_binary_unknown_encoding(c):
    msg = (b"Subject: odd\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n")
    c.append("INBOX", msg).ok()
    c.select().ok()
    c.command("FETCH 1 BINARY.PEEK[1]").expect("NO", code="UNKNOWN-CTE")
    # BODY[] is not decoded, so it works.
    assert fetch(c, "1", "BODY.PEEK[1]")[1]["BODY[1]"] == b"begin\r\n"


def test_bodystructure_nested(nested):
    c = nested
    bs = fetch(c, "1", "BODYSTRUCTURE")[1]["BODYSTRUCTURE"]
    text, msg, att = bs[0], bs[1], bs[2]
    assert astr(bs[3]).upper() == "MIXED"
    assert [astr(x).lower() for x in bs[4]] == ["boundary", "outer"], bs
    assert [astr(x).upper() for x in text[:2]] == ["TEXT", "PLAIN"]
    assert [astr(x).lower() for x in text[2]] == ["charset", "utf-8"]
    assert astr(text[5]).upper() == "QUOTED-PRINTABLE"
    assert int(text[6]) == len(b"caf=C3=A9 soft=\r\nbreak  ") and int(text[7]) == 2
    # message/rfc822: fields, envelope, body, lines.
    assert [astr(x).upper() for x in msg[:2]] == ["MESSAGE", "RFC822"]
    assert astr(msg[4]) == "forwarded"
    env, inner, lines = msg[7], msg[8], msg[9]
    assert astr(env[1]) == "inner one" and astr(env[2][0][2]) == "inner", env
    assert astr(inner[2]).upper() == "ALTERNATIVE", inner
    assert [astr(x).upper() for x in inner[0][:2]] == ["TEXT", "PLAIN"], inner
    assert [astr(x).upper() for x in inner[1][:2]] == ["TEXT", "HTML"], inner
    enclosed = fetch(c, "1", "BODY.PEEK[2]")[1]["BODY[2]"]
    assert int(msg[6]) == len(enclosed)
    assert enclosed.endswith(b"--inner--")
    assert int(lines) == enclosed.count(b"\n") + 1
    assert [astr(x).upper() for x in att[:2]] == ["APPLICATION", "OCTET-STREAM"]
    assert astr(att[5]).upper() == "BASE64"
    disposition = att[8]
    assert astr(disposition[0]).lower() == "attachment"
    assert [astr(x) for x in disposition[1]] == ["filename", "x.bin"]
    assert [astr(x) for x in att[9]] == ["en", "de"]


def test_body_is_bodystructure_without_extensions(nested):
    c = nested
    d = fetch(c, "1:2", "(BODY BODYSTRUCTURE)")
    body, bs = d[1]["BODY"], d[1]["BODYSTRUCTURE"]
    assert len(body) == 4 and len(bs) > 4  # parts, parts, parts, subtype
    assert len(body[0]) == 8 and len(bs[0]) > 8  # no MD5 etc. in BODY
    plain_body = d[2]["BODY"]
    assert [astr(x).upper() for x in plain_body[:2]] == ["TEXT", "PLAIN"]
    assert int(plain_body[6]) == len(b"just text\r\n") and int(plain_body[7]) == 1


def test_bodystructure_default_type(c):
    c.append("INBOX", b"Subject: no mime\r\n\r\nbody\r\n").ok()
    c.select().ok()
    bs = fetch(c, "1", "BODYSTRUCTURE")[1]["BODYSTRUCTURE"]
    # RFC 2045 5.2: text/plain; charset=us-ascii.
    assert [astr(x).lower() for x in bs[:2]] == ["text", "plain"], bs
    assert [astr(x).lower() for x in bs[2]] == ["charset", "us-ascii"], bs
    assert astr(bs[5]).upper() == "7BIT" and int(bs[6]) == 6 and int(bs[7]) == 1


# ------------------------------------------------------------ ENVELOPE

def test_envelope_full(c):
    msg = (b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
           b"From: Terry Gray <gray@cac.washington.edu>\r\n"
           b"Sender: list@example.com\r\n"
           b"Subject: IMAP4rev1 WG mtg summary and minutes\r\n"
           b"To: imap@cac.washington.edu\r\n"
           b"cc: minutes@CNRI.Reston.VA.US,\r\n"
           b" \"John Klensin\" <KLENSIN@MIT.EDU>\r\n"
           b"Bcc: Undisclosed: a@b.c, \"Q, R\" <q@r.s>;, last@x.y\r\n"
           b"In-Reply-To: <x@y>\r\n"
           b"Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
           b"\r\nbody\r\n")
    c.append("INBOX", msg).ok()
    c.select().ok()
    env = fetch(c, "1", "ENVELOPE")[1]["ENVELOPE"]
    assert astr(env[0]) == "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"
    assert astr(env[1]) == "IMAP4rev1 WG mtg summary and minutes"
    assert env[2] == [[b"Terry Gray", None, b"gray", b"cac.washington.edu"]]
    assert env[3] == [[None, None, b"list", b"example.com"]]
    assert env[4] == env[2]  # Reply-To absent: From
    assert env[5] == [[None, None, b"imap", b"cac.washington.edu"]]
    assert env[6] == [[None, None, b"minutes", b"CNRI.Reston.VA.US"],
                      [b"John Klensin", None, b"KLENSIN", b"MIT.EDU"]]
    assert env[7] == [[None, None, b"Undisclosed", None],
                      [None, None, b"a", b"b.c"],
                      [b"Q, R", None, b"q", b"r.s"],
                      [None, None, None, None],
                      [None, None, b"last", b"x.y"]], env[7]
    assert astr(env[8]) == "<x@y>"
    assert astr(env[9]) == "<B27397-0100000@cac.washington.edu>"


def test_envelope_missing_fields(c):
    c.append("INBOX", b"X-Nothing: here\r\n\r\nbody\r\n").ok()
    c.select().ok()
    env = fetch(c, "1", "ENVELOPE")[1]["ENVELOPE"]
    assert env == [None] * 10, env


# ---------------------------------------------------------------- STORE

@pytest.fixture
def three(c):
    for i in range(3):
        c.append("INBOX", mailgen.plain(subject="s%d" % i)).ok()
    c.select().ok()
    return c


def flags_after(r):
    return {seq: user_flags(d["FLAGS"]) for seq, d in r.fetches()}


def test_store_forms(three):
    c = three
    r = c.command("STORE 1:2 +FLAGS (\\Seen \\Flagged)").ok()
    assert flags_after(r) == {1: {"\\SEEN", "\\FLAGGED"}, 2: {"\\SEEN", "\\FLAGGED"}}
    # Unparenthesised flags (RFC 9051 6.4.6 "flag *(SP flag)").
    r = c.command("STORE 2 -FLAGS \\Seen \\Flagged").ok()
    assert flags_after(r) == {2: set()}
    r = c.command("STORE 3 FLAGS \\Draft").ok()
    assert flags_after(r) == {3: {"\\DRAFT"}}
    r = c.command("STORE 1:* FLAGS ()").ok()
    assert flags_after(r) == {1: set(), 2: set(), 3: set()}
    r = c.command("store 1 +flags.silent (\\answered)").ok()
    assert not r.find("FETCH"), r.describe()
    assert user_flags(fetch(c, "1", "FLAGS")[1]["FLAGS"]) == {"\\ANSWERED"}


def test_store_reports_unchanged_messages_too(three):
    c = three
    c.command("STORE 1 +FLAGS (\\Seen)").ok()
    r = c.command("STORE 1:2 +FLAGS (\\Seen)").ok()
    assert flags_after(r) == {1: {"\\SEEN"}, 2: {"\\SEEN"}}, r.describe()


def test_store_fetch_has_uid(three):
    c = three
    r = c.command("UID STORE 2 +FLAGS (\\Deleted)").ok()
    (seq, d), = r.fetches()
    assert seq == 2 and d["UID"] == "2", r.describe()
    r = c.command("STORE 3 +FLAGS (\\Deleted)").ok()
    (seq, d), = r.fetches()
    assert seq == 3 and d["UID"] == "3", r.describe()


def test_store_no_repeat_at_sync(three):
    # Our own change is not reported again by the NOOP that follows.
    c = three
    c.command("STORE 1 +FLAGS (\\Flagged)").ok()
    r = c.command("NOOP").ok()
    assert not r.find("FETCH"), r.describe()


def test_store_keyword_case_and_order(three):
    # Keyword sets are kept in the store's order, so the sync after the
    # command finds nothing new; names match without regard to case.
    c = three
    r = c.command("STORE 1 +FLAGS (Zeta alpha ZETA Mid)").ok()
    (_, d), = r.fetches()
    assert [f for f in d["FLAGS"] if not f.startswith("\\")] == ["alpha", "Mid", "Zeta"], d
    r = c.command("NOOP").ok()
    assert not r.find("FETCH"), r.describe()
    r = c.command("STORE 1 -FLAGS (MID)").ok()
    assert flags_after(r) == {1: {"ALPHA", "ZETA"}}
    r = c.command("NOOP").ok()
    assert not r.find("FETCH"), r.describe()


def test_store_keyword_limit_per_message(three):
    c = three
    for batch in range(4):
        kws = " ".join("b%dk%d" % (batch, i) for i in range(64))
        c.command("STORE 1 +FLAGS (%s)" % kws).ok()
    r = c.command("STORE 1 +FLAGS (onemore)").expect("NO", code="LIMIT")
    assert not r.find("FETCH"), r.describe()
    assert "ONEMORE" not in flags_of(fetch(c, "1", "FLAGS")[1]["FLAGS"])
    c.command("STORE 1 FLAGS (few)").ok()


def test_store_keywords_announced(three):
    c = three
    r = c.command("STORE 1 +FLAGS ($Label1 work \\Seen work)").ok()
    flags = r.one("FLAGS").args()[0]
    assert {"$LABEL1", "WORK"} <= flags_of(flags), r.describe()
    perm = [u for u in r.untagged if u.code_name == "PERMANENTFLAGS"]
    assert perm and "$Label1" in perm[0].code and "\\*" in perm[0].code, r.describe()
    # FLAGS comes before the FETCH that uses the keyword.
    kinds = [u.kind for u in r.untagged]
    assert kinds.index("FLAGS") < kinds.index("FETCH"), r.describe()
    assert flags_after(r) == {1: {"$LABEL1", "WORK", "\\SEEN"}}
    # Known now: no new FLAGS.
    r = c.command("STORE 2 +FLAGS (work)").ok()
    assert not r.find("FLAGS"), r.describe()
    r = c.command("STORE 1 -FLAGS (WORK)").ok()
    assert flags_after(r) == {1: {"$LABEL1", "\\SEEN"}}


def test_store_keywords_seen_by_other_session(three, login):
    c = three
    other = login()
    other.select().ok()
    c.command("STORE 2 +FLAGS (Shared)").ok()
    r = other.command("NOOP").ok()
    assert "SHARED" in flags_of(r.one("FLAGS").args()[0]), r.describe()
    assert flags_after(r) == {2: {"SHARED"}}


def test_store_too_many_keywords(three):
    c = three
    kws = " ".join("k%d" % i for i in range(65))
    c.command("STORE 1 +FLAGS (%s)" % kws).expect("BAD")
    kws = " ".join("k%d" % i for i in range(64))
    c.command("STORE 1 +FLAGS (%s)" % kws).ok()
    c.command("STORE 1 +FLAGS (%s)" % ("x" * 101)).expect("BAD")


@pytest.mark.parametrize("bad", [
    "STORE 1 +FLAGS (\\Bogus)",
    "STORE 1 +FLAGS (\"quoted\")",
    "STORE 1 +FLAGS (a%b)",
    "STORE 1 +FLAGS (a*b)",
    "STORE 1 FLAGZ (\\Seen)",
    "STORE 1 +FLAGS",
    "STORE 1",
    "STORE 4 +FLAGS (\\Seen)",
    "STORE x +FLAGS (\\Seen)",
    "STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)",
    "STORE 1 (FOO 1) +FLAGS (\\Seen)",
])
def test_store_errors(three, bad):
    c = three
    c.command(bad).expect("BAD")
    c.command("NOOP").ok()


def test_store_recent_rev1_ignored_rev2_bad(three, login):
    c = three
    r = c.command("STORE 1 +FLAGS (\\Recent \\Seen)").ok()
    assert flags_after(r) == {1: {"\\SEEN"}}
    c2 = login(rev2=True)
    c2.select().ok()
    c2.command("STORE 1 +FLAGS (\\Recent)").expect("BAD")


def test_store_read_only(three):
    c = three
    c.select(examine=True).ok()
    c.command("STORE 1 +FLAGS (\\Seen)").expect("NO")
    c.command("UID STORE 1 +FLAGS (\\Seen)").expect("NO")


def test_store_unchangedsince(three):
    # RFC 7162 3.1.3.
    c = three
    r = c.command("STORE 1:2 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)").ok()
    assert r.code_name == "MODIFIED" and r.tagged.code_args == "1:2", r.describe()
    assert not r.find("FETCH")
    r = c.command("STORE 1 (UNCHANGEDSINCE 9223372036854775807) +FLAGS (\\Seen)").ok()
    assert r.code_name is None and flags_after(r) == {1: {"\\SEEN"}}, r.describe()
    r = c.command("UID STORE 3 (UNCHANGEDSINCE 0) FLAGS (\\Seen)").ok()
    assert r.code_name == "MODIFIED" and r.tagged.code_args == "3", r.describe()


def test_store_many_messages(c):
    for i in range(40):
        c.append("INBOX", mailgen.plain(subject="n%d" % i)).ok()
    c.select().ok()
    r = c.command("STORE 1:* +FLAGS (\\Deleted Big)").ok()
    got = flags_after(r)
    assert sorted(got) == list(range(1, 41))
    assert all(v == {"\\DELETED", "BIG"} for v in got.values())


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("bad", [
    "FETCH 1 (FLAGS FROBS)",
    "FETCH 1 ()",
    "FETCH 1",
    "FETCH 1 BODY[",
    "FETCH 1 BODY[HEADER.FIELDS]",
    "FETCH 1 BODY[HEADER.FIELDS ()]",
    "FETCH 1 BODY[HEADER.FIELDS (A:B)]",
    "FETCH 1 BODY[1.]",
    "FETCH 1 BODY[0]",
    "FETCH 1 BODY[MIME]",
    "FETCH 1 BODY[TEXT.1]",
    "FETCH 1 BODY[]<5>",
    "FETCH 1 BODY[]<5.0>",
    "FETCH 1 BODY[]<a.1>",
    "FETCH 1 BODY[]junk",
    "FETCH 1 BINARY[HEADER]",
    "FETCH 1 BINARY.SIZE[]<0.1>",
    "FETCH 1 BODY.PEEK",
    "FETCH 1 (ALL)",
    "FETCH 1 (\"FLAGS\")",
    "FETCH 2 FLAGS",
    "FETCH 0 FLAGS",
    "FETCH 1:5 FLAGS",
    "FETCH 1 FLAGS (CHANGEDSINCE 1 BOGUS)",
])
def test_fetch_errors(plain, bad):
    c, _ = plain
    r = c.command(bad).expect("BAD")
    assert not r.find("FETCH"), r.describe()
    c.command("NOOP").ok()


def test_uid_fetch_beyond_is_empty(plain):
    c, _ = plain
    r = c.command("UID FETCH 5:9 FLAGS").ok()
    assert not r.find("FETCH"), r.describe()


def test_fetch_expunged_by_other_session(c, login):
    for i in range(3):
        c.append("INBOX", mailgen.plain(subject="e%d" % i)).ok()
    c.select().ok()
    other = login()
    other.select().ok()
    other.command("STORE 2 +FLAGS.SILENT (\\Deleted)").ok()
    other.command("EXPUNGE").ok()
    # Message 2 is still in our view but gone from the store: skipped.
    r = c.command("FETCH 1:3 (UID BODY.PEEK[HEADER.FIELDS (Subject)])").ok()
    got = dict(r.fetches())
    assert set(got) == {1, 3}, r.describe()
    assert got[3]["UID"] == "3"
    assert not r.find("EXPUNGE"), r.describe()  # not during FETCH
    r = c.command("NOOP").ok()
    assert [u.number for u in r.find("EXPUNGE")] == [2], r.describe()
