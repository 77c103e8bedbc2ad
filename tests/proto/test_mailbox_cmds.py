"""Mailbox commands: CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST,
LSUB and STATUS (RFC 9051 6.3.4-6.3.11, RFC 3501 6.3.9), with
LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE and
CREATE-SPECIAL-USE (RFC 6154), CHILDREN (RFC 3348) and the response codes
of RFC 5530."""

import imaplib

from helpers import list_boxes, mutf7, status
from rawimap import Literal, quote

MESSAGE = b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"


def q(name):
    return quote(name)


def create(c, *names_):
    for n in names_:
        c.command("CREATE", q(n)).ok()


# ------------------------------------------------------------------ CREATE

def test_create_then_list(c):
    c.command("CREATE", "work").ok()
    boxes, _ = list_boxes(c, '""', "*")
    assert "work" in boxes and "INBOX" in boxes, boxes
    assert "\\HASNOCHILDREN" in boxes["work"].attrs
    assert boxes["work"].delim == "/"


def test_create_existing_is_alreadyexists(c):
    c.command("CREATE", "dup").ok()
    c.command("CREATE", "dup").expect("NO", code="ALREADYEXISTS")


def test_create_inbox_any_case_is_alreadyexists(c):
    for name in ("INBOX", "inbox", "InBoX", '"inbox/"'):
        c.command("CREATE", name).expect("NO", code="ALREADYEXISTS")


def test_create_trailing_separator_is_stripped(c):
    c.command("CREATE", q("folder/")).ok()
    boxes, _ = list_boxes(c, '""', "*")
    assert "folder" in boxes and "folder/" not in boxes, boxes
    # The name without the separator now exists.
    c.command("CREATE", "folder").expect("NO", code="ALREADYEXISTS")


def test_create_makes_missing_superiors(c):
    c.command("CREATE", q("a/b/c")).ok()
    boxes, _ = list_boxes(c, '""', "*")
    for n in ("a", "a/b", "a/b/c"):
        assert n in boxes, boxes
        assert "\\NOSELECT" not in boxes[n].attrs, boxes[n]
    assert "\\HASCHILDREN" in boxes["a"].attrs
    assert "\\HASCHILDREN" in boxes["a/b"].attrs
    assert "\\HASNOCHILDREN" in boxes["a/b/c"].attrs
    # The superiors are real mailboxes.
    assert status(c, "a/b")["MESSAGES"] == 0
    c.select("a").ok()


def test_create_invalid_names_cannot(c):
    for name in ('"a//b"', '"/lead"', '"x/../y"', '"."', "star*",
                 "pct%", '""', '"//"'):
        r = c.command("CREATE", name)
        assert r.status == "NO" and r.code_name == "CANNOT", r.describe()
    boxes, _ = list_boxes(c, '""', "*")
    assert set(boxes) == {"INBOX"}, boxes


def test_create_bad_syntax(c):
    c.command("CREATE").expect("BAD")
    c.command("CREATE", "(x)").expect("BAD")
    c.command("CREATE", "x", "(FOO)").expect("BAD")
    c.command("CREATE", "x", "(USE)").expect("BAD")
    c.command("CREATE", "x", "(USE \\Sent)").expect("BAD")
    c.command("NOOP").ok()


def test_create_special_use(c):
    c.command("CREATE", "Sent", "(USE (\\Sent))").ok()
    c.command("CREATE", "Bin", "(USE (\\Trash \\Junk))").ok()
    c.command("CREATE", "Plain").ok()
    # RFC 6154: returned in plain LIST too.
    boxes, _ = list_boxes(c, '""', "*")
    assert "\\SENT" in boxes["Sent"].attrs
    assert {"\\TRASH", "\\JUNK"} <= boxes["Bin"].attrs
    assert not {"\\SENT", "\\TRASH"} & boxes["Plain"].attrs
    # SPECIAL-USE selection: only special-use mailboxes.
    boxes, _ = list_boxes(c, "(SPECIAL-USE)", '""', "*")
    assert set(boxes) == {"Sent", "Bin"}, boxes
    boxes, _ = list_boxes(c, '""', "*", "RETURN", "(SPECIAL-USE)")
    assert "\\SENT" in boxes["Sent"].attrs and "Plain" in boxes


def test_create_unknown_use_attribute(c):
    c.command("CREATE", "X", "(USE (\\Bogus))").expect("NO", code="USEATTR")
    boxes, _ = list_boxes(c, '""', "*")
    assert "X" not in boxes


def test_create_nil_and_literal_names(c):
    # NIL is a valid astring; it must come back quoted, not as NIL.
    c.command("CREATE", "NIL").ok()
    c.command("CREATE", Literal("lit name")).ok()
    boxes, r = list_boxes(c, '""', "*")
    assert "NIL" in boxes and "lit name" in boxes, r.describe()
    assert all(u.args()[2] is not None for u in r.find("LIST")), r.describe()


# ------------------------------------------------------------------ DELETE

def test_delete(c):
    c.command("CREATE", "gone").ok()
    c.command("DELETE", "gone").ok()
    boxes, _ = list_boxes(c, '""', "*")
    assert "gone" not in boxes
    c.command("DELETE", "gone").expect("NO", code="NONEXISTENT")
    c.command("STATUS", "gone", "(MESSAGES)").expect("NO", code="NONEXISTENT")


def test_delete_inbox_refused(c):
    for name in ("INBOX", "inbox"):
        c.command("DELETE", name).expect("NO", code="CANNOT")
    assert "INBOX" in list_boxes(c, '""', "*")[0]


def test_delete_invalid_name(c):
    c.command("DELETE", '"a//b"').expect("NO", code="CANNOT")
    c.command("DELETE").expect("BAD")


def test_delete_parent_leaves_children_as_noselect(c):
    # RFC 9051 6.3.5: inferiors stay; the name becomes a \Noselect level.
    c.command("CREATE", q("p/q")).ok()
    c.command("DELETE", "p").ok()
    boxes, _ = list_boxes(c, '""', "*")
    assert "p/q" in boxes, boxes
    assert {"\\NOSELECT", "\\HASCHILDREN"} <= boxes["p"].attrs, boxes["p"]
    boxes, _ = list_boxes(c, '""', "%")
    assert {"\\NOSELECT", "\\HASCHILDREN"} <= boxes["p"].attrs, boxes
    assert "p/q" not in boxes
    c.select("p").expect("NO")
    c.command("DELETE", "p").expect("NO", code="NONEXISTENT")
    c.command("CREATE", "p").ok()
    boxes, _ = list_boxes(c, '""', "p")
    assert "\\NOSELECT" not in boxes["p"].attrs


def test_delete_selected_mailbox(c):
    c.command("CREATE", "cur").ok()
    c.select("cur").ok()
    r = c.command("DELETE", "cur").ok()
    assert any(u.code_name == "CLOSED" for u in r.untagged), r.describe()
    # Back in the authenticated state; the session goes on.
    c.command("NOOP").ok()
    c.command("FETCH", "1", "FLAGS").expect("BAD")
    c.select("INBOX").ok()


def test_delete_selected_by_other_session(login):
    a = login()
    b = login()
    a.command("CREATE", "shared").ok()
    b.select("shared").ok()
    a.command("DELETE", "shared").ok()
    a.command("NOOP").ok()


# ------------------------------------------------------------------ RENAME

def test_rename_moves_children(c):
    create(c, "r1/c1", "r1/c1/d")
    c.command("RENAME", "r1", "r2").ok()
    boxes, _ = list_boxes(c, '""', "*")
    assert {"r2", "r2/c1", "r2/c1/d"} <= set(boxes), boxes
    assert not {"r1", "r1/c1", "r1/c1/d"} & set(boxes), boxes


def test_rename_errors(c):
    create(c, "src", "dst")
    c.command("RENAME", "missing", "other").expect("NO", code="NONEXISTENT")
    c.command("RENAME", "src", "dst").expect("NO", code="ALREADYEXISTS")
    c.command("RENAME", "src", "src").expect("NO", code="ALREADYEXISTS")
    c.command("RENAME", "src", "INBOX").expect("NO", code="ALREADYEXISTS")
    c.command("RENAME", "src", "inbox").expect("NO", code="ALREADYEXISTS")
    c.command("RENAME", "src", q("src/sub")).expect("NO", code="CANNOT")
    c.command("RENAME", "src", '"bad//name"').expect("NO", code="CANNOT")
    c.command("RENAME", "src").expect("BAD")
    boxes, _ = list_boxes(c, '""', "*")
    assert {"src", "dst"} <= set(boxes) and "src/sub" not in boxes


def test_rename_creates_superiors(c):
    c.command("CREATE", "leaf").ok()
    c.command("RENAME", "leaf", q("s/t/leaf")).ok()
    boxes, _ = list_boxes(c, '""', "*")
    for n in ("s", "s/t", "s/t/leaf"):
        assert n in boxes and "\\NOSELECT" not in boxes[n].attrs, boxes


def test_rename_keeps_messages_and_uidvalidity(c):
    c.command("CREATE", "old").ok()
    c.append("old", MESSAGE).ok()
    before = status(c, "old")
    c.command("RENAME", "old", "new").ok()
    after = status(c, "new")
    assert after["MESSAGES"] == 1
    assert after["UIDNEXT"] == before["UIDNEXT"]


def test_rename_inbox_moves_messages(c):
    c.append("INBOX", MESSAGE).ok()
    c.append("INBOX", MESSAGE).ok()
    c.command("CREATE", q("INBOX/kid")).ok()
    c.command("RENAME", "INBOX", "Old").ok()
    assert status(c, "Old")["MESSAGES"] == 2
    assert status(c, "INBOX")["MESSAGES"] == 0
    boxes, _ = list_boxes(c, '""', "*")
    # RFC 9051 6.3.6: INBOX stays, its inferiors don't move.
    assert {"INBOX", "Old", "INBOX/kid"} <= set(boxes), boxes
    assert "Old/kid" not in boxes


def test_rename_inbox_below_itself(c):
    c.append("INBOX", MESSAGE).ok()
    c.command("RENAME", "INBOX", q("INBOX/archive")).ok()
    assert status(c, "INBOX/archive")["MESSAGES"] == 1


def test_rename_selected_mailbox(c):
    c.command("CREATE", "sel").ok()
    c.append("sel", MESSAGE).ok()
    c.select("sel").ok()
    c.command("RENAME", "sel", "sel2").ok()
    c.command("FETCH", "1", "(UID)").ok()
    c.command("NOOP").ok()


# ------------------------------------------------------- SUBSCRIBE, LSUB

def test_subscribe_and_lsub(c):
    create(c, "s1", "s2")
    c.command("SUBSCRIBE", "s1").ok()
    boxes, r = list_boxes(c, '""', "*", kind="LSUB")
    assert set(boxes) == {"s1"}, r.describe()
    boxes, _ = list_boxes(c, "(SUBSCRIBED)", '""', "*")
    assert set(boxes) == {"s1"}
    assert "\\SUBSCRIBED" in boxes["s1"].attrs
    c.command("UNSUBSCRIBE", "s1").ok()
    boxes, _ = list_boxes(c, '""', "*", kind="LSUB")
    assert boxes == {}
    # Unsubscribing a name that isn't subscribed is harmless.
    c.command("UNSUBSCRIBE", "s2").ok()
    c.command("UNSUBSCRIBE", "never-existed").ok()


def test_subscribe_errors(c):
    c.command("SUBSCRIBE", "nope").expect("NO", code="NONEXISTENT")
    c.command("SUBSCRIBE", '"a//b"').expect("NO", code="CANNOT")
    c.command("SUBSCRIBE").expect("BAD")
    c.command("UNSUBSCRIBE").expect("BAD")
    assert list_boxes(c, '""', "*", kind="LSUB")[0] == {}


def test_subscription_survives_delete(c):
    c.command("CREATE", "tmp").ok()
    c.command("SUBSCRIBE", "tmp").ok()
    c.command("DELETE", "tmp").ok()
    boxes, _ = list_boxes(c, '""', "*", kind="LSUB")
    assert "tmp" in boxes
    boxes, _ = list_boxes(c, "(SUBSCRIBED)", '""', "*")
    assert {"\\NONEXISTENT", "\\SUBSCRIBED"} <= boxes["tmp"].attrs, boxes
    # Plain LIST doesn't show what doesn't exist.
    assert "tmp" not in list_boxes(c, '""', "*")[0]


def test_lsub_percent_shows_unsubscribed_parent(c):
    c.command("CREATE", q("f/g")).ok()
    c.command("SUBSCRIBE", q("f/g")).ok()
    boxes, _ = list_boxes(c, '""', "%", kind="LSUB")
    assert set(boxes) == {"f"}, boxes
    assert "\\NOSELECT" in boxes["f"].attrs
    boxes, _ = list_boxes(c, '""', "*", kind="LSUB")
    assert set(boxes) == {"f/g"}, boxes
    assert "\\NOSELECT" not in boxes["f/g"].attrs


# -------------------------------------------------------------- LIST basics

def test_list_root(c):
    r = c.command("LIST", '""', '""').ok()
    u = r.one("LIST")
    args = u.args()
    assert [a.upper() for a in args[0]] == ["\\NOSELECT"]
    assert args[1] == b"/" and args[2] == b"", r.describe()


def test_list_inbox_case_insensitive(c):
    for pat in ("inbox", "INBOX", "InBox"):
        boxes, _ = list_boxes(c, '""', pat)
        assert set(boxes) == {"INBOX"}, boxes


def test_list_percent_and_reference(c):
    create(c, "top/mid/low", "top/other")
    boxes, _ = list_boxes(c, '""', "%")
    assert set(boxes) == {"INBOX", "top"}, boxes
    boxes, _ = list_boxes(c, '""', q("top/%"))
    assert set(boxes) == {"top/mid", "top/other"}, boxes
    boxes, _ = list_boxes(c, q("top/"), "%")
    assert set(boxes) == {"top/mid", "top/other"}, boxes
    boxes, _ = list_boxes(c, q("top/"), "*")
    assert set(boxes) == {"top/mid", "top/mid/low", "top/other"}, boxes
    boxes, _ = list_boxes(c, '""', q("*low"))
    assert set(boxes) == {"top/mid/low"}
    assert list_boxes(c, '""', "nothing*")[0] == {}


def test_list_noselect_level_with_percent(c):
    # Only "lvl/x/y" exists below "lvl" once the superiors are deleted.
    c.command("CREATE", q("lvl/x/y")).ok()
    c.command("DELETE", q("lvl/x")).ok()
    c.command("DELETE", "lvl").ok()
    boxes, _ = list_boxes(c, '""', "%")
    assert {"\\NOSELECT", "\\HASCHILDREN"} <= boxes["lvl"].attrs, boxes
    boxes, _ = list_boxes(c, '""', q("lvl/%"))
    assert set(boxes) == {"lvl/x"} and "\\NOSELECT" in boxes["lvl/x"].attrs
    boxes, _ = list_boxes(c, '""', "*")
    assert "\\NOSELECT" not in boxes["lvl/x/y"].attrs
    assert "\\HASNOCHILDREN" in boxes["lvl/x/y"].attrs


def test_list_multiple_patterns(c):
    create(c, "m1/a", "m2")
    boxes, _ = list_boxes(c, '""', '(INBOX "m1/%" m2)')
    assert set(boxes) == {"INBOX", "m1/a", "m2"}, boxes
    c.command("LIST", '""', "()").expect("BAD")


def test_list_bad_options(c):
    c.command("LIST", "(FOO)", '""', "*").expect("BAD")
    c.command("LIST", '""', "*", "RETURN", "(FOO)").expect("BAD")
    c.command("LIST", '""', "*", "RETURN").expect("BAD")
    c.command("LIST", '""', "*", "EXTRA").expect("BAD")
    c.command("LIST", "(RECURSIVEMATCH)", '""', "*").expect("BAD")
    c.command("LIST", "(REMOTE RECURSIVEMATCH)", '""', "*").expect("BAD")
    c.command("LIST", '""', "*", "RETURN", "(STATUS (BOGUS))").expect("BAD")
    c.command("LIST", '""').expect("BAD")
    c.command("LIST", "(REMOTE)", '""', "INBOX").ok()


def test_list_return_subscribed_and_children(c):
    create(c, "k/l", "k2")
    c.command("SUBSCRIBE", "k2").ok()
    boxes, _ = list_boxes(c, '""', "*", "RETURN", "(SUBSCRIBED CHILDREN)")
    assert "\\SUBSCRIBED" in boxes["k2"].attrs
    assert "\\SUBSCRIBED" not in boxes["k"].attrs
    assert "\\HASCHILDREN" in boxes["k"].attrs
    assert "\\HASNOCHILDREN" in boxes["k2"].attrs
    # Without the option, \Subscribed isn't reported.
    boxes, _ = list_boxes(c, '""', "*")
    assert "\\SUBSCRIBED" not in boxes["k2"].attrs


def test_list_recursivematch_childinfo(c):
    create(c, "Fruit/Apple", "Fruit/Banana", "Veg")
    c.command("SUBSCRIBE", q("Fruit/Banana")).ok()
    c.command("SUBSCRIBE", "Veg").ok()
    boxes, r = list_boxes(c, "(SUBSCRIBED)", '""', "%")
    assert set(boxes) == {"Veg"}, r.describe()
    boxes, r = list_boxes(c, "(SUBSCRIBED RECURSIVEMATCH)", '""', "%")
    assert set(boxes) == {"Fruit", "Veg"}, r.describe()
    fruit = boxes["Fruit"]
    assert "\\SUBSCRIBED" not in fruit.attrs
    assert fruit.ext is not None, r.describe()
    assert [x.upper() if isinstance(x, str) else x for x in fruit.ext] == \
        [b"CHILDINFO", [b"SUBSCRIBED"]], fruit.ext
    assert boxes["Veg"].ext is None
    boxes, r = list_boxes(c, "(SUBSCRIBED RECURSIVEMATCH)", '""', "*")
    assert set(boxes) == {"Fruit", "Fruit/Banana", "Veg"}, r.describe()
    assert "\\SUBSCRIBED" in boxes["Fruit/Banana"].attrs


def test_list_status(c):
    create(c, "ls/one")
    c.command("DELETE", "ls").ok()
    c.append("INBOX", MESSAGE).ok()
    r = c.command("LIST", '""', "*", "RETURN",
                  "(STATUS (MESSAGES UIDNEXT))").ok()
    lists = [u for u in r.untagged if u.kind == "LIST"]
    stats = {}
    order = []
    for u in r.untagged:
        order.append(u.kind)
        if u.kind == "STATUS":
            a = u.args()
            vals = a[1]
            stats[a[0] if isinstance(a[0], str) else a[0].decode()] = {
                vals[i].upper(): int(vals[i + 1])
                for i in range(0, len(vals), 2)}
    assert len(lists) == 3, r.describe()
    # RFC 5819: each STATUS follows its LIST; none for a \Noselect level.
    assert order == ["LIST", "STATUS", "LIST", "LIST", "STATUS"], r.describe()
    assert stats["INBOX"] == {"MESSAGES": 1, "UIDNEXT": 2}, stats
    assert stats["ls/one"]["MESSAGES"] == 0
    assert "ls" not in stats


# ------------------------------------------------------------------ names

def test_names_with_spaces_quotes_and_backslashes(c):
    weird = ['with space', 'dq"inside', 'back\\slash', 'brack]et',
             'paren(s)', 'curly{1}']
    for n in weird:
        c.command("CREATE", q(n)).ok()
    boxes, r = list_boxes(c, '""', "*")
    for n in weird:
        assert n in boxes, (n, r.describe())
        assert status(c, n)["MESSAGES"] == 0
    r = c.command("STATUS", q('dq"inside'), "(MESSAGES)").ok()
    assert r.one("STATUS").args()[0] == b'dq"inside'


def test_mutf7_names_in_rev1(c):
    name = "Entwürfe/日本語"
    wire = mutf7(name)
    c.command("CREATE", q(wire)).ok()
    boxes, r = list_boxes(c, '""', "*")
    assert wire in boxes and mutf7("Entwürfe") in boxes, r.describe()
    assert all(max(u.raw) < 0x80 for u in r.untagged), r.describe()
    assert status(c, wire)["MESSAGES"] == 0
    # An ampersand is "&-" in mUTF-7.
    c.command("CREATE", q("A&-B")).ok()
    assert "A&-B" in list_boxes(c, '""', "*")[0]
    # Invalid mUTF-7 is no valid name.
    c.command("CREATE", q("bad&Jjo")).expect("NO", code="CANNOT")


def test_utf8_names_in_rev2(login):
    v1 = login()
    v2 = login(rev2=True)
    v2.command("CREATE", q("Café/Ünïcödé")).ok()
    v2.command("CREATE", q("R&D")).ok()
    boxes, r = list_boxes(v2, '""', "*")
    assert {"Café", "Café/Ünïcödé", "R&D"} <= set(boxes), r.describe()
    st = v2.command("STATUS", q("Café"), "(MESSAGES)").ok()
    assert st.one("STATUS").args()[0] == "Café".encode()
    # The rev1 session sees the same mailboxes in modified UTF-7.
    boxes, r = list_boxes(v1, '""', "*")
    assert {mutf7("Café"), mutf7("Café/Ünïcödé"), "R&-D"} <= set(boxes), \
        r.describe()
    v1.command("RENAME", q(mutf7("Café")), q(mutf7("Thé"))).ok()
    boxes, _ = list_boxes(v2, '""', "*")
    assert {"Thé", "Thé/Ünïcödé"} <= set(boxes), boxes


# ------------------------------------------------------------------ STATUS

def test_status_items_and_order(c):
    c.command("CREATE", "st").ok()
    c.append("st", MESSAGE, flags=["\\Seen"]).ok()
    c.append("st", MESSAGE, flags=["\\Deleted"]).ok()
    r = c.command("STATUS", "st", "(UNSEEN MESSAGES DELETED SIZE UIDNEXT "
                  "UIDVALIDITY RECENT HIGHESTMODSEQ)").ok()
    vals = r.one("STATUS").args()[1]
    keys = [vals[i].upper() for i in range(0, len(vals), 2)]
    assert keys == ["UNSEEN", "MESSAGES", "DELETED", "SIZE", "UIDNEXT",
                    "UIDVALIDITY", "RECENT", "HIGHESTMODSEQ"], r.describe()
    d = {keys[i]: int(vals[2 * i + 1]) for i in range(len(keys))}
    assert d["MESSAGES"] == 2 and d["UNSEEN"] == 1 and d["DELETED"] == 1
    assert d["SIZE"] == 2 * len(MESSAGE) and d["UIDNEXT"] == 3
    assert d["RECENT"] == 2 and d["UIDVALIDITY"] > 0
    assert d["HIGHESTMODSEQ"] > 0


def test_status_errors(c):
    c.command("STATUS", "nope", "(MESSAGES)").expect("NO", code="NONEXISTENT")
    c.command("STATUS", "INBOX", "(BOGUS)").expect("BAD")
    c.command("STATUS", "INBOX", "()").expect("BAD")
    c.command("STATUS", "INBOX", "MESSAGES").expect("BAD")
    c.command("STATUS", "INBOX").expect("BAD")
    c.command("STATUS", '"a//b"', "(MESSAGES)").expect("NO", code="CANNOT")


def test_status_of_selected_mailbox(c):
    c.append("INBOX", MESSAGE).ok()
    c.select("INBOX").ok()
    assert status(c, "INBOX")["MESSAGES"] == 1
    assert status(c, "inbox")["MESSAGES"] == 1


def test_status_rev2(login):
    v2 = login(rev2=True)
    r = v2.command("STATUS", "INBOX", "(MESSAGES SIZE DELETED)").ok()
    assert r.one("STATUS").args()[1] == ["MESSAGES", "0", "SIZE", "0",
                                          "DELETED", "0"]


# ------------------------------------------------------------------ imaplib

def test_imaplib_round_trip(imap):
    typ, _ = imap.create("Projects/2024")
    assert typ == "OK"
    typ, data = imap.list()
    assert typ == "OK"
    lines = [d.decode() for d in data]
    assert any(l.endswith('"/" Projects/2024') for l in lines), lines
    assert any(l.endswith('"/" Projects') and "\\HasChildren" in l
               for l in lines), lines
    typ, data = imap.status("Projects/2024", "(MESSAGES UIDNEXT)")
    assert typ == "OK" and b"MESSAGES 0" in data[0], data
    assert imap.subscribe("Projects/2024")[0] == "OK"
    typ, data = imap.lsub()
    assert typ == "OK" and any(b"Projects/2024" in d for d in data), data
    assert imap.rename("Projects", "Done")[0] == "OK"
    typ, data = imap.list('""', "Done/*")
    assert typ == "OK" and data[0].endswith(b"Done/2024"), data
    assert imap.delete("Done/2024")[0] == "OK"
    typ, data = imap.delete("Done/2024")
    assert typ == "NO" and b"NONEXISTENT" in data[0], data
    try:
        typ, data = imap.create("INBOX")
    except imaplib.IMAP4.error:
        typ = "NO"
    assert typ == "NO"


def test_list_large_output(c):
    # Long names make LIST + LIST-STATUS larger than the server produces
    # in one go, so it has to pause and resume; nothing may be lost.
    count = 300
    wanted = ["big/%03d-%s" % (i, "x" * 900) for i in range(count)]
    tag_base = c.next_tag()
    c.send("".join('%s.%d CREATE %s\r\n' % (tag_base, i, q(n).decode())
                   for i, n in enumerate(wanted)))
    for i in range(count):
        _, tagged = c.read_until_tagged("%s.%d" % (tag_base, i))
        assert tagged.status == "OK", tagged
    r = c.command("LIST", '""', q("big/*"), "RETURN",
                  "(STATUS (MESSAGES))").ok()
    listed = [u.args()[2].decode() for u in r.find("LIST")]
    assert listed == sorted(wanted), (len(listed), r.describe())
    stats = r.find("STATUS")
    assert len(stats) == count
    assert [u.args()[0].decode() for u in stats] == listed
