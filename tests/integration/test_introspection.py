"""COMMAND and its subcommands: shape, lookups, key extraction, errors.

Byte-for-byte equality with redis-server for every command lives in
``tests/differential/test_command_diff.py``; these tests state the behaviour
in readable terms and hold against any Redis 7.0 (``--redis-url``).  redis-py
post-processes COMMAND replies, so they go through a raw client and a tiny
RESP decoder.
"""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rawclient import RawClient  # noqa: E402


class Status(str):
    """A simple-string reply (as opposed to a bulk string)."""


class Map(dict):
    pass


class Set(list):
    pass


def decode(data: bytes, pos: int = 0):
    eol = data.index(b"\r\n", pos)
    t, head, pos = data[pos:pos + 1], data[pos + 1:eol], eol + 2
    if t == b"+":
        return Status(head.decode()), pos
    if t == b"-":
        return RuntimeError(head.decode()), pos
    if t == b":":
        return int(head), pos
    if t == b"_":
        return None, pos
    if t == b"#":
        return head == b"t", pos
    if t in (b"$", b"="):
        n = int(head)
        if n < 0:
            return None, pos
        return data[pos:pos + n], pos + n + 2
    if t in (b"*", b"~", b"%"):
        n = int(head)
        if n < 0:
            return None, pos
        items = []
        for _ in range(n * 2 if t == b"%" else n):
            item, pos = decode(data, pos)
            items.append(item)
        if t == b"%":
            return Map(zip(items[0::2], items[1::2])), pos
        return (Set(items) if t == b"~" else items), pos
    raise ValueError(data[:100])


def call(rc: RawClient, *args):
    value, end = decode(rc.call(*args))
    return value


def as_map(value) -> dict:
    """RESP2 flattens maps into arrays; RESP3 sends maps."""
    if isinstance(value, dict):
        return value
    return dict(zip(value[0::2], value[1::2]))


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def rc(server, request):
    c = RawClient(server.host, server.port)
    if request.param == 3:
        c.call("HELLO", "3")
    yield c
    c.close()


@pytest.fixture
def rc2(server):
    c = RawClient(server.host, server.port)
    yield c
    c.close()


# --------------------------------------------------------------------------
# COMMAND, COUNT, LIST
# --------------------------------------------------------------------------
def test_command_count_matches_command(rc):
    count = call(rc, "COMMAND", "COUNT")
    everything = call(rc, "COMMAND")
    assert isinstance(count, int) and count == len(everything) > 0
    names = {e[0] for e in everything}
    assert {b"get", b"set", b"command", b"info", b"client", b"debug"} <= names


def test_command_list_includes_subcommands(rc):
    names = set(call(rc, "COMMAND", "LIST"))
    assert {b"command", b"command|info", b"command|docs", b"client|list", b"get"} <= names
    top = {n for n in names if b"|" not in n}
    assert len(top) == call(rc, "COMMAND", "COUNT")


def test_command_list_filters(rc):
    got = set(call(rc, "COMMAND", "LIST", "FILTERBY", "PATTERN", "command|*"))
    assert b"command|info" in got and b"command" not in got
    assert all(n.startswith(b"command|") for n in got)
    got = set(call(rc, "COMMAND", "LIST", "FILTERBY", "pattern", "GET"))
    assert got == {b"get"}                       # case-insensitive
    strings = set(call(rc, "COMMAND", "LIST", "FILTERBY", "ACLCAT", "string"))
    assert {b"get", b"set"} <= strings and b"client|list" not in strings
    assert call(rc, "COMMAND", "LIST", "FILTERBY", "aclcat", "nosuchcategory") == []
    assert call(rc, "COMMAND", "LIST", "FILTERBY", "module", "nosuchmodule") == []


@pytest.mark.parametrize("args", [
    ("FILTERBY",), ("FILTERBY", "pattern"), ("FILTERBY", "foo", "x"),
    ("FILTERBY", "pattern", "a", "b"), ("x",),
])
def test_command_list_syntax_errors(rc, args):
    err = call(rc, "COMMAND", "LIST", *args)
    assert isinstance(err, RuntimeError) and str(err) == "ERR syntax error"


# --------------------------------------------------------------------------
# COMMAND INFO
# --------------------------------------------------------------------------
def test_command_info_get(rc):
    (info,) = call(rc, "COMMAND", "INFO", "get")
    name, arity, flags, first, last, step, cats, tips, specs, subs = info
    assert (name, arity, first, last, step) == (b"get", 2, 1, 1, 1)
    assert flags == ["readonly", "fast"] and all(isinstance(f, Status) for f in flags)
    assert cats == ["@read", "@string", "@fast"]
    assert tips == [] and subs == []
    (spec,) = specs
    spec = as_map(spec)
    assert spec[b"flags"] == ["RO", "access"]
    bs = as_map(spec[b"begin_search"])
    assert bs[b"type"] == b"index" and as_map(bs[b"spec"]) == {b"index": 1}
    fk = as_map(spec[b"find_keys"])
    assert fk[b"type"] == b"range"
    assert as_map(fk[b"spec"]) == {b"lastkey": 0, b"keystep": 1, b"limit": 0}


def test_command_info_set_has_notes_and_variable_flags(rc):
    (info,) = call(rc, "COMMAND", "INFO", "SET")
    assert info[0] == b"set" and info[1] == -3
    assert info[2] == ["write", "denyoom"]      # a getkeys proc does not make keys movable
    spec = as_map(info[8][0])
    assert list(spec)[0] == b"notes"
    assert spec[b"flags"] == ["RW", "access", "update", "variable_flags"]


def test_command_info_container_and_subcommands(rc):
    (info,) = call(rc, "COMMAND", "INFO", "command")
    assert info[0] == b"command" and info[1] == -1
    subs = {s[0]: s for s in info[9]}
    assert b"command|info" in subs and b"command|docs" in subs
    assert subs[b"command|count"][1] == 2
    assert info[7] == [b"nondeterministic_output_order"]
    (sub,) = call(rc, "COMMAND", "INFO", "Command|Info")
    assert sub == subs[b"command|info"]


def test_command_info_unknown_names_are_null(rc):
    got = call(rc, "COMMAND", "INFO", "nosuchcommand", "get|x", "command|info|x", "", "get")
    assert got[:4] == [None, None, None, None]
    assert got[4][0] == b"get"


def test_command_info_without_names_is_command(rc):
    assert len(call(rc, "COMMAND", "INFO")) == call(rc, "COMMAND", "COUNT")


def test_command_info_tips_are_lower_case(rc):
    (info,) = call(rc, "COMMAND", "INFO", "client|list")
    assert info[7] == [b"nondeterministic_output"]
    assert info[6] == ["@admin", "@slow", "@dangerous", "@connection"]


# --------------------------------------------------------------------------
# COMMAND DOCS
# --------------------------------------------------------------------------
def test_command_docs_get(rc):
    docs = as_map(call(rc, "COMMAND", "DOCS", "get"))
    get = as_map(docs[b"get"])
    assert list(get) == [b"summary", b"since", b"group", b"complexity", b"arguments"]
    assert get[b"since"] == b"1.0.0" and get[b"group"] == b"string"
    (arg,) = get[b"arguments"]
    assert as_map(arg) == {b"name": b"key", b"type": b"key", b"key_spec_index": 0}


def test_command_docs_set_arguments(rc):
    docs = as_map(as_map(call(rc, "COMMAND", "DOCS", "set"))[b"set"])
    assert [h[0] for h in docs[b"history"]] == [b"2.6.12", b"6.0.0", b"6.2.0", b"7.0.0"]
    args = [as_map(a) for a in docs[b"arguments"]]
    assert [a[b"name"] for a in args] == [b"key", b"value", b"condition", b"get", b"expiration"]
    cond = args[2]
    assert cond[b"type"] == b"oneof" and cond[b"flags"] == ["optional"]
    assert [as_map(a)[b"token"] for a in cond[b"arguments"]] == [b"NX", b"XX"]
    assert b"display_text" not in cond          # 7.2 only


def test_command_docs_container_and_unknown(rc):
    docs = as_map(call(rc, "COMMAND", "DOCS", "nosuch", "client", "client|id"))
    assert list(docs) == [b"client", b"client|id"]
    client = as_map(docs[b"client"])
    subs = as_map(client[b"subcommands"])
    assert b"client|list" in subs
    assert as_map(subs[b"client|id"]) == as_map(docs[b"client|id"])
    assert as_map(call(rc, "COMMAND", "DOCS", "nosuch")) == {}


def test_command_docs_deprecated_command_flags(rc):
    # CLIENT KILL's old ip:port form is deprecated: its argument says so.
    kill = as_map(as_map(call(rc, "COMMAND", "DOCS", "client|kill"))[b"client|kill"])
    old = as_map(as_map(kill[b"arguments"][0])[b"arguments"][0])
    assert old == {b"name": b"ip:port", b"type": b"string", b"deprecated_since": b"2.8.12"}
    new = as_map(as_map(kill[b"arguments"][0])[b"arguments"][1])
    kinds = as_map(new[b"arguments"][1])
    assert [as_map(a)[b"token"] for a in kinds[b"arguments"]] == [
        b"NORMAL", b"MASTER", b"SLAVE", b"REPLICA", b"PUBSUB"]


# --------------------------------------------------------------------------
# GETKEYS / GETKEYSANDFLAGS
# --------------------------------------------------------------------------
def test_getkeys(rc):
    assert call(rc, "COMMAND", "GETKEYS", "get", "k") == [b"k"]
    assert call(rc, "COMMAND", "GETKEYS", "set", "k", "v", "EX", "10") == [b"k"]
    assert call(rc, "COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2") == [b"a", b"b"]


def test_getkeysandflags(rc):
    assert call(rc, "COMMAND", "GETKEYSANDFLAGS", "set", "k", "v") == [[b"k", ["OW", "update"]]]
    assert call(rc, "COMMAND", "GETKEYSANDFLAGS", "set", "k", "v", "get") == [
        [b"k", ["RW", "access", "update"]]]
    assert call(rc, "COMMAND", "GETKEYSANDFLAGS", "get", "k") == [[b"k", ["RO", "access"]]]


@pytest.mark.parametrize("args,error", [
    (("nosuchcommand", "a"), "ERR Invalid command specified"),
    (("ping", "x"), "ERR The command has no key arguments"),
    (("get", "a", "b"), "ERR Invalid number of arguments specified for command"),
    (("set", "a"), "ERR Invalid number of arguments specified for command"),
    (("client", "list"), "ERR The command has no key arguments"),
])
def test_getkeys_errors(rc, args, error):
    for sub in ("GETKEYS", "GETKEYSANDFLAGS"):
        err = call(rc, "COMMAND", sub, *args)
        assert isinstance(err, RuntimeError) and str(err) == error


def test_command_help(rc):
    lines = call(rc, "COMMAND", "HELP")
    assert lines[0] == "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert "GETKEYSANDFLAGS <full-command>" in lines
    assert lines[-2:] == ["HELP", "    Prints this help."]


def test_subcommand_errors(rc2):
    assert rc2.call("COMMAND", "FOO") == b"-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n"
    assert rc2.call("COMMAND", "COUNT", "x") == (
        b"-ERR wrong number of arguments for 'command|count' command\r\n")
    assert rc2.call("COMMAND", "GETKEYS") == (
        b"-ERR wrong number of arguments for 'command|getkeys' command\r\n")


def test_commandstats_count_subcommands_separately(server, r):
    r.config_resetstat()
    rc = RawClient(server.host, server.port)
    try:
        rc.call("COMMAND", "COUNT")
        rc.call("COMMAND", "COUNT")
        rc.call("COMMAND", "LIST", "x")
    finally:
        rc.close()
    stats = r.info("commandstats")
    assert stats["cmdstat_command|count"]["calls"] == 2
    assert stats["cmdstat_command|list"]["failed_calls"] == 1


# --------------------------------------------------------------------------
# The legacy key range and movablekeys, from the spec file (no server)
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name,expected", [
    ("get", (1, 1, 1, False)),
    ("set", (1, 1, 1, False)),          # VARIABLE_FLAGS, but index+range
    ("mset", (1, -1, 2, False)),
    ("del", (1, -1, 1, False)),
    ("blpop", (1, -2, 1, False)),
    ("rename", (1, 2, 1, False)),       # two consecutive single-key ranges
    ("lmove", (1, 2, 1, False)),
    ("smove", (1, 2, 1, False)),
    ("georadius", (1, 1, 1, True)),     # STORE/STOREDIST keyword specs
    ("sort", (1, 1, 1, True)),          # unknown specs
    ("zunion", (0, 0, 0, True)),        # keynum only
    ("zunionstore", (1, 1, 1, True)),
    ("eval", (0, 0, 0, True)),
    ("migrate", (3, 3, 1, True)),       # INCOMPLETE keyword spec
    ("xread", (0, 0, 0, True)),
    ("ping", (0, 0, 0, False)),
])
def test_legacy_range(name, expected):
    from omakase.commands.introspection import legacy_range
    from omakase.commands.registry import Command, load_specs

    spec = load_specs()[name]
    assert legacy_range(Command(name, spec, None)) == expected
