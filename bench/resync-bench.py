#!/usr/bin/python3
"""bench/resync-bench.py -- a phone waking up: resynchronising a large
folder after a few changes, with QRESYNC (RFC 7162) against a full
flag fetch, Casella beside Debian's Dovecot in the same run.

Usage: bench/resync-bench.py [--messages N] [--changes C] [--repeat R]
                             [--only casella|dovecot]

Both servers get the same N messages (bench/mailbox-bench.py's
generator).  A client notes UIDVALIDITY and HIGHESTMODSEQ; another then
makes C changes: 90% flag changes on random messages, 10% expunges.  Then,
on a connection already logged in, R times each, median printed:
  qresync: ENABLE QRESYNC + SELECT INBOX (QRESYNC (uidvalidity modseq))
  full:    SELECT INBOX + UID FETCH 1:* (UID FLAGS)
with the bytes the server sent for it and the wall time.  Servers and
client share the machine's cores.
"""

import argparse
import importlib.util
import os
import random
import statistics
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "mailbox_bench", os.path.join(HERE, "mailbox-bench.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)


def code_value(line, name):
    """The number after [NAME in an untagged OK line, or None."""
    key = b"[" + name + b" "
    if key not in line:
        return None
    return int(line.split(key, 1)[1].split(b"]", 1)[0])


def select_point(port):
    """(uidvalidity, highestmodseq, messages) as a client last saw them."""
    c = mb.Conn(port)
    c.command(b"LOGIN alice alicepw")
    c.command(b"ENABLE CONDSTORE")
    c.tag += 1
    tag = b"b%d" % c.tag
    c.sock.sendall(tag + b" SELECT INBOX\r\n")
    v = m = n = None
    while True:
        line = c.line()
        if line.startswith(tag):
            break
        v = code_value(line, b"UIDVALIDITY") or v
        m = code_value(line, b"HIGHESTMODSEQ") or m
        if line.endswith(b" EXISTS"):
            n = int(line.split()[1])
    c.command(b"LOGOUT")
    return v, m, n


def change(port, count, messages, seed):
    """count changes by another client: flags, and every tenth an
    expunge."""
    rng = random.Random(seed)
    c = mb.Conn(port)
    c.command(b"LOGIN alice alicepw")
    c.command(b"SELECT INBOX")
    flags = [b"\\Seen", b"\\Flagged", b"\\Answered", b"$Label1"]
    for i in range(count):
        uid = rng.randint(1, messages)
        if i % 10 == 9:
            c.command(b"UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid)
            c.command(b"UID EXPUNGE %d" % uid)
        else:
            c.command(b"UID STORE %d +FLAGS.SILENT (%s)"
                      % (uid, rng.choice(flags)))
    c.command(b"LOGOUT")


def timed(port, commands):
    """Wall time and bytes received for commands on a fresh logged-in
    connection (login not counted)."""
    c = mb.Conn(port)
    c.command(b"LOGIN alice alicepw")
    before = c.received
    t = time.perf_counter()
    for cmd in commands:
        c.command(cmd)
    elapsed = time.perf_counter() - t
    got = c.received - before
    c.command(b"LOGOUT")
    return elapsed, got


def measure(port, point, repeat):
    v, m, _ = point
    ways = {
        "qresync": [b"ENABLE QRESYNC",
                    b"SELECT INBOX (QRESYNC (%d %d))" % (v, m)],
        "full": [b"SELECT INBOX", b"UID FETCH 1:* (UID FLAGS)"],
    }
    out = {}
    for name, cmds in ways.items():
        runs = [timed(port, cmds) for _ in range(repeat)]
        out[name] = (statistics.median(r[0] for r in runs),
                     statistics.median(r[1] for r in runs))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=50000)
    ap.add_argument("--changes", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--only", choices=("casella", "dovecot"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="casella-resync.")
    os.chmod(tmp, 0o755)
    servers, proc = {}, None
    try:
        servers, proc = mb.start_servers(tmp, args.only)
        results = {}
        for name, port in servers.items():
            mb.fill(port, args.messages, args.batch)
            point = select_point(port)
            change(port, args.changes, args.messages, 1)
            results[name] = measure(port, point, args.repeat)
            print("%s: filled, point %s, measured" % (name, point[:2]),
                  flush=True)
        print()
        print("%d messages, %d changes, median of %d runs"
              % (args.messages, args.changes, args.repeat))
        print("%-10s %-8s %12s %12s" % ("way", "server", "bytes", "ms"))
        for way in ("qresync", "full"):
            for name in servers:
                t, b = results[name][way]
                print("%-10s %-8s %12d %12.1f" % (way, name, b, t * 1000))
        if len(results) == 2:
            for way in ("qresync", "full"):
                cas, dc = results["casella"][way], results["dovecot"][way]
                print("%s: dovecot/casella bytes %.2fx, time %.2fx"
                      % (way, dc[1] / cas[1], dc[0] / cas[0]))
    finally:
        mb.stop_servers(tmp, servers, proc)


if __name__ == "__main__":
    main()
