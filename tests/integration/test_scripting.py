"""EVAL/EVALSHA/EVAL_RO/EVALSHA_RO and SCRIPT * through redis-py, the busy
script flow (BUSY replies, SCRIPT KILL, UNKILLABLE), RESP3 conversions,
propagation of a script's effects, an RQ workflow (RQ runs its job
bookkeeping in Lua scripts) and a kombu publish/consume."""
from __future__ import annotations

import threading
import time

import pytest
import redis


def test_eval_basic(r):
    assert r.eval("return 1", 0) == 1
    assert r.eval("return {KEYS[1], ARGV[1]}", 1, "k", "a") == [b"k", b"a"]
    assert r.eval("return redis.call('set', KEYS[1], ARGV[1])", 1, "k", "v") == b"OK"
    assert r.get("k") == b"v"
    assert r.eval("return redis.call('get', 'nokey')", 0) is None
    assert r.eval("return 3.7", 0) == 3
    assert r.eval("return {1, 2, nil, 4}", 0) == [1, 2]
    with pytest.raises(redis.ResponseError, match="^MY error$"):
        r.eval("return {err='MY error'}", 0)
    assert r.eval("return redis.status_reply('FINE')", 0) == b"FINE"


def test_eval_errors(r):
    with pytest.raises(redis.ResponseError, match="Unknown Redis command called from script"):
        r.eval("return redis.call('nosuch')", 0)
    with pytest.raises(redis.ResponseError, match="Wrong number of args calling Redis command"):
        r.eval("return redis.call('get')", 0)
    with pytest.raises(redis.ResponseError, match="This Redis command is not allowed from script"):
        r.eval("return redis.call('multi')", 0)
    with pytest.raises(redis.ResponseError, match="Write commands are not allowed from read-only"):
        r.eval_ro("return redis.call('set', 'a', 'b')", 0)
    with pytest.raises(redis.ResponseError,
                       match="Script attempted to access nonexistent global variable 'x'"):
        r.eval("return x", 0)
    with pytest.raises(redis.ResponseError, match="Attempt to modify a readonly table"):
        r.eval("x = 1", 0)
    with pytest.raises(redis.ResponseError, match="Error compiling script"):
        r.eval("return +", 0)
    with pytest.raises(redis.ResponseError, match="Number of keys can't be negative"):
        r.eval("return 1", -1)
    with pytest.raises(redis.ResponseError, match="greater than number of args"):
        r.eval("return 1", 2, "a")
    with pytest.raises(redis.ResponseError) as exc:
        r.eval("error('boom')", 0)
    assert str(exc.value).startswith("user_script:1: boom script: ")
    assert str(exc.value).endswith(", on @user_script:1.")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.set("s", "x")
        r.eval("return redis.call('lpush', 's', 'y')", 0)


def test_pcall_returns_error_table(r):
    r.set("s", "x")
    assert r.eval("return redis.pcall('incr', 's')['err']", 0) == \
        b"ERR value is not an integer or out of range"
    assert r.eval("local ok, e = pcall(function() redis.call('nosuch') end) return e", 0) == \
        b"ERR Unknown Redis command called from script"


def test_evalsha_and_script_commands(r):
    r.script_flush()
    sha = r.script_load("return 'hi'")
    assert sha == "2f31ba2bb6d6a0f42cc159d2e2dad55440778de3"
    assert r.script_exists(sha, "0" * 40) == [True, False]
    assert r.evalsha(sha, 0) == b"hi"
    assert r.evalsha(sha.upper(), 0) == b"hi"
    assert r.evalsha_ro(sha, 0) == b"hi"
    r.script_flush()
    with pytest.raises(redis.exceptions.NoScriptError):
        r.evalsha(sha, 0)
    r.eval("return 'hi'", 0)                     # EVAL caches the script too
    assert r.script_exists(sha) == [True]
    assert r.execute_command("SCRIPT", "FLUSH", "ASYNC") == b"OK"
    with pytest.raises(redis.ResponseError, match="NOTBUSY"):
        r.script_kill()


def test_shebang_flags(r):
    with pytest.raises(redis.ResponseError, match="Write commands are not allowed"):
        r.eval("#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')", 0)
    assert r.eval_ro("#!lua flags=no-writes\nreturn 1", 0) == 1
    with pytest.raises(redis.ResponseError, match="Can not execute a script with write flag"):
        r.eval_ro("#!lua\nreturn 1", 0)
    with pytest.raises(redis.ResponseError, match="Unexpected flag in script shebang: bad"):
        r.eval("#!lua flags=bad\nreturn 1", 0)


def test_select_inside_script_does_not_change_caller_db(r):
    assert r.eval("redis.call('select', 9) redis.call('set', 'k9', 'x') return 1", 0) == 1
    assert r.get("k9") is None
    r.execute_command("SELECT", 9)
    assert r.get("k9") == b"x"
    r.execute_command("FLUSHDB")
    r.execute_command("SELECT", 0)


def test_resp3_conversions(r3):
    r3.hset("h", "f", "v")
    r3.zadd("z", {"a": 1.5})
    assert r3.eval("redis.setresp(3) return redis.call('hgetall', 'h')", 0) == {b"f": b"v"}
    assert r3.eval("redis.setresp(3) return redis.call('zscore', 'z', 'a')", 0) == 1.5
    assert r3.eval("redis.setresp(3) return true", 0) is True
    assert r3.eval("redis.setresp(3) return false", 0) is False
    assert r3.eval("redis.setresp(3) return redis.call('get', 'nokey')", 0) is None
    assert r3.eval("return {double = 2.5}", 0) == 2.5
    assert r3.eval("return {map = {a = 1}}", 0) == {b"a": 1}
    assert list(r3.eval("return {set = {x = true}}", 0)) == [b"x"]
    assert r3.eval("redis.setresp(3) return type(redis.call('smembers', 'nokey')['set'])",
                   0) == b"table"


def test_libraries_available(r):
    assert r.eval("return cjson.encode({a = {1, 2}})", 0) == b'{"a":[1,2]}'
    assert r.eval("return cjson.decode('[1,2,3]')[3]", 0) == 3
    assert r.eval("return cmsgpack.unpack(cmsgpack.pack({1, 'x'}))[2]", 0) == b"x"
    assert r.eval("return struct.unpack('>I2', struct.pack('>I2', 513))", 0) == 513
    assert r.eval("return bit.band(0xff, 0x0f)", 0) == 15
    assert r.eval("return redis.sha1hex('abc')", 0) == b"a9993e364706816aba3e25717850c26c9cd0d89d"


def test_math_random_is_deterministic_after_seed(r):
    script = "math.randomseed(3) return {math.random(1000), math.random(1000)}"
    assert r.eval(script, 0) == r.eval(script, 0)


def test_script_commands_counted_in_commandstats(r):
    r.config_resetstat()
    r.eval("redis.call('set', 'a', '1') return redis.call('get', 'a')", 0)
    stats = r.info("commandstats")
    assert stats["cmdstat_eval"]["calls"] == 1
    assert stats["cmdstat_set"]["calls"] == 1
    assert stats["cmdstat_get"]["calls"] == 1


@pytest.fixture
def busy_threshold(r):
    old = r.config_get("busy-reply-threshold")["busy-reply-threshold"]
    r.config_set("busy-reply-threshold", 100)
    yield
    r.config_set("busy-reply-threshold", old)


def _run_in_thread(server, *cmd):
    out = {}

    def target():
        c = server.client(protocol=2)
        try:
            out["reply"] = c.execute_command(*cmd)
        except Exception as exc:  # the reply we expect is an error
            out["error"] = exc
        finally:
            c.close()
    t = threading.Thread(target=target)
    t.start()
    return t, out


def _wait_busy(r, deadline=5.0):
    end = time.time() + deadline
    while time.time() < end:
        try:
            r.ping()
        except redis.ResponseError as exc:
            if str(exc).startswith("BUSY"):
                return str(exc)
            raise
        time.sleep(0.02)
    raise AssertionError("server never became BUSY")


def test_busy_script_and_script_kill(server, r, busy_threshold):
    t, out = _run_in_thread(server, "EVAL", "local i = 0 while true do i = i + 1 end", 0)
    msg = _wait_busy(r)
    assert msg == ("BUSY Redis is busy running a script. You can only call SCRIPT KILL "
                   "or SHUTDOWN NOSAVE.")
    with pytest.raises(redis.ResponseError, match="^BUSY"):
        r.get("x")
    with pytest.raises(redis.ResponseError, match="^BUSY"):
        r.execute_command("FUNCTION", "STATS")
    assert r.script_kill() is True
    t.join(5)
    assert not t.is_alive()
    assert str(out["error"]).startswith("Script killed by user with SCRIPT KILL... script: ")
    assert r.ping() is True


def test_busy_script_that_wrote_is_unkillable(server, r, busy_threshold):
    script = ("redis.call('set', 'w', '1') local t0 = redis.call('time')[1] "
              "while tonumber(redis.call('time')[1]) - tonumber(t0) < 2 do "
              "for i = 1, 100000 do end end return 'done'")
    t, out = _run_in_thread(server, "EVAL", script, 0)
    _wait_busy(r)
    with pytest.raises(redis.ResponseError, match="^UNKILLABLE Sorry the script already"):
        r.script_kill()
    t.join(10)
    assert out.get("reply") == b"done"
    assert r.get("w") == b"1"


def test_pcall_cannot_swallow_script_kill(server, r, busy_threshold):
    script = ("while true do pcall(function() local i = 0 while true do i = i + 1 end end) end")
    t, out = _run_in_thread(server, "EVAL", script, 0)
    _wait_busy(r)
    assert r.script_kill() is True
    t.join(5)
    assert not t.is_alive()
    assert "Script killed by user" in str(out["error"])


def test_propagation_wraps_script_effects_in_multi():
    """In-process: a script's writes reach the propagation targets as one
    MULTI/EXEC, the EVAL itself never."""
    from omakase.config import Config
    from omakase.networking import Client
    from omakase.server import Server

    srv = Server(Config())
    got = []
    srv.propagation_targets.append(lambda ops: got.append(list(ops)))
    c = Client(srv, None)
    srv.process_command(c, [b"EVAL", b"redis.call('set', 'a', '1') redis.call('incr', 'a') "
                            b"return redis.call('get', 'a')", b"0"])
    assert b"".join(c.reply) == b"$1\r\n2\r\n"
    assert got == [[(0, [b"MULTI"]), (0, [b"set", b"a", b"1"]), (0, [b"incr", b"a"]),
                    (0, [b"EXEC"])]]
    got.clear()
    c.reply = []
    srv.process_command(c, [b"EVAL", b"return redis.call('get', 'a')", b"0"])
    assert got == []
    srv.process_command(c, [b"EVAL", b"redis.set_repl(redis.REPL_NONE) "
                            b"redis.call('set', 'b', '1') redis.set_repl(redis.REPL_ALL) "
                            b"redis.call('set', 'c', '1')", b"0"])
    assert got == [[(0, [b"set", b"c", b"1"])]]


def test_deep_tables_and_many_args():
    """In-process (raw reply bytes): Redis's Lua stack limit on nested
    replies, and EVAL with 100000 arguments."""
    from omakase.config import Config
    from omakase.networking import Client
    from omakase.server import Server

    srv = Server(Config())
    c = Client(srv, None)
    srv.process_command(c, [b"EVAL", b"local t = {} for i = 1, 10000 do t = {t} end return t",
                            b"0"])
    data = b"".join(c.reply)
    assert data.count(b"*1\r\n") == 7995
    assert data.endswith(b"-ERR reached lua stack limit\r\n")
    c.reply = []
    args = [b"a%d" % i for i in range(100000)]
    srv.process_command(c, [b"EVAL", b"return #KEYS + #ARGV", b"40000"] + args)
    assert b"".join(c.reply) == b":100000\r\n"


def test_eval_inside_multi(r):
    pipe = r.pipeline(transaction=True)
    pipe.set("m", "1")
    pipe.eval("return redis.call('incr', KEYS[1])", 1, "m")
    pipe.eval("return redis.call('nosuch')", 0)
    res = pipe.execute(raise_on_error=False)
    assert res[0] is True and res[1] == 2
    assert isinstance(res[2], redis.ResponseError)


def test_watch_sees_script_writes(r):
    r.set("w", "0")
    pipe = r.pipeline(transaction=True)
    pipe.watch("w")
    r.eval("return redis.call('set', 'w', '1')", 0)
    pipe.multi()
    pipe.get("w")
    with pytest.raises(redis.WatchError):
        pipe.execute()


def test_rq_workflow(server):
    rq = pytest.importorskip("rq")
    from rq import Queue, SimpleWorker
    from rq.job import JobStatus

    conn = server.client(protocol=2)
    conn.flushall()
    try:
        q = Queue("omakase-test", connection=conn)
        job = q.enqueue(pow, 2, 10)
        failing = q.enqueue(divmod, 1, 0)
        assert q.count == 2
        worker = SimpleWorker([q], connection=conn)
        assert worker.work(burst=True)
        job.refresh()
        failing.refresh()
        assert job.get_status() == JobStatus.FINISHED
        assert job.return_value() == 1024
        assert failing.get_status() == JobStatus.FAILED
        assert job.id in q.finished_job_registry.get_job_ids()
        assert failing.id in q.failed_job_registry.get_job_ids()
        assert q.count == 0
    finally:
        conn.flushall()
        conn.close()


def test_kombu_redis_transport(server):
    """kombu's Redis transport: publish and consume one message."""
    pytest.importorskip("kombu")
    from kombu import Connection

    with Connection(f"redis://{server.host}:{server.port}/0") as conn:
        q = conn.SimpleQueue("omakase-kombu-test")
        try:
            q.put({"hello": "world"})
            msg = q.get(block=True, timeout=5)
            assert msg.payload == {"hello": "world"}
            msg.ack()
        finally:
            q.clear()
            q.close()
