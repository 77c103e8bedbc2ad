"""GSSAPI (RFC 4752) over MIT Kerberos 5 against a throwaway KDC
(../shared/scripts/start-kdc), with three real clients: curl
(--login-options AUTH=GSSAPI), GNU SASL's gsasl and Python's gssapi
module (gssapi-login-example.py, which also does the security-layer
negotiation).  The keytab comes from KRB5_KTNAME, the service principal is
imap/localhost; the auth process reads the keytab before it drops root."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import SHARED_SCRIPTS


@pytest.fixture(scope="module")
def kdc():
    if SHARED_SCRIPTS is None:
        pytest.fail("../shared/scripts/start-kdc not found")
    # Under /tmp, not pytest's root-only directory: the client tools read
    # its krb5.conf as they are.
    d = Path(tempfile.mkdtemp(prefix="casella-kdc-", dir="/tmp"))
    p = subprocess.run([str(SHARED_SCRIPTS / "start-kdc"), str(d)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    env = {}
    for line in p.stdout.decode().splitlines():
        if line.startswith("export "):
            k, v = line[len("export "):].split("=", 1)
            env[k] = v.strip("'")
    kinit = subprocess.run(["kinit", env["KDC_USER"]], input=(env["KDC_USER_PASS"] + "\n").encode(),
                           env=dict(os.environ, **env), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
    assert kinit.returncode == 0, kinit.stderr
    yield env
    subprocess.run([str(SHARED_SCRIPTS / "stop-kdc"), str(d)], timeout=60)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def krb_server(own_server, kdc):
    def start(extra=()):
        srv = own_server(extra_args=["--gssapi-host", "localhost"] + list(extra))
        srv.stop_checked()
        # The server's own environment: MIT's variables, and a replay cache
        # of its own (start-kdc's KRB5RCACHETYPE=none is for clients).
        srv.extra_env = {"KRB5_CONFIG": kdc["KRB5_CONFIG"],
                         "KRB5_KTNAME": kdc["KRB5_KTNAME"]}
        srv.start()
        return srv
    return start


def client_env(kdc):
    return dict(os.environ, KRB5_CONFIG=kdc["KRB5_CONFIG"], KRB5CCNAME=kdc["KRB5CCNAME"])


def test_gssapi_advertised(krb_server):
    srv = krb_server()
    assert "AUTH=GSSAPI" in srv.connect().capabilities()


def test_curl_gssapi(krb_server, kdc):
    srv = krb_server()
    p = subprocess.run(["curl", "-sS", "--max-time", "20", "--login-options", "AUTH=GSSAPI",
                        "-u", ":", "imap://localhost:%d/" % srv.port,
                        "-X", "STATUS INBOX (MESSAGES)"],
                       env=client_env(kdc), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    assert b"STATUS INBOX" in p.stdout
    assert 'auth ok peer=127.0.0.1 user="alice" mech=GSSAPI' in srv.log_text()


def test_gsasl_gssapi(krb_server, kdc):
    srv = krb_server()
    p = subprocess.run(["gsasl", "--imap", "--connect=localhost:%d" % srv.port,
                        "--no-starttls", "-m", "GSSAPI", "--service=imap",
                        "--hostname=localhost", "-d"],
                       env=client_env(kdc), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out
    assert 'user="alice" mech=GSSAPI' in srv.log_text(), out


def test_python_gssapi_with_security_layer(krb_server, kdc):
    srv = krb_server()
    script = SHARED_SCRIPTS / "gssapi-login-example.py"
    p = subprocess.run(["/usr/bin/python3", str(script), "localhost", str(srv.port)],
                       env=client_env(kdc), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30)
    assert p.returncode == 0, p.stdout.decode(errors="replace")
    # Authorization as somebody else is refused.
    p = subprocess.run(["/usr/bin/python3", str(script), "localhost", str(srv.port), "bob"],
                       env=client_env(kdc), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30)
    assert p.returncode != 0, p.stdout.decode(errors="replace")


def test_gssapi_unknown_store_user_refused(krb_server, kdc):
    # The principal is valid but names no Casella user.
    srv = krb_server()
    srv.cli("user", "del", "alice")
    p = subprocess.run(["curl", "-sS", "--max-time", "20", "--login-options", "AUTH=GSSAPI",
                        "-u", ":", "imap://localhost:%d/" % srv.port],
                       env=client_env(kdc), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    assert p.returncode != 0


def test_no_gssapi_without_keytab(connect):
    assert "AUTH=GSSAPI" not in connect().capabilities()
