"""The "minimal Python server" of issue 3 and PERFORMANCE.md, as a peer for
``bench/run.py --peer minimal``.

Issue 3 sets omakase's targets against what a Python server with no
semantics reaches on this machine: one epoll loop, hiredis parsing, a dict,
correct replies for the benchmarked commands, and nothing else -- no expiry,
no per-key metadata, no stats, no propagation, no client state beyond the
parser and the output list.  Measuring it in the same rounds as omakase and
redis-server shows how much of the gap to Redis is Python itself (this
server's ratio) and how much is omakase's semantics (omakase over this
server).

It is a measuring stick, not a Redis: it knows the commands the suite sends
(PING, SET, GET, INCR, LPUSH, RPUSH, LPOP, RPOP, SADD, HSET, SPOP, ZADD,
ZPOPMIN, LRANGE, MSET, plus LLEN, DEL, CONFIG, HELLO and CLIENT for the suite's own set-up and
redis-py's handshake)
with their common forms only, and answers anything else with Redis's
"unknown command" error (so EVAL comes out n/a for it).  Whether a
connection speaks inline commands or RESP is decided by its first byte, which
is what redis-benchmark's PING_INLINE connections need and no more.

List elements are kept as their RESP bulk strings (PERFORMANCE.md: the
cheapest LRANGE reply in Python is a join of ready-made bulks).

The loop has Redis's shape: replies are queued during a pass and written in
one ``send`` per client before the next ``epoll.poll`` (beforeSleep); a
short write parks the rest until the socket is writable.

Usage::

    python bench/minimal_server.py --port 6390 [--bind 127.0.0.1]
"""
from __future__ import annotations

import argparse
import heapq
import select
import socket
import sys
from collections import deque
from itertools import islice

import hiredis

OK = b"+OK\r\n"
NIL = b"$-1\r\n"
WRONGTYPE = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"


def bulk(v: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(v), v)


class WrongType(Exception):
    """A key holds another type: the loop replies WRONGTYPE."""


def typed(db: dict, key: bytes, kind: type, create: bool = True):
    """The value at ``key`` if it is a ``kind`` (a new one when missing and
    ``create``, else None); WrongType for another type."""
    v = db.get(key)
    if v is None:
        if not create:
            return None
        v = db[key] = kind()
    elif type(v) is not kind:
        raise WrongType
    return v


class ZSet:
    """member -> score, and a heap of (score, member) with stale entries
    skipped on pop (ZADD of an existing member pushes its new score)."""
    __slots__ = ("scores", "heap")

    def __init__(self) -> None:
        self.scores: dict[bytes, float] = {}
        self.heap: list[tuple[float, bytes]] = []


def make_commands(db: dict) -> dict:
    def ping(a):
        return b"+PONG\r\n" if len(a) == 1 else bulk(a[1])

    def set_(a):
        db[a[1]] = a[2]
        return OK

    def get(a):
        v = db.get(a[1])
        if v is None:
            return NIL
        return bulk(v) if type(v) is bytes else WRONGTYPE

    def incr(a):
        v = db.get(a[1], b"0")
        if type(v) is not bytes:
            return WRONGTYPE
        try:
            n = int(v) + 1
        except ValueError:
            return b"-ERR value is not an integer or out of range\r\n"
        db[a[1]] = b"%d" % n
        return b":%d\r\n" % n

    def push(a, left):
        lst = typed(db, a[1], deque)
        items = map(bulk, a[2:])            # kept as their RESP bulk
        if left:
            lst.extendleft(items)
        else:
            lst.extend(items)
        return b":%d\r\n" % len(lst)

    def pop(a, left):
        lst = typed(db, a[1], deque, False)
        if lst is None:
            return NIL
        v = lst.popleft() if left else lst.pop()
        if not lst:
            del db[a[1]]
        return v

    def sadd(a):
        s = typed(db, a[1], set)
        n = len(s)
        s.update(a[2:])
        return b":%d\r\n" % (len(s) - n)

    def spop(a):
        s = typed(db, a[1], set, False)
        if s is None:
            return NIL
        v = s.pop()
        if not s:
            del db[a[1]]
        return bulk(v)

    def hset(a):
        h = typed(db, a[1], dict)
        n = len(h)
        for i in range(2, len(a) - 1, 2):
            h[a[i]] = a[i + 1]
        return b":%d\r\n" % (len(h) - n)

    def zadd(a):
        z = typed(db, a[1], ZSet)
        added = 0
        for i in range(2, len(a) - 1, 2):
            score, member = float(a[i]), a[i + 1]
            old = z.scores.get(member)
            if old is None:
                added += 1
            if old != score:
                z.scores[member] = score
                heapq.heappush(z.heap, (score, member))
        return b":%d\r\n" % added

    def zpopmin(a):
        z = typed(db, a[1], ZSet, False)
        if z is None:
            return b"*0\r\n"
        while True:
            score, member = heapq.heappop(z.heap)
            if z.scores.get(member) == score:
                break
        del z.scores[member]
        if not z.scores:
            del db[a[1]]
        return b"*2\r\n" + bulk(member) + bulk(b"%.17g" % score)

    def lrange(a):
        lst = typed(db, a[1], deque, False)
        if lst is None:
            return b"*0\r\n"
        n = len(lst)
        start, stop = int(a[2]), int(a[3])
        start = max(start + n if start < 0 else start, 0)
        stop = min(stop + n if stop < 0 else stop, n - 1)
        if start > stop:
            return b"*0\r\n"
        items = islice(lst, start, stop + 1)
        return b"*%d\r\n" % (stop - start + 1) + b"".join(items)

    def mset(a):
        for i in range(1, len(a) - 1, 2):
            db[a[i]] = a[i + 1]
        return OK

    def llen(a):
        lst = typed(db, a[1], deque, False)
        return b":%d\r\n" % (len(lst) if lst else 0)

    def delete(a):
        return b":%d\r\n" % sum(db.pop(k, None) is not None for k in a[1:])

    def config(a):
        return b"*0\r\n"

    def hello(a):
        # redis-py's handshake (its default is RESP3 since 8.0).  Only HELLO
        # itself answers in RESP3; the suite's commands reply alike in both.
        proto = a[1] if len(a) > 1 else b"2"
        if proto not in (b"2", b"3"):
            return b"-NOPROTO unsupported protocol version\r\n"
        head = b"%7\r\n" if proto == b"3" else b"*14\r\n"
        return (head + b"".join(map(bulk, [b"server", b"redis", b"version", b"7.0.15", b"proto"]))
                + b":%b\r\n" % proto + bulk(b"id") + b":1\r\n"
                + b"".join(map(bulk, [b"mode", b"standalone", b"role", b"master", b"modules"]))
                + b"*0\r\n")

    return {
        b"PING": ping, b"SET": set_, b"GET": get, b"INCR": incr,
        b"LPUSH": lambda a: push(a, True), b"RPUSH": lambda a: push(a, False),
        b"LPOP": lambda a: pop(a, True), b"RPOP": lambda a: pop(a, False),
        b"SADD": sadd, b"SPOP": spop, b"HSET": hset, b"ZADD": zadd, b"ZPOPMIN": zpopmin,
        b"LRANGE": lrange, b"MSET": mset, b"LLEN": llen, b"DEL": delete, b"CONFIG": config,
        b"HELLO": hello, b"CLIENT": lambda a: OK,
    }


class Conn:
    __slots__ = ("sock", "reader", "out", "inline", "rest", "parked")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = hiredis.Reader()
        self.out: list[bytes] = []
        self.inline: bool | None = None     # decided by the first byte received
        self.rest = b""                     # an inline line not yet ended
        self.parked = False                 # output waiting for EPOLLOUT


def serve(bind: str, port: int) -> None:
    db: dict = {}
    commands = make_commands(db)
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((bind, port))
    lsock.listen(511)
    lsock.setblocking(False)
    lfd = lsock.fileno()
    ep = select.epoll()
    ep.register(lfd, select.EPOLLIN)
    conns: dict[int, Conn] = {}
    pending: list[Conn] = []

    def close(c: Conn) -> None:
        fd = c.sock.fileno()
        ep.unregister(fd)
        c.sock.close()
        del conns[fd]

    def flush(c: Conn) -> None:
        data = b"".join(c.out)
        c.out.clear()
        try:
            sent = c.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            close(c)
            return
        if sent < len(data):
            c.out.append(data[sent:])
            if not c.parked:
                c.parked = True
                ep.modify(c.sock.fileno(), select.EPOLLIN | select.EPOLLOUT)
        elif c.parked:
            c.parked = False
            ep.modify(c.sock.fileno(), select.EPOLLIN)

    while True:
        for c in pending:                    # beforeSleep: one send per client
            if c.out and not c.parked and c.sock.fileno() in conns:
                flush(c)
        pending.clear()
        for fd, ev in ep.poll():
            if fd == lfd:
                try:
                    s, _ = lsock.accept()
                except BlockingIOError:
                    continue
                s.setblocking(False)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conns[s.fileno()] = Conn(s)
                ep.register(s.fileno(), select.EPOLLIN)
                continue
            c = conns.get(fd)
            if c is None:
                continue
            if ev & select.EPOLLOUT:
                flush(c)
                if fd not in conns:
                    continue
            if not ev & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                continue
            try:
                data = c.sock.recv(16384)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                close(c)
                continue
            if c.inline is None:
                c.inline = data[:1] != b"*"
            if c.inline:
                lines = (c.rest + data).split(b"\r\n")
                c.rest = lines.pop()
                reqs = [line.split() for line in lines]
            else:
                c.reader.feed(data)
                reqs = list(iter(c.reader.gets, False))
            out = c.out
            for req in reqs:
                if not req:
                    continue
                f = commands.get(req[0].upper())
                if f is None:
                    out.append(b"-ERR unknown command '%b'\r\n" % req[0])
                    continue
                try:
                    out.append(f(req))
                except WrongType:
                    out.append(WRONGTYPE)
                except (IndexError, ValueError):
                    out.append(b"-ERR syntax error\r\n")
            if out:
                pending.append(c)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="the minimal Python server (epoll + hiredis)")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    args = ap.parse_args(argv)
    serve(args.bind, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
