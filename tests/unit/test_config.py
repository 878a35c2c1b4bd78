"""omakase.config: parsing, errors, CONFIG GET/SET/REWRITE, against Redis 7.0.15.

The fixtures in tests/unit/data were recorded from Debian's redis-server
7.0.15 by tests/tools/dump_redis_config.py; the tests marked differential
also run a live redis-server when one is installed.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import time

import pytest
from hypothesis import given, settings, strategies as st

from omakase import config as cfgmod
from omakase.config import (Config, ConfigError, ConfigFlag, ConfigRewriteError, ConfigSetError,
                            KeyspaceEvents, ShutdownFlag, is_local_or_allowed, memtoull,
                            parse_command_line, repr_string, split_args, stringmatch)

from helpers import free_port, no_retry, wait_ping

DATA = pathlib.Path(__file__).parent / "data"
DEFAULTS = json.loads((DATA / "redis_config_defaults.json").read_text())
PROBE = json.loads((DATA / "redis_config_probe.json").read_text())
HAVE_REDIS = shutil.which("redis-server") is not None
FATAL = "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
# Errors Redis's apply functions raise (they act on the live server, not on
# the value): out of scope for a Config without listeners.
APPLY_ERRORS = ("Unable to", "The operating system", "Failed to", "failed to set")


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def fatal(line_no, line, err):
    return f"{FATAL}Reading the configuration file, at line {line_no}\n>>> '{line}'\n{err}\n"


def load_error(text: str) -> str:
    with pytest.raises(ConfigError) as ei:
        Config(chdir=False).load_string(text)
    return ei.value.message


# ---------------------------------------------------------------------------
# sdssplitargs / sdscatrepr
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("line,words", [
    ("port 6379", ["port", "6379"]),
    ("  a\t b  ", ["a", "b"]),
    ('set "a b" c', ["set", "a b", "c"]),
    (r'"\x41\n\t\r\b\a\\\"\q"', ["A\n\t\r\b\a\\\"q"]),
    (r"'it\'s' 'a\nb'", ["it's", "a\\nb"]),
    ('ab"cd ef"', ["abcd ef"]),
    ('""', [""]),
    ("''", [""]),
    (r'"\x4"', ["x4"]),
    ("", []),
    ("   ", []),
    (r'"\xc3\xa9"', ["é"]),
])
def test_split_args(line, words):
    assert split_args(line) == words


@pytest.mark.parametrize("line", ['"abc', "'abc", '"a"b', "'a'b", 'x "a\\"'])
def test_split_args_unbalanced(line):
    assert split_args(line) is None


@given(st.lists(st.binary(max_size=12), min_size=1, max_size=4))
@settings(max_examples=200)
def test_repr_round_trips(words):
    strs = [w.decode("utf-8", "surrogateescape") for w in words]
    line = " ".join(repr_string(s) for s in strs)
    back = split_args(line)
    assert [b.encode("utf-8", "surrogateescape") for b in back] == words


def test_repr_string_like_sdscatrepr():
    assert repr_string('a"b\\c\n\x01é') == '"a\\"b\\\\c\\n\\x01\\xc3\\xa9"'


# ---------------------------------------------------------------------------
# util.c number rules
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("s,v", [
    ("0", 0), ("1k", 1000), ("1K", 1000), ("1kb", 1024), ("1KB", 1024), ("2m", 2_000_000),
    ("2mb", 2 << 20), ("1g", 10**9), ("1gb", 1 << 30), ("7b", 7), ("007", 7), ("", 0),
    ("kb", 0), ("99999999999999999999999", 2**64 - 1),
    ("20000000000000000gb", 4026358804357578752),      # 7.0.15 wraps, measured
    ("-1", None), ("1 gb", None), (" 1", None), ("+1", None), ("0x10", None), ("1.5", None),
    ("1tb", None),
])
def test_memtoull(s, v):
    assert memtoull(s) == v


def test_string2ll_and_string2d():
    assert cfgmod.string2ll("-12") == -12
    for bad in ("+1", "01", "-0", " 1", "1 ", "", "9223372036854775808"):
        assert cfgmod.string2ll(bad) is None
    assert cfgmod.string2d("1e1") == 10.0
    assert cfgmod.string2d("0x1p-1") == 0.5
    for bad in ("", " 1", "1 ", "nan", "1e400", "1e-400", "abc", "1_0"):
        assert cfgmod.string2d(bad) is None


# ---------------------------------------------------------------------------
# Redis glob
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("pat,s,nocase,ok", [
    (b"*", b"", False, False),          # as Redis: KEYS special-cases "*" itself
    (b"h*o", b"hello", False, True),
    (b"h?llo", b"hallo", False, True),
    (b"h[ae]llo", b"hello", False, True),
    (b"h[^e]llo", b"hello", False, False),
    (b"h[a-b]llo", b"hbllo", False, True),
    (b"h[b-a]llo", b"hbllo", False, True),
    (b"h\\*llo", b"h*llo", False, True),
    (b"h\\*llo", b"hello", False, False),
    (b"HZ", b"hz", True, True),
    (b"[H]z", b"hz", True, True),
    (b"[A-Z]z", b"hz", True, True),
    (b"a[", b"a[", False, False),
    (b"a*b*c", b"axxbyyc", False, True),
    (b"a*b*c", b"axxbyy", False, False),
    (b"**", b"x", False, True),
    (b"*a", b"", False, False),
])
def test_stringmatch(pat, s, nocase, ok):
    assert stringmatch(pat, s, nocase) is ok


def test_stringmatch_pathological_is_fast():
    t = time.monotonic()
    assert not stringmatch(b"a*" * 30 + b"b", b"a" * 60)
    assert time.monotonic() - t < 1.0


# ---------------------------------------------------------------------------
# Defaults and CONFIG GET * against the oracle
# ---------------------------------------------------------------------------

def test_config_get_star_names_match_redis():
    got = dict(Config(chdir=False).get([b"*"]))
    assert sorted(got) == DEFAULTS["names"]


def test_config_get_star_defaults_match_redis():
    got = dict(Config(chdir=False).get([b"*"]))
    wrong = {k: (v, got.get(k)) for k, v in DEFAULTS["config"].items() if got.get(k) != v}
    assert wrong == {}


def test_hidden_configs_only_by_exact_name():
    c = Config(chdir=False)
    for name, value in DEFAULTS["hidden"].items():
        assert c.get([name.encode()]) == [(name, value)]
        assert name not in dict(c.get([b"*"]))


def test_defaults_as_attributes():
    c = Config(chdir=False)
    assert c.port == 6379 and c.hz == 10 and c.maxmemory == 0
    assert c.save == [(3600, 1), (300, 100), (60, 10000)]
    assert c.bind == ["*", "-::*"]
    assert c.maxmemory_policy == "noeviction"
    assert c.hash_max_listpack_entries == 512
    assert c.requirepass is None and c.logfile == "" and c.pidfile is None
    assert c.notify_keyspace_events == 0
    assert c.shutdown_on_sigint == ShutdownFlag.NOFLAGS
    assert c.client_output_buffer_limit["slave"] == (256 << 20, 64 << 20, 60)
    assert c.replicaof is None
    assert c.latency_tracking_info_percentiles == [50.0, 99.0, 99.9]
    assert c.enable_debug_command == "no"
    assert c.dir == os.getcwd()
    assert c.active_expire_enabled is True


def test_every_primary_has_one_attribute():
    attrs = [e.attr for e in Config.entries()]
    assert len(attrs) == len(set(attrs))
    c = Config(chdir=False)
    for e in Config.entries():
        assert hasattr(c, e.attr), e.name
        if e.alias:
            assert Config.lookup(e.alias).attr == e.attr


# ---------------------------------------------------------------------------
# Every directive x a battery of values, replayed against the oracle's answers
# ---------------------------------------------------------------------------

def _probe_cases():
    for name, e in PROBE["configs"].items():
        yield pytest.param(name, e, id=name)


@pytest.mark.parametrize("name,entry", list(_probe_cases()))
def test_startup_values_match_redis(name, entry, cwd):
    msgs, values = PROBE["messages"], PROBE["values"]
    mismatches = []
    for value, ix in zip(values, entry["startup"]):
        c = Config()
        try:
            c.load_args(["--port", "0", "--save", "", "--" + name, value, "--zzz-probe-end"])
            got = "NO ERROR"
        except ConfigError as exc:
            lines = exc.message.strip().splitlines()
            got = "ACCEPT" if lines[-2] == ">>> 'zzz-probe-end'" else lines[-1]
        os.chdir(cwd)
        if got != msgs[ix]:
            mismatches.append((value, msgs[ix], got))
    assert mismatches == []


@pytest.mark.parametrize("name,entry", list(_probe_cases()))
def test_config_set_values_match_redis(name, entry, cwd):
    msgs, values = PROBE["messages"], PROBE["values"]
    c0 = Config()
    settable = "OK"
    try:
        c0.set([(name.encode(), c0.get_value(name).encode())])
    except ConfigSetError as exc:
        settable = exc.reply
    assert settable == entry["settable"]          # OK, or the immutable/protected refusal
    mismatches = []
    for value, ix in zip(values, entry["set"]):
        if ix is None or any(a in msgs[ix] for a in APPLY_ERRORS):
            continue
        c = Config()
        c.save = []
        c.port = 0
        try:
            c.set([(name.encode(), value.encode())])
            got = "OK " + c.get([name.encode()])[0][1]
        except ConfigSetError as exc:
            got = "ERR " + exc.reply
        os.chdir(cwd)
        if got != msgs[ix]:
            mismatches.append((value, msgs[ix], got))
    assert mismatches == []


# ---------------------------------------------------------------------------
# Loading: files, command line, errors with Redis's exact text
# ---------------------------------------------------------------------------

def test_fatal_error_texts():
    assert load_error("# c\nfoo bar\n") == fatal(2, "foo bar", "Bad directive or wrong number of arguments")
    assert load_error("port abc") == fatal(1, "port abc", "argument couldn't be parsed into an integer")
    assert load_error("port 70000") == fatal(1, "port 70000", "argument must be between 0 and 65535 inclusive")
    assert load_error("daemonize maybe") == fatal(1, "daemonize maybe", "argument must be 'yes' or 'no'")
    assert load_error("loglevel loud") == fatal(
        1, "loglevel loud", "argument(s) must be one of the following: debug, verbose, notice, warning")
    assert load_error("maxmemory 10zb") == fatal(1, "maxmemory 10zb", "argument must be a memory value")
    assert load_error("port") == fatal(1, "port", "wrong number of arguments")
    assert load_error("port 1 2") == fatal(1, "port 1 2", "wrong number of arguments")
    assert load_error('\n\n  port "6379  ') == fatal(3, 'port "6379', "Unbalanced quotes in configuration line")
    assert load_error("user") == fatal(1, "user", "Bad directive or wrong number of arguments")
    assert load_error("sentinel foo") == fatal(1, "sentinel foo", "sentinel directive while not in sentinel mode")
    assert load_error("foo.bar") == fatal(1, "foo.bar", "Module config specified without value")
    assert load_error("save 1") == fatal(1, "save 1", "Invalid save parameters")
    assert load_error("notify-keyspace-events Z") == fatal(
        1, "notify-keyspace-events Z", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")


def test_fatal_errors_after_the_last_line(cwd):
    assert load_error("logfile /nonexistent/dir/x.log") == \
        f"{FATAL}Can't open the log file: No such file or directory\n"
    assert load_error("cluster-enabled yes\nreplicaof h 1") == \
        f"{FATAL}replicaof directive not allowed in cluster mode\n"


def test_comments_blanks_case_and_deprecated():
    c = Config(chdir=False)
    c.load_string("# comment\n   # indented\n\n\r\nPORT 7000\n  Hz   5  \nlist-max-ziplist-entries 5\n"
                  "lua-replicate-commands yes\n")
    assert c.port == 7000 and c.hz == 5


def test_save_lines_accumulate_after_replacing_defaults():
    c = Config(chdir=False)
    c.load_string('save ""\nsave 10 1\nsave 20 2 30 3\n')
    assert c.save == [(10, 1), (20, 2), (30, 3)]
    c = Config(chdir=False)
    c.load_string("save 900 1\n")
    assert c.save == [(900, 1)]


def test_quoted_values_and_binary():
    c = Config(chdir=False)
    c.load_string('requirepass "a\\x41\\n\\tb"\nmasteruser \'it\\\'s\'\nbind 127.0.0.1 "::1"\n')
    assert c.requirepass == "aA\n\tb"
    assert c.masteruser == "it's"
    assert c.bind == ["127.0.0.1", "::1"]
    c.load_string('requirepass "\\xff\\x00x"')
    assert c.requirepass.encode("utf-8", "surrogateescape") == b"\xff\x00x"


def test_special_values():
    c = Config(chdir=False)
    c.load_string("notify-keyspace-events KEA\nshutdown-on-sigterm nosave now\n"
                  "client-output-buffer-limit replica 1mb 2mb 3 pubsub 1k 2kb 4\n"
                  "oom-score-adj-values -1 0 1\nreplicaof 10.0.0.1 6380\n"
                  "latency-tracking-info-percentiles 1e1 99.99999999\nmaxmemory-clients 5%\n"
                  "unixsocketperm 755\nhz 100000\noom-score-adj relative\n")
    assert c.notify_keyspace_events == KeyspaceEvents.ALL | KeyspaceEvents.KEYSPACE | KeyspaceEvents.KEYEVENT
    assert c.get_value("notify-keyspace-events") == "AKE"
    assert c.shutdown_on_sigterm == ShutdownFlag.NOSAVE | ShutdownFlag.NOW
    assert c.get_value("shutdown-on-sigterm") == "nosave now"
    assert c.client_output_buffer_limit["slave"] == (1 << 20, 2 << 20, 3)
    assert c.get_value("client-output-buffer-limit") == \
        "normal 0 0 0 slave 1048576 2097152 3 pubsub 1000 2048 4"
    assert c.oom_score_adj_values == [-1, 0, 1]
    assert c.replicaof == ("10.0.0.1", 6380) and c.get_value("slaveof") == "10.0.0.1 6380"
    assert c.get_value("latency-tracking-info-percentiles") == "10 100"
    assert c.maxmemory_clients == -5 and c.get_value("maxmemory-clients") == "5%"
    assert c.unixsocketperm == 0o755 and c.get_value("unixsocketperm") == "755"
    assert c.hz == 500
    assert c.oom_score_adj == "yes"


def test_include_and_glob(tmp_path):
    (tmp_path / "a.conf").write_text("port 7001\ninclude %s/conf.d/*.conf\nhz 7\n" % tmp_path)
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "1.conf").write_text("maxmemory 1mb\n")
    (tmp_path / "conf.d" / "2.conf").write_text("maxmemory 2mb\n")
    c = Config(chdir=False)
    c.load_file(str(tmp_path / "a.conf"))
    assert (c.port, c.maxmemory, c.hz) == (7001, 2 << 20, 7)
    c.load_string(f"include {tmp_path}/nothing-*.conf")        # no match: fine
    with pytest.raises(ConfigError) as ei:
        c.load_string(f"include {tmp_path}/missing.conf")
    assert ei.value.log
    assert ei.value.message == ("Fatal error, can't open config file '%s/missing.conf': "
                                "No such file or directory" % tmp_path)


def test_include_error_reports_the_included_line(tmp_path):
    (tmp_path / "inc.conf").write_text("\nhz x\n")
    msg = load_error(f"port 1\ninclude {tmp_path}/inc.conf\n")
    assert msg == fatal(2, "hz x", "argument couldn't be parsed into an integer")


def test_recorded_directives():
    c = Config(chdir=False)
    c.command_exists = {"keys", "get", "set"}.__contains__
    c.load_string('rename-command KEYS ""\nrename-command get fetch\nrename-command fetch get2\n'
                  "user alice on >pw ~* +@all\nloadmodule /x.so a b\nfoo.bar 1\n")
    assert c.rename_commands == [("KEYS", ""), ("get", "fetch"), ("fetch", "get2")]
    assert c.users == [["alice", "on", ">pw", "~*", "+@all"]]
    assert c.loadmodule_queue == [["/x.so", "a", "b"]]
    assert c.module_configs_queue == {"foo.bar": "1"}
    c = Config(chdir=False)
    c.command_exists = {"keys", "get"}.__contains__
    with pytest.raises(ConfigError) as ei:
        c.load_string("rename-command nope x")
    assert ei.value.message == fatal(1, "rename-command nope x", "No such command in rename-command")
    with pytest.raises(ConfigError) as ei:
        c.load_string("rename-command keys get")
    assert ei.value.message == fatal(1, "rename-command keys get", "Target command name already exists")


def test_dir_changes_directory(cwd):
    (cwd / "sub").mkdir()
    c = Config()
    c.load_string("dir sub")
    assert os.getcwd() == str(cwd / "sub") and c.dir == str(cwd / "sub")
    assert c.get_value("dir") == str(cwd / "sub")
    msg = load_error("dir /nonexistent-dir")
    assert msg == fatal(1, "dir /nonexistent-dir", "No such file or directory")


# -- the command line -----------------------------------------------------------

@pytest.mark.parametrize("args,expected", [
    (["--port", "6380"], (None, False, 'port "6380" ')),
    (["--port 6380", "--hz", "5"], (None, False, 'port 6380 \nhz "5" ')),
    (["c.conf", "--save", "--port", "7"], ("c.conf", False, 'save ""\nport "7" ')),
    (["--port", "1", "--save"], (None, False, 'port "1" \nsave ""')),
    (["--requirepass", "--foo", "--zzz"], (None, False, 'requirepass "--foo" \nzzz ')),
    (["-", "--port", "1"], (None, True, 'port "1" ')),
    (["--port", "1", "-"], (None, True, 'port "1" ')),
    (["--port", "1", "-", "--hz", "2"], (None, False, 'port "1" "-" \nhz "2" ')),
    (["--bind", "a", "b", "--port", "9"], (None, False, 'bind "a" "b" \nport "9" ')),
    (["--save", ""], (None, False, 'save "" ')),
])
def test_parse_command_line(args, expected):
    assert tuple(parse_command_line(args)) == expected


def test_load_args_order_and_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.conf").write_text("port 7000\nhz 20\nmaxmemory 1mb\n")
    import io
    c = Config()
    path = c.load_args(["r.conf", "--port", "7001", "--save", "", "-"], stdin=io.StringIO("hz 30\nport 1\n"))
    assert path == str(tmp_path / "r.conf") == c.config_file
    assert (c.port, c.hz, c.maxmemory, c.save) == (7001, 30, 1 << 20, [])
    # "-" counts only first or last; elsewhere it is a word (as in Redis)
    with pytest.raises(ConfigError) as ei:
        Config().load_args(["r.conf", "-", "--port", "7001"], stdin=io.StringIO(""))
    assert ei.value.message == fatal(5, '"-"', "Bad directive or wrong number of arguments")


def test_load_args_error_line_numbers(tmp_path):
    (tmp_path / "r.conf").write_text("port 7000\nhz 20\n")
    with pytest.raises(ConfigError) as ei:
        Config(chdir=False).load_args([str(tmp_path / "r.conf"), "--port", "1", "--hz", "x"])
    # file (2 lines + the empty one after its last newline), "\n", then options
    assert ei.value.message == fatal(5, 'hz "x"', "argument couldn't be parsed into an integer")
    with pytest.raises(ConfigError) as ei:
        Config(chdir=False).load_args(["--port", "1", "port", "2"])
    assert ei.value.message == fatal(2, 'port "1" "port" "2"', "wrong number of arguments")


def test_multi_arg_word_is_split_again():
    c = Config(chdir=False)
    c.load_args(["--save", "3600 1 300 100", "--bind", "127.0.0.1 ::1"])
    assert c.save == [(3600, 1), (300, 100)] and c.bind == ["127.0.0.1", "::1"]
    c = Config(chdir=False)
    c.load_args(["--save", '1 "2'])                 # does not split: no words
    assert c.save == []


# ---------------------------------------------------------------------------
# CONFIG GET
# ---------------------------------------------------------------------------

def test_get_exact_and_aliases():
    c = Config(chdir=False)
    assert c.get([b"hash-max-ziplist-entries"]) == [("hash-max-ziplist-entries", "512")]
    assert c.get([b"HASH-MAX-ZIPLIST-ENTRIES"]) == [("HASH-MAX-ZIPLIST-ENTRIES", "512")]
    assert c.get([b"nope"]) == []
    assert c.get([b"port", b"PORT", b"p*t"]) == [("port", "6379")]


def test_get_patterns():
    c = Config(chdir=False)
    assert dict(c.get([b"*ziplist*"])) == {
        "zset-max-ziplist-value": "64", "hash-max-ziplist-entries": "512",
        "zset-max-ziplist-entries": "128", "list-max-ziplist-size": "-2",
        "hash-max-ziplist-value": "64"}
    assert dict(c.get([b"[hz]z", b"h\\z", b"*Z", b"H?"])) == {"hz": "10", "dynamic-hz": "yes"}
    assert sorted(dict(c.get([b"*max*-*entries", b"zset*"]))) == sorted([
        "hash-max-ziplist-entries", "stream-node-max-entries", "zset-max-listpack-entries",
        "zset-max-listpack-value", "zset-max-ziplist-value", "zset-max-ziplist-entries",
        "hash-max-listpack-entries", "set-max-intset-entries"])
    assert dict(c.get([b"slave*"])) == {
        "slave-announce-port": "0", "slave-priority": "100", "slave-serve-stale-data": "yes",
        "slaveof": "", "slave-read-only": "yes", "slave-lazy-flush": "no",
        "slave-ignore-maxmemory": "yes", "slave-announce-ip": ""}
    assert c.get([b"*delay*"]) == [("repl-disable-tcp-nodelay", "no"), ("repl-diskless-sync-delay", "5")]


# ---------------------------------------------------------------------------
# CONFIG SET
# ---------------------------------------------------------------------------

def set_error(c, *pairs, **kw):
    with pytest.raises(ConfigSetError) as ei:
        c.set([(k.encode(), v.encode()) for k, v in pairs], **kw)
    return ei.value.reply


def test_set_error_texts():
    c = Config(chdir=False)
    assert set_error(c, ("foo", "1")) == "Unknown option or number of arguments for CONFIG SET - 'foo'"
    assert set_error(c, ("maxmemory", "abc")) == \
        "CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
    assert set_error(c, ("DAEMONIZE", "no")) == \
        "CONFIG SET failed (possibly related to argument 'DAEMONIZE') - can't set immutable config"
    assert set_error(c, ("dir", "/tmp")) == \
        "CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"
    assert set_error(c, ("maxmemory", "1"), ("MAXMEMORY", "2")) == \
        "CONFIG SET failed (possibly related to argument 'MAXMEMORY') - duplicate parameter"
    assert set_error(c, ("hash-max-ziplist-entries", "x")) == ("CONFIG SET failed (possibly related "
        "to argument 'hash-max-ziplist-entries') - argument couldn't be parsed into an integer")
    assert set_error(c, ("HASH-MAX-LISTPACK-ENTRIES", "x")) == ("CONFIG SET failed (possibly related "
        "to argument 'hash-max-listpack-entries') - argument couldn't be parsed into an integer")
    # precedence, as measured
    assert "immutable" in set_error(c, ("daemonize", "no"), ("foo", "bar"))
    assert "Unknown option" in set_error(c, ("foo", "bar"), ("daemonize", "no"))
    assert "immutable" in set_error(c, ("maxmemory", "abc"), ("daemonize", "no"))
    assert set_error(c, ("appendonly", "yes"), loading=True) == "-LOADING Redis is loading the dataset in memory"
    assert set_error(c, ("shutdown-on-sigint", "save nosave")) == ("CONFIG SET failed (possibly related "
        "to argument 'shutdown-on-sigint') - shutdown options SAVE and NOSAVE can't be used simultaneously")


def test_alias_and_primary_are_not_duplicates():
    c = Config(chdir=False)
    c.set([(b"hash-max-ziplist-entries", b"1"), (b"hash-max-listpack-entries", b"2")])
    assert c.hash_max_listpack_entries == 2


def test_protected_configs(cwd):
    (cwd / "d").mkdir()
    c = Config()
    c.enable_protected_configs = "local"
    assert "protected" in set_error(c, ("dbfilename", "x.rdb"), client_is_local=False)
    c.set([(b"dbfilename", b"x.rdb"), (b"dir", b"d")], client_is_local=True)
    assert c.dbfilename == "x.rdb" and os.getcwd() == str(cwd / "d")
    c.enable_protected_configs = "yes"
    c.set([(b"dir", str(cwd).encode())])
    assert os.getcwd() == str(cwd)
    assert is_local_or_allowed("yes", False) and is_local_or_allowed("local", True)
    assert not is_local_or_allowed("local", False) and not is_local_or_allowed("no", True)


def test_set_is_atomic():
    c = Config(chdir=False)
    assert "memory value" in set_error(c, ("hz", "50"), ("timeout", "30"), ("maxmemory", "x"))
    assert (c.hz, c.timeout, c.maxmemory) == (10, 0, 0)
    assert c.set([(b"hz", b"50"), (b"timeout", b"30"), (b"maxmemory", b"1gb")]) == \
        ["hz", "timeout", "maxmemory"]
    assert (c.hz, c.timeout, c.maxmemory) == (50, 30, 1 << 30)


def test_set_multi_arg_values():
    c = Config(chdir=False)
    c.set([(b"save", b"3600 1 300 100"), (b"bind", b"127.0.0.1 ::1"),
           (b"client-output-buffer-limit", b"normal 1 2 3"), (b"latency-tracking-info-percentiles", b"")])
    assert c.save == [(3600, 1), (300, 100)]
    assert c.bind == ["127.0.0.1", "::1"]
    assert c.client_output_buffer_limit["normal"] == (1, 2, 3)
    assert c.client_output_buffer_limit["pubsub"] == (32 << 20, 8 << 20, 60)
    assert c.latency_tracking_info_percentiles == []
    c.set([(b"save", b"")])
    assert c.save == []
    assert "Invalid save" in set_error(c, ("save", "3600  1"))


def test_set_clamps_like_the_apply_functions():
    c = Config(chdir=False)
    c.set([(b"hz", b"100000")])
    assert c.hz == 500
    c.set([(b"hz", b"0")])
    assert c.hz == 1
    c.set([(b"repl-backlog-size", b"1")])
    assert c.repl_backlog_size == 16384


def test_listeners():
    c = Config(chdir=False)
    calls = []
    c.add_listener("maxmemory", lambda cfg, old, new: calls.append(("maxmemory", old, new)))
    c.add_listener("hash-max-ziplist-entries", lambda cfg, old, new: calls.append(("hash", old, new)))
    c.set([(b"maxmemory", b"1mb"), (b"hash-max-listpack-entries", b"7"), (b"hz", b"10")])
    assert calls == [("maxmemory", 0, 1 << 20), ("hash", 512, 7)]
    calls.clear()
    c.set([(b"maxmemory", b"1048576")])            # unchanged: no call
    assert calls == []
    with pytest.raises(KeyError):
        c.add_listener("nope", lambda *a: None)


def test_listener_refusal_restores_everything():
    c = Config(chdir=False)
    log = []

    def hz_ok(cfg, old, new):
        log.append(("hz", old, new))

    def port_refuses(cfg, old, new):
        log.append(("port", old, new))
        raise ConfigSetError("Unable to listen on this port. Check server logs.")

    c.add_listener("hz", hz_ok)
    c.add_listener("port", port_refuses)
    reply = set_error(c, ("hz", "20"), ("port", "7000"), ("timeout", "5"))
    assert reply == ("CONFIG SET failed (possibly related to argument 'port') - "
                     "Unable to listen on this port. Check server logs.")
    assert (c.hz, c.port, c.timeout) == (10, 6379, 0)
    assert log == [("hz", 10, 20), ("port", 6379, 7000), ("hz", 20, 10)]


def test_sensitive_flags():
    assert Config.is_sensitive(b"requirepass") and Config.is_sensitive("MASTERAUTH")
    assert Config.is_sensitive("masteruser") and not Config.is_sensitive("tls-key-file-pass")
    assert Config.lookup("dir").flags & ConfigFlag.PROTECTED_CONFIG
    assert Config.lookup("slaveof").flags & ConfigFlag.ALIAS_CONFIG


# ---------------------------------------------------------------------------
# CONFIG REWRITE
# ---------------------------------------------------------------------------

REWRITE_SOURCE = """# top comment
   # indented comment
port 7777
hash-max-ziplist-entries 100
slave-read-only no
rename-command KEYS ""
user alice on >pw ~* +@all


# two blanks above
save 900 1
save 300 10
maxmemory 100mb
list-max-ziplist-entries 5
lua-time-limit 6000
bind 127.0.0.1
requirepass "a b\\"c"
loglevel notice
notify-keyspace-events KEA
client-output-buffer-limit replica 512mb 128mb 60
appendonly no
maxmemory 200mb
unixsocketperm 700
Hz 20
"""
REWRITE_SETS = [("maxmemory", "0"), ("slowlog-max-len", "50"), ("timeout", "30"),
                ("save", "10 1 20 2"), ("hash-max-listpack-value", "1024"),
                ("maxmemory-clients", "5%"), ("oom-score-adj-values", "1 2 3"),
                ("masterauth", "x\ty"), ("ignore-warnings", ""), ("shutdown-on-sigint", "nosave now"),
                ("notify-keyspace-events", ""), ("proc-title-template", "{title} {port}"),
                ("requirepass", ""), ("repl-backlog-size", "3mb"),
                ("client-query-buffer-limit", "2gb"), ("latency-tracking-info-percentiles", "")]
# What redis-server 7.0.15 wrote for the same file and CONFIG SETs (its
# appended lines came in its hash order; ours follow the table).
REWRITE_EXPECTED_HEAD = """# top comment
# indented comment
port 7777
hash-max-listpack-entries 100
replica-read-only no
rename-command KEYS ""
user alice on >pw ~* +@all

# two blanks above
save 10 1
save 20 2
maxmemory 0
# ??? list-max-ziplist-entries 5
busy-reply-threshold 6000
bind 127.0.0.1

loglevel notice
notify-keyspace-events ""
client-output-buffer-limit normal 0 0 0
appendonly no

unixsocketperm 700
hz 20

"""
REWRITE_EXPECTED_TAIL = """# Generated by CONFIG REWRITE
client-query-buffer-limit 2gb
timeout 30
latency-tracking-info-percentiles ""
proc-title-template "{title} {port}"
oom-score-adj-values 1 2 3
shutdown-on-sigint nosave now
hash-max-listpack-value 1kb
slowlog-max-len 50
dir "DIR"
maxmemory-clients 5%
masterauth "x\\ty"
client-output-buffer-limit replica 512mb 128mb 60
repl-backlog-size 3mb
"""


def split_rewrite(text):
    head, sig, tail = text.partition("# Generated by CONFIG REWRITE\n")
    return head, sorted(tail.splitlines())


def test_rewrite_keeps_layout(cwd):
    path = cwd / "r.conf"
    path.write_text(REWRITE_SOURCE)
    c = Config()
    c.load_args([str(path)])
    c.set([(k.encode(), v.encode()) for k, v in REWRITE_SETS])
    c.rewrite(str(path))
    head, tail = split_rewrite(path.read_text())
    exp_head, exp_tail = split_rewrite(REWRITE_EXPECTED_HEAD + REWRITE_EXPECTED_TAIL.replace("DIR", str(cwd)))
    assert head == exp_head
    assert tail == exp_tail
    # The result loads back to the same configuration; like Redis, the next
    # rewrite adds one blank line at the end (the empty piece after the last
    # newline), then the file stays the same.
    again = Config()
    again.load_file(str(path))
    assert dict(again.get([b"*"])) == dict(c.get([b"*"]))
    before = path.read_text()
    again.rewrite(str(path))
    assert path.read_text() == before + "\n"
    again.rewrite(str(path))
    assert path.read_text() == before + "\n"
    assert (path.stat().st_mode & 0o777) == 0o644 & ~_umask()


def _umask():
    u = os.umask(0)
    os.umask(u)
    return u


def test_rewrite_new_file_and_errors(cwd):
    c = Config()
    with pytest.raises(ConfigRewriteError) as ei:
        c.rewrite(None)
    assert ei.value.reply == "The server is running without a config file"
    c.set([(b"maxmemory", b"1000"), (b"bind", b"127.0.0.1 ::1")])
    path = cwd / "new.conf"
    c.rewrite(str(path))
    lines = path.read_text().splitlines()
    assert lines[0] == "# Generated by CONFIG REWRITE"
    assert "maxmemory 1000" in lines and "bind 127.0.0.1 ::1" in lines
    assert lines.count("save 3600 1") == 1 and f'dir "{cwd}"' in lines
    c.set([(b"bind", b"* -::*"), (b"save", b"")])
    c.rewrite(str(path))
    text = path.read_text()
    assert "bind" not in text and 'save ""' in text
    (cwd / "adir").mkdir()
    with pytest.raises(ConfigRewriteError) as ei:
        c.rewrite(str(cwd / "adir"))
    assert ei.value.reply == "Rewriting config file: Is a directory"


def test_rewrite_user_lines_belong_to_acl(cwd):
    path = cwd / "u.conf"
    path.write_text("user alice on >pw ~* +@all\nport 7000\n")
    c = Config()
    c.load_file(str(path))
    c.rewrite(str(path))
    assert "user alice on >pw ~* +@all" in path.read_text().splitlines()
    c.acl_rewrite_lines = lambda: ["user default on nopass ~* &* +@all"]
    c.rewrite(str(path))
    lines = path.read_text().splitlines()
    assert lines[0] == "user default on nopass ~* &* +@all" and "alice" not in path.read_text()


def test_rewrite_force_all(cwd):
    text = Config().rewrite_content(None, force_all=True)
    assert "hz 10" in text.splitlines() and "port 6379" in text.splitlines()
    assert REWRITE_SOURCE not in text


# ---------------------------------------------------------------------------
# Differential: the same rewrite on a live redis-server
# ---------------------------------------------------------------------------

@pytest.mark.differential
@pytest.mark.skipif(not HAVE_REDIS, reason="redis-server not installed")
def test_rewrite_matches_live_redis(tmp_path, monkeypatch):
    redis = pytest.importorskip("redis")
    port = free_port()
    source = REWRITE_SOURCE.replace("port 7777", f"port {port}").replace("user alice on >pw ~* +@all\n", "")
    for d in ("theirs", "ours"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "x.conf").write_text(source)
    proc = subprocess.Popen(["redis-server", "x.conf"], cwd=tmp_path / "theirs",
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        r = wait_ping(redis.Redis(port=port, password='a b"c', retry=no_retry()), proc)
        for k, v in REWRITE_SETS:
            r.config_set(k, v)
        r.config_rewrite()
        r.shutdown(nosave=True)
    finally:
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
    theirs = (tmp_path / "theirs" / "x.conf").read_text()
    monkeypatch.chdir(tmp_path / "ours")
    c = Config()
    c.load_args(["x.conf"])
    c.acl_rewrite_lines = lambda: ["user default on nopass ~* &* +@all"]
    c.set([(k.encode(), v.encode()) for k, v in REWRITE_SETS])
    c.rewrite(c.config_file)
    ours = (tmp_path / "ours" / "x.conf").read_text().replace(str(tmp_path / "ours"),
                                                              str(tmp_path / "theirs"))
    assert split_rewrite(ours) == split_rewrite(theirs)


# ---------------------------------------------------------------------------
# The CONFIG command handlers, with a recording client
# ---------------------------------------------------------------------------

class FakeLog:
    def __init__(self):
        self.lines = []

    def warning(self, msg):
        self.lines.append(msg)


class FakeServer:
    def __init__(self, config, config_file=None):
        self.config = config
        self.config_file = config_file
        self.loading = False
        self.log = FakeLog()
        self.resets = 0

    def reset_stats(self):
        self.resets += 1


class FakeClient:
    def __init__(self, server, resp=2, addr="127.0.0.1:5000"):
        self.server = server
        self.resp = resp
        self.addr = addr
        self.is_unix = False
        self.out = []
        self.redacted = []

    def __getattr__(self, name):
        if name.startswith("add_reply"):
            return lambda *a: self.out.append((name[len("add_reply_"):] or "raw", *a))
        raise AttributeError(name)

    def redact_argument(self, i):
        self.redacted.append(i)


def test_config_command_handlers(tmp_path):
    from omakase.commands import config_cmd
    srv = FakeServer(Config(chdir=False))
    c = FakeClient(srv)
    config_cmd.config_get_command(c, [b"config", b"get", b"hz", b"maxmemory"])
    assert c.out == [("map_len", 2), ("bulk", b"hz"), ("bulk", b"10"), ("bulk", b"maxmemory"), ("bulk", b"0")]
    c.out.clear()
    config_cmd.config_set_command(c, [b"config", b"set", b"requirepass", b"pw", b"hz", b"20"])
    assert c.out == [("ok",)] and c.redacted == [3] and srv.config.requirepass == "pw"
    c.out.clear()
    config_cmd.config_set_command(c, [b"config", b"set", b"hz", b"20", b"x"])
    assert c.out == [("error", "syntax error")]
    c.out.clear()
    config_cmd.config_set_command(c, [b"config", b"set", b"hz", b"x"])
    assert c.out == [("error", "CONFIG SET failed (possibly related to argument 'hz') - "
                               "argument couldn't be parsed into an integer")]
    c.out.clear()
    config_cmd.config_resetstat_command(c, [b"config", b"resetstat"])
    assert c.out == [("ok",)] and srv.resets == 1
    c.out.clear()
    config_cmd.config_rewrite_command(c, [b"config", b"rewrite"])
    assert c.out == [("error", "The server is running without a config file")]
    c.out.clear()
    srv.config_file = str(tmp_path / "x.conf")
    config_cmd.config_rewrite_command(c, [b"config", b"rewrite"])
    assert c.out == [("ok",)] and srv.log.lines == ["CONFIG REWRITE executed with success."]
    assert "hz 20" in (tmp_path / "x.conf").read_text()
    c.out.clear()
    config_cmd.config_help_command(c, [b"config", b"help"])
    assert c.out[0][0] == "help" and c.out[0][1] == "config" and c.out[0][2][0] == "GET <pattern>"


def test_config_set_protected_needs_local_client(tmp_path):
    from omakase.commands import config_cmd
    cfg = Config(chdir=False)
    cfg.enable_protected_configs = "local"
    srv = FakeServer(cfg)
    far = FakeClient(srv, addr="10.1.2.3:4000")
    config_cmd.config_set_command(far, [b"config", b"set", b"dbfilename", b"a.rdb"])
    assert "protected" in far.out[0][1]
    near = FakeClient(srv, addr="127.0.0.1:4000")
    config_cmd.config_set_command(near, [b"config", b"set", b"dbfilename", b"a.rdb"])
    assert near.out == [("ok",)] and cfg.dbfilename == "a.rdb"
    assert config_cmd.client_is_local(FakeClient(srv, addr="[::1]:5"))
