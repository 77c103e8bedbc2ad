"""The login cache (src/store/password-cache.c) must never change who may
log in: repeated logins work, wrong passwords still fail after a success,
and a password change takes effect at once, even for a running server."""

import imaplib

import pytest


def _login_ok(server, name, pw):
    m = imaplib.IMAP4("127.0.0.1", server.port, timeout=10)
    try:
        typ, _ = m.login(name, pw)
        assert typ == "OK"
    finally:
        m.logout()


def _login_fails(server, name, pw):
    m = imaplib.IMAP4("127.0.0.1", server.port, timeout=10)
    with pytest.raises(imaplib.IMAP4.error) as e:
        m.login(name, pw)
    assert "AUTHENTICATIONFAILED" in str(e.value)
    m.shutdown()


def test_repeated_logins(server, user):
    name, pw = user
    for _ in range(5):
        _login_ok(server, name, pw)


def test_wrong_password_after_success(server, user):
    name, pw = user
    _login_ok(server, name, pw)
    _login_fails(server, name, pw + "x")
    _login_fails(server, name, pw[:-1])
    _login_fails(server, name, "")


def test_password_change_takes_effect(server, user):
    name, pw = user
    _login_ok(server, name, pw)
    server.cli("user", "passwd", name, input="newsecret\n")
    _login_fails(server, name, pw)
    _login_ok(server, name, "newsecret")


def test_cached_password_does_not_open_other_user(server):
    a = server.new_user()
    b = server.new_user()
    _login_ok(server, a[0], a[1])
    _login_fails(server, b[0], a[1])
