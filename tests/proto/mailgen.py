"""Test messages, as exact bytes.

Plain strings rather than the email package's generator, so every byte is
known: the tests compare what the server returns byte for byte.
"""

import base64

_counter = [0]


def _next_id():
    _counter[0] += 1
    return _counter[0]


def plain(subject="Test message", body="Hello.\r\n", sender="Alice <alice@example.com>",
          to="Bob <bob@example.org>", date="Mon, 04 Jan 2021 10:00:00 +0000",
          extra_headers=(), cc=None, bcc=None, message_id=None):
    """A plain-text message with CRLF line ends."""
    if message_id is None:
        message_id = "<m%d.%d@test.example>" % (_next_id(), id(body) & 0xffff)
    lines = ["From: " + sender, "To: " + to]
    if cc:
        lines.append("Cc: " + cc)
    if bcc:
        lines.append("Bcc: " + bcc)
    lines += ["Subject: " + subject, "Date: " + date, "Message-ID: " + message_id,
              "MIME-Version: 1.0", "Content-Type: text/plain; charset=us-ascii"]
    lines += list(extra_headers)
    head = "\r\n".join(lines) + "\r\n\r\n"
    if isinstance(body, str):
        body = body.encode()
    return head.encode() + body


ATTACHMENT = bytes(range(256)) * 4  # 1 KiB of every byte value


def multipart(subject="Report with attachment"):
    """multipart/mixed: a text/plain part and a base64 application/octet-stream."""
    b64 = base64.encodebytes(ATTACHMENT).replace(b"\n", b"\r\n")
    return (
        b"From: Carol <carol@example.net>\r\n"
        b"To: Alice <alice@example.com>\r\n"
        b"Subject: " + subject.encode() + b"\r\n"
        b"Date: Tue, 05 Jan 2021 11:30:00 +0100\r\n"
        b"Message-ID: <multi.%d@test.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=\"=-=-=BOUNDARY\"\r\n"
        b"\r\n"
        b"This is a multi-part message in MIME format.\r\n"
        b"\r\n"
        b"--=-=-=BOUNDARY\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n"
        b"\r\n"
        b"See the attached file.\r\n"
        b"\r\n"
        b"--=-=-=BOUNDARY\r\n"
        b"Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
        b"Content-Disposition: attachment; filename=\"data.bin\"\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b"\r\n" + b64 +
        b"--=-=-=BOUNDARY--\r\n"
    ) % _next_id()


MULTIPART_TEXT_PART = b"See the attached file.\r\n"


def eightbit():
    """8-bit body: UTF-8 text and a few bytes that are not UTF-8 at all."""
    body = ("Grüße aus Köln — naïve café.\r\n").encode("utf-8") + b"raw: \x80\x81\xfe\xff\r\n"
    return (
        b"From: =?utf-8?q?J=C3=BCrgen?= <juergen@example.de>\r\n"
        b"To: Alice <alice@example.com>\r\n"
        b"Subject: 8bit body\r\n"
        b"Date: Wed, 06 Jan 2021 09:15:00 +0100\r\n"
        b"Message-ID: <eight.%d@test.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n" % _next_id()
    ) + body


def bare_lf():
    """A message whose lines end in LF only (stored as given)."""
    return (
        b"From: Dave <dave@example.com>\n"
        b"To: Alice <alice@example.com>\n"
        b"Subject: bare LF line ends\n"
        b"Date: Thu, 07 Jan 2021 08:00:00 +0000\n"
        b"Message-ID: <lf.%d@test.example>\n"
        b"\n"
        b"line one\n"
        b"line two\n" % _next_id()
    )


def sized(n, subject="big"):
    """A plain message of exactly n bytes (n >= 200)."""
    head = plain(subject=subject, body=b"")
    assert n >= len(head) + 2
    fill = n - len(head)
    line = b"x" * 76 + b"\r\n"
    body = (line * (fill // len(line) + 1))[:fill - 2] + b"\r\n"
    msg = head + body
    assert len(msg) == n
    return msg


def split_header_body(msg):
    """(header incl. the blank line, body) of a CRLF message."""
    i = msg.find(b"\r\n\r\n")
    assert i >= 0
    return msg[:i + 4], msg[i + 4:]


NESTED_INNER_HEADER = (
    b"From: Inner <inner@example.com>\r\n"
    b"Subject: inner message\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/alternative; boundary=\"inner-b\"\r\n"
    b"\r\n")
NESTED_INNER_BODY = (
    b"--inner-b\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"plain version\r\n"
    b"--inner-b\r\n"
    b"Content-Type: text/html; charset=us-ascii\r\n"
    b"\r\n"
    b"<p>html version</p>\r\n"
    b"--inner-b--\r\n")


def nested():
    """multipart/mixed with a text part and a message/rfc822 part whose
    body is multipart/alternative.  Returns (message, {section: bytes})."""
    msg = (
        b"From: Outer <outer@example.com>\r\n"
        b"To: Alice <alice@example.com>\r\n"
        b"Subject: forwarded\r\n"
        b"Date: Fri, 08 Jan 2021 12:00:00 +0000\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=\"outer-b\"\r\n"
        b"\r\n"
        b"--outer-b\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n"
        b"\r\n"
        b"Intro text.\r\n"
        b"--outer-b\r\n"
        b"Content-Type: message/rfc822\r\n"
        b"\r\n" + NESTED_INNER_HEADER + NESTED_INNER_BODY +
        b"\r\n--outer-b--\r\n")
    sections = {
        "1": b"Intro text.",
        "1.MIME": b"Content-Type: text/plain; charset=us-ascii\r\n\r\n",
        "2": NESTED_INNER_HEADER + NESTED_INNER_BODY,
        "2.MIME": b"Content-Type: message/rfc822\r\n\r\n",
        "2.HEADER": NESTED_INNER_HEADER,
        "2.TEXT": NESTED_INNER_BODY,
        "2.1": b"plain version",
        "2.2": b"<p>html version</p>",
        "2.2.MIME": b"Content-Type: text/html; charset=us-ascii\r\n\r\n",
        "2.HEADER.FIELDS (SUBJECT)": b"Subject: inner message\r\n\r\n",
    }
    return msg, sections
