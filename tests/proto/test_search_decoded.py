"""SEARCH matches decoded text (RFC 9051 6.4.4): RFC 2047 encoded words in
header fields, base64 and quoted-printable bodies in their charsets,
the visible text of HTML, case-insensitively per i;unicode-casemap
(RFC 5051); and SEARCH CHARSET converts the search strings from any
charset iconv knows.
"""

import base64
import quopri

import pytest

from rawimap import Literal


def b64(text, charset):
    return base64.b64encode(text.encode(charset)).decode()


def qp(text, charset):
    return quopri.encodestring(text.encode(charset)).decode()


def msg(headers, body=b"", ctype=None, cte=None):
    lines = list(headers)
    if ctype:
        lines.append("MIME-Version: 1.0")
        lines.append("Content-Type: " + ctype)
    if cte:
        lines.append("Content-Transfer-Encoding: " + cte)
    head = "".join(l + "\r\n" for l in lines).encode("ascii")
    if isinstance(body, str):
        body = body.encode("ascii")
    return head + b"\r\n" + body


SUBJ_LATIN1 = "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e"
FROM_KOI8 = "\u0418\u0432\u0430\u043d \u041f\u0435\u0442\u0440\u043e\u0432"
SUBJ_SJIS = "\u65e5\u672c\u8a9e\u306e\u4ef6\u540d"
FROM_UTF8 = "J\u00fcrgen M\u00fcller"
BODY_B64 = "Gr\u00fc\u00dfe aus M\u00fcnchen, \u03a3\u03bf\u03c6\u03af\u03b1"
BODY_QP = ("Le caf\u00e9 est tr\u00e8s bon. " * 6) + "Fin du message."
BODY_KOI8 = ("\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! "
             "\u0421\u044a\u0435\u0448\u044c \u0436\u0435 \u0435\u0449\u0451.")

MESSAGES = [
    # 1: Q-encoded ISO-8859-1 subject, B-encoded KOI8-R sender.
    msg(["From: =?koi8-r?B?%s?= <ivan@example.ru>" % b64(FROM_KOI8, "koi8-r"),
         "Subject: =?iso-8859-1?Q?Caf=E9_cr=E8me?=\r\n"
         " =?ISO-8859-1?q?_br=FBl=E9e?="],
        "plain body one\r\n"),
    # 2: Shift_JIS subject split over two adjacent words, UTF-8 sender.
    msg(["From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <j@example.de>",
         "Subject: =?shift_jis?B?%s?= =?shift_jis?B?%s?=" % (
             b64(SUBJ_SJIS[:3], "shift_jis"), b64(SUBJ_SJIS[3:], "shift_jis"))],
        "plain body two\r\n"),
    # 3: a base64 UTF-8 body.
    msg(["From: a@example.com", "Subject: base64"],
        "\r\n".join(b64(BODY_B64, "utf-8")[i:i + 16]
                    for i in range(0, len(b64(BODY_B64, "utf-8")), 16)) + "\r\n",
        "text/plain; charset=utf-8", "base64"),
    # 4: a quoted-printable ISO-8859-1 body with soft line breaks.
    msg(["From: a@example.com", "Subject: qp"],
        qp(BODY_QP, "iso-8859-1").replace("\n", "\r\n"),
        'text/plain; charset="ISO-8859-1"', "quoted-printable"),
    # 5: an 8-bit KOI8-R body.
    msg(["From: a@example.com", "Subject: koi8"],
        BODY_KOI8.encode("koi8-r") + b"\r\n",
        "text/plain; charset=koi8-r", "8bit"),
    # 6: HTML only.
    msg(["From: a@example.com", "Subject: html"],
        "<html><head><title>T</title><style>p { color: red }</style>"
        "</head><body><p class=\"para\">Visible <b>para</b>graph &amp; "
        "caf&eacute;</p><script>hiddenscript()</script></body></html>\r\n",
        "text/html; charset=us-ascii"),
    # 7: multipart: a QP text part, and an attachment that is not text.
    msg(["From: a@example.com", "Subject: multipart"],
        "--b1\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "na=C3=AFve r=C3=A9sum=C3=A9\r\n"
        "--b1\r\n"
        "Content-Type: application/octet-stream\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n" + b64("secretattachment", "ascii") + "\r\n"
        "--b1--\r\n",
        'multipart/mixed; boundary="b1"'),
]


@pytest.fixture
def box(c):
    for m in MESSAGES:
        c.command("APPEND INBOX", Literal(m)).ok()
    c.command("SELECT INBOX").ok()
    return c


def search_utf8(c, key, text):
    r = c.command("SEARCH CHARSET UTF-8", key, Literal(text.encode()))
    return r.ok().search()


@pytest.mark.parametrize("key,text,want", [
    ("SUBJECT", "caf\u00e9 cr\u00e8me", [1]),
    # Across two encoded words (RFC 2047 6.2: the folding white space
    # between them goes, the "_" inside the second stays).
    ("SUBJECT", "cr\u00e8me br\u00fbl\u00e9e", [1]),
    ("SUBJECT", "CAF\u00c9 CR\u00c8ME", [1]),
    ("FROM", FROM_KOI8, [1]),
    ("FROM", FROM_KOI8.upper(), [1]),
    ("FROM", "\u0438\u0432\u0430\u043d \u043f", [1]),
    ("FROM", "ivan@example.ru", [1]),
    ("SUBJECT", SUBJ_SJIS, [2]),
    ("SUBJECT", "\u672c\u8a9e\u306e", [2]),
    ("FROM", "j\u00fcrgen m\u00fcller", [2]),
    ("HEADER Subject", "caf\u00e9", [1]),
    ("HEADER X-None", "caf\u00e9", []),
    # The raw encoded text no longer matches.
    ("SUBJECT", "Caf=E9", []),
    ("FROM", "=?koi8-r", []),
])
def test_decoded_headers(box, key, text, want):
    assert search_utf8(box, key, text) == want


@pytest.mark.parametrize("key,text,want", [
    ("BODY", "gr\u00fc\u00dfe aus m\u00fcnchen", [3]),
    ("BODY", "GR\u00dc\u00dfE", [3]),
    ("BODY", "\u03c3\u03bf\u03c6\u03af\u03b1", [3]),
    ("BODY", "\u03a3\u039f\u03a6\u038a\u0391", [3]),
    ("BODY", "caf\u00e9 est tr\u00e8s bon. le caf\u00e9", [4]),
    ("BODY", "fin du message", [4]),
    ("BODY", "\u043f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440", [5]),
    ("BODY", "\u041f\u0420\u0418\u0412\u0415\u0422, \u041c\u0418\u0420", [5]),
    ("BODY", "\u0415\u0429\u0401", [5]),
    ("BODY", "visible paragraph & caf\u00e9", [6]),
    ("BODY", "hiddenscript", []),
    ("BODY", "color: red", []),
    ("BODY", "para\"", []),
    ("BODY", "<b>", []),
    ("BODY", "NA\u00cfVE R\u00c9SUM\u00c9", [7]),
    ("BODY", "secretattachment", []),
    # The encoded forms are not text.
    ("BODY", b64(BODY_B64, "utf-8")[:12], []),
    ("BODY", "caf=E9", []),
    # TEXT: the decoded header fields too.
    ("TEXT", "cr\u00e8me", [1]),
    ("TEXT", "plain body one", [1]),
    ("TEXT", "subject: html", [6]),
    ("TEXT", "\u041c\u0418\u0420!", [5]),
    ("BODY", "cr\u00e8me", []),
])
def test_decoded_bodies(box, key, text, want):
    assert search_utf8(box, key, text) == want


def test_search_charset_conversion(box):
    r = box.command("SEARCH CHARSET ISO-8859-1 SUBJECT",
                    Literal("CAF\u00c9".encode("iso-8859-1"))).ok()
    assert r.search() == [1]
    r = box.command("SEARCH CHARSET iso-8859-1 BODY",
                    Literal("tr\u00e8s".encode("iso-8859-1"))).ok()
    assert r.search() == [4]
    # KOI8-R search string; the body is KOI8-R too, From: is base64.
    r = box.command("SEARCH CHARSET KOI8-R OR BODY",
                    Literal("\u041c\u0418\u0420".encode("koi8-r")),
                    "FROM", Literal("\u043f\u0435\u0442\u0440".encode("koi8-r"))).ok()
    assert r.search() == [1, 5]
    # Shift_JIS against a Shift_JIS subject; ESEARCH after RETURN.
    r = box.command("SEARCH RETURN (COUNT) CHARSET Shift_JIS SUBJECT",
                    Literal("\u4ef6\u540d".encode("shift_jis"))).ok()
    assert "COUNT 1" in r.describe()
    # Keywords are atoms, not converted; ASCII keys still work.
    r = box.command("SEARCH CHARSET windows-1252 UNKEYWORD $x SUBJECT koi8").ok()
    assert r.search() == [5]


def test_unknown_charset(box):
    r = box.command("SEARCH CHARSET X-NO-SUCH-CHARSET SUBJECT x").expect(
        "NO", code="BADCHARSET")
    assert "US-ASCII" in r.code_args and "UTF-8" in r.code_args
    r = box.command("SEARCH CHARSET", Literal(b"utf-8\x00x"),
                    "SUBJECT x").expect("NO", code="BADCHARSET")
    # The connection goes on.
    assert search_utf8(box, "SUBJECT", "html") == [6]


def test_bad_utf8_search_string(box):
    # Invalid UTF-8 in the search string matches no valid text.
    r = box.command("SEARCH CHARSET UTF-8 BODY", Literal(b"caf\xff")).ok()
    assert r.search() == []
