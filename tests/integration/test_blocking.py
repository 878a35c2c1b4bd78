"""Blocking list commands with real concurrent clients.

Clients that block are raw sockets (``RawClient``) or redis-py connections in
threads; the test waits until the server reports them blocked (INFO
``blocked_clients``) before acting, so ordering is deterministic.  What is
checked: immediate service, service by pushes from other clients (LPUSH,
RPUSH, LMOVE, a served BLMOVE, SWAPDB), FIFO order, timeouts (including
0.1 s and many clients with different deadlines), pipelined commands behind a
blocking command, disconnects while blocked, CLIENT UNBLOCK, the MULTI
behaviour, propagation of served commands (in process), and that 1,000
blocked clients leave the server idle (CPU time read from /proc/PID/stat).
"""
from __future__ import annotations

import os
import select
import sys
import threading
import time

import pytest
import redis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from inproc import QuietLog, argv_of  # noqa: E402
from rawclient import RawClient  # noqa: E402

NULL_ARRAY = b"*-1\r\n"


def blocked_clients(r) -> int:
    return int(r.info("clients")["blocked_clients"])


def wait_blocked(r, n: int, timeout: float = 10.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if blocked_clients(r) == n:
            return
        time.sleep(0.005)
    raise AssertionError(f"expected {n} blocked clients, have {blocked_clients(r)}")


def has_data(c: RawClient, wait: float = 0.0) -> bool:
    if c.buf:
        return True
    ready, _, _ = select.select([c.sock], [], [], wait)
    return bool(ready)


@pytest.fixture
def raw(server, r):
    made = []

    def make(proto: int = 2) -> RawClient:
        c = RawClient(server.host, server.port)
        if proto == 3:
            c.call("HELLO", "3")
        made.append(c)
        return c

    yield make
    for c in made:
        try:
            c.close()
        except OSError:
            pass
    wait_blocked(r, 0)


def block(c: RawClient, r, n: int, *cmd) -> None:
    """Send a blocking command and wait until the server counts n blocked."""
    c.send(c.encode(*cmd))
    wait_blocked(r, n)


# -- immediate service ----------------------------------------------------------
def test_immediate_when_data_exists(r):
    r.rpush("a", "1", "2")
    r.rpush("b", "x")
    assert r.blpop(["nokey", "a", "b"], 0) == (b"a", b"1")
    assert r.brpop(["nokey", "a", "b"], 0) == (b"a", b"2")
    assert r.blpop(["a", "b"], 0) == (b"b", b"x")
    r.rpush("s", "1", "2", "3")
    assert r.blmove("s", "d", 0, "LEFT", "RIGHT") == b"1"
    assert r.brpoplpush("s", "d", 0) == b"3"
    assert r.lrange("d", 0, -1) == [b"3", b"1"]
    assert r.blmpop(0, 2, "nokey", "d", direction="RIGHT", count=5) == [b"d", [b"1", b"3"]]
    assert not r.exists("a", "b", "d")
    assert r.lrange("s", 0, -1) == [b"2"]


# -- served by other clients --------------------------------------------------------
def test_blpop_served_by_push(r, raw):
    c = raw()
    block(c, r, 1, "BLPOP", "k1", "k2", "0")
    assert not has_data(c, 0.05)
    assert r.rpush("k2", "v1", "v2") == 2
    assert c.read_reply() == b"*2\r\n$2\r\nk2\r\n$2\r\nv1\r\n"
    assert r.lrange("k2", 0, -1) == [b"v2"]
    assert blocked_clients(r) == 0


def test_brpop_and_resp3(r, raw):
    c = raw(3)
    block(c, r, 1, "BRPOP", "k", "0")
    r.lpush("k", "a", "b")
    assert c.read_reply() == b"*2\r\n$1\r\nk\r\n$1\r\na\r\n"
    assert r.lrange("k", 0, -1) == [b"b"]


def test_fifo_order(r, raw):
    clients = [raw() for _ in range(4)]
    for i, c in enumerate(clients):
        block(c, r, i + 1, "BLPOP", "q", "0")
    r.rpush("q", "a", "b", "c")
    for c, v in zip(clients, (b"a", b"b", b"c")):
        assert c.read_reply() == b"*2\r\n$1\r\nq\r\n$1\r\n" + v + b"\r\n"
    assert not has_data(clients[3], 0.05)
    assert not r.exists("q")
    r.rpush("q", "d")
    assert clients[3].read_reply().endswith(b"d\r\n")


def test_client_on_several_keys_is_served_once(r, raw):
    c = raw()
    block(c, r, 1, "BLPOP", "x", "y", "x", "0")
    r.rpush("y", "1")
    assert c.read_reply() == b"*2\r\n$1\r\ny\r\n$1\r\n1\r\n"
    r.rpush("x", "2")
    time.sleep(0.05)
    assert r.lrange("x", 0, -1) == [b"2"]         # nobody waits on x any more


def test_served_by_lmove_and_chained_blmove(r, raw):
    mover, popper = raw(), raw()
    block(mover, r, 1, "BLMOVE", "src", "mid", "RIGHT", "LEFT", "0")
    block(popper, r, 2, "BLPOP", "mid", "0")
    r.rpush("other", "x", "y")
    assert r.lmove("other", "src", "LEFT", "RIGHT") == b"x"
    assert mover.read_reply() == b"$1\r\nx\r\n"
    assert popper.read_reply() == b"*2\r\n$3\r\nmid\r\n$1\r\nx\r\n"
    assert not r.exists("src", "mid")
    assert r.lrange("other", 0, -1) == [b"y"]


def test_brpoplpush_and_blmpop_served(r, raw):
    a, b = raw(), raw()
    block(a, r, 1, "BRPOPLPUSH", "s", "d", "0")
    block(b, r, 2, "BLMPOP", "0", "2", "m1", "m2", "RIGHT", "COUNT", "3")
    r.rpush("s", "1", "2")
    assert a.read_reply() == b"$1\r\n2\r\n"
    assert r.lrange("d", 0, -1) == [b"2"]
    r.rpush("m2", "a", "b")
    assert b.read_reply() == b"*2\r\n$2\r\nm2\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n"
    assert not r.exists("m2")


def test_blmove_same_key(r, raw):
    c = raw()
    block(c, r, 1, "BLMOVE", "k", "k", "LEFT", "RIGHT", "0")
    r.rpush("k", "only")
    assert c.read_reply() == b"$4\r\nonly\r\n"
    assert r.lrange("k", 0, -1) == [b"only"]


def test_served_blmove_wrongtype_destination(r, raw):
    c = raw()
    block(c, r, 1, "BLMOVE", "s", "dst", "LEFT", "RIGHT", "0")
    r.set("dst", "string")
    r.rpush("s", "v1", "v2")
    assert c.read_reply().startswith(b"-WRONGTYPE")
    assert r.lrange("s", 0, -1) == [b"v1", b"v2"]


def test_threads_with_redis_py(server, r):
    results = {}

    def worker(name, key):
        cl = server.client()
        results[name] = cl.blpop([key], 5)
        cl.close()

    threads = [threading.Thread(target=worker, args=(f"t{i}", f"tk{i % 3}")) for i in range(6)]
    for t in threads:
        t.start()
    wait_blocked(r, 6)
    for i in range(3):
        r.rpush(f"tk{i}", "a", "b")
    for t in threads:
        t.join(10)
    assert sorted(results.values()) == sorted(
        (f"tk{i}".encode(), v) for i in range(3) for v in (b"a", b"b"))


def test_wrong_type_key_leaves_client_blocked(r, raw):
    c = raw()
    block(c, r, 1, "BLPOP", "q", "0")
    r.set("q", "str")
    time.sleep(0.05)
    assert blocked_clients(r) == 1 and not has_data(c)
    r.delete("q")
    r.flushall()
    assert blocked_clients(r) == 1
    r.rpush("q", "z")
    assert c.read_reply() == b"*2\r\n$1\r\nq\r\n$1\r\nz\r\n"


def test_swapdb_serves_waiters(r, raw):
    c = raw()
    block(c, r, 1, "BLPOP", "k", "0")
    r.execute_command("SELECT", 1)
    r.rpush("k", "from-db1")
    r.execute_command("SWAPDB", 0, 1)
    r.execute_command("SELECT", 0)
    assert c.read_reply() == b"*2\r\n$1\r\nk\r\n$8\r\nfrom-db1\r\n"


def test_other_db_does_not_serve(r, raw):
    c = raw()
    c.call("SELECT", "3")
    block(c, r, 1, "BLPOP", "k", "0")
    r.rpush("k", "db0")
    time.sleep(0.05)
    assert not has_data(c)
    r3 = redis.Redis(host=c.sock.getpeername()[0], port=c.sock.getpeername()[1], db=3)
    r3.rpush("k", "db3")
    assert c.read_reply().endswith(b"db3\r\n")
    r3.flushdb()
    r3.close()


# -- timeouts -----------------------------------------------------------------------
def test_timeout_point_one_second(r):
    t0 = time.monotonic()
    assert r.blpop(["nokey"], 0.1) is None
    elapsed = time.monotonic() - t0
    assert 0.095 <= elapsed < 0.6


def test_timeout_replies_resp2_resp3(raw):
    for proto, null in ((2, NULL_ARRAY), (3, b"_\r\n")):
        c = raw(proto)
        for cmd in (("BLPOP", "k", "0.02"), ("BRPOP", "k", "0.02"),
                    ("BLMOVE", "k", "d", "LEFT", "LEFT", "0.02"),
                    ("BRPOPLPUSH", "k", "d", "0.02"), ("BLMPOP", "0.02", "1", "k", "LEFT")):
            assert c.call(*cmd) == null, cmd


def test_many_clients_many_deadlines(r, raw):
    clients = []
    for i in range(120):
        c = raw()
        timeout = 0.2 + (i % 12) * 0.02
        c.send(c.encode("BLPOP", f"dl{i}", f"{timeout:.2f}"))
        clients.append((c, timeout))
    t0 = time.monotonic()
    pending = {c.sock.fileno(): (c, timeout) for c, timeout in clients}
    while pending and time.monotonic() - t0 < 5:
        ready, _, _ = select.select([c.sock for c, _ in pending.values()], [], [], 1)
        now = time.monotonic() - t0
        for sock in ready:
            c, timeout = pending.pop(sock.fileno())
            assert c.read_reply() == NULL_ARRAY
            assert now >= timeout - 0.05, (now, timeout)
            assert now < timeout + 1.0, (now, timeout)
    assert not pending
    assert int(r.info("clients")["clients_in_timeout_table"]) == 0


def test_zero_timeout_waits_forever_and_served_ones_leave_the_table(r, raw):
    a, b = raw(), raw()
    block(a, r, 1, "BLPOP", "k", "0")
    block(b, r, 2, "BLPOP", "k", "100")
    assert int(r.info("clients")["clients_in_timeout_table"]) == 1
    time.sleep(0.2)
    assert not has_data(a)
    r.rpush("k", "1", "2")
    assert a.read_reply().endswith(b"1\r\n")
    assert b.read_reply().endswith(b"2\r\n")
    assert int(r.info("clients")["clients_in_timeout_table"]) == 0


@pytest.mark.parametrize("arg,err", [
    ("x", "timeout is not a float or out of range"),
    ("", "timeout is not a float or out of range"),
    (" 1", "timeout is not a float or out of range"),
    ("1 ", "timeout is not a float or out of range"),
    ("nan", "timeout is not a float or out of range"),
    ("1e5000", "timeout is not a float or out of range"),
    ("1e-5000", "timeout is not a float or out of range"),
    ("-1", "timeout is negative"),
    ("-0.5", "timeout is negative"),
    ("inf", "timeout is negative"),
    ("-inf", "timeout is negative"),
    ("1e20", "timeout is negative"),
    ("9.3e15", "timeout is negative"),
])
def test_timeout_errors(r, arg, err):
    for cmd in (("BLPOP", "k", arg), ("BRPOP", "k", arg), ("BRPOPLPUSH", "k", "d", arg),
                ("BLMOVE", "k", "d", "LEFT", "LEFT", arg), ("BLMPOP", arg, "1", "k", "LEFT")):
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command(*cmd)
        assert str(e.value) == err


@pytest.mark.parametrize("arg", ["-0.0001", "-0", "0.0", "0x0p0", "-1e-300"])
def test_zero_after_rounding_blocks_forever(r, raw, arg):
    """Redis 7.0 computes (long long) ceill(strtold(arg) * 1000.0L): a tiny
    negative value rounds up to 0 ms, which means no timeout."""
    c = raw()
    cid = c.call("CLIENT", "ID")[1:-2].decode()
    block(c, r, 1, "BLPOP", "k", arg)
    time.sleep(0.15)
    assert not has_data(c)
    assert int(r.info("clients")["clients_in_timeout_table"]) == 0
    assert r.client_unblock(int(cid)) == 1
    assert c.read_reply() == NULL_ARRAY


@pytest.mark.parametrize("arg", ["0.001", "0.0001", "1e-4950", "1e-320", "0x1p-8", "2e-3"])
def test_tiny_positive_timeouts_expire(r, arg):
    t0 = time.monotonic()
    assert r.execute_command("BLPOP", "k", arg) is None
    assert time.monotonic() - t0 < 1


# -- pipelining, disconnects, CLIENT UNBLOCK ------------------------------------------
def test_pipelined_commands_wait_behind_blocking_command(r, raw):
    c = raw()
    c.send(c.encode("BLPOP", "p", "0") + c.encode("PING") + c.encode("RPUSH", "p2", "x")
           + c.encode("GET", "nokey"))
    wait_blocked(r, 1)
    time.sleep(0.05)
    assert not has_data(c)
    assert not r.exists("p2")                  # the pipeline has not run yet
    r.rpush("p", "1")
    assert c.read_reply() == b"*2\r\n$1\r\np\r\n$1\r\n1\r\n"
    assert c.read_reply() == b"+PONG\r\n"
    assert c.read_reply() == b":1\r\n"
    assert c.read_reply() == b"$-1\r\n"


def test_pipeline_after_timeout_and_second_block(r, raw):
    c = raw()
    c.send(c.encode("BLPOP", "p", "0.05") + c.encode("BLPOP", "p", "0") + c.encode("PING"))
    assert c.read_reply() == NULL_ARRAY
    wait_blocked(r, 1)
    r.rpush("p", "v")
    assert c.read_reply().endswith(b"v\r\n")
    assert c.read_reply() == b"+PONG\r\n"


def test_disconnect_while_blocked(r, raw):
    c = raw()
    block(c, r, 1, "BLPOP", "gone", "0")
    d = raw()
    block(d, r, 2, "BLMOVE", "gone", "dst", "LEFT", "LEFT", "100")
    c.close()
    d.close()
    wait_blocked(r, 0)
    assert int(r.info("clients")["clients_in_timeout_table"]) == 0
    r.rpush("gone", "v")
    time.sleep(0.05)
    assert r.lrange("gone", 0, -1) == [b"v"]
    assert not r.exists("dst")


def test_client_unblock(r, raw):
    c = raw()
    cid = int(c.call("CLIENT", "ID")[1:-2])
    block(c, r, 1, "BLPOP", "u", "0")
    assert r.client_unblock(cid) == 1
    assert c.read_reply() == NULL_ARRAY
    block(c, r, 1, "BLMOVE", "u", "w", "LEFT", "LEFT", "0")
    assert r.client_unblock(cid, error=True) == 1
    assert c.read_reply() == b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    block(c, r, 1, "BLMPOP", "0", "1", "u", "LEFT")
    assert r.execute_command("CLIENT", "UNBLOCK", cid, "timeout") == 1
    assert c.read_reply() == NULL_ARRAY
    assert r.client_unblock(cid) == 0                 # not blocked
    assert r.client_unblock(999999) == 0
    with pytest.raises(redis.ResponseError, match="value is not an integer"):
        r.execute_command("CLIENT", "UNBLOCK", "abc")
    with pytest.raises(redis.ResponseError, match="reason should be TIMEOUT or ERROR"):
        r.execute_command("CLIENT", "UNBLOCK", "abc", "foo")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'UNBLOCK'"):
        r.execute_command("CLIENT", "UNBLOCK", "1", "error", "x")
    # The connection is usable afterwards.
    assert c.call("PING") == b"+PONG\r\n"


def test_unblock_and_served_errors_count_as_failed_calls(r, raw):
    """updateStatsOnUnblock: CLIENT UNBLOCK counts a failed call whatever the
    reason; a served reply that is an error does too."""
    r.config_resetstat()
    c = raw()
    cid = int(c.call("CLIENT", "ID")[1:-2])
    for error in (False, True):
        block(c, r, 1, "BLPOP", "k", "0")
        assert r.client_unblock(cid, error=error) == 1
        c.read_reply()
    stats = r.info("commandstats")["cmdstat_blpop"]
    assert (stats["calls"], stats["failed_calls"]) == (2, 2)
    assert r.info("errorstats")["errorstat_UNBLOCKED"]["count"] == 1
    r.set("d", "x")
    block(c, r, 1, "BLMOVE", "s", "d", "LEFT", "LEFT", "0")
    r.rpush("s", "v")
    assert c.read_reply().startswith(b"-WRONGTYPE")
    stats = r.info("commandstats")["cmdstat_blmove"]
    assert (stats["calls"], stats["failed_calls"]) == (1, 1)


def test_client_list_and_info(r, raw):
    c = raw()
    block(c, r, 1, "BLPOP", "k", "10")
    lines = [line for line in r.client_list() if line["cmd"] == "blpop"]
    assert len(lines) == 1 and "b" in lines[0]["flags"]
    info = r.info("clients")
    assert info["blocked_clients"] == 1 and info["clients_in_timeout_table"] == 1
    r.rpush("k", "x")
    c.read_reply()
    stats = r.info("commandstats")["cmdstat_blpop"]
    assert stats["calls"] >= 1


# -- MULTI ------------------------------------------------------------------------
def test_blocking_commands_inside_multi_do_not_block(raw):
    for proto, nulls in ((2, [b"*-1", b"$-1", b"$-1", b"*-1", b"*-1"]),
                         (3, [b"_"] * 5)):
        c = raw(proto)
        c.call("DEL", "k")
        assert c.call("MULTI") == b"+OK\r\n"
        for cmd in (("BLPOP", "k", "0"), ("BLMOVE", "k", "d", "LEFT", "RIGHT", "0"),
                    ("BRPOPLPUSH", "k", "d", "0"), ("BLMPOP", "0", "1", "k", "LEFT"),
                    ("BRPOP", "k", "0")):
            assert c.call(*cmd) == b"+QUEUED\r\n"
        t0 = time.monotonic()
        assert c.call("EXEC") == b"*5\r\n" + b"".join(n + b"\r\n" for n in nulls)
        assert time.monotonic() - t0 < 1


def test_push_inside_multi_serves_after_exec(r, raw):
    c = raw()
    block(c, r, 1, "BLPOP", "mk", "0")
    p = r.pipeline(transaction=True)
    p.rpush("mk", "1", "2")
    p.lpop("mk")
    p.execute()
    assert c.read_reply() == b"*2\r\n$2\r\nmk\r\n$1\r\n2\r\n"
    assert not r.exists("mk")


# -- idle cost ----------------------------------------------------------------------
def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_thousand_idle_blocked_clients_cost_nothing(server, r):
    n = 1000
    clients = []
    try:
        for i in range(n):
            c = RawClient(server.host, server.port)
            # Half wait forever, half have far deadlines (the timeout heap).
            c.send(c.encode("BLPOP", f"idle{i}", "0" if i % 2 else "300"))
            clients.append(c)
        wait_blocked(r, n, timeout=30)
        assert int(r.info("clients")["clients_in_timeout_table"]) == n // 2
        proc = getattr(server, "proc", None)
        if proc is not None:
            time.sleep(0.3)
            before = _cpu_seconds(proc.pid)
            time.sleep(1.5)
            used = _cpu_seconds(proc.pid) - before
            print(f"idle CPU with {n} blocked clients: {used / 1.5:.2%}")
            # hz 10 cron ticks only: a few ms of CPU per second.
            assert used / 1.5 < 0.05, f"server used {used:.3f}s CPU in 1.5s while idle"
        for i in range(0, n, 100):
            r.rpush(f"idle{i}", "v")
        for i in range(0, n, 100):
            assert clients[i].read_reply() == b"*2\r\n$%d\r\nidle%d\r\n$1\r\nv\r\n" % (
                len(f"idle{i}"), i)
        wait_blocked(r, n - n // 100)
    finally:
        for c in clients:
            c.close()
    wait_blocked(r, 0, timeout=30)
    assert int(r.info("clients")["clients_in_timeout_table"]) == 0


# -- propagation, in process --------------------------------------------------------
class InProcess:
    """A Server with socketless clients: what call() and the served blocked
    clients hand to AOF/replicas."""

    def __init__(self) -> None:
        from omakase.config import Config
        from omakase.server import Server

        self.server = Server(Config(), logger=QuietLog())
        self.propagated: list[list[bytes]] = []
        self.server.propagation_targets.append(
            lambda ops: self.propagated.extend(argv for _db, argv in ops))

    def client(self):
        from omakase.networking import Client
        c = Client(self.server, None)
        self.server.clients[c.id] = c
        return c

    def run(self, c, *args) -> bytes:
        self.server.process_command(c, argv_of(args))
        out = b"".join(c.reply)
        c.reply = []
        return out


def test_served_commands_propagate_as_non_blocking_forms():
    from omakase.networking import ClientFlag
    p = InProcess()
    a, b, w = p.client(), p.client(), p.client()
    assert p.run(a, "BLPOP", "k", "0") == b""
    assert a.flags & ClientFlag.BLOCKED
    assert p.run(w, "RPUSH", "k", "x", "y") == b":2\r\n"
    assert not a.flags & ClientFlag.BLOCKED
    assert b"".join(a.reply) == b"*2\r\n$1\r\nk\r\n$1\r\nx\r\n"
    a.reply = []
    assert p.propagated == [[b"RPUSH", b"k", b"x", b"y"], [b"LPOP", b"k"]]
    p.propagated.clear()

    p.run(a, "BLMOVE", "s", "d", "RIGHT", "LEFT", "0")
    p.run(b, "BRPOPLPUSH", "s", "d2", "0")
    p.run(w, "RPUSH", "s", "1", "2")
    assert p.propagated == [[b"RPUSH", b"s", b"1", b"2"],
                            [b"LMOVE", b"s", b"d", b"right", b"left"],
                            [b"RPOPLPUSH", b"s", b"d2"]]
    p.propagated.clear()

    p.run(a, "BLMPOP", "0", "1", "m", "LEFT", "COUNT", "5")
    p.run(w, "RPUSH", "m", "1", "2")
    assert p.propagated == [[b"RPUSH", b"m", b"1", b"2"], [b"LPOP", b"m", b"2"]]
    p.propagated.clear()

    # Served at once: rewritten the same way.
    p.run(w, "RPUSH", "i", "1", "2", "3")
    p.propagated.clear()
    p.run(w, "BRPOP", "i", "0")
    p.run(w, "BLMPOP", "0", "1", "i", "RIGHT", "COUNT", "9")
    p.run(w, "RPUSH", "i", "1")
    p.run(w, "BLMOVE", "i", "j", "LEFT", "right", "0")
    p.run(w, "RPUSH", "i", "1")
    p.run(w, "BRPOPLPUSH", "i", "j", "0")
    p.run(w, "LMPOP", "1", "j", "LEFT")
    assert p.propagated == [[b"RPOP", b"i"], [b"RPOP", b"i", b"2"], [b"RPUSH", b"i", b"1"],
                            [b"LMOVE", b"i", b"j", b"LEFT", b"right"], [b"RPUSH", b"i", b"1"],
                            [b"RPOPLPUSH", b"i", b"j"], [b"LPOP", b"j", b"1"]]
    p.propagated.clear()

    # Timeouts and blocks propagate nothing.
    p.run(a, "BLPOP", "none", "0")
    assert p.propagated == []


def test_unblocked_client_resumes_its_pipeline_in_before_sleep():
    p = InProcess()
    a, w = p.client(), p.client()
    a.parser.feed(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n")
    a.process_input()
    assert a.reply == []
    p.run(w, "RPUSH", "k", "v")
    assert b"".join(a.reply) == b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n"   # PING not run yet
    p.server.before_sleep()
    assert b"".join(a.reply).endswith(b"+PONG\r\n")
