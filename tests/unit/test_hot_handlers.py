"""In-process checks of the inlined hot cases of GET/SET/MSET/INCR
(``types/string.py``) and of EVAL/FCALL's run path (``scripting``): every
keyspace hook the inlined code must still honour (lazy expiry, TTL removal,
WATCH, tracking, lazy free, blocked-client readiness, notifications,
hits/misses, LRU touch, rehashing and resizing tables), KEYS/ARGV built by
the Lua runner (varargs and table forms), the body-keyed script cache and
the count hook kept between runs."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from inproc import InProcess, name_key  # noqa: E402

from omakase.networking import Client, ClientFlag  # noqa: E402


# ---------------------------------------------------------------------------
# strings
# ---------------------------------------------------------------------------
def test_set_mset_incr_events_dirty_and_replies():
    p = InProcess(event=name_key, with_dirty=True)
    assert p("SET", "a", "1") == b"+OK\r\n"
    assert p("MSET", "a", "2", "b", "3", "a", "4") == b"+OK\r\n"
    assert p("INCR", "a") == b":5\r\n"
    assert p("INCR", "n") == b":1\r\n"
    assert p("GET", "a") == b"$1\r\n5\r\n"
    assert p("GET", "zz") == b"$-1\r\n"
    prop, events, dirty = p.take()
    assert events == [("set", b"a"), ("set", b"a"), ("set", b"b"), ("set", b"a"),
                      ("incrby", b"a"), ("incrby", b"n")]
    assert dirty == 6
    assert prop == [[b"SET", b"a", b"1"], [b"MSET", b"a", b"2", b"b", b"3", b"a", b"4"],
                    [b"INCR", b"a"], [b"INCR", b"n"]]
    db = p.server.dbs[0]
    assert db.keys.used == 3        # duplicate MSET key counted once
    assert p("DBSIZE") == b":3\r\n"


def test_get_hits_misses_and_lru_touch():
    p = InProcess()
    srv = p.server
    p("SET", "k", "v")
    hits, misses = srv.stat_keyspace_hits, srv.stat_keyspace_misses
    p("GET", "k")
    p("GET", "nope")
    assert (srv.stat_keyspace_hits, srv.stat_keyspace_misses) == (hits + 1, misses + 1)
    db = srv.dbs[0]
    # An old LRU field is refreshed by GET (and kept by OBJECT's no-touch).
    db.keys.set(b"k", b"v" + b"\x00\x00\x00")
    p("GET", "k")
    assert db.peek(b"k").endswith(srv.lru_trailer)
    p("LPUSH", "l", "x")
    assert p("GET", "l").startswith(b"-WRONGTYPE")
    assert p("INCR", "l").startswith(b"-WRONGTYPE")


def test_writes_drop_ttl_and_expire_lazily():
    p = InProcess()
    srv = p.server
    p("SET", "t", "1", "EX", "100")
    p("SET", "t", "2")
    assert p("TTL", "t") == b":-1\r\n"
    p("SET", "u", "1", "EX", "100")
    p("MSET", "u", "2", "w", "3")
    assert p("TTL", "u") == b":-1\r\n"
    # A logically expired key is deleted (and DEL propagated) before SET.
    p("SET", "x", "1", "PX", "100000")
    db = srv.dbs[0]
    db.set_expire(b"x", 1)
    p.take()
    p("SET", "x", "9")
    prop, _ = p.take()
    assert prop == [[b"MULTI"], [b"DEL", b"x"], [b"SET", b"x", b"9"], [b"EXEC"]]
    db.set_expire(b"x", 1)
    assert p("INCR", "x") == b":1\r\n"
    db.set_expire(b"x", 1)
    assert p("GET", "x") == b"$-1\r\n"


def test_watch_and_tracking_see_inlined_writes():
    p = InProcess()
    srv = p.server
    other = Client(srv, None)
    for cmd in ([b"SET", b"w", b"1"], [b"MSET", b"w", b"1", b"v", b"2"], [b"INCR", b"w2"]):
        key = cmd[1]
        srv.call_from(other, [b"WATCH", key])
        p(*cmd)
        assert other.flags & ClientFlag.DIRTY_CAS, cmd
        srv.call_from(other, [b"UNWATCH"])
    seen = []
    for db in srv.dbs:
        db.tracking_hook = seen.append
    p("SET", "a", "1")
    p("MSET", "b", "1", "c", "2")
    p("INCR", "d")
    assert seen == [b"a", b"b", b"c", b"d"]


def test_lazyfree_and_blocked_keys_take_the_generic_path():
    p = InProcess()
    srv = p.server
    freed = []
    srv.lazyfree_server_del = True
    saved = srv.lazyfree_hook
    srv.lazyfree_hook = freed.append
    try:
        p("SET", "a", "1")
        p("SET", "a", "2")
        p("MSET", "a", "3", "b", "4")
        p("INCR", "a")
    finally:
        srv.lazyfree_server_del = False
        srv.lazyfree_hook = saved
    assert len(freed) == 3
    db = srv.dbs[0]
    db.blocking_keys[b"q"] = []
    srv.ready_keys.clear()
    p("SET", "q", "1")
    p("MSET", "q", "2")
    p("INCR", "q")
    assert [k for _db, k in srv.ready_keys] == [b"q", b"q", b"q"]
    del db.blocking_keys[b"q"]
    srv.ready_keys.clear()


def test_many_keys_through_resize_and_rehash():
    p = InProcess()
    db = p.server.dbs[0]
    for i in range(0, 3000, 10):
        args = []
        for j in range(i, i + 10):
            args += [b"k%d" % j, b"%d" % j]
        p("MSET", *args)
        p("SET", b"s%d" % i, b"x")
        p("INCR", b"c%d" % (i % 700))
    n = 3000 + 300 + 70
    assert db.keys.used == n == sum(len(b) for b in db.keys.t0) + sum(
        len(b) for b in (db.keys.t1 or []) if b is not None)
    for j in range(0, 3000, 7):
        assert p("GET", b"k%d" % j) == b"$%d\r\n%d\r\n" % (len(b"%d" % j), j)
    assert p("GET", "c10") == b"$1\r\n5\r\n"


def test_incr_errors_keep_value_and_touch():
    p = InProcess()
    db = p.server.dbs[0]
    p("SET", "s", "abc")
    db.keys.set(b"s", b"abc" + b"\x00\x00\x00")
    assert p("INCR", "s").startswith(b"-ERR value is not an integer")
    assert db.peek(b"s") == b"abc" + p.server.lru_trailer
    p("SET", "m", str(2 ** 63 - 1))
    assert p("INCR", "m").startswith(b"-ERR increment or decrement would overflow")
    for bad in (b" 1", b"01", b"+1", b"1_0", b"1" * 21, b"9223372036854775808"):
        p("SET", "b", bad)
        assert p("INCR", "b").startswith(b"-ERR value is not an integer"), bad
    p("SET", "neg", "-5")
    assert p("DECRBY", "neg", "10") == b":-15\r\n"


# ---------------------------------------------------------------------------
# scripting
# ---------------------------------------------------------------------------
SHOW = b"return {#KEYS, #ARGV, table.concat(KEYS, ','), table.concat(ARGV, ',')}"


def _show(nk: int, na: int) -> bytes:
    keys = ",".join("k%d" % i for i in range(nk)).encode()
    args = ",".join("a%d" % i for i in range(na)).encode()
    return b"*4\r\n:%d\r\n:%d\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (
        nk, na, len(keys), keys, len(args), args)


def test_eval_keys_and_argv_in_both_forms():
    p = InProcess()
    for nk, na in ((0, 0), (0, 3), (2, 0), (2, 3), (1, 100), (70, 0), (40, 40)):
        argv = [b"k%d" % i for i in range(nk)] + [b"a%d" % i for i in range(na)]
        assert p("EVAL", SHOW, nk, *argv) == _show(nk, na), (nk, na)
    assert p("EVAL", SHOW, "03", "x", "y", "z").startswith(b"-ERR value is not an integer")
    assert p("EVAL", "return 1", "-1").startswith(b"-ERR Number of keys can't be negative")
    assert p("EVAL", "return 1", "2", "a").startswith(b"-ERR Number of keys can't be greater")
    assert p("EVAL", "return 1", "x").startswith(b"-ERR value is not an integer")


def test_fcall_keys_and_argv_in_both_forms():
    p = InProcess()
    lib = (b"#!lua name=t\nredis.register_function('show', function(k, a) "
           b"return {#k, #a, table.concat(k, ','), table.concat(a, ',')} end)")
    assert p("FUNCTION", "LOAD", lib) == b"$1\r\nt\r\n"
    for nk, na in ((0, 0), (2, 3), (70, 0), (1, 100)):
        argv = [b"k%d" % i for i in range(nk)] + [b"a%d" % i for i in range(na)]
        assert p("FCALL", "show", nk, *argv) == _show(nk, na), (nk, na)


def test_eval_replies_and_errors():
    p = InProcess()
    assert p("EVAL", "return 1", 0) == b":1\r\n"
    assert p("EVAL", "return -7", 0) == b":-7\r\n"
    assert p("EVAL", "return 12345", 0) == b":12345\r\n"
    assert p("EVAL", "return 3.9", 0) == b":3\r\n"
    assert p("EVAL", "return 2^63", 0) == b":-9223372036854775808\r\n"
    assert p("EVAL", "return 'x'", 0) == b"$1\r\nx\r\n"
    assert p("EVAL", "return nil", 0) == b"$-1\r\n"
    assert p("EVAL", "return true", 0) == b":1\r\n"
    assert p("EVAL", "return 1, 2", 0) == b":1\r\n"
    assert p("EVAL", "error('boom')", 0).startswith(
        b"-ERR user_script:1: boom script: ")
    assert p("EVAL", "return redis.call('nosuch')", 0).startswith(
        b"-ERR Unknown Redis command called from script")


def test_script_cache_by_body_and_flush():
    p = InProcess()
    body = b"return 42"
    sha = p("SCRIPT", "LOAD", body).split(b"\r\n")[1]
    assert p("EVALSHA", sha, 0) == b":42\r\n"
    assert p("EVAL", body, 0) == b":42\r\n"
    assert p("SCRIPT", "EXISTS", sha) == b"*1\r\n:1\r\n"
    p("SCRIPT", "FLUSH")
    assert p("EVALSHA", sha, 0).startswith(b"-NOSCRIPT")
    assert p("EVAL", body, 0) == b":42\r\n"
    assert p("EVALSHA", sha, 0) == b":42\r\n"
    # A shebang script still gets prepare()'s checks.
    assert p("EVAL_RO", b"#!lua\nreturn 1", 0).startswith(
        b"-ERR Can not execute a script with write flag using *_ro command.")
    assert p("EVAL_RO", b"#!lua flags=no-writes\nreturn 1", 0) == b":1\r\n"
    assert p("EVAL", b"#!lua flags=bogus\nreturn 1", 0).startswith(
        b"-ERR Unexpected flag in script shebang: bogus")


def test_count_hook_follows_the_threshold_and_kill():
    p = InProcess()
    srv = p.server
    loop = b"local n = 0 for i = 1, 300000 do n = n + 1 end return n"
    assert p("EVAL", loop, 0) == b":300000\r\n"
    p("CONFIG", "SET", "busy-reply-threshold", "0")
    assert p("EVAL", loop, 0) == b":300000\r\n"
    p("CONFIG", "SET", "busy-reply-threshold", "5000")
    # A kill (the hook raises and switches to a line hook) leaves the next
    # runs unaffected: math.random here sets the kill flag the count hook
    # then sees.
    from omakase.scripting import state
    st = state(srv)
    engine = st.eval_engine

    class KillingRand:
        def next31(self):
            st.ctx.killed = True
            return 0
    saved = engine.rand
    engine.rand = KillingRand()
    try:
        out = p("EVAL", b"math.random() " + loop, 0)
    finally:
        engine.rand = saved
    assert out.startswith(b"-ERR Script killed by user with SCRIPT KILL..."), out
    assert p("EVAL", "return 5", 0) == b":5\r\n"
    assert p("EVAL", loop, 0) == b":300000\r\n"


def test_keyspace_events_through_the_real_notify_hook():
    """The standard hook is skipped only while its class is disabled."""
    from omakase.config import Config
    from omakase.server import Server

    srv = Server(Config())
    c = Client(srv, None)
    sub = Client(srv, None)
    srv.call_from(sub, [b"SUBSCRIBE", b"__keyevent@0__:set", b"__keyevent@0__:incrby"])
    sub.reply = []
    srv.call_from(c, [b"SET", b"a", b"1"])
    srv.call_from(c, [b"MSET", b"b", b"1", b"c", b"2"])
    srv.call_from(c, [b"INCR", b"n"])
    assert b"".join(sub.reply) == b""
    srv.call_from(c, [b"CONFIG", b"SET", b"notify-keyspace-events", b"E$"])
    srv.call_from(c, [b"SET", b"a", b"1"])
    srv.call_from(c, [b"MSET", b"b", b"1", b"c", b"2"])
    srv.call_from(c, [b"INCR", b"n"])
    out = b"".join(sub.reply)
    keys = [k for k in (b"a", b"b", b"c", b"n") if b"\r\n$1\r\n%b\r\n" % k in out]
    assert keys == [b"a", b"b", b"c", b"n"]
    assert out.count(b"__keyevent@0__:set") == 3
    assert out.count(b"__keyevent@0__:incrby") == 1
    srv.call_from(c, [b"CONFIG", b"SET", b"notify-keyspace-events", b"Eg"])
    sub.reply = []
    srv.call_from(c, [b"MSET", b"b", b"1"])
    assert b"".join(sub.reply) == b""
