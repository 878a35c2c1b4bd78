"""LATENCY DOCTOR: the same events give the same report as redis-server 7.0."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.differential


def doctor(c) -> str:
    text = c.execute_command("LATENCY", "DOCTOR")
    return text.decode() if isinstance(text, bytes) else text


@pytest.mark.parametrize("slower_than", [-1, 10000, 0])
def test_doctor_report_matches(r, o, slower_than):
    for c in (r, o):
        c.execute_command("LATENCY", "RESET")
        c.config_set("latency-monitor-threshold", 0)
        assert doctor(c).startswith("I'm sorry, Dave, I can't do that.")
        c.config_set("latency-monitor-threshold", 1)
        assert doctor(c).startswith("Dave, no latency spike was observed")
        c.config_set("slowlog-log-slower-than", slower_than)
        c.execute_command("DEBUG", "SLEEP", "0.02")      # a "command" event
    ours, theirs = doctor(r), doctor(o)
    # the measured numbers differ by nature; the text around them must not
    mask = lambda t: re.sub(r"\d+(\.\d+)?", "N", t)    # noqa: E731
    assert mask(ours) == mask(theirs)
    for c in (r, o):
        c.config_set("latency-monitor-threshold", 0)
        c.config_set("slowlog-log-slower-than", 10000)
        c.execute_command("LATENCY", "RESET")
