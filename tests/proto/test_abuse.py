"""Abuse resistance (docs/security.md): throttling per address, user and
pair, where a burst from one address slows nobody else; limits on
pre-login connections per address and on sessions per user; the
fail2ban-friendly failure line; and running out of file descriptors.
Remote addresses are made with PROXY headers from a trusted proxy at
127.0.0.2, so the tests need no network of their own."""

import os
import re
import socket
import subprocess
import threading
import time

import pytest

from helpers import read_line, remote_conn

HOST = "127.0.0.1"




def login_time(srv, source, user, password):
    """Seconds from LOGIN to its answer, and whether it was OK."""
    s = remote_conn(srv, source)
    assert read_line(s).startswith(b"* OK")
    t0 = time.monotonic()
    # Plaintext LOGIN is allowed off loopback only with the flag below.
    s.sendall(b"a LOGIN %s %s\r\n" % (user.encode(), password.encode()))
    line = read_line(s)
    while line and not line.startswith(b"a "):
        line = read_line(s)
    s.close()
    return time.monotonic() - t0, line.startswith(b"a OK")


@pytest.fixture
def remote_server(own_server):
    def start(*extra):
        return own_server(extra_args=["--proxy-trusted", "127.0.0.2",
                                      "--plaintext-auth", "always",
                                      "--auth-failure-delay", "0"] + list(extra))
    return start


def test_failure_line_for_fail2ban(remote_server):
    srv = remote_server()
    login_time(srv, "198.51.100.23", 'bad"name', "wrong")
    line = [l for l in srv.log_text().splitlines() if "auth failed" in l][-1]
    assert re.search(r'session=\w+ auth failed peer=198\.51\.100\.23 user="bad\\x22name" '
                     r'mech=PLAIN reason="', line), line


def test_burst_from_one_address_slows_nobody_else(remote_server):
    srv = remote_server()
    srv.add_user("carol", "carolpw")
    # A scanner at 203.0.113.50 tries 20 names (the address's free
    # failures, throttle.h).
    for i in range(20):
        login_time(srv, "203.0.113.50", "guess%d" % i, "wrong")
    # It is now limited, even with a right password...
    t, ok = login_time(srv, "203.0.113.50", "carol", "carolpw")
    assert t >= 0.9, "scanner's address not limited: %.2fs" % t
    # ...while other addresses log in at once, alice and bob included.
    for source, user, pw in (("203.0.113.51", "alice", "alicepw"),
                             ("192.0.2.9", "bob", "bobpw")):
        t, ok = login_time(srv, source, user, pw)
        assert ok and t < 0.5, (source, user, t)


def test_guessing_one_users_password_is_slowed(remote_server):
    srv = remote_server()
    times = [login_time(srv, "198.51.100.7", "alice", "wrong%d" % i)[0] for i in range(6)]
    assert times[0] < 0.5 and times[-1] >= 1.5, times
    # The owner, from their own address, is not made to wait for it.
    t, ok = login_time(srv, "198.51.100.8", "alice", "alicepw")
    assert ok and t < 1.5, t


def test_preauth_connections_per_address(remote_server):
    srv = remote_server("--max-preauth-per-ip", "4")
    socks, refused = [], 0
    for _ in range(8):
        s = remote_conn(srv, "203.0.113.60")
        line = read_line(s)
        if b"Too many connections" in line:
            refused += 1
            s.close()
        else:
            assert line.startswith(b"* OK"), line
            socks.append(s)
    # Each of the two login processes allows its half: at most 4 in all.
    assert len(socks) <= 4 and refused >= 4, (len(socks), refused)
    # Another address is not affected.
    s = remote_conn(srv, "203.0.113.61")
    assert read_line(s).startswith(b"* OK")
    for s in socks:
        s.close()


def test_sessions_per_user(own_server):
    srv = own_server(extra_args=["--max-per-user", "3"])
    conns = [srv.login("alice", "alicepw") for _ in range(3)]
    c = srv.connect()
    r = c.login("alice", "alicepw")
    assert r.status == "NO" and r.code_name == "LIMIT", r.describe()
    # Others are not counted against alice.
    srv.login("bob", "bobpw").close()
    conns.pop().close()
    deadline = time.monotonic() + 10
    while True:
        c = srv.connect()
        r = c.login("alice", "alicepw")
        if r.status == "OK" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status == "OK", r.describe()


def login_cpu_seconds(pid):
    """CPU seconds used so far by the login processes under pid."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            cmd = open("/proc/%s/cmdline" % d, "rb").read()
            stat = open("/proc/%s/stat" % d).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if b"login:" in cmd and int(stat[1]) == pid:
            total += (int(stat[11]) + int(stat[12])) / tick
    return total


def test_out_of_file_descriptors(own_server):
    # prlimit --nofile=64 and more connections than two login processes
    # can hold: accepting pauses instead of spinning, is logged once, and
    # resumes by itself.
    srv = own_server()
    srv.stop_checked()
    srv.prefix = ["prlimit", "--nofile=64:64", "--"]
    srv.start()
    time.sleep(1)
    socks = []
    for _ in range(200):
        try:
            socks.append(socket.create_connection((HOST, srv.port), timeout=5))
        except OSError:
            break
    cpu0 = login_cpu_seconds(srv.pid)
    time.sleep(3)
    cpu = login_cpu_seconds(srv.pid) - cpu0
    log = srv.log_text()
    assert "accept paused: out of file descriptors" in log, log[-2000:]
    assert log.count("accept failed") == 0
    assert log.count("accept paused") <= 4, log.count("accept paused")
    assert cpu < 1.0, "login processes burned %.2fs of CPU in 3s" % cpu
    for s in socks:
        s.close()
    deadline = time.monotonic() + 15
    while True:
        try:
            srv.login("alice", "alicepw").close()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
