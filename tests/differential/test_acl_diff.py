"""ACL: omakase vs Debian's redis-server 7.0, byte for byte.

Users are created with the same rules on both servers; ACL LIST, GETUSER,
DRYRUN, every SETUSER error and the NOPERM replies of an authenticated
connection must be identical bytes.  One relaxation, by nature: Redis lists
the single-command part of a rule description in its command dict's hash
order, which is seeded randomly per process, so those words are compared as
a set (the ``+@all``/``-@all`` head and the categories keep their order).
"""
from __future__ import annotations

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rawclient import RawClient, open_pairs  # noqa: E402

pytestmark = pytest.mark.differential

RULESETS = [
    ["on", ">pw", "~k*", "+get", "+set", "+publish", "&news*", "+subscribe"],
    ["on", "nopass", "+@all", "-debug", "~*", "&*"],
    ["+@all", "-@dangerous", "+@admin"],
    ["+@read", "-get", "%R~r*", "%W~w*", "~rw*"],
    ["+@string", "-get", "+@hash", "-@write"],
    ["+config", "-config|get"],
    ["+config|get", "+config"],
    ["-@all", "+client|id", "+client|list", "-client"],
    ["allcommands", "-get", "allkeys", "allchannels"],
    ["+select|0", "+select|1"],
    ["+get", "+set", "-get", "+get"],
    ["on", ">a", ">b", "<a", "#" + "a" * 64, "!" + "a" * 64],
    ["(~x* +get)", "(+set ~y*)", "+ping"],
    ["reset", "+@all", "~*", "resetchannels", "&a", "&b"],
    ["%R~x", "%W~x", "~y", "%R~y"],
    ["+@all", "-@keyspace", "+del", "-@pubsub"],
    ["nocommands", "+@scripting", "+@transaction", "-exec"],
]

BAD_RULES = [["foo"], ["+nocmd"], ["#abc"], ["+@nocat"], ["(foo"], ["%X~a"], ["%~x"],
             ["allchannels", "&x"], ["allkeys", "~x"], ["<nopw"], ["+config|"],
             ["+config|nosub"], ["-select|0"], ["+select|0|1"], ["%RR~x"], ["!zz"]]


def normalise_rules(text: bytes) -> tuple:
    words = text.split(b" ")
    head, ordered, singles = [], [], []
    for w in words:
        if w in (b"+@all", b"-@all") and not ordered and not singles:
            head.append(w)
        elif w.startswith((b"+@", b"-@")):
            ordered.append(w)
        else:
            singles.append(w)
    return tuple(head), tuple(ordered), tuple(sorted(singles))


def normalise(raw: bytes) -> bytes:
    """Replace every rule description inside a reply with a canonical form."""
    def canon(m: re.Match) -> bytes:
        return repr(normalise_rules(m.group(0))).encode()
    return re.sub(rb"[+-]@all( [+-][^\r\n() ]+)*", canon, raw)


@pytest.fixture
def pairs(server, oracle):
    ps = open_pairs(server, oracle)
    yield ps
    for a, b in ps.values():
        for cl in (a, b):
            users = cl.call("ACL", "USERS")
            for name in re.findall(rb"\$\d+\r\n([^\r]+)\r\n", users):
                if name != b"default":
                    cl.call("ACL", "DELUSER", name)
            cl.call("ACL", "LOG", "RESET")
            cl.close()


@pytest.mark.parametrize("rules", RULESETS, ids=lambda r: " ".join(r)[:40])
def test_setuser_list_getuser_identical(pairs, rules):
    for proto, (a, b) in pairs.items():
        ra = a.call("ACL", "SETUSER", "u", *rules)
        rb = b.call("ACL", "SETUSER", "u", *rules)
        assert ra == rb
        for cmd in (("ACL", "LIST"), ("ACL", "GETUSER", "u"), ("ACL", "USERS")):
            assert normalise(a.call(*cmd)) == normalise(b.call(*cmd)), (proto, cmd)
        a.call("ACL", "DELUSER", "u")
        b.call("ACL", "DELUSER", "u")


@pytest.mark.parametrize("rules", BAD_RULES, ids=lambda r: " ".join(r))
def test_setuser_errors_identical_and_atomic(pairs, rules):
    a, b = pairs[2]
    for cl in (a, b):
        cl.call("ACL", "SETUSER", "v", "on", "+get")
    ra = a.call("ACL", "SETUSER", "v", "+set", *rules)
    rb = b.call("ACL", "SETUSER", "v", "+set", *rules)
    assert ra == rb
    assert a.call("ACL", "GETUSER", "v") == b.call("ACL", "GETUSER", "v")


DRYRUNS = [("get", "k1"), ("get", "x"), ("del", "k"), ("set", "k2", "v"), ("set", "w2", "v"),
           ("publish", "news1", "m"), ("publish", "other", "m"), ("subscribe", "news1", "x"),
           ("nocmd",), ("get",), ("config", "get", "x"), ("select", "0"), ("select", "2"),
           ("ping",), ("auth", "a", "b")]


@pytest.mark.parametrize("rules", RULESETS[:10], ids=lambda r: " ".join(r)[:40])
def test_dryrun_identical(pairs, rules):
    a, b = pairs[3]
    for cl in (a, b):
        cl.call("ACL", "SETUSER", "d", *rules)
    for args in DRYRUNS:
        assert a.call("ACL", "DRYRUN", "d", *args) == b.call("ACL", "DRYRUN", "d", *args), args
    assert a.call("ACL", "DRYRUN", "nouser", "get", "x") == \
        b.call("ACL", "DRYRUN", "nouser", "get", "x")


def test_noperm_replies_identical(server, oracle):
    rules = ["on", ">pw", "~k*", "+get", "+set", "+publish", "&news*", "+subscribe", "+multi",
             "+exec"]
    admin = [RawClient(s.host, s.port) for s in (server, oracle)]
    try:
        for cl in admin:
            cl.call("ACL", "SETUSER", "bob", *rules)
        bobs = [RawClient(s.host, s.port) for s in (server, oracle)]
        script = [("AUTH", "bob", "wrong"), ("AUTH", "nouser", "x"), ("AUTH", "bob", "pw"),
                  ("GET", "k1"), ("GET", "other"), ("SET", "other", "1"), ("DEL", "k1"),
                  ("PUBLISH", "news1", "x"), ("PUBLISH", "other", "x"), ("MULTI",),
                  ("GET", "other"), ("SET", "k1", "v"), ("EXEC",), ("ACL", "WHOAMI"),
                  ("SUBSCRIBE", "other")]
        for args in script:
            assert bobs[0].call(*args) == bobs[1].call(*args), args
        logs = [cl.call("ACL", "LOG") for cl in admin]
        shapes = [re.sub(rb"age-seconds\r\n\$\d+\r\n[^\r]+\r\n|client-info\r\n\$\d+\r\n[^\r]+",
                         b"", log) for log in logs]
        assert shapes[0] == shapes[1]
        for cl in bobs:
            cl.close()
    finally:
        for cl in admin:
            cl.call("ACL", "DELUSER", "bob")
            cl.call("ACL", "LOG", "RESET")
            cl.close()


def test_cat_and_help_identical(pairs):
    for a, b in pairs.values():
        assert a.call("ACL", "CAT") == b.call("ACL", "CAT")
        assert a.call("ACL", "HELP") == b.call("ACL", "HELP")
        assert a.call("ACL", "CAT", "nocat") == b.call("ACL", "CAT", "nocat")
        for cat in (b"pubsub", b"transaction", b"list", b"hash", b"connection"):
            ours = sorted(re.findall(rb"\$\d+\r\n([^\r]+)\r\n", a.call("ACL", "CAT", cat)))
            theirs = sorted(re.findall(rb"\$\d+\r\n([^\r]+)\r\n", b.call("ACL", "CAT", cat)))
            if cat == b"connection":    # asking/readonly/readwrite are cluster commands
                assert set(ours) <= set(theirs)
            else:
                assert ours == theirs
        for args in (("GENPASS", "0"), ("GENPASS", "4097"), ("GENPASS", "x"), ("LOG", "x"),
                     ("DELUSER", "default"), ("SAVE",), ("LOAD",), ("GETUSER", "nobody")):
            assert a.call("ACL", *args) == b.call("ACL", *args), args
