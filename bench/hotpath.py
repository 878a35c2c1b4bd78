"""In-process cost of the request path (parse -> dispatch -> handler -> reply),
without sockets: microseconds per request for the redis-benchmark commands
of ``run.py``, fed in the same shapes (keys drawn from 100,000, members of
one big set/hash/zset/list).

    python bench/hotpath.py [--pipeline 16] [--n 100000] [--profile NAME] [NAME ...]

Used to decide hot-path changes: it isolates the Python work that
redis-benchmark's shape (b) exposes (``--pipeline 1``: the per-read work of
shapes a and c), and is steadier than req/s on this noisy machine.  Compare a
command with PING_MBULK in the same run: the difference is the command's own
cost.  Workloads run in the order given on one server, so SPOP/ZPOPMIN/LPOP
pop what SADD/ZADD/LPUSH added (as in run.py).
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import time

from omakase.config import Config
from omakase.networking import Client
from omakase.server import Server

_R = random.Random(1)


def encode(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


def _rand() -> int:
    return _R.randrange(100000)


WORKLOADS = {
    "PING_INLINE": lambda: b"PING\r\n",
    "PING_MBULK": lambda: encode(b"PING"),
    "SET": lambda: encode(b"SET", b"key:%012d" % _rand(), b"xxx"),
    "GET": lambda: encode(b"GET", b"key:%012d" % _rand()),
    "INCR": lambda: encode(b"INCR", b"counter:%012d" % _rand()),
    "LPUSH": lambda: encode(b"LPUSH", b"mylist", b"xxx"),
    "RPUSH": lambda: encode(b"RPUSH", b"mylist", b"xxx"),
    "LPOP": lambda: encode(b"LPOP", b"mylist"),
    "RPOP": lambda: encode(b"RPOP", b"mylist"),
    "SADD": lambda: encode(b"SADD", b"myset", b"element:%d" % _rand()),
    "HSET": lambda: encode(b"HSET", b"myhash", b"element:%d" % _rand(), b"xxx"),
    "SPOP": lambda: encode(b"SPOP", b"myset"),
    "ZADD": lambda: encode(b"ZADD", b"myzset", b"%d" % _rand(), b"element:%d" % _rand()),
    "ZPOPMIN": lambda: encode(b"ZPOPMIN", b"myzset"),
    "LRANGE_100": lambda: encode(b"LRANGE", b"mylist", b"0", b"99"),
    "MSET": lambda: encode(b"MSET", *[x for _ in range(10)
                                      for x in (b"key:%012d" % _rand(), b"xxx")]),
    "EVAL": lambda: encode(b"EVAL", b"return 1", b"0"),
}


class Harness:
    """One server and one socketless client; ``run`` feeds whole batches."""

    def __init__(self) -> None:
        self.server = Server(Config())
        self.client = Client(self.server, None)

    def run(self, name: str, n: int = 100_000, pipeline: int = 16) -> float:
        """µs per request of ``name``: n requests in reads of ``pipeline``."""
        batches = self.batches(name, n, pipeline)
        t = time.perf_counter()
        self.feed(batches)
        elapsed = time.perf_counter() - t
        return elapsed / (len(batches) * pipeline) * 1e6

    @staticmethod
    def batches(name: str, n: int, pipeline: int) -> list[bytes]:
        make = WORKLOADS[name]
        return [b"".join(make() for _ in range(pipeline)) for _ in range(0, n, pipeline)]

    def feed(self, batches: list[bytes]) -> None:
        """Each batch as one read: parse, run, drop the replies."""
        c = self.client
        parser = c.parser
        process_input = c.process_input
        for chunk in batches:
            parser.feed(chunk)
            process_input()
            c.reply = []
            c.pending_write = False
        self.server.clients_pending_write.clear()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="workloads (default: all, in order)")
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--profile", metavar="NAME", help="cProfile one workload")
    args = ap.parse_args()
    h = Harness()
    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(h.run, args.profile, args.n, args.pipeline)
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)
        return
    for name in args.names or list(WORKLOADS):
        n = args.n if not name.startswith(("LRANGE", "MSET", "EVAL")) else args.n // 5
        print(f"{name:12s} {h.run(name, n, args.pipeline):7.2f} us/request "
              f"(pipeline {args.pipeline})", flush=True)


if __name__ == "__main__":
    main()
