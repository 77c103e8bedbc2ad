"""The casella command-line tool against a running server: users,
mailbox listing, local delivery."""

import mailgen
from helpers import fetch, status


def test_user_list_contains_users(server, user):
    out = server.cli("user", "list").stdout.decode().split()
    assert "alice" in out and "bob" in out and user[0] in out, out


def test_user_add_duplicate_fails(server, user):
    p = server.cli("user", "add", user[0], input="other\n", check=False)
    assert p.returncode != 0
    server.login(*user).close()  # the old password still works


def test_user_passwd(server, user, connect):
    name, pw = user
    server.cli("user", "passwd", name, input="newpass\n")
    c = connect()
    c.login(name, pw).expect("NO", code="AUTHENTICATIONFAILED")
    c.login(name, "newpass").ok()


def test_user_del(server, user, connect):
    name, pw = user
    server.cli("user", "del", name)
    c = connect()
    c.login(name, pw).expect("NO", code="AUTHENTICATIONFAILED")
    assert name not in server.cli("user", "list").stdout.decode().split()


def test_user_del_unknown_fails(server):
    assert server.cli("user", "del", "no-such-user-here", check=False).returncode != 0


def test_mailbox_list(server, user, c):
    c.command("CREATE Work").ok()
    c.append("INBOX", mailgen.plain()).ok()
    c.append("INBOX", mailgen.plain()).ok()
    st = status(c, "INBOX")
    lines = server.cli("mailbox", "list", user[0]).stdout.decode().splitlines()
    rows = {l.split("\t")[0]: l.split("\t") for l in lines if l.strip()}
    assert set(rows) == {"INBOX", "Work"}, lines
    assert rows["INBOX"][1:] == ["2", "3", str(st["UIDVALIDITY"])], lines
    assert rows["Work"][1:3] == ["0", "1"], lines


def test_deliver_to_inbox(server, user, c):
    msg = mailgen.multipart()
    server.deliver(user[0], msg)
    c.select().ok()
    d = fetch(c, "1", "(BODY.PEEK[] RFC822.SIZE FLAGS)")[1]
    assert d["BODY[]"] == msg
    assert int(d["RFC822.SIZE"]) == len(msg)


def test_deliver_to_mailbox(server, user, c):
    c.command("CREATE Lists/dev").ok()
    msg = mailgen.eightbit()
    server.deliver(user[0], msg, mailbox="Lists/dev")
    assert status(c, "Lists/dev")["MESSAGES"] == 1
    assert status(c, "INBOX")["MESSAGES"] == 0
    c.select("Lists/dev").ok()
    assert fetch(c, "1", "BODY.PEEK[]")[1]["BODY[]"] == msg


def test_deliver_shows_up_in_selected_session(server, user, c):
    c.select().ok()
    server.deliver(user[0], mailgen.plain())
    r = c.command("NOOP").ok()
    exists = [u.number for u in r.find("EXISTS")]
    assert exists and exists[-1] == 1, r.describe()


def test_deliver_unknown_user_fails(server):
    p = server.cli("deliver", "no-such-user-here", input=mailgen.plain(), check=False)
    assert p.returncode != 0


def test_deliver_unknown_mailbox_no_loss_no_phantom(server, user, c):
    # Exit 0 means the message is stored somewhere (created, or INBOX as
    # a fallback); a failure exit means it is stored nowhere.
    p = server.cli("deliver", user[0], "--mailbox", "Nope", input=mailgen.plain(), check=False)
    r = c.command("STATUS Nope (MESSAGES)")
    in_nope = status(c, "Nope")["MESSAGES"] if r.status == "OK" else 0
    total = in_nope + status(c, "INBOX")["MESSAGES"]
    assert total == (1 if p.returncode == 0 else 0), (p.returncode, in_nope, total)
