"""BullMQ acceptance: BullMQ's own Node.js Queue / Worker / QueueEvents /
FlowProducer run their basic workflows (and so BullMQ's own Lua scripts,
loaded with SCRIPT LOAD / EVALSHA through ioredis) against omakase, and
against Debian's redis-server 7.0 to prove the driver itself right.

The Node project is bullmq/ (package.json + package-lock.json pin bullmq and
ioredis); `npm ci` installs it once per test session.  bullmq/driver.js holds
the workflow and its checks and exits 0 only when every check matched.
Where node or npm is missing the test skips, except in CI where it fails.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from acceptance_util import HERE, KINDS, require_kind

PROJECT = os.path.join(HERE, "bullmq")
DRIVER_TIMEOUT = 60       # seconds; the driver's own watchdog fires at 45 s
NPM_CI_TIMEOUT = 300


@pytest.fixture(scope="session")
def bullmq_project():
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        missing = " and ".join(n for n, p in (("node", node), ("npm", npm)) if not p)
        if os.environ.get("CI"):
            pytest.fail(f"{missing} not installed: the BullMQ acceptance run needs Node.js 20 + npm")
        pytest.skip(f"{missing} not installed: BullMQ acceptance run skipped (it runs in CI)")
    proc = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                          cwd=PROJECT, capture_output=True, text=True, timeout=NPM_CI_TIMEOUT)
    if proc.returncode != 0:
        pytest.fail(f"npm ci failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return node


@pytest.mark.parametrize("kind", KINDS)
def test_bullmq_workflow(kind, bullmq_project, start_server):
    require_kind(kind)
    srv = start_server(kind=kind)
    proc = subprocess.run([bullmq_project, "driver.js", str(srv.port), srv.host], cwd=PROJECT,
                          capture_output=True, text=True, timeout=DRIVER_TIMEOUT)
    report = f"driver exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-4000:]}" \
             f"\n--- stderr ---\n{proc.stderr[-4000:]}"
    if proc.returncode != 0:
        report += f"\n--- server log ({kind}) ---\n{srv.log_text()[-3000:]}"
    assert proc.returncode == 0, report
    assert "all checks passed" in proc.stdout, report
