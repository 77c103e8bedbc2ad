"""A small, strict IMAP client for protocol tests.

imaplib hides too much (it refuses commands in the "wrong" state, merges
responses, and can't send what a broken client would), so most tests use
this instead: it sends exactly the bytes it is given and returns every
response the server sent, parsed into tokens.

Tokens of a data response: atoms are str, strings (quoted or literal) are
bytes, NIL is None, parenthesised lists are Python lists.  An atom may
contain a bracketed section with spaces, e.g. "BODY[HEADER.FIELDS (FROM)]".
"""

import base64
import re
import select
import socket
import time

CRLF = b"\r\n"
STATUS_WORDS = ("OK", "NO", "BAD", "BYE", "PREAUTH")
_LITERAL_AT_END = re.compile(rb"~?\{(\d+)\}$")
_STATUS_LINE = re.compile(rb"^(\S+) (OK|NO|BAD|BYE|PREAUTH)(?: (.*))?$",
                          re.IGNORECASE | re.DOTALL)


class ImapError(Exception):
    pass


class ConnectionClosed(ImapError):
    pass


class Literal:
    """A literal to send.  mode: "sync" ({N}), "plus" ({N+}), "minus"
    ({N-}, RFC 7888 syntax is the same as {N+}), "binary" (~{N})."""

    def __init__(self, data, mode="sync"):
        if isinstance(data, str):
            data = data.encode()
        self.data = data
        self.mode = mode

    def header(self):
        n = len(self.data)
        if self.mode == "sync":
            return b"{%d}" % n
        if self.mode in ("plus", "minus"):
            return b"{%d+}" % n
        if self.mode == "binary":
            return b"~{%d}" % n
        raise ValueError(self.mode)


def quote(s):
    """An IMAP quoted string."""
    if isinstance(s, str):
        s = s.encode()
    return b'"' + s.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def astr(x):
    """Token to str (atoms are str already, strings are bytes)."""
    if x is None:
        return None
    if isinstance(x, bytes):
        return x.decode("utf-8", "surrogateescape")
    return x


# ---------------------------------------------------------------- tokenizer

class ParseError(ImapError):
    pass


def tokenize(data):
    """Parses the data part of a response into a token list."""
    pos = 0
    n = len(data)
    stack = [[]]
    while pos < n:
        c = data[pos:pos + 1]
        if c == b" ":
            pos += 1
        elif c == b"(":
            stack.append([])
            pos += 1
        elif c == b")":
            if len(stack) == 1:
                raise ParseError("unbalanced ')' at %d in %r" % (pos, data[:200]))
            lst = stack.pop()
            stack[-1].append(lst)
            pos += 1
        elif c == b'"':
            pos += 1
            out = bytearray()
            while True:
                if pos >= n:
                    raise ParseError("unterminated quoted string in %r" % data[:200])
                ch = data[pos]
                if ch == 0x5C:  # backslash
                    if pos + 1 >= n:
                        raise ParseError("bad escape")
                    out.append(data[pos + 1])
                    pos += 2
                elif ch == 0x22:
                    pos += 1
                    break
                else:
                    out.append(ch)
                    pos += 1
            stack[-1].append(bytes(out))
        elif c == b"{" or (c == b"~" and data[pos + 1:pos + 2] == b"{"):
            m = re.compile(rb"~?\{(\d+)\+?\}\r\n").match(data, pos)
            if not m:
                raise ParseError("bad literal at %d in %r" % (pos, data[:200]))
            length = int(m.group(1))
            start = m.end()
            if start + length > n:
                raise ParseError("short literal")
            stack[-1].append(bytes(data[start:start + length]))
            pos = start + length
        else:
            start = pos
            depth = 0
            while pos < n:
                ch = data[pos:pos + 1]
                if ch == b"[":
                    depth += 1
                elif ch == b"]":
                    if depth > 0:
                        depth -= 1
                elif depth == 0 and ch in (b" ", b"(", b")"):
                    break
                elif depth > 0 and ch == b"\r":
                    break
                pos += 1
            atom = data[start:pos].decode("utf-8", "surrogateescape")
            if atom.upper() == "NIL":
                stack[-1].append(None)
            else:
                stack[-1].append(atom)
    if len(stack) != 1:
        raise ParseError("unbalanced '(' in %r" % data[:200])
    return stack[0]


# ---------------------------------------------------------------- responses

class Response:
    """One server response (one line plus any literals)."""

    def __init__(self, raw):
        self.raw = raw  # without the final CRLF, literals included
        self.tag = None
        self.status = None  # OK/NO/BAD/BYE/PREAUTH for status responses
        self.code = None  # text inside [...] of a status response
        self.text = ""
        self.tokens = None  # for data responses, after the "*"
        self.parse_error = None
        self.is_continuation = raw.startswith(b"+")
        if self.is_continuation:
            self.tag = "+"
            self.text = raw[2:].decode("utf-8", "replace")
            return
        m = _STATUS_LINE.match(raw)
        if m:
            self.tag = m.group(1).decode("utf-8", "replace")
            self.status = m.group(2).decode().upper()
            rest = (m.group(3) or b"").decode("utf-8", "replace")
            if rest.startswith("["):
                depth = 0
                for i, ch in enumerate(rest):
                    if ch == "[":
                        depth += 1
                    elif ch == "]":
                        depth -= 1
                        if depth == 0:
                            self.code = rest[1:i]
                            rest = rest[i + 1:].lstrip(" ")
                            break
            self.text = rest
            return
        sp = raw.find(b" ")
        self.tag = raw[:sp if sp >= 0 else len(raw)].decode("utf-8", "replace")
        try:
            self.tokens = tokenize(raw[sp + 1:] if sp >= 0 else b"")
        except ParseError as e:
            self.parse_error = str(e)

    @property
    def code_name(self):
        if self.code is None:
            return None
        return self.code.split(" ", 1)[0].upper()

    @property
    def code_args(self):
        if self.code is None or " " not in self.code:
            return ""
        return self.code.split(" ", 1)[1]

    @property
    def kind(self):
        """Response name of a data response: EXISTS, FETCH, LIST, ..."""
        if self.status:
            return self.status
        if not self.tokens:
            return None
        first = self.tokens[0]
        if isinstance(first, str) and first.isdigit() and len(self.tokens) > 1:
            return str(self.tokens[1]).upper()
        return str(first).upper()

    @property
    def number(self):
        """The number of "* N EXISTS" / "* N FETCH ..." responses."""
        if self.tokens and isinstance(self.tokens[0], str) and self.tokens[0].isdigit():
            return int(self.tokens[0])
        return None

    def args(self):
        """Tokens after the response name."""
        if self.tokens is None:
            raise AssertionError("unparseable response %r: %s" % (self.raw[:300], self.parse_error))
        if self.number is not None:
            return self.tokens[2:]
        return self.tokens[1:]

    def __repr__(self):
        r = self.raw
        if len(r) > 300:
            r = r[:300] + b"..."
        return "<%s>" % r.decode("utf-8", "replace")


class Result:
    """Everything the server answered to one tagged command."""

    def __init__(self, tag, untagged, tagged, command=b""):
        self.tag = tag
        self.untagged = untagged
        self.tagged = tagged
        self.command = command

    @property
    def status(self):
        return self.tagged.status if self.tagged else None

    @property
    def code(self):
        return self.tagged.code if self.tagged else None

    @property
    def code_name(self):
        return self.tagged.code_name if self.tagged else None

    @property
    def code_args(self):
        return self.tagged.code_args if self.tagged else ""

    def describe(self):
        cmd = self.command
        if len(cmd) > 300:
            cmd = cmd[:300] + b"..."
        lines = ["C: " + cmd.decode("utf-8", "replace").rstrip()]
        for u in self.untagged[:30]:
            lines.append("S: " + repr(u)[1:-1])
        if len(self.untagged) > 30:
            lines.append("S: ... (%d more)" % (len(self.untagged) - 30))
        lines.append("S: " + (repr(self.tagged)[1:-1] if self.tagged else "<no tagged response>"))
        return "\n".join(lines)

    def __repr__(self):
        return self.describe()

    def expect(self, *statuses, code=None):
        """Asserts the tagged status (and response code name, if given)."""
        assert self.status in statuses, (
            "expected %s, got:\n%s" % ("/".join(statuses), self.describe()))
        if code is not None:
            assert self.code_name == code, (
                "expected response code [%s], got:\n%s" % (code, self.describe()))
        return self

    def ok(self):
        return self.expect("OK")

    def find(self, kind):
        kind = kind.upper()
        return [u for u in self.untagged if u.kind == kind]

    def one(self, kind):
        found = self.find(kind)
        assert len(found) == 1, "expected one untagged %s:\n%s" % (kind, self.describe())
        return found[0]

    def codes(self):
        """Response codes of untagged status responses, name -> args."""
        out = {}
        for u in self.untagged:
            if u.status and u.code:
                out[u.code_name] = u.code_args
        return out

    def fetches(self):
        """[(seq, {ITEM: value})] of the untagged FETCH responses."""
        return [parse_fetch(u) for u in self.find("FETCH")]

    def search(self):
        """Numbers of the untagged SEARCH responses (concatenated)."""
        nums = []
        for u in self.find("SEARCH"):
            for t in u.args():
                if isinstance(t, list):
                    continue  # e.g. (MODSEQ n)
                nums.append(int(t))
        return nums


def parse_fetch(resp):
    """(seq, {UPPERCASED ITEM NAME: value}) of a FETCH response."""
    args = resp.args()
    assert len(args) == 1 and isinstance(args[0], list), "bad FETCH: %r" % resp
    items = args[0]
    assert len(items) % 2 == 0, "odd FETCH item list: %r" % resp
    d = {}
    for i in range(0, len(items), 2):
        name = items[i]
        assert isinstance(name, str), "bad FETCH item name in %r" % resp
        d[normalize_item(name)] = items[i + 1]
    return resp.number, d


def normalize_item(name):
    """Upper-cases a FETCH item name and collapses spaces in sections."""
    return re.sub(r"\s+", " ", name.upper())


def parse_seqset(text):
    """'1:3,7' -> [1, 2, 3, 7] (no '*')."""
    out = []
    for part in text.split(","):
        if ":" in part:
            a, b = part.split(":")
            a, b = int(a), int(b)
            if a > b:
                a, b = b, a
            out.extend(range(a, b + 1))
        else:
            out.append(int(part))
    return out


# ---------------------------------------------------------------- connection

class Conn:
    def __init__(self, host, port, timeout=10.0, read_greeting=True):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.counter = 0
        self.greeting = None
        self.closed = False
        if read_greeting:
            self.greeting = self.read_response()

    # --- low level

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise
        if not chunk:
            self.closed = True
            raise ConnectionClosed("server closed the connection (buffered: %r)" % self.buf[:200])
        self.buf += chunk

    def _readline(self, deadline):
        while True:
            i = self.buf.find(CRLF)
            if i >= 0:
                line = self.buf[:i]
                self.buf = self.buf[i + 2:]
                return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("timed out waiting for a line (buffered: %r)" % self.buf[:200])
            self._fill(remaining)

    def _readbytes(self, n, deadline):
        while len(self.buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("timed out in a literal")
            self._fill(remaining)
        data = self.buf[:n]
        self.buf = self.buf[n:]
        return data

    def read_response(self, timeout=None):
        """Reads one complete response (literals included)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        raw = self._readline(deadline)
        if not (raw.startswith(b"+") or _STATUS_LINE.match(raw)):
            while True:
                m = _LITERAL_AT_END.search(raw)
                if not m:
                    break
                raw += CRLF + self._readbytes(int(m.group(1)), deadline)
                raw += self._readline(deadline)
        return Response(raw)

    def poll(self, timeout=0.0):
        """True if bytes are waiting (or buffered)."""
        if self.buf:
            return True
        r, _, _ = select.select([self.sock], [], [], timeout)
        return bool(r)

    def drain(self, timeout=0.3):
        """Reads every response that arrives within timeout."""
        out = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if not self.poll(max(0.0, remaining)):
                return out
            try:
                out.append(self.read_response())
            except ConnectionClosed:
                return out

    def next_tag(self):
        self.counter += 1
        return "A%04d" % self.counter

    def read_until_tagged(self, tag, timeout=None):
        untagged = []
        while True:
            r = self.read_response(timeout)
            if r.tag == tag:
                return untagged, r
            untagged.append(r)

    # --- commands

    def command(self, *parts, tag=None, timeout=None):
        """Sends "TAG part part ..." and returns the Result.

        Parts are str/bytes (sent as they are, joined by spaces) or
        Literal objects.  For a synchronizing literal it waits for the
        continuation request; if the server answers with a tagged response
        instead, that is the Result and the rest is not sent.
        """
        if tag is None:
            tag = self.next_tag()
        untagged = []
        pending = tag.encode()
        sent_text = bytearray(pending)
        for part in parts:
            pending += b" "
            if isinstance(part, Literal):
                pending += part.header() + CRLF
                sent_text += b" " + part.header()
                if part.mode in ("sync", "binary"):
                    self.send(pending)
                    pending = b""
                    while True:
                        r = self.read_response(timeout)
                        if r.is_continuation:
                            break
                        if r.tag == tag:
                            return Result(tag, untagged, r, bytes(sent_text))
                        untagged.append(r)
                pending += part.data
                sent_text += b"<%d bytes>" % len(part.data)
            else:
                if isinstance(part, str):
                    part = part.encode()
                pending += part
                sent_text += b" " + part
        pending += CRLF
        self.send(pending)
        more, tagged = self.read_until_tagged(tag, timeout)
        return Result(tag, untagged + more, tagged, bytes(sent_text))

    def __call__(self, *parts, **kw):
        return self.command(*parts, **kw)

    def login(self, user, password):
        return self.command("LOGIN", quote(user), quote(password))

    def authenticate_plain(self, user, password, initial_response=True):
        token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())
        if initial_response:
            return self.command("AUTHENTICATE PLAIN", token)
        tag = self.next_tag()
        self.send(tag + " AUTHENTICATE PLAIN\r\n")
        r = self.read_response()
        if not r.is_continuation:
            return Result(tag, [], r, b"AUTHENTICATE PLAIN")
        self.send(token + CRLF)
        untagged, tagged = self.read_until_tagged(tag)
        return Result(tag, untagged, tagged, b"AUTHENTICATE PLAIN")

    def select(self, mailbox="INBOX", examine=False):
        return self.command("EXAMINE" if examine else "SELECT", quote(mailbox))

    def append(self, mailbox, message, flags=None, date=None):
        parts = ["APPEND", quote(mailbox)]
        if flags is not None:
            parts.append("(" + " ".join(flags) + ")")
        if date is not None:
            parts.append(quote(date))
        parts.append(Literal(message))
        return self.command(*parts)

    def capabilities(self):
        r = self.command("CAPABILITY").ok()
        caps = r.one("CAPABILITY").args()
        return {str(c).upper() for c in caps}

    def logout(self):
        try:
            self.command("LOGOUT", timeout=5)
        except (OSError, ImapError):
            pass
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True

    def wait_closed(self, timeout=5.0):
        """True if the server closes the connection (EOF or reset) within
        timeout; responses that arrive first are returned in self.trailing."""
        self.trailing = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                if self.buf and CRLF in self.buf:
                    self.trailing.append(self.read_response(remaining))
                    continue
                self._fill(remaining)
            except ConnectionClosed:
                return True
            except ConnectionResetError:
                return True
            except socket.timeout:
                return False
