"""In-process cost of the request path (parse -> dispatch -> handler -> reply),
without sockets: microseconds per request for a few redis-benchmark commands.

    python bench/hotpath.py [--profile]

Used to decide hot-path changes: it isolates the Python work that
redis-benchmark's shape (b) exposes, and is steady where req/s is noisy.
"""
from __future__ import annotations

import cProfile
import pstats
import sys
import time

from omakase.config import Config
from omakase.networking import Client
from omakase.server import Server


def encode(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


WORKLOADS = {
    "PING_MBULK": lambda i: encode(b"PING"),
    "SET": lambda i: encode(b"SET", b"key:%012d" % (i % 100000), b"xxx"),
    "GET": lambda i: encode(b"GET", b"key:%012d" % (i % 100000)),
    "INCR": lambda i: encode(b"INCR", b"counter:%012d" % (i % 100000)),
    "MSET": lambda i: encode(b"MSET", *[x for j in range(10) for x in (b"key:%012d" % j, b"xxx")]),
}


def run(name: str, n: int = 200_000, pipeline: int = 16) -> float:
    server = Server(Config())
    c = Client(server, None)
    make = WORKLOADS[name]
    batches = [b"".join(make(i + j) for j in range(pipeline)) for i in range(0, 4096, pipeline)]
    t = time.perf_counter()
    done = 0
    while done < n:
        for chunk in batches:
            c.parser.feed(chunk)
            c.process_input()
            c.reply = []
            c.pending_write = False
            done += pipeline
    server.clients_pending_write.clear()
    return (time.perf_counter() - t) / done * 1e6


def main() -> None:
    if "--profile" in sys.argv:
        cProfile.run("run('SET', 100000); run('GET', 100000)", "/tmp/hotpath.prof")
        pstats.Stats("/tmp/hotpath.prof").sort_stats("tottime").print_stats(15)
        return
    for name in WORKLOADS:
        print(f"{name:12s} {run(name):6.2f} us/request (pipeline 16)")


if __name__ == "__main__":
    main()
