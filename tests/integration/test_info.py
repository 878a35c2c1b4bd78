"""INFO: sections, field names and order, counters that move, reply types.

The field lists are compared with redis-server 7.0.15's (names and order;
values differ between two servers by nature).  Counters are checked by
moving them.
"""
from __future__ import annotations

import os
import re
import sys
import time

import pytest
import redis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rawclient import RawClient  # noqa: E402
from rawclient import connect as raw  # noqa: E402

ALL_TITLES = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
              "Modules", "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace"]
DEFAULT_TITLES = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
                  "Modules", "Errorstats", "Cluster", "Keyspace"]
# Fields omakase adds to Redis's.
EXTRA_FIELDS = {"omakase_version"}


def info_text(rc: RawClient, *sections: str) -> str:
    reply = rc.call("INFO", *sections)
    if reply.startswith(b"="):
        body = reply[reply.index(b"\r\n") + 2:-2]
        assert body.startswith(b"txt:")
        return body[4:].decode()
    assert reply.startswith(b"$")
    return reply[reply.index(b"\r\n") + 2:-2].decode()


def titles(text: str) -> list[str]:
    return [line[2:] for line in text.split("\r\n") if line.startswith("# ")]


def parse(text: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    cur = None
    for line in text.split("\r\n"):
        if line.startswith("# "):
            cur = out.setdefault(line[2:], {})
        elif line:
            k, _, v = line.partition(":")
            cur[k] = v
    return out


@pytest.fixture
def rc(server):
    c = raw(server)
    yield c
    c.close()


# --------------------------------------------------------------------------
# Layout
# --------------------------------------------------------------------------
def test_default_sections_and_format(rc):
    text = info_text(rc)
    assert titles(text) == DEFAULT_TITLES
    assert titles(info_text(rc, "default")) == DEFAULT_TITLES
    assert text.endswith("\r\n") and not text.endswith("\r\n\r\n")
    # sections are separated by one empty line
    assert "\r\n\r\n# Clients\r\n" in text
    for line in text.split("\r\n"):
        assert line == "" or line.startswith("# ") or re.match(r"^[A-Za-z0-9_|]+:", line), line


def test_all_and_everything(rc):
    assert titles(info_text(rc, "all")) == ALL_TITLES
    assert titles(info_text(rc, "everything")) == ALL_TITLES
    assert titles(info_text(rc, "ALL")) == ALL_TITLES


def test_sections_come_in_redis_order_whatever_the_request(rc):
    assert titles(info_text(rc, "keyspace", "server", "CPU")) == ["Server", "CPU", "Keyspace"]
    assert titles(info_text(rc, "commandstats")) == ["Commandstats"]
    assert titles(info_text(rc, "modules")) == ["Modules"]
    assert titles(info_text(rc, "default", "commandstats")) == (
        DEFAULT_TITLES[:8] + ["Commandstats"] + DEFAULT_TITLES[8:])


def test_unknown_section_is_empty(server):
    a, b = raw(server, 2), raw(server, 3)
    try:
        assert a.call("INFO", "nosuchsection") == b"$0\r\n\r\n"
        assert b.call("INFO", "nosuchsection") == b"=4\r\ntxt:\r\n"
    finally:
        a.close()
        b.close()


def test_resp3_reply_is_verbatim(server):
    rc = raw(server, 3)
    try:
        reply = rc.call("INFO", "server")
        assert reply.startswith(b"=") and reply[reply.index(b"\r\n") + 2:].startswith(
            b"txt:# Server\r\n")
    finally:
        rc.close()


@pytest.mark.differential
def test_field_names_and_order_match_redis(server, oracle):
    """Every Redis field, in Redis's order (values differ by nature)."""
    a, b = raw(server), raw(oracle)
    try:
        for c in (a, b):
            c.call("SET", "infokey", "v")
            c.call("CONFIG", "GET", "maxmemory")
            c.call("NOSUCHCOMMAND")
        ours = parse(info_text(a, "everything"))
        theirs = parse(info_text(b, "everything"))
    finally:
        a.close()
        b.close()
    assert list(ours) == list(theirs)
    for section in theirs:
        if section in ("Commandstats", "Latencystats", "Errorstats", "Keyspace"):
            continue
        got = [k for k in ours[section] if k not in EXTRA_FIELDS]
        assert got == list(theirs[section]), section
    assert "errorstat_ERR" in ours["Errorstats"]
    assert "db0" in ours["Keyspace"]
    assert "cmdstat_set" in ours["Commandstats"]


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------
def test_server_section(rc, server):
    s = parse(info_text(rc, "server"))["Server"]
    assert s["redis_version"] == "7.0.15"
    assert s["redis_mode"] == "standalone"
    assert s["tcp_port"] == str(server.port)
    assert int(s["process_id"]) > 0
    assert re.fullmatch(r"[0-9a-f]{40}", s["run_id"])
    assert s["arch_bits"] in ("32", "64")
    assert s["multiplexing_api"] in ("epoll", "poll", "select", "kqueue", "evport")
    assert abs(int(s["server_time_usec"]) / 1e6 - time.time()) < 5
    assert int(s["uptime_in_days"]) == int(s["uptime_in_seconds"]) // 86400
    # 0 unless the suite runs through the I/O threads (OMAKASE_TEST_IO_THREADS)
    assert s["io_threads_active"] in (("0", "1") if os.environ.get("OMAKASE_TEST_IO_THREADS")
                                      else ("0",))


def test_clients_and_stats_counters_move(server, rc):
    before = parse(info_text(rc, "stats", "clients"))
    others = [raw(server) for _ in range(3)]
    try:
        for o in others:
            o.call("PING")
        rc.call("GET", "nosuchkey")
        rc.call("SET", "k", "v")
        rc.call("GET", "k")
        after = parse(info_text(rc, "stats", "clients"))
    finally:
        for o in others:
            o.close()
    b, a = before["Stats"], after["Stats"]
    assert int(a["total_connections_received"]) >= int(b["total_connections_received"]) + 3
    assert int(a["total_commands_processed"]) >= int(b["total_commands_processed"]) + 7
    assert int(a["keyspace_hits"]) == int(b["keyspace_hits"]) + 1
    assert int(a["keyspace_misses"]) == int(b["keyspace_misses"]) + 1
    assert int(a["total_net_input_bytes"]) > int(b["total_net_input_bytes"])
    assert int(after["Clients"]["connected_clients"]) >= 4


def test_errorstats_and_total_error_replies(r, rc):
    r.config_resetstat()
    rc.call("NOSUCHCOMMAND")
    rc.call("GET")
    rc.call("SET", "s", "v")
    rc.call("INCR", "s")
    text = info_text(rc, "errorstats", "stats")
    info = parse(text)
    assert info["Errorstats"]["errorstat_ERR"] == "count=3"
    assert int(info["Stats"]["total_error_replies"]) == 3
    r.config_resetstat()
    assert parse(info_text(rc, "errorstats"))["Errorstats"] == {}


def test_errorstats_code_is_a_first_word_within_32_characters(r):
    """afterErrorReply: the code is the text between "-" and a space found
    within the first 32 characters; without such a space it is ERR (as
    redis-server 7.0.15 counts these script errors)."""
    r.config_resetstat()
    for err in ("x", "A" * 34 + " long first word", "B" * 30 + " fits",
                "MYERR hello", " leading space"):
        with pytest.raises(redis.ResponseError):
            r.eval("return {err=ARGV[1]}", 0, err)
    counts = {k: v["count"] for k, v in r.info("errorstats").items()}
    assert counts == {"errorstat_ERR": 2, "errorstat_" + "B" * 30: 1,
                      "errorstat_MYERR": 1, "errorstat_": 1}


def test_commandstats_line_format(r, rc):
    r.config_resetstat()
    for _ in range(3):
        rc.call("SET", "a", "b")
    rc.call("GET")                      # rejected (arity)
    rc.call("CONFIG", "GET", "maxmemory")
    stats = parse(info_text(rc, "commandstats"))["Commandstats"]
    assert re.fullmatch(r"calls=3,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,"
                        r"failed_calls=0", stats["cmdstat_set"])
    assert re.fullmatch(r"calls=0,usec=0,usec_per_call=0\.00,rejected_calls=1,failed_calls=0",
                        stats["cmdstat_get"])
    assert "cmdstat_config|get" in stats


def test_keyspace_section(r, rc):
    r.flushall()
    assert parse(info_text(rc, "keyspace"))["Keyspace"] == {}
    r.set("a", 1)
    r.set("b", 2, ex=100)
    r.select(5)
    r.set("c", 3)
    ks = parse(info_text(rc, "keyspace"))["Keyspace"]
    assert ks["db0"].startswith("keys=2,expires=1,avg_ttl=")
    assert ks["db5"] == "keys=1,expires=0,avg_ttl=0"
    r.flushall()


def test_memory_section_is_consistent(rc):
    m = parse(info_text(rc, "memory"))["Memory"]
    used = int(m["used_memory"])
    assert used > 0 and int(m["used_memory_rss"]) > 0
    assert int(m["used_memory_peak"]) >= used
    assert m["maxmemory_policy"] == "noeviction"
    for field in ("used_memory_human", "used_memory_rss_human", "used_memory_peak_human",
                  "maxmemory_human", "total_system_memory_human"):
        assert re.fullmatch(r"\d+(B|\.\d\d[KMGTP])", m[field]), field


def test_bytes_to_human():
    from omakase.commands.info import bytes_to_human
    assert bytes_to_human(0) == "0B"
    assert bytes_to_human(1023) == "1023B"
    assert bytes_to_human(1024) == "1.00K"
    assert bytes_to_human(1536) == "1.50K"
    assert bytes_to_human(1024 * 1024) == "1.00M"
    assert bytes_to_human(3 * 1024 ** 3) == "3.00G"
    assert bytes_to_human(1024 ** 4) == "1.00T"
    assert bytes_to_human(1024 ** 5) == "1.00P"


def test_persistence_replication_cluster(rc):
    info = parse(info_text(rc, "persistence", "replication", "cluster"))
    p = info["Persistence"]
    assert p["loading"] == "0" and p["rdb_bgsave_in_progress"] == "0"
    assert p["rdb_last_bgsave_status"] == "ok" and p["aof_last_write_status"] == "ok"
    assert int(p["rdb_last_save_time"]) <= time.time()
    rep = info["Replication"]
    assert rep["role"] == "master" and rep["connected_slaves"] == "0"
    assert re.fullmatch(r"[0-9a-f]{40}", rep["master_replid"])
    assert rep["master_replid2"] == "0" * 40
    assert info["Cluster"] == {"cluster_enabled": "0"}


def test_rdb_changes_since_last_save_counts_writes(rc):
    before = int(parse(info_text(rc, "persistence"))["Persistence"]["rdb_changes_since_last_save"])
    rc.call("SET", "x", "1")
    rc.call("SET", "y", "2")
    after = int(parse(info_text(rc, "persistence"))["Persistence"]["rdb_changes_since_last_save"])
    assert after == before + 2


def test_cpu_section(rc):
    cpu = parse(info_text(rc, "cpu"))["CPU"]
    assert list(cpu) == ["used_cpu_sys", "used_cpu_user", "used_cpu_sys_children",
                         "used_cpu_user_children", "used_cpu_sys_main_thread",
                         "used_cpu_user_main_thread"]
    for v in cpu.values():
        assert re.fullmatch(r"\d+\.\d{6}", v)


def test_resetstat_is_not_counted_as_failed(r):
    """Only an increase of the error counter marks a call failed: RESETSTAT
    lowers it while it runs."""
    try:
        r.execute_command("NOSUCHCOMMAND")
    except redis.ResponseError:
        pass
    r.config_resetstat()
    r.config_resetstat()
    stats = r.info("commandstats")
    assert stats["cmdstat_config|resetstat"]["failed_calls"] == 0
