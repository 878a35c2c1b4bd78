"""Blocking operations: clients that wait for keys (Redis's ``blocked.c``).

This module is the machinery every blocking command shares (BLPOP, BRPOP,
BLMOVE, BRPOPLPUSH, BLMPOP now; BZPOPMIN/BZPOPMAX/BZMPOP, XREAD/XREADGROUP
BLOCK later).  It mirrors ``blockForKeys``, ``blockClient``,
``unblockClient``, ``handleClientsBlockedOnKeys``, ``replyToBlockedClientTimedOut``,
``handleBlockedClientsTimeout`` (the timeout table of ``timeout.c``),
``getTimeoutFromObjectOrReply`` and CLIENT UNBLOCK.

The API other types use
-----------------------
``parse_timeout(c, arg) -> int | None``
    Redis's seconds-as-a-double timeout: the absolute deadline in unix ms,
    0 for "forever", or None after replying the error ("timeout is not a
    float or out of range", "timeout is negative").
``deny_blocking(c) -> bool``
    True when the client must not block (inside MULTI/EXEC, a script, or a
    fake client with no socket); the command then answers as on timeout.
``block_for_keys(c, keys, deadline_ms, on_ready, on_timeout=None, btype=BLOCKED_LIST)``
    Park the client.  ``keys`` are waited on in ``c.db`` (duplicates are
    ignored).  ``on_ready(c, db, key) -> bool`` is called, in FIFO order of
    blocking, for each client waiting on ``key`` once ``key`` was signalled
    ready and exists; it re-runs the command's pop/move logic, replies, and
    returns True if it served the client (the client is then unblocked) or
    False to leave it blocked (wrong type, empty, ...).  It propagates what it
    did with ``server.also_propagate`` (BLPOP served -> LPOP key, BLMOVE ->
    LMOVE ...): the pending propagation is flushed after each served client, as
    Redis's ``afterCommand`` does.  ``on_timeout(c)`` replies when the deadline
    passes or CLIENT UNBLOCK ... TIMEOUT runs; the default is a null array, what
    Redis 7.0 sends for every list, zset and stream command (BLMOVE included:
    ``*-1`` in RESP2, ``_`` in RESP3).
``unblock_client(c)``
    Leave the blocked state (the served / timed out paths call it).

Waiting costs nothing
---------------------
A blocked client sits in ``db.blocking_keys[key]`` -- an insertion-ordered
``dict`` used as an ordered set (client -> None), so FIFO order is the
dict's order and removing a client from the middle is O(1) (Redis keeps a
list node pointer per key for the same reason) -- and, if it has a timeout, in
a heap of ``(deadline, seq, client)``.  One event-loop timer is armed for the
heap's nearest deadline and re-armed when an earlier one arrives, so the
loop wakes exactly when a client must time out and never scans the blocked
clients: 1,000 clients blocked on 1,000 keys add no work to an idle loop.
Heap entries of clients that were served or disconnected are left in place
and skipped when they surface (``seq`` identifies the blocking episode); the
heap is rebuilt when stale entries outnumber live ones, so it stays O(live).
DIVERGENCE: Redis checks its timeout radix tree in beforeSleep and its cron
(``hz`` resolution); the timer here is precise to about a millisecond.

Serving ready keys
------------------
``Db.add``/``set_key`` (and list pushes into an existing list with waiters)
call ``server.signal_key_as_ready(db, key)``, which appends to
``server.ready_keys``.  ``handle_ready_keys`` (installed as
``server.ready_keys_handler``; the server calls it after every top-level
command and in ``before_sleep``) swaps the list out, and for each distinct
ready key that exists calls ``on_ready`` for its waiters in order, stopping
when the key is gone (the list was emptied).  Keys signalled while serving
(a served BLMOVE creates its destination) go to the fresh list and are handled
in the next round of the same call, as ``handleClientsBlockedOnKeys`` does.
A key that exists with another type leaves its waiters blocked (Redis 7.0:
they stay blocked until the key holds the right type or they time out).

Unblocked clients resume
------------------------
``unblock_client`` clears ``ClientFlag.BLOCKED``, sets ``UNBLOCKED`` and
queues the client; a ``before_sleep`` hook (``process_unblocked``, Redis's
``processUnblockedClients``) then runs whatever the client had pipelined
behind the blocking command (``c.process_input()``) and queues its write.  So
a client's pipeline never runs nested inside another client's command.

Blocking inside MULTI or scripts
--------------------------------
``deny_blocking`` stands for Redis's CLIENT_DENY_BLOCKING: it checks
``ClientFlag.MULTI`` (the multi module must keep it set while EXEC runs the
queue), ``ClientFlag.LUA`` and ``ClientFlag.FAKE``.

State lives on the server (``server.blocking_state``, created by the first
blocking command), never at module level, so several servers in one process
never share it.  Per client: ``c.bpop`` (a ``BlockState``) while blocked.
A SHUTDOWN waiting for lagging replicas blocks its client with
``BLOCKED_SHUTDOWN`` and no keys (``commands.admin``); only the server's
``reply_to_clients_blocked_on_shutdown`` (a cancelled shutdown) unblocks it;
CLIENT UNBLOCK answers 0 for it.

Statistics of a command that blocks, as Redis 7.0.15 keeps them: the
call counts in calls and usec when it runs, but neither its latency
histogram sample nor its slowlog entry is taken then
(``note_blocked_call``, called by the input path when a call left its
client blocked).  When the client is served, ``update_stats_on_unblock``
(updateStatsOnUnblock) adds the serving time to usec, the whole duration to
the histogram and (past the threshold) the slowlog, a "command-unblocking"
latency event, and a failed call if the reply was an error; CLIENT UNBLOCK
does the same with an empty slowlog entry (Redis has freed the argv by
then).  A timeout, and a WAIT answered by its replicas, leave no histogram
sample and no slowlog entry, as in 7.0.15.
"""
from __future__ import annotations

import heapq
import re
import time
import traceback
from typing import Any, Callable, Iterable

from omakase import replies
from omakase.commands.registry import command
from omakase.commands.slowlog import slowlog_push_if_needed
from omakase.networking import ClientFlag
from omakase.util import LLONG_MAX, LLONG_MIN, parse_ll

# Redis's blocking types (server.h BLOCKED_*).
BLOCKED_NONE = 0
BLOCKED_LIST = 1
BLOCKED_WAIT = 2
BLOCKED_MODULE = 3
BLOCKED_STREAM = 4
BLOCKED_ZSET = 5
BLOCKED_SHUTDOWN = 7     # a SHUTDOWN waiting for lagging replicas (commands.admin)

ERR_TIMEOUT_NOT_FLOAT = "timeout is not a float or out of range"
ERR_TIMEOUT_NEGATIVE = "timeout is negative"
ERR_UNBLOCK_REASON = "CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
ERR_UNBLOCKED = "-UNBLOCKED client unblocked via CLIENT UNBLOCK"

_DENY_BLOCKING = ClientFlag.MULTI | ClientFlag.LUA | ClientFlag.FAKE
_NOMORE = -1          # eventloop.NOMORE
_COMPACT_MIN = 64     # rebuild the heap only past this size

OnReady = Callable[[Any, Any, bytes], bool]
OnTimeout = Callable[[Any], None]


# ---------------------------------------------------------------------------
# Timeout parsing (getTimeoutFromObjectOrReply, UNIT_SECONDS)
# ---------------------------------------------------------------------------
# Redis 7.0 parses the timeout with strtold (x87 80-bit long double: 64-bit
# mantissa) and computes (long long) ceill(value * 1000.0).  That is visible:
# any positive value, however tiny, is at least 1 ms, while "-0.0001" is 0 ms
# ("block forever"); "inf" and values past 9.2e15 s turn into LLONG_MIN
# ("timeout is negative").  The conversion below reproduces it exactly with
# integers (a long double is m * 2**q).
_LD_MANT = 64
_LD_MIN_Q = -16445            # quantum of the smallest subnormal
_LD_MAX_BITS = 16384          # values >= 2**16384 overflow
_MAX_LONG_DOUBLE_CHARS = 5 * 1024
_SPACES = b" \t\n\r\v\f"
_DEC_RE = re.compile(rb"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")
_HEX_RE = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?")
_INF_RE = re.compile(rb"[+-]?(?:inf|infinity)", re.IGNORECASE)
_BAD = object()


def _round_ratio(num: int, den: int) -> int:
    """num/den rounded half to even (num >= 0, den > 0)."""
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q & 1):
        q += 1
    return q


def _ld_round(num: int, den: int):
    """The long double nearest to num/den (num > 0): (m, q) meaning m*2**q,
    or None on overflow/underflow to zero (strtold's ERANGE cases)."""
    e = num.bit_length() - den.bit_length()
    if e >= 0:
        if num < den << e:
            e -= 1
    elif num << -e < den:
        e -= 1
    q = max(e - (_LD_MANT - 1), _LD_MIN_Q)
    m = _round_ratio(num, den << q) if q >= 0 else _round_ratio(num << -q, den)
    if m == 0 or m.bit_length() + q > _LD_MAX_BITS:
        return None
    return m, q


def _timeout_ms(s: bytes):
    """(long long) ceill(strtold(s) * 1000.0L), or _BAD when Redis's
    string2ld refuses the string."""
    if s.__class__ is not bytes:
        s = bytes(s)
    if not s or len(s) >= _MAX_LONG_DOUBLE_CHARS or s[0] in _SPACES or b"\0" in s:
        return _BAD
    ok, n = parse_ll(s)
    if ok:                                       # the usual case: "0", "5"
        if n < 0:
            return -1
        return n * 1000 if n <= LLONG_MAX // 1000 else LLONG_MIN
    m = _DEC_RE.fullmatch(s)
    if m is not None and (m.group(2) or m.group(3)):
        sign, ipart, fpart, exp = m.groups()
        fpart = fpart or b""
        digits = (ipart + fpart).lstrip(b"0")
        if not digits:
            return 0
        e10 = (int(exp) if exp else 0) - len(fpart)
        mag = len(digits) + e10                  # 10**(mag-1) <= |x| < 10**mag
        if mag > 4934 or mag < -4952:
            return _BAD
        mant = int(digits)
        ld = _ld_round(mant * 10 ** e10, 1) if e10 >= 0 else _ld_round(mant, 10 ** -e10)
        neg = sign == b"-"
    else:
        m = _HEX_RE.fullmatch(s)
        if m is None or not (m.group(2) or m.group(3)):
            if _INF_RE.fullmatch(s):
                return LLONG_MIN                 # (long long) of +-inf
            return _BAD                          # NaN included
        sign, ipart, fpart, exp = m.groups()
        fpart = fpart or b""
        mant = int(ipart + fpart, 16)
        if not mant:
            return 0
        e2 = (int(exp) if exp else 0) - 4 * len(fpart)
        if mant.bit_length() + e2 > _LD_MAX_BITS + 1 or mant.bit_length() + e2 < _LD_MIN_Q - 2:
            return _BAD
        ld = _ld_round(mant << e2, 1) if e2 >= 0 else _ld_round(mant, 1 << -e2)
        neg = sign == b"-"
    if ld is None:
        return _BAD
    mq, q = ld
    # value * 1000.0L, rounded once, then ceill().
    prod = _ld_round(mq * 1000 << q, 1) if q >= 0 else _ld_round(mq * 1000, 1 << -q)
    if prod is None:
        return LLONG_MIN
    pm, pq = prod
    if pq >= 0:
        t = pm << pq
        if neg:
            t = -t
    elif neg:
        t = -(pm >> -pq)                         # ceil of a negative value
    else:
        t = (pm + (1 << -pq) - 1) >> -pq         # ceil of a positive value
    if t > LLONG_MAX or t < LLONG_MIN:
        return LLONG_MIN                         # x87 "integer indefinite"
    return t


def parse_timeout(c: Any, arg: bytes) -> int | None:
    """getTimeoutFromObjectOrReply(UNIT_SECONDS): the absolute deadline in
    unix ms (0 = block forever), or None after replying the error."""
    tval = _timeout_ms(arg)
    if tval is _BAD:
        c.add_reply_error(ERR_TIMEOUT_NOT_FLOAT)
        return None
    if tval < 0:
        c.add_reply_error(ERR_TIMEOUT_NEGATIVE)
        return None
    if tval:
        tval += int(time.time() * 1000)
        if tval > LLONG_MAX:
            # Redis's signed addition overflows here and the client ends up
            # waiting indefinitely; say so directly.
            tval = 0
    return tval


def deny_blocking(c: Any) -> bool:
    """CLIENT_DENY_BLOCKING: MULTI/EXEC, scripts and fake clients never wait."""
    return bool(c.flags & _DENY_BLOCKING)


# ---------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------
class BlockState:
    """What Redis keeps in ``c->bpop`` (plus the callbacks)."""
    __slots__ = ("btype", "db", "keys", "deadline", "seq", "on_ready", "on_timeout",
                 "call_us")

    def __init__(self, btype: int, db: Any, keys: list[bytes], deadline: int, seq: int,
                 on_ready: OnReady, on_timeout: OnTimeout | None) -> None:
        self.btype = btype
        self.db = db
        self.keys = keys
        self.deadline = deadline
        self.seq = seq
        self.on_ready = on_ready
        self.on_timeout = on_timeout
        self.call_us = 0            # c->duration: the call that blocked


class Blocking:
    """The per-server blocking machinery (``server.blocking_state``)."""
    __slots__ = ("server", "timeouts", "live_timeouts", "timer_id", "timer_when",
                 "unblocked", "seq", "blocked_by_type")

    def __init__(self, server: Any) -> None:
        self.server = server
        self.timeouts: list[tuple[int, int, Any]] = []   # (deadline ms, seq, client)
        self.live_timeouts = 0
        self.timer_id: int | None = None
        self.timer_when = 0
        self.unblocked: list[Any] = []
        self.seq = 0
        self.blocked_by_type: dict[int, int] = {}
        server.ready_keys_handler = self.handle_ready_keys
        server.client_free_hooks.append(self.on_client_free)
        server.before_sleep_hooks.append(self.process_unblocked)
        server.clients_in_timeout_table = 0

    # -- blocking ----------------------------------------------------------
    def block(self, c: Any, keys: Iterable[bytes], deadline: int, on_ready: OnReady,
              on_timeout: OnTimeout | None, btype: int) -> None:
        """blockForKeys + blockClient."""
        db = c.db
        uniq = list(dict.fromkeys(keys))
        self.seq += 1
        bs = BlockState(btype, db, uniq, deadline, self.seq, on_ready, on_timeout)
        blocking_keys = db.blocking_keys
        for key in uniq:
            waiters = blocking_keys.get(key)
            if waiters is None:
                blocking_keys[key] = {c: None}
            else:
                waiters[c] = None
        c.bpop = bs
        c.flags |= ClientFlag.BLOCKED
        self.blocked_by_type[btype] = self.blocked_by_type.get(btype, 0) + 1
        if deadline:
            heapq.heappush(self.timeouts, (deadline, bs.seq, c))
            self.live_timeouts += 1
            self.server.clients_in_timeout_table = self.live_timeouts
            if self.timer_id is None or deadline < self.timer_when:
                self._arm_timer()

    def _detach(self, c: Any) -> BlockState | None:
        """Remove the client from every structure that knows it is blocked."""
        bs = c.bpop
        if bs is None:
            return None
        c.bpop = None
        blocking_keys = bs.db.blocking_keys
        for key in bs.keys:
            waiters = blocking_keys.get(key)
            if waiters is not None:
                waiters.pop(c, None)
                if not waiters:
                    del blocking_keys[key]
        c.flags &= ~ClientFlag.BLOCKED
        self.blocked_by_type[bs.btype] -= 1
        if bs.deadline:
            self.live_timeouts -= 1
            self.server.clients_in_timeout_table = self.live_timeouts
            heap = self.timeouts
            if len(heap) > _COMPACT_MIN and len(heap) > 2 * self.live_timeouts + _COMPACT_MIN:
                self.timeouts = [e for e in heap if e[2].bpop is not None
                                 and e[2].bpop.seq == e[1]]
                heapq.heapify(self.timeouts)
        return bs

    def note_blocked_call(self, c: Any, cmd: Any) -> None:
        """Right after a top-level call left ``c`` blocked: the call counts
        in calls and usec now, but its latency sample and slowlog entry wait
        for ``update_stats_on_unblock`` (Redis 7.0's call() skips both for a
        blocked client).  Its duration is the sample call() just appended."""
        samples = cmd.latency_samples
        us = samples.pop() if samples else 0
        cmd.count_without_sample(us)
        if c.bpop is not None:
            c.bpop.call_us = us

    def unblock(self, c: Any) -> None:
        """unblockClient: leave the blocked state, resume input in before_sleep."""
        if self._detach(c) is None:
            return
        c.flags |= ClientFlag.UNBLOCKED
        self.unblocked.append(c)
        c.queue_write()

    def on_client_free(self, c: Any) -> None:
        """A blocked client disconnected: forget it everywhere."""
        if c.bpop is not None:
            self._detach(c)

    def process_unblocked(self) -> None:
        """processUnblockedClients: run what the clients pipelined."""
        clients = self.server.clients
        while self.unblocked:
            batch = self.unblocked
            self.unblocked = []
            for c in batch:
                c.flags &= ~ClientFlag.UNBLOCKED
                if c.closing or clients.get(c.id) is not c or c.flags & ClientFlag.BLOCKED:
                    continue
                c.process_input()
                if c.reply:
                    c.queue_write()

    # -- timeouts ------------------------------------------------------------
    def _arm_timer(self) -> None:
        """Point the one timer at the nearest live deadline (if any)."""
        heap = self.timeouts
        while heap:
            _deadline, seq, c = heap[0]
            bs = c.bpop
            if bs is not None and bs.seq == seq:
                break
            heapq.heappop(heap)
        el = self.server.el
        if self.timer_id is not None:
            if heap and heap[0][0] == self.timer_when:
                return
            el.cancel_timer(self.timer_id)
            self.timer_id = None
        if not heap:
            return
        when = heap[0][0]
        # Fire just after the deadline: a client times out when deadline < now.
        delay = max(when - time.time() * 1000 + 1, 0)
        self.timer_when = when
        self.timer_id = el.add_timer(delay, self._on_timer)

    def _on_timer(self) -> int:
        self.timer_id = None
        self.handle_timeouts()
        return _NOMORE

    def handle_timeouts(self) -> None:
        """handleBlockedClientsTimeout: reply to every client past its deadline."""
        now = time.time() * 1000
        # self.timeouts is re-read each turn: unblocking may rebuild it.
        while self.timeouts and self.timeouts[0][0] < now:
            _deadline, seq, c = heapq.heappop(self.timeouts)
            bs = c.bpop
            if bs is None or bs.seq != seq:
                continue
            self.reply_timeout(c, bs)
            self.unblock(c)
        self._arm_timer()

    @staticmethod
    def reply_timeout(c: Any, bs: BlockState) -> None:
        """replyToBlockedClientTimedOut."""
        if bs.on_timeout is None:
            c.add_reply_null_array()
        else:
            bs.on_timeout(c)

    # -- ready keys ----------------------------------------------------------
    def handle_ready_keys(self) -> None:
        """handleClientsBlockedOnKeys: serve waiters of keys that got data."""
        server = self.server
        while server.ready_keys:
            batch = server.ready_keys
            server.ready_keys = []
            seen: set[tuple[int, bytes]] = set()
            for db, key in batch:
                ident = (db.id, key)
                if ident in seen:
                    continue
                seen.add(ident)
                waiters = db.blocking_keys.get(key)
                if not waiters:
                    continue
                if db.lookup(key, False, False) is None:
                    # unblockDeletedStreamReadgroupClients: stream waiters
                    # are told the key is gone (XREADGROUP gets an error).
                    for c in list(waiters):
                        bs = c.bpop
                        if bs is not None and bs.db is db and bs.btype == BLOCKED_STREAM:
                            self._serve(c, bs, db, key)
                    continue
                for c in list(waiters):
                    bs = c.bpop
                    if bs is None or bs.db is not db:
                        continue
                    self._serve(c, bs, db, key)
                    if db.peek(key) is None:
                        break           # emptied and deleted: nothing left to serve

    def _serve(self, c: Any, bs: BlockState, db: Any, key: bytes) -> None:
        server = self.server
        errors = server.stat_total_error_replies
        start = time.perf_counter_ns()
        try:
            served = bs.on_ready(c, db, key)
        except Exception as exc:  # a bug must not leave the server broken
            server.log.warning(f"Internal error serving a blocked client: {exc!r}\n"
                               f"{traceback.format_exc()}")
            c.add_reply_error(f"internal error while serving a blocked client: "
                              f"{type(exc).__name__}")
            served = True
        if not served:
            return
        cmd = c.lastcmd
        if cmd is not None:
            update_stats_on_unblock(c, cmd, bs.call_us, (time.perf_counter_ns() - start) // 1000,
                                    server.stat_total_error_replies > errors, c.argv)
        self.unblock(c)
        if server.pending_propagate and not server.in_call:
            server.flush_propagation()


def update_stats_on_unblock(c: Any, cmd: Any, call_us: int, reply_us: int, failed: bool,
                            argv: list[bytes]) -> None:
    """updateStatsOnUnblock (Redis 7.0): a served blocked command gets the
    serving time in its usec, its whole duration (the call that blocked
    plus the serving) in the latency histogram and, past the threshold, the
    slowlog, and a "command-unblocking" latency event.  Redis 7.0.15 calls
    it when a keyed wait is served and on CLIENT UNBLOCK (whose slowlog
    entry has no arguments: the client's argv is already gone there), not
    on a timeout or when WAIT is answered."""
    server = c.server
    cmd.add_usec(reply_us)
    if failed:
        cmd.failed_calls += 1
    total = call_us + reply_us
    latency = getattr(server, "latency", None)
    if latency is not None:
        latency.add_histogram_sample(cmd, total)
        latency.add_sample_if_needed(b"command-unblocking", reply_us // 1000)
    if getattr(server, "slowlog", None) is not None:
        slowlog_push_if_needed(server, c, cmd, argv, total)


def blocking_state(server: Any) -> Blocking:
    """The server's blocking machinery, installed on first use."""
    st = getattr(server, "blocking_state", None)
    if st is None:
        st = Blocking(server)
        server.blocking_state = st
    return st


def block_for_keys(c: Any, keys: Iterable[bytes], deadline_ms: int, on_ready: OnReady,
                   on_timeout: OnTimeout | None = None, btype: int = BLOCKED_LIST) -> None:
    """Block ``c`` on ``keys`` of ``c.db`` until ``on_ready`` serves it, the
    deadline (absolute unix ms; 0 = none) passes, CLIENT UNBLOCK, or it
    disconnects.  See the module docstring."""
    blocking_state(c.server).block(c, keys, deadline_ms, on_ready, on_timeout, btype)


def unblock_client(c: Any) -> None:
    st = getattr(c.server, "blocking_state", None)
    if st is not None:
        st.unblock(c)


# ---------------------------------------------------------------------------
# CLIENT UNBLOCK
# ---------------------------------------------------------------------------
@command("client|unblock")
def client_unblock_command(c: Any, argv: list[bytes]) -> None:
    """CLIENT UNBLOCK <id> [TIMEOUT|ERROR]."""
    if len(argv) not in (3, 4):
        c.add_reply_error("unknown subcommand or wrong number of arguments for '%s'. "
                          "Try %s HELP." % (argv[1][:128].decode("utf-8", "replace"),
                                            argv[0].decode("utf-8", "replace").upper()))
        return
    unblock_error = False
    if len(argv) == 4:
        reason = argv[3].lower()
        if reason == b"error":
            unblock_error = True
        elif reason != b"timeout":
            c.add_reply_error(ERR_UNBLOCK_REASON)
            return
    ok, cid = parse_ll(argv[2])
    if not ok:
        c.add_reply_error(replies.NOT_INTEGER)
        return
    server = c.server
    target = server.clients.get(cid)
    st = getattr(server, "blocking_state", None)
    if (target is None or target.bpop is None or st is None
            or target.bpop.btype == BLOCKED_SHUTDOWN):
        # DIVERGENCE: Redis 7.0.15 panics unblocking a SHUTDOWN client
        # (replyToBlockedClientTimedOut has no case for it); it stays blocked.
        c.add_reply_int(0)
        return
    if unblock_error:
        target.add_reply_error(ERR_UNBLOCKED)
    else:
        st.reply_timeout(target, target.bpop)
    cmd = target.lastcmd
    if cmd is not None:
        # updateStatsOnUnblock(target, 0, 0, 1), whichever reply it got.
        update_stats_on_unblock(target, cmd, target.bpop.call_us, 0, True, [])
    st.unblock(target)
    c.add_reply_int(1)
