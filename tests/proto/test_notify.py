"""NOTIFY (RFC 5465): one connection hears of changes in every mailbox.

Another connection (or `casella deliver`, another process) changes
mailboxes; the NOTIFY session sees untagged STATUS for its other mailboxes
(5.2, 5.3, 5.1), LIST for created, renamed and deleted mailboxes (5.4) and
for subscription changes (5.5), pushed between commands, in IDLE, and
before the tagged response of its commands.
"""

import time

import mailgen
from helpers import idle_wait
from rawimap import quote

# The notification set of the task: the selected mailbox's message
# events, and every event we support for the others.
FULL = ("NOTIFY SET (selected (MessageNew MessageExpunge)) "
        "(personal (MessageNew MessageExpunge FlagChange MailboxName "
        "SubscriptionChange))")
PUSH_TIMEOUT = 3.0


def wait_untagged(conn, pred, timeout=PUSH_TIMEOUT):
    """Reads pushed responses (no command sent) until pred(seen) holds."""
    return idle_wait(conn, pred, timeout)


def statuses(responses, mailbox):
    """{ITEM: int} of each untagged STATUS for mailbox, in order."""
    out = []
    for r in responses:
        if r.kind != "STATUS":
            continue
        args = r.args()
        name = args[0].decode() if isinstance(args[0], bytes) else args[0]
        if name != mailbox:
            continue
        items = args[1]
        out.append({items[i].upper(): int(items[i + 1])
                    for i in range(0, len(items), 2)})
    return out


def lists(responses):
    """[(name, {attributes}, oldname or None)] of untagged LIST responses."""
    out = []
    for r in responses:
        if r.kind != "LIST":
            continue
        args = r.args()
        attrs = {str(a).upper() for a in args[0]}
        name = args[2].decode() if isinstance(args[2], bytes) else args[2]
        old = None
        if len(args) > 3:
            ext = args[3]
            tag = ext[0].decode() if isinstance(ext[0], bytes) else ext[0]
            assert tag.upper() == "OLDNAME", r
            old = ext[1][0]
            old = old.decode() if isinstance(old, bytes) else old
        out.append((name, attrs, old))
    return out


def notifying(login, command=FULL, select=True):
    """(watcher, other): two sessions of the test user; the watcher has
    INBOX selected and NOTIFY set.  Foo exists."""
    other = login()
    other.command("CREATE Foo").ok()
    watcher = login()
    if select:
        watcher.select().ok()
    watcher.command(command).ok()
    return watcher, other


def idle_start(conn):
    tag = conn.next_tag()
    conn.send(tag + " IDLE\r\n")
    while True:
        r = conn.read_response()
        if r.is_continuation:
            return tag
        assert r.tag == "*", "IDLE refused: %r" % r


def idle_done(conn, tag):
    conn.send("DONE\r\n")
    untagged, tagged = conn.read_until_tagged(tag)
    assert tagged.status == "OK", tagged
    return untagged


# ------------------------------------------------------------ capability

def test_capability_lists_notify(c, connect):
    caps = c.command("CAPABILITY").one("CAPABILITY").args()
    assert "NOTIFY" in [str(x).upper() for x in caps]
    pre = connect().command("CAPABILITY").one("CAPABILITY").args()
    assert "NOTIFY" not in [str(x).upper() for x in pre]


# ------------------------------------------------------- other mailboxes

def test_status_pushed_for_append_elsewhere(login):
    watcher, other = notifying(login)
    other.append("Foo", mailgen.plain()).ok()
    seen = wait_untagged(watcher, lambda s: statuses(s, "Foo"))
    got = statuses(seen, "Foo")
    assert got and got[-1]["MESSAGES"] == 1 and got[-1]["UIDNEXT"] == 2, seen
    assert got[-1]["UNSEEN"] == 1
    # Nothing about the selected INBOX, which has its own rules.
    assert not statuses(seen, "INBOX"), seen
    watcher.command("NOOP").ok()


def test_status_pushed_for_deliver(server, user, login):
    watcher, _ = notifying(login)
    server.deliver(user[0], mailgen.plain(subject="by deliver"),
                   mailbox="Foo")
    seen = wait_untagged(watcher, lambda s: statuses(s, "Foo"))
    got = statuses(seen, "Foo")
    assert got and got[-1]["MESSAGES"] == 1, (
        "no STATUS Foo after `casella deliver --mailbox Foo`: %r" % seen)


def test_status_in_idle(login):
    watcher, other = notifying(login)
    tag = idle_start(watcher)
    other.append("Foo", mailgen.plain()).ok()
    seen = wait_untagged(watcher, lambda s: statuses(s, "Foo"))
    assert statuses(seen, "Foo"), seen
    idle_done(watcher, tag)


def test_status_before_tagged_ok_of_running_command(login):
    watcher, other = notifying(login)
    other.append("Foo", mailgen.plain()).ok()
    # Whether pushed at once or sent with the command, it comes before
    # the NOOP's tagged OK.
    time.sleep(0.3)
    r = watcher.command("NOOP").ok()
    assert statuses(r.untagged, "Foo"), r.describe()


def test_expunge_and_flags_elsewhere(login):
    watcher, other = notifying(login)
    for _ in range(2):
        other.append("Foo", mailgen.plain()).ok()
    wait_untagged(watcher, lambda s: any(
        x["MESSAGES"] == 2 for x in statuses(s, "Foo")))
    other.select("Foo").ok()
    other.command("STORE 1 +FLAGS.SILENT (\\Seen)").ok()
    seen = wait_untagged(watcher, lambda s: any(
        x["UNSEEN"] == 1 for x in statuses(s, "Foo")))
    assert any(x["UNSEEN"] == 1 for x in statuses(seen, "Foo")), (
        "FlagChange: no STATUS with UNSEEN 1: %r" % seen)
    other.command("STORE 2 +FLAGS.SILENT (\\Deleted)").ok()
    other.command("EXPUNGE").ok()
    seen = wait_untagged(watcher, lambda s: any(
        x["MESSAGES"] == 1 for x in statuses(s, "Foo")))
    assert any(x["MESSAGES"] == 1 for x in statuses(seen, "Foo")), seen


def test_flag_change_not_asked_for(login):
    cmd = "NOTIFY SET (personal (MessageNew MessageExpunge))"
    watcher, other = notifying(login, cmd)
    other.append("Foo", mailgen.plain()).ok()
    wait_untagged(watcher, lambda s: statuses(s, "Foo"))
    other.select("Foo").ok()
    other.command("STORE 1 +FLAGS.SILENT (\\Seen)").ok()
    time.sleep(0.4)
    r = watcher.command("NOOP").ok()
    assert not statuses(watcher.drain(0.2) + r.untagged, "Foo"), r.describe()


def test_status_indicator_sends_initial_status(login):
    other = login()
    other.command("CREATE Foo").ok()
    other.append("Foo", mailgen.plain()).ok()
    watcher = login()
    watcher.select().ok()
    r = watcher.command("NOTIFY SET STATUS (selected (MessageNew "
                        "MessageExpunge)) (personal (MessageNew "
                        "MessageExpunge))").ok()
    got = statuses(r.untagged, "Foo")
    assert len(got) == 1 and got[0]["MESSAGES"] == 1, r.describe()
    assert {"MESSAGES", "UIDNEXT", "UIDVALIDITY"} <= set(got[0])
    # 3.1: not for the selected mailbox.
    assert not statuses(r.untagged, "INBOX"), r.describe()
    # Without STATUS, none.
    r = watcher.command("NOTIFY SET (personal (MessageNew "
                        "MessageExpunge))").ok()
    assert not r.find("STATUS"), r.describe()


def test_own_changes_are_not_echoed(login):
    watcher, other = notifying(login)
    seen = []
    # Whatever comes, pushed or with a command, is among the untagged
    # responses read before some tagged one.
    seen += watcher.append("Foo", mailgen.plain()).ok().untagged
    for cmd in ("CREATE Mine", "SUBSCRIBE Mine", "RENAME Mine Mine2",
                "DELETE Mine2"):
        seen += watcher.command(cmd).ok().untagged
    time.sleep(0.4)
    seen += watcher.command("NOOP").ok().untagged + watcher.drain(0.2)
    assert not statuses(seen, "Foo") and not lists(seen), seen
    # Others' changes still come through.
    other.append("Foo", mailgen.plain()).ok()
    seen = wait_untagged(watcher, lambda s: statuses(s, "Foo"))
    assert statuses(seen, "Foo")[-1]["MESSAGES"] == 2, seen


# ------------------------------------------------------------ mailbox names

def test_mailbox_name_create_rename_delete(login):
    watcher, other = notifying(login)
    other.command("CREATE Bar").ok()
    seen = wait_untagged(watcher, lambda s: lists(s))
    assert ("Bar", {"\\HASNOCHILDREN"}, None) in lists(seen), seen
    other.command("RENAME Bar Baz").ok()
    seen = wait_untagged(watcher, lambda s: lists(s))
    assert [l for l in lists(seen) if l[0] == "Baz" and l[2] == "Bar"], seen
    other.command("DELETE Baz").ok()
    seen = wait_untagged(watcher, lambda s: lists(s))
    got = lists(seen)
    assert got and got[0][0] == "Baz" and "\\NONEXISTENT" in got[0][1], seen


def test_mailbox_name_rename_moves_children(login):
    watcher, other = notifying(login)
    other.command("CREATE Lists/a").ok()
    wait_untagged(watcher, lambda s: len(lists(s)) >= 2)
    other.command("RENAME Lists Archive").ok()
    seen = wait_untagged(watcher, lambda s: len(lists(s)) >= 2)
    got = {(l[0], l[2]) for l in lists(seen)}
    assert ("Archive", "Lists") in got and ("Archive/a", "Lists/a") in got, seen
    parent = [l for l in lists(seen) if l[0] == "Archive"][0]
    assert "\\HASCHILDREN" in parent[1], seen


def test_subscription_change(login):
    watcher, other = notifying(login)
    other.command("SUBSCRIBE Foo").ok()
    seen = wait_untagged(watcher, lambda s: lists(s))
    assert ("Foo", {"\\HASNOCHILDREN", "\\SUBSCRIBED"}, None) in lists(seen), seen
    other.command("UNSUBSCRIBE Foo").ok()
    seen = wait_untagged(watcher, lambda s: lists(s))
    assert ("Foo", {"\\HASNOCHILDREN"}, None) in lists(seen), seen


def test_notify_none_stops_notifications(login):
    watcher, other = notifying(login)
    watcher.command("NOTIFY NONE").ok()
    other.append("Foo", mailgen.plain()).ok()
    other.command("CREATE Quiet").ok()
    other.command("SUBSCRIBE Foo").ok()
    other.append("INBOX", mailgen.plain()).ok()
    time.sleep(0.4)
    assert not watcher.poll(0), watcher.drain(0.2)
    r = watcher.command("NOOP").ok()
    assert not r.find("STATUS") and not r.find("LIST"), r.describe()
    # The selected mailbox is plain IMAP again: EXISTS with a command.
    assert any(u.kind == "EXISTS" for u in r.untagged), r.describe()


# ------------------------------------------------------------------ filters

def test_mailboxes_and_subtree_filters(login):
    other = login()
    for name in ("Foo", "Bar", "Lists", "Lists/dev"):
        other.command("CREATE", quote(name)).ok()
    watcher = login()
    watcher.command("NOTIFY SET (mailboxes Foo (MessageNew MessageExpunge)) "
                    "(subtree Lists (MessageNew MessageExpunge))").ok()
    for name in ("Bar", "Foo", "Lists/dev"):
        other.append(name, mailgen.plain()).ok()
    seen = wait_untagged(watcher, lambda s: statuses(s, "Foo") and
                         statuses(s, "Lists/dev"))
    time.sleep(0.2)
    seen += watcher.command("NOOP").ok().untagged
    assert statuses(seen, "Foo") and statuses(seen, "Lists/dev"), seen
    assert not statuses(seen, "Bar"), seen


def test_subscribed_filter_follows_subscriptions(login):
    other = login()
    other.command("CREATE Foo").ok()
    watcher = login()
    watcher.command("NOTIFY SET (subscribed (MessageNew "
                    "MessageExpunge))").ok()
    other.append("Foo", mailgen.plain()).ok()
    time.sleep(0.4)
    r = watcher.command("NOOP").ok()
    assert not statuses(r.untagged, "Foo"), r.describe()
    other.command("SUBSCRIBE Foo").ok()
    other.append("Foo", mailgen.plain()).ok()
    seen = wait_untagged(watcher, lambda s: statuses(s, "Foo"))
    assert statuses(seen, "Foo")[-1]["MESSAGES"] == 2, seen


# --------------------------------------------------------- selected mailbox

def test_selected_new_message_pushed_with_fetch(login):
    watcher, other = notifying(
        login, "NOTIFY SET (selected (MessageNew (UID FLAGS "
               "BODY.PEEK[HEADER.FIELDS (Subject)]) MessageExpunge))")
    other.append("INBOX", mailgen.plain(subject="pushed")).ok()
    seen = wait_untagged(watcher, lambda s: any(u.kind == "FETCH" for u in s))
    kinds = [u.kind for u in seen]
    assert "EXISTS" in kinds and "FETCH" in kinds, seen
    assert kinds.index("EXISTS") < kinds.index("FETCH"), seen
    fetch = [u for u in seen if u.kind == "FETCH"][0]
    assert b"Subject: pushed" in fetch.raw and b"UID 1" in fetch.raw, fetch
    # The notification did not set \Seen.
    r = watcher.command("UID FETCH 1 FLAGS").ok()
    assert b"\\Seen" not in r.find("FETCH")[0].raw, r.describe()


def test_selected_expunge_pushed_at_once(login):
    watcher, other = notifying(login)
    other.append("INBOX", mailgen.plain()).ok()
    wait_untagged(watcher, lambda s: any(u.kind == "EXISTS" for u in s))
    other.select().ok()
    other.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok()
    other.command("EXPUNGE").ok()
    seen = wait_untagged(watcher, lambda s: any(u.kind == "EXPUNGE" for u in s))
    assert [u.number for u in seen if u.kind == "EXPUNGE"] == [1], seen


def test_selected_delayed_holds_expunges(login):
    watcher, other = notifying(
        login, "NOTIFY SET (selected-delayed (MessageNew MessageExpunge))")
    other.append("INBOX", mailgen.plain()).ok()
    wait_untagged(watcher, lambda s: any(u.kind == "EXISTS" for u in s))
    other.select().ok()
    other.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok()
    other.command("EXPUNGE").ok()
    other.append("INBOX", mailgen.plain()).ok()
    # The new message is pushed; the expunge waits for a command.
    seen = wait_untagged(watcher, lambda s: any(u.kind == "EXISTS" for u in s))
    assert [u.number for u in seen if u.kind == "EXISTS"][-1:] == [2], seen
    assert not any(u.kind == "EXPUNGE" for u in seen), seen
    r = watcher.command("NOOP").ok()
    assert [u.number for u in r.find("EXPUNGE")] == [1], r.describe()


def test_no_selected_group_means_none_for_selected(login):
    watcher, other = notifying(
        login, "NOTIFY SET (personal (MessageNew MessageExpunge))")
    tag = idle_start(watcher)
    other.append("INBOX", mailgen.plain()).ok()
    other.append("Foo", mailgen.plain()).ok()
    seen = wait_untagged(watcher, lambda s: statuses(s, "Foo"))
    # RFC 5465 4: IDLE sends just what NOTIFY asked for: no EXISTS for
    # the selected INBOX, no STATUS for it either.
    assert statuses(seen, "Foo") and not any(u.kind == "EXISTS" for u in seen)
    assert not statuses(seen, "INBOX"), seen
    untagged = idle_done(watcher, tag)
    # The end of IDLE reports the mailbox as any command does.
    assert any(u.kind == "EXISTS" for u in untagged), untagged


def test_plain_idle_unchanged_after_notify_none(login):
    watcher, other = notifying(login)
    watcher.command("NOTIFY NONE").ok()
    tag = idle_start(watcher)
    other.append("INBOX", mailgen.plain()).ok()
    seen = wait_untagged(watcher, lambda s: any(u.kind == "EXISTS" for u in s))
    assert any(u.kind == "EXISTS" for u in seen), seen
    idle_done(watcher, tag)


# --------------------------------------------------------------- bad input

def test_bad_syntax_gets_bad(c):
    for args in ("", "SET", "FOO", "NONE extra", "SET STATUS",
                 "SET personal", "SET ()", "SET (personal)",
                 "SET (personal ())", "SET (bogus (MessageNew MessageExpunge))",
                 "SET (subtree (MessageNew MessageExpunge))",
                 "SET (mailboxes () (MessageNew MessageExpunge))",
                 "SET (personal (MessageNew))",
                 "SET (personal (MessageExpunge))",
                 "SET (personal (FlagChange))",
                 "SET (selected (MessageNew MessageExpunge MailboxName))",
                 "SET (selected (MessageNew MessageExpunge)) "
                 "(selected-delayed (MessageNew MessageExpunge))",
                 "SET (personal (MessageNew (UID) MessageExpunge))",
                 "SET (selected (MessageNew () MessageExpunge))",
                 "SET (selected (MessageNew (NOSUCH) MessageExpunge))",
                 "SET (personal (\"MessageNew\" MessageExpunge))"):
        r = c.command("NOTIFY " + args if args else "NOTIFY")
        r.expect("BAD")
    # The session goes on.
    c.command("NOOP").ok()
    c.command("NOTIFY SET (personal (MessageNew MessageExpunge))").ok()


def test_unsupported_events_get_badevent(c):
    for ev in ("MessageNew MessageExpunge AnnotationChange",
               "MailboxMetadataChange", "ServerMetadataChange",
               "SomethingNew"):
        r = c.command("NOTIFY SET (personal (%s))" % ev)
        r.expect("NO", code="BADEVENT")
        names = {n.upper() for n in r.code_args.strip("()").split()}
        assert names == {"MESSAGENEW", "MESSAGEEXPUNGE", "FLAGCHANGE",
                         "MAILBOXNAME", "SUBSCRIPTIONCHANGE"}, r.describe()


def test_fetch_attribute_that_sets_seen_refused(c):
    c.command("NOTIFY SET (selected (MessageNew (BODY[]) "
              "MessageExpunge))").expect("NO", code="CANNOT")


def test_notify_needs_login(connect):
    connect().command("NOTIFY NONE").expect("BAD")


def test_names_as_the_client_speaks(login):
    other = login()
    other.command("CREATE &AMk-t&AOk-").ok()  # "Été" in modified UTF-7
    rev1 = login()
    rev1.command("NOTIFY SET (subtree &AMk-t&AOk- (MessageNew "
                 "MessageExpunge MailboxName))").ok()
    rev2 = login(rev2=True)
    rev2.command("NOTIFY SET (subtree \"\u00c9t\u00e9\" (MessageNew "
                 "MessageExpunge MailboxName))".encode()).ok()
    other.append("&AMk-t&AOk-", mailgen.plain()).ok()
    seen = wait_untagged(rev1, lambda s: statuses(s, "&AMk-t&AOk-"))
    assert statuses(seen, "&AMk-t&AOk-"), seen
    seen = wait_untagged(rev2, lambda s: statuses(s, "\u00c9t\u00e9"))
    assert statuses(seen, "\u00c9t\u00e9"), seen
    other.command("CREATE &AMk-t&AOk-/sub").ok()
    seen = wait_untagged(rev2, lambda s: lists(s))
    assert [l for l in lists(seen) if l[0] == "\u00c9t\u00e9/sub"], seen
