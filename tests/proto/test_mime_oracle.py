"""FETCH of MIME parts against an independent oracle.

Each message of mimecorpus.CORPUS is appended and every part is fetched:
BODY[sec], BODY[sec.MIME], BODY[HEADER] / BODY[TEXT] (of the message and
of every message/rfc822 part), BINARY[sec], BINARY.SIZE[sec] and
BODYSTRUCTURE.  The oracle has two halves:

  - Python's email package (policy compat32) says what each entity is:
    its Content-Type with the RFC 2045 / 2046 defaults, its parameters
    (RFC 2231 continuations collapsed), its Content-* fields and its
    decoded payload;
  - a small RFC 2046 5.1.1 splitter in this file says where each entity's
    bytes are: email does not keep byte offsets.  On well-formed messages
    its parts are checked against email's payloads, so the two halves
    agree before anything is compared with the server.

Where email and the RFCs legitimately disagree on malformed input the
RFC rule is used; each case says so where it is handled.
"""

import base64
import binascii
import email
import email.policy
import email.utils
import re
import urllib.parse

import pytest

from helpers import fetch
from mimecorpus import CORPUS, MALFORMED
from rawimap import astr

COMPAT = email.policy.compat32

# src/mime/mime-part.h MIME_MAX_DEPTH: deeper entities are opaque leaves.
# RFC 9051 sets no limit; a server needs one.
MAX_DEPTH = 32


# ------------------------------------------------------------ splitting

def header_len(raw):
    """RFC 5322 2.1: the header ends with the first empty line (included).
    Without one the whole entity is header.  (email instead ends the
    header at the first line that is not a field; RFC 5322 defines no
    such rule, so the empty line decides.)"""
    pos = 0
    while pos < len(raw):
        nl = raw.find(b"\n", pos)
        end = len(raw) if nl < 0 else nl + 1
        if raw[pos:end] in (b"\n", b"\r\n"):
            return end
        pos = end
    return len(raw)


def split_multipart(body, boundary):
    """Body parts of a multipart body (RFC 2046 5.1.1), as byte strings.
    A delimiter is "--boundary" at a line start, then "--" for the close
    delimiter, transport padding and the line end; the line end before a
    delimiter belongs to it.  Without a close delimiter the last part runs
    to the end (RFC 2046 5.1.1 leaves that case open; email does so too).
    None if there is no delimiter at all."""
    delim = b"--" + boundary
    found = []
    pos = 0
    while pos < len(body):
        nl = body.find(b"\n", pos)
        end = len(body) if nl < 0 else nl + 1
        line = body[pos:end]
        if line.startswith(delim):
            rest = line[len(delim):]
            close = rest.startswith(b"--")
            if close:
                rest = rest[2:]
            for eol in (b"\r\n", b"\n"):
                if rest.endswith(eol):
                    rest = rest[:-len(eol)]
                    break
            if rest.strip(b" \t") == b"":
                found.append((pos, end, close))
        pos = end
    if not found:
        return None
    parts = []
    for (_s, start, close), nxt in zip(found, found[1:] + [None]):
        if close:
            break
        stop = len(body)
        if nxt is not None:
            stop = nxt[0]
            if stop > start and body[stop - 1:stop] == b"\n":
                stop -= 1
            if stop > start and body[stop - 1:stop] == b"\r":
                stop -= 1
        parts.append(body[start:stop])
    return parts


def unfold(value):
    """RFC 5322 2.2.3 unfolding, then trimmed as the server does."""
    if value is None:
        return None
    return re.sub(r"\r?\n(?=[ \t])", "", value).strip(" \t")


class Node:
    """One entity: its bytes, email's view of it and its children."""

    def __init__(self, raw, depth, in_digest=False):
        self.raw = raw
        self.hlen = header_len(raw)
        self.header = raw[:self.hlen]
        self.body = raw[self.hlen:]
        self.depth = depth
        # email parses the entity on its own; only the digest default
        # (RFC 2046 5.1.5) depends on the parent.
        self.msg = email.message_from_bytes(self.header + b"\r\n",
                                            policy=COMPAT)
        self.type = self.msg.get_content_type()
        if in_digest and self.msg.get("Content-Type") is None:
            self.type = "message/rfc822"
        self.maintype, self.subtype = self.type.split("/")
        self.children = None  # multipart: list of Node
        self.enclosed = None  # message/rfc822: Node of the message
        self.cte = (self.msg.get("Content-Transfer-Encoding") or "").strip().lower()
        if depth >= MAX_DEPTH:
            return
        boundary = self.msg.get_boundary()
        if self.maintype == "multipart" and boundary:
            parts = split_multipart(self.body, boundary.encode("latin-1"))
            self.children = [Node(p, depth + 1, self.subtype == "digest")
                             for p in parts or []]
        elif self.type == "message/rfc822" and self.cte in ("", "7bit", "8bit", "binary"):
            self.enclosed = Node(self.body, depth + 1)

    def param(self, name):
        """email's value of a Content-Type parameter as bytes; RFC 2231
        values collapsed to their raw octets."""
        v = self.msg.get_param(name)
        if v is None:
            return None
        if isinstance(v, tuple):
            return v[2].encode("latin-1", "surrogateescape")
        return v.encode("latin-1", "surrogateescape")


def sections(node, prefix, out):
    """(section, Node) for every part of the message node (RFC 9051
    6.4.5): body parts of a multipart are numbered; a non-multipart
    message has part 1, itself."""
    if node.children is not None:
        for i, child in enumerate(node.children, 1):
            part_sections(child, prefix + [i], out)
    else:
        part_sections(node, prefix + [1], out)
    return out


def part_sections(node, sec, out):
    out.append((".".join(map(str, sec)), node))
    if node.children is not None:
        for i, child in enumerate(node.children, 1):
            part_sections(child, sec + [i], out)
    elif node.enclosed is not None:
        sections(node.enclosed, sec, out)


# ------------------------------------------------------------ decoding

def qp_decode(data):
    """RFC 2045 6.7: unencoded trailing white space was added in
    transport and is deleted (rule 3); binascii keeps it, so it goes
    first.  Then binascii decodes."""
    out = []
    for line in data.splitlines(keepends=True):
        body = line.rstrip(b"\r\n")
        out.append(body.rstrip(b" \t") + line[len(body):])
    return binascii.a2b_qp(b"".join(out))


def expected_binary(node):
    """BINARY[sec] (RFC 3516): the body decoded, by email's decoders."""
    if node.cte == "base64":
        leaf = email.message_from_bytes(
            b"Content-Transfer-Encoding: base64\r\n\r\n" + node.body, policy=COMPAT)
        return leaf.get_payload(decode=True)
    if node.cte == "quoted-printable":
        return qp_decode(node.body)
    return node.body


# ------------------------------------------------------------ fixtures

@pytest.fixture
def appended(c, request):
    raw = CORPUS[request.param]
    c.append("INBOX", raw).ok()
    c.select().ok()
    return c, raw, request.param


def fetch1(c, items):
    return fetch(c, "1", items)[1]


def lit(v):
    """A fetched nstring as bytes ("" for the empty string)."""
    assert v is None or isinstance(v, bytes), v
    return v


# ------------------------------------------------------------ BODYSTRUCTURE

def params_dict(lst):
    """body-fld-param as {lower name: bytes}; RFC 2231 sections are
    reassembled and percent-decoded, the way a client would."""
    if lst is None:
        return {}
    assert isinstance(lst, list) and len(lst) % 2 == 0, lst
    raw = {}
    for i in range(0, len(lst), 2):
        raw[astr(lst[i]).lower()] = lst[i + 1]
    out = {}
    pieces = {}
    for name, value in raw.items():
        m = re.fullmatch(r"([^*]+)\*(?:(\d+)\*?|)(\*?)", name)
        if m and "*" in name:
            base, num = m.group(1), int(m.group(2) or 0)
            encoded = name.endswith("*")
            pieces.setdefault(base, {})[num] = (value, encoded)
        else:
            out[name] = value
    for base, segs in pieces.items():
        data = b""
        for num in sorted(segs):
            value, encoded = segs[num]
            if encoded:
                if num == 0:
                    value = value.split(b"'", 2)[2]
                value = urllib.parse.unquote_to_bytes(value)
            data += value
        out[base] = data
    return out


def check_single(bs, node, path):
    where = "BODYSTRUCTURE at %s" % path
    assert [astr(bs[0]).lower(), astr(bs[1]).lower()] == [node.maintype, node.subtype], where
    params = params_dict(bs[2])
    for name in ("charset", "name", "format"):
        want = node.param(name)
        if name == "charset" and want is None and node.maintype == "text":
            want = b"us-ascii"  # RFC 2045 5.2 default, spelled out
        assert params.get(name) == want, (where, name, bs[2])
    assert astr(bs[3]) == unfold(node.msg.get("Content-ID")), where
    assert astr(bs[4]) == unfold(node.msg.get("Content-Description")), where
    assert astr(bs[5]).lower() == (node.cte or "7bit"), where
    assert int(bs[6]) == len(node.body), where
    i = 7
    if node.enclosed is not None:
        env = bs[7]
        assert isinstance(env, list) and len(env) == 10, where
        assert astr(env[1]) == unfold(node.enclosed.msg.get("Subject")), where
        check_structure(bs[8], node.enclosed, path + ".msg")
        i = 9
    if node.enclosed is not None or node.maintype == "text":
        # body-fld-lines: line ends, plus an unended last line.
        lines = node.body.count(b"\n") + (1 if node.body and not node.body.endswith(b"\n") else 0)
        assert int(bs[i]) == lines, where
        i += 1
    # Extension data: md5, disposition, language, location.
    assert astr(bs[i]) == unfold(node.msg.get("Content-MD5")), where
    check_ext(bs[i + 1:], node, where)


def check_ext(ext, node, where):
    assert len(ext) == 3, (where, ext)
    dsp, lang, loc = ext
    want = node.msg.get("Content-Disposition")
    if want is None:
        assert dsp is None, where
    else:
        assert astr(dsp[0]).lower() == want.split(";")[0].strip().lower(), where
        fn = node.msg.get_param("filename", header="content-disposition")
        got = params_dict(dsp[1]).get("filename")
        if fn is None:
            assert got is None, where
        else:
            fn = fn[2] if isinstance(fn, tuple) else fn
            assert got == fn.encode("latin-1", "surrogateescape"), where
    want_lang = node.msg.get("Content-Language")
    tags = [t for t in re.split(r"[ \t,]+", unfold(want_lang) or "") if t]
    got_lang = lang if isinstance(lang, list) else ([] if lang is None else [lang])
    assert [astr(t) for t in got_lang] == tags, where
    assert astr(loc) == unfold(node.msg.get("Content-Location")), where


def check_structure(bs, node, path="root"):
    assert isinstance(bs, list), (path, bs)
    if node.children is None:
        check_single(bs, node, path)
        return
    n = 0
    while n < len(bs) and isinstance(bs[n], list):
        n += 1
    where = "BODYSTRUCTURE at %s" % path
    assert astr(bs[n]).lower() == node.subtype, where
    if not node.children:
        # No delimiter at all: email then calls the body a text leaf, but
        # the header says multipart.  RFC 9051 9 needs 1*body in a
        # multipart, so the server shows one empty text/plain part.
        assert n == 1, where
        assert [astr(x).lower() for x in bs[0][:2]] == ["text", "plain"], where
        assert int(bs[0][6]) == 0, where
    else:
        assert n == len(node.children), (where, n, len(node.children))
        for i, child in enumerate(node.children):
            check_structure(bs[i], child, "%s.%d" % (path, i + 1))
    params = params_dict(bs[n + 1])
    assert params.get("boundary") == node.param("boundary"), where
    check_ext(bs[n + 2:], node, where)


# ------------------------------------------------------------ the tests

NAMES = sorted(CORPUS)


@pytest.mark.parametrize("appended", NAMES, indirect=True)
def test_oracle_agrees_with_email(appended):
    """The splitter and email agree on well-formed messages (a check of
    the oracle itself, before the server is compared with it)."""
    _c, raw, name = appended
    if name in MALFORMED:
        pytest.skip("email splits malformed MIME its own way")
    whole = email.message_from_bytes(raw, policy=COMPAT)
    assert not whole.defects, whole.defects

    def same(msg, node):
        assert msg.get_content_type() == node.type
        if node.children is not None:
            kids = msg.get_payload()
            assert len(kids) == len(node.children)
            for k, n in zip(kids, node.children):
                same(k, n)
        elif node.enclosed is not None:
            same(msg.get_payload()[0], node.enclosed)
        elif node.type == "message/rfc822":
            # Encoded: RFC 2046 5.2.1 allows no encoding but 7bit, 8bit
            # or binary here, and the server (like RFC 3516 BINARY) sees
            # an opaque leaf; email parses the encoded text regardless.
            assert node.cte not in ("", "7bit", "8bit", "binary")
        else:
            if node.cte in ("", "7bit", "8bit", "binary"):
                # compat32 returns 8-bit text charset-decoded unless
                # decode=True, which is the raw bytes for these.
                assert msg.get_payload(decode=True) == node.body
            else:
                payload = msg.get_payload().encode("ascii", "surrogateescape")
                assert payload == node.body
            if node.cte == "base64":
                assert msg.get_payload(decode=True) == expected_binary(node)

    same(whole, Node(raw, 0))


@pytest.mark.parametrize("appended", NAMES, indirect=True)
def test_whole_message_sections(appended):
    c, raw, _name = appended
    root = Node(raw, 0)
    d = fetch1(c, "(BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT] RFC822.SIZE)")
    assert lit(d["BODY[]"]) == raw
    assert lit(d["BODY[HEADER]"]) == root.header
    assert lit(d["BODY[TEXT]"]) == root.body
    assert int(d["RFC822.SIZE"]) == len(raw)


@pytest.mark.parametrize("appended", NAMES, indirect=True)
def test_part_sections(appended):
    c, raw, _name = appended
    root = Node(raw, 0)
    parts = sections(root, [], [])
    # A multipart without delimiters has no parts at all.
    assert parts or root.children == []
    for sec, node in parts:
        top_single = sec == "1" and node is root
        items = ["BODY.PEEK[%s]" % sec]
        if not top_single:
            # [1.MIME] of a non-multipart message: RFC 9051 defines MIME
            # only for body parts, so it is not checked.
            items.append("BODY.PEEK[%s.MIME]" % sec)
        if node.enclosed is not None:
            items += ["BODY.PEEK[%s.HEADER]" % sec, "BODY.PEEK[%s.TEXT]" % sec]
        d = fetch1(c, "(" + " ".join(items) + ")")
        assert lit(d["BODY[%s]" % sec]) == node.body, sec
        if not top_single:
            assert lit(d["BODY[%s.MIME]" % sec]) == node.header, sec
        if node.enclosed is not None:
            assert lit(d["BODY[%s.HEADER]" % sec]) == node.enclosed.header, sec
            assert lit(d["BODY[%s.TEXT]" % sec]) == node.enclosed.body, sec
    # One past the last part of the message does not exist.
    n = len(root.children) + 1 if root.children is not None else 2
    assert fetch1(c, "BODY.PEEK[%d]" % n)["BODY[%d]" % n] is None


@pytest.mark.parametrize("appended", NAMES, indirect=True)
def test_binary_sections(appended):
    c, raw, _name = appended
    for sec, node in sections(Node(raw, 0), [], []):
        if node.children is not None or node.enclosed is not None:
            continue  # RFC 3516 decodes leaves; email has no payload here
        if node.cte not in ("", "7bit", "8bit", "binary", "base64", "quoted-printable"):
            # RFC 3516 4.3: an unknown encoding fails with UNKNOWN-CTE.
            r = c.command("FETCH 1 BINARY.PEEK[%s]" % sec)
            assert r.status == "NO" and r.code_name == "UNKNOWN-CTE", r.describe()
            continue
        want = expected_binary(node)
        d = fetch1(c, "(BINARY.PEEK[%s] BINARY.SIZE[%s])" % (sec, sec))
        assert lit(d["BINARY[%s]" % sec]) == want, sec
        assert int(d["BINARY.SIZE[%s]" % sec]) == len(want), sec


@pytest.mark.parametrize("appended", NAMES, indirect=True)
def test_bodystructure(appended):
    c, raw, _name = appended
    d = fetch1(c, "(BODYSTRUCTURE BODY)")
    root = Node(raw, 0)
    check_structure(d["BODYSTRUCTURE"], root)
    # BODY is BODYSTRUCTURE without extension data: same leading fields.
    def strip(bs, node):
        if node.children is None:
            return bs[:7]
        n = max(len(node.children), 1)
        return [strip(b, ch) for b, ch in zip(bs[:n], node.children)] + [bs[n]]
    assert strip(d["BODY"], root) == strip(d["BODYSTRUCTURE"], root)

    # ... and nothing after body-fld-lines (RFC 9051 7.4.2 BODY).
    def no_ext(bs, node):
        if node.children is None:
            n = 7 + (3 if node.enclosed is not None else 0)
            n += 1 if node.maintype == "text" else 0
            assert len(bs) == n, bs
            if node.enclosed is not None:
                no_ext(bs[8], node.enclosed)
            return
        n = max(len(node.children), 1)
        assert len(bs) == n + 1, bs
        for b, ch in zip(bs, node.children):
            no_ext(b, ch)
    no_ext(d["BODY"], root)


def test_corpus_nesting_reaches_the_limit():
    """deep-nesting-40 really is deeper than the server's limit, so the
    opaque-leaf case above is exercised."""
    node, depth = Node(CORPUS["deep-nesting-40"], 0), 0
    while node.children:
        node, depth = node.children[0], depth + 1
    assert depth == MAX_DEPTH and node.maintype == "multipart"


def _addresses(value):
    """(name, mailbox, host) of the addresses email finds in an address
    header (group names and their ends left out); RFC 2047 words stay
    encoded."""
    out = []
    for name, addr in email.utils.getaddresses([value]) if value else []:
        if "@" in addr:
            local, host = addr.rsplit("@", 1)
            out.append((name or None, local, host))
    return out


def _env_addresses(lst):
    """(name, mailbox, host) of the real addresses in an ENVELOPE list:
    group start and end markers (NIL host) are left out."""
    out = []
    for a in lst or []:
        assert isinstance(a, list) and len(a) == 4, a
        if a[3] is not None:
            out.append((astr(a[0]), astr(a[2]), astr(a[3])))
    return out


@pytest.mark.parametrize("appended", NAMES, indirect=True)
def test_envelope(appended):
    """RFC 9051 7.5.2 ENVELOPE of the message and of every enclosed
    message/rfc822, against the header email parsed (values raw: no
    RFC 2047 decoding is asked for)."""
    c, raw, _name = appended
    envs = [(Node(raw, 0), fetch1(c, "ENVELOPE")["ENVELOPE"])]
    bs = fetch1(c, "BODYSTRUCTURE")["BODYSTRUCTURE"]
    for sec, node in sections(Node(raw, 0), [], []):
        if node.enclosed is not None:
            # The envelope inside BODYSTRUCTURE of that part.
            # Numbered as in sections(): a multipart's n-th body part,
            # or a non-multipart message itself; a message/rfc822 part
            # (envelope at 7) goes on with its body (at 8).
            level = part = bs
            for n in sec.split("."):
                part = level[int(n) - 1] if isinstance(level[0], list) else level
                is_msg = not isinstance(part[0], list) and isinstance(part[7], list)
                level = part[8] if is_msg else part
            envs.append((node.enclosed, part[7]))
    for node, env in envs:
        h = node.msg
        assert len(env) == 10, env
        assert astr(env[0]) == unfold(h.get("Date"))
        assert astr(env[1]) == unfold(h.get("Subject"))
        froms = _env_addresses(env[2])
        assert froms == _addresses(h.get("From"))
        for i, name in ((3, "Sender"), (4, "Reply-To")):
            # RFC 9051 7.5.2: absent ones are set to From.
            want = _addresses(h.get(name)) if h.get(name) else froms
            assert _env_addresses(env[i]) == want, name
        for i, name in ((5, "To"), (6, "Cc"), (7, "Bcc")):
            assert _env_addresses(env[i]) == _addresses(h.get(name)), name
        assert astr(env[8]) == unfold(h.get("In-Reply-To"))
        assert astr(env[9]) == unfold(h.get("Message-ID"))
