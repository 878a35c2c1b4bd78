"""RESP: the sans-I/O request parser and the reply encoders.

Mirrors ``processInputBuffer``/``processMultibulkBuffer``/``processInlineBuffer``
in Redis's ``networking.c``.  Nothing here touches a socket: a client feeds the
bytes it received and pulls argument vectors out, or learns that more bytes
are needed (``None``), or gets a ``ProtocolError`` carrying Redis's exact text.

Two parsers, one contract
-------------------------
``RequestParser`` is the only object a client talks to.  Inside, it runs one of
two engines:

* the *fast* engine feeds the bytes to ``hiredis.Reader`` (C) and takes whole
  requests out of it.  It is used for the common case: a chunk that starts at a
  request boundary with ``*`` and parses into complete arrays of bulk strings.
* the *exact* engine is a resumable pure-Python parser over a ``bytearray``
  and a position, with Redis's checks and messages: inline requests, bulk and
  multibulk length limits, ``proto-max-bulk-len``, the unauthenticated limits,
  the 64 KiB limits on header and inline lines.  Its state (the argv being
  built, the pending bulk length) lives on the parser, so a large argument that
  arrives in many reads is never rescanned.

hiredis is more lenient than Redis (it accepts ``:1`` or ``+x`` inside a
request, and it does not know ``proto-max-bulk-len``), so the fast engine only
keeps a chunk when that cannot matter:

* a line starting with ``+ = (`` (types hiredis returns as bytes) may be
  a lenient element -- or the payload of a bulk string that starts with
  such a byte: ``XRANGE s - +``, ``ZRANGEBYSCORE z (1 +inf``.  Such a read
  is kept only when it ended at a request boundary and its requests'
  canonical encodings (``hiredis.pack_command``, in C) add up to the
  read's length: each of these elements is shorter than the bulk string it
  would be (``+x`` against ``$1\r\nx``; a verbatim string also loses its
  ``txt:``), and hiredis refuses the only longer forms (leading zeros in a
  length), so the sum differs exactly when one is there.  Any other read
  with such a line goes to the exact engine.  A line starting with
  ``~ | >`` (sets, attributes, pushes) inside a request comes back from
  hiredis as a list, which the join below refuses; at the top of a request,
  though, a set or a push has the length of the array it stands for, so a
  read holding such a line -- ``XADD s MAXLEN ~ 1000 * f v`` is the common
  one -- is kept only when, in addition, every request begins with ``*`` at
  the offset the canonical lengths give it (one index per request).  Every
  other non-bulk element shows up as a non-``bytes`` element and is caught;
* it keeps the chunks fed since the last known request boundary, and the
  requests it yielded since then, only while a request is in flight.
  Whether a read ended at a boundary (the common request/response case,
  where nothing is kept) is asked of hiredis itself: an empty request
  (``*0``) is fed after the read, and it comes back alone as ``[]`` exactly
  when nothing was left over (inside a partial request it becomes an
  element, or an error).  Otherwise a request is in flight: the consumed
  bytes are measured by the canonical encodings of the yielded requests,
  the retained data is cut down to the partial request, which a fresh
  reader is fed again (the probe spoiled the old one's state), and the
  exact engine checks that partial
  request's headers at once (so ``$3000000000`` is refused immediately, as
  Redis does).  An argument larger than 64 KiB in flight moves to the exact
  engine, which appends in place instead of re-joining.
* when hiredis raises, or yields a non-bulk element, the exact engine
  re-parses from the last boundary, skipping the requests already yielded,
  and produces Redis's exact error.

LIMIT: measuring a request in flight assumes canonical encodings (no
``$03``), which every real client sends; a non-canonical request is detected
(the cut does not land on a ``*``) and re-parsed exactly.

The exact engine hands back to the fast one as soon as its buffer is empty.
Clients that must authenticate first always use the exact engine (the
unauthenticated limits are checked there).

Batches
-------
The fast engine parses a whole read in ``feed``: every complete request goes
to ``ready`` (a list the client takes in one piece), so a read of sixteen
pipelined requests costs one Python call here, not sixteen, and no Python
loop: ``list.extend(iter(reader.gets, False))`` drains hiredis in C.  The
checks are per read too: C scans for the unsafe bytes, a test that
every request is a list (``{list}.issuperset(map(type, requests))``), a
``join`` of each (it raises unless every argument is a bulk string), and the
boundary probe.  (One ``join`` over ``chain(map(list.__iter__, requests))``
did both checks but cost twice as much: ``join`` first copies an iterator
into a list, and the method descriptor is called per request.)
A read that ends at a request boundary -- the common case -- keeps nothing.
Requests a client has not taken yet (it blocked, or CLIENT PAUSE parked it)
stay in ``ready``; later reads then go to the exact engine, whose buffer the
query-buffer limit sees, and are parsed behind them.  Whole inline requests
without quotes (``PING\r\n``) are split in one pass as well.

Measured with valgrind on this machine's CPython: ``b"x" in data`` costs
about 1,300 instructions more than ``data.find(b"x")`` (``bytes.__contains__``
first tries the argument as an integer and formats a TypeError), and a regex
alternation scans about 4 ns a byte against a literal prefix's 0.5, so the
scans here are ``find`` calls and literal-prefix regexes.  A regex search
still costs hundreds of instructions per candidate position (every newline,
every ``*``), so a read of up to 1 KiB (16 pipelined GETs) is scanned by one
``translate`` and two ``find`` calls instead: 15,100 -> 8,000 instructions
for 16 PINGs, 22,600 -> 15,600 for 16 GETs; at 16 KiB the regexes win
(170,000 against 230,000).

Reply encoders
--------------
Small functions that turn Python values into RESP bytes.  Only the reply layer
(``networking.Client``) calls them; commands never format bytes themselves.
"""
from __future__ import annotations

import collections
from itertools import accumulate as _accumulate
import re

import hiredis

_pack = hiredis.pack_command
_join = b"".join
_iter = iter
_map = map
_LIST_ONLY = frozenset((list,))
_consume = collections.deque(maxlen=0).extend
_split_line = bytes.split
_EMPTY_REQUEST = b"*0\r\n"

from omakase.util import parse_ll

PROTO_INLINE_MAX_SIZE = 64 * 1024
PROTO_MBULK_BIG_ARG = 32 * 1024
INT_MAX = 2**31 - 1
FAST_RETAIN_LIMIT = 64 * 1024
# client-query-buffer-limit is at least 1 MiB: feed() reports when a client
# holds more than this, and only then is the real limit looked up.
QUERY_CHECK_MIN = 1024 * 1024
# A multibulk count of seven digits or more never reaches hiredis: its reader
# allocates the whole reply list up front, and freeing a reader that holds an
# unfinished "*2000000000" list walks all 2e9 slots (seconds of CPU, measured)
# -- one line from a client would stall the server.  The exact engine builds
# argv as arguments arrive.
_BIG_MBULK = re.compile(rb"\*[0-9]{7}")
# Line starts hiredis would accept where Redis wants "$" (inside a request)
# or "*" (a request): simple strings, verbatim strings and big numbers come
# back as bytes, sets, attributes and pushes as lists.  One search with a
# literal "\n" prefix (every other RESP type comes back as something the
# join below refuses).
_LENIENT_TYPE = re.compile(rb"\n[+=(~|>]")
# The aggregate ones among them: at the top of a request they stand where
# "*" does, with the same length, so the length check (see the docstring)
# cannot see them: a read holding one also checks each request's first byte.
_LENIENT_AGGREGATE = re.compile(rb"\n[~|>]")
# Reads up to _SCAN_MAX bytes are scanned for both with one translate (digits
# to "0", the lenient type bytes to "+") and two finds: 2x fewer instructions
# than the two regex searches on a read of 16 pipelined requests (valgrind),
# but more per byte, so long reads keep the regexes.  Only a read with a
# lenient line is searched for the aggregate ones.
_SCAN_TABLE = bytes(ord("0") if 48 <= c <= 57 else ord("+") if c in b"+=(~|>" else c
                    for c in range(256))
_SCAN_MAX = 1024


def _canonical(data: bytes, requests: list) -> bool:
    """Whether ``data`` (a whole read, starting with ``*``) is exactly the
    canonical encoding of ``requests``: the lengths add up and, when the
    read holds a line starting with ``~ | >``, every request starts with
    ``*`` (see the module docstring)."""
    sizes = list(_map(len, _map(_pack, _map(tuple, requests))))
    if sum(sizes) != len(data):
        return False
    if _LENIENT_AGGREGATE.search(data) is None:
        return True
    starts = _accumulate(sizes[:-1], initial=0)
    return bytes(_map(data.__getitem__, starts)) == b"*" * len(sizes)


class ProtocolError(Exception):
    """A malformed request; ``str(err)`` is Redis's message (without ERR)."""


# --------------------------------------------------------------------------
# Inline argument splitting: Redis's sdssplitargs.
# --------------------------------------------------------------------------
_HEX = b"0123456789abcdefABCDEF"
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}
_SPACES = b" \n\r\t\v\f\0"


def split_args(line: bytes) -> list[bytes] | None:
    """Split a line the way sdssplitargs does; None on unbalanced quotes."""
    if b'"' not in line and b"'" not in line:
        return line.split()
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _SPACES:
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        inq = insq = False
        while True:
            if inq:
                if i >= n:
                    return None
                ch = line[i]
                if (ch == 92 and i + 3 < n and line[i + 1] == ord("x")
                        and line[i + 2] in _HEX and line[i + 3] in _HEX):
                    cur.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif ch == 92 and i + 1 < n:
                    i += 1
                    cur.append(_ESCAPES.get(line[i], line[i]))
                elif ch == 34:
                    # closing quote must be followed by a space or the end
                    if i + 1 < n and line[i + 1] not in _SPACES:
                        return None
                    inq = False
                    i += 1
                    break
                else:
                    cur.append(ch)
            elif insq:
                if i >= n:
                    return None
                ch = line[i]
                if ch == 92 and i + 1 < n and line[i + 1] == 39:
                    i += 1
                    cur.append(39)
                elif ch == 39:
                    if i + 1 < n and line[i + 1] not in _SPACES:
                        return None
                    insq = False
                    i += 1
                    break
                else:
                    cur.append(ch)
            else:
                if i >= n:
                    break
                ch = line[i]
                if ch in _SPACES:
                    break
                if ch == 34:
                    inq = True
                elif ch == 39:
                    insq = True
                else:
                    cur.append(ch)
            i += 1
        args.append(bytes(cur))


def _parse_len(s: bytes) -> int | None:
    """string2ll for protocol lengths, with a fast path for plain digits."""
    if s.isdigit() and (s[0] != 48 or len(s) == 1) and len(s) < 19:
        return int(s)
    ok, n = parse_ll(s)
    return n if ok else None


class RequestParser:
    """Per-client request parser (see the module docstring)."""

    __slots__ = ("reader", "fast", "retained", "retained_len",
                 "buf", "pos", "argv", "mbulk_left", "bulklen", "skip",
                 "max_bulk_len", "auth_limits", "since", "ready")

    def __init__(self, max_bulk_len: int = 512 * 1024 * 1024) -> None:
        self.reader = hiredis.Reader()
        self.fast = True
        self.retained: list[bytes] = []
        self.retained_len = 0
        self.buf = bytearray()
        self.pos = 0
        self.argv: list[bytes] = []
        self.mbulk_left = 0
        self.bulklen = -1
        self.skip = 0
        self.max_bulk_len = max_bulk_len
        # True while the client must still authenticate: small limits apply
        # and only the exact engine checks them.
        self.auth_limits = False
        # requests the fast engine yielded since the last known boundary
        # (kept only while a request is in flight across reads)
        self.since: list[list[bytes]] = []
        # requests parsed and not yet taken (see "Batches" above)
        self.ready: list[list[bytes]] = []

    # -- feeding --------------------------------------------------------------
    def feed(self, data: bytes) -> bool:
        """Take the bytes of one read.  The fast engine parses every whole
        request in them at once into ``ready``; the exact engine keeps them
        and parses on ``next()``.  True when more than QUERY_CHECK_MIN bytes
        are now held (the caller checks client-query-buffer-limit then)."""
        if not self.fast:
            return self._keep(data)
        retained = self.retained
        first = data[0]
        if first != 42:
            if (not retained and not self.ready and not self.auth_limits
                    and data[-1] == 10 and len(data) <= PROTO_INLINE_MAX_SIZE
                    and data.find(b"*") < 0 and data.find(b'"') < 0 and data.find(b"'") < 0):
                # Whole inline requests without quotes (PING\r\n...): split.
                self.ready.extend(_map(_split_line, data.split(b"\n")[:-1]))
                return False
            if not retained or first == 43 or first == 61:
                self._to_exact()
                return self._keep(data)
        if self.auth_limits or self.ready:
            unsafe = True           # the exact engine anyway: no scan
            lenient = False
        elif len(data) <= _SCAN_MAX:
            # Both scans in one pass: digits become "0" and the lenient
            # type bytes "+", then two literal finds.
            scan = data.translate(_SCAN_TABLE)
            unsafe = scan.find(b"*0000000") >= 0
            lenient = scan.find(b"\n+") >= 0
        else:
            unsafe = _BIG_MBULK.search(data) is not None
            lenient = _LENIENT_TYPE.search(data) is not None
        if unsafe or retained and (lenient or _BIG_MBULK.search(
                retained[-1][-8:] + data[:8]) is not None):
            self._to_exact()
            return self._keep(data)
        reader = self.reader
        reader.feed(data)
        ready = self.ready
        try:
            ready.extend(_iter(reader.gets, False))
            # Every request must be a list of bulk strings: two C loops
            # over them (the type of each request, then a join of each,
            # which raises TypeError on an int, a nested array, a null...).
            if not _LIST_ONLY.issuperset(_map(type, ready)):
                raise TypeError("a request that is not an array")
            _consume(_map(_join, ready))
        except (hiredis.ProtocolError, TypeError):
            # Re-parse exactly from the last boundary: this read's requests
            # (all still in ready) come again from the exact engine.
            del ready[:]
            retained.append(data)
            self._to_exact()
            return len(self.buf) > QUERY_CHECK_MIN
        # The read ended at a request boundary exactly when the reader holds
        # nothing: then an empty request fed now comes back alone as [].
        # (Inside a partial request it would be an element, or an error.)
        reader.feed(_EMPTY_REQUEST)
        try:
            boundary = reader.gets() == []
        except hiredis.ProtocolError:
            boundary = False
        if lenient and not (boundary and _canonical(data, ready)):
            # A lenient element (or a read we cannot measure): re-parse it
            # exactly, as when hiredis raises above.
            del ready[:]
            retained.append(data)
            self._to_exact()
            return len(self.buf) > QUERY_CHECK_MIN
        if boundary:
            # The common case, nothing to keep.
            if retained:            # the request in flight ended this read
                self.retained = []
                self.retained_len = 0
                self.since = []
            return False
        # A request is in flight across reads (the probe above spoiled the
        # reader's state: _settle gives it a fresh one).
        retained.append(data)
        self.since += ready
        self._settle()
        return (self.retained_len if self.fast else len(self.buf)) > QUERY_CHECK_MIN

    def _keep(self, data: bytes) -> bool:
        """The exact engine's feed: append; True past QUERY_CHECK_MIN."""
        self.buf += data
        return len(self.buf) > QUERY_CHECK_MIN

    def pending_bytes(self) -> int:
        """Bytes received but not yet consumed (for query-buffer limits)."""
        if self.fast:
            return self.retained_len
        return len(self.buf) - self.pos

    def _to_exact(self, start: bytes | None = None) -> None:
        """Switch to the exact engine.  Without `start`, re-parse from the
        last known boundary, skipping what the fast engine already yielded;
        with it, `start` is the unconsumed input, beginning at a request."""
        if not self.fast:
            return
        self.fast = False
        if start is not None:
            self.buf = bytearray(start)
        elif self.retained:
            self.buf = bytearray(b"".join(self.retained))
            self.skip = len(self.since)
        if self.retained or start is not None:
            self.retained = []
            self.retained_len = 0
            self.reader = hiredis.Reader()
        self.since = []
        self.pos = 0

    def _settle(self) -> None:
        """A request is in flight across reads: find out where we stand.

        The bytes yielded since the last boundary are measured by their
        canonical encodings, the retained data is trimmed to the partial
        request, and that partial request's headers are checked by the exact
        engine, so a bad or oversized length is refused now, as Redis does,
        not after the bytes it announces.  An argument too large to keep
        re-joining goes to the exact engine, which appends in place."""
        since = self.since
        retained = self.retained
        data = retained[0] if len(retained) == 1 else b"".join(retained)
        consumed = 0
        for req in since:
            consumed += len(_pack(tuple(req)))
        if consumed >= len(data) or data[consumed] != 42:
            # Not canonical (e.g. "$03"): re-parse exactly from the boundary
            # (the exact engine skips what was yielded, ready or taken).
            self._to_exact()
            return
        rest = data[consumed:] if consumed else data
        if len(rest) > FAST_RETAIN_LIMIT:
            self._to_exact(rest)
            return
        self.retained = [rest]
        self.retained_len = len(rest)
        self.since = []
        self.reader = hiredis.Reader()      # holding just the partial request
        self.reader.feed(rest)
        probe = RequestParser.__new__(RequestParser)
        probe.buf = bytearray(rest)
        probe.pos = 0
        probe.mbulk_left = 0
        probe.bulklen = -1
        probe.argv = []
        probe.skip = 0
        probe.fast = False
        probe.auth_limits = False
        probe.max_bulk_len = self.max_bulk_len
        try:
            probe._parse_exact()
        except ProtocolError:
            self._to_exact(rest)

    # -- pulling --------------------------------------------------------------
    def next(self) -> list[bytes] | None:
        """The next complete argv, [] for an empty request, None if more bytes
        are needed.  Raises ProtocolError."""
        ready = self.ready
        if ready:
            return ready.pop(0)
        if self.fast:
            return None
        return self._next_exact()

    def _next_exact(self) -> list[bytes] | None:
        while True:
            argv = self._parse_exact()
            if argv is None:
                return None
            if self.skip:
                self.skip -= 1
                continue
            return argv

    def _compact(self) -> None:
        buf = self.buf
        if self.pos >= len(buf):
            buf.clear()
            self.pos = 0
            if self.mbulk_left == 0 and self.skip == 0 and not self.auth_limits:
                self.fast = True
        elif self.pos > 65536:
            del buf[:self.pos]
            self.pos = 0

    def _parse_exact(self) -> list[bytes] | None:
        buf = self.buf
        pos = self.pos
        if pos >= len(buf):
            self._compact()
            return None
        if self.mbulk_left == 0 and buf[pos] != 42:
            return self._parse_inline()
        try:
            return self._parse_multibulk()
        finally:
            self._compact()

    def _parse_inline(self) -> list[bytes] | None:
        buf = self.buf
        nl = buf.find(b"\n", self.pos)
        if nl < 0:
            if len(buf) - self.pos > PROTO_INLINE_MAX_SIZE:
                raise ProtocolError("Protocol error: too big inline request")
            return None
        end = nl - 1 if nl > self.pos and buf[nl - 1] == 13 else nl
        line = bytes(buf[self.pos:end])
        self.pos = nl + 1
        self._compact()
        argv = split_args(line)
        if argv is None:
            raise ProtocolError("Protocol error: unbalanced quotes in request")
        return argv

    def _find_line(self, too_big: str) -> int:
        """Index of the \r ending the header line at pos, or -1 if the line
        (and the byte after \r, which Redis skips unread) is incomplete."""
        buf = self.buf
        pos = self.pos
        cr = buf.find(b"\r", pos)
        if cr < 0:
            if len(buf) - pos > PROTO_INLINE_MAX_SIZE:
                raise ProtocolError(too_big)
            return -1
        if cr + 1 >= len(buf):
            return -1
        return cr

    def _parse_multibulk(self) -> list[bytes] | None:
        buf = self.buf
        if self.mbulk_left == 0:
            cr = self._find_line("Protocol error: too big mbulk count string")
            if cr < 0:
                return None
            n = _parse_len(bytes(buf[self.pos + 1:cr]))
            if n is None or n > INT_MAX:
                raise ProtocolError("Protocol error: invalid multibulk length")
            if n > 10 and self.auth_limits:
                raise ProtocolError("Protocol error: unauthenticated multibulk length")
            self.pos = cr + 2
            if n <= 0:
                return []
            self.mbulk_left = n
            self.argv = []
        argv = self.argv
        while self.mbulk_left:
            if self.bulklen == -1:
                cr = self._find_line("Protocol error: too big bulk count string")
                if cr < 0:
                    return None
                pos = self.pos
                if buf[pos] != 36:
                    raise ProtocolError("Protocol error: expected '$', got '%s'" % chr(buf[pos]))
                n = _parse_len(bytes(buf[pos + 1:cr]))
                if n is None or n < 0 or n > self.max_bulk_len:
                    raise ProtocolError("Protocol error: invalid bulk length")
                if n > 16384 and self.auth_limits:
                    raise ProtocolError("Protocol error: unauthenticated bulk length")
                self.pos = cr + 2
                self.bulklen = n
            pos = self.pos
            n = self.bulklen
            if len(buf) - pos < n + 2:
                return None
            argv.append(bytes(buf[pos:pos + n]))
            self.pos = pos + n + 2
            self.bulklen = -1
            self.mbulk_left -= 1
        self.argv = []
        return argv




# --------------------------------------------------------------------------
# Reply encoders (RESP2 and RESP3).
# --------------------------------------------------------------------------
def bulk(value: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(value), value)


def integer(n: int) -> bytes:
    return b":%d\r\n" % n


def encode_command(*args: bytes) -> bytes:
    """A request as a multibulk, as propagated to AOF and replicas."""
    return hiredis.pack_command(args)
