"""Mechanisms that need TLS, with real clients: SCRAM-*-PLUS with each
channel binding (gsasl over STARTTLS binds with tls-exporter on TLS 1.3;
our RFC 5802 client binds with tls-server-end-point and tls-unique),
wrong bindings and the "y" downgrade refused; EXTERNAL with client
certificates made by openssl, used by Python's ssl and by openssl
s_client; and the Debian clients (neomutt, fetchmail, mbsync) over TLS
with their default settings plus the test CA."""

import base64
import hashlib
import hmac
import os
import shutil
import socket
import ssl
import subprocess

import pytest

HOST = "127.0.0.1"


@pytest.fixture
def tls_server(own_server, pki):
    return own_server(tls=(pki["server"], pki["server.key"]),
                      extra_args=["--tls-client-ca", str(pki["ca"])])


def connect_tls(srv, pki, version=None, cert=None):
    ctx = ssl.create_default_context(cafile=str(pki["ca"]))
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    if cert is not None:
        ctx.load_cert_chain(str(pki[cert]), str(pki[cert + ".key"]))
    raw = socket.create_connection((HOST, srv.tls_port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    line = s.recv(4096)
    assert line.startswith(b"* OK"), line
    return s


class Lines:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            assert chunk, "closed, buffered %r" % self.buf
            self.buf += chunk
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l

    def send(self, data):
        self.sock.sendall(data + b"\r\n")


def scram_login(sock, user, password, hname="sha256", plus=None, cbdata=b"",
                gs2_flag=None):
    """RFC 5802 client.  plus: channel-binding type for -PLUS; gs2_flag
    overrides the flag ("y" for the downgrade case).  Returns the tagged
    status line."""
    c = Lines(sock)
    mech = "SCRAM-" + hname.upper().replace("SHA", "SHA-") + ("-PLUS" if plus else "")
    flag = gs2_flag or ("p=" + plus if plus else "n")
    gs2 = (flag + ",,").encode()
    cnonce = base64.b64encode(os.urandom(18)).decode()
    bare = "n=%s,r=%s" % (user, cnonce)
    c.send(b"a AUTHENTICATE " + mech.encode() + b" " +
           base64.b64encode(gs2 + bare.encode()))
    l = c.line()
    if not l.startswith(b"+ "):
        return l
    first = base64.b64decode(l[2:]).decode()
    attrs = dict(kv.split("=", 1) for kv in first.split(","))
    salted = hashlib.pbkdf2_hmac(hname, password.encode(), base64.b64decode(attrs["s"]),
                                 int(attrs["i"]))
    ckey = hmac.new(salted, b"Client Key", hname).digest()
    cbind = base64.b64encode(gs2 + (cbdata if plus else b"")).decode()
    final = "c=%s,r=%s" % (cbind, attrs["r"])
    auth_msg = ",".join([bare, first, final]).encode()
    sig = hmac.new(hashlib.new(hname, ckey).digest(), auth_msg, hname).digest()
    proof = bytes(a ^ b for a, b in zip(ckey, sig))
    c.send(base64.b64encode((final + ",p=" + base64.b64encode(proof).decode()).encode()))
    l = c.line()
    if l.startswith(b"+ "):
        server_final = base64.b64decode(l[2:]).decode()
        skey = hmac.new(salted, b"Server Key", hname).digest()
        want = hmac.new(skey, auth_msg, hname).digest()
        assert server_final == "v=" + base64.b64encode(want).decode(), server_final
        c.send(b"")
        l = c.line()
    return l


def end_point(sock):
    """RFC 5929 4.1: the hash of the server certificate (SHA-256 here)."""
    return hashlib.sha256(sock.getpeercert(binary_form=True)).digest()


@pytest.mark.parametrize("hname", ["sha256", "sha1"])
def test_scram_plus_tls_server_end_point(tls_server, pki, hname):
    s = connect_tls(tls_server, pki)
    assert scram_login(s, "alice", "alicepw", hname, plus="tls-server-end-point",
                       cbdata=end_point(s)).startswith(b"a OK")


def test_scram_plus_tls_unique_on_tls12(tls_server, pki):
    s = connect_tls(tls_server, pki, version=ssl.TLSVersion.TLSv1_2)
    cb = s.get_channel_binding("tls-unique")
    assert scram_login(s, "alice", "alicepw", plus="tls-unique",
                       cbdata=cb).startswith(b"a OK")


def test_scram_plus_wrong_binding_refused(tls_server, pki):
    s = connect_tls(tls_server, pki)
    assert scram_login(s, "alice", "alicepw", plus="tls-server-end-point",
                       cbdata=b"\0" * 32).startswith(b"a NO")
    s = connect_tls(tls_server, pki)
    # tls-unique does not exist on TLS 1.3 (RFC 9266 4).
    assert not scram_login(s, "alice", "alicepw", plus="tls-unique",
                           cbdata=b"\0" * 12).startswith(b"a OK")


def test_scram_downgrade_refused(tls_server, pki):
    # "y": the client could bind but believes the server cannot.  Over TLS
    # this server can, so a man in the middle stripped -PLUS (RFC 5802 6).
    s = connect_tls(tls_server, pki)
    assert scram_login(s, "alice", "alicepw", gs2_flag="y").startswith(b"a NO")
    s = connect_tls(tls_server, pki)
    assert scram_login(s, "alice", "alicepw").startswith(b"a OK")


def test_gsasl_scram_plus_over_starttls(tls_server, pki):
    # GNU SASL (GnuTLS) binds with tls-exporter on TLS 1.3 (RFC 9266).
    need("gsasl", "gsasl")
    for password, ok in (("alicepw", True), ("wrong", False)):
        p = subprocess.run(["gsasl", "--imap", "--connect=localhost:%d" % tls_server.port,
                            "--starttls", "--x509-ca-file=%s" % pki["ca"],
                            "-m", "SCRAM-SHA-256-PLUS", "-a", "alice", "-p", password,
                            "-d", "--verbose"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        out = p.stdout.decode(errors="replace")
        assert (p.returncode == 0) == ok, out
        if ok:
            assert "tls-exporter" in out or "p=tls-exporter" in out or " OK " in out, out


def need(binary, package):
    if shutil.which(binary) is None:
        pytest.fail("%s is not installed (apt-get install %s)" % (binary, package))


# ----------------------------------------------------------------- EXTERNAL

def external(sock, authzid=b""):
    c = Lines(sock)
    c.send(b"a AUTHENTICATE EXTERNAL " + (base64.b64encode(authzid) if authzid else b"="))
    return c.line()


def test_external_with_client_certificate(tls_server, pki):
    s = connect_tls(tls_server, pki, cert="client-alice")
    assert external(s).startswith(b"a OK")
    Lines(s).send(b"b SELECT INBOX")
    s = connect_tls(tls_server, pki, cert="client-alice")
    assert external(s, b"alice").startswith(b"a OK")


def test_external_refusals(tls_server, pki):
    # Someone else's authorization identity.
    s = connect_tls(tls_server, pki, cert="client-alice")
    assert external(s, b"bob").startswith(b"a NO")
    # No certificate, or one from a CA we do not trust.
    s = connect_tls(tls_server, pki)
    assert external(s).startswith(b"a NO")
    s = connect_tls(tls_server, pki, cert="client-alice-other")
    assert external(s).startswith(b"a NO")
    # Without TLS it is not even offered.
    c = tls_server.connect()
    assert "AUTH=EXTERNAL" not in c.capabilities()


def test_external_openssl_s_client(tls_server, pki):
    p = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (HOST, tls_server.tls_port),
                        "-quiet", "-CAfile", str(pki["ca"]), "-cert", str(pki["client-bob"]),
                        "-key", str(pki["client-bob.key"])],
                       input=b"a AUTHENTICATE EXTERNAL =\r\nb SELECT INBOX\r\nc LOGOUT\r\n",
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    out = p.stdout
    assert b"a OK" in out and b"b OK" in out, out


def test_external_by_email(own_server, pki):
    srv = own_server(tls=(pki["server"], pki["server.key"]),
                     extra_args=["--tls-client-ca", str(pki["ca"]),
                                 "--tls-client-user", "email"])
    srv.add_user("alice@example.test", "pw")
    s = connect_tls(srv, pki, cert="client-alice")
    assert external(s).startswith(b"a OK")


# ------------------------------------------------------ Debian's clients

@pytest.mark.parametrize("scheme", ["imap", "imaps"])
def test_neomutt_defaults_over_tls(tls_server, pki, tmp_path, scheme):
    # Debian's neomutt with its defaults (STARTTLS on imap://, TLS
    # required), told only where the test CA is and who logs in.
    need("neomutt", "neomutt")
    need("tmux", "tmux")
    from test_clients import Tmux, home_env
    c = tls_server.login("alice", "alicepw")
    c.append("INBOX", b"From: a@example.test\r\nSubject: over TLS " + scheme.encode() +
             b"\r\n\r\nbody\r\n").ok()
    port = tls_server.port if scheme == "imap" else tls_server.tls_port
    rc = tmp_path / "neomuttrc"
    rc.write_text('set folder="%s://localhost:%d/"\nset spoolfile="+INBOX"\n'
                  'set imap_user="alice"\nset imap_pass="alicepw"\n'
                  'set ssl_ca_certificates_file="%s"\nset header_cache=""\n'
                  'set message_cachedir=""\nset record=""\nset help=no\n'
                  % (scheme, port, pki["ca"]))
    env = home_env(tmp_path)
    env["TERM"] = "xterm-256color"
    env.pop("TMUX", None)
    tmux = Tmux(tmp_path, env)
    try:
        tmux.start("neomutt -n -F %s; sleep 30" % rc)
        tmux.wait_for("over TLS " + scheme)
    finally:
        tmux.close()
    assert 'login user="alice"' in tls_server.log_text()


def test_fetchmail_defaults_over_tls(tls_server, pki, tmp_path):
    need("fetchmail", "fetchmail")
    c = tls_server.login("alice", "alicepw")
    c.append("INBOX", b"From: a@example.test\r\nSubject: fetch me\r\n\r\nbody\r\n").ok()
    rc = tmp_path / "fetchmailrc"
    rc.write_text("poll localhost service %d protocol IMAP user alice password alicepw "
                  "sslcertfile %s sslcertck keep fetchall\n" % (tls_server.port, pki["ca"]))
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=str(tmp_path))
    p = subprocess.run(["fetchmail", "-f", str(rc), "-v", "--nosyslog", "--bsmtp",
                        str(tmp_path / "out.bsmtp")],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out
    assert "STARTTLS" in out, out
    assert b"fetch me" in (tmp_path / "out.bsmtp").read_bytes(), out


def test_mbsync_over_implicit_tls(tls_server, pki, tmp_path):
    need("mbsync", "isync")
    maildir = tmp_path / "Maildir"
    maildir.mkdir()
    rc = tmp_path / "mbsyncrc"
    rc.write_text(
        "IMAPAccount t\nHost localhost\nPort %d\nUser alice\nPass alicepw\n"
        "SSLType IMAPS\nCertificateFile %s\nAuthMechs SCRAM-SHA-256\n\n"
        "IMAPStore r\nAccount t\n\nMaildirStore l\nPath %s/\nInbox %s/INBOX\n\n"
        "Channel c\nFar :r:\nNear :l:\nPatterns INBOX\nCreate Near\nSyncState *\n"
        "Sync Pull\n" % (tls_server.tls_port, pki["ca"], maildir, maildir))
    p = subprocess.run(["mbsync", "-V", "-c", str(rc), "-a"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60, env=dict(os.environ, HOME=str(tmp_path)))
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out
    assert "SCRAM-SHA-256" in out, out
