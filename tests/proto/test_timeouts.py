"""Idle timeouts (RFC 9051 5.4): a shorter one before login, a longer one
after; activity restarts the clock.  Short values are set by flag so the
test runs in seconds."""

import socket
import time

import pytest


@pytest.fixture
def quick_server(own_server):
    srv = own_server()
    srv.stop_checked()
    srv.extra_args = ["--login-timeout", "1", "--idle-timeout", "3"]
    srv.start()
    return srv


def _read_until_closed(sock, limit):
    sock.settimeout(limit)
    data = b""
    start = time.monotonic()
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data, time.monotonic() - start
        data += chunk


def test_login_timeout(quick_server):
    s = socket.create_connection(("127.0.0.1", quick_server.port))
    data, waited = _read_until_closed(s, 10)
    assert data.startswith(b"* OK")
    assert b"* BYE" in data
    assert waited < 5


def test_idle_timeout_after_login_is_longer(quick_server):
    s = socket.create_connection(("127.0.0.1", quick_server.port))
    s.settimeout(10)
    s.recv(4096)
    s.sendall(b"a LOGIN alice alicepw\r\n")
    buf = b""
    while b"a OK" not in buf:
        buf += s.recv(4096)
    # Past the login timeout, still connected: NOOP is answered.
    time.sleep(1.8)
    s.sendall(b"b NOOP\r\n")
    buf = b""
    while b"b OK" not in buf:
        buf += s.recv(4096)
    data, waited = _read_until_closed(s, 10)
    assert b"* BYE" in data
    assert 2 <= waited < 8


def _expect_ok(s, tag):
    buf = b""
    while (tag + b" OK") not in buf:
        chunk = s.recv(4096)
        assert chunk, "connection closed while waiting for %r: %r" % (tag, buf)
        buf += chunk


def test_activity_restarts_clock_after_login(quick_server):
    s = socket.create_connection(("127.0.0.1", quick_server.port))
    s.settimeout(10)
    s.recv(4096)
    s.sendall(b"a LOGIN alice alicepw\r\n")
    _expect_ok(s, b"a")
    for i in range(5):
        time.sleep(1.2)
        s.sendall(b"n%d NOOP\r\n" % i)
        _expect_ok(s, b"n%d" % i)
    # 6 s in total, twice the 3 s idle timeout, but never idle for it.
    s.sendall(b"z LOGOUT\r\n")
    data, _ = _read_until_closed(s, 10)
    assert b"z OK" in data


def test_login_deadline_is_absolute(quick_server):
    # A client that trickles a byte now and then before login is never
    # idle, yet it must be logged in by the login timeout (1 s here).
    s = socket.create_connection(("127.0.0.1", quick_server.port))
    s.settimeout(10)
    s.recv(4096)
    start = time.monotonic()
    closed = False
    for _ in range(20):
        try:
            s.sendall(b"n")
            chunk = s.recv(4096, socket.MSG_DONTWAIT)
            if chunk == b"":
                closed = True
                break
        except BlockingIOError:
            pass
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        time.sleep(0.25)
    assert closed, "still open after 5 s of trickling"
    assert time.monotonic() - start < 3
