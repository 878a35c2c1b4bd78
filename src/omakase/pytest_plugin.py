"""pytest plugin (entry point ``pytest11: omakase``): a real server per session.

::

    def test_roundtrip(omakase_server):
        r = redis.Redis.from_url(omakase_server.url)
        assert r.ping()

``omakase_server`` is session-scoped: one ``omakase.embed.serve()`` for the
whole run (free port, temp dir, no snapshots), stopped at the end.  Extra
directives come from the ini option ``omakase_config``, one ``name value``
per line::

    [pytest]
    omakase_config =
        maxmemory 100mb
        appendonly yes

Nothing is imported or started unless a test asks for the fixture.
"""
from __future__ import annotations

from typing import Any, Iterator

import pytest


def pytest_addoption(parser: Any) -> None:
    parser.addini("omakase_config", type="linelist", default=[],
                  help="omakase directives for the omakase_server fixture, one 'name value' a line")


def _ini_config(config: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for line in config.getini("omakase_config"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition(" ")
        out[name.strip()] = value.strip()
    return out


@pytest.fixture(scope="session")
def omakase_server(pytestconfig: Any) -> Iterator[Any]:
    """A running omakase server: ``.host``, ``.port``, ``.url``, ``.pid``, ``.dir``."""
    from omakase.embed import serve
    with serve(**_ini_config(pytestconfig)) as srv:
        yield srv
