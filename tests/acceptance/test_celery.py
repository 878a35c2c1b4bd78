"""Celery acceptance: a real `celery worker` (solo pool, a subprocess) with the
Redis broker and the Redis result backend, run against omakase and against
Debian's redis-server 7.0 (which proves the checks themselves right).

What it exercises: kombu's Redis transport (LPUSH/BRPOP queues, the unacked
hash and zset, pub/sub fanout for remote control, its binding Lua scripts),
the result backend (SETEX/GET, results delivered over pub/sub) and Celery's
chord Lua scripts (CHORD_PART_RETURN / cleanup).  The app is celery_app.py.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from acceptance_util import HERE, KINDS, require_kind, tail

try:
    import celery  # noqa: F401
except ImportError:                       # pragma: no cover - depends on the machine
    if os.environ.get("CI"):
        raise                             # CI installs the `test` extra, which has celery
    pytest.skip("celery not installed (pip install -e '.[test]')", allow_module_level=True)

from celery import chain, chord, group  # noqa: E402

from celery_app import make_app  # noqa: E402

GET_TIMEOUT = 15


def start_worker(url: str, logfile: str) -> subprocess.Popen:
    env = dict(os.environ)
    env["OMAKASE_CELERY_URL"] = url
    env["PYTHONPATH"] = HERE + os.pathsep + env.get("PYTHONPATH", "")
    argv = [sys.executable, "-m", "celery", "-A", "celery_app", "worker", "--pool=solo",
            "--loglevel=INFO", "--without-mingle", "-n", f"acceptance-{os.getpid()}@%h",
            "-Q", "omakase-acceptance"]
    out = open(logfile, "wb")
    try:
        return subprocess.Popen(argv, cwd=HERE, env=env, stdout=out, stderr=subprocess.STDOUT)
    finally:
        out.close()


def stop_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)     # warm shutdown
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_workflow(app) -> None:
    add, xsum = app.signature("acc.add"), app.signature("acc.xsum")

    # Plain tasks, sent before the worker is known to be up (they wait in
    # the queue) and fetched through the result backend.
    results = [app.send_task("acc.add", args=(i, i)) for i in range(3)]
    assert [r.get(timeout=GET_TIMEOUT) for r in results] == [0, 2, 4]
    assert all(r.state == "SUCCESS" for r in results)

    # The worker answers a broadcast (pub/sub fanout through the pidbox).
    replies = app.control.ping(timeout=5.0, limit=1)
    assert len(replies) == 1 and list(replies[0].values())[0] == {"ok": "pong"}, replies

    # A failing task: the exception comes back through the backend.
    failing = app.send_task("acc.boom", args=("kaboom",))
    with pytest.raises(Exception) as info:
        failing.get(timeout=GET_TIMEOUT)
    assert type(info.value).__name__ == "ValueError" and "kaboom" in str(info.value)
    assert failing.state == "FAILURE"
    assert failing.traceback and "kaboom" in failing.traceback

    # A task that retries itself once (with a countdown) and then succeeds.
    flaky = app.send_task("acc.flaky", args=("v",))
    assert flaky.get(timeout=GET_TIMEOUT) == {"value": "v", "retries": 1}

    # A countdown (ETA) task.
    t0 = time.monotonic()
    later = app.send_task("acc.add", args=(20, 22), countdown=1)
    assert later.get(timeout=GET_TIMEOUT) == 42
    assert time.monotonic() - t0 >= 0.9

    # Canvas: a group, a chain and a chord (the chord runs Celery's Lua).
    g = group(add.clone(args=(i, 10)) for i in range(4)).apply_async()
    assert g.get(timeout=GET_TIMEOUT) == [10, 11, 12, 13]
    c = chain(add.clone(args=(1, 2)), add.clone(args=(3,))).apply_async()
    assert c.get(timeout=GET_TIMEOUT) == 6
    ch = chord((add.clone(args=(i, i)) for i in range(5)), xsum.clone()).apply_async()
    assert ch.get(timeout=GET_TIMEOUT) == 20
    # A second chord, and the result is readable again by id (from the backend).
    ch2 = chord([add.clone(args=(100, 1)), add.clone(args=(200, 2))], xsum.clone()).apply_async()
    assert ch2.get(timeout=GET_TIMEOUT) == 303
    assert app.AsyncResult(ch.id).get(timeout=GET_TIMEOUT) == 20

    # Inspect: nothing is left active or reserved.
    insp = app.control.inspect(timeout=5.0, limit=1)
    active = insp.active()
    assert active and all(v == [] for v in active.values()), active


@pytest.mark.parametrize("kind", KINDS)
def test_celery_workflow(kind, start_server, tmp_path):
    require_kind(kind)
    srv = start_server(kind=kind)
    url = f"redis://{srv.host}:{srv.port}/0"
    logfile = str(tmp_path / "worker.log")
    app = make_app(url)
    worker = start_worker(url, logfile)
    try:
        run_workflow(app)
        assert worker.poll() is None, "the worker died"
    except Exception:
        print(f"--- celery worker log ({kind}) ---\n{tail(logfile)}")
        print(f"--- server log ({kind}) ---\n{srv.log_text()[-3000:]}")
        raise
    finally:
        stop_worker(worker)
        app.close()
    assert worker.returncode == 0, tail(logfile)
