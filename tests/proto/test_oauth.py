"""OAUTHBEARER (RFC 7628) and XOAUTH2 with curl's --oauth2-bearer, as
Thunderbird and phones use them: tokens checked as JWTs against a
configured key (signed here with python3-jwt), or by an RFC 7662
introspection endpoint (a small HTTP server in the test)."""

import base64
import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest

import jwt  # python3-jwt
from cryptography.hazmat.primitives import serialization  # python3-cryptography
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://id.example.test"
AUDIENCE = "imap.example.test"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("oauth")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = d / "jwt-key.pem"
    pub.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {"key": key, "other": other, "pub": pub, "dir": d}


def token(keys, sub="alice", exp_in=300, key="key", **claims):
    body = {"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + exp_in}
    body.update(claims)
    return jwt.encode(body, keys[key], algorithm="RS256")


@pytest.fixture
def jwt_server(own_server, keys):
    return own_server(extra_args=["--oauth-jwt-key", str(keys["pub"]),
                                  "--oauth-issuer", ISSUER, "--oauth-audience", AUDIENCE])


def curl(srv, user, bearer, mech):
    return subprocess.run(["curl", "-sS", "--max-time", "20", "--oauth2-bearer", bearer,
                           "--login-options", "AUTH=" + mech, "-u", user + ":",
                           "imap://127.0.0.1:%d/" % srv.port, "-X", "STATUS INBOX (MESSAGES)"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)


@pytest.mark.parametrize("mech", ["OAUTHBEARER", "XOAUTH2"])
def test_curl_bearer_token(jwt_server, keys, mech):
    c = jwt_server.connect()
    assert "AUTH=" + mech in c.capabilities()
    p = curl(jwt_server, "alice", token(keys), mech)
    assert p.returncode == 0, p.stderr
    assert b"STATUS INBOX" in p.stdout, p.stdout


@pytest.mark.parametrize("mech", ["OAUTHBEARER", "XOAUTH2"])
def test_bad_tokens_refused(jwt_server, keys, mech):
    for bad in (token(keys, exp_in=-600),            # expired
                token(keys, key="other"),            # signed by someone else
                token(keys, iss="https://evil.test"),
                token(keys, aud="other-service"),
                token(keys, sub="bob"),              # not the user named
                "not.a.token"):
        p = curl(jwt_server, "alice", bad, mech)
        assert p.returncode != 0, (bad, p.stdout)
    assert "auth failed" in jwt_server.log_text()


def test_oauthbearer_failure_dance(jwt_server, keys):
    # RFC 7628 3.2.2: an error comes as a JSON challenge; the client answers
    # 0x01 and only then gets NO.
    c = jwt_server.connect()
    msg = b"n,a=alice,\x01auth=Bearer " + token(keys, exp_in=-600).encode() + b"\x01\x01"
    tag = c.next_tag()
    c.send("%s AUTHENTICATE OAUTHBEARER %s\r\n" % (tag, base64.b64encode(msg).decode()))
    r = c.read_response(timeout=10)
    assert r.is_continuation, r
    status = json.loads(base64.b64decode(r.text))
    assert status["status"] == "invalid_token", status
    c.send(base64.b64encode(b"\x01") + b"\r\n")
    _, tagged = c.read_until_tagged(tag, timeout=10)
    assert tagged.status == "NO", tagged


def test_no_oauth_without_configuration(connect):
    caps = connect().capabilities()
    assert "AUTH=OAUTHBEARER" not in caps and "AUTH=XOAUTH2" not in caps


class Introspection(BaseHTTPRequestHandler):
    active = {}  # token -> username

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        auth = self.headers.get("Authorization", "")
        if auth != "Basic " + base64.b64encode(b"casella:s3cret").decode():
            self.send_response(401)
            self.end_headers()
            return
        tok = form.get("token", [""])[0]
        body = {"active": tok in self.active}
        if body["active"]:
            body.update(username=self.active[tok], exp=int(time.time()) + 300)
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_introspection_endpoint(own_server, tmp_path):
    httpd = HTTPServer(("127.0.0.1", 0), Introspection)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        secret = tmp_path / "client-secret"
        secret.write_text("s3cret\n")
        srv = own_server(extra_args=[
            "--oauth-introspect", "http://127.0.0.1:%d/introspect" % httpd.server_port,
            "--oauth-client-id", "casella", "--oauth-client-secret-file", str(secret)])
        Introspection.active = {"opaque-token-1": "alice"}
        p = curl(srv, "alice", "opaque-token-1", "OAUTHBEARER")
        assert p.returncode == 0, p.stderr
        p = curl(srv, "alice", "revoked-token", "OAUTHBEARER")
        assert p.returncode != 0
        p = curl(srv, "bob", "opaque-token-1", "XOAUTH2")  # alice's token
        assert p.returncode != 0
    finally:
        httpd.shutdown()
