#!/usr/bin/python3
"""bench/mailbox-bench.py -- FETCH BODYSTRUCTURE 1:* and SEARCH on a large
mailbox, Casella beside Debian's Dovecot on the same generated messages.

Usage: bench/mailbox-bench.py [--messages N] [--repeat R] [--only casella]

Both servers get the same N deterministic messages (plain, alternative,
mixed with a base64 attachment, forwarded message/rfc822; 1-6 KB, words
from a fixed vocabulary, one message holding the rare word "zanzibar"),
appended with MULTIAPPEND in batches over one connection.  Then each
query runs R times on a fresh SELECT and the median wall time is printed
with the ratio Dovecot/Casella (above 1: Casella is faster).  Both servers
run on 127.0.0.1 and share the machine's cores with this client.
"""

import argparse
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet "
         "kilo lima mike november oscar papa quebec romeo sierra tango "
         "uniform victor whiskey xray yankee zulu meeting report budget "
         "invoice holiday project schedule review draft final update").split()


def message(i, rng):
    words = lambda n: " ".join(rng.choice(WORDS) for _ in range(n))
    subject = "%s %s #%d" % (rng.choice(WORDS), rng.choice(WORDS), i)
    body = "\r\n".join(words(12) for _ in range(rng.randint(8, 60)))
    if i == 4242:
        body += "\r\nthe zanzibar report is attached\r\n"
    head = ("From: User %d <user%d@example.com>\r\nTo: bob@example.org\r\n"
            "Subject: %s\r\nDate: Mon, 04 Jan 2021 10:%02d:00 +0000\r\n"
            "Message-ID: <m%d@bench.example>\r\nMIME-Version: 1.0\r\n"
            % (i % 97, i % 97, subject, i % 60, i))
    kind = i % 4
    if kind == 0:
        return (head + "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
                + body + "\r\n").encode()
    if kind == 1:
        return (head + 'Content-Type: multipart/alternative; boundary="b%d"\r\n'
                "\r\n--b%d\r\nContent-Type: text/plain\r\n\r\n%s\r\n"
                "--b%d\r\nContent-Type: text/html\r\n\r\n<p>%s</p>\r\n"
                "--b%d--\r\n" % (i, i, body, i, body, i)).encode()
    if kind == 2:
        blob = bytes(rng.getrandbits(8) for _ in range(rng.randint(300, 1500)))
        import base64
        att = base64.encodebytes(blob).decode().replace("\n", "\r\n")
        return (head + 'Content-Type: multipart/mixed; boundary="m%d"\r\n\r\n'
                "--m%d\r\nContent-Type: text/plain\r\n\r\n%s\r\n--m%d\r\n"
                "Content-Type: application/octet-stream; name=a.bin\r\n"
                "Content-Transfer-Encoding: base64\r\n"
                "Content-Disposition: attachment; filename=a.bin\r\n\r\n%s"
                "--m%d--\r\n" % (i, i, body, i, att, i)).encode()
    inner = ("From: x@example.net\r\nSubject: fwd %d\r\n\r\n%s\r\n"
             % (i, body))
    return (head + 'Content-Type: multipart/mixed; boundary="f%d"\r\n\r\n'
            "--f%d\r\nContent-Type: text/plain\r\n\r\nsee below\r\n--f%d\r\n"
            "Content-Type: message/rfc822\r\n\r\n%s\r\n--f%d--\r\n"
            % (i, i, i, inner, i)).encode()


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""
        self.tag = 0
        self.received = 0  # bytes read from the server
        self.line()

    def _recv(self):
        data = self.sock.recv(1 << 20)
        self.received += len(data)
        return data

    def line(self):
        while b"\r\n" not in self.buf:
            data = self._recv()
            if not data:
                raise EOFError("server closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_bytes(self, n):
        while len(self.buf) < n:
            self.buf += self._recv()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def command(self, text, literals=()):
        """Sends a command (LITERAL+ for literals) and returns the untagged
        line count and the tagged line."""
        self.tag += 1
        tag = b"b%d" % self.tag
        out = [tag + b" " + text]
        for lit in literals:
            out.append(b" {%d+}\r\n" % len(lit) + lit)
        self.sock.sendall(b"".join(out) + b"\r\n")
        untagged = 0
        while True:
            line = self.line()
            m = re.search(rb"\{(\d+)\}$", line)
            while m:
                self.read_bytes(int(m.group(1)))
                line = self.line()
                m = re.search(rb"\{(\d+)\}$", line)
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(line.decode(errors="replace"))
                return untagged, line
            untagged += 1


def fill(port, n, batch):
    c = Conn(port)
    c.command(b"LOGIN alice alicepw")
    rng = random.Random(1)
    i = 0
    while i < n:
        msgs = [message(j, rng) for j in range(i, min(n, i + batch))]
        parts = b"APPEND INBOX"
        lits = []
        # MULTIAPPEND: each message is its own literal argument.
        c.tag += 1
        tag = b"b%d" % c.tag
        data = [tag + b" APPEND INBOX"]
        for m in msgs:
            data.append(b" {%d+}\r\n" % len(m) + m)
        c.sock.sendall(b"".join(data) + b"\r\n")
        while True:
            line = c.line()
            if line.startswith(tag + b" "):
                if b" OK" not in line[:len(tag) + 4]:
                    raise RuntimeError(line.decode(errors="replace"))
                break
        i += len(msgs)
    c.command(b"LOGOUT")


QUERIES = [
    ("FETCH 1:* BODYSTRUCTURE", b"FETCH 1:* (BODYSTRUCTURE)"),
    ("FETCH 1:* ENVELOPE", b"FETCH 1:* (ENVELOPE)"),
    ("FETCH 1:* FLAGS", b"FETCH 1:* (FLAGS)"),
    ("SEARCH BODY zanzibar (1 hit)", b"SEARCH BODY zanzibar"),
    ("SEARCH TEXT zanzibar (1 hit)", b"SEARCH TEXT zanzibar"),
    ("SEARCH BODY meeting (most)", b"SEARCH BODY meeting"),
    ("SEARCH SUBJECT \"#4242\"", b"SEARCH SUBJECT \"#4242\""),
    ("SEARCH UNSEEN SMALLER 2000", b"SEARCH UNSEEN SMALLER 2000"),
]


def measure(port, repeat):
    results = {}
    for name, cmd in QUERIES:
        times = []
        count = None
        for _ in range(repeat):
            c = Conn(port)
            c.command(b"LOGIN alice alicepw")
            c.command(b"SELECT INBOX")
            t = time.perf_counter()
            n, _ = c.command(cmd)
            times.append(time.perf_counter() - t)
            c.command(b"LOGOUT")
            count = n
        results[name] = (statistics.median(times), count)
    return results


def wait_indexed(data_dir):
    import sqlite3
    db = "file:%s/casella.db?mode=ro" % data_dir
    while True:
        con = sqlite3.connect(db, uri=True, timeout=30)
        pending = con.execute("SELECT count(*) FROM blob_facts "
                              "WHERE indexed = 0").fetchone()[0]
        con.close()
        if pending == 0:
            return
        time.sleep(0.5)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server on %d did not start" % port)


def scripts_dir():
    scripts = os.path.join(TOP, "..", "shared", "scripts")
    if not os.path.exists(os.path.join(scripts, "start-dovecot")):
        scripts = "/work/shared/scripts"
    return scripts


def start_servers(tmp, only=None, casellad_args=()):
    """Builds casellad and starts it and/or Dovecot with user alice.
    Returns ({name: port}, casellad process or None)."""
    subprocess.run(["make", "-C", TOP, "build/casellad", "build/casella"],
                   check=True, stdout=subprocess.DEVNULL)
    servers = {}
    proc = None
    if only != "dovecot":
        data = os.path.join(tmp, "casella")
        subprocess.run([os.path.join(TOP, "build/casella"), "--data",
                        data, "user", "add", "alice"],
                       input=b"alicepw\n", check=True)
        port = free_port()
        proc = subprocess.Popen([os.path.join(TOP, "build/casellad"),
                                 "--data", data, "--listen",
                                 "127.0.0.1:%d" % port] + list(casellad_args),
                                stderr=subprocess.DEVNULL)
        wait_port(port)
        servers["casella"] = port
    if only != "casella":
        env = dict(os.environ, DOVECOT_SEPARATOR="/")
        out = subprocess.run([os.path.join(scripts_dir(), "start-dovecot"),
                              os.path.join(tmp, "dovecot")], env=env,
                             check=True, stdout=subprocess.PIPE).stdout
        port = int(re.search(rb"IMAP_PORT=['\"]?(\d+)", out).group(1))
        servers["dovecot"] = port
    return servers, proc


def stop_servers(tmp, servers, proc):
    if proc is not None:
        proc.terminate()
        proc.wait()
    if "dovecot" in servers:
        subprocess.run([os.path.join(scripts_dir(), "stop-dovecot"),
                        os.path.join(tmp, "dovecot")])
    shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--only", choices=("casella", "dovecot"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="casella-mbench.")
    os.chmod(tmp, 0o755)
    servers, proc = {}, None
    try:
        servers, proc = start_servers(tmp, args.only)
        results = {}
        for name, port in servers.items():
            t = time.perf_counter()
            fill(port, args.messages, args.batch)
            fill_s = time.perf_counter() - t
            print("%s: appended %d messages in %.1f s (%.0f/s)"
                  % (name, args.messages, fill_s, args.messages / fill_s),
                  flush=True)
            if name == "casella":
                # The full-text index is built in the background once
                # deliveries pause; searches are correct before that but
                # read the bodies.  Measure once it is done, and say how
                # long it took.
                t = time.perf_counter()
                wait_indexed(os.path.join(tmp, "casella"))
                print("casella: full-text index complete %.1f s after the "
                      "last append" % (time.perf_counter() - t), flush=True)
            results[name] = measure(port, args.repeat)
        print()
        print("%d messages, median of %d runs, wall time in ms"
              % (args.messages, args.repeat))
        print("%-32s %12s %12s %10s %s" % ("query", "casella", "dovecot",
                                          "dc/cas", "responses"))
        for name, _ in QUERIES:
            row = [name]
            cas = results.get("casella", {}).get(name)
            dc = results.get("dovecot", {}).get(name)
            fmt = lambda r: "%.1f" % (r[0] * 1000) if r else "-"
            ratio = "%.1fx" % (dc[0] / cas[0]) if cas and dc else "-"
            counts = "/".join(str(r[1]) for r in (cas, dc) if r)
            print("%-32s %12s %12s %10s %s" % (name, fmt(cas), fmt(dc),
                                              ratio, counts))
    finally:
        stop_servers(tmp, servers, proc)


if __name__ == "__main__":
    main()
