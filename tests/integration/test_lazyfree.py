"""Lazy free (lazyfree.c + bio.c): which deletions go to the background
thread (free effort over 64), INFO lazyfree_pending_objects /
lazyfreed_objects, FLUSHALL/FLUSHDB ASYNC, the lazyfree-lazy-* options, and
that the main thread answers while a big value is being freed."""
from __future__ import annotations

import threading
import time

import pytest
import redis


def lazy_stats(c) -> tuple[int, int]:
    info = c.info("memory")
    return int(info["lazyfree_pending_objects"]), int(info["lazyfreed_objects"])


def wait_freed(c, expected: int, timeout: float = 5.0) -> int:
    deadline = time.time() + timeout
    while True:
        pending, freed = lazy_stats(c)
        if (pending == 0 and freed >= expected) or time.time() > deadline:
            return freed
        time.sleep(0.01)


@pytest.fixture
def lz(server):
    c = server.client()
    c.flushall(asynchronous=False)
    for opt in ("eviction", "expire", "server-del", "user-del", "user-flush"):
        c.config_set(f"lazyfree-lazy-{opt}", "no")
    wait_freed(c, 0)
    c.config_resetstat()
    yield c
    for opt in ("eviction", "expire", "server-del", "user-del", "user-flush"):
        c.config_set(f"lazyfree-lazy-{opt}", "no")
    c.close()


def big_values(c) -> list[str]:
    """One value of each type whose free effort is over 64."""
    c.sadd("set", *[f"m{i}" for i in range(200)])                  # hashtable
    c.hset("hash", mapping={f"f{i}": i for i in range(600)})       # hashtable (> 512)
    c.zadd("zset", {f"m{i}": i for i in range(200)})               # skiplist
    c.config_set("list-max-listpack-size", 4)
    try:
        c.rpush("list", *range(400))                                # 100 nodes
    finally:
        c.config_set("list-max-listpack-size", -2)
    c.config_set("stream-node-max-entries", 2)
    try:
        for i in range(200):                                        # 100 nodes
            c.xadd("stream", {"f": i})
    finally:
        c.config_set("stream-node-max-entries", 100)
    return ["set", "hash", "zset", "list", "stream"]


def test_unlink_big_values_go_to_the_thread(lz):
    keys = big_values(lz)
    assert lz.unlink(*keys) == len(keys)
    assert lz.exists(*keys) == 0                     # gone at once
    assert wait_freed(lz, len(keys)) == len(keys)
    assert lazy_stats(lz) == (0, len(keys))


def test_small_values_are_freed_inline(lz):
    lz.set("s", "x" * 10000)                         # strings: effort 1
    lz.sadd("iset", *range(500))                     # intset: effort 1
    lz.sadd("small", *[f"m{i}" for i in range(64)])  # effort 64: not over
    lz.hset("lp", mapping={"a": 1})                  # listpack
    assert lz.unlink("s", "iset", "small", "lp") == 4
    time.sleep(0.05)
    assert lazy_stats(lz) == (0, 0)


def test_del_is_sync_unless_lazyfree_lazy_user_del(lz):
    big_values(lz)
    lz.delete("set")
    time.sleep(0.05)
    assert lazy_stats(lz)[1] == 0
    lz.config_set("lazyfree-lazy-user-del", "yes")
    lz.delete("hash", "zset")
    assert wait_freed(lz, 2) == 2


@pytest.mark.parametrize("cmd", ["flushall", "flushdb"])
def test_flush_async(lz, cmd):
    lz.execute_command("DEBUG", "POPULATE", 5000)
    lz.sadd("set", *[f"m{i}" for i in range(300)])
    lz.execute_command(cmd.upper(), "ASYNC")
    assert lz.dbsize() == 0
    assert wait_freed(lz, 5001) == 5001
    lz.set("after", "1")
    assert lz.get("after") == b"1"


def test_lazyfree_lazy_user_flush(lz):
    lz.execute_command("DEBUG", "POPULATE", 1000)
    lz.flushall()                                    # sync by default
    assert lazy_stats(lz) == (0, 0)
    lz.config_set("lazyfree-lazy-user-flush", "yes")
    lz.execute_command("DEBUG", "POPULATE", 1000)
    lz.execute_command("FLUSHALL")                   # no argument: the option decides
    assert wait_freed(lz, 1000) == 1000
    lz.execute_command("DEBUG", "POPULATE", 1000)
    lz.execute_command("FLUSHALL", "SYNC")           # explicit SYNC wins
    assert lazy_stats(lz) == (0, 1000)


def test_lazyfree_lazy_server_del(lz):
    big_values(lz)
    lz.set("src", "x")
    lz.rename("src", "set")                          # implicit delete of "set"
    time.sleep(0.05)
    assert lazy_stats(lz)[1] == 0
    lz.config_set("lazyfree-lazy-server-del", "yes")
    lz.set("src", "x")
    lz.rename("src", "hash")
    lz.set("zset", "overwritten")                    # an overwrite, too
    assert wait_freed(lz, 2) == 2
    assert lz.get("zset") == b"overwritten"


def test_lazyfree_lazy_expire(lz):
    lz.config_set("lazyfree-lazy-expire", "yes")
    lz.sadd("set", *[f"m{i}" for i in range(300)])
    lz.pexpire("set", 20)
    time.sleep(0.05)
    assert lz.exists("set") == 0                     # lazy expiry on access
    assert wait_freed(lz, 1) == 1
    assert int(lz.info("stats")["expired_keys"]) >= 1


def test_lazyfree_lazy_eviction(start_server):
    srv = start_server()
    c = srv.client()
    try:
        c.config_set("lazyfree-lazy-eviction", "yes")
        for i in range(20):
            c.sadd(f"s{i}", *[f"member-{j}" for j in range(500)])
        c.config_set("maxmemory-policy", "allkeys-random")
        c.config_set("maxmemory", int(c.info("memory")["used_memory"]) - 200 * 1024)
        # Evicted values are freed by the lazyfree thread, so the memory they
        # held is not back when the evicting command checks: performEvictions
        # waits one eviction time limit (500 us) for the thread and otherwise
        # refuses the write with OOM, in Redis too.  On a loaded machine that
        # wait can be too short, so the client retries as an application would.
        deadline = time.monotonic() + 10
        while True:
            try:
                c.set("trigger", "1")
                break
            except redis.exceptions.OutOfMemoryError:
                assert time.monotonic() < deadline, "memory never came back from the lazyfree thread"
                time.sleep(0.02)
        evicted = int(c.info("stats")["evicted_keys"])
        assert evicted > 0
        assert wait_freed(c, evicted) >= 1
        c.config_set("maxmemory", 0)
    finally:
        c.close()


def test_resetstat_clears_lazyfreed_objects(lz):
    big_values(lz)
    lz.unlink("set")
    assert wait_freed(lz, 1) == 1
    lz.config_resetstat()
    assert lazy_stats(lz) == (0, 0)


def test_main_thread_answers_while_freeing(lz, server):
    """UNLINK of a 100,000-member set returns at once and the server keeps
    answering while the thread frees it; DEL of the same set blocks for the
    whole free."""
    members = [b"m:%d" % i for i in range(100000)]

    def fill():
        lz.sadd("big", *members)

    fill()
    t0 = time.perf_counter()
    lz.delete("big")
    del_s = time.perf_counter() - t0
    fill()
    other = server.client()
    lat: list[float] = []
    stop = threading.Event()

    def probe():
        while not stop.is_set():
            t = time.perf_counter()
            other.ping()
            lat.append(time.perf_counter() - t)
    th = threading.Thread(target=probe)
    th.start()
    try:
        time.sleep(0.05)
        t0 = time.perf_counter()
        lz.unlink("big")
        unlink_s = time.perf_counter() - t0
        wait_freed(lz, 1)
    finally:
        stop.set()
        th.join()
        other.close()
    assert unlink_s < del_s
    assert lazy_stats(lz) == (0, 1)
    assert len(lat) > 5
