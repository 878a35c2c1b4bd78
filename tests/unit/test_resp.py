"""The request parser: both engines, their hand-over, and Redis's errors."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from omakase.resp import ProtocolError, RequestParser, split_args


def mbulk(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


def drain(p: RequestParser) -> list:
    out = []
    while True:
        argv = p.next()
        if argv is None:
            return out
        out.append(argv)


def test_fast_path_whole_requests():
    p = RequestParser()
    p.feed(mbulk(b"SET", b"k", b"v") + mbulk(b"GET", b"k"))
    assert drain(p) == [[b"SET", b"k", b"v"], [b"GET", b"k"]]
    assert p.fast


def test_inline_and_quotes():
    p = RequestParser()
    p.feed(b'SET k "a b\\x41\\n"\r\nGET \'it\\\'s\'\r\n\r\nPING\n')
    assert drain(p) == [[b"SET", b"k", b"a bA\n"], [b"GET", b"it's"], [], [b"PING"]]


def test_split_args_unbalanced():
    assert split_args(b'"abc') is None
    assert split_args(b"'abc") is None
    assert split_args(b'"a"b') is None
    assert split_args(b"a  b\tc") == [b"a", b"b", b"c"]


def test_partial_request_switches_to_exact_and_back():
    p = RequestParser()
    data = mbulk(b"PING") + mbulk(b"ECHO", b"hello")
    p.feed(data[:20])
    assert drain(p) == [[b"PING"]]
    p.feed(data[20:])
    assert drain(p) == [[b"ECHO", b"hello"]]
    p.feed(mbulk(b"PING"))
    assert drain(p) == [[b"PING"]]
    assert p.fast


@pytest.mark.parametrize("data,msg", [
    (b"*abc\r\n", "Protocol error: invalid multibulk length"),
    (b"*3000000000\r\n", "Protocol error: invalid multibulk length"),
    (b"*1\r\n:1\r\n", "Protocol error: expected '$', got ':'"),
    (b"*1\r\n+PING\r\n", "Protocol error: expected '$', got '+'"),
    (b"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"),
    (b"*1\r\n$abc\r\n", "Protocol error: invalid bulk length"),
    (b"*1\r\n$600000000\r\n", "Protocol error: invalid bulk length"),
    (b'GET "a\r\n', "Protocol error: unbalanced quotes in request"),
    (b"*1\r\n" + b"$" + b"1" * 70000, "Protocol error: too big bulk count string"),
    (b"*" + b"1" * 70000, "Protocol error: too big mbulk count string"),
    (b"A" * 70000, "Protocol error: too big inline request"),
])
def test_protocol_errors(data, msg):
    p = RequestParser()
    p.feed(data)
    with pytest.raises(ProtocolError) as err:
        drain(p)
    assert str(err.value) == msg


def test_good_requests_before_an_error_are_returned_first():
    p = RequestParser()
    p.feed(mbulk(b"PING") + b"*1\r\n:1\r\n")
    assert p.next() == [b"PING"]
    with pytest.raises(ProtocolError):
        p.next()


def test_unauthenticated_limits():
    p = RequestParser()
    p.auth_limits = True
    p.feed(b"*100\r\n")
    with pytest.raises(ProtocolError, match="unauthenticated multibulk length"):
        p.next()
    p = RequestParser()
    p.auth_limits = True
    p.feed(b"*1\r\n$100000\r\n")
    with pytest.raises(ProtocolError, match="unauthenticated bulk length"):
        p.next()


def test_empty_and_negative_multibulk_are_skipped():
    p = RequestParser()
    p.feed(b"*0\r\n*-1\r\n" + mbulk(b"PING"))
    assert [a for a in drain(p) if a] == [[b"PING"]]


def test_large_argument_in_many_pieces():
    value = bytes(range(256)) * 4000
    data = mbulk(b"SET", b"k", value)
    p = RequestParser()
    for i in range(0, len(data), 1000):
        p.feed(data[i:i + 1000])
        got = drain(p)
        if got:
            assert got == [[b"SET", b"k", value]]
            assert i + 1000 >= len(data)


args = st.lists(st.binary(max_size=40), min_size=1, max_size=6)


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(args, st.booleans()), min_size=1, max_size=12),
       st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=30))
def test_any_split_gives_the_same_requests(requests, cuts):
    """Mixed inline/multibulk requests, cut into arbitrary reads."""
    stream = b""
    expected = []
    for argv, inline in requests:
        # an inline request cannot start with "*": that is a multibulk header
        if (inline and argv[0][:1] != b"*"
                and all(a and all(ch > 32 and ch not in b"\"'" for ch in a) for a in argv)):
            stream += b" ".join(argv) + b"\r\n"
        else:
            stream += mbulk(*argv)
        expected.append(argv)
    p = RequestParser()
    got = []
    pos = 0
    for cut in cuts:
        if pos >= len(stream):
            break
        p.feed(stream[pos:pos + cut])
        pos += cut
        got += [a for a in drain(p) if a]
    if pos < len(stream):
        p.feed(stream[pos:])
        got += [a for a in drain(p) if a]
    assert got == expected


@pytest.mark.parametrize("chunks", [
    [b"*2000000000\r\n$1\r\na\r\n"],
    [b"*1\r\n$1\r\na\r\n*20", b"00000000\r\n$1\r\na\r\n"],     # split across reads
    [b"*3000000000\r\n"],
])
def test_huge_multibulk_counts_cost_nothing(chunks):
    """hiredis would allocate (and later walk) a list of the announced size:
    such headers go to the exact engine, so parsing and dropping the parser
    take microseconds, not seconds."""
    import time
    t0 = time.perf_counter()
    p = RequestParser()
    for chunk in chunks:
        p.feed(chunk)
        try:
            while p.next():
                pass
        except ProtocolError:
            break
    del p
    assert time.perf_counter() - t0 < 0.5


def test_non_canonical_length_mid_request_is_refused_after_what_came_before():
    """hiredis accepts "$04"; Redis (string2ll) does not.  The canonical
    measure overshoots, the exact engine re-parses from the boundary, and
    the requests before it are still run once, in order."""
    p = RequestParser()
    p.feed(mbulk(b"PING") + b"*2\r\n$04\r\nECHO\r\n")
    assert p.next() == [b"PING"]
    with pytest.raises(ProtocolError, match="invalid bulk length"):
        p.next()


def test_whole_inline_requests_are_split_in_one_pass():
    p = RequestParser()
    p.feed(b"PING\r\nSET  k\tv\r\n\r\nGET k\n")
    assert drain(p) == [[b"PING"], [b"SET", b"k", b"v"], [], [b"GET", b"k"]]
    assert p.fast


def test_requests_arriving_while_some_wait_keep_their_order():
    """A blocked client does not take its requests; later reads queue behind
    them (and go through the exact engine, where the query limit sees them)."""
    p = RequestParser()
    p.feed(mbulk(b"BLPOP", b"k", b"0") + mbulk(b"PING"))
    assert p.next() == [b"BLPOP", b"k", b"0"]
    p.feed(mbulk(b"ECHO", b"a") + b"PING\r\n")
    assert p.pending_bytes() > 0
    assert drain(p) == [[b"PING"], [b"ECHO", b"a"], [b"PING"]]


def _outcome(p: RequestParser, data: bytes) -> list:
    """What a parser yields for data: requests, then the error if any."""
    if data:                    # (a read is never empty: that is EOF)
        p.feed(data)
    out = []
    try:
        while True:
            argv = p.next()
            if argv is None:
                return out
            out.append(argv)
    except ProtocolError as exc:
        return out + [str(exc)]


PING = mbulk(b"PING")


@pytest.mark.parametrize("data", [
    PING + b"$0\r\n\r\n" + PING,                 # a bulk string where a request starts
    PING + b":0\r\n" + PING,                     # 0 == False: must not end hiredis's drain
    PING + b"%1\r\n$1\r\na\r\n$1\r\nb\r\n" + PING,   # a map
    PING + b">1\r\n$4\r\nPING\r\n" + PING,       # a push: hiredis gives a list
    PING + b"~1\r\n$4\r\nPING\r\n" + PING,       # a set: a list too
    # a set / push at the top beside a bulk "~" (the lengths add up)
    mbulk(b"XTRIM", b"s", b"MAXLEN", b"~", b"1") + b"~1\r\n$4\r\nPING\r\n" + PING,
    mbulk(b"ECHO", b"~") + PING + b">1\r\n$4\r\nPING\r\n",
    mbulk(b"ECHO", b"|") + b"|1\r\n$1\r\na\r\n$1\r\nb\r\n" + PING,
    PING + b"|1\r\n$1\r\na\r\n$1\r\nb\r\n" + PING,   # an attribute
    b"*2\r\n$3\r\nGET\r\n(123\r\n" + PING,        # a big number: bytes in hiredis
    b"*2\r\n$3\r\nGET\r\n+foo\r\n" + PING,
    b"*2\r\n$3\r\nGET\r\n=5\r\ntxt:a\r\n" + PING,
    # a lenient element beside bulk strings that start with the same bytes
    mbulk(b"XRANGE", b"s", b"-", b"+") + b"*2\r\n$3\r\nGET\r\n+foo\r\n",
    mbulk(b"ZCOUNT", b"z", b"(1", b"+inf") + b"*2\r\n$3\r\nGET\r\n(123\r\n",
    mbulk(b"GET", b"+") + b"*1\r\n+PING\r\n",  # a status where a request starts
    b"*2\r\n$4\r\nECHO\r\n*0\r\n" + PING,         # a nested array
    b"*0\r\n" + PING + b"*0\r\n",
    PING + b"*1\r\n$4\r\nPI",                    # ends inside a request
    PING + b"*2\r\n$3\r\nGET\r\n",               # ends between two arguments
    PING + b"*1\r\n",                            # ends after a header
])
def test_fast_engine_agrees_with_the_exact_one(data):
    """Whatever hiredis is lenient about, the fast engine hands over to the
    exact one and the client sees what Redis would: the same requests and
    the same error as a parser that only ever used the exact engine."""
    exact = RequestParser()
    exact._to_exact()
    assert _outcome(RequestParser(), data) == _outcome(exact, data)


@pytest.mark.parametrize("requests", [
    [[b"XRANGE", b"s", b"-", b"+"]],
    [[b"ZRANGEBYSCORE", b"z", b"(1", b"+inf"], [b"ZRANGEBYLEX", b"z", b"(a", b"+"]],
    [[b"SET", b"k", b"=x"], [b"ECHO", b"+PONG"]] * 8,
    [[b"ECHO", b"+" * 2000]],                    # a long read: the regex path
    [[b"XADD", b"s", b"MAXLEN", b"~", b"1000", b"*", b"f", b"v"]] * 16,
    [[b"XTRIM", b"s", b"MINID", b"~", b"0-1"], [b"ECHO", b">"], [b"ECHO", b"|x"]],
    [[b"ECHO", b"~" * 2000], [b"ECHO", b"|"]],   # a long read: the regex path
])
def test_bulk_strings_that_start_like_a_lenient_type_stay_fast(requests, monkeypatch):
    """Arguments that begin with "+", "=", "(", "~", "|" or ">" right after
    a line end look like the types hiredis is lenient about; the canonical
    length of the read (and, for the last three, the first byte of each
    request) tells them apart, so such reads do not leave the fast engine."""
    switches = []
    exact = RequestParser._to_exact
    monkeypatch.setattr(RequestParser, "_to_exact",
                        lambda self, *a: (switches.append(a), exact(self, *a)))
    p = RequestParser()
    assert _outcome(p, b"".join(mbulk(*argv) for argv in requests)) == requests
    assert switches == [] and p.fast and not p.retained


@settings(max_examples=60, deadline=None)
@given(st.lists(args, min_size=1, max_size=16), st.integers(min_value=0, max_value=200))
def test_boundary_probe_keeps_every_request_and_the_partial_one(requests, cut):
    """A pipeline cut anywhere: the requests before the cut come out of the
    first read, the rest (with the one the cut split) out of the second."""
    stream = b"".join(mbulk(*argv) for argv in requests)
    cut = min(cut, len(stream))
    p = RequestParser()
    got = _outcome(p, stream[:cut]) + _outcome(p, stream[cut:])
    assert got == requests
    assert p.fast and not p.retained        # back at a boundary, nothing kept
