"""SLOWLOG, MONITOR and LATENCY: differential (raw bytes vs redis-server 7.0
where deterministic) and redis-py tests.  Uses its own servers: these tests
change slowlog / latency configuration."""
from __future__ import annotations

import re
import socket
import time

import pytest

from helpers import ServerProcess, redis_server_available
from rawclient import RawClient


@pytest.fixture(scope="module")
def pair():
    if not redis_server_available():
        pytest.skip("redis-server not installed")
    om = ServerProcess("omakase")
    rd = ServerProcess("redis")
    yield om, rd
    om.stop()
    rd.stop()


@pytest.fixture
def both(pair):
    clients = []
    for srv in pair:
        c = RawClient(srv.host, srv.port)
        c.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
        c.call("CONFIG", "SET", "slowlog-max-len", "128")
        c.call("CONFIG", "SET", "latency-monitor-threshold", "0")
        c.call("SLOWLOG", "RESET")
        c.call("LATENCY", "RESET")
        c.call("CONFIG", "RESETSTAT")
        c.call("FLUSHALL")
        clients.append(c)
    yield clients
    for c in clients:
        c.close()


def same(both, *args):
    om, rd = (c.call(*args) for c in both)
    assert om == rd, args
    return om


# ---------------------------------------------------------------------------
# SLOWLOG
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ("SLOWLOG", "HELP"), ("SLOWLOG", "GET", "-2"), ("SLOWLOG", "GET", "x"),
    ("SLOWLOG", "GET", "1.5"), ("SLOWLOG", "LEN", "x"), ("SLOWLOG", "RESET", "x"),
    ("SLOWLOG", "FOO"), ("SLOWLOG",), ("SLOWLOG", "GET", "1", "2"),
    ("SLOWLOG", "GET"), ("SLOWLOG", "LEN"),
])
def test_slowlog_replies_match(both, args):
    same(both, *args)


def _entries(c, *count):
    """SLOWLOG GET through redis-py-like parsing of raw bytes: only the
    deterministic fields (id, args, client name)."""
    import hiredis
    rep = hiredis.Reader()
    rep.feed(c.call("SLOWLOG", "GET", *count))
    out = rep.gets()
    return [(e[0], e[3], e[5]) for e in out], out


def test_slowlog_entries_match(both):
    for c in both:
        c.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
        c.call("SLOWLOG", "RESET")
        c.call("SET", "k", "v")
        c.call("CLIENT", "SETNAME", "me")
        c.call("GET", "k")
        c.call("SET", "big", "x" * 300)
        c.call("RPUSH", "l", *[str(i) for i in range(40)])
        c.call("MULTI")
        c.call("INCR", "n")
        c.call("EXEC")          # EXEC is skip_slowlog, INCR is logged
        c.call("EXEC")
        c.call("AUTH", "a")
        c.call("AUTH", "a", "b")
        c.call("AUTH", "a", "b", "c")
        c.call("HELLO", "3", "AUTH", "u", "p", "foo")
        c.call("HELLO", "9", "AUTH", "u", "p")
        c.call("HELLO", "2", "SETNAME", "me")
        c.call("CONFIG", "SET", "masterauth", "secret")
        c.call("CONFIG", "SET", "masterauth", "")
    om, rd = (_entries(c, "-1") for c in both)
    assert om[0] == rd[0]
    entry = om[1][0]
    assert len(entry) == 6 and isinstance(entry[1], int) and isinstance(entry[2], int)
    assert entry[4].startswith(b"127.0.0.1:")
    big = [e for e in om[0] if e[1][:2] == [b"SET", b"big"]][0]
    assert big[1][2] == b"x" * 128 + b"... (172 more bytes)"
    rp = [e for e in om[0] if e[1][0] == b"RPUSH"][0]
    assert len(rp[1]) == 32 and rp[1][-1] == b"... (11 more arguments)"
    assert [b"CONFIG", b"SET", b"masterauth", b"(redacted)"] in [e[1] for e in om[0]]
    assert om[0][0][2] == b"me"
    assert not any(e[1][0] == b"EXEC" for e in om[0])


def test_slowlog_get_count_len_reset_maxlen(both):
    for c in both:
        c.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
        c.call("SLOWLOG", "RESET")
        for i in range(5):
            c.call("SET", "k%d" % i, "v")
    om, rd = (_entries(c)[0] for c in both)
    assert om == rd and len(om) == 6
    om, rd = (_entries(c, "2")[0] for c in both)
    assert om == rd and len(om) == 2
    om, rd = (_entries(c, "0")[0] for c in both)
    assert om == rd == []
    for c in both:
        c.call("CONFIG", "SET", "slowlog-max-len", "3")
        c.call("PING")
    same(both, "SLOWLOG", "LEN")
    for c in both:
        c.call("CONFIG", "SET", "slowlog-log-slower-than", "-1")
        c.call("SLOWLOG", "RESET")
        c.call("PING")
    assert same(both, "SLOWLOG", "LEN") == b":0\r\n"


def test_slowlog_threshold_redis_py(pair):
    r = pair[0].client()
    r.config_set("slowlog-log-slower-than", 50000)
    r.slowlog_reset()
    r.execute_command("DEBUG", "SLEEP", "0")
    r.set("a", "b")
    r.execute_command("DEBUG", "SLEEP", "0.06")
    log = r.slowlog_get()
    assert len(log) == 1
    assert log[0]["command"] == b"DEBUG SLEEP 0.06"
    assert log[0]["duration"] >= 50000
    assert abs(log[0]["start_time"] - time.time()) < 5
    assert r.slowlog_len() == 1
    r.config_set("slowlog-log-slower-than", 10000)
    r.close()


# ---------------------------------------------------------------------------
# MONITOR
# ---------------------------------------------------------------------------
def _sock(srv):
    s = socket.create_connection((srv.host, srv.port))
    s.settimeout(0.25)
    return s


def _read(s):
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except socket.timeout:
        pass
    return out


_TS = re.compile(rb"\+\d+\.\d{6} \[(\d+) 127\.0\.0\.1:\d+\]")

MONITOR_SCRIPT = [
    b"*3\r\n$3\r\nSET\r\n$2\r\nk\x01\r\n$7\r\na\"b\\\n\t\xff\r\n", b"PING\r\n",
    b"AUTH foo\r\n", b"AUTH a b\r\n", b"HELLO 3 AUTH default pw\r\n", b"HELLO 2\r\n",
    b"CONFIG GET maxmemory\r\n", b"MULTI\r\n", b"SET a 1\r\n", b"EXEC\r\n",
    b"NOSUCH\r\n", b"GET\r\n", b"SELECT 2\r\n", b"SET 123 456\r\n", b"SLOWLOG LEN\r\n",
    b"CLIENT SETNAME x\r\n", b"DEBUG SLEEP 0\r\n", b"EXEC\r\n", b"MULTI\r\n",
    b"CONFIG SET maxmemory 0\r\n", b"EXEC\r\n", b"SELECT 0\r\n",
]


def _monitor_transcript(srv):
    m = _sock(srv)
    a = RawClient(srv.host, srv.port)
    try:
        m.sendall(b"MONITOR\r\n")
        first = _read(m)
        for cmd in MONITOR_SCRIPT:
            a.send(cmd)
            a.read_reply()
        fed = _TS.sub(rb"+T [\1 A]", _read(m))
        m.sendall(b"PING\r\n")
        own = _TS.sub(rb"+T [\1 A]", _read(m))
        m.sendall(b"GET x\r\nSET x 1\r\nPUBLISH ch m\r\nTYPE x\r\n")
        keyspace = _TS.sub(rb"+T [\1 A]", _read(m))
        m.sendall(b"MONITOR\r\n")
        again = _read(m)
        m.sendall(b"RESET\r\n")
        reset = _read(m)
        a.call("PING")
        after = _read(m)
        m.sendall(b"MULTI\r\nMONITOR\r\nEXEC\r\n")
        multi = _read(m)
        return [first, fed, own, keyspace, again, reset, after, multi]
    finally:
        m.close()
        a.close()


def test_monitor_matches_redis(pair):
    om, rd = (_monitor_transcript(s) for s in pair)
    assert om == rd
    assert om[0] == b"+OK\r\n"
    assert b'"SET" "k\\x01" "a\\"b\\\\\\n\\t\\xff"' in om[1]
    assert b'"AUTH" "(redacted)" "(redacted)"' in om[1]
    assert b"CONFIG" not in om[1]
    assert om[3].startswith(b"-ERR Replica can't interact with the keyspace\r\n")
    assert om[5] == b"+RESET\r\n" and om[6] == b""


def test_monitor_redis_py_and_quit(pair):
    srv = pair[0]
    r = srv.client()
    with r.monitor() as mon:
        r.set("foo", "bar")
        cmd = mon.next_command()
        assert cmd["command"] == "SET foo bar"
        assert cmd["db"] == 0
        assert abs(cmd["time"] - time.time()) < 5
    info = r.client_list()
    assert not any("O" in c["flags"] for c in info if c["flags"] != "N")
    m = _sock(srv)
    m.sendall(b"MONITOR\r\n")
    assert _read(m) == b"+OK\r\n"
    assert any("O" in c["flags"] for c in r.client_list())
    m.sendall(b"QUIT\r\n")
    assert _read(m) == b"+OK\r\n"
    m.close()
    time.sleep(0.05)
    r.ping()
    assert not any("O" in c["flags"] for c in r.client_list())
    r.close()


# ---------------------------------------------------------------------------
# LATENCY
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ("LATENCY", "HELP"), ("LATENCY", "LATEST"), ("LATENCY", "HISTORY", "command"),
    ("LATENCY", "HISTORY"), ("LATENCY", "RESET"), ("LATENCY", "RESET", "a", "b"),
    ("LATENCY", "GRAPH", "command"), ("LATENCY", "GRAPH"), ("LATENCY", "DOCTOR"),
    ("LATENCY", "HISTOGRAM", "nosuch"), ("LATENCY", "FOO"), ("LATENCY",),
])
def test_latency_replies_match(both, args):
    same(both, *args)


def test_latency_doctor_enabled_no_events(both):
    for c in both:
        c.call("CONFIG", "SET", "latency-monitor-threshold", "1000")
    same(both, "LATENCY", "DOCTOR")


def test_latency_events(pair, both):
    r = pair[0].client()
    r.config_set("latency-monitor-threshold", 20)
    r.execute_command("DEBUG", "SLEEP", "0")
    assert r.execute_command("LATENCY", "LATEST") == []
    r.execute_command("DEBUG", "SLEEP", "0.05")
    latest = r.execute_command("LATENCY", "LATEST")
    assert len(latest) == 1
    name, ts, ms, mx = latest[0]
    assert name == b"command" and abs(ts - time.time()) < 5 and 50 <= ms == mx < 1000
    hist = r.execute_command("LATENCY", "HISTORY", "command")
    assert hist == [[ts, ms]]
    graph = r.execute_command("LATENCY", "GRAPH", "command")
    lines = graph.split(b"\n")
    assert lines[0] == b"command - high %d ms, low %d ms (all time high %d ms)" % (ms, ms, mx)
    assert lines[1] == b"-" * 80
    # one sample: min == max, so the bar sits on the bottom row
    assert lines[2:7] == [b" ", b" ", b" ", b"_", b" "]
    assert lines[7] in (b"0", b"1", b"2")
    assert r.execute_command("LATENCY", "RESET", "command", "nosuch") == 1
    assert r.execute_command("LATENCY", "LATEST") == []
    r.config_set("latency-monitor-threshold", 0)
    r.close()


def test_latency_graph_shape_matches_redis(both):
    """Same samples in both servers (one DEBUG SLEEP): same graph layout."""
    outs = []
    for c in both:
        c.call("CONFIG", "SET", "latency-monitor-threshold", "10")
        c.call("DEBUG", "SLEEP", "0.03")
        g = c.call("LATENCY", "GRAPH", "command")
        outs.append(re.sub(rb"\d+ ms", b"N ms", g))
    assert outs[0] == outs[1]


def _hist(c, *names):
    import hiredis
    rd = hiredis.Reader()
    rd.feed(c.call("LATENCY", "HISTOGRAM", *names))
    out = rd.gets()
    res = {}
    for i in range(0, len(out), 2):
        inner = dict(zip(out[i + 1][::2], out[i + 1][1::2]))
        h = inner[b"histogram_usec"]
        inner[b"histogram_usec"] = dict(zip(h[::2], h[1::2]))
        res[out[i]] = inner
    return res


def test_latency_histogram(both):
    for c in both:
        for i in range(7):
            c.call("SET", "k", "v")
        c.call("CONFIG", "GET", "maxmemory")
    om, rd = (_hist(c, "set", "config", "get", "nosuch") for c in both)
    # CONFIG RESETSTAT (in the fixture) is recorded after it ran.
    assert om.keys() == rd.keys() == {b"set", b"config|get", b"config|resetstat"}
    for h in (om, rd):
        assert h[b"set"][b"calls"] == 7
        counts = list(h[b"set"][b"histogram_usec"].values())
        assert counts == sorted(counts) and counts[-1] == 7
    labels = {1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113, 4227, 8454}
    assert set(om[b"set"][b"histogram_usec"]) <= labels
    same(both, "LATENCY", "HISTOGRAM", "get")
    for c in both:
        c.call("CONFIG", "RESETSTAT")
    assert same(both, "LATENCY", "HISTOGRAM", "set") == b"*0\r\n"


def test_latency_histogram_resp3(pair):
    r3 = pair[0].client(protocol=3)
    r3.config_resetstat()
    r3.ping()
    raw = RawClient(pair[0].host, pair[0].port)
    raw.call("HELLO", "3")
    rep = raw.call("LATENCY", "HISTOGRAM", "ping")
    assert rep.startswith(b"%1\r\n$4\r\nping\r\n%2\r\n$5\r\ncalls\r\n:1\r\n"
                          b"$14\r\nhistogram_usec\r\n%1\r\n")
    raw.close()
    r3.close()


def test_latency_tracking_off_stops_recording(both):
    for c in both:
        c.call("CONFIG", "SET", "latency-tracking", "no")
        c.call("SET", "k", "v")
        c.call("CONFIG", "SET", "latency-tracking", "yes")
    assert same(both, "LATENCY", "HISTOGRAM", "set") == b"*0\r\n"
    for c in both:
        c.call("SET", "k", "v")
    om, rd = (_hist(c, "set") for c in both)
    assert om[b"set"][b"calls"] == rd[b"set"][b"calls"] == 1


def raw_info(r, section):
    conn = r.connection_pool.get_connection("INFO")
    try:
        conn.send_command("INFO", section)
        return conn.read_response(disable_decoding=True).decode()
    finally:
        r.connection_pool.release(conn)


def test_info_latencystats_percentiles(r):
    r.config_resetstat()
    for _ in range(5):
        r.get("x")
    r.config_set("latency-tracking-info-percentiles", "0 50 99.99 100")
    text = raw_info(r, "latencystats")
    line = [ln for ln in text.split("\r\n") if ln.startswith("latency_percentiles_usec_get:")][0]
    labels = [part.split("=")[0] for part in line.split(":", 1)[1].split(",")]
    assert labels == ["p0", "p50", "p99.99", "p100"]
    values = [float(part.split("=")[1]) for part in line.split(":", 1)[1].split(",")]
    assert values == sorted(values) and values[0] >= 0
    # each value is an HdrHistogram bucket bound (2 significant digits), in µs with 3 decimals
    assert all(part.split("=")[1].count(".") == 1 and len(part.split(".")[-1]) == 3
               for part in line.split(":", 1)[1].split(","))
    r.config_set("latency-tracking-info-percentiles", "50 99 99.9")
    r.config_resetstat()
    assert "latency_percentiles_usec_get" not in raw_info(r, "latencystats")
    r.get("x")
    assert "latency_percentiles_usec_get:p50=" in raw_info(r, "everything")
