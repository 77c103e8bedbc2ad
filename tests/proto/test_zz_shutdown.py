"""Runs last (files are collected in name order): stops the shared server
that every other test used, so that a leak, a sanitizer report or an
unclean exit after the whole session shows up as a failed test.  The server
is started again for anything that might still follow."""


def test_shared_server_shuts_down_cleanly(_session_server):
    srv = _session_server.server
    if not srv.alive():
        srv.start()
    log = srv.log_path
    problems = srv.stop()
    tail = srv.log_tail(80)
    srv.start()
    assert not problems, "%s\n--- stderr (%s):\n%s" % ("; ".join(problems), log, tail)
