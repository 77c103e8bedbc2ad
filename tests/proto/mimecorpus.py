"""A corpus of MIME messages as exact bytes, for test_mime_oracle.py and
as seeds for tests/fuzz/fuzz-mime.c.

CORPUS maps a name to the message.  Well-formed messages come first,
then malformed ones (MALFORMED lists them) whose splitting the RFCs
leave open or that Python's email package handles differently from
RFC 2046; the test says per case what it compares.
"""

import base64
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP

CRLF = b"\r\n"


def lines(*ls, eol=CRLF):
    """Joins lines with eol, each one ended."""
    return b"".join((l.encode("latin-1") if isinstance(l, str) else l) + eol
                    for l in ls)


def _b64(data):
    return base64.encodebytes(data).replace(b"\n", CRLF)


BLOB = bytes(range(256)) * 3


def _built_mixed():
    """multipart/mixed with base64 attachments, made by email itself."""
    m = MIMEMultipart("mixed", boundary="==built-mixed==")
    m["From"] = "Builder <builder@example.com>"
    m["To"] = "you@example.com"
    m["Subject"] = "built with email"
    m.attach(MIMEText("See the attachments.\n", "plain", "utf-8"))
    m.attach(MIMEApplication(BLOB, "octet-stream", Name="blob.bin"))
    png = MIMEApplication(b"\x89PNG\r\n\x1a\n" + bytes(100), "png")
    png.replace_header("Content-Type", 'image/png; name="dot.png"')
    png.add_header("Content-Disposition", "inline", filename="dot.png")
    m.attach(png)
    return m.as_bytes(policy=SMTP)


def _built_alt():
    m = MIMEMultipart("alternative", boundary="alt-built")
    m["Subject"] = "alternatives"
    m.attach(MIMEText("Plain text, caf\u00e9.\n", "plain", "utf-8"))
    m.attach(MIMEText("<p>HTML, caf\u00e9.</p>\n", "html", "iso-8859-1"))
    return m.as_bytes(policy=SMTP)


def _nest(depth):
    """depth levels of multipart/mixed, a text part at the bottom."""
    body = lines("Content-Type: text/plain", "", "bottom")
    for i in reversed(range(depth)):
        b = "lvl%d" % i
        body = (lines("Content-Type: multipart/mixed; boundary=%s" % b, "",
                      "--" + b) + body + CRLF + lines("--%s--" % b))
    return lines("Subject: deep") + body


CORPUS = {
    "plain": lines(
        "From: Alice <alice@example.com>", "To: bob@example.org",
        "Subject: plain", "Date: Mon, 2 Jan 2023 10:00:00 +0100",
        "Message-ID: <plain@example.com>", "", "Hello Bob,", "", "bye."),
    "no-mime-headers-no-final-eol":
        b"Subject: x\r\n\r\nlast line without end",
    "alternative": lines(
        "From: a@example.com", "Subject: alt", "MIME-Version: 1.0",
        'Content-Type: multipart/alternative; boundary="b1"', "",
        "This is a multi-part message in MIME format.",
        "--b1", "Content-Type: text/plain; charset=us-ascii", "",
        "plain version", "--b1",
        "Content-Type: text/html; charset=\"utf-8\"",
        "Content-Transfer-Encoding: quoted-printable", "",
        "<p>caf=C3=A9 and a soft=", "break</p>", "--b1--", "epilogue"),
    "built-mixed": _built_mixed(),
    "built-alternative": _built_alt(),
    "mixed-alt-related": lines(
        "Subject: nested", "Content-Type: multipart/mixed; boundary=outer", "",
        "--outer", "Content-Type: multipart/alternative; boundary=alt", "",
        "--alt", "Content-Type: text/plain", "", "text", "--alt",
        'Content-Type: multipart/related; boundary=rel; type="text/html"', "",
        "--rel", "Content-Type: text/html; charset=utf-8", "",
        '<img src="cid:pic@x">', "--rel", "Content-Type: image/gif",
        "Content-ID: <pic@x>", "Content-Transfer-Encoding: base64", "",
        _b64(b"GIF89a" + bytes(40)).rstrip(CRLF), "--rel--", "", "--alt--",
        "--outer", 'Content-Type: application/pdf; name="r.pdf"',
        "Content-Transfer-Encoding: base64", "",
        _b64(b"%PDF-1.4 fake").rstrip(CRLF), "--outer--"),
    "forwarded-rfc822": lines(
        "From: fwd@example.com", "Subject: Fwd: report",
        "Content-Type: multipart/mixed; boundary=fwd", "", "--fwd",
        "Content-Type: text/plain", "", "see below", "--fwd",
        "Content-Type: message/rfc822", "Content-Description: forwarded", "",
        'From: "Carol Q." <carol@example.net>', "To: team:a@x,b@y;",
        "Cc: <@relay.example:dave@example.org>",
        "Subject: report", "Message-ID: <inner@example.net>",
        "Content-Type: multipart/mixed; boundary=in", "", "--in",
        "Content-Type: text/plain; charset=iso-8859-1",
        "Content-Transfer-Encoding: 8bit", "", b"r\xe9sum\xe9", "--in",
        'Content-Type: application/octet-stream; name="d.bin"',
        "Content-Transfer-Encoding: base64", "",
        _b64(bytes(range(50))).rstrip(CRLF), "--in--", "--fwd--"),
    "charsets-8bit": lines(
        "Subject: charsets", "Content-Type: multipart/mixed; boundary=cs", "",
        "--cs", "Content-Type: text/plain; charset=iso-8859-1",
        "Content-Transfer-Encoding: 8bit", "", b"Gr\xfc\xdfe aus K\xf6ln",
        "--cs", "Content-Type: text/plain; charset=koi8-r",
        "Content-Transfer-Encoding: 8bit", "",
        "\u043f\u0440\u0438\u0432\u0435\u0442".encode("koi8-r"),
        "--cs", "Content-Type: text/plain; charset=shift_jis",
        "Content-Transfer-Encoding: 8bit", "",
        "\u3053\u3093\u306b\u3061\u306f".encode("shift_jis"),
        "--cs", "Content-Type: text/plain; charset=koi8-r",
        "Content-Transfer-Encoding: base64", "",
        _b64("\u0434\u0430".encode("koi8-r")).rstrip(CRLF),
        "--cs", "Content-Type: text/plain; charset=iso-8859-1",
        "Content-Transfer-Encoding: quoted-printable", "",
        "na=EFve  ", "line=20", "--cs--"),
    "rfc2047": lines(
        "From: =?iso-8859-1?Q?Andr=E9?= <andre@example.com>",
        "To: =?utf-8?B?0J/QtdGC0YA=?= <petr@example.ru>, plain@example.com",
        "Subject: =?utf-8?q?caf=C3=A9?= =?koi8-r?b?0NLJ18XU?=",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit", "", "caf\u00e9".encode()),
    "rfc2231": lines(
        "Subject: 2231", "Content-Type: multipart/mixed; boundary=p", "",
        "--p", "Content-Type: application/octet-stream;",
        ' name*0="very long ";', ' name*1="name.txt"',
        "Content-Disposition: attachment;",
        " filename*=iso-8859-1'en'caf%E9.txt",
        "Content-Transfer-Encoding: base64", "", _b64(b"abc").rstrip(CRLF),
        "--p", "Content-Type: text/plain;",
        " name*0*=utf-8''%C3%A9t%C3%A9;", " name*1*=%20x.txt",
        "Content-Disposition: inline", "", "body", "--p--"),
    "content-headers": lines(
        "Subject: headers", "Content-Type: multipart/mixed; boundary=h",
        "Content-Language: en", "", "--h",
        "Content-Type: text/plain; charset=us-ascii; format=flowed",
        "Content-ID: <part1@example.com>",
        "Content-Description: the first part",
        "Content-Disposition: inline; filename=a.txt",
        "Content-Language: en-GB, de", "Content-Location: http://e.x/a",
        "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==", "", "described",
        "--h", "Content-Type: audio/basic", "Content-Disposition: attachment",
        "Content-Transfer-Encoding: base64", "",
        _b64(bytes(30)).rstrip(CRLF), "--h--"),
    "digest": lines(
        "Subject: digest", "Content-Type: multipart/digest; boundary=dg", "",
        "--dg", "", "Subject: first", "", "one", "--dg",
        "Content-Type: text/plain", "", "not a message", "--dg", "",
        "Subject: third", "Content-Type: multipart/mixed; boundary=t", "",
        "--t", "", "in third", "--t--", "--dg--"),
    "empty-parts": lines(
        "Subject: empty", "Content-Type: multipart/mixed; boundary=e", "",
        "--e", "", "--e", "Content-Type: text/plain", "", "", "--e",
        "Content-Type: application/octet-stream",
        "Content-Transfer-Encoding: base64", "", "--e--"),
    "rfc822-top-level": lines(
        "Subject: outer", "Content-Type: message/rfc822", "",
        "Subject: inner", "From: in@example.com", "", "inner body"),
    "transport-padding": lines(
        "Subject: pad", "Content-Type: multipart/mixed; boundary=pad", "",
        "--pad  ", "", "first", "--pad\t", "", "second", "--pad-- ",
        "after"),
    "quoted-params": lines(
        "Subject: quoting", 'Content-Type: MULTIPART/Mixed; boundary="q;b x"', "",
        "--q;b x", 'Content-Type: TEXT/PLAIN; name="a \\"q\\" b.txt"; charset="UTF-8"',
        'Content-Disposition: attachment; filename="x;y.txt"', "", "quoted",
        "--q;b x", "Content-Type: message/rfc822", "Content-Transfer-Encoding: base64",
        "", _b64(b"Subject: hidden\r\n\r\nbody\r\n").rstrip(CRLF), "--q;b x--"),
    # ------------------------------------------------------ malformed
    "missing-final-boundary": lines(
        "Subject: open", "Content-Type: multipart/mixed; boundary=m", "",
        "--m", "Content-Type: text/plain", "", "one", "--m",
        "Content-Type: text/plain", "", "two, never closed"),
    "boundary-inside-line": lines(
        "Subject: inline", "Content-Type: multipart/mixed; boundary=q", "",
        "--q", "", "text mentioning --q in the middle", " --q indented",
        "--qx longer is not it", "--q", "", "second", "--q--"),
    "bare-lf": lines(
        "Subject: lf", "Content-Type: multipart/alternative; boundary=lf", "",
        "--lf", "Content-Type: text/plain", "", "one", "two", "--lf",
        "Content-Type: text/html", "Content-Transfer-Encoding: base64", "",
        base64.encodebytes(b"<b>x</b>").rstrip(b"\n"), "--lf",
        "Content-Type: text/plain", "Content-Transfer-Encoding: quoted-printable",
        "", "soft=", "break =3D  ", "--lf--", eol=b"\n"),
    "close-at-eof": lines(
        "Subject: eof", "Content-Type: multipart/mixed; boundary=eof", "",
        "--eof", "", "only") + b"--eof--",
    "no-blank-line-after-header": lines(
        "Subject: nohdrend", "Content-Type: text/plain", "body starts here"),
    "no-blank-line-in-part": lines(
        "Subject: x", "Content-Type: multipart/mixed; boundary=n", "",
        "--n", "Content-Type: text/plain", "--n", "", "ok", "--n--"),
    "duplicate-content-type": lines(
        "Subject: dup", "Content-Type: text/html; charset=utf-8",
        "Content-Type: multipart/mixed; boundary=d", "", "--d", "", "x",
        "--d--"),
    "deep-nesting-40": _nest(40),
    "multipart-no-parts": lines(
        "Subject: none", "Content-Type: multipart/mixed; boundary=zz", "",
        "no delimiter ever appears", "--zzz not one either"),
    "multipart-no-boundary-param": lines(
        "Subject: nob", "Content-Type: multipart/mixed", "", "--x", "", "y",
        "--x--"),
    "unknown-cte": lines(
        "Subject: uue", "Content-Type: multipart/mixed; boundary=u", "",
        "--u", "Content-Type: application/octet-stream",
        "Content-Transfer-Encoding: x-uuencode", "", "begin 644 a",
        "#86)C", "end", "--u", "Content-Type: text/plain",
        "Content-Transfer-Encoding: BASE64", "", "aGk=", "--u--"),
    "bad-content-type": lines(
        "Subject: bad", "Content-Type: garbage", "", "defaults to text/plain"),
}

# Messages whose MIME structure is broken.
MALFORMED = {
    "missing-final-boundary", "boundary-inside-line", "no-blank-line-after-header",
    "no-blank-line-in-part", "duplicate-content-type", "deep-nesting-40",
    "multipart-no-parts", "multipart-no-boundary-param", "unknown-cte",
    "bad-content-type",
}

assert len(CORPUS) >= 25
