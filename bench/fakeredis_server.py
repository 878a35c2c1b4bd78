"""Launch fakeredis's TCP server for ``bench/run.py --peer fakeredis``.

fakeredis (https://github.com/cunla/fakeredis-py, ``pip install -e '.[peers]'``)
is a pure-Python Redis used as a test double; since 2.26 it ships
``fakeredis.TcpFakeServer``, a ``socketserver.ThreadingTCPServer`` that gives
each connection a thread and feeds it to an in-memory FakeServer.  It is the
Python peer the SPEED issue compares omakase with.  This launcher only starts
it on 127.0.0.1:PORT, emulating Redis 7.0 (what the suite's redis-server is),
and serves until SIGTERM (the default action ends the process, handler
threads included).  It takes no other options: fakeredis has no
persistence, no config file and no inline-command parser (so the suite's
PING_INLINE comes out n/a for it).

Usage::

    python bench/fakeredis_server.py --port 6390
"""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="fakeredis TcpFakeServer on 127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    args = ap.parse_args(argv)
    try:
        from fakeredis import TcpFakeServer
    except ImportError:
        print("fakeredis >= 2.26 is not installed (pip install 'fakeredis>=2.26', "
              "or pip install -e '.[peers]')", file=sys.stderr)
        return 3
    server = TcpFakeServer((args.bind, args.port), server_type="redis", server_version=(7, 0))
    server.daemon_threads = True          # SIGTERM/exit must not wait for client threads
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
