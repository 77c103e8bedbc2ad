"""Small helpers shared by the protocol tests."""

import time

from rawimap import astr, parse_seqset


class Box:
    def __init__(self, name, attrs, delim, ext):
        self.name = name
        self.attrs = attrs  # upper-cased attribute names
        self.delim = delim
        self.ext = ext  # extended data items (raw token list) or None

    def __repr__(self):
        return "Box(%r, %s, %r, %r)" % (self.name, sorted(self.attrs), self.delim, self.ext)


def parse_list_response(resp):
    args = resp.args()
    assert len(args) >= 3, "short LIST response %r" % resp
    attrs, delim, name = args[0], args[1], args[2]
    assert isinstance(attrs, list), resp
    return Box(astr(name), {str(a).upper() for a in attrs}, astr(delim),
               args[3] if len(args) > 3 else None)


def list_boxes(conn, *args, kind="LIST"):
    """Runs LIST (or LSUB) with the given raw argument text; returns
    ({name: Box}, Result)."""
    r = conn.command(kind, *args).ok()
    boxes = {}
    for u in r.find(kind):
        b = parse_list_response(u)
        assert b.name not in boxes, "mailbox %r listed twice:\n%s" % (b.name, r.describe())
        boxes[b.name] = b
    return boxes, r


def status(conn, mailbox, items="MESSAGES UIDNEXT UIDVALIDITY UNSEEN"):
    """STATUS as {ITEM: int}."""
    from rawimap import quote
    r = conn.command("STATUS", quote(mailbox), "(" + items + ")").ok()
    st = r.one("STATUS").args()
    vals = st[1]
    assert isinstance(vals, list) and len(vals) % 2 == 0, r.describe()
    return {str(vals[i]).upper(): int(vals[i + 1]) for i in range(0, len(vals), 2)}


def fetch(conn, seqset, items, uid=False):
    """FETCH; returns {seq: {ITEM: value}} (asserts OK)."""
    r = conn.command(("UID FETCH " if uid else "FETCH ") + seqset, items).ok()
    out = {}
    for seq, d in r.fetches():
        out.setdefault(seq, {}).update(d)
    return out


def flags_of(value):
    return {str(f).upper() for f in value}


def appenduid(result):
    """(uidvalidity, [uids]) from a tagged [APPENDUID v uids]."""
    assert result.code_name == "APPENDUID", "no APPENDUID:\n%s" % result.describe()
    v, uids = result.code_args.split()
    return int(v), parse_seqset(uids)


def copyuid(code_args):
    """(uidvalidity, [src uids], [dst uids]) from COPYUID arguments."""
    v, src, dst = code_args.split()
    return int(v), parse_seqset(src), parse_seqset(dst)


def apply_expunges(seq_to_uid, untagged):
    """Applies untagged EXPUNGE responses to a list of UIDs (index =
    sequence number - 1) in order, as a client must."""
    uids = list(seq_to_uid)
    for u in untagged:
        if u.kind == "EXPUNGE":
            n = u.number
            assert 1 <= n <= len(uids), "EXPUNGE %d with only %d messages" % (n, len(uids))
            del uids[n - 1]
    return uids


def wait_for(pred, timeout=5.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


def mutf7(s):
    """Encodes a str as modified UTF-7 (RFC 3501 5.1.3)."""
    import base64 as _b64
    out = []
    run = []

    def flush():
        if run:
            data = "".join(run).encode("utf-16-be")
            out.append("&" + _b64.b64encode(data).decode().rstrip("=").replace("/", ",") + "-")
            run.clear()

    for ch in s:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


def wait_indexed(data_dir, timeout=15.0):
    """Waits until the server's background indexer has indexed every stored
    body (no blob_facts row left at indexed = 0)."""
    import sqlite3
    import time as _time
    deadline = _time.monotonic() + timeout
    db = "file:%s/casella.db?mode=ro" % data_dir
    while True:
        con = sqlite3.connect(db, uri=True, timeout=5)
        try:
            pending = con.execute(
                "SELECT count(*) FROM blob_facts WHERE indexed = 0").fetchone()[0]
        finally:
            con.close()
        if pending == 0:
            return
        if _time.monotonic() > deadline:
            raise AssertionError("%d bodies still unindexed after %.0f s"
                                 % (pending, timeout))
        _time.sleep(0.05)


# --------------------------------------------------- plain sockets, PROXY

def read_line(sock):
    """One CRLF-terminated line from a socket (b"" at EOF)."""
    buf = b""
    while not buf.endswith(b"\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        buf += chunk
    return buf


def remote_conn(srv, source="203.0.113.7", proxy="127.0.0.2"):
    """A socket to srv that looks as if it came from source: a PROXY v1
    header sent from proxy, which srv must list in --proxy-trusted."""
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((proxy, 0))
    s.connect(("127.0.0.1", srv.port))
    s.sendall(b"PROXY TCP4 %s 127.0.0.1 40000 143\r\n" % source.encode())
    s.settimeout(30)
    return s


# IDLE (RFC 2177): start, collect untagged responses, end.

def idle_start(conn):
    tag = conn.next_tag()
    conn.send(tag + " IDLE\r\n")
    pre = []
    while True:
        r = conn.read_response()
        if r.is_continuation:
            return tag, pre
        assert r.tag == "*", "IDLE refused: %r" % r
        pre.append(r)


def idle_wait(conn, pred, timeout):
    seen = []
    deadline = time.monotonic() + timeout
    while not pred(seen):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not conn.poll(remaining):
            break
        seen.append(conn.read_response())
    return seen


def idle_done(conn, tag):
    conn.send("DONE\r\n")
    untagged, tagged = conn.read_until_tagged(tag)
    assert tagged.status == "OK", tagged
    return untagged
