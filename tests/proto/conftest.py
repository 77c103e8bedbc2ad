"""Fixtures for the protocol tests: a casellad for the whole session, fresh
users per test, raw and imaplib connections, and private servers for
restart / kill tests.

CASELLA_BUILD names the directory with casellad and casella (default
build/asan).  With an ASan/UBSan build, every server must exit 0 on SIGTERM
and print no sanitizer report; a server that died during a test fails that
test and is restarted so the rest of the session can go on.
"""

import imaplib
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from rawimap import Conn

REPO = Path(__file__).resolve().parents[2]
_build = Path(os.environ.get("CASELLA_BUILD", "build/asan"))
BUILD = _build if _build.is_absolute() else REPO / _build
CASELLAD = BUILD / "casellad"
CASELLA = BUILD / "casella"
HOST = "127.0.0.1"


def _shared_scripts():
    """The workplace's scripts that start real peers (KDC, Dovecot) and
    hold reference clients (otp.py, sasl-login-example.py)."""
    for d in (REPO.parent / "shared" / "scripts", Path("/work/shared/scripts")):
        if (d / "otp.py").is_file():
            return d
    return None


SHARED_SCRIPTS = _shared_scripts()

SANITIZER_RE = re.compile(r"ERROR: \w*Sanitizer|runtime error:|SUMMARY: \w*Sanitizer")


def sanitizer_env(extra_asan=""):
    env = dict(os.environ)
    asan = "detect_leaks=1:abort_on_error=0"
    if extra_asan:
        asan += ":" + extra_asan
    env["ASAN_OPTIONS"] = asan
    env["UBSAN_OPTIONS"] = "print_stacktrace=1"
    env["LSAN_OPTIONS"] = env.get("LSAN_OPTIONS", "")
    return env


def sanitizer_lines(text):
    return [l for l in text.splitlines() if SANITIZER_RE.search(l)]


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class CliError(AssertionError):
    pass


class Server:
    """One casellad process on a data directory."""

    _names = itertools.count(1)

    def __init__(self, data_dir, log_dir, extra_asan=""):
        self.data_dir = Path(data_dir)
        self.log_dir = Path(log_dir)
        self.extra_asan = extra_asan
        self.extra_args = []  # more casellad flags, e.g. timeouts
        self.tls = None  # (cert, key): also serve implicit TLS on tls_port
        self.extra_env = {}  # more environment for casellad
        self.prefix = []  # run casellad through this (e.g. runuser)
        self.proc = None
        self.port = None
        self.tls_port = None
        self.log_path = None
        self.logs = []  # every stderr log this object produced
        self._users = itertools.count(1)

    # --- process

    def start(self, timeout=10.0):
        last_error = None
        for _attempt in range(3):
            self.port = free_port()
            tls_args = []
            if self.tls is not None:
                self.tls_port = free_port()
                tls_args = ["--tls-listen", "%s:%d" % (HOST, self.tls_port),
                            "--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])]
            self.log_path = self.log_dir / ("casellad-%d.log" % next(Server._names))
            self.logs.append(self.log_path)
            env = sanitizer_env(self.extra_asan)
            env.update(self.extra_env)
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    self.prefix + [str(CASELLAD), "--data", str(self.data_dir),
                     "--listen", "%s:%d" % (HOST, self.port)] + tls_args + self.extra_args,
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    socket.create_connection((HOST, self.port), timeout=1).close()
                    return self
                except OSError:
                    time.sleep(0.05)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
                last_error = "casellad did not accept connections within %.0fs" % timeout
                break
            last_error = "casellad exited with status %s at startup" % self.proc.returncode
            if "in use" not in self.log_text():
                break
        raise AssertionError("%s\n--- stderr:\n%s" % (last_error, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n=60):
        return "\n".join(self.log_text().splitlines()[-n:])

    def stop(self, timeout=10.0):
        """SIGTERM; returns a list of problems (empty if the exit was clean)."""
        problems = []
        if self.proc is None:
            return problems
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                problems.append("casellad did not exit within %.0fs of SIGTERM" % timeout)
                self.proc.kill()
                self.proc.wait()
        if self.proc.returncode != 0 and not problems:
            problems.append("casellad exited with status %s" % self.proc.returncode)
        san = sanitizer_lines(self.log_text())
        if san:
            problems.append("sanitizer report in casellad stderr: %s" % san[:5])
        self.proc = None
        return problems

    def stop_checked(self, timeout=10.0):
        problems = self.stop(timeout)
        assert not problems, "%s\n--- stderr (%s):\n%s" % (
            "; ".join(problems), self.log_path, self.log_tail())

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    # --- command-line tool

    def cli(self, *args, input=None, check=True, timeout=60):
        if isinstance(input, str):
            input = input.encode()
        p = subprocess.run([str(CASELLA), "--data", str(self.data_dir)] + list(args),
                           input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=sanitizer_env("detect_leaks=1"), timeout=timeout)
        err = p.stderr.decode(errors="replace")
        san = sanitizer_lines(err)
        if san:
            raise CliError("sanitizer report from casella %s:\n%s" % (" ".join(args), err))
        if check and p.returncode != 0:
            raise CliError("casella %s exited %d\nstdout: %s\nstderr: %s" % (
                " ".join(args), p.returncode, p.stdout.decode(errors="replace"), err))
        return p

    def add_user(self, name, password):
        self.cli("user", "add", name, input=password + "\n")
        return name, password

    def new_user(self):
        """A fresh user nobody else uses: (name, password)."""
        name = "t%dx%d" % (os.getpid() % 100000, next(self._users))
        return self.add_user(name, name + "-pw")

    def deliver(self, user, message, mailbox=None):
        args = ["deliver", user]
        if mailbox is not None:
            args += ["--mailbox", mailbox]
        return self.cli(*args, input=message)

    # --- connections

    def connect(self, timeout=10.0, read_greeting=True):
        return Conn(HOST, self.port, timeout=timeout, read_greeting=read_greeting)

    def login(self, user, password, rev2=False):
        c = self.connect()
        c.login(user, password).ok()
        if rev2:
            r = c.command("ENABLE IMAP4rev2").ok()
            assert any("IMAP4REV2" in [str(a).upper() for a in u.args()]
                       for u in r.find("ENABLED")), r.describe()
        return c

    def imaplib(self, user, password):
        m = imaplib.IMAP4(HOST, self.port, timeout=10)
        m.login(user, password)
        return m


# ------------------------------------------------------------------ fixtures

def _require_binaries():
    missing = [str(p) for p in (CASELLAD, CASELLA) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail("server binaries not built: %s (run `make %s %s`)" % (
            ", ".join(missing), CASELLAD.relative_to(REPO) if CASELLAD.is_relative_to(REPO) else CASELLAD,
            CASELLA.relative_to(REPO) if CASELLA.is_relative_to(REPO) else CASELLA),
            pytrace=False)


class SessionServer:
    """The shared server plus a record of every crash seen."""

    def __init__(self, server):
        self.server = server
        self.crashes = []


@pytest.fixture(scope="session")
def _session_server(tmp_path_factory):
    _require_binaries()
    base = tmp_path_factory.mktemp("casella")
    data = base / "data"
    data.mkdir()
    srv = Server(data, base)
    srv.add_user("alice", "alicepw")
    srv.add_user("bob", "bobpw")
    srv.start()
    holder = SessionServer(srv)
    yield holder
    problems = srv.stop()
    if problems:
        _SESSION_PROBLEMS.append("shared casellad at shutdown: %s\n--- stderr (%s):\n%s" % (
            "; ".join(problems), srv.log_path, srv.log_tail()))
    for crash in holder.crashes:
        _SESSION_PROBLEMS.append("shared casellad: " + crash)


# Problems found while tearing down the session server.  Raising from a
# session fixture's teardown can abort pytest itself (e.g. under -x), so
# they are reported here and turn the exit status into a failure.
_SESSION_PROBLEMS = []


@pytest.hookimpl(hookwrapper=True)
def pytest_sessionfinish(session, exitstatus):
    yield
    if _SESSION_PROBLEMS:
        import sys
        sys.stderr.write("\n" + "=" * 30 + " casellad problems " + "=" * 30 + "\n")
        for p in _SESSION_PROBLEMS:
            sys.stderr.write(p + "\n")
        sys.stderr.write("1 failed (casellad shutdown/sanitizer check)\n")
        if session.exitstatus == 0:
            session.exitstatus = 1


@pytest.fixture
def server(_session_server):
    """The shared casellad.  If it dies during a test, that test errors with
    its stderr and the server is restarted on the same data directory."""
    srv = _session_server.server
    if not srv.alive():
        srv.start()
    yield srv
    if not srv.alive():
        status = srv.proc.returncode if srv.proc else None
        log, tail = srv.log_path, srv.log_tail()
        msg = "casellad died during this test (status %s)" % status
        _session_server.crashes.append(msg + " [%s]" % log)
        srv.start()
        pytest.fail("%s\n--- stderr (%s):\n%s" % (msg, log, tail), pytrace=False)


@pytest.fixture
def user(server):
    """A fresh (name, password) with only an empty INBOX."""
    return server.new_user()


@pytest.fixture
def connections():
    """Closes every Conn registered in it at teardown."""
    opened = []
    yield opened
    for c in opened:
        c.close()


@pytest.fixture
def login(server, user, connections):
    """login(rev2=False, user=None) -> a logged-in raw Conn (the test's
    fresh user unless another (name, password) is given)."""

    def _login(rev2=False, as_user=None):
        name, pw = as_user or user
        c = server.login(name, pw, rev2=rev2)
        connections.append(c)
        return c

    return _login


@pytest.fixture
def c(login):
    """A logged-in raw connection (IMAP4rev1 mode) of the fresh user."""
    return login()


@pytest.fixture
def connect(server, connections):
    """connect() -> a raw Conn that has read the greeting, not logged in."""

    def _connect(**kw):
        conn = server.connect(**kw)
        connections.append(conn)
        return conn

    return _connect


@pytest.fixture
def imap(server, user):
    """A logged-in imaplib.IMAP4 of the fresh user."""
    m = server.imaplib(*user)
    yield m
    try:
        m.logout()
    except Exception:
        pass


@pytest.fixture
def own_server(tmp_path):
    """own_server(extra_asan="") -> a started Server on a private data dir
    (with users alice/alicepw and bob/bobpw).  Stopped at teardown, which
    also checks its exit status and sanitizer output unless the test killed
    it with kill9()."""
    _require_binaries()
    started = []

    def _start(extra_asan="", tls=None, extra_args=()):
        base = Path(tempfile.mkdtemp(dir=tmp_path))
        data = base / "data"
        data.mkdir()
        srv = Server(data, base, extra_asan=extra_asan)
        srv.tls = tls
        srv.extra_args = list(extra_args)
        srv.add_user("alice", "alicepw")
        srv.add_user("bob", "bobpw")
        srv.start()
        started.append(srv)
        return srv

    yield _start
    problems = []
    for srv in started:
        p = srv.stop()
        if p:
            problems.append("%s\n--- stderr (%s):\n%s" % ("; ".join(p), srv.log_path, srv.log_tail()))
        # sanitizer reports of earlier runs of the same Server (e.g. before a restart)
        for log in srv.logs[:-1]:
            try:
                san = sanitizer_lines(Path(log).read_text(errors="replace"))
            except OSError:
                san = []
            if san:
                problems.append("sanitizer report in %s: %s" % (log, san[:5]))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def which(name):
    return shutil.which(name)


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """Test certificates made with the openssl command: a CA, a server
    certificate for localhost (and a second one for other.test), and
    client certificates for EXTERNAL: alice and bob from the CA, alice
    from an unknown CA.  Returns a dict of paths."""
    d = tmp_path_factory.mktemp("pki")

    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, cwd=d,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ca(name):
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "30", "-subj", "/CN=%s" % name,
            "-keyout", "%s.key" % name, "-out", "%s.pem" % name)

    def leaf(name, ca_name, subj, ext):
        (d / ("%s.ext" % name)).write_text(ext)
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", subj, "-keyout", "%s.key" % name, "-out", "%s.csr" % name)
        run("x509", "-req", "-in", "%s.csr" % name, "-CA", "%s.pem" % ca_name,
            "-CAkey", "%s.key" % ca_name, "-CAcreateserial", "-days", "30",
            "-extfile", "%s.ext" % name, "-out", "%s.pem" % name)

    ca("ca")
    ca("otherca")
    leaf("server", "ca", "/CN=localhost",
         "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    leaf("server2", "ca", "/CN=other.test",
         "subjectAltName=DNS:other.test\nextendedKeyUsage=serverAuth\n")
    for user in ("alice", "bob"):
        leaf("client-" + user, "ca", "/CN=%s/emailAddress=%s@example.test" % (user, user),
             "extendedKeyUsage=clientAuth\n")
    leaf("client-alice-other", "otherca", "/CN=alice", "extendedKeyUsage=clientAuth\n")
    os.chmod(d, 0o755)
    return {p.stem: p for p in d.glob("*.pem")} | {p.name: p for p in d.glob("*.key")}
