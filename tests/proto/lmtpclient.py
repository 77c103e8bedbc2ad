"""A raw LMTP client (RFC 2033) for the tests: exact bytes out, replies
parsed as RFC 5321 4.2 says (multi-line "250-..." until "250 ...")."""

import socket


class Reply:
    def __init__(self, code, lines):
        self.code = code
        self.lines = lines  # text after "ddd-" / "ddd "

    @property
    def text(self):
        return "\n".join(self.lines)

    def __repr__(self):
        return "Reply(%d, %r)" % (self.code, self.lines)


class Lmtp:
    def __init__(self, host=None, port=None, path=None, timeout=10.0):
        if path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(str(path))
        else:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.greeting = self.reply()

    def close(self):
        self.sock.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; buffered %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        lines = []
        while True:
            line = self._line()
            assert len(line) >= 3 and line[:3].isdigit(), "bad reply line %r" % line
            lines.append(line[4:])
            if len(line) == 3 or line[3] == " ":
                return Reply(int(line[:3]), lines)
            assert line[3] == "-", "bad reply line %r" % line

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def lhlo(self, name="test.example"):
        r = self.cmd("LHLO " + name)
        assert r.code == 250, r
        return r

    def data(self, message, rcpt_count):
        """DATA, the dot-stuffed message, the final dot: the 354 reply and
        one reply per accepted recipient."""
        r = self.cmd("DATA")
        if r.code != 354:
            return r, []
        self.send(dot_stuff(message) + b".\r\n")
        return r, [self.reply() for _ in range(rcpt_count)]

    def transaction(self, sender, rcpts, message):
        """MAIL, RCPTs, DATA pipelined (RFC 2920): (mail, [rcpt], data, [final])."""
        out = "MAIL FROM:<%s>\r\n" % sender
        out += "".join("RCPT TO:<%s>\r\n" % r for r in rcpts)
        self.send(out + "DATA\r\n")
        mail = self.reply()
        rr = [self.reply() for _ in rcpts]
        data = self.reply()
        if data.code != 354:
            return mail, rr, data, []
        self.send(dot_stuff(message) + b".\r\n")
        ok = sum(1 for r in rr if r.code == 250)
        return mail, rr, data, [self.reply() for _ in range(ok)]

    def expect_closed(self, timeout=5.0):
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, socket.timeout):
            return False


def dot_stuff(message):
    if isinstance(message, str):
        message = message.encode()
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    lines = message.split(b"\r\n")
    return b"\r\n".join(b"." + l if l.startswith(b".") else l for l in lines)
