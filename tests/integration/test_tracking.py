"""Client-side caching: CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO.

Every mode and every error, through raw RESP (the invalidation pushes and
pub/sub messages are checked as bytes) and through redis-py, including
redis-py's own RESP3 client-side cache (``cache_config``).  Expected bytes
and error strings were taken from redis-server 7.0.15; these tests pass
against it too (``--redis-url``), except where a test says otherwise.

``Conn.run`` sends one command and returns every byte the connection
received up to a marker command (``CLIENT GETNAME``, which answers the
connection's own name and, being a CLIENT subcommand, leaves a pending
CLIENT CACHING in force), so pushes that follow a reply are included and
nothing is left for the next call; ``Conn.drain`` returns what arrived
because of another connection's command.
"""
from __future__ import annotations

import itertools
import os
import sys
import time

import pytest
import redis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rawclient import RawClient  # noqa: E402

_names = itertools.count()


def inv(*keys: bytes | str) -> bytes:
    """A RESP3 invalidation push of these keys (one message)."""
    ks = [k.encode() if isinstance(k, str) else k for k in keys]
    body = b"*%d\r\n" % len(ks) + b"".join(b"$%d\r\n%b\r\n" % (len(k), k) for k in ks)
    return b">2\r\n$10\r\ninvalidate\r\n" + body


def msg(payload: bytes) -> bytes:
    """A RESP2 pub/sub invalidation message carrying payload."""
    return b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n" + payload


INV_NULL = b">2\r\n$10\r\ninvalidate\r\n_\r\n"


class Conn(RawClient):
    def __init__(self, server, resp: int = 3) -> None:
        super().__init__(server.host, server.port)
        if resp == 3:
            self.call("HELLO", "3")
        self.name = b"t%d" % next(_names)
        self.call("CLIENT", "SETNAME", self.name)
        self.id = int(self.call("CLIENT", "ID")[1:-2])
        self.subscribed = False

    def _marker(self) -> bytes:
        n = self.name
        if self.subscribed:
            self.send(self.encode("PING", n))
            return b"*2\r\n$4\r\npong\r\n$%d\r\n%b\r\n" % (len(n), n)
        self.send(self.encode("CLIENT", "GETNAME"))
        return b"$%d\r\n%b\r\n" % (len(n), n)

    def drain(self) -> bytes:
        expect = self._marker()
        out = []
        while True:
            reply = self.read_reply()
            if reply == expect:
                return b"".join(out)
            out.append(reply)

    def run(self, *args) -> bytes:
        self.send(self.encode(*args))
        return self.drain()

    def one(self, *args) -> bytes:
        """One reply and no marker (inside MULTI a marker would be queued)."""
        return self.call(*args)


@pytest.fixture
def conns(server):
    opened: list[Conn] = []

    def open_conn(resp: int = 3) -> Conn:
        c = Conn(server, resp)
        opened.append(c)
        return c

    w = open_conn(2)
    w.run("FLUSHALL")
    yield open_conn
    for c in opened:
        c.close()


def info_tracking(r) -> dict[str, int]:
    info = r.info("all")
    return {k: info[k] for k in ("tracking_clients", "tracking_total_keys",
                                 "tracking_total_items", "tracking_total_prefixes")}


def client_fields(r, cid: int) -> dict[str, str]:
    line = r.execute_command("CLIENT", "LIST", "ID", cid)
    if isinstance(line, bytes):
        line = line.decode()
    return dict(kv.split("=", 1) for kv in line.strip().split(" "))


# --------------------------------------------------------------------------
# Errors (each checked against redis-server 7.0.15)
# --------------------------------------------------------------------------
@pytest.mark.parametrize("args,error", [
    (["on", "PREFIX", "a"], "PREFIX option requires BCAST mode to be enabled"),
    (["on", "OPTIN", "OPTOUT"], "You can't specify both OPTIN mode and OPTOUT mode"),
    (["on", "BCAST", "OPTIN"], "OPTIN and OPTOUT are not compatible with BCAST"),
    (["on", "BCAST", "OPTOUT"], "OPTIN and OPTOUT are not compatible with BCAST"),
    (["on", "REDIRECT", "999999999"], "The client ID you want redirect to does not exist"),
    (["on", "REDIRECT", "0"], "The client ID you want redirect to does not exist"),
    (["on", "REDIRECT", "x"], "value is not an integer or out of range"),
    (["off", "REDIRECT", "999999999"], "The client ID you want redirect to does not exist"),
    (["maybe"], "syntax error"),
    (["on", "NOSUCHOPTION"], "syntax error"),
    (["on", "PREFIX"], "syntax error"),
    (["on", "REDIRECT"], "syntax error"),
    (["on", "BCAST", "PREFIX", "a", "PREFIX", "ab"],
     "Prefix 'a' overlaps with another provided prefix 'ab'. "
     "Prefixes for a single client must not overlap."),
    (["on", "BCAST", "PREFIX", "ab", "PREFIX", "a"],
     "Prefix 'ab' overlaps with another provided prefix 'a'. "
     "Prefixes for a single client must not overlap."),
    ([], "wrong number of arguments for 'client|tracking' command"),
])
def test_tracking_errors(r, args, error):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("CLIENT", "TRACKING", *args)
    assert str(e.value) == error
    assert r.execute_command("CLIENT", "GETREDIR") == -1   # nothing was enabled


def test_off_accepts_and_ignores_options(r):
    assert r.execute_command("CLIENT", "TRACKING", "off", "PREFIX", "a", "OPTIN", "OPTOUT")


def test_two_redirects_are_refused(conns):
    a, b, c = conns(), conns(), conns()
    assert a.run("CLIENT", "TRACKING", "on", "REDIRECT", b.id, "REDIRECT", c.id) == \
        b"-ERR A client can only redirect to a single other client\r\n"


def test_mode_switch_errors(r):
    r.execute_command("CLIENT", "TRACKING", "on", "OPTIN")
    with pytest.raises(redis.ResponseError, match="^You can't switch OPTIN/OPTOUT mode before "
                       "disabling tracking for this client, and then re-enabling it with a "
                       "different mode.$"):
        r.execute_command("CLIENT", "TRACKING", "on", "OPTOUT")
    with pytest.raises(redis.ResponseError, match="^You can't switch BCAST mode on/off before "
                       "disabling tracking for this client, and then re-enabling it with a "
                       "different mode.$"):
        r.execute_command("CLIENT", "TRACKING", "on", "BCAST")
    r.execute_command("CLIENT", "TRACKING", "off")
    r.execute_command("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:")
    with pytest.raises(redis.ResponseError, match="switch BCAST mode"):
        r.execute_command("CLIENT", "TRACKING", "on")
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "us")
    assert str(e.value) == ("Prefix 'us' overlaps with an existing prefix 'user:'. "
                            "Prefixes for a single client must not overlap.")
    r.execute_command("CLIENT", "TRACKING", "off")


def test_overlap_past_the_first_prefix_errors_and_still_enables(conns):
    """Redis's checkPrefixCollisionsOrReply returns the index of the
    offending prefix: past the first one, the error is followed by +OK and
    tracking is enabled with every prefix."""
    a = conns(2)
    out = a.run("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x", "PREFIX", "y",
                "PREFIX", "yz")
    assert out == (b"-ERR Prefix 'y' overlaps with another provided prefix 'yz'. Prefixes "
                   b"for a single client must not overlap.\r\n+OK\r\n")
    assert a.run("CLIENT", "TRACKINGINFO") == (
        b"*6\r\n$5\r\nflags\r\n*2\r\n$2\r\non\r\n$5\r\nbcast\r\n$8\r\nredirect\r\n:0\r\n"
        b"$8\r\nprefixes\r\n*3\r\n$1\r\nx\r\n$1\r\ny\r\n$2\r\nyz\r\n")


@pytest.mark.parametrize("setup,arg,error", [
    ([], "yes", "CLIENT CACHING can be called only when the client is in tracking mode "
                "with OPTIN or OPTOUT mode enabled"),
    ([], "maybe", "CLIENT CACHING can be called only when the client is in tracking mode "
                  "with OPTIN or OPTOUT mode enabled"),
    (["on"], "yes", "CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."),
    (["on"], "no", "CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."),
    (["on", "OPTIN"], "no",
     "CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."),
    (["on", "OPTOUT"], "yes",
     "CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."),
    (["on", "OPTIN"], "maybe", "syntax error"),
])
def test_caching_errors(r, setup, arg, error):
    if setup:
        r.execute_command("CLIENT", "TRACKING", *setup)
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("CLIENT", "CACHING", arg)
    assert str(e.value) == error
    r.execute_command("CLIENT", "TRACKING", "off")


@pytest.mark.parametrize("args", [["CACHING"], ["CACHING", "yes", "no"], ["GETREDIR", "x"],
                                  ["TRACKINGINFO", "x"]])
def test_subcommand_arity(r, args):
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'client|"):
        r.execute_command("CLIENT", *args)


# --------------------------------------------------------------------------
# GETREDIR, TRACKINGINFO, CLIENT LIST/INFO, INFO
# --------------------------------------------------------------------------
def test_getredir(conns):
    a, b = conns(2), conns(2)
    assert a.run("CLIENT", "GETREDIR") == b":-1\r\n"
    a.run("CLIENT", "TRACKING", "on")
    assert a.run("CLIENT", "GETREDIR") == b":0\r\n"
    a.run("CLIENT", "TRACKING", "on", "REDIRECT", b.id)
    assert a.run("CLIENT", "GETREDIR") == b":%d\r\n" % b.id
    a.run("CLIENT", "TRACKING", "on")       # re-enabling resets the redirect
    assert a.run("CLIENT", "GETREDIR") == b":0\r\n"
    a.run("CLIENT", "TRACKING", "off")
    assert a.run("CLIENT", "GETREDIR") == b":-1\r\n"


def test_trackinginfo_flags(conns):
    a = conns(3)
    head = b"%3\r\n$5\r\nflags\r\n"
    assert a.run("CLIENT", "TRACKINGINFO") == (
        head + b"~1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n")
    a.run("CLIENT", "TRACKING", "on", "OPTIN", "NOLOOP")
    a.run("CLIENT", "CACHING", "yes")
    assert a.run("CLIENT", "TRACKINGINFO") == (
        head + b"~4\r\n$2\r\non\r\n$5\r\noptin\r\n$11\r\ncaching-yes\r\n$6\r\nnoloop\r\n"
        b"$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n")
    a.run("CLIENT", "TRACKING", "off")
    a.run("CLIENT", "TRACKING", "on", "OPTOUT")
    a.run("CLIENT", "CACHING", "no")
    assert a.run("CLIENT", "TRACKINGINFO") == (
        head + b"~3\r\n$2\r\non\r\n$6\r\noptout\r\n$10\r\ncaching-no\r\n"
        b"$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n")
    a.run("CLIENT", "TRACKING", "off")
    a.run("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "b", "PREFIX", "a")
    a.run("CLIENT", "TRACKING", "on", "BCAST")      # adds the empty prefix
    assert a.run("CLIENT", "TRACKINGINFO") == (
        head + b"~2\r\n$2\r\non\r\n$5\r\nbcast\r\n$8\r\nredirect\r\n:0\r\n"
        b"$8\r\nprefixes\r\n*3\r\n$0\r\n\r\n$1\r\na\r\n$1\r\nb\r\n")
    a.run("CLIENT", "TRACKING", "off")
    assert a.run("CLIENT", "TRACKINGINFO").endswith(b"$8\r\nprefixes\r\n*0\r\n")


def test_trackinginfo_resp2_shape(r):
    r.execute_command("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "p")
    assert r.execute_command("CLIENT", "TRACKINGINFO") == [
        b"flags", [b"on", b"bcast"], b"redirect", 0, b"prefixes", [b"p"]]
    r.execute_command("CLIENT", "TRACKING", "off")


def test_client_list_flags_and_redir(conns, r):
    a, b = conns(3), conns(2)
    assert client_fields(r, a.id)["flags"] == "N"
    a.run("CLIENT", "TRACKING", "on", "REDIRECT", b.id)
    f = client_fields(r, a.id)
    assert (f["flags"], f["redir"]) == ("t", str(b.id))
    a.run("CLIENT", "TRACKING", "off")
    a.run("CLIENT", "TRACKING", "on", "BCAST")
    f = client_fields(r, a.id)
    assert (f["flags"], f["redir"]) == ("tB", "0")
    a.run("CLIENT", "TRACKING", "off")
    assert client_fields(r, a.id)["redir"] == "-1"


def test_info_counters(conns, r):
    base = info_tracking(r)["tracking_clients"]
    a, b = conns(3), conns(3)
    a.run("CLIENT", "TRACKING", "on")
    b.run("CLIENT", "TRACKING", "on")
    a.run("MGET", "i1", "i2", "i3")
    b.run("GET", "i1")
    assert info_tracking(r) == {"tracking_clients": base + 2, "tracking_total_keys": 3,
                                "tracking_total_items": 4, "tracking_total_prefixes": 0}
    r.set("i1", "x")
    assert a.drain() == inv("i1") and b.drain() == inv("i1")
    assert info_tracking(r)["tracking_total_keys"] == 2
    assert info_tracking(r)["tracking_total_items"] == 2
    c = conns(3)
    c.run("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "p1", "PREFIX", "p2")
    assert info_tracking(r)["tracking_total_prefixes"] == 2
    c.close()                               # a closed client leaves the tables
    assert b.call("RESET") == b"+RESET\r\n"   # so does RESET
    time.sleep(0.1)
    got = info_tracking(r)
    assert got["tracking_clients"] == base + 1 and got["tracking_total_prefixes"] == 0
    # Keys stay until modified, like Redis's table (ids are dropped lazily).
    assert got["tracking_total_keys"] == 2
    r.flushall()
    assert info_tracking(r)["tracking_total_keys"] == 0


# --------------------------------------------------------------------------
# Default mode (RESP3 pushes)
# --------------------------------------------------------------------------
def test_default_mode_invalidates_each_read_key_once(conns):
    a, w = conns(3), conns(2)
    assert a.run("CLIENT", "TRACKING", "on") == b"+OK\r\n"
    a.run("GET", "k1")
    a.run("MGET", "k2", "k3")
    a.run("HGET", "h", "f")
    a.run("SMEMBERS", "s")
    w.run("SET", "k1", "v")
    assert a.drain() == inv("k1")
    w.run("MSET", "k2", "x", "k3", "y")
    assert a.drain() == inv("k2") + inv("k3")
    w.run("SET", "k1", "again")               # forgotten after one invalidation
    assert a.drain() == b""
    w.run("HSET", "h", "f", "1")
    w.run("SADD", "s", "m")
    assert a.drain() == inv("h") + inv("s")
    w.run("SET", "unread", "1")
    assert a.drain() == b""


@pytest.mark.parametrize("write", [
    ["DEL", "k"], ["UNLINK", "k"], ["EXPIRE", "k", "100"], ["INCR", "n"],
    ["APPEND", "k", "x"], ["RENAME", "k", "k2"], ["LPUSH", "l", "x"], ["ZADD", "z", "1", "m"],
    ["SETRANGE", "k", "0", "x"], ["GETDEL", "k"], ["COPY", "src", "k"],
])
def test_writes_invalidate(conns, write):
    a, w = conns(3), conns(2)
    w.run("MSET", "k", "v", "n", "1", "src", "s")
    a.run("CLIENT", "TRACKING", "on")
    key = write[1] if write[0] != "COPY" else "k"
    a.run("TYPE", key)
    if write[0] == "COPY":
        w.run("DEL", "k")
        assert a.drain() == inv("k")
        a.run("TYPE", "k")
    w.run(*write)
    assert a.drain() == inv(key)


def test_own_write_invalidation_follows_the_reply(conns):
    a = conns(3)
    a.run("CLIENT", "TRACKING", "on")
    a.run("GET", "k")
    assert a.run("SET", "k", "1") == b"+OK\r\n" + inv("k")
    a.run("GET", "k")
    a.one("MULTI")
    a.one("SET", "k", "2")
    a.one("GET", "k")
    # Held back until after EXEC's reply; GET inside remembered the key again.
    assert a.run("EXEC") == b"*2\r\n+OK\r\n$1\r\n2\r\n" + inv("k")
    assert a.run("DEL", "k") == b":1\r\n" + inv("k")


def test_readonly_commands_with_several_key_specs(conns):
    a, w = conns(3), conns(2)
    a.run("CLIENT", "TRACKING", "on")
    a.run("SINTER", "s1", "s2")
    a.run("ZUNION", "2", "z1", "z2")
    a.run("LCS", "x1", "x2")
    w.run("SADD", "s2", "a")
    w.run("ZADD", "z1", "1", "a")
    w.run("SET", "x2", "a")
    assert a.drain() == inv("s2") + inv("z1") + inv("x2")


def test_write_commands_do_not_remember(conns):
    a, w = conns(3), conns(2)
    a.run("CLIENT", "TRACKING", "on")
    a.run("SET", "k", "1")
    a.run("INCR", "n")
    w.run("MSET", "k", "2", "n", "5")
    assert a.drain() == b""


def test_invalidations_ignore_reply_off(conns):
    a, w = conns(3), conns(2)
    a.run("CLIENT", "TRACKING", "on")
    a.run("GET", "k")
    a.send(a.encode("CLIENT", "REPLY", "OFF"))
    w.run("SET", "k", "1")
    a.send(a.encode("CLIENT", "REPLY", "ON"))
    assert a.read_reply() == inv("k")
    assert a.read_reply() == b"+OK\r\n"


def test_keys_are_not_qualified_by_db(conns):
    a, w = conns(3), conns(2)
    a.run("CLIENT", "TRACKING", "on")
    a.run("GET", "k")
    w.run("SELECT", "3")
    w.run("SET", "k", "other db")
    assert a.drain() == inv("k")
    w.run("FLUSHDB")
    assert a.drain() == INV_NULL


def test_active_expiry_invalidates(conns):
    a, w = conns(3), conns(2)
    a.run("CLIENT", "TRACKING", "on")
    w.run("SET", "e", "1", "PX", "100")
    a.run("GET", "e")
    deadline = time.time() + 5
    got = b""
    while time.time() < deadline and not got:
        time.sleep(0.1)
        got = a.drain()
    assert got == inv("e")


def test_lazy_expiry_by_the_reader(conns):
    a, w = conns(3), conns(2)
    w.run("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        a.run("CLIENT", "TRACKING", "on")
        w.run("SET", "e", "1", "PX", "30")
        a.run("GET", "e")
        time.sleep(0.1)
        # The read deletes the key (an invalidation held back for the
        # reader) and remembers it again.
        assert a.run("GET", "e") == b"_\r\n" + inv("e")
        w.run("SET", "e", "2")
        assert a.drain() == inv("e")
    finally:
        w.run("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_tracking_off_stops_messages_and_on_again_keeps_old_keys(conns):
    a, w = conns(3), conns(2)
    a.run("CLIENT", "TRACKING", "on")
    a.run("GET", "k")
    a.run("GET", "k2")
    a.run("CLIENT", "TRACKING", "off")
    w.run("SET", "k", "1")
    assert a.drain() == b""
    a.run("GET", "k3")                      # not remembered: tracking is off
    a.run("CLIENT", "TRACKING", "on")
    w.run("SET", "k3", "1")
    assert a.drain() == b""
    # As in Redis, the table still holds the id from the earlier session.
    w.run("SET", "k2", "1")
    assert a.drain() == inv("k2")


# --------------------------------------------------------------------------
# NOLOOP
# --------------------------------------------------------------------------
def test_noloop_default_mode(conns):
    a, w = conns(3), conns(2)
    a.run("CLIENT", "TRACKING", "on", "NOLOOP")
    a.run("GET", "n")
    assert a.run("SET", "n", "mine") == b"+OK\r\n"
    w.run("SET", "n", "theirs")
    assert a.drain() == b""          # forgotten by a's own write
    a.run("GET", "n")
    w.run("SET", "n", "theirs again")
    assert a.drain() == inv("n")
    # A flush is announced even to a NOLOOP client that ran it.
    assert a.run("FLUSHALL") == b"+OK\r\n" + INV_NULL


# --------------------------------------------------------------------------
# BCAST
# --------------------------------------------------------------------------
def test_bcast_prefixes(conns):
    a, all_keys, w = conns(3), conns(3), conns(2)
    a.run("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "PREFIX", "obj:")
    all_keys.run("CLIENT", "TRACKING", "on", "BCAST")
    w.run("MSET", "user:2", "a", "user:1", "b", "obj:1", "c", "other", "d")
    # One message per prefix, prefixes and keys in byte order.
    assert a.drain() == inv("obj:1") + inv("user:1", "user:2")
    assert all_keys.drain() == inv("obj:1", "other", "user:1", "user:2")
    # Reads are not remembered in BCAST mode; every change is sent.
    a.run("GET", "user:1")
    w.run("SET", "user:1", "x")
    w.run("SET", "user:1", "y")
    assert a.drain() == inv("user:1") + inv("user:1")


def test_bcast_overlapping_prefixes_of_different_clients(conns):
    a, b, w = conns(3), conns(3), conns(2)
    a.run("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a")
    b.run("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "ab")
    w.run("MSET", "ab1", "1", "ac1", "1")
    assert a.drain() == inv("ab1", "ac1")
    assert b.drain() == inv("ab1")


def test_bcast_noloop_leaves_out_own_keys(conns):
    a, w = conns(3), conns(2)
    a.run("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "k", "NOLOOP")
    assert a.run("MSET", "k1", "1", "k2", "2") == b"+OK\r\n"
    w.run("SET", "k2", "3")
    assert a.drain() == inv("k2")
    # Within one event-loop pass, the last writer of a key decides.
    a.send(a.encode("SET", "k3", "1") + a.encode("SET", "k4", "1"))
    w.run("SET", "k4", "x")
    assert a.drain() == b"+OK\r\n+OK\r\n" + inv("k4")


def test_bcast_transaction_is_one_message(conns):
    a, w = conns(3), conns(2)
    a.run("CLIENT", "TRACKING", "on", "BCAST")
    w.one("MULTI")
    w.one("SET", "b", "1")
    w.one("SET", "a", "1")
    w.run("EXEC")
    assert a.drain() == inv("a", "b")


# --------------------------------------------------------------------------
# OPTIN / OPTOUT
# --------------------------------------------------------------------------
def test_optin(conns):
    a, w = conns(3), conns(2)
    a.run("CLIENT", "TRACKING", "on", "OPTIN")
    a.run("GET", "o1")                                   # not cached
    a.run("CLIENT", "CACHING", "yes")
    a.run("CLIENT", "ID")                                # CLIENT does not use it up
    a.run("GET", "o2")                                   # cached
    a.run("GET", "o3")                                   # not: one command only
    w.run("MSET", "o1", "1", "o2", "2", "o3", "3")
    assert a.drain() == inv("o2")
    a.run("CLIENT", "CACHING", "yes")
    a.run("PING")                                        # any other command does
    a.run("GET", "o4")
    a.run("CLIENT", "CACHING", "yes")
    a.run("NOSUCHCOMMAND")                               # even a rejected one
    a.run("GET", "o5")
    w.run("MSET", "o4", "1", "o5", "1")
    assert a.drain() == b""
    a.run("CLIENT", "CACHING", "yes")                    # covers a whole transaction
    a.one("MULTI")
    a.one("GET", "o6")
    a.one("GET", "o7")
    a.run("EXEC")
    a.run("GET", "o8")
    w.run("MSET", "o6", "1", "o7", "1", "o8", "1")
    assert a.drain() == inv("o6") + inv("o7")


def test_optout(conns):
    a, w = conns(3), conns(2)
    a.run("CLIENT", "TRACKING", "on", "OPTOUT")
    a.run("GET", "p1")
    a.run("CLIENT", "CACHING", "no")
    a.run("GET", "p2")                                   # excluded
    a.run("GET", "p3")
    w.run("MSET", "p1", "1", "p2", "2", "p3", "3")
    assert a.drain() == inv("p1") + inv("p3")


# --------------------------------------------------------------------------
# REDIRECT (RESP2 pub/sub, RESP3 push), broken redirect
# --------------------------------------------------------------------------
def test_resp2_redirect_to_subscribed_client(conns):
    sub, a, w = conns(2), conns(2), conns(2)
    sub.subscribed = True           # the marker is PING from now on
    assert sub.run("SUBSCRIBE", "__redis__:invalidate") == \
        b"*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n"
    a.run("CLIENT", "TRACKING", "on", "REDIRECT", sub.id)
    a.run("GET", "q")
    w.run("SET", "q", "1")
    assert a.drain() == b""
    assert sub.drain() == msg(b"*1\r\n$1\r\nq\r\n")
    a.run("GET", "q")
    assert a.run("SET", "q", "2") == b"+OK\r\n"
    assert sub.drain() == msg(b"*1\r\n$1\r\nq\r\n")
    w.run("FLUSHALL")
    assert sub.drain() == msg(b"$-1\r\n")


def test_resp2_without_redirect_gets_nothing(conns):
    a, w = conns(2), conns(2)
    a.run("CLIENT", "TRACKING", "on")
    a.run("GET", "q")
    w.run("SET", "q", "1")
    w.run("FLUSHALL")
    assert a.drain() == b""


def test_redirect_to_unsubscribed_resp2_client_sends_nothing(conns):
    plain, a, w = conns(2), conns(3), conns(2)
    a.run("CLIENT", "TRACKING", "on", "REDIRECT", plain.id)
    a.run("GET", "q")
    w.run("SET", "q", "1")
    assert plain.drain() == b"" and a.drain() == b""


def test_redirect_to_resp3_client_is_a_push(conns):
    target, a, w = conns(3), conns(2), conns(2)
    a.run("CLIENT", "TRACKING", "on", "REDIRECT", target.id)
    a.run("GET", "q")
    w.run("SET", "q", "1")
    assert target.drain() == inv("q")
    w.run("FLUSHALL")
    # The null is in the tracking client's protocol (RESP2), as Redis sends it.
    assert target.drain() == b">2\r\n$10\r\ninvalidate\r\n$-1\r\n"


def test_broken_redirect(conns, r):
    target, a, a2, w = conns(2), conns(3), conns(2), conns(2)
    a.run("CLIENT", "TRACKING", "on", "REDIRECT", target.id)
    a2.run("CLIENT", "TRACKING", "on", "REDIRECT", target.id)
    a.run("GET", "z")
    a2.run("GET", "z")
    w.run("CLIENT", "KILL", "ID", target.id)
    w.run("SET", "z", "1")
    assert a.drain() == b">2\r\n$21\r\ntracking-redir-broken\r\n:%d\r\n" % target.id
    assert a2.drain() == b""                 # RESP2: only the flag tells
    for c in (a, a2):
        assert client_fields(r, c.id)["flags"] == "tR"
        assert b"$15\r\nbroken_redirect\r\n" in c.run("CLIENT", "TRACKINGINFO")
        assert c.run("CLIENT", "GETREDIR") == b":%d\r\n" % target.id
    a.run("CLIENT", "TRACKING", "on")        # re-enabling clears the broken flag
    assert client_fields(r, a.id)["flags"] == "t"


# --------------------------------------------------------------------------
# FLUSHALL / FLUSHDB
# --------------------------------------------------------------------------
def test_flush_sends_null_to_every_tracking_client(conns):
    a, bc, w = conns(3), conns(3), conns(2)
    a.run("CLIENT", "TRACKING", "on")
    bc.run("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x")
    a.run("GET", "k")
    w.run("FLUSHALL")
    assert a.drain() == INV_NULL and bc.drain() == INV_NULL
    w.run("SET", "k", "1")                   # the table was emptied
    assert a.drain() == b""
    assert a.run("FLUSHDB", "ASYNC") == b"+OK\r\n" + INV_NULL
    assert bc.drain() == INV_NULL


# --------------------------------------------------------------------------
# tracking-table-max-keys
# --------------------------------------------------------------------------
def test_table_max_keys_evicts_with_invalidations(conns, r):
    a = conns(3)
    r.config_set("tracking-table-max-keys", 3)
    try:
        a.run("CLIENT", "TRACKING", "on")
        keys = [f"m{i}" for i in range(8)]
        # The next command evicts down to the limit (random keys in Redis)
        # before it runs: the messages precede its reply.
        out = a.run("MGET", *keys)
        reply = b"*8\r\n" + b"_\r\n" * 8
        assert out.startswith(reply)
        pushes = out[len(reply):]
        evicted = []
        while pushes:
            for k in keys:
                if pushes.startswith(inv(k)):
                    evicted.append(k)
                    pushes = pushes[len(inv(k)):]
                    break
            else:
                pytest.fail(f"unexpected bytes {pushes!r}")
        assert len(evicted) == 5 and len(set(evicted)) == 5
        assert info_tracking(r)["tracking_total_keys"] == 3
    finally:
        r.config_set("tracking-table-max-keys", 1000000)


# --------------------------------------------------------------------------
# redis-py's RESP3 client-side cache
# --------------------------------------------------------------------------
def test_redis_py_client_side_cache(server, monkeypatch):
    from redis.cache import CacheConfig
    from redis.connection import CacheProxyConnection
    # redis-py enables its cache only for servers that say 7.4 or later; the
    # protocol it uses (CLIENT TRACKING on, RESP3 invalidate pushes) is 7.0's.
    monkeypatch.setattr(CacheProxyConnection, "MIN_ALLOWED_VERSION", "7.0.0")
    cached = redis.Redis(host=server.host, port=server.port, protocol=3,
                         cache_config=CacheConfig())
    other = server.client()
    try:
        other.flushall()
        other.set("csc", "v1")
        cache = cached.get_cache()
        assert cached.get("csc") == b"v1"
        assert cache.size == 1
        assert cached.get("csc") == b"v1"          # served from the cache
        other.set("csc", "v2")                     # the server invalidates it
        deadline = time.time() + 5
        while time.time() < deadline and cached.get("csc") != b"v2":
            time.sleep(0.05)
        assert cached.get("csc") == b"v2"
        other.flushall()
        deadline = time.time() + 5
        while time.time() < deadline and cached.get("csc") is not None:
            time.sleep(0.05)
        assert cached.get("csc") is None
    finally:
        cached.close()
        other.close()


# --------------------------------------------------------------------------
# In-process: nothing is installed until a client tracks
# --------------------------------------------------------------------------
def test_hooks_are_installed_by_the_first_tracking_client_only():
    from omakase.config import Config
    from omakase.networking import Client
    from omakase.server import Server

    srv = Server(Config())
    hooks = (len(srv.before_sleep_hooks), len(srv.cron_hooks), len(srv.client_free_hooks))
    c = Client(srv, None)
    srv.clients[c.id] = c
    srv.process_command(c, [b"GET", b"k"])
    srv.process_command(c, [b"SET", b"k", b"v"])
    assert "call" not in vars(srv)                        # Server.call itself
    assert all(db.tracking_hook is None for db in srv.dbs)
    assert (len(srv.before_sleep_hooks), len(srv.cron_hooks),
            len(srv.client_free_hooks)) == hooks
    srv.process_command(c, [b"HELLO", b"3"])
    srv.process_command(c, [b"CLIENT", b"TRACKING", b"on"])
    assert vars(srv)["call"] == srv.tracking.call
    assert all(db.tracking_hook is not None for db in srv.dbs)
    c.reply = []
    srv.process_command(c, [b"GET", b"k"])
    srv.process_command(c, [b"DEL", b"k"])
    assert b"".join(c.reply) == b"$1\r\nv\r\n:1\r\n" + inv("k")
    srv.process_command(c, [b"CLIENT", b"TRACKING", b"off"])
    assert "call" not in vars(srv)                        # the wrapper is gone again
    srv.free_client(c)
    assert srv.tracking_clients == 0
