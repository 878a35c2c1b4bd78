"""CLIENT subcommands, through redis-py and raw RESP.

Every expected reply here was checked against redis-server 7.0.15 (the
error strings are its exact text); the differential test at the end sends a
battery of CLIENT calls to both servers and compares raw bytes.
"""
from __future__ import annotations

import os
import re
import socket
import sys
import time

import pytest
import redis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rawclient import RawClient  # noqa: E402
from rawclient import connect as raw  # noqa: E402

LINE_RE = re.compile(
    r"^id=(\d+) addr=(\S+) laddr=(\S+) fd=(-?\d+) name=(\S*) age=(\d+) idle=(\d+) "
    r"flags=(\S+) db=(\d+) sub=(\d+) psub=(\d+) ssub=(\d+) multi=(-?\d+) qbuf=(\d+) "
    r"qbuf-free=(\d+) argv-mem=(\d+) multi-mem=(\d+) rbs=(\d+) rbp=(\d+) obl=(\d+) "
    r"oll=(\d+) omem=(\d+) tot-mem=(\d+) events=(r?w?) cmd=(\S+) user=(\S+) "
    r"redir=(-?\d+) resp=([23])$")


def fields(line: str) -> dict[str, str]:
    return dict(kv.split("=", 1) for kv in line.split(" "))


def require(server, *commands: str) -> None:
    """Skip until the commands a test leans on exist in this server."""
    rc = raw(server)
    try:
        missing = [c for c in commands
                   if rc.call("COMMAND", "INFO", c) in (b"*1\r\n$-1\r\n", b"*1\r\n_\r\n")]
    finally:
        rc.close()
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")


# --------------------------------------------------------------------------
# ID, SETNAME, GETNAME, INFO, LIST
# --------------------------------------------------------------------------
def test_client_id_is_unique_and_increasing(server):
    a, b = raw(server), raw(server)
    try:
        ida = int(a.call("CLIENT", "ID")[1:-2])
        idb = int(b.call("CLIENT", "ID")[1:-2])
        assert idb > ida > 0
        assert a.call("CLIENT", "ID") == b":%d\r\n" % ida
    finally:
        a.close()
        b.close()


def test_setname_getname(r):
    assert r.client_getname() is None
    assert r.client_setname("my-name") is True
    assert r.client_getname() == "my-name"
    assert r.client_setname("") is True          # an empty name removes it
    assert r.client_getname() is None


@pytest.mark.parametrize("bad", ["a b", "a\nb", "tab\there", "\x7f", "caf\u00e9"])
def test_setname_rejects_special_characters(r, bad):
    with pytest.raises(redis.ResponseError) as e:
        r.client_setname(bad)
    assert str(e.value) == "Client names cannot contain spaces, newlines or special characters."


def test_hello_setname_uses_the_same_validation(server):
    rc = raw(server)
    try:
        assert rc.call("HELLO", "2", "SETNAME", "a b") == (
            b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n")
        assert rc.call("HELLO", "2", "SETNAME", "ok-name").startswith(b"*14\r\n")
        assert rc.call("CLIENT", "GETNAME") == b"$7\r\nok-name\r\n"
    finally:
        rc.close()


def test_getname_null_in_both_protocols(server):
    a, b = raw(server, 2), raw(server, 3)
    try:
        assert a.call("CLIENT", "GETNAME") == b"$-1\r\n"
        assert b.call("CLIENT", "GETNAME") == b"_\r\n"
    finally:
        a.close()
        b.close()


def test_client_info_line(r):
    r.client_setname("infotest")
    r.select(3)
    text = r.execute_command("CLIENT", "INFO").decode()
    assert text.endswith("\n") and text.count("\n") == 1
    m = LINE_RE.match(text[:-1])
    assert m, text
    f = fields(text[:-1])
    assert f["name"] == "infotest"
    assert f["db"] == "3"
    assert f["cmd"] == "client|info"
    assert f["flags"] == "N"
    assert f["multi"] == "-1"
    assert f["user"] == "default"
    assert f["id"] == str(r.client_id())
    assert f["argv-mem"] == "10"      # "client" + "info"


def test_client_info_is_verbatim_in_resp3(server):
    rc = raw(server, 3)
    try:
        reply = rc.call("CLIENT", "INFO")
        assert reply.startswith(b"=")
        assert b"\r\ntxt:id=" in reply
        assert b" resp=3\n\r\n" in reply
    finally:
        rc.close()


def test_client_list_lists_every_connection(server, r):
    others = [raw(server) for _ in range(3)]
    try:
        for i, o in enumerate(others):
            o.call("CLIENT", "SETNAME", f"other-{i}")
        text = r.execute_command("CLIENT", "LIST").decode()
        lines = text.splitlines()
        assert text.endswith("\n")
        for line in lines:
            assert LINE_RE.match(line), line
        names = {fields(line)["name"] for line in lines}
        assert {"other-0", "other-1", "other-2"} <= names
        me = [fields(line) for line in lines if fields(line)["id"] == str(r.client_id())]
        assert len(me) == 1 and me[0]["cmd"] == "client|list"
        assert me[0]["qbuf"] == "26"   # the request being executed
    finally:
        for o in others:
            o.close()


def test_client_list_type_and_id_filters(server, r):
    require(server, "subscribe")
    sub = raw(server)
    try:
        sub.call("SUBSCRIBE", "chan")
        sub_id = None
        for line in r.execute_command("CLIENT", "LIST").decode().splitlines():
            f = fields(line)
            if f["flags"] == "P":
                sub_id = int(f["id"])
        assert sub_id is not None
        pubsub = r.execute_command("CLIENT", "LIST", "TYPE", "pubsub").decode().splitlines()
        assert [fields(x)["id"] for x in pubsub] == [str(sub_id)]
        assert fields(pubsub[0])["sub"] == "1"
        normal = r.execute_command("CLIENT", "LIST", "TYPE", "NORMAL").decode().splitlines()
        assert str(sub_id) not in [fields(x)["id"] for x in normal]
        assert r.execute_command("CLIENT", "LIST", "TYPE", "master") == b""
        assert r.execute_command("CLIENT", "LIST", "TYPE", "replica") == b""
        assert r.execute_command("CLIENT", "LIST", "TYPE", "slave") == b""
        me = r.client_id()
        both = r.execute_command("CLIENT", "LIST", "ID", me, sub_id, 999999).decode()
        assert [fields(x)["id"] for x in both.splitlines()] == [str(me), str(sub_id)]
    finally:
        sub.close()


@pytest.mark.parametrize("args,error", [
    (("LIST", "TYPE"), "syntax error"),
    (("LIST", "TYPE", "foo"), "Unknown client type 'foo'"),
    (("LIST", "ID", "x"), "Invalid client ID"),
    (("LIST", "ID"), "syntax error"),
    (("LIST", "foo", "bar"), "syntax error"),
    (("LIST", "TYPE", "normal", "x"), "syntax error"),
])
def test_client_list_errors(r, args, error):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("CLIENT", *args)
    assert str(e.value) == error


def test_client_list_flags(server, r):
    require(server, "multi", "discard")
    m = raw(server)
    try:
        m.call("MULTI")
        assert m.call("SET", "a", "b") == b"+QUEUED\r\n"
        multi = [fields(x) for x in r.execute_command("CLIENT", "LIST").decode().splitlines()
                 if "x" in fields(x)["flags"]]
        assert len(multi) == 1 and multi[0]["multi"] == "1"
        m.call("DISCARD")
        r.execute_command("CLIENT", "NO-EVICT", "on")
        me = fields(r.execute_command("CLIENT", "INFO").decode().strip())
        assert me["flags"] == "e"
        r.execute_command("CLIENT", "NO-EVICT", "off")
        me = fields(r.execute_command("CLIENT", "INFO").decode().strip())
        assert me["flags"] == "N"
    finally:
        m.close()


# --------------------------------------------------------------------------
# KILL
# --------------------------------------------------------------------------
def _wait_closed(rc: RawClient) -> bool:
    rc.sock.settimeout(2)
    try:
        return rc.sock.recv(1) == b""
    except (ConnectionResetError, socket.timeout):
        return True


def test_kill_old_form_by_addr(server, r):
    victim = raw(server)
    info = victim.call("CLIENT", "INFO").decode()
    addr = fields(info[info.index("id="):].strip())["addr"]
    assert r.execute_command("CLIENT", "KILL", addr) in (True, b"OK", "OK")
    assert _wait_closed(victim)
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("CLIENT", "KILL", addr)
    assert str(e.value) == "No such client"


def test_kill_old_form_can_kill_self(server):
    rc = raw(server)
    info = rc.call("CLIENT", "INFO").decode()
    addr = fields(info[info.index("id="):].strip())["addr"]
    assert rc.call("CLIENT", "KILL", addr) == b"+OK\r\n"
    assert _wait_closed(rc)


def test_kill_new_form_filters(server, r):
    a, b = raw(server), raw(server)
    try:
        ida = int(a.call("CLIENT", "ID")[1:-2])
        b.call("CLIENT", "ID")
        assert r.execute_command("CLIENT", "KILL", "ID", ida) == 1
        assert _wait_closed(a)
        assert r.execute_command("CLIENT", "KILL", "ID", ida) == 0
        info = b.call("CLIENT", "INFO").decode()
        f = fields(info[info.index("id="):].strip())
        # LADDR matches every client of this listener: SKIPME yes spares us.
        n = r.execute_command("CLIENT", "KILL", "LADDR", f["laddr"], "ADDR", f["addr"])
        assert n == 1
        assert _wait_closed(b)
    finally:
        a.close()
        b.close()


def test_kill_by_type_and_user_skipme(server, r):
    require(server, "subscribe")
    subs = [raw(server) for _ in range(2)]
    try:
        for s in subs:
            s.call("SUBSCRIBE", "x")
        assert r.execute_command("CLIENT", "KILL", "TYPE", "pubsub") == 2
        for s in subs:
            assert _wait_closed(s)
        other = raw(server)
        other.call("PING")
        # USER default matches everyone but the caller (SKIPME defaults to yes)
        killed = r.execute_command("CLIENT", "KILL", "USER", "default")
        assert killed >= 1
        assert _wait_closed(other)
        assert r.ping()
    finally:
        for s in subs:
            s.close()


def test_kill_skipme_no_kills_the_caller(server):
    rc = raw(server)
    cid = rc.call("CLIENT", "ID")[1:-2].decode()
    assert rc.call("CLIENT", "KILL", "ID", cid, "SKIPME", "no") == b":1\r\n"
    assert _wait_closed(rc)


@pytest.mark.parametrize("args,error", [
    (("ID", "0"), "client-id should be greater than 0"),
    (("ID", "abc"), "client-id should be greater than 0"),
    (("ID", "-1"), "client-id should be greater than 0"),
    (("ID", "5", "TYPE"), "syntax error"),
    (("TYPE", "foo"), "Unknown client type 'foo'"),
    (("USER", "nouser"), "No such user 'nouser'"),
    (("SKIPME", "maybe"), "syntax error"),
    (("FOO", "bar"), "syntax error"),
    (("a", "b", "c"), "syntax error"),
])
def test_kill_errors(r, args, error):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("CLIENT", "KILL", *args)
    assert str(e.value) == error


# --------------------------------------------------------------------------
# REPLY, NO-EVICT
# --------------------------------------------------------------------------
def test_reply_off_and_on(server):
    rc = raw(server)
    try:
        rc.send(RawClient.encode("CLIENT", "REPLY", "OFF"))
        rc.send(RawClient.encode("SET", "k", "v"))
        rc.send(RawClient.encode("GET", "k"))
        assert rc.call("CLIENT", "REPLY", "ON") == b"+OK\r\n"
        assert rc.call("GET", "k") == b"$1\r\nv\r\n"
    finally:
        rc.close()


def test_reply_skip_skips_exactly_one_reply(server):
    rc = raw(server)
    try:
        rc.send(RawClient.encode("CLIENT", "REPLY", "SKIP") + RawClient.encode("PING", "one")
                + RawClient.encode("PING", "two"))
        assert rc.read_reply() == b"$3\r\ntwo\r\n"
        assert rc.call("PING") == b"+PONG\r\n"
    finally:
        rc.close()


def test_reply_skip_is_ignored_when_off(server):
    rc = raw(server)
    try:
        rc.send(RawClient.encode("CLIENT", "REPLY", "OFF") + RawClient.encode("CLIENT", "REPLY", "SKIP")
                + RawClient.encode("PING", "lost"))
        assert rc.call("CLIENT", "REPLY", "ON") == b"+OK\r\n"
        assert rc.call("PING", "x") == b"$1\r\nx\r\n"
    finally:
        rc.close()


def test_reply_and_no_evict_errors(r):
    for args in (("REPLY", "foo"), ("NO-EVICT", "maybe")):
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command("CLIENT", *args)
        assert str(e.value) == "syntax error"
    assert r.execute_command("CLIENT", "NO-EVICT", "ON") == b"OK"
    assert r.execute_command("CLIENT", "NO-EVICT", "OFF") == b"OK"


# --------------------------------------------------------------------------
# PAUSE / UNPAUSE
# --------------------------------------------------------------------------
def _timed(rc: RawClient, *args) -> tuple[bytes, float]:
    t = time.monotonic()
    reply = rc.call(*args)
    return reply, time.monotonic() - t


def test_pause_write_blocks_writes_not_reads(server):
    a, b = raw(server), raw(server)
    try:
        assert a.call("CLIENT", "PAUSE", "300", "WRITE") == b"+OK\r\n"
        reply, dt = _timed(b, "GET", "k")
        assert reply == b"$-1\r\n" and dt < 0.2
        reply, dt = _timed(b, "PING")
        assert reply == b"+PONG\r\n" and dt < 0.2
        reply, dt = _timed(b, "SET", "k", "v")
        assert reply == b"+OK\r\n" and 0.15 < dt < 2
        assert b.call("GET", "k") == b"$1\r\nv\r\n"
    finally:
        a.call("CLIENT", "UNPAUSE")
        a.close()
        b.close()


def test_pause_write_blocks_may_replicate_commands(server, r):
    require(server, "pfcount")
    a, b = raw(server), raw(server)
    try:
        a.call("CLIENT", "PAUSE", "250", "WRITE")
        reply, dt = _timed(b, "PFCOUNT", "hll")
        assert reply == b":0\r\n" and dt > 0.15
    finally:
        a.call("CLIENT", "UNPAUSE")
        a.close()
        b.close()


def test_pause_all_blocks_everything_including_the_caller(server):
    a, b = raw(server), raw(server)
    try:
        assert a.call("CLIENT", "PAUSE", "250") == b"+OK\r\n"      # ALL is the default
        reply, dt = _timed(b, "PING")
        assert reply == b"+PONG\r\n" and dt > 0.15
        a.call("CLIENT", "PAUSE", "250", "ALL")
        reply, dt = _timed(a, "PING")
        assert reply == b"+PONG\r\n" and dt > 0.15
    finally:
        a.close()
        b.close()


def test_unpause_releases_parked_clients_in_order(server):
    a, b, c = raw(server), raw(server), raw(server)
    try:
        a.call("CLIENT", "PAUSE", "100000", "WRITE")
        b.send(RawClient.encode("APPEND", "order", "b1") + RawClient.encode("APPEND", "order", "b2"))
        time.sleep(0.05)
        c.send(RawClient.encode("APPEND", "order", "c1"))
        time.sleep(0.05)
        assert a.call("GET", "order") == b"$-1\r\n"
        assert a.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
        assert b.read_reply() == b":2\r\n"
        assert b.read_reply() == b":4\r\n"
        assert c.read_reply() == b":6\r\n"
        assert a.call("GET", "order") == b"$6\r\nb1b2c1\r\n"
    finally:
        a.call("CLIENT", "UNPAUSE")
        a.close()
        b.close()
        c.close()


def test_arity_errors_are_not_paused(server):
    a, b = raw(server), raw(server)
    try:
        a.call("CLIENT", "PAUSE", "100000", "WRITE")
        reply, dt = _timed(b, "SET", "k")
        assert reply == b"-ERR wrong number of arguments for 'set' command\r\n" and dt < 0.2
    finally:
        a.call("CLIENT", "UNPAUSE")
        a.close()
        b.close()


def test_second_pause_keeps_later_deadline_and_stricter_mode(server):
    a, b = raw(server), raw(server)
    try:
        a.call("CLIENT", "PAUSE", "300", "WRITE")
        a.call("CLIENT", "PAUSE", "10", "ALL")          # ALL wins, 300 ms wins
        reply, dt = _timed(b, "GET", "x")
        assert reply == b"$-1\r\n" and dt > 0.2
    finally:
        a.close()
        b.close()


def test_zero_and_wrapping_timeouts_do_not_pause(server):
    a, b = raw(server), raw(server)
    try:
        for t in ("0", "9223372036854775807"):
            assert a.call("CLIENT", "PAUSE", t) == b"+OK\r\n"
            reply, dt = _timed(b, "SET", "k", "v")
            assert reply == b"+OK\r\n" and dt < 0.2
    finally:
        a.call("CLIENT", "UNPAUSE")
        a.close()
        b.close()


@pytest.mark.parametrize("args,error", [
    (("PAUSE", "-1"), "timeout is negative"),
    (("PAUSE", "abc"), "timeout is not an integer or out of range"),
    (("PAUSE", "1.5"), "timeout is not an integer or out of range"),
    (("PAUSE", "10", "foo"), "CLIENT PAUSE mode must be WRITE or ALL"),
    (("PAUSE", "abc", "foo"), "CLIENT PAUSE mode must be WRITE or ALL"),
    (("PAUSE", "1", "2", "3"),
     "unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP."),
])
def test_pause_errors(r, args, error):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("CLIENT", *args)
    assert str(e.value) == error


def test_clients_keep_queueing_input_while_paused(server):
    """A paused client's pipeline is served in order once the pause ends."""
    a, b = raw(server), raw(server)
    try:
        a.call("CLIENT", "PAUSE", "200", "WRITE")
        b.send(b"".join(RawClient.encode("INCR", "n") for _ in range(50)))
        replies = [b.read_reply() for _ in range(50)]
        assert replies == [b":%d\r\n" % i for i in range(1, 51)]
    finally:
        a.close()
        b.close()


# --------------------------------------------------------------------------
# Arity, HELP, unknown subcommands: raw bytes against redis-server
# --------------------------------------------------------------------------
DIFF_CASES = [
    ("CLIENT",), ("CLIENT", "FOO"), ("CLIENT", "SETINFO", "a", "b"), ("CLIENT", "NO-TOUCH", "on"),
    ("CLIENT", "ID", "x"), ("CLIENT", "INFO", "x"), ("CLIENT", "GETNAME", "x"),
    ("CLIENT", "UNPAUSE", "x"), ("CLIENT", "HELP", "x"), ("CLIENT", "KILL"), ("CLIENT", "PAUSE"),
    ("CLIENT", "REPLY"), ("CLIENT", "SETNAME"), ("CLIENT", "NO-EVICT"), ("CLIENT", "HELP"),
    ("CLIENT", "help"), ("CLIENT", "SETNAME", "a b"), ("CLIENT", "LIST", "TYPE", "Foo"),
    ("CLIENT", "KILL", "ID", "99999"), ("CLIENT", "KILL", "ADDR", "1.2.3.4:5"),
    ("CLIENT", "KILL", "9.9.9.9:1"), ("CLIENT", "LIST", "ID", "99999"),
    ("CLIENT", "KILL", "USER", "x", "SKIPME"), ("CLIENT", "PAUSE", "5", "write"),
    ("CLIENT", "UNPAUSE"), ("CLIENT", "PAUSE", "1", "x", "y"), ("CLIENT", "LIST", "ID", "1", "x"),
]


@pytest.mark.differential
@pytest.mark.parametrize("resp", [2, 3])
def test_client_replies_match_oracle(server, oracle, resp):
    a, b = raw(server, resp), raw(oracle, resp)
    try:
        for case in DIFF_CASES:
            assert a.call(*case) == b.call(*case), case
    finally:
        a.close()
        b.close()
