"""Connection-level behaviour: greeting, capabilities, authentication,
states, pipelining (RFC 9051 sections 6.1, 6.2, 7.1; RFC 2971 ID; RFC 5161
ENABLE; RFC 2342 NAMESPACE; RFC 4959 SASL-IR)."""

import base64
import imaplib
import socket
import time

import pytest

from rawimap import Literal, quote

# After login, the full list; before login a server may advertise less
# (RFC 9051 7.2.2 lets the list change with the state).
EXPECTED_CAPS = {
    "IMAP4REV1", "IMAP4REV2", "ENABLE", "ID", "IDLE", "NAMESPACE", "UNSELECT",
    "UIDPLUS", "MOVE", "CHILDREN", "LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE",
    "ESEARCH", "SASL-IR", "AUTH=PLAIN",
}
PRE_LOGIN_CAPS = {"IMAP4REV1", "IMAP4REV2", "SASL-IR", "AUTH=PLAIN", "ID"}


def caps_of(code_args):
    return {c.upper() for c in code_args.split()}


def check_caps(caps, expected=EXPECTED_CAPS):
    missing = expected - caps
    assert not missing, "capabilities missing: %s (have %s)" % (sorted(missing), sorted(caps))
    assert "LITERAL+" in caps or "LITERAL-" in caps, sorted(caps)


def test_greeting_has_capability(connect):
    c = connect()
    g = c.greeting
    assert g.tag == "*" and g.status == "OK", g
    assert g.code_name == "CAPABILITY", "greeting without [CAPABILITY ...]: %r" % g
    caps = caps_of(g.code_args)
    check_caps(caps, PRE_LOGIN_CAPS)
    # No TLS yet, so plain-text LOGIN is not disabled (contract for now).
    assert "LOGINDISABLED" not in caps


def test_capability_command_before_login(connect):
    c = connect()
    r = c.command("CAPABILITY").ok()
    caps = {str(x).upper() for x in r.one("CAPABILITY").args()}
    check_caps(caps, PRE_LOGIN_CAPS)
    assert caps == caps_of(c.greeting.code_args), "greeting and CAPABILITY differ"


def test_capability_after_login(c):
    # AUTH= and SASL-IR are pointless once authenticated; the rest is due.
    check_caps(c.capabilities(), EXPECTED_CAPS - {"AUTH=PLAIN", "SASL-IR"})


def test_login_ok_capability_code_is_current(connect, user):
    # A [CAPABILITY] code in the LOGIN OK (if sent) must be the new list.
    c = connect()
    r = c.login(*user).ok()
    if r.code_name == "CAPABILITY":
        assert caps_of(r.tagged.code_args) == c.capabilities()


def test_lowercase_command_names(connect):
    c = connect()
    c.command("noop").ok()
    c.command("capability").ok()


def test_noop(connect):
    c = connect()
    r = c.command("NOOP").ok()
    assert r.tagged.tag == r.tag


def test_logout_bye_then_ok_then_close(connect):
    c = connect()
    tag = c.next_tag()
    c.send(tag + " LOGOUT\r\n")
    first = c.read_response()
    assert first.tag == "*" and first.status == "BYE", first
    second = c.read_response()
    assert second.tag == tag and second.status == "OK", second
    assert c.wait_closed(5), "connection still open after LOGOUT"
    assert not c.trailing, c.trailing


def test_logout_when_logged_in(c):
    tag = c.next_tag()
    c.send(tag + " LOGOUT\r\n")
    untagged, tagged = c.read_until_tagged(tag)
    assert any(u.status == "BYE" for u in untagged), untagged
    assert tagged.status == "OK", tagged
    assert c.wait_closed(5)


def test_id_with_parameters(connect):
    c = connect()
    r = c.command('ID ("name" "casella-tests" "version" "1")').ok()
    idr = r.one("ID")
    args = idr.args()
    assert len(args) == 1
    assert args[0] is None or isinstance(args[0], list), idr
    if isinstance(args[0], list):
        assert len(args[0]) % 2 == 0, idr


def test_id_nil(connect):
    c = connect()
    r = c.command("ID NIL").ok()
    assert len(r.find("ID")) == 1, r


def test_id_after_login(c):
    r = c.command("ID NIL").ok()
    assert len(r.find("ID")) == 1, r


def test_enable_imap4rev2(c):
    r = c.command("ENABLE IMAP4rev2").ok()
    enabled = [str(a).upper() for u in r.find("ENABLED") for a in u.args()]
    assert "IMAP4REV2" in enabled, r


def test_enable_unknown_is_ignored(c):
    # RFC 5161 3.1: the server MUST ignore extensions it doesn't know.
    r = c.command("ENABLE X-NO-SUCH-EXTENSION").ok()
    enabled = [str(a).upper() for u in r.find("ENABLED") for a in u.args()]
    assert "X-NO-SUCH-EXTENSION" not in enabled, r


def test_enable_before_login_is_rejected(connect):
    # RFC 5161 3.1: ENABLE is valid only in the authenticated state.
    c = connect()
    c.command("ENABLE IMAP4rev2").expect("BAD", "NO")
    c.command("NOOP").ok()


def test_namespace(c):
    r = c.command("NAMESPACE").ok()
    ns = r.one("NAMESPACE").args()
    assert len(ns) == 3, ns
    personal, other, shared = ns
    assert isinstance(personal, list) and len(personal) == 1, ns
    assert personal[0][0] == b"" and personal[0][1] == b"/", ns
    assert other is None and shared is None, ns


def test_login_good(server, connect):
    c = connect()
    r = c.login("alice", "alicepw").ok()
    c.command("SELECT INBOX").ok()


def test_login_bad_password(connect):
    c = connect()
    c.login("alice", "wrong").expect("NO", code="AUTHENTICATIONFAILED")
    # still not authenticated, and a correct LOGIN works afterwards
    c.command("SELECT INBOX").expect("BAD", "NO")
    c.login("alice", "alicepw").ok()


def test_login_unknown_user(connect):
    c = connect()
    c.login("nosuchuser", "whatever").expect("NO", code="AUTHENTICATIONFAILED")


def test_login_with_literals(connect, user):
    name, pw = user
    c = connect()
    c.command("LOGIN", Literal(name), Literal(pw)).ok()
    c.command("SELECT INBOX").ok()


def test_login_twice_rejected(c, user):
    # LOGIN is valid only in the not-authenticated state.
    c.login(*user).expect("BAD", "NO")
    c.command("NOOP").ok()


def test_authenticate_plain_sasl_ir(connect, user):
    c = connect()
    c.authenticate_plain(*user, initial_response=True).ok()
    c.command("SELECT INBOX").ok()


def test_authenticate_plain_without_ir(connect, user):
    c = connect()
    c.authenticate_plain(*user, initial_response=False).ok()
    c.command("SELECT INBOX").ok()


def test_authenticate_plain_imaplib(server, user):
    name, pw = user
    m = imaplib.IMAP4("127.0.0.1", server.port, timeout=10)
    try:
        typ, _ = m.authenticate("PLAIN", lambda _challenge: b"\0" + name.encode() + b"\0" + pw.encode())
        assert typ == "OK"
        typ, data = m.select("INBOX")
        assert typ == "OK", data
    finally:
        m.logout()


def test_authenticate_plain_wrong_password(connect, user):
    c = connect()
    c.authenticate_plain(user[0], "wrong", initial_response=True).expect(
        "NO", code="AUTHENTICATIONFAILED")
    c.authenticate_plain(user[0], "wrong", initial_response=False).expect(
        "NO", code="AUTHENTICATIONFAILED")
    c.command("NOOP").ok()


def test_authenticate_plain_authzid_same_as_authcid(connect, user):
    name, pw = user
    c = connect()
    token = base64.b64encode(name.encode() + b"\0" + name.encode() + b"\0" + pw.encode())
    c.command("AUTHENTICATE PLAIN", token).ok()


def test_authenticate_plain_other_authzid_refused(connect, user):
    # Authorizing as another user must not log in as that user.
    name, pw = user
    c = connect()
    token = base64.b64encode(b"alice\0" + name.encode() + b"\0" + pw.encode())
    c.command("AUTHENTICATE PLAIN", token).expect("NO")


def test_authenticate_cancel(connect):
    # RFC 9051 6.2.2: "*" cancels; the server MUST answer tagged BAD.
    c = connect()
    tag = c.next_tag()
    c.send(tag + " AUTHENTICATE PLAIN\r\n")
    r = c.read_response()
    assert r.is_continuation, r
    c.send("*\r\n")
    _, tagged = c.read_until_tagged(tag)
    assert tagged.status == "BAD", tagged
    c.command("NOOP").ok()


def test_authenticate_invalid_base64(connect):
    # RFC 9051 6.2.2: an invalid BASE64 string is rejected with BAD.
    c = connect()
    c.command("AUTHENTICATE PLAIN", "!!!notbase64!!!").expect("BAD")
    c.command("NOOP").ok()


def test_authenticate_unknown_mechanism(connect):
    c = connect()
    c.command("AUTHENTICATE X-UNKNOWN-MECH").expect("NO", "BAD")
    c.command("NOOP").ok()


def test_select_before_login(connect):
    c = connect()
    c.command("SELECT INBOX").expect("BAD", "NO")
    c.command("NOOP").ok()


def test_commands_before_login(connect):
    c = connect()
    for cmd in ("LIST \"\" \"*\"", "CREATE foo", "STATUS INBOX (MESSAGES)",
                "APPEND INBOX {0+}\r\n", "IDLE"):
        c.command(cmd).expect("BAD", "NO")
    c.command("NOOP").ok()


def test_fetch_without_selected_mailbox(c):
    c.command("FETCH 1 FLAGS").expect("BAD")
    c.command("STORE 1 +FLAGS (\\Seen)").expect("BAD")
    c.command("EXPUNGE").expect("BAD")
    c.command("UID FETCH 1 FLAGS").expect("BAD")
    c.command("CLOSE").expect("BAD")
    c.command("NOOP").ok()


def test_unknown_command(connect, c):
    c.command("FROBNICATE now").expect("BAD")
    c.command("NOOP").ok()
    pre = connect()
    pre.command("FROBNICATE").expect("BAD")
    pre.command("NOOP").ok()


def test_unknown_uid_subcommand(c):
    c.select().ok()
    c.command("UID FROBNICATE 1").expect("BAD")
    c.command("NOOP").ok()


def test_pipelining_answers_in_order(server, user):
    c = server.connect()
    try:
        name, pw = user
        batch = (
            b"p1 LOGIN " + quote(name) + b" " + quote(pw) + b"\r\n"
            b"p2 NOOP\r\n"
            b"p3 CAPABILITY\r\n"
            b"p4 CREATE pipe\r\n"
            b"p5 LIST \"\" \"*\"\r\n"
            b"p6 SELECT INBOX\r\n"
            b"p7 UID FETCH 1:* FLAGS\r\n"
            b"p8 STATUS pipe (MESSAGES)\r\n"
            b"p9 NOOP\r\n"
        )
        c.send(batch)
        tags = []
        statuses = []
        untagged = []
        while len(tags) < 9:
            r = c.read_response()
            if r.tag == "*":
                untagged.append(r)
                continue
            tags.append(r.tag)
            statuses.append(r.status)
        assert tags == ["p%d" % i for i in range(1, 10)], tags
        assert statuses == ["OK"] * 9, list(zip(tags, statuses))
        assert any(u.kind == "LIST" for u in untagged)
        assert any(u.kind == "STATUS" for u in untagged)
    finally:
        c.close()


def test_pipelined_commands_in_separate_writes_byte_by_byte(connect):
    # Input may stop anywhere, even inside the CRLF.
    c = connect()
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for b in b"x1 NOOP\r\nx2 NOOP\r\n":
        c.send(bytes([b]))
        time.sleep(0.001)
    _, t1 = c.read_until_tagged("x1")
    _, t2 = c.read_until_tagged("x2")
    assert t1.status == "OK" and t2.status == "OK"


def test_starttls_not_offered(connect):
    c = connect()
    assert "STARTTLS" not in caps_of(c.greeting.code_args)
    c.command("STARTTLS").expect("BAD", "NO")
    c.command("NOOP").ok()


def test_id_odd_parameter_list_is_bad(connect):
    c = connect()
    c.command('ID ("name")').expect("BAD")
    c.command("NOOP").ok()


def test_login_empty_strings(connect):
    c = connect()
    c.command('LOGIN "" ""').expect("NO", "BAD")
    c.command("NOOP").ok()


def test_pipelined_append_with_nonsync_literal(server, user):
    c = server.connect()
    try:
        msg = b"Subject: pipelined\r\n\r\nbody\r\n"
        caps = caps_of(c.greeting.code_args)
        assert "LITERAL+" in caps or "LITERAL-" in caps
        name, pw = user
        c.send(b"q1 LOGIN " + quote(name) + b" " + quote(pw) + b"\r\n"
               b"q2 APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n"
               b"q3 SELECT INBOX\r\n"
               b"q4 FETCH 1 BODY.PEEK[]\r\n"
               b"q5 LOGOUT\r\n")
        results = {}
        fetched = None
        while len(results) < 5:
            r = c.read_response()
            if r.tag.startswith("q"):
                results[r.tag] = r.status
            elif r.kind == "FETCH":
                from rawimap import parse_fetch
                fetched = parse_fetch(r)[1].get("BODY[]")
        assert results == {"q1": "OK", "q2": "OK", "q3": "OK", "q4": "OK", "q5": "OK"}, results
        assert fetched == msg
    finally:
        c.close()
