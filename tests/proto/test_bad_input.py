"""Hostile and broken input.  Each case checks the error response and
that the connection (or, where closing is right, the server) still works.
"""

import os
import socket
import threading
import time

import pytest

import mailgen
from helpers import status
from rawimap import ConnectionClosed, Literal, quote


def read_bad(conn, timeout=10):
    """Reads responses until a BAD (tagged or untagged) arrives."""
    r = conn.read_response(timeout)
    assert r.status == "BAD", "expected a BAD response, got %r" % r
    return r


def still_alive(conn):
    conn.command("NOOP").ok()


@pytest.mark.parametrize("line", [b"!!!", b"", b"a1", b"a1 ", b"* NOOP", b"+ NOOP",
                                  b"a{1 NOOP", b"a1 NOOP extra", b"(a1) NOOP",
                                  b"a1 LOGIN", b"a1 SELECT"],
                         ids=["garbage", "empty", "tag-only", "tag-space", "star-tag",
                              "plus-tag", "brace-tag", "noop-args", "paren-tag",
                              "login-noargs", "select-noargs"])
def test_garbage_line(connect, line):
    c = connect()
    c.send(line + b"\r\n")
    read_bad(c)
    still_alive(c)


def test_garbage_line_after_login(c):
    c.send(b"\x01\x02\x03 garbage\r\n")
    read_bad(c)
    still_alive(c)


def _long_line(conn, size):
    """Sends a line of size bytes; returns the responses up to the first
    BAD/BYE, and whether the connection was then closed."""
    try:
        conn.send(b"L1 NOOP " + b"x" * size + b"\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    got = []
    try:
        while True:
            r = conn.read_response(10)
            got.append(r)
            if r.status in ("BAD", "BYE"):
                break
    except (ConnectionClosed, ConnectionResetError):
        return got, True
    return got, False


@pytest.mark.parametrize("authenticated", [False, True], ids=["before-login", "after-login"])
def test_line_too_long(server, user, connect, authenticated):
    c = connect()
    if authenticated:
        c.login(*user).ok()
    got, closed = _long_line(c, 100 * 1024)
    assert got and got[-1].status in ("BAD", "BYE"), (
        "a 100 KB line must get BAD (e.g. [TOOBIG]) or BYE, got %r (closed=%s)" % (got, closed))
    if not closed:
        if got[-1].status == "BYE":
            assert c.wait_closed(5)
        else:
            try:
                still_alive(c)
            except ConnectionClosed:
                pass  # closed after the BAD: acceptable
    # the server still serves new connections
    c2 = connect()
    still_alive(c2)


def test_unterminated_quoted_string(connect):
    c = connect()
    c.send(b'a1 LOGIN "alice\r\n')
    read_bad(c)
    still_alive(c)
    c.login("alice", "alicepw").ok()


def test_bad_escape_in_quoted_string(connect):
    c = connect()
    c.send(b'a1 LOGIN "al\\ice" "x"\r\n')
    r = c.read_response()
    assert r.status in ("BAD", "NO"), r
    still_alive(c)


def test_huge_literal_in_append_rejected_without_continuation(c):
    tag = c.next_tag()
    c.send(tag + " APPEND INBOX {999999999999}\r\n")
    r = c.read_response()
    assert not r.is_continuation, "server sent '+' for a 1 TB literal"
    assert r.tag == tag and r.status in ("NO", "BAD"), r
    assert r.code_name == "TOOBIG", "expected [TOOBIG], got %r" % r
    still_alive(c)
    assert status(c, "INBOX")["MESSAGES"] == 0


def test_overflowing_literal_size(c):
    tag = c.next_tag()
    c.send(tag + " APPEND INBOX {99999999999999999999999999}\r\n")
    r = c.read_response()
    assert not r.is_continuation, r
    assert r.status in ("NO", "BAD"), r
    still_alive(c)


def test_big_nonsync_literal_before_login(connect):
    # RFC 7888 (LITERAL-): a non-synchronizing literal over 4096 bytes is
    # refused; the contract says BAD and close (the data is on its way).
    c = connect()
    if "LITERAL-" not in c.greeting.code_args.upper().split():
        pytest.skip("server advertises LITERAL+ rather than LITERAL-")
    c.send(b"a1 LOGIN {5000+}\r\n")
    r = c.read_response()
    assert r.status in ("BAD", "BYE"), r
    if r.tag == "a1":
        assert r.status == "BAD"
    assert c.wait_closed(5), "connection not closed after a too-big LITERAL- literal"
    assert all(t.status in ("BAD", "BYE") for t in c.trailing), c.trailing


def test_small_nonsync_literal_before_login(connect, user):
    c = connect()
    c.command("LOGIN", Literal(user[0], mode="plus"), Literal(user[1], mode="plus")).ok()


def test_deep_parentheses(c):
    c.append("INBOX", mailgen.plain()).ok()
    c.select().ok()
    c.command("SEARCH " + "(" * 1000 + "ALL" + ")" * 1000).expect("BAD")
    still_alive(c)
    c.command("FETCH 1 " + "(" * 1000 + "FLAGS" + ")" * 1000).expect("BAD")
    still_alive(c)


def test_deep_parentheses_before_login(connect):
    c = connect()
    c.send(b"a1 ID " + b"(" * 1000 + b")" * 1000 + b"\r\n")
    read_bad(c)
    still_alive(c)


@pytest.mark.parametrize("seqset", ["0", "1:", "a", "1,,2", "4294967296", "1:*:2", "*:", ",1",
                                    "1,", "99999999999999999999"])
def test_invalid_sequence_sets(c, seqset):
    c.append("INBOX", mailgen.plain()).ok()
    c.select().ok()
    c.command("FETCH %s FLAGS" % seqset).expect("BAD")
    c.command("UID FETCH %s FLAGS" % seqset).expect("BAD")
    c.command("STORE %s +FLAGS (\\Seen)" % seqset).expect("BAD")
    still_alive(c)


def test_wrong_state_commands(connect, c):
    pre = connect()
    for cmd in ("EXPUNGE", "FETCH 1 FLAGS", "UID FETCH 1 FLAGS", "CLOSE", "UNSELECT",
                "STORE 1 +FLAGS (\\Seen)", "CHECK", "SEARCH ALL", "NAMESPACE"):
        pre.command(cmd).expect("BAD", "NO")
    still_alive(pre)
    for cmd in ("EXPUNGE", "SEARCH ALL", "COPY 1 INBOX", "MOVE 1 INBOX", "UID EXPUNGE 1"):
        c.command(cmd).expect("BAD")
    still_alive(c)


def test_disconnect_mid_literal(server, user, connect):
    name, pw = user
    c = connect()
    c.login(name, pw).ok()
    tag = c.next_tag()
    c.send(tag + " APPEND INBOX {1000}\r\n")
    r = c.read_response()
    assert r.is_continuation, r
    c.send(b"From: x\r\n" + b"y" * 491)
    time.sleep(0.1)
    c.close()
    # the server keeps serving, and nothing half-written was appended
    time.sleep(0.3)
    c2 = connect()
    c2.login(name, pw).ok()
    assert status(c2, "INBOX")["MESSAGES"] == 0


def test_disconnect_mid_line_and_mid_nonsync_literal(server, user, connect):
    name, pw = user
    c = connect()
    c.send(b"a1 LOGIN " + quote(name))
    c.close()
    c = connect()
    c.login(name, pw).ok()
    c.send(b"a2 APPEND INBOX {100+}\r\nFrom: partial\r\n")
    c.close()
    time.sleep(0.3)
    c2 = connect()
    c2.login(name, pw).ok()
    assert status(c2, "INBOX")["MESSAGES"] == 0


def test_reset_mid_command(server, user, connect):
    c = connect()
    c.login(*user).ok()
    c.send(b"a2 APPEND INBOX {50}\r\n")
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()  # RST
    time.sleep(0.2)
    c2 = connect()
    still_alive(c2)


@pytest.mark.parametrize("line", [b"a1 NOOP\x00", b"a1 NO\x00OP", b'a1 LOGIN "al\x00ice" "pw"',
                                  b"\x00\x00\x00\x00"], ids=["after", "inside", "quoted", "only-nul"])
def test_nul_bytes(connect, line):
    c = connect()
    c.send(line + b"\r\n")
    r = c.read_response()
    assert r.status == "BAD", r
    still_alive(c)


def test_nul_in_password_does_not_authenticate(connect):
    c = connect()
    c.send(b'a1 LOGIN "alice" "alicepw\x00junk"\r\n')
    r = c.read_response()
    assert r.status in ("BAD", "NO"), r
    c.command("SELECT INBOX").expect("BAD", "NO")


def test_noop_flood_answered_in_order(c):
    n = 10000
    payload = b"".join(b"n%05d NOOP\r\n" % i for i in range(n))
    err = []

    def writer():
        try:
            c.sock.sendall(payload)
        except OSError as e:
            err.append(e)

    t = threading.Thread(target=writer)
    t.start()
    expected = 0
    deadline = time.monotonic() + 60
    while expected < n and time.monotonic() < deadline:
        r = c.read_response(30)
        if r.tag == "*":
            continue
        assert r.tag == "n%05d" % expected and r.status == "OK", (expected, r)
        expected += 1
    t.join(10)
    assert not err, err
    assert expected == n
    still_alive(c)


def test_many_connections_at_once(connect):
    conns = [connect() for _ in range(40)]
    for conn in conns:
        assert conn.greeting.status == "OK"
    for conn in conns:
        conn.send(b"m1 NOOP\r\n")
    for conn in conns:
        _, tagged = conn.read_until_tagged("m1")
        assert tagged.status == "OK"


def _rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def test_unread_responses_do_not_grow_memory(own_server):
    """A client that pipelines big FETCHes and never reads must not make
    the server buffer without bound; other clients are still served."""
    # A small ASan quarantine, so freed memory doesn't count against the
    # server.
    srv = own_server(extra_asan="quarantine_size_mb=16:malloc_context_size=5")
    setup = srv.login("alice", "alicepw")
    big = mailgen.sized(100 * 1024, subject="big")
    setup.command("APPEND INBOX", *[Literal(big) for _ in range(10)]).ok()
    setup.close()

    flood = srv.login("alice", "alicepw")
    flood.select().ok()
    flood.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    baseline = _rss_kb(srv.pid)
    cmd = b"".join(b"f%06d FETCH 1:* BODY.PEEK[]\r\n" % i for i in range(2000))
    flood.sock.setblocking(False)
    sent = 0
    limit = 50 * 1024 * 1024
    deadline = time.monotonic() + 5
    blocked_since = None
    while sent < limit and time.monotonic() < deadline:
        try:
            n = flood.sock.send(cmd)
            sent += n
            blocked_since = None
        except BlockingIOError:
            if blocked_since is None:
                blocked_since = time.monotonic()
            elif time.monotonic() - blocked_since > 1.5:
                break  # the server stopped reading: backpressure works
            time.sleep(0.05)
    time.sleep(1)
    peak = _rss_kb(srv.pid)
    # another client is served meanwhile
    other = srv.login("bob", "bobpw")
    other.select().ok()
    other.command("NOOP").ok()
    other.close()
    peak = max(peak, _rss_kb(srv.pid))
    flood.close()
    print("flood: sent %d KB of commands; server RSS baseline %d MB, peak %d MB"
          % (sent // 1024, baseline // 1024, peak // 1024))
    assert peak < 200 * 1024, (
        "server RSS grew to %d MB (baseline %d MB) while a client sent %d MB of "
        "FETCH commands without reading" % (peak // 1024, baseline // 1024, sent // (1024 * 1024)))
    # the server recovers and still works
    time.sleep(0.5)
    c = srv.login("alice", "alicepw")
    c.command("NOOP").ok()
    c.close()
