"""Mailbox commands: CREATE DELETE RENAME SUBSCRIBE UNSUBSCRIBE LIST LSUB
STATUS (RFC 9051 6.3; RFC 5258 LIST-EXTENDED; RFC 5819 LIST-STATUS;
RFC 6154 SPECIAL-USE; RFC 3348/5258 CHILDREN; RFC 3501 5.1.3 mUTF-7)."""

import pytest

import mailgen
from helpers import list_boxes, mutf7, status
from rawimap import Literal, astr, quote


def names(boxes):
    return set(boxes)


# ------------------------------------------------------------------ CREATE

def test_new_user_has_only_inbox(c):
    boxes, _ = list_boxes(c, '"" "*"')
    assert names(boxes) == {"INBOX"}, boxes
    assert boxes["INBOX"].delim == "/"


def test_create_and_list(c):
    c.command("CREATE Work").ok()
    boxes, _ = list_boxes(c, '"" "*"')
    assert names(boxes) == {"INBOX", "Work"}, boxes
    c.command("SELECT Work").ok()


def test_create_quoted_and_literal_names(c):
    c.command("CREATE", quote("with space")).ok()
    c.command("CREATE", Literal("via literal")).ok()
    boxes, _ = list_boxes(c, '"" "*"')
    assert {"with space", "via literal"} <= names(boxes), boxes


def test_create_hierarchy_creates_parents(c):
    # RFC 9051 6.3.4: the server SHOULD create missing superior names.
    c.command("CREATE a/b/c").ok()
    boxes, r = list_boxes(c, '"" "*"')
    assert {"a", "a/b", "a/b/c"} <= names(boxes), r.describe()
    c.command("SELECT a/b/c").ok()


def test_create_trailing_separator(c):
    # RFC 9051 6.3.4: a trailing separator declares intent to create
    # children; "the name created is without the trailing hierarchy
    # delimiter".
    c.command("CREATE trail/").ok()
    boxes, r = list_boxes(c, '"" "*"')
    assert "trail" in boxes and "trail/" not in boxes, r.describe()


def test_create_existing(c):
    c.command("CREATE Dup").ok()
    c.command("CREATE Dup").expect("NO", code="ALREADYEXISTS")


def test_create_inbox_any_case(c):
    c.command("CREATE INBOX").expect("NO")
    c.command("CREATE inbox").expect("NO")
    c.command("CREATE InBoX").expect("NO")


@pytest.mark.parametrize("name", ["", "a//b", "/abs", "../x", "a/../b", "a*b", "a%b", "*", "%"])
def test_create_bad_names(c, name):
    c.command("CREATE", quote(name)).expect("NO")
    boxes, _ = list_boxes(c, '"" "*"')
    assert names(boxes) == {"INBOX"}, boxes


def test_create_special_use(c):
    c.command("CREATE", "MySent", "(USE (\\Sent))").ok()
    boxes, r = list_boxes(c, '"" "*"')
    assert "\\SENT" in boxes["MySent"].attrs, r.describe()
    assert "\\SENT" not in boxes["INBOX"].attrs


def test_create_special_use_advertised(c):
    # RFC 6154 3: a server supporting CREATE with USE advertises it.
    assert "CREATE-SPECIAL-USE" in c.capabilities()


def test_create_special_use_unknown_attribute(c):
    # RFC 6154 5.3: NO [USEATTR] for a special use the server can't set.
    c.command("CREATE", "Odd", "(USE (\\NoSuchUse))").expect("NO", code="USEATTR")
    boxes, _ = list_boxes(c, '"" "*"')
    assert "Odd" not in boxes


# ------------------------------------------------------------------ DELETE

def test_delete(c):
    c.command("CREATE Gone").ok()
    c.command("DELETE Gone").ok()
    boxes, _ = list_boxes(c, '"" "*"')
    assert names(boxes) == {"INBOX"}
    c.command("SELECT Gone").expect("NO")


def test_delete_missing(c):
    c.command("DELETE NoSuchBox").expect("NO", code="NONEXISTENT")


def test_delete_inbox(c):
    c.command("DELETE INBOX").expect("NO")
    c.command("DELETE inbox").expect("NO")
    boxes, _ = list_boxes(c, '"" "*"')
    assert "INBOX" in boxes


def test_delete_removes_messages_and_uids_not_reused(c):
    c.command("CREATE Tmp").ok()
    for i in range(3):
        c.append("Tmp", mailgen.plain(subject="m%d" % i)).ok()
    before = status(c, "Tmp")
    assert before["MESSAGES"] == 3
    c.command("DELETE Tmp").ok()
    c.command("CREATE Tmp").ok()
    after = status(c, "Tmp")
    assert after["MESSAGES"] == 0, after
    # RFC 9051 2.3.1.1: a new mailbox with the same name gets a new
    # UIDVALIDITY, or UIDs keep growing.
    assert after["UIDVALIDITY"] != before["UIDVALIDITY"] or after["UIDNEXT"] >= before["UIDNEXT"], (
        before, after)


def test_delete_parent_keeps_children(c):
    c.command("CREATE p/child").ok()
    r = c.command("DELETE p")
    assert r.status in ("OK", "NO"), r.describe()
    boxes, lr = list_boxes(c, '"" "*"')
    assert "p/child" in boxes, lr.describe()
    c.command("SELECT p/child").ok()
    if r.status == "OK":
        # "p" is gone as a mailbox; if still listed it must be \Noselect.
        if "p" in boxes:
            assert boxes["p"].attrs & {"\\NOSELECT", "\\NONEXISTENT"}, lr.describe()
        c.command("SELECT p").expect("NO")


def test_delete_selected_mailbox(c):
    # Allowed or refused, but the session must go on.
    c.command("CREATE Sel").ok()
    c.command("SELECT Sel").ok()
    c.command("DELETE Sel").expect("OK", "NO")
    c.command("NOOP").ok()
    c.command("SELECT INBOX").ok()


# ------------------------------------------------------------------ RENAME

def test_rename(c):
    c.command("CREATE Old").ok()
    c.append("Old", mailgen.plain()).ok()
    c.command("RENAME Old New").ok()
    boxes, _ = list_boxes(c, '"" "*"')
    assert "New" in boxes and "Old" not in boxes, boxes
    assert status(c, "New")["MESSAGES"] == 1


def test_rename_moves_children(c):
    c.command("CREATE top/mid/leaf").ok()
    c.command("RENAME top moved").ok()
    boxes, r = list_boxes(c, '"" "*"')
    assert {"moved", "moved/mid", "moved/mid/leaf"} <= names(boxes), r.describe()
    assert not {"top", "top/mid", "top/mid/leaf"} & names(boxes), r.describe()


def test_rename_creates_superiors(c):
    # RFC 9051 6.3.6: the server SHOULD create missing superior names.
    c.command("CREATE lonely").ok()
    c.command("RENAME lonely x/y/lonely").ok()
    boxes, r = list_boxes(c, '"" "*"')
    assert {"x", "x/y", "x/y/lonely"} <= names(boxes), r.describe()


def test_rename_to_existing(c):
    c.command("CREATE r1").ok()
    c.command("CREATE r2").ok()
    c.command("RENAME r1 r2").expect("NO", code="ALREADYEXISTS")


def test_rename_missing(c):
    c.command("RENAME nothere there").expect("NO", code="NONEXISTENT")


def test_rename_to_bad_name(c):
    c.command("CREATE good").ok()
    c.command("RENAME", "good", quote("bad//name")).expect("NO")
    c.command("RENAME", "good", quote("bad*")).expect("NO")
    boxes, _ = list_boxes(c, '"" "*"')
    assert "good" in boxes


def test_rename_inbox(c):
    # RFC 9051 6.3.6: renaming INBOX moves all its messages into a new
    # mailbox with the given name, leaving INBOX empty.
    msgs = [mailgen.plain(subject="inbox %d" % i) for i in range(3)]
    for m in msgs:
        c.append("INBOX", m).ok()
    c.command("RENAME INBOX OldInbox").ok()
    boxes, _ = list_boxes(c, '"" "*"')
    assert {"INBOX", "OldInbox"} <= names(boxes), boxes
    assert status(c, "INBOX")["MESSAGES"] == 0
    assert status(c, "OldInbox")["MESSAGES"] == 3
    c.command("SELECT OldInbox").ok()
    r = c.command("FETCH 1:* BODY.PEEK[]").ok()
    bodies = sorted(d["BODY[]"] for _, d in r.fetches())
    assert bodies == sorted(msgs)


# --------------------------------------------------------------- SUBSCRIBE

def test_subscribe_lsub_unsubscribe(c):
    c.command("CREATE s1").ok()
    c.command("CREATE s2").ok()
    c.command("SUBSCRIBE s1").ok()
    boxes, _ = list_boxes(c, '"" "*"', kind="LSUB")
    assert names(boxes) == {"s1"}, boxes
    c.command("UNSUBSCRIBE s1").ok()
    boxes, _ = list_boxes(c, '"" "*"', kind="LSUB")
    assert names(boxes) == set(), boxes


def test_list_subscribed_selection(c):
    c.command("CREATE s1").ok()
    c.command("CREATE s2").ok()
    c.command("SUBSCRIBE s2").ok()
    c.command("SUBSCRIBE INBOX").ok()
    boxes, r = list_boxes(c, '(SUBSCRIBED) "" "*"')
    assert names(boxes) == {"INBOX", "s2"}, r.describe()
    for b in boxes.values():
        assert "\\SUBSCRIBED" in b.attrs, r.describe()


def test_subscribed_deleted_mailbox_is_nonexistent(c):
    # RFC 9051 6.3.5: DELETE doesn't unsubscribe; RFC 5258 3: subscribed
    # names that don't exist are listed with \NonExistent.
    c.command("CREATE ghost").ok()
    c.command("SUBSCRIBE ghost").ok()
    c.command("DELETE ghost").ok()
    boxes, r = list_boxes(c, '(SUBSCRIBED) "" "*"')
    assert "ghost" in boxes, r.describe()
    assert {"\\SUBSCRIBED", "\\NONEXISTENT"} <= boxes["ghost"].attrs, r.describe()
    plain, _ = list_boxes(c, '"" "*"')
    assert "ghost" not in plain


def test_list_subscribed_recursivematch(c):
    # RFC 5258 3.5 example: a parent that isn't subscribed but has a
    # subscribed child is returned with CHILDINFO ("SUBSCRIBED").
    c.command("CREATE fam/kid").ok()
    c.command("SUBSCRIBE fam/kid").ok()
    boxes, r = list_boxes(c, '(SUBSCRIBED RECURSIVEMATCH) "" "%"')
    assert "fam" in boxes, r.describe()
    assert "\\SUBSCRIBED" not in boxes["fam"].attrs, r.describe()
    ext = boxes["fam"].ext
    assert isinstance(ext, list) and len(ext) >= 2, r.describe()
    assert astr(ext[0]).upper() == "CHILDINFO", r.describe()
    assert "SUBSCRIBED" in [astr(x).upper() for x in ext[1]], r.describe()
    assert "fam/kid" not in boxes


def test_recursivematch_alone_is_bad(c):
    # RFC 5258 3: RECURSIVEMATCH alone MUST be rejected with BAD.
    c.command('LIST (RECURSIVEMATCH) "" "*"').expect("BAD")


def test_list_unknown_selection_option_is_bad(c):
    c.command('LIST (NOSUCHOPTION) "" "*"').expect("BAD")


def test_list_return_subscribed(c):
    c.command("CREATE s1").ok()
    c.command("CREATE s2").ok()
    c.command("SUBSCRIBE s1").ok()
    boxes, r = list_boxes(c, '"" "*" RETURN (SUBSCRIBED)')
    assert {"INBOX", "s1", "s2"} == names(boxes), r.describe()
    assert "\\SUBSCRIBED" in boxes["s1"].attrs, r.describe()
    assert "\\SUBSCRIBED" not in boxes["s2"].attrs, r.describe()


# -------------------------------------------------------------------- LIST

@pytest.fixture
def tree(c):
    for name in ("a/b/c", "a/d", "b", "Archive/2020", "Archive/2021"):
        c.command("CREATE", name).ok()
    return c


def test_list_star(tree):
    boxes, _ = list_boxes(tree, '"" "*"')
    assert names(boxes) == {"INBOX", "a", "a/b", "a/b/c", "a/d", "b",
                            "Archive", "Archive/2020", "Archive/2021"}, boxes
    for b in boxes.values():
        assert b.delim == "/"


def test_list_percent(tree):
    boxes, _ = list_boxes(tree, '"" "%"')
    assert names(boxes) == {"INBOX", "a", "b", "Archive"}, boxes


def test_list_pattern_within_level(tree):
    boxes, _ = list_boxes(tree, '"" "a/%"')
    assert names(boxes) == {"a/b", "a/d"}, boxes
    boxes, _ = list_boxes(tree, '"" "a/*"')
    assert names(boxes) == {"a/b", "a/b/c", "a/d"}, boxes
    boxes, _ = list_boxes(tree, '"" "Arch*20"')
    assert names(boxes) == {"Archive/2020"}, boxes
    boxes, _ = list_boxes(tree, '"" "%/20%"')
    assert names(boxes) == {"Archive/2020", "Archive/2021"}, boxes


def test_list_with_reference(tree):
    boxes, _ = list_boxes(tree, '"Archive/" "%"')
    assert names(boxes) == {"Archive/2020", "Archive/2021"}, boxes
    boxes, _ = list_boxes(tree, '"a/" "*"')
    assert names(boxes) == {"a/b", "a/b/c", "a/d"}, boxes


def test_list_exact_name(tree):
    boxes, _ = list_boxes(tree, '"" "a/b"')
    assert names(boxes) == {"a/b"}, boxes
    boxes, _ = list_boxes(tree, '"" "nomatch"')
    assert names(boxes) == set()


def test_list_inbox_case_insensitive(c):
    for pattern in ('"inbox"', '"InBox"', '"INBOX"'):
        boxes, r = list_boxes(c, '""', pattern)
        assert names(boxes) == {"INBOX"}, r.describe()


def test_select_inbox_case_insensitive(c):
    c.append("INBOX", mailgen.plain()).ok()
    r = c.command("SELECT inbox").ok()
    assert r.one("EXISTS").number == 1


def test_list_empty_pattern_gives_delimiter(c):
    # RFC 9051 6.3.9: LIST "" "" returns the hierarchy delimiter and root.
    r = c.command('LIST "" ""').ok()
    lst = r.one("LIST").args()
    assert astr(lst[1]) == "/", r.describe()
    assert astr(lst[2]) == "", r.describe()
    assert "\\NOSELECT" in {str(a).upper() for a in lst[0]}, r.describe()


def test_list_children_attributes(tree):
    boxes, r = list_boxes(tree, '"" "*"')
    for name in ("a", "a/b", "Archive"):
        assert "\\HASCHILDREN" in boxes[name].attrs, r.describe()
        assert "\\HASNOCHILDREN" not in boxes[name].attrs, r.describe()
    for name in ("INBOX", "a/b/c", "a/d", "b", "Archive/2021"):
        assert "\\HASNOCHILDREN" in boxes[name].attrs, r.describe()
        assert "\\HASCHILDREN" not in boxes[name].attrs, r.describe()


def test_list_children_with_percent(tree):
    # \HasChildren is about the mailbox, not about what the pattern matched.
    boxes, r = list_boxes(tree, '"" "%"')
    assert "\\HASCHILDREN" in boxes["a"].attrs, r.describe()
    assert "\\HASNOCHILDREN" in boxes["b"].attrs, r.describe()


def test_list_return_children(tree):
    boxes, r = list_boxes(tree, '"" "%" RETURN (CHILDREN)')
    assert "\\HASCHILDREN" in boxes["a"].attrs, r.describe()
    assert "\\HASNOCHILDREN" in boxes["b"].attrs, r.describe()


def test_list_extended_empty_selection(tree):
    boxes, r = list_boxes(tree, '() "" "%"')
    assert names(boxes) == {"INBOX", "a", "b", "Archive"}, r.describe()


def test_list_multiple_patterns(tree):
    # RFC 5258 3: LIST "" ("a/*" "b")
    boxes, r = list_boxes(tree, '"" ("a/%" "b")')
    assert names(boxes) == {"a/b", "a/d", "b"}, r.describe()


def test_list_special_use_selection_and_return(c):
    c.command("CREATE", "Sent", "(USE (\\Sent))").ok()
    c.command("CREATE", "Bin", "(USE (\\Trash))").ok()
    c.command("CREATE Plain").ok()
    boxes, r = list_boxes(c, '(SPECIAL-USE) "" "*"')
    assert names(boxes) == {"Sent", "Bin"}, r.describe()
    assert "\\SENT" in boxes["Sent"].attrs and "\\TRASH" in boxes["Bin"].attrs, r.describe()
    boxes, r = list_boxes(c, '"" "*" RETURN (SPECIAL-USE)')
    assert {"INBOX", "Sent", "Bin", "Plain"} == names(boxes), r.describe()
    assert "\\SENT" in boxes["Sent"].attrs, r.describe()
    assert not boxes["Plain"].attrs & {"\\SENT", "\\TRASH", "\\DRAFTS", "\\JUNK",
                                       "\\ARCHIVE", "\\ALL", "\\FLAGGED"}, r.describe()


def test_list_status_return(c):
    # RFC 5819: each listed selectable mailbox is followed by its STATUS.
    c.command("CREATE Other").ok()
    c.command("CREATE nosel/child").ok()
    c.append("INBOX", mailgen.plain(), flags=["\\Seen"]).ok()
    c.append("INBOX", mailgen.plain()).ok()
    c.append("Other", mailgen.plain()).ok()
    r = c.command('LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN))').ok()
    seen_list = None
    statuses = {}
    for u in r.untagged:
        if u.kind == "LIST":
            seen_list = astr(u.args()[2])
        elif u.kind == "STATUS":
            name = astr(u.args()[0])
            assert name == seen_list, "STATUS %s not right after its LIST:\n%s" % (name, r.describe())
            vals = u.args()[1]
            statuses[name] = {str(vals[i]).upper(): int(vals[i + 1]) for i in range(0, len(vals), 2)}
    assert statuses["INBOX"] == {"MESSAGES": 2, "UNSEEN": 1}, r.describe()
    assert statuses["Other"] == {"MESSAGES": 1, "UNSEEN": 1}, r.describe()
    assert statuses["nosel/child"] == {"MESSAGES": 0, "UNSEEN": 0}, r.describe()


def test_list_wildcard_does_not_blow_up(c):
    # A pattern that makes naive backtracking matchers exponential.
    c.command("CREATE", quote("a" * 60)).ok()
    pattern = "*a" * 30 + "b"
    boxes, _ = list_boxes(c, '""', quote(pattern))
    assert names(boxes) == set()


# ------------------------------------------------------------------ STATUS

def test_status_all_items(c):
    m1 = mailgen.plain(subject="one")
    m2 = mailgen.plain(subject="two", body="longer body\r\n" * 10)
    m3 = mailgen.plain(subject="three")
    c.append("INBOX", m1, flags=["\\Seen"]).ok()
    c.append("INBOX", m2, flags=["\\Deleted"]).ok()
    c.append("INBOX", m3).ok()
    st = status(c, "INBOX", "MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT")
    assert st["MESSAGES"] == 3
    assert st["UIDNEXT"] == 4
    assert st["UIDVALIDITY"] > 0
    assert st["UNSEEN"] == 2
    assert st["DELETED"] == 1
    assert st["SIZE"] == len(m1) + len(m2) + len(m3)
    # Nobody has selected INBOX yet, so all three are \Recent (RFC 3501).
    assert st["RECENT"] == 3


def test_status_uidvalidity_stable(c):
    a = status(c, "INBOX")["UIDVALIDITY"]
    c.append("INBOX", mailgen.plain()).ok()
    assert status(c, "INBOX")["UIDVALIDITY"] == a


def test_status_missing_mailbox(c):
    r = c.command("STATUS NoSuch (MESSAGES)").expect("NO")
    assert r.code_name in (None, "NONEXISTENT", "TRYCREATE"), r.describe()


def test_status_unknown_item_is_bad(c):
    c.command("STATUS INBOX (MESSAGES FROBS)").expect("BAD")


def test_status_empty_item_list(c):
    # status-att-list needs at least one item.
    c.command("STATUS INBOX ()").expect("BAD")


def test_status_response_name_is_the_mailbox(c):
    c.command("CREATE", quote("Sp ace")).ok()
    r = c.command("STATUS", quote("Sp ace"), "(MESSAGES)").ok()
    assert astr(r.one("STATUS").args()[0]) == "Sp ace"


# ------------------------------------------------------- international names

def test_mutf7_names_rev1(c):
    c.command("CREATE", quote("Entw&APw-rfe")).ok()
    boxes, r = list_boxes(c, '"" "*"')
    assert "Entw&APw-rfe" in boxes, r.describe()
    c.command("SELECT", quote("Entw&APw-rfe")).ok()


def test_mutf7_listed_as_utf8_in_rev2(c, login):
    c.command("CREATE", quote("Entw&APw-rfe")).ok()
    c2 = login(rev2=True)
    boxes, r = list_boxes(c2, '"" "*"')
    assert "Entwürfe" in boxes, r.describe()
    assert "Entw&APw-rfe" not in boxes, r.describe()
    c2.command("SELECT", quote("Entwürfe")).ok()
    st = c2.command("STATUS", quote("Entwürfe"), "(MESSAGES)").ok()
    assert astr(st.one("STATUS").args()[0]) == "Entwürfe", st.describe()


def test_utf8_created_in_rev2_listed_as_mutf7_in_rev1(c, login):
    c2 = login(rev2=True)
    c2.command("CREATE", quote("Ünïcode/日本語")).ok()
    boxes, r = list_boxes(c, '"" "*"')
    assert mutf7("Ünïcode") in boxes, r.describe()
    assert mutf7("Ünïcode/日本語") in boxes, r.describe()
    c.command("SELECT", quote(mutf7("Ünïcode/日本語"))).ok()


def test_ampersand_in_rev2_is_literal(c, login):
    # In IMAP4rev2 names are UTF-8; "&" is not an escape (RFC 9051 5.1).
    c2 = login(rev2=True)
    c2.command("CREATE", quote("A&B")).ok()
    boxes, r = list_boxes(c, '"" "*"')
    assert "A&-B" in boxes, r.describe()
    boxes2, r2 = list_boxes(c2, '"" "*"')
    assert "A&B" in boxes2, r2.describe()


def test_invalid_mutf7_rejected(c):
    for bad in ("bad&Jjo", "bad&AGE-", "bad&-&"):
        r = c.command("CREATE", quote(bad))
        assert r.status in ("NO", "BAD"), r.describe()
    boxes, _ = list_boxes(c, '"" "*"')
    assert names(boxes) == {"INBOX"}, boxes


def test_names_with_quotes_and_backslashes(c):
    name = 'we"ird\\name'
    c.command("CREATE", quote(name)).ok()
    boxes, r = list_boxes(c, '"" "*"')
    assert name in boxes, r.describe()
    c.command("SELECT", quote(name)).ok()
    st = c.command("STATUS", quote(name), "(MESSAGES)").ok()
    assert astr(st.one("STATUS").args()[0]) == name, st.describe()


def test_subscribe_inbox_any_case(c):
    c.command("SUBSCRIBE inbox").ok()
    boxes, r = list_boxes(c, '"" "*"', kind="LSUB")
    assert names(boxes) == {"INBOX"}, r.describe()


def test_rename_is_atomic_when_a_child_clashes(c):
    # "src/x" would become "dst/x", which exists: nothing may be renamed.
    c.command("CREATE src/x").ok()
    c.command("CREATE dst/x").ok()
    c.command("DELETE dst").ok()  # leaves dst/x
    boxes, r = list_boxes(c, '"" "*"')
    if "dst/x" not in boxes:
        pytest.skip("server removes children on DELETE of the parent")
    r = c.command("RENAME src dst")
    boxes, lr = list_boxes(c, '"" "*"')
    if r.status == "OK":
        pytest.fail("RENAME src dst succeeded although dst/x exists:\n%s\n%s" % (
            r.describe(), lr.describe()))
    assert r.status == "NO", r.describe()
    assert {"src", "src/x", "dst/x"} <= names(boxes), lr.describe()


def test_rename_into_own_subtree(c):
    c.command("CREATE loop").ok()
    c.append("loop", mailgen.plain()).ok()
    r = c.command("RENAME loop loop/inner")
    assert r.status in ("OK", "NO"), r.describe()
    boxes, lr = list_boxes(c, '"" "*"')
    where = "loop/inner" if r.status == "OK" else "loop"
    assert where in boxes, lr.describe()
    assert status(c, where)["MESSAGES"] == 1


def test_inbox_children(c):
    c.command("CREATE INBOX/sub").ok()
    c.command("CREATE inbox/other").ok()
    boxes, r = list_boxes(c, '"" "*"')
    assert {"INBOX", "INBOX/sub", "INBOX/other"} <= names(boxes), r.describe()
    assert "\\HASCHILDREN" in boxes["INBOX"].attrs, r.describe()
    boxes, r = list_boxes(c, '"inbox/" "%"')
    assert names(boxes) == {"INBOX/sub", "INBOX/other"}, r.describe()
    boxes, r = list_boxes(c, '"" "Inbox/s%"')
    assert names(boxes) == {"INBOX/sub"}, r.describe()
