"""Helpers shared by the acceptance runs (test_bullmq.py, test_celery.py).

Acceptance runs: job-queue libraries nobody here wrote (BullMQ, Celery) run
their own workflows, with their own Lua scripts, against omakase unchanged.
Each run also goes against Debian's redis-server 7.0, which proves the driver
itself right: a check that fails only on omakase is an omakase bug.

(A plain module, not conftest.py: tests/conftest.py already owns that module
name on sys.path, so test modules could not import from a second one.)
"""
from __future__ import annotations

import os

import pytest

from helpers import redis_server_available

HERE = os.path.dirname(os.path.abspath(__file__))

KINDS = ["omakase", "redis"]


def require_kind(kind: str) -> None:
    """Skip the redis-server leg where it is missing (never in CI)."""
    if kind == "redis" and not redis_server_available():
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed; .ci/run must install it")
        pytest.skip("redis-server not installed")


def tail(path: str, limit: int = 6000) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()[-limit:]
    except OSError:
        return ""
