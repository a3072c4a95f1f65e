"""bench/rawhttp.py - a lean keep-alive HTTPS client for the load generators.

http.client spends more CPU per request than the berth server does on a
create, and the load generator shares the machine's cores with the server
under test; this client sends pre-encoded requests on one TLS connection and
reads answers by Content-Length (or chunked), nothing more.  Used by
bench/apiserver-load.py and bench/scheduler-load.py.
"""
import socket
import ssl
import urllib.parse


class RawClient:
    def __init__(self, url, ca, token):
        u = urllib.parse.urlparse(url)
        ctx = ssl.create_default_context(cafile=ca)
        raw = socket.create_connection((u.hostname, u.port))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = ctx.wrap_socket(raw, server_hostname=u.hostname)
        self.head = (f"Host: {u.hostname}:{u.port}\r\nAuthorization: Bearer {token}\r\n").encode()
        self.buf = b""

    def request(self, method, path, body=b"", ctype="application/json"):
        """(status, body bytes) of one request."""
        req = (f"{method} {path} HTTP/1.1\r\n").encode() + self.head + (
            f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        self.sock.sendall(req)
        return self._response()

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise ConnectionError("server closed the connection")
        self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _response(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length, chunked = None, False
        for h in lines[1:]:
            k, _, v = h.partition(b":")
            k = k.strip().lower()
            if k == b"content-length":
                length = int(v)
            elif k == b"transfer-encoding" and b"chunked" in v.lower():
                chunked = True
        if not chunked:
            return status, self._take(length or 0)
        body = b""
        while True:
            n = int(self._line().split(b";")[0], 16)
            if n == 0:
                self._line()
                return status, body
            body += self._take(n)
            self._line()

    def close(self):
        self.sock.close()
