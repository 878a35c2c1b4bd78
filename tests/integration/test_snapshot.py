"""SAVE, BGSAVE, save points, loading at start-up, SHUTDOWN's save, DEBUG RELOAD.

Each test runs its own server in its own directory (they fork and write files).
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import pytest
import redis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from helpers import (config_args, free_port, omakase_argv, omakase_env,  # noqa: E402
                     no_retry, spawn_omakase, wait_for)


def info(r, section="persistence"):
    return r.info(section)


def bgsave_done(r):
    return wait_for(lambda: info(r)["rdb_bgsave_in_progress"] == 0)


def shutdown(r, *flags):
    """SHUTDOWN: the server closes the connection instead of replying."""
    r.set_retry(no_retry())     # the error is the point: no reconnecting
    with pytest.raises(redis.ConnectionError):
        r.execute_command("SHUTDOWN", *flags)


def fill_every_type(r):
    r.set("s", "hello")
    r.set("n", 12345)
    r.set("big", "x" * 5000)
    r.rpush("l", *range(10))
    r.rpush("biglist", *[f"item-{i}" for i in range(600)])
    r.sadd("iset", 1, 2, 3)
    r.sadd("set", "a", "b", "c")
    r.hset("h", mapping={"f1": "v1", "f2": "v2"})
    r.hset("bigh", mapping={f"f{i}": f"v{i}" for i in range(600)})
    r.zadd("z", {"a": 1.5, "b": 2})
    r.zadd("bigz", {f"m{i}": i / 3 for i in range(300)})
    r.set("ttl", "v", px=1_000_000)
    r.execute_command("SELECT", 3)
    r.set("in3", "yes")
    r.execute_command("SELECT", 0)


def test_save_writes_file_and_lastsave(start_server, tmp_path):
    srv = start_server(dir=str(tmp_path))
    r = srv.client()
    before = r.lastsave()
    r.set("k", "v")
    time.sleep(1.05)
    assert r.save() is True
    assert (tmp_path / "dump.rdb").exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith("temp-")]
    assert r.lastsave() > before
    assert info(r)["rdb_changes_since_last_save"] == 0
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        r.execute_command("SAVE", "x")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        r.execute_command("LASTSAVE", "x")


def test_restart_reloads_every_type(start_server, tmp_path):
    srv = start_server(dir=str(tmp_path))
    r = srv.client()
    fill_every_type(r)
    digest = r.execute_command("DEBUG", "DIGEST")
    r.save()
    srv.stop()
    srv2 = start_server(dir=str(tmp_path))
    r2 = srv2.client()
    assert r2.execute_command("DEBUG", "DIGEST") == digest
    assert r2.dbsize() == 12
    assert 0 < r2.pttl("ttl") <= 1_000_000
    assert r2.object("encoding", "biglist") == b"quicklist"
    assert r2.object("encoding", "iset") == b"intset"
    assert r2.object("encoding", "bigh") == b"hashtable"
    assert r2.object("encoding", "z") == b"listpack"
    assert r2.object("encoding", "bigz") == b"skiplist"
    text = open(srv2.config["logfile"]).read()
    assert "DB loaded from disk" in text
    assert "Done loading RDB, keys loaded: 13, keys expired: 0." in text


def test_bgsave_in_child_and_info_fields(start_server, tmp_path):
    srv = start_server(dir=str(tmp_path))
    r = srv.client()
    r.execute_command("DEBUG", "POPULATE", 50000)
    assert r.bgsave() is True
    with pytest.raises(redis.ResponseError, match="Background save already in progress"):
        r.bgsave()
    assert r.ping()               # the parent keeps serving
    assert bgsave_done(r)
    i = info(r)
    assert i["rdb_last_bgsave_status"] == "ok"
    assert i["rdb_saves"] == 1
    assert i["rdb_last_cow_size"] > 0
    assert i["rdb_changes_since_last_save"] == 0
    assert info(r, "stats")["total_forks"] == 1
    assert (tmp_path / "dump.rdb").stat().st_size > 50000 * 10
    text = open(srv.config["logfile"]).read()
    assert "Background saving started by pid" in text
    assert "Background saving terminated with success" in text
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("BGSAVE", "NOW")
    assert r.execute_command("BGSAVE", "SCHEDULE") in (True, b"Background saving started")


def test_changes_during_bgsave_stay_dirty(start_server, tmp_path):
    srv = start_server(dir=str(tmp_path))
    r = srv.client()
    r.execute_command("DEBUG", "POPULATE", 200000)
    r.bgsave()
    for i in range(10):
        r.set(f"during-{i}", i)
    assert bgsave_done(r)
    assert info(r)["rdb_changes_since_last_save"] == 10


def test_save_points_trigger_bgsave(start_server, tmp_path):
    srv = start_server(dir=str(tmp_path), save="1 2")
    r = srv.client()
    r.set("a", 1)
    r.set("b", 2)
    assert wait_for(lambda: info(r)["rdb_saves"] >= 1, timeout=8)
    assert "2 changes in 1 seconds. Saving..." in open(srv.config["logfile"]).read()


def test_shutdown_saves_with_save_points_and_nosave_does_not(start_server, tmp_path):
    srv = start_server(dir=str(tmp_path), save="3600 1")
    r = srv.client()
    r.set("kept", "1")
    shutdown(r)
    srv.proc.wait(10)
    assert srv.proc.returncode == 0
    srv2 = start_server(dir=str(tmp_path), save="3600 1")
    r2 = srv2.client()
    assert r2.get("kept") == b"1"
    r2.set("lost", "1")
    shutdown(r2, "NOSAVE")
    srv2.proc.wait(10)
    srv3 = start_server(dir=str(tmp_path))
    r3 = srv3.client()
    assert r3.get("kept") == b"1" and r3.get("lost") is None


def test_sigterm_saves_with_save_points(start_server, tmp_path):
    srv = start_server(dir=str(tmp_path), save="3600 1")
    srv.client().set("k", "v")
    srv.proc.terminate()
    srv.proc.wait(10)
    assert (tmp_path / "dump.rdb").exists()
    assert start_server(dir=str(tmp_path)).client().get("k") == b"v"


def _run_until_exit(tmp_path, timeout=20):
    port = free_port()
    log = tmp_path / "start.log"
    proc = subprocess.run(
        omakase_argv("--port", port) +
        config_args({"dir": str(tmp_path), "save": "", "logfile": str(log)}),
        env=omakase_env(), timeout=timeout, capture_output=True)
    return proc.returncode, log.read_text()


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_corrupt_rdb_refuses_to_start(start_server, tmp_path, damage):
    srv = start_server(dir=str(tmp_path))
    r = srv.client()
    fill_every_type(r)
    r.save()
    srv.stop()
    path = tmp_path / "dump.rdb"
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[len(data) // 2] ^= 0x40
    else:
        data = bytearray(b"not an rdb file at all")
    path.write_bytes(bytes(data))
    code, log = _run_until_exit(tmp_path)
    assert code == 1
    assert "Fatal error loading the DB" in log
    assert "Ready to accept connections" not in log


def test_debug_reload(start_server, tmp_path):
    srv = start_server(dir=str(tmp_path))
    r = srv.client()
    fill_every_type(r)
    digest = r.execute_command("DEBUG", "DIGEST")
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"
    assert r.execute_command("DEBUG", "DIGEST") == digest
    r.set("after", "1")
    assert r.execute_command("DEBUG", "RELOAD", "NOSAVE") == b"OK"
    assert r.get("after") is None
    assert r.execute_command("DEBUG", "DIGEST") == digest
    r.set("extra", "1")
    assert r.execute_command("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE") == b"OK"
    assert r.get("extra") == b"1" and r.get("s") == b"hello"
    with pytest.raises(redis.ResponseError,
                       match="DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."):
        r.execute_command("DEBUG", "RELOAD", "BOGUS")
    assert "DB reloaded by DEBUG RELOAD" in open(srv.config["logfile"]).read()


def test_failed_bgsave_sets_misconf_until_a_save_succeeds(start_server, tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    srv = start_server(dir=str(gone), save="3600 1", enable_protected_configs="yes")
    r = srv.client()
    r.set("k", "v")
    os.rmdir(gone)
    r.bgsave()
    assert wait_for(lambda: info(r)["rdb_last_bgsave_status"] == "err")
    with pytest.raises(redis.ResponseError, match="^MISCONF Redis is configured to save RDB"):
        r.set("k2", "v")
    with pytest.raises(redis.ResponseError, match="^MISCONF"):
        r.ping()
    assert r.get("k") == b"v"          # reads still work
    r.config_set("stop-writes-on-bgsave-error", "no")
    assert r.set("k2", "v")
    r.config_set("stop-writes-on-bgsave-error", "yes")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    r.config_set("dir", str(fresh))
    r.bgsave()
    assert wait_for(lambda: info(r)["rdb_last_bgsave_status"] == "ok")
    assert r.set("k3", "v")


def test_clients_get_loading_while_a_big_rdb_loads(start_server, tmp_path):
    srv = start_server(dir=str(tmp_path))
    r = srv.client()
    r.execute_command("DEBUG", "POPULATE", 400000)
    r.save()
    srv.stop()
    port = free_port()
    proc = spawn_omakase(
        "--port", port,
        *config_args({"dir": str(tmp_path), "save": "", "logfile": str(tmp_path / "l.log"),
                      "loading-process-events-interval-bytes": 65536}))
    seen = set()
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.sendall(b"GET x\r\nINFO persistence\r\n")
                    time.sleep(0.05)
                    data = s.recv(65536)
            except OSError:
                time.sleep(0.02)
                continue
            if data.startswith(b"-LOADING Redis is loading the dataset in memory"):
                seen.add("loading")
                if b"loading:1" in data and b"loading_loaded_perc:" in data:
                    seen.add("info")
            elif data.startswith(b"$-1"):
                break
        assert "loading" in seen and "info" in seen
        assert redis.Redis(port=port, protocol=2).dbsize() == 400000
        log = (tmp_path / "l.log").read_text()
        took = float(re.search(r"DB loaded from disk: ([\d.]+) seconds", log).group(1))
        if took > 0.6:        # progress is logged every 0.5 s of loading
            assert re.search(r"Loading RDB: \d+\.\d% \(\d+ keys loaded\)", log), log[-2000:]
    finally:
        proc.terminate()
        proc.wait(10)
