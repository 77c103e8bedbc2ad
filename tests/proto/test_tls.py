"""TLS and the plaintext rules: implicit TLS and STARTTLS with Python's ssl,
curl and openssl s_client; TLS 1.0/1.1 and garbage handshakes refused;
the STARTTLS command-injection class; session resumption across login
processes; ALPN; LOGINDISABLED and [PRIVACYREQUIRED] for a client that is
not on loopback (made with a PROXY header from a trusted proxy)."""

import base64
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import time

import pytest

from helpers import read_line, remote_conn

from rawimap import Conn

HOST = "127.0.0.1"


@pytest.fixture
def tls_server(own_server, pki):
    return own_server(tls=(pki["server"], pki["server.key"]),
                      extra_args=["--proxy-trusted", "127.0.0.2"])


def client_context(pki, alpn=("imap",), cert=None):
    ctx = ssl.create_default_context(cafile=str(pki["ca"]))
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if cert is not None:
        ctx.load_cert_chain(str(pki[cert]), str(pki[cert + ".key"]))
    return ctx


def tls_connect(srv, pki, **kw):
    ctx = client_context(pki, **kw)
    raw = socket.create_connection((HOST, srv.tls_port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="localhost")



def command(sock, line):
    """Sends a tagged command; returns every line up to its tagged answer."""
    tag = line.split(b" ", 1)[0]
    sock.sendall(line + b"\r\n")
    lines = []
    while True:
        l = read_line(sock)
        assert l, "connection closed; got %r" % lines
        lines.append(l)
        if l.startswith(tag + b" "):
            return lines


# ------------------------------------------------------------ implicit TLS

def test_implicit_tls_login(tls_server, pki):
    s = tls_connect(tls_server, pki)
    assert s.version() == "TLSv1.3", s.version()
    assert s.selected_alpn_protocol() == "imap"
    greeting = read_line(s)
    assert greeting.startswith(b"* OK"), greeting
    # Secured: no STARTTLS, no LOGINDISABLED, and -PLUS is offered.
    assert b"STARTTLS" not in greeting and b"LOGINDISABLED" not in greeting
    assert b"AUTH=SCRAM-SHA-256-PLUS" in greeting, greeting
    lines = command(s, b"a LOGIN alice alicepw")
    assert lines[-1].startswith(b"a OK"), lines
    lines = command(s, b"b SELECT INBOX")
    assert lines[-1].startswith(b"b OK"), lines
    lines = command(s, b"c LOGOUT")
    assert lines[-1].startswith(b"c OK"), lines
    s.close()


def test_tls12_works_too(tls_server, pki):
    ctx = client_context(pki)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    raw = socket.create_connection((HOST, tls_server.tls_port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    assert s.version() == "TLSv1.2"
    assert read_line(s).startswith(b"* OK")
    assert command(s, b"a LOGIN alice alicepw")[-1].startswith(b"a OK")
    s.close()


def test_session_resumption_across_connections(tls_server, pki):
    # Tickets are sealed with a key every login process shares: resumption
    # works whichever process the next connection lands on.
    ctx = client_context(pki)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # Python resumes 1.2 simply
    raw = socket.create_connection((HOST, tls_server.tls_port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    read_line(s)
    session = s.session
    s.close()
    reused = 0
    for _ in range(6):
        raw = socket.create_connection((HOST, tls_server.tls_port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
        read_line(s)
        reused += s.session_reused
        s.close()
    assert reused == 6, "resumed %d of 6" % reused


def test_alpn_mismatch_refused(tls_server, pki):
    # ALPACA: a client that asked for another protocol is refused.
    with pytest.raises(ssl.SSLError):
        tls_connect(tls_server, pki, alpn=("http/1.1",))
    s = tls_connect(tls_server, pki, alpn=None)  # no ALPN at all is fine
    assert read_line(s).startswith(b"* OK")
    s.close()


def openssl_client(port, *args, data=b""):
    return subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (HOST, port)]
                          + list(args), input=data, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=20)


@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
def test_old_tls_refused(tls_server, version):
    p = openssl_client(tls_server.tls_port, version, "-cipher", "DEFAULT@SECLEVEL=0")
    out = p.stdout.decode(errors="replace")
    assert "protocol version" in out or "unsupported protocol" in out, out
    assert "Casella ready" not in out
    # The server goes on.
    p = openssl_client(tls_server.tls_port, "-quiet", data=b"a LOGOUT\r\n")
    assert b"Casella ready" in p.stdout, p.stdout


def test_garbage_handshakes(tls_server, pki):
    for junk in (b"GET / HTTP/1.0\r\n\r\n", b"a LOGIN alice alicepw\r\n",
                 b"\x16\x03\x01\x00\x05hello", b"\x00" * 3000):
        s = socket.create_connection((HOST, tls_server.tls_port), timeout=10)
        s.sendall(junk)
        s.settimeout(10)
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
        assert b"Casella ready" not in data and b"OK" not in data, data
        s.close()
    s = tls_connect(tls_server, pki)
    assert read_line(s).startswith(b"* OK")
    s.close()
    assert "TLS handshake failed" in tls_server.log_text()


def test_openssl_s_client_implicit(tls_server, pki):
    p = openssl_client(tls_server.tls_port, "-quiet", "-CAfile", str(pki["ca"]),
                       "-verify_return_error", "-servername", "localhost",
                       data=b"a LOGIN alice alicepw\r\nb LOGOUT\r\n")
    out = p.stdout
    assert b"a OK" in out and b"b OK" in out, out


def test_sni_picks_certificate(own_server, pki):
    srv = own_server(tls=(pki["server"], pki["server.key"]),
                     extra_args=["--tls-cert", str(pki["server2"]),
                                 "--tls-key", str(pki["server2.key"])])
    for name, want in (("localhost", "localhost"), ("other.test", "other.test"),
                       ("unknown.test", "localhost")):
        ctx = ssl.create_default_context(cafile=str(pki["ca"]))
        ctx.check_hostname = False
        raw = socket.create_connection((HOST, srv.tls_port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname=name)
        cn = dict(x[0] for x in s.getpeercert()["subject"])["commonName"]
        assert cn == want, (name, cn)
        s.close()


# ---------------------------------------------------------------- STARTTLS

def starttls(srv, pki, first=b"a STARTTLS\r\n"):
    raw = socket.create_connection((HOST, srv.port), timeout=10)
    greeting = read_line(raw)
    assert b"STARTTLS" in greeting, greeting
    raw.sendall(first)
    answer = read_line(raw)
    assert answer.startswith(b"a OK"), answer
    return client_context(pki).wrap_socket(raw, server_hostname="localhost")


def test_starttls_then_login(tls_server, pki):
    s = starttls(tls_server, pki)
    caps = command(s, b"b CAPABILITY")
    assert b"STARTTLS" not in caps[0] and b"AUTH=SCRAM-SHA-256-PLUS" in caps[0], caps
    assert command(s, b"c LOGIN alice alicepw")[-1].startswith(b"c OK")
    s.close()


def test_starttls_twice_refused(tls_server, pki):
    s = starttls(tls_server, pki)
    assert command(s, b"b STARTTLS")[-1].startswith(b"b BAD")
    s.close()


def test_starttls_injection_is_discarded(tls_server, pki):
    # Commands sent in the clear together with STARTTLS must never run
    # (the STARTTLS command-injection class).
    s = starttls(tls_server, pki, first=b"a STARTTLS\r\nb LOGIN alice alicepw\r\n")
    lines = command(s, b"c CAPABILITY")
    assert not any(l.startswith(b"b ") for l in lines), lines
    assert b"IMAP4rev2" in lines[0] and b"AUTH=" in lines[0], lines  # not logged in
    assert command(s, b"d SELECT INBOX")[-1].startswith(b"d BAD"), "ran as logged in"
    s.close()


def test_curl_ssl_reqd(tls_server, pki):
    p = subprocess.run(["curl", "-sS", "--ssl-reqd", "--cacert", str(pki["ca"]),
                        "-u", "alice:alicepw", "imap://localhost:%d/" % tls_server.port,
                        "--resolve", "localhost:%d:127.0.0.1" % tls_server.port,
                        "-X", "STATUS INBOX (MESSAGES)"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, p.stderr
    assert b"STATUS INBOX" in p.stdout, p.stdout
    p = subprocess.run(["curl", "-sS", "--cacert", str(pki["ca"]), "-u", "alice:alicepw",
                        "imaps://localhost:%d/" % tls_server.tls_port,
                        "--resolve", "localhost:%d:127.0.0.1" % tls_server.tls_port,
                        "-X", "STATUS INBOX (MESSAGES)"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, p.stderr


def test_no_starttls_without_certificates(connect):
    c = connect()
    assert "STARTTLS" not in c.capabilities()
    c.command("STARTTLS").expect("NO", "BAD")
    c.command("NOOP").ok()


# ------------------------------------------------- plaintext before TLS


def test_remote_client_gets_logindisabled(tls_server, pki):
    s = remote_conn(tls_server)
    greeting = read_line(s)
    assert b"LOGINDISABLED" in greeting and b"STARTTLS" in greeting, greeting
    assert b"AUTH=PLAIN" not in greeting and b"AUTH=LOGIN" not in greeting, greeting
    # Mechanisms that never show the password stay on offer.
    assert b"AUTH=SCRAM-SHA-256" in greeting, greeting
    lines = command(s, b"a LOGIN alice alicepw")
    assert lines[-1].startswith(b"a NO [PRIVACYREQUIRED]"), lines
    lines = command(s, b"b AUTHENTICATE PLAIN " + base64.b64encode(b"\0alice\0alicepw"))
    assert lines[-1].startswith(b"b NO [PRIVACYREQUIRED]"), lines
    # After STARTTLS the same client may.
    s.sendall(b"c STARTTLS\r\n")
    assert read_line(s).startswith(b"c OK")
    t = client_context(pki).wrap_socket(s, server_hostname="localhost")
    assert command(t, b"d LOGIN alice alicepw")[-1].startswith(b"d OK")
    t.close()
    assert "peer=203.0.113.7" in tls_server.log_text()


def test_untrusted_proxy_header_is_not_believed(tls_server):
    # From 127.0.0.1, which is not a trusted proxy, a PROXY line is just a
    # bad command: the peer stays what it is.
    c = Conn(HOST, tls_server.port)
    c.send("PROXY TCP4 203.0.113.9 127.0.0.1 40000 143\r\n")
    r = c.read_response()
    assert r.status == "BAD", r
    c.close()
    assert "peer=203.0.113.9" not in tls_server.log_text()


def test_trusted_proxy_without_header_is_refused(tls_server):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.2", 0))
    s.connect((HOST, tls_server.port))
    s.sendall(b"a LOGIN alice alicepw\r\n")
    s.settimeout(10)
    assert s.recv(4096) == b""


def test_plaintext_never_flag(own_server):
    srv = own_server(extra_args=["--plaintext-auth", "never"])
    c = srv.connect()
    assert "LOGINDISABLED" in c.capabilities()
    c.login("alice", "alicepw").expect("NO")


def test_sighup_reloads_certificates_without_dropping(own_server, pki, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copy(pki["server"], cert)
    shutil.copy(pki["server.key"], key)
    srv = own_server(tls=(cert, key))
    old = tls_connect(srv, pki)
    assert read_line(old).startswith(b"* OK")
    assert command(old, b"a LOGIN alice alicepw")[-1].startswith(b"a OK")
    # Renewed files, then SIGHUP to the master.
    shutil.copy(pki["server2"], cert)
    shutil.copy(pki["server2.key"], key)
    os.kill(srv.pid, signal.SIGHUP)
    deadline = time.monotonic() + 10
    cn = None
    while time.monotonic() < deadline:
        ctx = ssl.create_default_context(cafile=str(pki["ca"]))
        ctx.check_hostname = False
        raw = socket.create_connection((HOST, srv.tls_port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        cn = dict(x[0] for x in s.getpeercert()["subject"])["commonName"]
        s.close()
        if cn == "other.test":
            break
        time.sleep(0.2)
    assert cn == "other.test", cn
    # The session opened before the reload goes on.
    assert command(old, b"b SELECT INBOX")[-1].startswith(b"b OK")
    old.close()
    assert "TLS configuration reloaded" in srv.log_text()


def test_sighup_with_a_bad_certificate_keeps_the_old(own_server, pki, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copy(pki["server"], cert)
    shutil.copy(pki["server.key"], key)
    srv = own_server(tls=(cert, key))
    cert.write_text("garbage\n")
    os.kill(srv.pid, signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "configuration refused" not in srv.log_text():
        assert time.monotonic() < deadline, srv.log_tail()
        time.sleep(0.1)
    s = tls_connect(srv, pki)
    assert read_line(s).startswith(b"* OK")
    s.close()
    assert srv.alive()


def test_proxy_v2_header(tls_server):
    # PROXY v2, binary: the real client is 198.51.100.77, over TLS at the
    # balancer (PP2_TYPE_SSL with the client flag), so the session counts
    # as secured.
    src = socket.inet_aton("198.51.100.77")
    dst = socket.inet_aton("127.0.0.1")
    addrs = src + dst + struct.pack("!HH", 50000, 993)
    ssl_tlv = struct.pack("!BH", 0x20, 5) + b"\x01" + b"\0\0\0\0"
    body = addrs + ssl_tlv
    header = (b"\r\n\r\n\0\r\nQUIT\n" + bytes([0x21, 0x11]) +
              struct.pack("!H", len(body)) + body)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.2", 0))
    s.connect((HOST, tls_server.port))
    s.sendall(header)
    s.settimeout(10)
    greeting = read_line(s)
    assert greeting.startswith(b"* OK") and b"LOGINDISABLED" not in greeting, greeting
    assert command(s, b"a LOGIN alice alicepw")[-1].startswith(b"a OK")
    s.close()
    assert "peer=198.51.100.77:50000" in tls_server.log_text()
