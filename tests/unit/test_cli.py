"""omakase.cli, omakase.log, omakase.embed and the pytest plugin.

The real Server is replaced by a stub module (``omakase.server`` in
sys.modules), so these tests exercise the command line and start-up sequence
alone.  Differential tests compare error output with Debian's redis-server
when it is installed; the embed tests drive a real redis-server through a
stand-in interpreter, which checks the subprocess/PING/shutdown machinery
independently of the server's own progress.
"""
from __future__ import annotations

import io
import os
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap
import time
import types

import pytest

from omakase import cli
from omakase.config import Config
from omakase.log import LL_DEBUG, LL_WARNING, Logger, create_logger, format_timestamp

SRC = str(pathlib.Path(cli.__file__).resolve().parent.parent)
HAVE_REDIS = shutil.which("redis-server") is not None
LOG_RE = re.compile(r"^(\d+):([MSCX]) (\d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3}) ([.\-*#]) (.*)$")


def env_with_src():
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


# ---------------------------------------------------------------------------
# Logger
# ---------------------------------------------------------------------------

def test_log_line_format():
    out = io.StringIO()
    log = Logger(None, stream=out)
    log.warning("hello")
    log.notice("there")
    log.verbose("hidden at notice level")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    m = LOG_RE.match(lines[0])
    assert m and m.group(1) == str(os.getpid()) and m.group(2) == "C"
    assert m.group(4) == "#" and m.group(5) == "hello"
    assert LOG_RE.match(lines[1]).group(4) == "*"


def test_log_level_follows_config_and_roles():
    cfg = Config(chdir=False)
    out = io.StringIO()
    log = create_logger(cfg, stream=out, role="M")
    cfg.loglevel = "debug"
    log.debug("d")
    log.verbose("v")
    cfg.set([(b"loglevel", b"warning")])
    log.notice("n")
    log.warning("w")
    chars = [(LOG_RE.match(l).group(2), LOG_RE.match(l).group(4)) for l in out.getvalue().splitlines()]
    assert chars == [("M", "."), ("M", "-"), ("M", "#")]
    log.set_role("S")
    log.main_pid = -1               # as if this process were a forked child
    out.truncate(0)
    out.seek(0)
    log.warning("child")
    assert LOG_RE.match(out.getvalue().strip()).group(2) == "C"
    log.set_role("X")
    log.main_pid = -1
    log.warning("sentinel")
    assert "X" in [LOG_RE.match(l).group(2) for l in out.getvalue().splitlines()]
    assert log.enabled(LL_WARNING) and not log.enabled(LL_DEBUG)
    with pytest.raises(ValueError):
        log.set_role("Q")


def test_log_to_file_truncation_and_raw(tmp_path):
    cfg = Config(chdir=False)
    cfg.logfile = str(tmp_path / "x.log")
    log = Logger(cfg)
    log.notice("a" * 2000)
    log.raw("RAW TEXT")
    log.warning("é\udcff")                     # undecodable bytes survive
    data = (tmp_path / "x.log").read_bytes()
    first, rest = data.split(b"\n", 1)
    assert first.endswith(b" * " + b"a" * 1023)
    assert rest.startswith(b"RAW TEXT")
    assert rest.endswith("é".encode() + b"\xff\n")


def test_timestamp_format():
    ts = format_timestamp(1_700_000_000_123_456_789)
    assert re.fullmatch(r"\d\d [A-Z][a-z]{2} 2023 \d\d:\d\d:\d\d\.123", ts)


# ---------------------------------------------------------------------------
# Command line: version, help, refusals, configuration errors
# ---------------------------------------------------------------------------

def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == \
        "Redis server v=7.0.15 sha=00000000:0 malloc=libc bits=64 build=omakase\n"
    assert cli.main(["-v", "ignored"]) == 0


def test_help_and_refusals(capsys):
    assert cli.main(["--help"], prog="omakase-server") == 1
    err = capsys.readouterr().err
    assert err.startswith("Usage: omakase-server [/path/to/redis.conf] [options] [-]")
    assert cli.main(["-h"]) == 1
    for args in (["--test-memory", "100"], ["--check-system"], ["--port", "1", "--sentinel"]):
        assert cli.main(args) == 1
        assert capsys.readouterr().err


def test_bad_config_exits_1_with_redis_text(capsys):
    assert cli.main(["--port", "abc"]) == 1
    captured = capsys.readouterr()
    assert captured.err == ("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
                            "Reading the configuration file, at line 2\n"
                            ">>> 'port \"abc\"'\n"
                            "argument couldn't be parsed into an integer\n")
    assert captured.out == ""


def test_missing_config_file_is_logged(capsys, tmp_path):
    assert cli.main([str(tmp_path / "nope.conf")]) == 1
    line = capsys.readouterr().out.strip()
    m = LOG_RE.match(line)
    assert m and m.group(2) == "C" and m.group(4) == "#"
    assert m.group(5) == ("Fatal error, can't open config file '%s': No such file or directory"
                          % (tmp_path / "nope.conf"))


BAD_ARGS = [
    ["--port", "abc"],
    ["--port", "70000"],
    ["--foo", "bar"],
    ["--port", "1", "--hz"],
    ["--save", "--port", "7", "--zzz"],
    ["--requirepass", "--foo", "--zzz"],
    ["--port", "1", "port", "2"],
    ["--loglevel", "loud"],
    ["--maxmemory", "10zb"],
    ["--dbfilename", "a\\b"],
    ["--bind", "a", "b", "--port", "9", "--zzz", "a"],
    ["--logfile", "/nonexistent/x.log"],
    ["--cluster-enabled", "yes", "--replicaof", "a", "1"],
    ["--activedefrag", "yes"],
    ["--notify-keyspace-events", "Z"],
    ["--save", "1"],
    ["--shutdown-on-sigint", "save nosave"],
    ["--client-output-buffer-limit", "master 1 2 3"],
    ["--requirepass", "a\nb\x01é", "--zzz"],
    ["--port", "1", "-", "--zzz"],
]


@pytest.mark.differential
@pytest.mark.skipif(not HAVE_REDIS, reason="redis-server not installed")
@pytest.mark.parametrize("args", BAD_ARGS, ids=[" ".join(a) for a in BAD_ARGS])
def test_config_errors_match_redis_server(args, capsysbinary, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    theirs = subprocess.run(["redis-server", *args], capture_output=True, timeout=10,
                            stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert theirs.returncode == 1
    assert cli.main(args, stdin=io.StringIO("")) == 1
    ours = capsysbinary.readouterr()
    assert ours.err == theirs.stderr


# ---------------------------------------------------------------------------
# Start-up with a stub Server
# ---------------------------------------------------------------------------

class StubServer:
    instances: list = []
    exit_code = 0

    def __init__(self, config, logger=None, config_file=None):
        self.config = config
        self.logger = logger
        self.config_file = config_file
        StubServer.instances.append(self)

    def run(self):
        self.logger.notice("Ready to accept connections")
        return StubServer.exit_code


@pytest.fixture
def stub_server(monkeypatch):
    mod = types.ModuleType("omakase.server")
    mod.Server = StubServer
    monkeypatch.setitem(sys.modules, "omakase.server", mod)
    StubServer.instances = []
    StubServer.exit_code = 0
    return StubServer


def log_lines(text):
    return [LOG_RE.match(l).groups() for l in text.splitlines() if l]


def test_startup_sequence(stub_server, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pidfile = tmp_path / "x.pid"
    stub_server.exit_code = 3
    rc = cli.main(["--port", "7010", "--pidfile", str(pidfile), "--maxmemory", "1000"])
    assert rc == 3
    srv = stub_server.instances[0]
    assert srv.config.port == 7010 and srv.config_file is None
    assert isinstance(srv.logger, Logger) and srv.config.logger is srv.logger
    assert pidfile.read_text() == "%d\n" % os.getpid()
    lines = log_lines(capsys.readouterr().out)
    assert [(role, lvl, msg) for _, role, _, lvl, msg in lines] == [
        ("C", "#", "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo"),
        ("C", "#", "Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid=%d, "
                   "just started" % os.getpid()),
        ("C", "#", "Configuration loaded"),
        ("M", "*", "Running mode=standalone, port=7010."),
        ("M", "#", "Server initialized"),
        ("M", "#", "WARNING: You specified a maxmemory value that is less than 1MB (current "
                   "value is 1000 bytes). Are you sure this is what you really want?"),
        ("M", "*", "Ready to accept connections"),
    ]


def test_startup_without_arguments(stub_server, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert cli.main([], prog="omakase-server") == 0
    msgs = [g[4] for g in log_lines(capsys.readouterr().out)]
    assert msgs[2] == ("Warning: no config file specified, using the default config. In order to "
                       "specify a config file use omakase-server /path/to/redis.conf")
    assert stub_server.instances[0].config.port == 6379


def test_startup_with_file_and_stdin(stub_server, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.conf").write_text("port 7011\nreplicaof 10.0.0.1 6379\nloglevel warning\n")
    assert cli.main(["r.conf", "--hz", "7", "-"], stdin=io.StringIO("hz 5\nmaxmemory 2mb\n")) == 0
    srv = stub_server.instances[0]
    assert srv.config_file == str(tmp_path / "r.conf")
    assert (srv.config.port, srv.config.hz, srv.config.maxmemory) == (7011, 7, 2 << 20)
    lines = log_lines(capsys.readouterr().out)
    assert lines[0][4] == "Reading config from stdin"
    assert [g[1] for g in lines if g[4] == "Server initialized"] == ["S"]
    assert not any(g[3] == "*" for g in lines[1:])       # loglevel warning from the file


def test_modules_abort_startup(stub_server, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.conf").write_text("loadmodule /x/mod.so\n")
    assert cli.main(["m.conf"]) == 1
    assert "Can't load module from /x/mod.so: server aborting" in capsys.readouterr().out
    (tmp_path / "n.conf").write_text("mod.opt 1\n")
    assert cli.main(["n.conf"]) == 1
    assert "Module Configuration detected without loadmodule directive" in capsys.readouterr().out


def test_rename_command_checked_against_the_command_specs(stub_server, capsys, tmp_path):
    assert cli.main(["--rename-command", "nosuchcmd", "x"]) == 1
    assert capsys.readouterr().err.endswith("No such command in rename-command\n")
    assert cli.main(["--rename-command", "keys", "", "--port", "7012"]) == 0
    assert stub_server.instances[-1].config.rename_commands == [("keys", "")]


DAEMON_SCRIPT = textwrap.dedent("""
    import os, sys, types
    class Server:
        def __init__(self, config, logger=None, config_file=None):
            self.config, self.logger = config, logger
        def run(self):
            with open(sys.argv[1], "w") as f:
                f.write("%d %d" % (os.getpid(), os.getsid(0)))
            self.logger.notice("Ready to accept connections")
            return 0
    mod = types.ModuleType("omakase.server")
    mod.Server = Server
    sys.modules["omakase.server"] = mod
    from omakase.cli import main
    sys.exit(main(sys.argv[2:]))
""")


def test_daemonize(tmp_path):
    marker, pidfile, logfile = tmp_path / "marker", tmp_path / "d.pid", tmp_path / "d.log"
    t = time.monotonic()
    p = subprocess.run([sys.executable, "-c", DAEMON_SCRIPT, str(marker), "--daemonize", "yes",
                        "--pidfile", str(pidfile), "--logfile", str(logfile), "--port", "7013"],
                       env=env_with_src(), capture_output=True, timeout=20)
    assert p.returncode == 0 and p.stdout == b"" and p.stderr == b""
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() - t < 20
        time.sleep(0.02)
    pid, sid = map(int, marker.read_text().split())
    assert pid != os.getpid()
    assert sid != os.getsid(0) and sid != pid               # double fork: not a session leader
    assert pidfile.read_text() == "%d\n" % pid
    msgs = [LOG_RE.match(l).group(5) for l in logfile.read_text().splitlines()]
    assert msgs[0] == "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo"
    assert msgs[-1] == "Ready to accept connections"


def test_python_dash_m(tmp_path):
    p = subprocess.run([sys.executable, "-m", "omakase", "--version"], env=env_with_src(),
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0 and p.stdout.startswith("Redis server v=7.0.15 ")
    p = subprocess.run([sys.executable, "-m", "omakase", "--port", "x"], env=env_with_src(),
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 1 and p.stderr.endswith("argument couldn't be parsed into an integer\n")


# ---------------------------------------------------------------------------
# omakase.embed.serve and the pytest plugin
# ---------------------------------------------------------------------------

@pytest.fixture
def fake_python(tmp_path):
    """An 'interpreter' that turns ``-m omakase ARGS`` into ``redis-server ARGS``."""
    script = tmp_path / "fakepython"
    script.write_text('#!/bin/sh\nshift 2\nexec redis-server "$@"\n')
    script.chmod(0o755)
    return str(script)


@pytest.mark.skipif(not HAVE_REDIS, reason="redis-server not installed")
def test_serve_starts_and_stops(fake_python):
    from omakase.embed import _send, serve
    with serve(python=fake_python, maxmemory="10mb", appendonly=False,
               maxmemory_policy="allkeys-lru", save=[(3600, 1)]) as srv:
        assert srv.host == "127.0.0.1" and srv.url == f"redis://127.0.0.1:{srv.port}"
        assert srv.pid == srv.process.pid and os.path.isdir(srv.dir)
        replies = _send(srv.host, srv.port, [[b"CONFIG", b"GET", b"maxmemory-policy"]], 2.0)
        assert replies == [b"*2"]
        r = pytest.importorskip("redis").Redis.from_url(srv.url, decode_responses=True)
        assert r.config_get("maxmemory") == {"maxmemory": "10485760"}
        assert r.config_get("save") == {"save": "3600 1"}
        assert r.config_get("dir")["dir"] == os.path.realpath(srv.dir)
        proc, d = srv.process, srv.dir
    assert proc.returncode == 0 and not os.path.exists(d)


@pytest.mark.skipif(not HAVE_REDIS, reason="redis-server not installed")
def test_serve_with_password(fake_python):
    from omakase.embed import serve
    with serve(python=fake_python, requirepass="p w") as srv:
        assert srv.url == f"redis://:p%20w@127.0.0.1:{srv.port}"
        r = pytest.importorskip("redis").Redis.from_url(srv.url)
        assert r.ping()
        proc = srv.process
    assert proc.returncode == 0


def test_serve_reports_a_failed_start(tmp_path):
    from omakase.embed import serve
    script = tmp_path / "badpython"
    script.write_text("#!/bin/sh\necho 'something went wrong' >&2\nexit 3\n")
    script.chmod(0o755)
    with pytest.raises(RuntimeError, match="code 3 during start-up:\nsomething went wrong"):
        with serve(python=str(script)):
            pass


def test_pytest_plugin_ini():
    from omakase import pytest_plugin

    class FakeConfig:
        def getini(self, name):
            assert name == "omakase_config"
            return ["maxmemory 100mb", "# comment", "", "save 3600 1"]

    assert pytest_plugin._ini_config(FakeConfig()) == {"maxmemory": "100mb", "save": "3600 1"}


def test_serve_real_omakase():
    from omakase.embed import _send, serve
    with serve(maxmemory="10mb", hz=20) as srv:
        assert _send(srv.host, srv.port, [[b"PING"], [b"CONFIG", b"GET", b"hz"]], 2.0) == \
            [b"+PONG", b"*2"]
        r = pytest.importorskip("redis").Redis.from_url(srv.url, decode_responses=True)
        assert r.config_get("maxmemory") == {"maxmemory": "10485760"}
        proc = srv.process
    assert proc.returncode == 0


def test_pytest_fixture_in_a_fresh_session(tmp_path):
    from importlib.metadata import entry_points
    (tmp_path / "pytest.ini").write_text("[pytest]\nomakase_config =\n    hz 33\n")
    (tmp_path / "test_it.py").write_text(textwrap.dedent("""
        import socket

        def test_server(omakase_server):
            with socket.create_connection((omakase_server.host, omakase_server.port)) as s:
                s.sendall(b"*3\\r\\n$6\\r\\nCONFIG\\r\\n$3\\r\\nGET\\r\\n$2\\r\\nhz\\r\\n")
                assert s.recv(100) == b"*2\\r\\n$2\\r\\nhz\\r\\n$2\\r\\n33\\r\\n"
    """))
    registered = any(ep.value == "omakase.pytest_plugin" for ep in entry_points(group="pytest11"))
    extra = [] if registered else ["-p", "omakase.pytest_plugin"]
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra,
                        str(tmp_path)], cwd=tmp_path, env=env_with_src(), capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
