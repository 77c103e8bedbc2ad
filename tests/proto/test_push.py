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
