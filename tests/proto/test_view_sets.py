"""Sequence and UID sets as the selected view resolves them."""

import mailgen


def _fill(c, n):
    for i in range(n):
        c.append("INBOX", mailgen.plain(subject="m%d" % i)).ok()
    c.select().ok()


def test_uid_max_number_is_not_star(c):
    # RFC 9051 9: 4294967295 written out is a number; only '*' means
    # "the highest UID".  No message has a UID that high.
    _fill(c, 3)
    r = c.command("UID FETCH 100:4294967295 FLAGS").ok()
    assert not r.find("FETCH")
    r = c.command("UID FETCH 4294967295 FLAGS").ok()
    assert not r.find("FETCH")
    r = c.command("UID FETCH 100:* UID").ok()
    assert len(r.find("FETCH")) == 1


def test_uid_range_above_highest_is_empty(c):
    _fill(c, 2)
    r = c.command("UID FETCH 50:60 FLAGS").ok()
    assert not r.find("FETCH")


def test_seq_star_and_reverse_range(c):
    _fill(c, 4)
    r = c.command("FETCH *:2 UID").ok()
    assert len(r.find("FETCH")) == 3
    c.command("FETCH 5 UID").expect("BAD")
