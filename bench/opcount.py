"""Python bytecodes executed per request, by function, through the real
event loop (epoll, a socketpair client, beforeSleep writes): a measure that
does not move with the machine's load, unlike req/s.

    python bench/opcount.py [PING|GET|SET|INCR|LPUSH|EVAL] [--pipeline 16] [--lines FILE.py]

Each request is sent, one ``process_events`` pass reads and runs it, a second
pass's beforeSleep writes what was queued (so the loop's own cost is counted
twice per read: compare runs with each other, not with redis).  The counts
come from ``sys.settrace`` opcode events, so only Python bytecode is counted;
C calls (recv, send, hiredis) count as the one opcode that calls them.  Use it
with ``valgrind --tool=cachegrind`` (instructions, C included) and
``hotpath.py`` (time) when changing the request path.
"""
from __future__ import annotations

import argparse
import collections
import socket
import sys

from omakase.config import Config
from omakase.server import Server

REQUESTS = {
    "PING": b"*1\r\n$4\r\nPING\r\n",
    "GET": b"*2\r\n$3\r\nGET\r\n$16\r\nkey:000000012345\r\n",
    "SET": b"*3\r\n$3\r\nSET\r\n$16\r\nkey:000000012345\r\n$3\r\nxxx\r\n",
    "INCR": b"*2\r\n$4\r\nINCR\r\n$16\r\nkey:000000054321\r\n",
    "LPUSH": b"*3\r\n$5\r\nLPUSH\r\n$6\r\nmylist\r\n$3\r\nxxx\r\n",
    "EVAL": b"*3\r\n$4\r\nEVAL\r\n$8\r\nreturn 1\r\n$1\r\n0\r\n",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("name", nargs="?", default="PING", choices=sorted(REQUESTS))
    ap.add_argument("--pipeline", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--lines", metavar="FILE.py", help="also per line of this source file")
    args = ap.parse_args()
    server = Server(Config())
    ours, theirs = socket.socketpair()
    server._accept_client(ours, "opcount", True)
    data = REQUESTS[args.name] * args.pipeline
    el = server.el

    def one() -> None:
        theirs.sendall(data)
        el.process_events(True)
        el.process_events(True)
        theirs.recv(1 << 20)

    for _ in range(200):        # warm up: the adaptive interpreter specializes
        one()
    by_func: collections.Counter = collections.Counter()
    by_line: collections.Counter = collections.Counter()

    def tracer(frame, event, arg):
        frame.f_trace_opcodes = True
        if event == "opcode":
            code = frame.f_code
            fname = code.co_filename.rsplit("/", 1)[-1]
            by_func[(fname, code.co_name)] += 1
            by_line[(fname, frame.f_lineno or 0)] += 1
        return tracer

    for _ in range(args.rounds):
        theirs.sendall(data)
        sys.settrace(tracer)
        el.process_events(True)
        el.process_events(True)
        sys.settrace(None)
        theirs.recv(1 << 20)
    n = args.rounds
    total = sum(by_func.values()) / n
    print(f"{args.name}: {total:.0f} opcodes per read, {total / args.pipeline:.0f} per request "
          f"(pipeline {args.pipeline})")
    for (fname, func), v in by_func.most_common(25):
        print(f"{v / n:8.1f}  {fname}:{func}")
    if args.lines:
        print()
        for (fname, line), v in sorted(by_line.items()):
            if fname == args.lines and v / n >= 1:
                print(f"{v / n:8.1f}  {fname}:{line}")


if __name__ == "__main__":
    main()
