"""Sets: the set type API and every set command (Redis 7.0's ``t_set.c``).

Encodings
---------
A set is a ``Set`` object (``__slots__``: ``data`` and ``lru``) whose
``data`` is, as in Redis 7.0 (which has no listpack sets; that is 7.2):

* ``intset`` -- an ``encodings.intset.Intset``: sorted packed integers, while
  every member is an integer by ``string2ll``'s rules (canonical decimal,
  int64) and the set has at most ``set-max-intset-entries`` members;
* ``hashtable`` -- an ``omakase.hashtable.HashTable`` (member -> None), the
  house's ``dict.c``: incremental rehash, ``dictScan`` cursors for SSCAN and
  bounded random sampling for SPOP/SRANDMEMBER.  DIVERGENCE from the brief's
  "a Python set": a Python set has no stable scan cursor (SSCAN's guarantee
  under writes) and no O(1) uniform random member (SPOP/SRANDMEMBER would be
  O(n) per element), both of which clients can observe.

``data.__class__`` is the encoding; ``Set.convert`` is the one place that
switches (``setTypeConvert``), called by ``Set.add`` when a non-integer
arrives or the intset grows past ``set-max-intset-entries``.  A hashtable set
never goes back, except that SPOP with a large count rebuilds the survivors
into a *new* set (``spopWithCountCommand``'s CASE 3), which starts as an
intset when its first member is an integer -- exactly as in Redis.

Result sets of SINTERSTORE/SUNIONSTORE/SDIFFSTORE (and of SUNION/SDIFF,
whose reply iterates the temporary result) start as an empty intset and grow
through ``Set.add``, so their encoding -- and for intsets their (ascending)
reply order -- is the one Redis produces.  SINTER replies in the iteration
order of its smallest input, as ``sinterGenericCommand`` does.

Propagation (``c.rewritten_argv`` / ``server.also_propagate``), as 7.0.15:
SPOP -> ``SREM key member``; SPOP with a count that empties the set ->
``DEL key``; any other SPOP with a count -> one ``SREM key member`` per
popped member (the server wraps several in MULTI/EXEC).

Hot path: SADD with one member into a hashtable set and SPOP without a
count, on a set whose table is not rehashing, inline ``Db.lookup``'s hit case
(as list.py's hot path does: any other case goes through ``db.lookup``), the
reply, WATCH and notify, and the HashTable operations they need (the bucket,
the insert and ``_insert_new``'s resize test, the random member drawn with
the very generator calls of ``HashTable.random_item``, the delete and
``try_shrink``'s test).  SPOP sets ``c.rewritten_argv`` only when something
(AOF, replicas) consumes propagation.

RESP3 shapes are 7.0's: SMEMBERS/SINTER/SUNION/SDIFF and SPOP with a count
reply sets (``~``); SRANDMEMBER with a count replies an array (it may repeat
members); SMISMEMBER an array of integers.
"""
from __future__ import annotations

import random as _random
from itertools import islice
from typing import Any, Callable

from omakase import replies
from omakase.commands.generic import scan_collection_command
from omakase.commands.registry import command
from omakase.types._members import delete_destination, remove_members
from omakase.encodings.intset import Intset
from omakase.hashtable import BUCKET_LOAD, FORCE_RESIZE_RATIO, MIN_FILL_PERCENT, HashTable
from omakase.replies import BULK_HDR, CONE as _CONE, CZERO as _CZERO, INTEGERS
from omakase.types.hash import new_lru
from omakase.util import LLONG_MAX, cstr_lower, parse_ll

try:  # the notify module defines these once it exists
    from omakase.notify import NOTIFY_GENERIC, NOTIFY_SET  # type: ignore
except ImportError:  # pragma: no cover - until the notify module lands
    NOTIFY_GENERIC = 1 << 2
    NOTIFY_SET = 1 << 5

WRONGTYPE = replies.WRONGTYPE
ERR_NOT_POSITIVE = "value is out of range, must be positive"
ERR_NUMKEYS = "numkeys should be greater than 0"
ERR_NUMKEYS_ARGS = "Number of keys can't be greater than number of args"
ERR_LIMIT = "LIMIT can't be negative"

SPOP_MOVE_STRATEGY_MUL = 5
SRANDMEMBER_SUB_STRATEGY_MUL = 3
_MISSING = object()
# HashTable.random_item's generator (random._inst), bound once.  SPOP's hot
# path repeats random_item's draws inline: rng.randrange(n) is
# _randbelow_with_getrandbits(n) (getrandbits(n.bit_length()) until < n).
_getrandbits = _random._inst.getrandbits
assert _random.Random._randbelow is _random.Random._randbelow_with_getrandbits
# HashTable.needs_shrink is false unless used * 100 < buckets * this.
_SHRINK_FACTOR = BUCKET_LOAD * MIN_FILL_PERCENT
# The same test as used < buckets * _SHRINK_LOAD (a float: buckets is a power
# of two, so buckets * 6.4 is never an integer and the comparison is exact).
_SHRINK_LOAD = _SHRINK_FACTOR / 100
# HashTable._insert_new grows a table past this load even while a fork child
# discourages resizing (dict_force_resize_ratio).
_FORCE_LOAD = BUCKET_LOAD * FORCE_RESIZE_RATIO


# ---------------------------------------------------------------------------
# Set API
# ---------------------------------------------------------------------------
class Set:
    """A set value (see the module docstring).  ``data`` is an ``Intset``
    or a ``HashTable`` of member -> None."""

    __slots__ = ("data", "lru")
    type_name = "set"
    scan_pairs = False

    def __init__(self, data: Any, lru: int) -> None:
        self.data = data
        self.lru = lru

    # -- construction ----------------------------------------------------------
    @classmethod
    def create_for(cls, member: bytes, lru: int) -> "Set":
        """setTypeCreate: an empty set that can hold ``member``."""
        if parse_ll(member)[0]:
            return cls(Intset(), lru)
        return cls(HashTable(), lru)

    @classmethod
    def new_intset(cls, lru: int) -> "Set":
        """createIntsetObject (the start of every computed result set)."""
        return cls(Intset(), lru)

    @classmethod
    def from_members(cls, members: list[bytes], lru: int, config: Any) -> "Set":
        """A set built by adding ``members`` one by one to an empty intset
        (the encoding Redis ends up with for the same additions)."""
        s = cls(Intset(), lru)
        add = s.add
        for m in members:
            add(m, config)
        return s

    def copy(self) -> "Set":
        d = self.data
        if d.__class__ is Intset:
            return Set(d.copy(), self.lru)
        ht = HashTable()
        add = ht.add
        for m in d.keys():
            add(m, None)
        return Set(ht, self.lru)

    # -- introspection -----------------------------------------------------------
    @property
    def encoding(self) -> str:
        return "intset" if self.data.__class__ is Intset else "hashtable"

    def __len__(self) -> int:
        d = self.data
        if d.__class__ is Intset:
            return len(d)
        return d.used

    # -- conversion (the one place) ------------------------------------------------
    def convert(self) -> None:
        """setTypeConvert: intset -> hashtable."""
        d = self.data
        if d.__class__ is not Intset:
            return
        ht = HashTable()
        add = ht.add
        for v in d:
            add(b"%d" % v, None)
        self.data = ht

    # -- membership --------------------------------------------------------------------
    def add(self, member: bytes, config: Any) -> bool:
        """setTypeAdd: True if the member was added."""
        d = self.data
        if d.__class__ is Intset:
            ok, v = parse_ll(member)
            if ok:
                if d.add(v):
                    if len(d) > config.set_max_intset_entries:
                        self.convert()
                    return True
                return False
            self.convert()
            self.data.add(member, None)
            return True
        return d.set(member, None)

    def remove(self, member: bytes) -> bool:
        """setTypeRemove: True if the member was there."""
        d = self.data
        if d.__class__ is Intset:
            ok, v = parse_ll(member)
            return ok and d.remove(v)
        if d.pop(member, _MISSING) is _MISSING:
            return False
        d.try_shrink()          # htNeedsResize -> dictResize
        return True

    def contains(self, member: bytes) -> bool:
        """setTypeIsMember."""
        d = self.data
        if d.__class__ is Intset:
            ok, v = parse_ll(member)
            return ok and d.contains(v)
        return member in d

    # -- iteration ---------------------------------------------------------------------
    def members(self) -> list[bytes]:
        """Every member, in the set's iteration order (ascending for an
        intset)."""
        d = self.data
        if d.__class__ is Intset:
            return [b"%d" % v for v in d]
        return d.key_list()

    def __iter__(self):
        return iter(self.members())

    def digest_into(self, digest: bytearray) -> None:
        """xorObjectDigest for a set: every member xored in (order-free)."""
        from omakase.commands.debug import xor_digest
        for member in self.members():
            xor_digest(digest, member)

    def scan(self, cursor: int, emit: Callable[[bytes, Any], None]) -> int:
        """One SSCAN step (see commands.generic.scan_generic)."""
        d = self.data
        if d.__class__ is Intset:
            for v in d:
                emit(b"%d" % v, None)
            return 0
        return d.scan(cursor, emit)

    # -- random access -------------------------------------------------------------------
    def random_member(self) -> bytes:
        """setTypeRandomElement (the set is not empty)."""
        d = self.data
        if d.__class__ is Intset:
            return b"%d" % d.random()
        return d.random_item()[0]

    def pop_random(self) -> bytes:
        """A random member, removed."""
        d = self.data
        if d.__class__ is Intset:
            return b"%d" % d.pop_random()
        m = d.random_item()[0]
        d.pop(m)
        d.try_shrink()
        return m


def _lookup(c: Any, key: bytes, write: bool = False) -> Set | None | bool:
    """lookupKey{Read,Write} + checkType: the set, None if missing, False
    after a WRONGTYPE reply."""
    db = c.db
    o = db.lookup_write(key) if write else db.lookup_read(key)
    if o is None:
        return None
    if o.__class__ is not Set:
        c.add_reply_error(WRONGTYPE)
        return False
    return o


def _reply_set(c: Any, members: list[bytes]) -> None:
    """A set reply (``~`` in RESP3)."""
    if c.resp == 2:
        c.add_reply_bulks(members)        # one C-level pack
        return
    c.add_reply_set_len(len(members))
    bulk = c.add_reply_bulk
    for m in members:
        bulk(m)


# ---------------------------------------------------------------------------
# Set commands
# ---------------------------------------------------------------------------
@command("sadd")
def sadd_command(c: Any, argv: list[bytes]) -> None:
    key = argv[1]
    db = c.db
    ht = db.keys
    if ht.rehashidx < 0 and not db.expires.used and len(argv) == 3:
        o = ht.t0[hash(key) & ht.mask0].get(key)
        if o.__class__ is Set:
            d = o.data
            if d.__class__ is HashTable and d.rehashidx < 0:
                # Hot path (SADD key member on a hashtable set that is not
                # rehashing).  db.lookup(key, True, False) inline: the key
                # was found without rehashing or TTLs around, so only the
                # LRU/LFU touch is left.  Then setTypeAdd as HashTable.set
                # and _insert_new do it, with the bucket looked up here.
                server = c.server
                if not server.no_touch:
                    o.lru = server.lfu_touch(o.lru) if server.lfu else server.lru_clock
                m = argv[2]
                t0 = d.t0
                b = t0[hash(m) & d.mask0]
                if m in b:
                    if not c.reply_off:
                        c.reply.append(_CZERO)
                    return
                b[m] = None
                used = d.used = d.used + 1
                if used > len(t0) * BUCKET_LOAD and (
                        d.resize_allowed or used > len(t0) * _FORCE_LOAD):
                    d._start_resize(len(t0) * 2)
                if db.watched_keys or db.tracking_hook is not None:
                    db.signal_modified_key(key)
                hook = server.notify_hook
                if hook is not None:
                    hook(NOTIFY_SET, "sadd", key, db.id)
                server.dirty += 1
                if not c.reply_off:
                    c.reply.append(_CONE)
                return
    server = c.server
    o = db.lookup(key, True, False)         # lookupKeyWrite
    if o is None:
        o = Set.create_for(argv[2], new_lru(server))
        db.add(key, o)
    elif o.__class__ is not Set:
        c.add_reply_error(WRONGTYPE)
        return
    config = server.config
    add = o.add
    added = 0
    for m in argv[2:]:
        if add(m, config):
            added += 1
    if added:
        if db.watched_keys or db.tracking_hook is not None:
            db.signal_modified_key(key)
        hook = server.notify_hook
        if hook is not None:
            hook(NOTIFY_SET, "sadd", key, db.id)
        server.dirty += added
    if not c.reply_off:
        c.reply.append(INTEGERS[added] if added < 10000 else b":%d\r\n" % added)


@command("srem")
def srem_command(c: Any, argv: list[bytes]) -> None:
    key = argv[1]
    o = _lookup(c, key, True)
    if o is False:
        return
    if o is None:
        c.add_reply_int(0)
        return
    deleted = remove_members(c, key, o, argv[2:], type(o).remove, NOTIFY_SET, "srem")
    c.add_reply_int(deleted)


@command("smove")
def smove_command(c: Any, argv: list[bytes]) -> None:
    srckey, dstkey, ele = argv[1], argv[2], argv[3]
    db = c.db
    src = db.lookup_write(srckey)
    dst = db.lookup_write(dstkey)
    if src is None:
        c.add_reply_int(0)
        return
    if src.__class__ is not Set or (dst is not None and dst.__class__ is not Set):
        c.add_reply_error(WRONGTYPE)
        return
    if src is dst:
        c.add_reply_int(1 if src.contains(ele) else 0)
        return
    if not src.remove(ele):
        c.add_reply_int(0)
        return
    server = c.server
    server.notify(NOTIFY_SET, "srem", srckey, db.id)
    if not len(src):
        db.delete(srckey)
        server.notify(NOTIFY_GENERIC, "del", srckey, db.id)
    if dst is None:
        dst = Set.create_for(ele, new_lru(server))
        db.add(dstkey, dst)
    db.signal_modified_key(srckey)
    db.signal_modified_key(dstkey)
    server.dirty += 1
    if dst.add(ele, server.config):
        server.dirty += 1
        server.notify(NOTIFY_SET, "sadd", dstkey, db.id)
    c.add_reply_int(1)


@command("sismember")
def sismember_command(c: Any, argv: list[bytes]) -> None:
    o = _lookup(c, argv[1])
    if o is False:
        return
    c.add_reply_int(1 if o is not None and o.contains(argv[2]) else 0)


@command("smismember")
def smismember_command(c: Any, argv: list[bytes]) -> None:
    o = _lookup(c, argv[1])
    if o is False:
        return
    members = argv[2:]
    c.add_reply_array_len(len(members))
    if o is None:
        for _ in members:
            c.add_reply_int(0)
        return
    contains = o.contains
    for m in members:
        c.add_reply_int(1 if contains(m) else 0)


@command("scard")
def scard_command(c: Any, argv: list[bytes]) -> None:
    o = _lookup(c, argv[1])
    if o is False:
        return
    c.add_reply_int(0 if o is None else len(o))


def _spop_with_count(c: Any, argv: list[bytes]) -> None:
    ok, count = parse_ll(argv[2])
    if not ok or count < 0:     # getPositiveLongFromObjectOrReply: one message
        c.add_reply_error(ERR_NOT_POSITIVE)
        return
    key = argv[1]
    o = _lookup(c, key, True)
    if o is False:
        return
    if o is None or count == 0:
        c.add_reply_set_len(0)
        return
    db = c.db
    server = c.server
    size = len(o)
    server.notify(NOTIFY_SET, "spop", key, db.id)
    if count >= size:
        # CASE 1: the whole set goes; propagated as DEL (7.0.15 always
        # uses DEL here, whatever lazyfree-lazy-server-del says).
        _reply_set(c, Set.from_members(o.members(), 0, server.config).members())
        db.delete(key)
        server.notify(NOTIFY_GENERIC, "del", key, db.id)
        c.rewritten_argv = [b"DEL", key]
        db.signal_modified_key(key)
        server.dirty += size
        return
    remaining = size - count
    popped: list[bytes] = []
    if remaining * SPOP_MOVE_STRATEGY_MUL > count:
        # CASE 2: pop count random members.
        pop = o.pop_random
        for _ in range(count):
            popped.append(pop())
    else:
        # CASE 3: move `remaining` random members to a new set, hand the
        # rest of the old one to the client.
        newset = None
        config = server.config
        for _ in range(remaining):
            m = o.random_member()
            if newset is None:
                newset = Set.create_for(m, new_lru(server))
            newset.add(m, config)
            o.remove(m)
        popped = o.members()
        db.overwrite(key, newset)
    _reply_set(c, popped)
    srem = b"SREM"
    dbid = db.id
    for m in popped[:-1]:
        server.also_propagate(dbid, [srem, key, m])
    c.rewritten_argv = [srem, key, popped[-1]]
    db.signal_modified_key(key)
    server.dirty += count


@command("spop")
def spop_command(c: Any, argv: list[bytes]) -> None:
    key = argv[1]
    db = c.db
    ht = db.keys
    if ht.rehashidx < 0 and not db.expires.used and len(argv) == 2:
        o = ht.t0[hash(key) & ht.mask0].get(key)
        if o.__class__ is Set:
            d = o.data
            if d.__class__ is HashTable and d.rehashidx < 0:
                # Hot path: db.lookup(key, True, False) inline (see
                # sadd_command), then Set.pop_random with
                # HashTable.random_item's draws made here (the same
                # generator calls, so the same member for the same random
                # state), the delete and try_shrink's test.
                server = c.server
                if not server.no_touch:
                    o.lru = server.lfu_touch(o.lru) if server.lfu else server.lru_clock
                t0 = d.t0
                mask = d.mask0
                b = t0[_getrandbits(62) & mask]
                while not b:
                    b = t0[_getrandbits(62) & mask]
                # rng.randrange(len(b)) is _randbelow(len(b)): getrandbits(k)
                # until below len(b)
                nb = len(b)
                k = nb.bit_length()
                r = _getrandbits(k)
                while r >= nb:
                    r = _getrandbits(k)
                ele = next(islice(b, r, None))
                del b[ele]
                left = d.used = d.used - 1
                if left < len(t0) * _SHRINK_LOAD:   # else needs_shrink() is false
                    d.try_shrink()
                hook = server.notify_hook
                if hook is not None:
                    hook(NOTIFY_SET, "spop", key, db.id)
                if server.propagation_targets:
                    c.rewritten_argv = [b"SREM", key, ele]
                if not c.reply_off:
                    c.reply.append(b"$%d\r\n%b\r\n" % (len(ele), ele))
                if not left:
                    db.delete(key)
                    server.notify(NOTIFY_GENERIC, "del", key, db.id)
                if db.watched_keys or db.tracking_hook is not None:
                    db.signal_modified_key(key)
                server.dirty += 1
                return
    n = len(argv)
    if n == 3:
        _spop_with_count(c, argv)
        return
    if n > 3:
        c.add_reply_error(replies.SYNTAX)
        return
    server = c.server
    o = db.lookup(key, True, False)         # lookupKeyWrite
    if o is None:
        c.add_reply_null()
        return
    if o.__class__ is not Set:
        c.add_reply_error(WRONGTYPE)
        return
    ele = o.pop_random()
    left = len(o)
    hook = server.notify_hook
    if hook is not None:
        hook(NOTIFY_SET, "spop", key, db.id)
    if server.propagation_targets:
        c.rewritten_argv = [b"SREM", key, ele]
    c.add_reply_bulk(ele)
    if not left:
        db.delete(key)
        server.notify(NOTIFY_GENERIC, "del", key, db.id)
    if db.watched_keys or db.tracking_hook is not None:
        db.signal_modified_key(key)
    server.dirty += 1


def _srandmember_with_count(c: Any, argv: list[bytes]) -> None:
    ok, l = parse_ll(argv[2])
    if not ok:
        c.add_reply_error(replies.NOT_INTEGER)
        return
    if l < -LLONG_MAX:
        c.add_reply_error(replies.out_of_int_range(-LLONG_MAX, LLONG_MAX))
        return
    if l >= 0:
        count, uniq = l, True
    else:
        count, uniq = -l, False
    o = _lookup(c, argv[1])
    if o is False:
        return
    if o is None or count == 0:
        c.add_reply_array_len(0)
        return
    if not uniq or count == 1:
        # CASE 1: draws with replacement.
        d = o.data
        if d.__class__ is Intset:
            rnd = _random.randrange
            vals = d.to_list()
            n = len(vals)
            out = [b"%d" % vals[rnd(n)] for _ in range(count)]
        else:
            pick = d.random_item
            out = [pick()[0] for _ in range(count)]
        c.add_reply_bulks(out)
        return
    size = len(o)
    if count >= size:
        # CASE 2: the whole set, in its order.
        c.add_reply_bulks(o.members())
        return
    members = o.members()
    if count * SRANDMEMBER_SUB_STRATEGY_MUL > size:
        # CASE 3: all members, minus random ones.
        out = _random.sample(members, count)
    else:
        # CASE 4: distinct random draws.
        got: dict = {}
        pick = o.random_member
        while len(got) < count:
            got[pick()] = None
        out = list(got)
    c.add_reply_bulks(out)


@command("srandmember")
def srandmember_command(c: Any, argv: list[bytes]) -> None:
    n = len(argv)
    if n == 3:
        _srandmember_with_count(c, argv)
        return
    if n > 3:
        c.add_reply_error(replies.SYNTAX)
        return
    o = _lookup(c, argv[1])
    if o is False:
        return
    if o is None:
        c.add_reply_null()
        return
    c.add_reply_bulk(o.random_member())


def _intersection(sets: list[Set], limit: int = 0) -> list[bytes]:
    """sinterGenericCommand's loop: members of the smallest set (first in
    ``sets``, already sorted by size) found in all the others, in its
    iteration order; stops at ``limit`` members when limit > 0."""
    first = sets[0]
    others = [s.data for s in sets[1:] if s is not first]
    out: list[bytes] = []
    d0 = first.data
    if d0.__class__ is Intset:
        for v in d0:
            for d in others:
                if d.__class__ is Intset:
                    if not d.contains(v):
                        break
                elif b"%d" % v not in d:
                    break
            else:
                out.append(b"%d" % v)
                if limit and len(out) >= limit:
                    break
        return out
    # A hash-table set: filter the whole candidate list by each other set in
    # turn (a comprehension each) instead of a Python loop per member and
    # set; the survivors and their order are the same.
    out = d0.key_list()
    for d in others:
        if not out:
            break
        if d.__class__ is Intset:
            contains = d.contains
            out = [m for m in out if _intset_has(contains, m)]
        else:
            out = d.filter_present(out)
    return out[:limit] if limit else out


def _intset_has(contains: Callable[[int], bool], member: bytes) -> bool:
    ok, v = parse_ll(member)
    return ok and contains(v)


def _store_result(c: Any, dstkey: bytes, result: Set | None, event: str) -> None:
    """The STORE tail of the set operations: the destination is replaced
    (setKey) or deleted when the result is empty."""
    db = c.db
    server = c.server
    if result is not None and len(result):
        db.set_key(dstkey, result)
        c.add_reply_int(len(result))
        server.notify(NOTIFY_SET, event, dstkey, db.id)
        server.dirty += 1
        return
    c.add_reply_int(0)
    delete_destination(c, dstkey)


def _lookup_sets(c: Any, keys: list[bytes]) -> list | None:
    """Every key looked up and type checked (None for a missing key), or
    None after a WRONGTYPE reply."""
    lookup = c.db.lookup_read
    sets = []
    for k in keys:
        o = lookup(k)
        if o is not None and o.__class__ is not Set:
            c.add_reply_error(WRONGTYPE)
            return None
        sets.append(o)
    return sets


def _sinter_generic(c: Any, keys: list[bytes], dstkey: bytes | None,
                    cardinality_only: bool = False, limit: int = 0) -> None:
    sets = _lookup_sets(c, keys)
    if sets is None:
        return
    if any(s is None for s in sets):
        # The intersection with an empty set is empty.
        if dstkey is not None:
            delete_destination(c, dstkey)
            c.add_reply_int(0)
        elif cardinality_only:
            c.add_reply_int(0)
        else:
            c.add_reply_set_len(0)
        return
    sets.sort(key=len)              # stable, like glibc's merge-sort qsort
    if cardinality_only:
        c.add_reply_int(len(_intersection(sets, limit)))
        return
    members = _intersection(sets)
    if dstkey is None:
        _reply_set(c, members)
        return
    server = c.server
    _store_result(c, dstkey, Set.from_members(members, new_lru(server), server.config),
                  "sinterstore")


SET_OP_UNION = 0
SET_OP_DIFF = 1


def _sunion_diff_generic(c: Any, keys: list[bytes], dstkey: bytes | None, op: int) -> None:
    sets = _lookup_sets(c, keys)
    if sets is None:
        return
    server = c.server
    config = server.config
    result = Set.new_intset(new_lru(server))
    add = result.add
    if op == SET_OP_UNION:
        for s in sets:
            if s is not None:
                for m in s.members():
                    add(m, config)
    else:
        first = sets[0]
        if first is not None and not any(s is first for s in sets[1:]):
            others = [s for s in sets[1:] if s is not None]
            for m in first.members():
                for s in others:
                    if s.contains(m):
                        break
                else:
                    add(m, config)
    if dstkey is None:
        _reply_set(c, result.members())
        return
    _store_result(c, dstkey, result,
                  "sunionstore" if op == SET_OP_UNION else "sdiffstore")


@command("smembers")
def smembers_command(c: Any, argv: list[bytes]) -> None:
    # Redis 7.0 serves SMEMBERS with sinterCommand on one key.
    o = _lookup(c, argv[1])
    if o is False:
        return
    if o is None:
        c.add_reply_set_len(0)
        return
    _reply_set(c, o.members())


@command("sinter")
def sinter_command(c: Any, argv: list[bytes]) -> None:
    _sinter_generic(c, argv[1:], None)


@command("sinterstore")
def sinterstore_command(c: Any, argv: list[bytes]) -> None:
    _sinter_generic(c, argv[2:], argv[1])


@command("sintercard")
def sintercard_command(c: Any, argv: list[bytes]) -> None:
    ok, numkeys = parse_ll(argv[1])
    if not ok or numkeys < 1:
        c.add_reply_error(ERR_NUMKEYS)
        return
    n = len(argv)
    if numkeys > n - 2:
        c.add_reply_error(ERR_NUMKEYS_ARGS)
        return
    limit = 0
    j = 2 + numkeys
    while j < n:
        if cstr_lower(argv[j]) == b"limit" and j + 1 < n:
            j += 1
            ok, limit = parse_ll(argv[j])
            if not ok or limit < 0:
                c.add_reply_error(ERR_LIMIT)
                return
        else:
            c.add_reply_error(replies.SYNTAX)
            return
        j += 1
    _sinter_generic(c, argv[2:2 + numkeys], None, True, limit)


@command("sunion")
def sunion_command(c: Any, argv: list[bytes]) -> None:
    _sunion_diff_generic(c, argv[1:], None, SET_OP_UNION)


@command("sunionstore")
def sunionstore_command(c: Any, argv: list[bytes]) -> None:
    _sunion_diff_generic(c, argv[2:], argv[1], SET_OP_UNION)


@command("sdiff")
def sdiff_command(c: Any, argv: list[bytes]) -> None:
    _sunion_diff_generic(c, argv[1:], None, SET_OP_DIFF)


@command("sdiffstore")
def sdiffstore_command(c: Any, argv: list[bytes]) -> None:
    _sunion_diff_generic(c, argv[2:], argv[1], SET_OP_DIFF)


@command("sscan")
def sscan_command(c: Any, argv: list[bytes]) -> None:
    scan_collection_command(c, argv, "set")
