"""SORT decodes RFC 2047 words first (RFC 5256 2.1 step 1, RFC 5957 3)."""

import mailgen


def _sort(c, criteria):
    r = c.command("SORT (%s) UTF-8 ALL" % criteria).ok()
    return [int(a) for u in r.find("SORT") for a in u.args()]


def test_sort_subject_and_display_decoded(c):
    c.append("INBOX", mailgen.plain(
        subject="=?utf-8?q?Re=3A_zebra?=",
        sender="=?utf-8?q?Zo=C3=AB?= <aaa@example.com>")).ok()
    c.append("INBOX", mailgen.plain(
        subject="mango", sender="Adam <zzz@example.com>")).ok()
    c.command("SELECT INBOX").ok()
    # Undecoded, "=?utf-8..." would sort before "mango" and keep its Re:.
    assert _sort(c, "SUBJECT") == [2, 1]
    # The display name "Zoë" sorts after "Adam"; the mailbox would not.
    assert _sort(c, "DISPLAYFROM") == [2, 1]
    assert _sort(c, "FROM") == [1, 2]


def test_thread_joins_encoded_reply(c):
    c.append("INBOX", mailgen.plain(subject="lunch plans")).ok()
    c.append("INBOX", mailgen.plain(subject="=?iso-8859-1?q?Re=3A_lunch_plans?=")).ok()
    c.command("SELECT INBOX").ok()
    r = c.command("THREAD ORDEREDSUBJECT UTF-8 ALL").ok()
    assert "(1 2)" in r.describe(), r.describe()
