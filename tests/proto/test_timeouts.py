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


def test_activity_restarts_clock(quick_server):
    s = socket.create_connection(("127.0.0.1", quick_server.port))
    s.settimeout(10)
    s.recv(4096)
    for i in range(4):
        time.sleep(0.6)
        s.sendall(b"n%d NOOP\r\n" % i)
        buf = b""
        while (b"n%d OK" % i) not in buf:
            buf += s.recv(4096)
    # 2.4 s in total, over the 1 s login timeout, but never idle for it.
    s.sendall(b"z LOGOUT\r\n")
    data, _ = _read_until_closed(s, 10)
    assert b"z OK" in data
