"""Shared fixtures: a real omakase server per session, redis-py clients.

`--redis-url redis://host:port` runs the same integration tests against
another server (Debian's redis-server 7.0), which is how we know a test
asserts Redis's behaviour and not ours.  Differential tests get an `oracle`:
a Debian redis-server 7.0 started for the session.
"""
from __future__ import annotations

import os
import sys

import pytest
import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import ExternalServer, ServerProcess, redis_server_available  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--redis-url", default=None,
                     help="run integration tests against this server instead of omakase")


@pytest.fixture(scope="session")
def server(request):
    url = request.config.getoption("--redis-url")
    if url:
        srv = ExternalServer(url)
        yield srv
        return
    srv = ServerProcess("omakase")
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def oracle():
    """Debian's redis-server 7.0, the reference for differential tests."""
    if not redis_server_available():
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed; .ci/run must install it")
        pytest.skip("redis-server not installed")
    srv = ServerProcess("redis")
    yield srv
    srv.stop()


@pytest.fixture
def r(server):
    c = server.client(protocol=2)
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def r3(server):
    c = server.client(protocol=3)
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def o(oracle):
    c = oracle.client(protocol=2)
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def start_server():
    """Factory for tests that need their own server (config, fork, kill)."""
    started = []

    def start(kind: str = "omakase", **config) -> ServerProcess:
        srv = ServerProcess(kind, **config)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()
