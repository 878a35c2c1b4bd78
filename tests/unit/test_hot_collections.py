"""In-process checks of the inlined hot cases of LPUSH/RPUSH/LPOP/RPOP/LRANGE
(``types/list.py``), SADD/SPOP (``types/set.py``) and HSET
(``types/hash.py``): events, propagation, dirty, hits/misses, LRU touch,
WATCH, lazy expiry, blocked-client readiness, a rehashing keyspace, and
SPOP drawing the very member ``HashTable.random_item`` would for the same
random state (rehashing or not)."""
from __future__ import annotations

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from inproc import InProcess, name_key  # noqa: E402

from omakase.hashtable import HashTable  # noqa: E402
from omakase.networking import ClientFlag  # noqa: E402


def test_list_events_dirty_propagation_and_replies():
    p = InProcess(event=name_key, with_dirty=True)
    assert p("LPUSH", "l", "a") == b":1\r\n"
    assert p("RPUSH", "l", "b") == b":2\r\n"
    assert p("LPUSH", "l", "1") == b":3\r\n"
    assert p("LRANGE", "l", "0", "99") == b"*3\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\nb\r\n"
    assert p("LPOP", "l") == b"$1\r\n1\r\n"
    assert p("RPOP", "l") == b"$1\r\nb\r\n"
    assert p("RPOP", "l") == b"$1\r\na\r\n"
    assert p("LPOP", "l") == b"$-1\r\n"
    assert p("LRANGE", "l", "0", "99") == b"*0\r\n"
    prop, events, dirty = p.take()
    assert prop == [[b"LPUSH", b"l", b"a"], [b"RPUSH", b"l", b"b"], [b"LPUSH", b"l", b"1"],
                    [b"LPOP", b"l"], [b"RPOP", b"l"], [b"RPOP", b"l"]]
    assert events == [("lpush", b"l"), ("rpush", b"l"), ("lpush", b"l"), ("lpop", b"l"),
                      ("rpop", b"l"), ("rpop", b"l"), ("del", b"l")]
    assert dirty == 6
    p("SET", "s", "x")
    for cmd in (("LPUSH", "s", "a"), ("RPOP", "s"), ("LRANGE", "s", "0", "1")):
        assert p(*cmd).startswith(b"-WRONGTYPE")


def test_hits_misses_touch_and_watch():
    p = InProcess()
    srv = p.server
    p("RPUSH", "l", "a", "b")
    o = srv.dbs[0].keys.get(b"l")
    o.lru = 0
    hits, misses = srv.stat_keyspace_hits, srv.stat_keyspace_misses
    p("LRANGE", "l", "0", "99")
    p("LRANGE", "nokey", "0", "99")
    p("LPUSH", "l", "c")                # write lookups count nothing
    assert (srv.stat_keyspace_hits, srv.stat_keyspace_misses) == (hits + 1, misses + 1)
    assert o.lru == srv.lru_clock
    for cmd, key in ((("LPUSH", "l", "x"), "l"), (("RPOP", "l"), "l"),
                     (("SADD", "st", "m"), "st"), (("SPOP", "st"), "st"),
                     (("HSET", "h", "f", "v"), "h")):
        p("WATCH", key)
        p(*cmd)
        assert p.client.flags & ClientFlag.DIRTY_CAS
        p("UNWATCH")
        p.client.flags &= ~ClientFlag.DIRTY_CAS


def test_lazy_expiry_and_rehashing_keyspace():
    p = InProcess(event=name_key)
    srv = p.server
    p("RPUSH", "l", "old")
    p("SADD", "st", "element:1")
    p("HSET", "h", "f", "v")
    for k in ("l", "st", "h"):
        p("PEXPIRE", k, "1")
    srv.dbs[0].expires.set(b"l", 0)
    srv.dbs[0].expires.set(b"st", 0)
    srv.dbs[0].expires.set(b"h", 0)
    p.take()
    assert p("LPUSH", "l", "new") == b":1\r\n"
    assert p("SADD", "st", "element:2") == b":1\r\n"
    assert p("HSET", "h", "g", "w") == b":1\r\n"
    _, events = p.take()
    assert ("expired", b"l") in events and ("expired", b"st") in events
    # Force the keyspace table into a rehash: the commands go through
    # db.lookup and still work.
    keys = srv.dbs[0].keys
    for i in range(2000):
        p("SET", "k%d" % i, "v")
    assert keys.rehashidx >= 0 or keys.used
    assert p("RPUSH", "l", "x") == b":2\r\n"
    assert p("LRANGE", "l", "0", "99") == b"*2\r\n$3\r\nnew\r\n$1\r\nx\r\n"
    assert p("LPOP", "l") == b"$3\r\nnew\r\n"


def test_push_signals_blocked_waiters():
    p = InProcess()
    srv = p.server
    db = srv.dbs[0]
    p("RPUSH", "l", "a")
    db.blocking_keys[b"l"] = [object()]
    srv.ready_keys.clear()
    p("RPUSH", "l", "b")
    assert (db, b"l") in srv.ready_keys
    del db.blocking_keys[b"l"]


def test_sadd_spop_hset_hashtable_paths():
    p = InProcess(event=name_key, with_dirty=True)
    members = [b"element:%d" % i for i in range(3000)]
    added = sum(int(p("SADD", "st", m)[1:-2]) for m in members)
    assert added == 3000 and p("SADD", "st", members[5]) == b":0\r\n"
    assert p("OBJECT", "ENCODING", "st") == b"$9\r\nhashtable\r\n"
    d = p.server.dbs[0].keys.get(b"st").data
    assert isinstance(d, HashTable)
    p.take()
    seen = set()
    rehashing = 0
    for _ in range(3000):
        state = random.getstate()
        expect = d.random_item()[0]
        random.setstate(state)
        rehashing += d.rehashidx >= 0
        got = p("SPOP", "st")
        assert got == b"$%d\r\n%b\r\n" % (len(expect), expect)
        seen.add(expect)
    assert seen == set(members) and rehashing
    assert p("EXISTS", "st") == b":0\r\n"
    prop, events, dirty = p.take()
    assert len(prop) == 3000 and all(a[0] == b"SREM" for a in prop)
    assert events.count(("spop", b"st")) == 3000 and events[-1] == ("del", b"st")
    assert dirty == 6000          # server.dirty: 3000 SADDs, then 3000 SPOPs
    for i in range(600):
        assert p("HSET", "h", "f%d" % i, "v") == b":1\r\n"
    assert p("HSET", "h", "f1", "w") == b":0\r\n"
    assert p("HGET", "h", "f1") == b"$1\r\nw\r\n"
    assert p("OBJECT", "ENCODING", "h") == b"$9\r\nhashtable\r\n"
    prop, events, dirty = p.take()
    assert len(prop) == 601 and events == [("hset", b"h")] * 601 and dirty == 6601
