"""Smoke run of the benchmark suite (bench/): proves it works, measures nothing.

The benchmarks themselves never fail CI.  This file runs each script once
with tiny sizes (a thousand requests per redis-benchmark run, a few thousand
keys) and checks the shape of what comes out: every test/dataset/case is
either measured with sane numbers or reported "n/a (...)", the commands
omakase has always had (PING, SET, GET) are measured, the geomean lines close
the throughput report, and the JSON/markdown files are written.  Commands
omakase lacks today (EVAL, BGSAVE, ...) must come out as n/a, not as a
failure; a broken script (crash, unparsed output, non-zero exit) fails here.

The scripts run concurrently (one fixture starts them all) so the whole
file stays well under a minute on the 2-core machine.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bench")
TIMEOUT = 50

SMOKE_TESTS = ["PING_INLINE", "PING_MBULK", "SET", "GET", "LPUSH", "LPOP", "LRANGE_100",
               "MSET", "EVAL"]

pytestmark = pytest.mark.skipif(
    not (shutil.which("redis-server") and shutil.which("redis-benchmark")) and not os.environ.get("CI"),
    reason="redis-server / redis-benchmark not installed")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Start run.py, memory.py, commands.py and latency.py at once; wait for all."""
    out = tmp_path_factory.mktemp("bench-out")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    argvs = {
        "run": ["run.py", "--rounds", "2", "--requests", "1000", "--shapes", "a,b,c",
                "--tests", ",".join(SMOKE_TESTS), "--no-plot", "--bench-timeout", "30"],
        "memory": ["memory.py", "--keys", "3000"],
        "commands": ["commands.py", "--quick", "--only", "keyspace,stream"],
        "latency": ["latency.py", "--growth-keys", "5000", "--bgsave-keys", "2000",
                    "--set-members", "5000", "--idle-seconds", "0.3"],
    }
    procs = {}
    for name, argv in argvs.items():
        d = out / name
        d.mkdir()
        procs[name] = (d, subprocess.Popen(
            [sys.executable, os.path.join(BENCH, argv[0]), *argv[1:], "--out", str(d)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, start_new_session=True))
    results = {}
    try:
        for name, (d, p) in procs.items():
            try:
                stdout, stderr = p.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGTERM)      # the script stops its servers
                stdout, stderr = p.communicate(timeout=20)
                pytest.fail(f"bench/{argvs[name][0]} took over {TIMEOUT}s:\n{stderr.decode()[-2000:]}")
            results[name] = (p.returncode, stdout.decode(), stderr.decode(), d)
    finally:
        for _, p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    return results


def check_exit(res):
    rc, stdout, stderr, _ = res
    assert rc == 0, f"exit {rc}\nstdout:\n{stdout[-3000:]}\nstderr:\n{stderr[-3000:]}"


def is_na(status):
    return isinstance(status, str) and status.startswith("n/a (")


def test_run_shapes(runs):
    res = runs["run"]
    check_exit(res)
    _, stdout, _, out = res
    last = stdout.strip().splitlines()[-3:]
    for line, shape in zip(last, "abc"):
        assert line.startswith(f"geomean ratio shape {shape}: "), last
        value = line.split(": ", 1)[1].split()[0]
        assert float(value) > 0, line
    data = json.loads((out / "shapes.json").read_text())
    assert data["meta"]["rounds"] == 2
    assert set(data["shapes"]) == {"a", "b", "c"}
    for key, sh in data["shapes"].items():
        assert list(sh["tests"]) == SMOKE_TESTS
        for name, t in sh["tests"].items():
            if t["status"] is not None:
                assert is_na(t["status"]), (key, name, t["status"])
                continue
            for kind in ("omakase", "redis"):
                m = t["median"][kind]
                assert m["rps"] > 0 and m["cpu_us"] is not None, (key, name, kind, m)
                if key == "c":
                    assert m["p50"] > 0 and m["p99"] >= m["p50"], (name, kind, m)
            assert t["ratios"] and t["median"]["ratio"] > 0, (key, name)
        for name in ("PING_INLINE", "PING_MBULK", "SET", "GET"):    # omakase has always had these
            assert sh["tests"][name]["status"] is None, (key, name, sh["tests"][name])
        assert sh["n_tests"] >= 4 and sh["geomean"] > 0
        # every n/a test is named on the geomean line
        for name, t in sh["tests"].items():
            if t["status"] is not None:
                assert any(e.startswith(name) for e in sh["excluded"])
    eval_status = data["shapes"]["a"]["tests"]["EVAL"]["status"]
    assert eval_status in (None, "n/a (not implemented)")
    assert "EVAL" in stdout
    commands = (out / "commands.txt").read_text()
    assert "redis-benchmark" in commands and "-P 16" in commands and "--csv" in commands
    assert "shape a" in (out / "shapes.md").read_text()


def test_plot(runs):
    pytest.importorskip("matplotlib")
    sys.path.insert(0, BENCH)
    try:
        import plot
    finally:
        sys.path.remove(BENCH)
    out = runs["run"][3]
    data = json.loads((out / "shapes.json").read_text())
    path = plot.plot_shapes(data, str(out / "shapes.png"))
    assert path and os.path.getsize(path) > 1000


def test_memory(runs):
    res = runs["memory"]
    check_exit(res)
    _, stdout, _, out = res
    data = json.loads((out / "memory.json").read_text())
    assert set(data["datasets"]) == {"strings", "hashes", "zset"}
    for ds, per in data["datasets"].items():
        assert set(per) == {"omakase", "redis"}
        for kind, r in per.items():
            if r["status"] is not None:
                assert is_na(r["status"]), (ds, kind, r)
                continue
            assert r["n"] == 3000 and r["rss_after"] > 0 and r["load_s"] > 0
    redis_strings = data["datasets"]["strings"]["redis"]
    assert redis_strings["status"] is None
    assert redis_strings["used_after"] > redis_strings["used_before"]
    assert data["datasets"]["strings"]["omakase"]["status"] is None
    assert "strings" in stdout and "bytes per key" in stdout


def test_latency(runs):
    res = runs["latency"]
    check_exit(res)
    _, stdout, _, out = res
    data = json.loads((out / "latency.json").read_text())
    cases = data["cases"]
    assert len(cases) == 6, list(cases)   # idle, growth, BGSAVE, BGREWRITEAOF, DEL, UNLINK
    for case, per in cases.items():
        assert set(per) == {"omakase", "redis"}, case
        for kind, r in per.items():
            if r["status"] is not None:
                assert is_na(r["status"]), (case, kind, r)
                continue
            assert r["n"] > 0 and r["worst"] >= r["p99"] >= r["p50"] > 0, (case, kind, r)
    for kind in ("omakase", "redis"):
        idle = next(v for k, v in cases.items() if k.startswith("idle"))[kind]
        assert idle["status"] is None
    bgsave = next(v for k, v in cases.items() if k.startswith("BGSAVE"))
    assert bgsave["redis"]["status"] is None and bgsave["redis"]["cmd_ms"] > 0
    assert bgsave["omakase"]["status"] is None and bgsave["omakase"]["cmd_ms"] > 0
    aofrw = next(v for k, v in cases.items() if k.startswith("BGREWRITEAOF"))
    assert aofrw["omakase"]["status"] is None and aofrw["redis"]["status"] is None


def test_commands_survey(runs):
    res = runs["commands"]
    check_exit(res)
    _, stdout, _, out = res
    last = stdout.strip().splitlines()[-2:]
    assert last[0].startswith("geomean cpu ratio: ") and last[1].startswith("geomean rps ratio: ")
    data = json.loads((out / "commands.json").read_text())
    rows = {r["label"]: r for r in data["rows"]}
    assert "EXISTS" in rows and "XRANGE COUNT 10" in rows and "GET" not in rows  # --only
    for label, r in rows.items():
        if r["status"] is not None:
            assert is_na(r["status"]), (label, r)
            continue
        assert r["omakase_rps"] > 0 and r["redis_rps"] > 0 and r["rps_ratio"] > 0, (label, r)
        assert r["omakase_cpu"] is not None and r["redis_cpu"] is not None, (label, r)
    for label in ("EXISTS", "DBSIZE", "XLEN"):       # omakase has always had these
        assert rows[label]["status"] is None, rows[label]
    assert "| command |" in (out / "commands.md").read_text()
