#!/usr/bin/env python3
"""Record what a real redis-server says about its configuration.

Writes two JSON fixtures used by tests/unit/test_config.py:

  redis_config_defaults.json   CONFIG GET * of a server started with no
                               options (plus the hidden directives, which only
                               an exact CONFIG GET shows), minus values that
                               depend on the machine (dir, port, ...).

  redis_config_probe.json      (--probe) for every directive and a battery of
                               values: what start-up says (``ACCEPT`` or the
                               last line of the FATAL CONFIG FILE ERROR), and
                               for run-time settable ones what CONFIG SET
                               replies and what CONFIG GET then shows
                               ("OK <value>" / "ERR <error>"); results are
                               indexes into a list of distinct messages.

Usage:  python tests/tools/dump_redis_config.py [--probe] [--redis-server PATH]
Needs redis-server (Debian's 7.0.15 is the reference) and redis-py.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

DATA = pathlib.Path(__file__).resolve().parent.parent / "unit" / "data"
MACHINE_DEPENDENT = {"dir", "port", "pidfile", "logfile", "unixsocket"}
HIDDEN = ["use-exit-on-panic", "rdb-key-save-delay", "key-load-delay", "watchdog-period",
          "loading-process-events-interval-bytes"]
END = "zzz-probe-end"

# One word each: on the command line a value is one (quoted) word.
PROBE_VALUES = [
    "qqq", "", "-9223372036854775808", "9223372036854775807", "18446744073709551615",
    "99999999999999999999", "-1", "0", "1", "+1", "007", "0x10", "1.5", "100", "777",
    "1%", "100%", "101%", "1k", "1kb", "1KB", "3mb", "1gb", "1G", "yes", "no", "YES", "local",
    "a b", "3600 1 300 100", "0 1", "normal 1mb 2mb 3", "replica 1 2 3 pubsub 4 5 6",
    "master 1 2 3", "1 2 3", "-2001 0 0", "KEA", "Kg$x", "AKEmn", "xyz", "50 99.9", "1e1",
    "nosave now", "save nosave", "default", "127.0.0.1 ::1", "noeviction", "allkeys-LRU",
    "{title} {port}", "{title}", "{nope}", "a_b", "a.b", "x/y", "x\\y", "host 6379", "no one",
]
# CONFIG SET on these would cut the probe off from the server or the machine.
NO_LIVE_SET = {"port", "bind", "requirepass", "dir", "watchdog-period", "tls-port",
               "maxclients", "oom-score-adj", "oom-score-adj-values"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(server: str, cwd: str, *args: str):
    import redis
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), *args], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = redis.Redis(port=port, decode_responses=True)
    for _ in range(200):
        try:
            r.ping()
            return proc, r
        except Exception:
            time.sleep(0.02)
    proc.kill()
    raise SystemExit("redis-server did not start")


def stop(proc, r) -> None:
    try:
        r.shutdown(nosave=True)
    except Exception:
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


def dump_defaults(server: str) -> dict:
    with tempfile.TemporaryDirectory() as d:
        proc, r = start(server, d)
        try:
            version = r.info("server")["redis_version"]
            allc = r.config_get("*")
            hidden = {h: r.config_get(h)[h] for h in HIDDEN}
        finally:
            stop(proc, r)
    return {
        "redis_version": version,
        "ignored": sorted(MACHINE_DEPENDENT),
        "config": {k: v for k, v in sorted(allc.items()) if k not in MACHINE_DEPENDENT},
        "names": sorted(allc),
        "hidden": hidden,
    }


def startup_result(server: str, cwd: str, name: str, value: str) -> str:
    p = subprocess.run([server, "--port", "0", "--save", "", "--" + name, value, "--" + END],
                       cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                       timeout=10)
    lines = p.stderr.strip().splitlines()
    if len(lines) >= 2 and lines[-2] == f">>> '{END}'":
        return "ACCEPT"
    return lines[-1] if lines else f"rc={p.returncode}"


def compact(raw: dict[str, dict]) -> dict:
    """Results as indexes into one list of distinct messages (keeps the file small)."""
    messages: list[str] = []
    index: dict[str, int] = {}

    def ix(m: str | None) -> int | None:
        if m is None:
            return None
        if m not in index:
            index[m] = len(messages)
            messages.append(m)
        return index[m]

    configs = {}
    for name, e in raw.items():
        configs[name] = {"settable": e["settable"],
                         "startup": [ix(e["startup"][v]) for v in PROBE_VALUES],
                         "set": [ix(e["set"].get(v)) for v in PROBE_VALUES]}
    return {"values": PROBE_VALUES, "messages": messages, "configs": configs}


def probe(server: str) -> dict:
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as d:
        proc, r = start(server, d, "--save", "")
        try:
            names = sorted(r.config_get("*")) + HIDDEN
            for name in names:
                orig = r.config_get(name)[name]
                try:
                    r.config_set(name, orig)
                    settable = "OK"
                except Exception as exc:        # immutable / protected
                    settable = str(exc)
                entry = {"settable": settable, "startup": {}, "set": {}}
                for v in PROBE_VALUES:
                    entry["startup"][v] = startup_result(server, d, name, v)
                    if settable != "OK" or name in NO_LIVE_SET:
                        continue
                    try:
                        r.config_set(name, v)
                        entry["set"][v] = "OK " + r.config_get(name)[name]
                        r.config_set(name, orig)
                    except Exception as exc:
                        entry["set"][v] = "ERR " + str(exc)
                out[name] = entry
                print(name, file=sys.stderr)
        finally:
            stop(proc, r)
    return compact(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--probe", action="store_true", help="also write redis_config_probe.json")
    ap.add_argument("--redis-server", default="redis-server")
    a = ap.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / "redis_config_defaults.json").write_text(
        json.dumps(dump_defaults(a.redis_server), indent=1, sort_keys=True) + "\n")
    if a.probe:
        (DATA / "redis_config_probe.json").write_text(
            json.dumps(probe(a.redis_server), separators=(",", ":"), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
