"""A raw RESP client for wire and differential tests: bytes in, bytes out.

`RawClient.call(*args)` sends one multibulk request and returns the exact
reply bytes (one complete RESP value, any type, RESP2 or RESP3), so tests
can compare omakase and redis-server byte for byte.
"""
from __future__ import annotations

import socket


class RawClient:
    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = bytearray()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    @staticmethod
    def encode(*args) -> bytes:
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, int):
                a = str(a).encode()
            out.append(b"$%d\r\n%b\r\n" % (len(a), a))
        return b"".join(out)

    def call(self, *args) -> bytes:
        self.send(self.encode(*args))
        return self.read_reply()

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def _line(self, pos: int) -> int:
        while True:
            i = self.buf.find(b"\r\n", pos)
            if i >= 0:
                return i
            if not self._fill():
                raise ConnectionError("closed")

    def _need(self, n: int) -> None:
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionError("closed")

    def _value_end(self, pos: int) -> int:
        self._need(pos + 1)
        t = self.buf[pos:pos + 1]
        eol = self._line(pos)
        head = bytes(self.buf[pos + 1:eol])
        if t in (b"+", b"-", b":", b",", b"#", b"_", b"("):
            return eol + 2
        if t in (b"$", b"=", b"!"):
            n = int(head)
            if n < 0:
                return eol + 2
            self._need(eol + 2 + n + 2)
            return eol + 2 + n + 2
        if t in (b"*", b"~", b">", b"%", b"|"):
            n = int(head)
            if n < 0:
                return eol + 2
            if t in (b"%", b"|"):
                n *= 2
            end = eol + 2
            for _ in range(n):
                end = self._value_end(end)
            if t == b"|":  # an attribute is followed by the real value
                end = self._value_end(end)
            return end
        raise ValueError(f"bad reply type {t!r} in {bytes(self.buf[:200])!r}")

    def read_reply(self) -> bytes:
        end = self._value_end(0)
        out = bytes(self.buf[:end])
        del self.buf[:end]
        return out

    def read_until_closed(self, timeout: float = 2.0) -> bytes:
        self.sock.settimeout(timeout)
        while True:
            try:
                if not self._fill():
                    break
            except (ConnectionResetError, socket.timeout):
                break
        out = bytes(self.buf)
        self.buf.clear()
        return out


def connect(srv, resp: int = 2) -> RawClient:
    """A raw client of `srv` (anything with host and port) speaking RESP
    `resp` (HELLO 3 sent for 3)."""
    rc = RawClient(srv.host, srv.port)
    if resp == 3:
        rc.call("HELLO", "3")
    return rc


def open_pairs(server, oracle) -> dict[int, tuple[RawClient, RawClient]]:
    """For RESP2 and RESP3, a (omakase, redis) pair of raw clients that speak
    that protocol: the usual setup of a differential test."""
    pairs = {}
    for proto in (2, 3):
        pairs[proto] = (connect(server, proto), connect(oracle, proto))
    return pairs


def close_pairs(pairs: dict[int, tuple[RawClient, RawClient]], *cleanup) -> None:
    """Tear down what `open_pairs` made: send each cleanup command (usually a
    CONFIG SET back to the default) to both servers of every pair, then close
    them all."""
    for a, b in pairs.values():
        for cmd in cleanup:
            a.call(*cmd)
            b.call(*cmd)
        a.close()
        b.close()
