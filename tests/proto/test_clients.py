"""Real third-party clients in batch mode: curl, mbsync (isync), neomutt
(driven in tmux).  Each test skips, saying so, only if its program is not
installed (the Makefile installs them for `make check`)."""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import mailgen
from helpers import fetch, flags_of, status


def need(binary):
    path = shutil.which(binary)
    if path is None:
        pytest.skip("%s is not installed (apt-get install %s)" % (
            binary, {"mbsync": "isync"}.get(binary, binary)))
    return path


def run(args, timeout=60, env=None, input=None):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       env=env, input=input)
    return p


def home_env(tmp_path):
    env = dict(os.environ)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env["HOME"] = str(home)
    env.pop("MAIL", None)
    env.pop("MAILDIR", None)
    return env


# -------------------------------------------------------------------- curl

def curl(server, user, path, *extra, tmp_path=None):
    need("curl")
    name, pw = user
    url = "imap://127.0.0.1:%d/%s" % (server.port, path)
    p = run(["curl", "-sS", "--max-time", "30", "-u", "%s:%s" % (name, pw)] + list(extra) + [url])
    assert p.returncode == 0, "curl %s %s failed (%d): %s" % (
        " ".join(extra), url, p.returncode, p.stderr.decode(errors="replace"))
    return p.stdout


def test_curl_list(server, user, c):
    c.command("CREATE Work").ok()
    c.command("CREATE Work/Sub").ok()
    out = curl(server, user, "").decode()
    names = set()
    for line in out.splitlines():
        m = re.match(r'\* LIST \(.*?\) "/" (.+)$', line.strip())
        if m:
            names.add(m.group(1).strip('"'))
    assert {"INBOX", "Work", "Work/Sub"} <= names, out


def test_curl_fetch_by_uid(server, user, c):
    msgs = [mailgen.plain(subject="curl one"), mailgen.multipart()]
    for m in msgs:
        c.append("INBOX", m).ok()
    assert curl(server, user, "INBOX;UID=1") == msgs[0]
    assert curl(server, user, "INBOX;UID=2") == msgs[1]


def test_curl_upload(server, user, c, tmp_path):
    msg = mailgen.plain(subject="uploaded by curl")
    f = tmp_path / "msg.eml"
    f.write_bytes(msg)
    curl(server, user, "INBOX", "-T", str(f))
    c.select().ok()
    assert fetch(c, "1", "BODY.PEEK[]")[1]["BODY[]"] == msg


def test_curl_custom_examine(server, user, c):
    for _ in range(3):
        c.append("INBOX", mailgen.plain()).ok()
    out = curl(server, user, "", "-X", "EXAMINE INBOX").decode()
    assert re.search(r"^\* 3 EXISTS", out, re.M), out


def test_curl_search(server, user, c):
    c.append("INBOX", mailgen.plain(subject="alpha")).ok()
    c.append("INBOX", mailgen.plain(subject="beta")).ok()
    out = curl(server, user, "INBOX?SUBJECT%20beta").decode()
    assert re.search(r"^\* SEARCH 2\s*$", out, re.M), out


# ------------------------------------------------------------------ mbsync

def mbsync_setup(server, user, tmp_path):
    need("mbsync")
    name, pw = user
    maildir = tmp_path / "Maildir"
    maildir.mkdir()
    rc = tmp_path / "mbsyncrc"
    rc.write_text(
        "IMAPAccount test\n"
        "Host 127.0.0.1\n"
        "Port %d\n"
        "User %s\n"
        "Pass %s\n"
        "SSLType None\n"
        "AuthMechs LOGIN\n"
        "\n"
        "IMAPStore remote\n"
        "Account test\n"
        "\n"
        "MaildirStore local\n"
        "Path %s/\n"
        "Inbox %s/INBOX\n"
        "SubFolders Verbatim\n"
        "\n"
        "Channel test\n"
        "Far :remote:\n"
        "Near :local:\n"
        "Patterns *\n"
        "Create Both\n"
        "Expunge Both\n"
        "SyncState *\n"
        "Sync All\n" % (server.port, name, pw, maildir, maildir))
    env = home_env(tmp_path)

    def sync():
        p = run(["mbsync", "-c", str(rc), "-a"], timeout=60, env=env)
        assert p.returncode == 0, "mbsync failed (%d):\nstdout: %s\nstderr: %s" % (
            p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"))
        return p

    return maildir, sync


def maildir_messages(folder):
    out = {}
    for sub in ("new", "cur"):
        d = folder / sub
        if d.is_dir():
            for f in d.iterdir():
                out[f] = f.read_bytes()
    return out


def lf(data):
    """LF line ends, without the X-TUID header mbsync adds for itself."""
    data = data.replace(b"\r\n", b"\n")
    return re.sub(rb"(?m)^X-TUID: [^\n]*\n", b"", data)


def test_mbsync_downloads(server, user, c, tmp_path):
    c.command("CREATE Work").ok()
    m1 = mailgen.plain(subject="to maildir")
    m2 = mailgen.plain(subject="in work folder")
    c.append("INBOX", m1).ok()
    c.append("Work", m2).ok()
    maildir, sync = mbsync_setup(server, user, tmp_path)
    sync()
    inbox = maildir_messages(maildir / "INBOX")
    assert len(inbox) == 1, inbox
    assert lf(list(inbox.values())[0]) == lf(m1)
    work = maildir_messages(maildir / "Work")
    assert [lf(v) for v in work.values()] == [lf(m2)], work


def test_mbsync_uploads_and_flags(server, user, c, tmp_path):
    m1 = mailgen.plain(subject="server side")
    c.append("INBOX", m1).ok()
    maildir, sync = mbsync_setup(server, user, tmp_path)
    sync()
    # mark the downloaded message seen the Maildir way
    (path, _), = maildir_messages(maildir / "INBOX").items()
    base = path.name.split(":2,")[0]
    path.rename(maildir / "INBOX" / "cur" / (base + ":2,S"))
    # a new local message is uploaded
    local = lf(mailgen.plain(subject="written locally", body="local body\r\n"))
    (maildir / "INBOX" / "new" / "1600000000.local1.testhost").write_bytes(local)
    # a local folder is created on the server
    for sub in ("cur", "new", "tmp"):
        (maildir / "LocalOnly" / sub).mkdir(parents=True)
    sync()
    c.select().ok()
    got = fetch(c, "1:*", "(FLAGS BODY.PEEK[])")
    assert len(got) == 2, got
    assert "\\SEEN" in flags_of(got[1]["FLAGS"]), got[1]
    uploaded = got[2]["BODY[]"]
    assert b"Subject: written locally" in uploaded and b"local body" in uploaded, uploaded
    r = c.command('LIST "" "*"').ok()
    assert any("LocalOnly" in repr(u) for u in r.find("LIST")), r.describe()
    # and a flag set on the server reaches the Maildir
    c.command("STORE 2 +FLAGS (\\Flagged)").ok()
    sync()
    flagged = [p for p in maildir_messages(maildir / "INBOX") if "F" in p.name.split(":2,")[-1]]
    assert len(flagged) == 1, list(maildir_messages(maildir / "INBOX"))


def test_mbsync_second_sync_is_stable(server, user, c, tmp_path):
    for i in range(5):
        c.append("INBOX", mailgen.plain(subject="stable %d" % i)).ok()
    maildir, sync = mbsync_setup(server, user, tmp_path)
    sync()
    sync()
    assert len(maildir_messages(maildir / "INBOX")) == 5
    assert status(c, "INBOX")["MESSAGES"] == 5


# ----------------------------------------------------------------- neomutt

class Tmux:
    def __init__(self, tmp_path, env):
        self.sock = "casella-%d" % os.getpid()
        self.name = "t%d" % int(time.monotonic() * 1000)
        self.env = env
        self.started = False

    def cmd(self, *args, check=True):
        p = run(["tmux", "-L", self.sock] + list(args), env=self.env, timeout=20)
        if check:
            assert p.returncode == 0, "tmux %s: %s" % (args, p.stderr.decode(errors="replace"))
        return p.stdout.decode(errors="replace")

    def start(self, command):
        self.cmd("new-session", "-d", "-s", self.name, "-x", "160", "-y", "40", command)
        self.started = True

    def screen(self):
        return self.cmd("capture-pane", "-p", "-t", self.name)

    def wait_for(self, pattern, timeout=20):
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if re.search(pattern, text):
                return text
            time.sleep(0.2)
        raise AssertionError("%r not on screen after %ds; screen:\n%s" % (pattern, timeout, text))

    def keys(self, *keys):
        self.cmd("send-keys", "-t", self.name, *keys)

    def close(self):
        if self.started:
            self.cmd("kill-session", "-t", self.name, check=False)
        self.cmd("kill-server", check=False)


@pytest.fixture
def tmux(tmp_path):
    need("tmux")
    env = home_env(tmp_path)
    env["TERM"] = "xterm-256color"
    env.pop("TMUX", None)
    t = Tmux(tmp_path, env)
    yield t
    t.close()


def test_neomutt_shows_subjects_and_body(server, user, c, tmp_path, tmux):
    need("neomutt")
    name, pw = user
    c.append("INBOX", mailgen.plain(subject="First subject line",
                                    date="Mon, 04 Jan 2021 10:00:00 +0000",
                                    body="Body of the first message.\r\n")).ok()
    c.append("INBOX", mailgen.plain(subject="Second subject line",
                                    date="Tue, 05 Jan 2021 10:00:00 +0000")).ok()
    rc = tmp_path / "neomuttrc"
    rc.write_text(
        'set folder="imap://127.0.0.1:%d/"\n'
        'set spoolfile="+INBOX"\n'
        'set imap_user="%s"\n'
        'set imap_pass="%s"\n'
        'set imap_authenticators="login"\n'
        "set ssl_starttls=no\n"
        "set ssl_force_tls=no\n"
        "set imap_passive=yes\n"
        "set header_cache=\"\"\n"
        "set message_cachedir=\"\"\n"
        "set record=\"\"\n"
        "set mail_check=60\n"
        "set sort=date-sent\n"
        "set pager_stop=yes\n"
        "set help=no\n"
        "set mbox_type=Maildir\n" % (server.port, name, pw))
    tmux.start("neomutt -n -F %s; sleep 30" % rc)
    screen = tmux.wait_for(r"Second subject line")
    assert "First subject line" in screen, screen
    # open the first message: the body is shown in the pager
    tmux.keys("Home")
    tmux.keys("Enter")
    tmux.wait_for(r"Body of the first message\.")
    tmux.keys("q")
    tmux.keys("q")  # quitting syncs the \\Seen flag to the server
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and status(c, "INBOX")["UNSEEN"] != 1:
        time.sleep(0.3)
    c.select().ok()
    seen = [d for d in fetch(c, "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])").values()
            if "\\SEEN" in flags_of(d["FLAGS"])]
    assert len(seen) == 1 and b"First subject line" in seen[0]["BODY[HEADER.FIELDS (SUBJECT)]"], (
        seen, tmux.screen())


# ----------------------------------------------------------------- imaplib

def test_imaplib_roundtrip(imap):
    """Python's imaplib, a strict-ish real client, through a whole cycle."""
    msg = mailgen.plain(subject="imaplib")
    typ, data = imap.append("INBOX", "(\\Flagged)", imaplib_time(), msg)
    assert typ == "OK", data
    typ, data = imap.create("Archive")
    assert typ == "OK", data
    typ, data = imap.select("INBOX")
    assert typ == "OK" and data == [b"1"], data
    typ, data = imap.fetch("1", "(FLAGS BODY.PEEK[])")
    assert typ == "OK", data
    assert data[0][1] == msg and b"\\Flagged" in data[0][0], data
    typ, data = imap.search(None, "FLAGGED")
    assert typ == "OK" and data == [b"1"], data
    typ, data = imap.store("1", "+FLAGS", "(\\Deleted)")
    assert typ == "OK", data
    typ, data = imap.copy("1", "Archive")
    assert typ == "OK", data
    typ, data = imap.expunge()
    assert typ == "OK" and data == [b"1"], data
    typ, data = imap.status("Archive", "(MESSAGES)")
    assert typ == "OK" and b"MESSAGES 1" in data[0], data
    typ, data = imap.list()
    assert typ == "OK" and any(b"Archive" in d for d in data), data
    typ, data = imap.close()
    assert typ == "OK", data


def test_imaplib_idle_free_noop_and_uid(imap):
    for i in range(3):
        assert imap.append("INBOX", None, None, mailgen.plain(subject="u%d" % i))[0] == "OK"
    imap.select("INBOX")
    typ, data = imap.uid("SEARCH", None, "ALL")
    assert typ == "OK" and data == [b"1 2 3"], data
    typ, data = imap.uid("FETCH", "2", "(UID RFC822.SIZE)")
    assert typ == "OK" and b"UID 2" in data[0], data
    typ, data = imap.noop()
    assert typ == "OK"


def imaplib_time():
    import imaplib as _imaplib
    return _imaplib.Time2Internaldate(1600000000)
