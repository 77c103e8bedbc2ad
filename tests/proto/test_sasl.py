"""SASL mechanisms with real clients: the workplace's stdlib client
(sasl-login-example.py, otp.py), GNU SASL's gsasl and mbsync (Cyrus SASL),
plus the bad cases: wrong secrets, replayed one-time passwords, cancelled
and garbage exchanges, and the failure delay.  TLS-only mechanisms
(-PLUS, EXTERNAL) are in test_tls.py, GSSAPI in test_gssapi.py and OAuth
in test_oauth.py."""

import base64
import hashlib
import hmac
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

from conftest import SHARED_SCRIPTS

PYTHON = "/usr/bin/python3"


def scripts():
    if SHARED_SCRIPTS is None:
        pytest.fail("../shared/scripts (otp.py, sasl-login-example.py) not found")
    return SHARED_SCRIPTS


def need(binary, package):
    path = shutil.which(binary)
    if path is None:
        pytest.fail("%s is not installed (apt-get install %s)" % (binary, package))
    return path


def example_login(server, mech, user, secret):
    p = subprocess.run([PYTHON, str(scripts() / "sasl-login-example.py"), "127.0.0.1",
                        str(server.port), mech, user, secret],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    return p.returncode, p.stdout.decode(errors="replace")


def otp_module():
    sys.path.insert(0, str(scripts()))
    import otp
    return otp


# ---------------------------------------------------------------- advertising

def test_mechanisms_advertised_before_login(connect):
    caps = connect().capabilities()
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "OTP", "PLAIN", "LOGIN"):
        assert "AUTH=" + mech in caps, caps
    # -PLUS needs TLS and EXTERNAL a client certificate.
    assert "AUTH=SCRAM-SHA-256-PLUS" not in caps, caps
    assert "AUTH=EXTERNAL" not in caps, caps
    # Loopback may send passwords in clear: no LOGINDISABLED here.
    assert "LOGINDISABLED" not in caps, caps


# ------------------------------------------------------ the stdlib client

@pytest.mark.parametrize("mech", ["PLAIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_example_client_logs_in(server, user, mech):
    name, pw = user
    rc, out = example_login(server, mech, name, pw)
    assert rc == 0, out
    rc, out = example_login(server, mech, name, pw + "x")
    assert rc == 1, out


def test_otp_logs_in_counting_down(server, user):
    name, _ = user
    phrase = "correct horse battery"
    server.cli("user", "otp", name, "--seq", "5", "--seed", "casella1", input=phrase + "\n")
    for mech in ("OTP", "OTP-HEX", "OTP"):
        rc, out = example_login(server, mech, name, phrase)
        assert rc == 0, out
    rc, out = example_login(server, "OTP", name, "wrong pass phrase!")
    assert rc == 1, out


def test_otp_sha1(server, user):
    name, _ = user
    phrase = "This is a test."
    server.cli("user", "otp", name, "--alg", "sha1", "--seq", "99", input=phrase + "\n")
    rc, out = example_login(server, "OTP", name, phrase)
    assert rc == 0, out


def otp_challenge(c, name):
    """Starts AUTHENTICATE OTP; returns (tag, challenge text)."""
    tag = c.next_tag()
    ir = base64.b64encode(b"\0" + name.encode()).decode()
    c.send("%s AUTHENTICATE OTP %s\r\n" % (tag, ir))
    r = c.read_response()
    assert r.is_continuation, r
    return tag, base64.b64decode(r.text).decode()


def otp_answer(c, tag, response):
    c.send(base64.b64encode(response.encode()) + b"\r\n")
    _, tagged = c.read_until_tagged(tag, timeout=10)
    return tagged


def test_otp_replay_fails(server, user, connect):
    name, _ = user
    otp = otp_module()
    phrase = "replay me not, please"
    server.cli("user", "otp", name, "--seq", "20", input=phrase + "\n")
    c1 = connect()
    tag, chal = otp_challenge(c1, name)
    assert chal.startswith("otp-md5 20 "), chal
    response = otp.sasl_otp_response(chal, phrase)
    assert otp_answer(c1, tag, response).status == "OK"
    # The same response again: the sequence moved on.
    c2 = connect()
    tag, chal2 = otp_challenge(c2, name)
    assert chal2.startswith("otp-md5 19 "), chal2
    assert otp_answer(c2, tag, response).status == "NO"


def test_otp_racing_sessions_one_wins(server, user, connect):
    name, _ = user
    otp = otp_module()
    phrase = "two sessions, one password"
    server.cli("user", "otp", name, "--seq", "30", input=phrase + "\n")
    c1, c2 = connect(), connect()
    t1, ch1 = otp_challenge(c1, name)
    t2, ch2 = otp_challenge(c2, name)
    assert ch1 == ch2, (ch1, ch2)
    response = otp.sasl_otp_response(ch1, phrase)
    results = {}

    def answer(key, c, tag):
        results[key] = otp_answer(c, tag, response).status

    threads = [threading.Thread(target=answer, args=("a", c1, t1)),
               threading.Thread(target=answer, args=("b", c2, t2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == ["NO", "OK"], results


def test_otp_init_hex_reinitialises(server, user, connect):
    name, _ = user
    otp = otp_module()
    phrase, new_phrase = "old pass phrase", "new pass phrase"
    server.cli("user", "otp", name, "--seq", "10", "--seed", "old1", input=phrase + "\n")
    c = connect()
    tag, chal = otp_challenge(c, name)
    _, seq, seed = chal.split()[:3]
    current = otp.to_hex(otp.otp(phrase, seed, int(seq), "md5"))
    new = otp.to_hex(otp.otp(new_phrase, "new1", 50, "md5"))
    r = otp_answer(c, tag, "init-hex:%s:md5 50 new1:%s" % (current, new))
    assert r.status == "OK", r
    c = connect()
    tag, chal = otp_challenge(c, name)
    assert chal.startswith("otp-md5 49 new1"), chal
    assert otp_answer(c, tag, otp.sasl_otp_response(chal, new_phrase)).status == "OK"


def test_otp_unknown_user_gets_a_challenge(connect):
    c = connect()
    tag, chal = otp_challenge(c, "nobody-here")
    assert chal.startswith("otp-md5 "), chal
    assert otp_answer(c, tag, "hex:0011223344556677").status == "NO"


def test_user_otp_refuses_bad_parameters(server, user):
    name, _ = user
    for args, phrase in ((["--alg", "md4"], "long enough phrase"),
                         (["--seq", "0"], "long enough phrase"),
                         (["--seed", "bad seed!"], "long enough phrase"),
                         ([], "short")):
        p = server.cli("user", "otp", name, *args, input=phrase + "\n", check=False)
        assert p.returncode != 0, args
    p = server.cli("user", "otp", "nobody-here", input="long enough phrase\n", check=False)
    assert p.returncode != 0


# ------------------------------------------------------------------ gsasl

@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_gsasl_logs_in(server, user, mech):
    need("gsasl", "gsasl")
    name, pw = user

    def run(password):
        return subprocess.run(["gsasl", "--imap", "--connect=127.0.0.1:%d" % server.port,
                               "--no-starttls", "-m", mech, "-a", name, "-p", password, "-d"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=30)

    p = run(pw)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0 and " OK " in out, out
    p = run(pw + "x")
    assert p.returncode != 0, p.stdout.decode(errors="replace")


# ----------------------------------------------------------------- mbsync

def mbsync(server, tmp_path, name, secret, mech):
    need("mbsync", "isync")
    maildir = tmp_path / "Maildir"
    maildir.mkdir(exist_ok=True)
    rc = tmp_path / "mbsyncrc"
    rc.write_text(
        "IMAPAccount test\nHost 127.0.0.1\nPort %d\nUser %s\nPass \"%s\"\n"
        "SSLType None\nAuthMechs %s\n\n"
        "IMAPStore remote\nAccount test\n\n"
        "MaildirStore local\nPath %s/\nInbox %s/INBOX\n\n"
        "Channel test\nFar :remote:\nNear :local:\nPatterns INBOX\n"
        "Create Near\nSyncState *\nSync Pull\n" % (
            server.port, name, secret, mech, maildir, maildir))
    env = dict(os.environ, HOME=str(tmp_path))
    return subprocess.run(["mbsync", "-V", "-c", str(rc), "-a"], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=60, env=env)


@pytest.mark.parametrize("mech", ["CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_mbsync_cyrus_sasl(server, user, mech, tmp_path):
    name, pw = user
    p = mbsync(server, tmp_path, name, pw, mech)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out
    assert "Authenticating with SASL mechanism %s" % mech in out, out


def test_mbsync_otp(server, user, tmp_path):
    # Cyrus SASL's OTP client (libsasl2-modules-otp) computes the
    # response from the pass phrase mbsync gives as its password.
    name, _ = user
    phrase = "mbsync pass phrase"
    server.cli("user", "otp", name, "--seq", "40", input=phrase + "\n")
    for attempt in range(2):
        p = mbsync(server, tmp_path, name, phrase, "OTP")
        out = p.stdout.decode(errors="replace")
        assert p.returncode == 0, out
        assert "SASL mechanism OTP" in out, out


# -------------------------------------------------------------- bad input

def test_failed_login_is_delayed(connect, user):
    name, _ = user
    c = connect()
    t0 = time.monotonic()
    c.login(name, "wrong").expect("NO")
    assert time.monotonic() - t0 >= 0.9


def test_failures_close_the_connection(connect, user):
    # Five failures on one connection: the server says BYE.
    name, _ = user
    c = connect()
    for _ in range(5):
        r = c.command("LOGIN", name, "wrong", timeout=20)
        assert r.status == "NO", r.describe()
    assert c.wait_closed(), "connection still open after 5 failures"


def test_authenticate_garbage_then_session_goes_on(connect, user):
    name, pw = user
    c = connect()
    for mech, data in (("SCRAM-SHA-256", b"garbage"), ("CRAM-MD5", b"x"),
                       ("OTP", b"no-nul-here"), ("PLAIN", b"\0only-one")):
        tag = c.next_tag()
        c.send("%s AUTHENTICATE %s %s\r\n" % (tag, mech, base64.b64encode(data).decode()))
        while True:
            r = c.read_response(timeout=10)
            if r.is_continuation:
                c.send(base64.b64encode(b"more garbage") + b"\r\n")
                continue
            if r.tag == tag:
                break
        assert r.status in ("NO", "BAD"), r
    c.login(name, pw).ok()


def test_authenticate_cancel_mid_scram(connect, user):
    name, pw = user
    c = connect()
    tag = c.next_tag()
    first = b"n,,n=" + name.encode() + b",r=abcdefghijklmnop"
    c.send("%s AUTHENTICATE SCRAM-SHA-256 %s\r\n" % (tag, base64.b64encode(first).decode()))
    r = c.read_response(timeout=10)
    assert r.is_continuation, r
    c.send("*\r\n")
    _, tagged = c.read_until_tagged(tag, timeout=10)
    assert tagged.status == "BAD", tagged
    c.login(name, pw).ok()


def test_scram_wrong_nonce_refused(connect, user):
    name, pw = user
    c = connect()
    tag = c.next_tag()
    first = b"n,,n=" + name.encode() + b",r=clientnonce123"
    c.send("%s AUTHENTICATE SCRAM-SHA-256 %s\r\n" % (tag, base64.b64encode(first).decode()))
    r = c.read_response(timeout=10)
    server_first = base64.b64decode(r.text)
    attrs = dict(kv.split(b"=", 1) for kv in server_first.split(b","))
    assert attrs[b"r"].startswith(b"clientnonce123"), server_first
    final = b"c=biws,r=othernonce,p=" + base64.b64encode(b"\0" * 32)
    c.send(base64.b64encode(final) + b"\r\n")
    _, tagged = c.read_until_tagged(tag, timeout=10)
    assert tagged.status == "NO", tagged


def test_client_vanishing_mid_exchange(server, connect, user):
    # Half an exchange, then the client goes: the server keeps serving.
    for _ in range(5):
        c = connect()
        c.send("a AUTHENTICATE SCRAM-SHA-256\r\n")
        c.read_response(timeout=10)
        c.close()
    name, pw = user
    connect().login(name, pw).ok()


def test_overlong_sasl_line(connect):
    c = connect()
    tag = c.next_tag()
    c.send("%s AUTHENTICATE PLAIN\r\n" % tag)
    assert c.read_response(timeout=10).is_continuation
    c.send(b"A" * 100000 + b"\r\n")
    assert c.wait_closed(), "server kept a 100 kB SASL line"


def test_cram_md5_can_be_turned_off(own_server):
    srv = own_server()
    srv.cli("auth", "cram-md5", "off")
    srv.stop_checked()
    srv.start()
    c = srv.connect()
    assert "AUTH=CRAM-MD5" not in c.capabilities()
    rc, out = example_login(srv, "CRAM-MD5", "alice", "alicepw")
    assert rc != 0, out
    srv.cli("auth", "cram-md5", "on")
    srv.cli("user", "passwd", "alice", input="alicepw\n")
    srv.stop_checked()
    srv.start()
    rc, out = example_login(srv, "CRAM-MD5", "alice", "alicepw")
    assert rc == 0, out


def test_overlong_sasl_response_spares_the_auth_channel(server, connect, user):
    # 60 KiB of base64 fits a SASL line but decodes to more than the auth
    # process takes: refused here, and the channel every session of the
    # login process shares stays up.
    c = connect()
    tag = c.next_tag()
    c.send("%s AUTHENTICATE PLAIN\r\n" % tag)
    assert c.read_response(timeout=10).is_continuation
    c.send(base64.b64encode(b"\0" + b"x" * 49200) + b"\r\n")
    _, tagged = c.read_until_tagged(tag, timeout=10)
    assert tagged.status == "BAD", tagged
    name, pw = user
    for _ in range(4):  # both login processes, whichever we land on
        connect().login(name, pw).ok()
