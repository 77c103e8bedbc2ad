"""Push: one server per data directory (so no second server takes the
change socket away from the first), IDLE keepalives, and changes from
other processes reaching IDLE sessions."""

import subprocess
import time

import mailgen
from conftest import CASELLAD, HOST, free_port, sanitizer_env
from helpers import idle_done, idle_start, idle_wait


def test_second_server_on_same_data_dir_refuses_to_start(own_server):
    srv = own_server()
    port = free_port()
    p = subprocess.run([str(CASELLAD), "--data", str(srv.data_dir),
                        "--listen", "%s:%d" % (HOST, port)],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       env=sanitizer_env(), timeout=20)
    err = p.stderr.decode(errors="replace")
    assert p.returncode != 0, err
    assert "another casellad (pid %d)" % srv.pid in err, err
    assert "one server per data directory" in err, err
    # The first server still owns the change socket: a delivery from
    # another process reaches its IDLE session.
    c = srv.login("alice", "alicepw")
    c.select().ok()
    tag, _ = idle_start(c)
    time.sleep(0.1)
    srv.deliver("alice", mailgen.plain(subject="after the refused start"))
    seen = idle_wait(c, lambda s: any(u.kind == "EXISTS" for u in s), 3.0)
    assert any(u.kind == "EXISTS" and u.number == 1 for u in seen), seen
    idle_done(c, tag)


def test_server_starts_again_after_kill9(own_server):
    srv = own_server()
    srv.kill9()
    srv.start()
    c = srv.login("alice", "alicepw")
    c.select().ok()


def test_idle_keepalive_at_the_configured_interval(own_server):
    srv = own_server(extra_args=["--idle-keepalive", "1"])
    c = srv.login("alice", "alicepw")
    c.select().ok()
    tag, _ = idle_start(c)
    t0 = time.monotonic()
    seen = idle_wait(c, lambda s: len(s) >= 2, 6.0)
    elapsed = time.monotonic() - t0
    texts = [u.raw.decode() if isinstance(u.raw, bytes) else str(u.raw) for u in seen]
    assert len(seen) == 2 and all("OK Still here" in t for t in texts), texts
    # Ticks are a second apart: two keepalives of a 1 s interval take 1-4 s.
    assert 1.0 <= elapsed < 4.5, elapsed
    idle_done(c, tag)
    # Out of IDLE, none: NOOP answers without a keepalive after 2.5 s.
    time.sleep(2.5)
    r = c.command("NOOP").ok()
    assert not [u for u in r.untagged if "Still here" in str(u.raw)], r.describe()


def test_idle_keepalive_off(own_server):
    srv = own_server(extra_args=["--idle-keepalive", "0"])
    c = srv.login("alice", "alicepw")
    c.select().ok()
    tag, _ = idle_start(c)
    assert idle_wait(c, lambda s: len(s) >= 1, 2.5) == []
    idle_done(c, tag)


def test_idle_sees_copy_and_move_from_another_session(own_server):
    srv = own_server()
    a = srv.login("alice", "alicepw")
    a.command("CREATE Work").ok()
    for i in range(3):
        a.append("INBOX", mailgen.plain(subject="m%d" % i)).ok()
    b = srv.login("alice", "alicepw")
    b.select("Work").ok()
    tag, _ = idle_start(b)
    time.sleep(0.1)
    a.select().ok()
    a.command("COPY 1 Work").ok()
    seen = idle_wait(b, lambda s: any(u.kind == "EXISTS" and u.number == 1 for u in s), 2.0)
    assert any(u.kind == "EXISTS" and u.number == 1 for u in seen), seen
    a.command("MOVE 2:3 Work").ok()
    seen = idle_wait(b, lambda s: any(u.kind == "EXISTS" and u.number == 3 for u in s), 2.0)
    assert any(u.kind == "EXISTS" and u.number == 3 for u in seen), seen
    idle_done(b, tag)


def test_second_server_on_the_same_port_refuses_to_start(own_server, tmp_path):
    """SO_REUSEPORT would let a server on another data directory bind the
    same port and take half the connections; it must fail instead."""
    srv = own_server()
    other = tmp_path / "other-data"
    p = subprocess.run([str(CASELLAD), "--data", str(other),
                        "--listen", "%s:%d" % (HOST, srv.port)],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       env=sanitizer_env(), timeout=20)
    err = p.stderr.decode(errors="replace")
    assert p.returncode != 0 and "Address already in use" in err, err
    srv.login("alice", "alicepw").command("NOOP").ok()
