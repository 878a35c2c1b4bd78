"""Dropped values leave no cyclic garbage.

The server never runs the cyclic collector over old objects (gc is off and
serverCron collects only the young generations), so a value type whose
objects reference each other must break those cycles itself when it is
dropped, or DEL of an old big value leaks it.  Skiplist zsets (backward
pointers) and streams with pending entries (entry <-> consumer) do.
"""
from __future__ import annotations

import gc
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from inproc import InProcess  # noqa: E402


def cyclic_garbage_after(run, *cmds) -> list:
    gc.collect()
    for args in cmds:
        run(*args)
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = list(gc.garbage)
        gc.garbage.clear()
    finally:
        gc.set_debug(0)
    return found


def test_deleted_skiplist_zset_and_stream_leave_no_cycles():
    run = InProcess()
    members = []
    for i in range(500):
        members += [str(i), f"m{i}"]
    run("ZADD", "z", *members)
    assert run("OBJECT", "ENCODING", "z") == b"$8\r\nskiplist\r\n"
    for i in range(300):
        run("XADD", "st", "*", "f", str(i))
    run("XGROUP", "CREATE", "st", "g", "0")
    run("XREADGROUP", "GROUP", "g", "alice", "COUNT", "300", "STREAMS", "st", ">")
    garbage = cyclic_garbage_after(run, ("DEL", "z"), ("DEL", "st"))
    assert not garbage, {type(o).__name__ for o in garbage}


def test_overwritten_and_flushed_values_leave_no_cycles():
    run = InProcess()
    members = []
    for i in range(300):
        members += [str(i), f"m{i}"]
    run("ZADD", "z", *members)
    run("ZADD", "z2", *members)
    garbage = cyclic_garbage_after(run, ("SET", "z", "now a string"), ("FLUSHALL", "SYNC"))
    assert not garbage, {type(o).__name__ for o in garbage}
