"""SEARCH uses the full-text index built at delivery: a body is read only
for the messages the index names, and the index never hides a match."""

import mailgen
from helpers import wait_indexed


def _search(c, cmd):
    r = c.command(cmd).ok()
    out = []
    for u in r.find("SEARCH"):
        out += [int(a) for a in u.args()]
    return sorted(out)


def test_index_spares_bodies(own_server):
    srv = own_server()
    c = srv.login("alice", "alicepw")
    try:
        for i in range(20):
            c.append("INBOX", mailgen.plain(subject="note %d" % i,
                                            body="ordinary words %d\r\n" % i)).ok()
        c.append("INBOX", mailgen.plain(subject="special",
                                        body="the zanzibar report\r\n")).ok()
        c.command("SELECT INBOX").ok()
        wait_indexed(srv.data_dir)
        blobs = srv.data_dir / "blobs"
        hidden = srv.data_dir / "blobs.hidden"
        blobs.rename(hidden)
        try:
            # No message contains it: the index says so, no body is read.
            assert _search(c, "SEARCH BODY quetzalcoatl") == []
            assert _search(c, "SEARCH TEXT quetzalcoatl") == []
            assert _search(c, "SEARCH SUBJECT quetzalcoatl") == []
            # The index holds exactly the text a scan compares, so BODY
            # and TEXT need no body at all...
            assert _search(c, "SEARCH BODY ZANZIBAR") == [21]
            assert _search(c, "SEARCH TEXT special") == [21]
            # ...but a header key must still find the string in its field,
            # and the one candidate's body is gone.
            c.command("SEARCH SUBJECT special").expect("NO")
        finally:
            hidden.rename(blobs)
        assert _search(c, "SEARCH BODY ZANZIBAR") == [21]
        assert _search(c, "SEARCH NOT BODY zanzibar") == list(range(1, 21))
        assert _search(c, "SEARCH OR BODY zanzibar SUBJECT \"note 3\"") == [4, 21]
        # Under three characters the index can't help: a scan answers.
        assert len(_search(c, "SEARCH BODY DS")) == 20
    finally:
        c.close()


def test_search_correct_before_indexing(c):
    """Bodies not indexed yet are read: results never depend on timing."""
    for i in range(30):
        c.append("INBOX", mailgen.plain(subject="s%d" % i,
                                        body="word%d filler\r\n" % i)).ok()
    c.command("SELECT INBOX").ok()
    assert _search(c, "SEARCH BODY word17") == [18]
    assert _search(c, "SEARCH TEXT FILLER") == list(range(1, 31))


def test_index_follows_copies_and_expunges(c):
    c.append("INBOX", mailgen.plain(subject="a", body="marmalade toast\r\n")).ok()
    c.command("CREATE Other").ok()
    c.command("SELECT INBOX").ok()
    c.command("COPY 1 Other").ok()
    c.command("STORE 1 +FLAGS (\\Deleted)").ok()
    c.command("EXPUNGE").ok()
    assert _search(c, "SEARCH BODY marmalade") == []
    c.command("SELECT Other").ok()
    assert _search(c, "SEARCH BODY MARMALADE") == [1]
