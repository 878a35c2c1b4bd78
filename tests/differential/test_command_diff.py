"""Commands as data: COMMAND INFO/DOCS/GETKEYS against redis-server 7.0.15.

The acceptance test for the command table: for every command omakase
implements (as COMMAND LIST reports it), the raw bytes of COMMAND INFO and
COMMAND DOCS must equal the oracle's, in RESP2 and in RESP3.

Two normalisations only, both forced by Redis itself:

* the subcommands of a container are listed in Redis's dict order, which is
  randomised per process (siphash seed), so they are compared as a set of
  byte strings (each entry still byte-exact);
* omakase's table holds only the subcommands that have a handler, so the
  oracle's list is restricted to the subcommands omakase implements.

``test_every_spec_against_oracle`` goes further: it builds a table in which
every command of the spec file has a handler, renders its INFO and DOCS
through a socket-less client, and compares them with the oracle for all of
Redis's 240 commands and their subcommands, so the spec data is checked before
the commands exist.
"""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rawclient import RawClient  # noqa: E402
from rawclient import connect as raw_client  # noqa: E402

pytestmark = pytest.mark.differential


# --------------------------------------------------------------------------
# A RESP value tree that keeps every byte
# --------------------------------------------------------------------------
class Node:
    """One RESP value: its header line and, for aggregates, its children.
    ``raw()`` gives the exact bytes back."""
    __slots__ = ("head", "body", "children")

    def __init__(self, head: bytes, body: bytes = b"", children: list | None = None) -> None:
        self.head = head
        self.body = body
        self.children = children

    def raw(self) -> bytes:
        out = self.head + self.body
        if self.children:
            out += b"".join(ch.raw() for ch in self.children)
        return out

    @property
    def kind(self) -> bytes:
        return self.head[:1]

    def text(self) -> bytes:
        """The payload of a bulk/simple string."""
        if self.kind in (b"$", b"="):
            return self.body[:-2]
        return self.head[1:-2]


def parse(data: bytes, pos: int = 0) -> tuple[Node, int]:
    eol = data.index(b"\r\n", pos)
    head = data[pos:eol + 2]
    t = head[:1]
    pos = eol + 2
    if t in (b"$", b"=", b"!"):
        n = int(head[1:-2])
        if n < 0:
            return Node(head), pos
        return Node(head, data[pos:pos + n + 2]), pos + n + 2
    if t in (b"*", b"~", b">", b"%", b"|"):
        n = int(head[1:-2])
        if n < 0:
            return Node(head), pos
        if t in (b"%", b"|"):
            n *= 2
        children = []
        for _ in range(n):
            child, pos = parse(data, pos)
            children.append(child)
        return Node(head, b"", children), pos
    return Node(head), pos


def parse_all(data: bytes) -> Node:
    node, end = parse(data)
    assert end == len(data), "trailing bytes after reply"
    return node


def show_diff(got: bytes, want: bytes, context: int = 100) -> str:
    """Where two byte strings first differ, with some context."""
    i = 0
    n = min(len(got), len(want))
    while i < n and got[i] == want[i]:
        i += 1
    lo = max(0, i - context)
    return (f"first difference at byte {i} (lengths {len(got)}/{len(want)}):\n"
            f"    omakase ...{got[lo:i + context]!r}\n"
            f"    redis   ...{want[lo:i + context]!r}")


def _pairs(node: Node) -> list[tuple[Node, Node]]:
    ch = node.children or []
    return list(zip(ch[0::2], ch[1::2]))


def _map_header(n: int, resp: int) -> bytes:
    return b"%%%d\r\n" % n if resp == 3 else b"*%d\r\n" % (2 * n)


def canon_info(entry: Node, keep: set[bytes] | None) -> bytes:
    """One COMMAND INFO entry, subcommands sorted (and filtered to ``keep``)."""
    if entry.kind in (b"_", b"$") and not entry.children:
        return entry.raw()                      # null
    ch = entry.children
    subs = ch[9]
    if subs.children:
        items = [s for s in subs.children
                 if keep is None or s.children[0].text() in keep]
        body = sorted(canon_info(s, None) for s in items)
        sub_raw = b"*%d\r\n" % len(items) + b"".join(body)
    else:
        sub_raw = subs.raw()
    return b"".join(c.raw() for c in ch[:9]) + sub_raw


def canon_docs(doc: Node, resp: int, keep: set[bytes] | None) -> bytes:
    """One COMMAND DOCS map, its 'subcommands' map sorted (and filtered)."""
    out = []
    for k, v in _pairs(doc):
        if k.text() == b"subcommands":
            items = [(sk, sv) for sk, sv in _pairs(v) if keep is None or sk.text() in keep]
            body = sorted(sk.raw() + canon_docs(sv, resp, None) for sk, sv in items)
            out.append(k.raw() + _map_header(len(items), resp) + b"".join(body))
        else:
            out.append(k.raw() + v.raw())
    return doc.head + b"".join(out)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
def omakase_names(server) -> list[bytes]:
    rc = raw_client(server, 2)
    try:
        lst = parse_all(rc.call("COMMAND", "LIST"))
    finally:
        rc.close()
    return sorted(n.text() for n in lst.children)


def _subcommand_filter(names: list[bytes]) -> dict[bytes, set[bytes]]:
    keep: dict[bytes, set[bytes]] = {}
    for n in names:
        if b"|" in n:
            keep.setdefault(n.split(b"|")[0], set()).add(n)
    return keep


def compare_info(a: RawClient, b: RawClient, names: list[bytes], keep: dict) -> list[str]:
    got = parse_all(a.call("COMMAND", "INFO", *names)).children
    want = parse_all(b.call("COMMAND", "INFO", *names)).children
    assert len(got) == len(want) == len(names)
    bad = []
    for name, g, w in zip(names, got, want):
        k = keep.get(name, set())
        if canon_info(g, k) != canon_info(w, k):
            bad.append(f"COMMAND INFO {name.decode()}: "
                       + show_diff(canon_info(g, k), canon_info(w, k)))
    return bad


def compare_docs(a: RawClient, b: RawClient, names: list[bytes], keep: dict,
                 resp: int) -> list[str]:
    got = dict((k.text(), v) for k, v in _pairs(parse_all(a.call("COMMAND", "DOCS", *names))))
    want = dict((k.text(), v) for k, v in _pairs(parse_all(b.call("COMMAND", "DOCS", *names))))
    assert sorted(got) == sorted(want)
    bad = []
    for name in names:
        k = keep.get(name, set())
        g, w = canon_docs(got[name], resp, k), canon_docs(want[name], resp, k)
        if g != w:
            bad.append(f"COMMAND DOCS {name.decode()}: " + show_diff(g, w))
    return bad


# --------------------------------------------------------------------------
# The acceptance test: every implemented command, raw bytes
# --------------------------------------------------------------------------
@pytest.mark.parametrize("resp", [2, 3])
def test_command_info_matches_oracle(server, oracle, resp):
    names = omakase_names(server)
    assert names, "omakase has no commands?"
    keep = _subcommand_filter(names)
    a, b = raw_client(server, resp), raw_client(oracle, resp)
    try:
        bad = compare_info(a, b, names, keep)
    finally:
        a.close()
        b.close()
    assert not bad, f"{len(bad)} of {len(names)} differ:\n" + "\n".join(bad[:20])


@pytest.mark.parametrize("resp", [2, 3])
def test_command_docs_matches_oracle(server, oracle, resp):
    names = omakase_names(server)
    keep = _subcommand_filter(names)
    a, b = raw_client(server, resp), raw_client(oracle, resp)
    try:
        bad = compare_docs(a, b, names, keep, resp)
    finally:
        a.close()
        b.close()
    assert not bad, f"{len(bad)} of {len(names)} differ:\n" + "\n".join(bad[:20])


def test_every_implemented_command_is_a_redis_command(server, oracle):
    ours = set(omakase_names(server))
    rc = raw_client(oracle, 2)
    try:
        theirs = {n.text() for n in parse_all(rc.call("COMMAND", "LIST")).children}
    finally:
        rc.close()
    assert ours <= theirs, f"not in Redis 7.0.15: {sorted(ours - theirs)}"


def test_command_count_and_list_agree(server):
    names = omakase_names(server)
    rc = raw_client(server, 2)
    try:
        count = int(rc.call("COMMAND", "COUNT")[1:-2])
        everything = parse_all(rc.call("COMMAND")).children
    finally:
        rc.close()
    top = [n for n in names if b"|" not in n]
    assert count == len(top) == len(everything)
    assert sorted(e.children[0].text() for e in everything) == top


@pytest.mark.parametrize("resp", [2, 3])
def test_info_and_docs_edge_names(server, oracle, resp):
    """Unknown names, case, one level of subcommands only."""
    names = omakase_names(server)
    present = [n for n in (b"GET", b"Config|Get", b"get|x", b"get|", b"config|get|x",
                           b"|get", b"nosuchcommand", b"")
               if n.split(b"|")[0].lower() in names or n.split(b"|")[0].lower() not in
               _oracle_names(oracle)]
    a, b = raw_client(server, resp), raw_client(oracle, resp)
    try:
        for n in present:
            assert a.call("COMMAND", "INFO", n) == b.call("COMMAND", "INFO", n), n
            assert a.call("COMMAND", "DOCS", n) == b.call("COMMAND", "DOCS", n), n
        assert a.call("COMMAND", "DOCS", "nosuch1", "nosuch2") == \
            b.call("COMMAND", "DOCS", "nosuch1", "nosuch2")
    finally:
        a.close()
        b.close()


_ORACLE_NAMES: set[bytes] = set()


def _oracle_names(oracle) -> set[bytes]:
    if not _ORACLE_NAMES:
        rc = raw_client(oracle, 2)
        try:
            _ORACLE_NAMES.update(n.text() for n in parse_all(rc.call("COMMAND", "LIST")).children)
        finally:
            rc.close()
    return _ORACLE_NAMES


# --------------------------------------------------------------------------
# GETKEYS / GETKEYSANDFLAGS / LIST / HELP / errors
# --------------------------------------------------------------------------
GETKEYS_CASES = [
    ("get", "k"), ("set", "k", "v"), ("set", "k", "v", "GET"), ("set", "k", "v", "get", "ex", "1"),
    ("mset", "a", "1", "b", "2"), ("mset", "a", "1", "b"), ("mget", "a", "b", "c"),
    ("del", "a", "b"), ("rename", "a", "b"), ("renamenx", "a", "b"), ("copy", "a", "b"),
    ("expire", "k", "10"), ("getex", "k"), ("lmove", "a", "b", "left", "right"),
    ("zunionstore", "d", "2", "a", "b"), ("zunionstore", "d", "0", "a"),
    ("zunionstore", "d", "x", "a"), ("zunion", "2", "a", "b", "WITHSCORES"),
    ("zinter", "3", "a", "b"), ("zdiff", "1", "a"), ("zintercard", "2", "a", "b", "LIMIT", "1"),
    ("sintercard", "2", "a", "b"), ("sintercard", "5", "a", "b"),
    ("eval", "return 1", "2", "k1", "k2", "a1"), ("eval", "return 1", "0"),
    ("evalsha", "abc", "1", "k"), ("fcall", "f", "1", "k", "a"), ("fcall_ro", "f", "0"),
    ("lmpop", "2", "a", "b", "LEFT"), ("blmpop", "0", "2", "a", "b", "LEFT"),
    ("zmpop", "1", "a", "MIN"), ("bzmpop", "1", "1", "a", "MAX"),
    ("sort", "k"), ("sort", "k", "BY", "w*", "STORE", "d"), ("sort", "k", "store", "d1", "store", "d2"),
    ("sort", "k", "LIMIT", "0", "1", "GET", "#", "STORE", "dst"), ("sort_ro", "k", "BY", "x"),
    ("georadius", "k", "0", "0", "1", "km", "STORE", "d"),
    ("georadius", "k", "0", "0", "1", "km", "STOREDIST", "d2", "STORE", "d3"),
    ("georadiusbymember", "k", "m", "1", "km", "STORE", "d"), ("geosearchstore", "d", "s", "FROMMEMBER", "m"),
    ("xread", "COUNT", "2", "STREAMS", "a", "b", "0", "0"), ("xread", "STREAMS", "a", "b", "0"),
    ("xreadgroup", "GROUP", "g", "c", "STREAMS", "s", ">"), ("xadd", "s", "*", "f", "v"),
    ("migrate", "h", "6379", "k", "0", "10"),
    ("migrate", "h", "6379", "", "0", "10", "COPY", "AUTH", "pw", "KEYS", "a", "b"),
    ("migrate", "h", "6379", "", "0", "10", "AUTH2", "u", "pw", "KEYS", "a"),
    ("bitfield", "k", "GET", "u8", "0"), ("bitfield", "k", "SET", "u8", "0", "1"),
    ("bitfield_ro", "k", "GET", "u8", "0"), ("bitop", "AND", "d", "a", "b"),
    ("pfcount", "a", "b"), ("pfmerge", "d", "a"), ("blpop", "a", "b", "0"),
    ("brpoplpush", "a", "b", "0"), ("object", "encoding", "k"), ("memory", "usage", "k"),
    ("xinfo", "stream", "s"), ("xgroup", "create", "s", "g", "$"), ("watch", "a", "b"),
    ("exists", "a", "b", "c"), ("touch", "a"), ("unlink", "a", "b"), ("smove", "a", "b", "m"),
    ("hset", "h", "f", "v"), ("lpos", "l", "x"), ("restore", "k", "0", "x"), ("dump", "k"),
    ("ping",), ("ping", "x"), ("get",), ("set", "k"), ("nosuchcmd", "a"), ("config", "get", "x"),
    ("config",), ("command", "info"), ("eval", "x", "1"), ("mset", "a"), ("spublish", "c", "m"),
    ("publish", "c", "m"), ("subscribe", "c"), ("keys", "*"), ("client", "list"),
    ("xread", "STREAMS", "a", "b", "c"), ("xread", "COUNT", "1", "STREAMS", "s", "0"),
    ("xreadgroup", "GROUP", "g", "c", "NOACK", "STREAMS", "s1", "s2", "0", "0"),
    ("migrate", "h", "1", "", "0", "10", "KEYS"), ("migrate", "h", "1", "k", "0", "10", "KEYS", "a"),
    ("zunion", "-1", "a"), ("lmpop", "0", "a", "LEFT"), ("eval", "s", "-1"), ("blpop", "a", "0"),
    ("ssubscribe", "c1", "c2"), ("bitop", "NOT", "d", "s"), ("msetnx", "a", "1", "b", "2"),
    ("georadius", "k", "0", "0", "1", "km", "STORE"), ("sort", "k", "STORE"),
    ("zinterstore", "d", "3", "a", "b"), ("bzpopmin", "a", "b", "0"),
    ("xgroup", "createconsumer", "s", "g", "c"), ("object", "freq", "k"),
    ("sunionstore", "d", "a", "b"), ("pfmerge", "d"), ("getdel", "k"), ("zrangestore", "d", "s", "0", "1"),
]


def _cases_for(names: set[bytes]) -> list[tuple]:
    out = []
    for case in GETKEYS_CASES:
        base = case[0].encode()
        full = base + b"|" + case[1].encode() if len(case) > 1 else base
        if base in names or full in names or base not in _ALL_REDIS_COMMANDS:
            out.append(case)
    return out


# Commands that exist in Redis 7.0 (for "unknown command" cases we still run).
_ALL_REDIS_COMMANDS = {c[0].encode() for c in GETKEYS_CASES} - {b"nosuchcmd"}


@pytest.mark.parametrize("resp", [2, 3])
def test_getkeys_matches_oracle(server, oracle, resp):
    names = set(omakase_names(server))
    a, b = raw_client(server, resp), raw_client(oracle, resp)
    bad = []
    try:
        for case in _cases_for(names):
            for sub in ("GETKEYS", "GETKEYSANDFLAGS"):
                got = a.call("COMMAND", sub, *case)
                want = b.call("COMMAND", sub, *case)
                if got != want:
                    bad.append(f"COMMAND {sub} {' '.join(case)}: {got!r} != {want!r}")
    finally:
        a.close()
        b.close()
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("resp", [2, 3])
def test_misc_subcommands_match_oracle(server, oracle, resp):
    cases = [
        ("COMMAND", "HELP"), ("COMMAND", "COUNT", "x"), ("COMMAND", "FOO"),
        ("COMMAND", "LIST", "FILTERBY"), ("COMMAND", "LIST", "FILTERBY", "x", "y"),
        ("COMMAND", "LIST", "FILTERBY", "pattern", "a", "b"), ("COMMAND", "LIST", "x"),
        ("COMMAND", "LIST", "FILTERBY", "module", "nosuchmodule"),
        ("COMMAND", "LIST", "FILTERBY", "aclcat", "nosuchcat"),
        ("COMMAND", "GETKEYS"), ("COMMAND", "GETKEYSANDFLAGS"), ("COMMAND", "INFO", "x", "y"),
    ]
    a, b = raw_client(server, resp), raw_client(oracle, resp)
    try:
        for case in cases:
            assert a.call(*case) == b.call(*case), case
    finally:
        a.close()
        b.close()


def test_command_list_filters(server, oracle):
    """FILTERBY PATTERN / ACLCAT: omakase lists exactly the oracle's matches
    among the commands it implements."""
    ours = set(omakase_names(server))
    a, b = raw_client(server, 2), raw_client(oracle, 2)
    try:
        for kind, arg in (("pattern", "c*"), ("pattern", "CONFIG|*"), ("pattern", "*e?"),
                          ("aclcat", "read"), ("aclcat", "WRITE"), ("aclcat", "keyspace"),
                          ("aclcat", "dangerous"), ("aclcat", "fast"), ("aclcat", "connection")):
            got = {n.text() for n in parse_all(a.call("COMMAND", "LIST", "FILTERBY", kind, arg)).children}
            want = {n.text() for n in parse_all(b.call("COMMAND", "LIST", "FILTERBY", kind, arg)).children}
            assert got == want & ours, (kind, arg)
    finally:
        a.close()
        b.close()


# --------------------------------------------------------------------------
# All of Redis's commands, rendered offline from the spec file
# --------------------------------------------------------------------------
class _StubServer:
    """Just enough of a Server for a socket-less Client to render replies."""

    class config:
        proto_max_bulk_len = 512 * 1024 * 1024

    def __init__(self) -> None:
        self.dbs = [None]
        self.commands = None
        self.errors = 0

    def next_client_id(self) -> int:
        return 1

    def auth_required(self) -> bool:
        return False

    def count_error_reply(self, msg: str) -> None:
        self.errors += 1


def _full_table():
    """A CommandTable where every spec command and subcommand has a handler."""
    from omakase.commands.registry import Command, load_specs

    class Table:
        pass

    def lookup(argv):
        cmd = table.commands.get(argv[0].lower().decode("latin-1"))
        if cmd is not None and cmd.subcommands is not None and len(argv) >= 2:
            return cmd.subcommands.get(argv[1].lower())
        return cmd

    table = Table()
    table.commands = {}
    table.lookup = lookup
    for name, spec in sorted(load_specs().items()):
        cmd = Command(name, spec, None)
        if "subcommands" in spec:
            cmd.subcommands = {s.encode(): Command(s, sspec, None, parent=cmd)
                               for s, sspec in sorted(spec["subcommands"].items())}
        table.commands[name] = cmd
    return table


def _render(table, resp: int, fn, names: list[bytes]) -> bytes:
    from omakase.networking import Client
    from omakase.commands import introspection

    srv = _StubServer()
    srv.commands = table
    c = Client(srv, None)
    c.resp = resp
    fn(introspection, c, names)
    return b"".join(bytes(x) for x in c.reply)


def _info(mod, c, names):
    c.add_reply_array_len(len(names))
    for n in names:
        mod.reply_command_info(c, mod.lookup_by_fullname(c.server, n))


def _docs(mod, c, names):
    found = [mod.lookup_by_fullname(c.server, n) for n in names]
    found = [f for f in found if f is not None]
    c.add_reply_map_len(len(found))
    for cmd in found:
        c.add_reply_bulk(cmd.fullname.encode())
        mod.reply_command_docs(c, cmd)


@pytest.mark.parametrize("resp", [2, 3])
def test_every_spec_against_oracle(oracle, resp):
    """The spec file and the renderer, for every Redis 7.0.15 command."""
    try:
        table = _full_table()
    except KeyError as exc:     # a flag the registry does not know yet
        pytest.fail(f"registry cannot build the full table: unknown flag {exc}")
    rc = raw_client(oracle, resp)
    try:
        redis_names = sorted(n.text() for n in parse_all(rc.call("COMMAND", "LIST")).children)
        want_info = parse_all(rc.call("COMMAND", "INFO", *redis_names)).children
        want_docs = dict((k.text(), v) for k, v in
                         _pairs(parse_all(rc.call("COMMAND", "DOCS", *redis_names))))
    finally:
        rc.close()
    got_info = parse_all(_render(table, resp, _info, redis_names)).children
    got_docs = dict((k.text(), v) for k, v in
                    _pairs(parse_all(_render(table, resp, _docs, redis_names))))
    bad = []
    for name, g, w in zip(redis_names, got_info, want_info):
        if canon_info(g, None) != canon_info(w, None):
            bad.append(f"INFO {name.decode()}: "
                       + show_diff(canon_info(g, None), canon_info(w, None)))
    assert sorted(got_docs) == sorted(want_docs)
    for name in redis_names:
        g, w = canon_docs(got_docs[name], resp, None), canon_docs(want_docs[name], resp, None)
        if g != w:
            bad.append(f"DOCS {name.decode()}: " + show_diff(g, w))
    assert not bad, f"{len(bad)} differ:\n" + "\n".join(bad)


@pytest.mark.parametrize("resp", [2, 3])
def test_every_getkeys_case_against_oracle(oracle, resp):
    """Key extraction (key specs and the native getkeys procs) for commands
    that do not have a handler yet, through the full spec table."""
    from omakase.commands import introspection

    table = _full_table()

    def run(mod, c, names):
        sub = table.lookup(names)
        if len(names) < -sub.arity:         # process_command's arity check
            c.add_reply_error("wrong number of arguments for '%s' command" % sub.fullname)
            return
        introspection._getkeys_reply(c, names, names[1] == b"GETKEYSANDFLAGS")

    rc = raw_client(oracle, resp)
    bad = []
    try:
        for case in GETKEYS_CASES:
            if case[0] == "nosuchcmd":
                continue
            for sub in ("GETKEYS", "GETKEYSANDFLAGS"):
                argv = [b"COMMAND", sub.encode()] + [a.encode() for a in case]
                got = _render(table, resp, run, argv)
                want = rc.call(*argv)
                if got != want:
                    bad.append(f"COMMAND {sub} {' '.join(case)}: {got!r} != {want!r}")
    finally:
        rc.close()
    assert not bad, "\n".join(bad)
