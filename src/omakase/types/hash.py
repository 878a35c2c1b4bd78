"""Hashes: the hash type API and every hash command (Redis's ``t_hash.c``).

Encodings
---------
A hash is a ``Hash`` object (``__slots__``: ``data`` and ``lru``) whose
``data`` is one of two things, exactly as in Redis 7.0:

* ``listpack`` -- an ``encodings.listpack.Listpack`` holding
  ``field, value, field, value, ...`` in insertion order: one ``bytearray``
  per hash, a few bytes per entry, the very blob RDB writes.  A new hash
  starts here.
* ``hashtable`` -- an ``omakase.hashtable.HashTable`` (field -> value), the
  keyspace's own ``dict.c``: incremental rehashing, ``dictScan`` cursors
  (HSCAN's guarantees under writes), bounded fair-ish random sampling
  (HRANDFIELD).  DIVERGENCE from the brief's "a Python dict": a plain dict
  has no stable SCAN cursor and no O(1) random entry, and both are visible
  (HSCAN under write load, HRANDFIELD on a big hash); the house's HashTable
  gives both for about the same memory per field.

The encoding is never stored separately: ``data.__class__`` *is* the
encoding, so a hash costs one small object plus its listpack.

Conversion (``Hash.convert``, the only place that switches) happens at
Redis's moments and never goes back:

* ``hashTypeTryConversion``: before HSET/HMSET/HSETNX insert anything, if one
  of the new fields or values is longer than ``hash-max-listpack-value`` (or
  the listpack would pass the 1 GB safety size) -- even if that field is then
  only updated;
* ``hashTypeSet``: a field or value longer than ``hash-max-listpack-value``
  (HINCRBY/HINCRBYFLOAT's path), and after an insert that makes the number of
  fields exceed ``hash-max-listpack-entries``.

Memory
------
For small hashes the listpack *is* the storage: no Python object per field
(measured: 1,000,000 hashes of 10 short fields take 1.75x redis-server's
RSS).  Field lookups use ``Listpack.find``/``lookup`` (one C-level search of
the encoded entry); the listpack keeps an offset index only above 64
entries.  A hash created by one HSET with all its fields is built with a
single buffer write, so its ``bytearray`` has no growth slack.

Read-modify-write finds the field once.  ``Hash.set`` (HSET/HMSET of an
existing field), ``find_slot`` + ``set_at`` (HINCRBY, HINCRBYFLOAT) and
HSETNX's insert search a listpack once (``Listpack.find_value``: ``lpFind``
with skip 1, then one step to the value) and replace the value where it was
found (``Listpack.replace_at``: one ``encode_entry``, one slice
assignment, no second search or walk, the offset index kept); HINCRBY reads
an integer entry as an int and writes its result as an int (no decimal round
trip; the bytes are the same as for the decimal text).  On a hashtable ``find_slot`` returns the bucket and
``set_at`` writes into it.

Replies and propagation follow ``t_hash.c`` command by command: HINCRBYFLOAT
is propagated as ``HSET key field <result>`` (``c.rewritten_argv``), HGETALL
is a map (RESP3) / flat array (RESP2), HRANDFIELD with WITHVALUES nests pairs
in RESP3 only.  HSCAN uses ``commands.generic.scan_collection_command``: a
listpack hash returns everything with cursor 0, a hashtable one goes bucket
by bucket.

Hot path: HSET of one pair into a hashtable hash that is not rehashing
inlines ``Db.lookup``'s hit case (as list.py's hot path does: any other case
goes through ``db.lookup``), ``hashTypeSet`` on the HashTable bucket
(``HashTable.set``/``_insert_new``, resize test included), the reply, WATCH
and notify.  HSET/HMSET reply before they signal and notify, as ``hsetCommand``
does.

DIVERGENCE: HRANDFIELD's unique-sample cases (count < size) return fields in
listpack order (Redis's ``lpRandomPairsUnique``) or in HashTable order; the
selection is uniform but the random choices differ from Redis's, as any
random choice does.
"""
from __future__ import annotations

import random as _random
from typing import Any, Callable

from omakase import replies
from omakase.commands.generic import scan_collection_command
from omakase.commands.registry import command
from omakase.types._members import remove_members
from omakase.encodings.listpack import Listpack
from omakase.hashtable import BUCKET_LOAD, FORCE_RESIZE_RATIO, HashTable
from omakase.replies import CONE as _CONE, CZERO as _CZERO, INTEGERS
from omakase.types.string import INF, ld_add, ld_to_string, strtold
from omakase.util import LLONG_MAX, LLONG_MIN, cstr_lower, parse_ll

try:  # the notify module defines these once it exists
    from omakase.notify import NOTIFY_GENERIC, NOTIFY_HASH  # type: ignore
except ImportError:  # pragma: no cover - until the notify module lands
    NOTIFY_GENERIC = 1 << 2
    NOTIFY_HASH = 1 << 6

WRONGTYPE = replies.WRONGTYPE
# HashTable._insert_new grows a table past this load even while a fork child
# discourages resizing (dict_force_resize_ratio).
_FORCE_LOAD = BUCKET_LOAD * FORCE_RESIZE_RATIO
ERR_NOT_INT = "hash value is not an integer"
ERR_NOT_FLOAT = "hash value is not a float"
ERR_INCR_NAN = "value is NaN or Infinity"
ERR_RESULT_NAN = "increment would produce NaN or Infinity"
ERR_OUT_OF_RANGE = "value is out of range"

LISTPACK_SAFETY_SIZE = 1 << 30      # lpSafeToAdd's LISTPACK_MAX_SAFETY_SIZE
_LD_ZERO = strtold(b"0")
_LONG_HALF = LLONG_MAX // 2          # LONG_MAX/2 (C truncation, both signs)

# The 24-bit LRU/LFU field of a new object as an int, memoised so that all
# objects created in the same clock tick share one int object (an int per
# hash would cost 32 bytes each).  A pure cache: trailer bytes -> int.
_lru_memo: list = [b"", 0]


def new_lru(server: Any) -> int:
    t = server.new_object_trailer
    memo = _lru_memo
    if t == memo[0]:
        return memo[1]
    v = int.from_bytes(t, "little")
    memo[0] = t
    memo[1] = v
    return v


# ---------------------------------------------------------------------------
# Hash API
# ---------------------------------------------------------------------------
class Hash:
    """A hash value (see the module docstring).  ``data`` is a ``Listpack``
    (fields and values interleaved) or a ``HashTable`` (field -> value)."""

    __slots__ = ("data", "lru")
    type_name = "hash"
    scan_pairs = True

    def __init__(self, data: Any, lru: int) -> None:
        self.data = data
        self.lru = lru

    # -- construction ----------------------------------------------------------
    @classmethod
    def new(cls, server: Any) -> "Hash":
        """createHashObject: an empty listpack hash."""
        return cls(Listpack(), new_lru(server))

    @classmethod
    def from_pairs(cls, pairs: dict, lru: int, config: Any, force_ht: bool = False,
                   checked: bool = False, flat: list | None = None) -> "Hash":
        """A hash holding ``pairs`` (field -> value, insertion order kept),
        encoded as Redis would have encoded it after inserting them one by
        one into a new hash (``force_ht``: the try-conversion already said
        hashtable; ``checked``: the lengths were already checked; ``flat``:
        the same pairs as a flat list, when the caller has it)."""
        if not force_ht and not checked:
            maxv = config.hash_max_listpack_value
            for f, v in pairs.items():
                if len(f) > maxv or len(v) > maxv:
                    force_ht = True
                    break
        if force_ht or len(pairs) > config.hash_max_listpack_entries:
            ht = HashTable()
            add = ht.add
            for f, v in pairs.items():
                add(f, v)
            return cls(ht, lru)
        if flat is None:
            flat = []
            for kv in pairs.items():
                flat += kv
        return cls(Listpack(flat), lru)

    @classmethod
    def from_listpack(cls, lp: Listpack, lru: int) -> "Hash":
        """Adopt a listpack of field/value pairs (RDB loading)."""
        return cls(lp, lru)

    def copy(self) -> "Hash":
        d = self.data
        if d.__class__ is Listpack:
            return Hash(d.copy(), self.lru)
        ht = HashTable()
        add = ht.add
        for f, v in d.items():
            add(f, v)
        return Hash(ht, self.lru)

    # -- introspection ---------------------------------------------------------
    @property
    def encoding(self) -> str:
        return "listpack" if self.data.__class__ is Listpack else "hashtable"

    def __len__(self) -> int:
        d = self.data
        if d.__class__ is Listpack:
            return len(d) >> 1
        return d.used

    # -- conversion (the one place) ----------------------------------------------
    def convert(self) -> None:
        """hashTypeConvertListpack: listpack -> hashtable."""
        lp = self.data
        if lp.__class__ is not Listpack:
            return
        vals = lp.to_list()
        ht = HashTable()
        add = ht.add
        for i in range(0, len(vals), 2):
            add(vals[i], vals[i + 1])
        self.data = ht

    def try_conversion(self, argv: list[bytes], start: int, end: int, config: Any) -> None:
        """hashTypeTryConversion over argv[start..end] (inclusive)."""
        lp = self.data
        if lp.__class__ is not Listpack:
            return
        maxv = config.hash_max_listpack_value
        total = 0
        for i in range(start, end + 1):
            n = len(argv[i])
            if n > maxv:
                self.convert()
                return
            total += n
        if lp.nbytes + total > LISTPACK_SAFETY_SIZE:
            self.convert()

    # -- field access --------------------------------------------------------------
    def get(self, field: bytes) -> bytes | None:
        d = self.data
        if d.__class__ is Listpack:
            return d.lookup(field)
        return d.get(field)

    def exists(self, field: bytes) -> bool:
        d = self.data
        if d.__class__ is Listpack:
            return d.find(field, 0, 1) >= 0
        return field in d

    def set(self, field: bytes, value: bytes, config: Any) -> bool:
        """hashTypeSet: True if the field existed (its value was updated).
        One search of the listpack: an existing value is replaced in place."""
        d = self.data
        if d.__class__ is Listpack:
            maxv = config.hash_max_listpack_value
            if len(field) > maxv or len(value) > maxv:
                self.convert()
                d = self.data
            else:
                k, a = d.find_value(field)
                if k >= 0:
                    d.replace_at(k, a, value)
                    return True
                self._lp_insert(d, field, value, config)
                return False
        return not d.set(field, value)

    def _lp_insert(self, lp: Listpack, field: bytes, value: bytes, config: Any) -> None:
        """hashTypeSet's listpack insert of a field known to be absent."""
        lp.extend((field, value))
        if (len(lp) >> 1) > config.hash_max_listpack_entries:
            self.convert()

    # -- read-modify-write (HINCRBY, HINCRBYFLOAT, HSETNX) ----------------------
    def find_slot(self, field: bytes) -> tuple[Any, Any]:
        """``(value, slot)`` of ``field`` for a read-modify-write: ``value``
        is None when the field is missing, else bytes -- or an int for an
        integer listpack entry (no decimal round trip); ``slot`` (None when
        missing) is where the value lives, for ``set_at``: a listpack's
        ``(index, offset)`` of the value entry or the HashTable bucket."""
        d = self.data
        if d.__class__ is Listpack:
            k, a = d.find_value(field)
            if k < 0:
                return None, None
            return d.value_at(a), (k, a)
        b = d.bucket_for(field)
        v = b.get(field)
        return v, (None if v is None else b)

    def set_at(self, slot: Any, field: bytes, value: bytes, config: Any,
               elem: Any = None) -> None:
        """hashTypeSet right after ``find_slot`` returned ``slot`` (nothing
        changed in between): the found value is replaced where it is, a
        missing field inserted, without searching again.  ``elem`` is what
        a listpack stores (an int for HINCRBY's result; default
        ``value``).  A field or value longer than ``hash-max-listpack-value``
        converts first, as hashTypeSet does (HINCRBY*'s path)."""
        d = self.data
        if d.__class__ is Listpack:
            maxv = config.hash_max_listpack_value
            if len(field) > maxv or len(value) > maxv:
                self.convert()
                self.data.set(field, value)
            elif slot is not None:
                d.replace_at(slot[0], slot[1], value if elem is None else elem)
            else:
                self._lp_insert(d, field, value, config)
        elif slot is not None:
            slot[field] = value
        else:
            d.set(field, value)

    def delete(self, field: bytes) -> bool:
        """hashTypeDelete: True if the field was there."""
        d = self.data
        if d.__class__ is Listpack:
            i = d.find(field, 0, 1)
            if i < 0:
                return False
            d.delete_range(i, 2)
            return True
        if d.pop(field) is None:
            return False
        d.try_shrink()          # htNeedsResize -> dictResize
        return True

    # -- iteration ---------------------------------------------------------------------
    def flat(self) -> list[bytes]:
        """[field, value, field, value, ...] in iteration order."""
        d = self.data
        if d.__class__ is Listpack:
            return d.to_list()
        out: list = []
        for kv in d.items():
            out += kv
        return out

    def fields(self) -> list[bytes]:
        d = self.data
        if d.__class__ is Listpack:
            return d.to_list()[0::2]
        return list(d.keys())

    def values(self) -> list[bytes]:
        d = self.data
        if d.__class__ is Listpack:
            return d.to_list()[1::2]
        return [v for _, v in d.items()]

    def items(self) -> list[tuple[bytes, bytes]]:
        d = self.data
        if d.__class__ is Listpack:
            vals = d.to_list()
            return list(zip(vals[0::2], vals[1::2]))
        return list(d.items())

    def digest_into(self, digest: bytearray) -> None:
        """xorObjectDigest for a hash: per field, a fresh digest mixed with
        the field then the value, xored in."""
        from omakase.commands.debug import mix_digest, xor_digest
        for field, value in self.items():
            d = bytearray(20)
            mix_digest(d, field)
            mix_digest(d, value)
            xor_digest(digest, bytes(d))

    def scan(self, cursor: int, emit: Callable[[bytes, Any], None]) -> int:
        """One HSCAN step (see commands.generic.scan_generic)."""
        d = self.data
        if d.__class__ is Listpack:
            vals = d.to_list()
            for i in range(0, len(vals), 2):
                emit(vals[i], vals[i + 1])
            return 0
        return d.scan(cursor, emit)

    # -- random access -------------------------------------------------------------------
    def random_pair(self) -> tuple[bytes, bytes]:
        """hashTypeRandomElement (the hash is not empty)."""
        d = self.data
        if d.__class__ is Listpack:
            i = _random.randrange(len(d) >> 1) * 2
            return d.get(i), d.get(i + 1)
        return d.random_item()

    def random_pairs(self, count: int) -> list[tuple[bytes, bytes]]:
        """``count`` pairs drawn with replacement (lpRandomPairs /
        dictGetFairRandomKey in a loop), in draw order."""
        d = self.data
        if d.__class__ is Listpack:
            vals = d.to_list()
            n = len(vals) >> 1
            rnd = _random.randrange
            out = []
            for _ in range(count):
                i = rnd(n) * 2
                out.append((vals[i], vals[i + 1]))
            return out
        pick = d.random_item
        return [pick() for _ in range(count)]

    def random_unique_pairs(self, count: int) -> list[tuple[bytes, bytes]]:
        """``count`` distinct pairs, 0 < count < len(self) (HRANDFIELD's
        CASE 3 and CASE 4)."""
        d = self.data
        size = len(self)
        if d.__class__ is Listpack:
            vals = d.to_list()
            picks = sorted(_random.sample(range(size), count))
            return [(vals[2 * i], vals[2 * i + 1]) for i in picks]
        if count * 3 > size:
            # CASE 3: copy everything, drop random entries down to count.
            return _random.sample(list(d.items()), count)
        # CASE 4: draw until enough distinct fields were seen.
        got: dict = {}
        pick = d.random_item
        while len(got) < count:
            f, v = pick()
            got[f] = v
        return list(got.items())


def lookup_hash_read(c: Any, key: bytes) -> Hash | None | bool:
    """lookupKeyRead + checkType: the hash, None if missing, False after a
    WRONGTYPE reply."""
    o = c.db.lookup_read(key)
    if o is None:
        return None
    if o.__class__ is not Hash:
        c.add_reply_error(WRONGTYPE)
        return False
    return o


# ---------------------------------------------------------------------------
# Hash commands
# ---------------------------------------------------------------------------
def _hset_generic(c: Any, argv: list[bytes], name: str) -> int | None:
    """HSET/HMSET: the number of fields created, or None after an error.
    The caller replies, then calls ``_hset_done`` (Redis replies before
    signalling and notifying)."""
    n = len(argv)
    if n % 2:
        c.add_reply_error(replies.wrong_arity(name))
        return None
    key = argv[1]
    db = c.db
    server = c.server
    config = server.config
    o = db.lookup(key, True, False)         # lookupKeyWrite
    if o is None:
        # A new hash: built in one go (same content and encoding as Redis's
        # field-by-field inserts; hashTypeTryConversion checks every arg).
        args = argv[2:]
        if n == 4:
            pairs = {argv[2]: argv[3]}
        else:
            pairs = dict(zip(argv[2::2], argv[3::2]))
        force_ht = (max(map(len, args)) > config.hash_max_listpack_value
                    or sum(map(len, args)) + 7 > LISTPACK_SAFETY_SIZE)
        db.add(key, Hash.from_pairs(pairs, new_lru(server), config, force_ht, True,
                                    args if len(pairs) * 2 == n - 2 else None))
        return len(pairs)
    if o.__class__ is not Hash:
        c.add_reply_error(WRONGTYPE)
        return None
    o.try_conversion(argv, 2, n - 1, config)
    created = 0
    hset = o.set
    for i in range(2, n, 2):
        if not hset(argv[i], argv[i + 1], config):
            created += 1
    return created


def _hash_written(c: Any, key: bytes, event: str, changes: int) -> None:
    """The tail of every hash write, in Redis's order after the reply:
    WATCH/tracking (``signal_modified_key`` only when someone listens), the
    keyspace event, ``server.dirty``."""
    db = c.db
    if db.watched_keys or db.tracking_hook is not None:
        db.signal_modified_key(key)
    server = c.server
    hook = server.notify_hook
    if hook is not None:
        hook(NOTIFY_HASH, event, key, db.id)
    server.dirty += changes


def _hset_done(c: Any, argv: list[bytes]) -> None:
    """HSET/HMSET's tail: the "hset" event, one change per pair."""
    _hash_written(c, argv[1], "hset", (len(argv) - 2) >> 1)


@command("hset")
def hset_command(c: Any, argv: list[bytes]) -> None:
    db = c.db
    key = argv[1]
    ht = db.keys
    if ht.rehashidx < 0 and not db.expires.used and len(argv) == 4:
        o = ht.t0[hash(key) & ht.mask0].get(key)
        if o.__class__ is Hash:
            d = o.data
            if d.__class__ is HashTable and d.rehashidx < 0:
                # Hot path (HSET key field value on a hashtable hash that is
                # not rehashing).  db.lookup(key, True, False) inline: the
                # key was found without rehashing or TTLs around, so only
                # the LRU/LFU touch is left.  hashTypeTryConversion has
                # nothing to do for a hashtable, and hashTypeSet is
                # HashTable.set / _insert_new with the bucket looked up here.
                server = c.server
                if not server.no_touch:
                    o.lru = server.lfu_touch(o.lru) if server.lfu else server.lru_clock
                f = argv[2]
                t0 = d.t0
                b = t0[hash(f) & d.mask0]
                if f in b:
                    b[f] = argv[3]
                    if not c.reply_off:
                        c.reply.append(_CZERO)
                else:
                    b[f] = argv[3]
                    used = d.used = d.used + 1
                    if used > len(t0) * BUCKET_LOAD and (
                            d.resize_allowed or used > len(t0) * _FORCE_LOAD):
                        d._start_resize(len(t0) * 2)
                    if not c.reply_off:
                        c.reply.append(_CONE)
                # _hset_done, inline
                if db.watched_keys or db.tracking_hook is not None:
                    db.signal_modified_key(key)
                hook = server.notify_hook
                if hook is not None:
                    hook(NOTIFY_HASH, "hset", key, db.id)
                server.dirty += 1
                return
    created = _hset_generic(c, argv, "hset")
    if created is None:
        return
    if not c.reply_off:
        c.reply.append(INTEGERS[created] if created < 10000 else b":%d\r\n" % created)
    _hset_done(c, argv)


@command("hmset")
def hmset_command(c: Any, argv: list[bytes]) -> None:
    if _hset_generic(c, argv, "hmset") is not None:
        c.add_reply_ok()
        _hset_done(c, argv)


@command("hsetnx")
def hsetnx_command(c: Any, argv: list[bytes]) -> None:
    key, field, value = argv[1], argv[2], argv[3]
    db = c.db
    server = c.server
    config = server.config
    o = db.lookup_write(key)
    if o is None:
        db.add(key, Hash.from_pairs({field: value}, new_lru(server), config))
    elif o.__class__ is not Hash:
        c.add_reply_error(WRONGTYPE)
        return
    elif o.exists(field):
        c.add_reply_int(0)
        return
    else:
        o.try_conversion(argv, 2, 3, config)
        o.set_at(None, field, value, config)
    c.add_reply_int(1)
    _hash_written(c, key, "hset", 1)


@command("hget")
def hget_command(c: Any, argv: list[bytes]) -> None:
    o = c.db.lookup_read(argv[1])
    if o is None:
        c.add_reply_null()
        return
    if o.__class__ is not Hash:
        c.add_reply_error(WRONGTYPE)
        return
    v = o.get(argv[2])
    if v is None:
        c.add_reply_null()
    else:
        c.add_reply_bulk(v)


@command("hmget")
def hmget_command(c: Any, argv: list[bytes]) -> None:
    o = lookup_hash_read(c, argv[1])
    if o is False:
        return
    fields = argv[2:]
    if o is None:
        c.add_reply_bulk_or_null_array([None] * len(fields))
        return
    d = o.data
    if d.__class__ is Listpack and len(fields) * 8 > len(d):
        # Many of the fields: one decode of the whole listpack wins over
        # a search per field (a search is a C find plus a few steps).
        vals = d.to_list()
        m = dict(zip(vals[0::2], vals[1::2]))
        c.add_reply_bulk_or_null_array([m.get(f) for f in fields])
        return
    get = o.get
    c.add_reply_bulk_or_null_array([get(f) for f in fields])


@command("hdel")
def hdel_command(c: Any, argv: list[bytes]) -> None:
    key = argv[1]
    db = c.db
    o = db.lookup_write(key)
    if o is None:
        c.add_reply_int(0)
        return
    if o.__class__ is not Hash:
        c.add_reply_error(WRONGTYPE)
        return
    deleted = remove_members(c, key, o, argv[2:], Hash.delete, NOTIFY_HASH, "hdel")
    c.add_reply_int(deleted)


@command("hlen")
def hlen_command(c: Any, argv: list[bytes]) -> None:
    o = lookup_hash_read(c, argv[1])
    if o is False:
        return
    c.add_reply_int(0 if o is None else len(o))


@command("hstrlen")
def hstrlen_command(c: Any, argv: list[bytes]) -> None:
    o = lookup_hash_read(c, argv[1])
    if o is False:
        return
    v = None if o is None else o.get(argv[2])
    c.add_reply_int(0 if v is None else len(v))


@command("hexists")
def hexists_command(c: Any, argv: list[bytes]) -> None:
    o = lookup_hash_read(c, argv[1])
    if o is False:
        return
    c.add_reply_int(1 if o is not None and o.exists(argv[2]) else 0)


@command("hkeys")
def hkeys_command(c: Any, argv: list[bytes]) -> None:
    o = lookup_hash_read(c, argv[1])
    if o is False:
        return
    c.add_reply_bulks([] if o is None else o.fields())


@command("hvals")
def hvals_command(c: Any, argv: list[bytes]) -> None:
    o = lookup_hash_read(c, argv[1])
    if o is False:
        return
    c.add_reply_bulks([] if o is None else o.values())


@command("hgetall")
def hgetall_command(c: Any, argv: list[bytes]) -> None:
    o = lookup_hash_read(c, argv[1])
    if o is False:
        return
    if o is None:
        c.add_reply_map_len(0)
        return
    d = o.data
    if d.__class__ is Listpack:
        # The listpack's entries as RESP bulks, built once and kept until
        # the hash changes (``Listpack.resp_range``, as LRANGE uses it).
        n = len(d)
        c.add_reply_map_len(n >> 1)
        if n:
            c.add_reply(d.resp_range(0, n))
        return
    flat = o.flat()
    if c.resp == 2:
        # A RESP2 map is a flat array: one C-level pack for the whole reply.
        c.add_reply_bulks(flat)
        return
    c.add_reply_map_len(len(flat) >> 1)
    bulk = c.add_reply_bulk
    for x in flat:
        bulk(x)


@command("hincrby")
def hincrby_command(c: Any, argv: list[bytes]) -> None:
    ok, incr = parse_ll(argv[3])
    if not ok:
        c.add_reply_error(replies.NOT_INTEGER)
        return
    key, field = argv[1], argv[2]
    db = c.db
    o = db.lookup_write(key)
    if o is not None and o.__class__ is not Hash:
        c.add_reply_error(WRONGTYPE)
        return
    cur, slot = (None, None) if o is None else o.find_slot(field)
    if cur is None:
        value = 0
    elif cur.__class__ is int:
        value = cur                 # an integer listpack entry: no string2ll
    else:
        ok, value = parse_ll(cur)
        if not ok:
            c.add_reply_error(ERR_NOT_INT)
            return
    if (incr < 0 and value < 0 and incr < LLONG_MIN - value) or \
            (incr > 0 and value > 0 and incr > LLONG_MAX - value):
        c.add_reply_error(replies.OVERFLOW)
        return
    value += incr
    server = c.server
    new = b"%d" % value
    if o is None:
        db.add(key, Hash.from_pairs({field: new}, new_lru(server), server.config))
    else:
        o.set_at(slot, field, new, server.config, value)
    c.add_reply_int(value)
    _hash_written(c, key, "hincrby", 1)


@command("hincrbyfloat")
def hincrbyfloat_command(c: Any, argv: list[bytes]) -> None:
    incr = strtold(argv[3])
    if incr is None:
        c.add_reply_error(replies.NOT_FLOAT)
        return
    if incr[0] is INF:
        c.add_reply_error(ERR_INCR_NAN)
        return
    key, field = argv[1], argv[2]
    db = c.db
    o = db.lookup_write(key)
    if o is not None and o.__class__ is not Hash:
        c.add_reply_error(WRONGTYPE)
        return
    cur, slot = (None, None) if o is None else o.find_slot(field)
    if cur is None:
        value = _LD_ZERO
    else:
        value = strtold(b"%d" % cur if cur.__class__ is int else cur)
        if value is None:
            c.add_reply_error(ERR_NOT_FLOAT)
            return
    if value[0] is INF:
        c.add_reply_error(ERR_RESULT_NAN)     # inf + finite is inf
        return
    total = ld_add(value, incr)
    if total is INF:
        c.add_reply_error(ERR_RESULT_NAN)
        return
    new = ld_to_string(total)
    server = c.server
    if o is None:
        db.add(key, Hash.from_pairs({field: new}, new_lru(server), server.config))
    else:
        o.set_at(slot, field, new, server.config)
    c.add_reply_bulk(new)
    _hash_written(c, key, "hincrbyfloat", 1)
    # Always propagated as HSET with the final value, so that replicas and
    # the AOF never redo the floating point math.
    c.rewritten_argv = [b"HSET", key, field, new]


def _reply_pairs(c: Any, pairs: list, withvalues: bool) -> None:
    """HRANDFIELD's reply body: fields, or pairs (flat in RESP2, nested
    two-element arrays in RESP3), as hrandfieldReplyWithListpack does."""
    if not withvalues:
        c.add_reply_bulks([f for f, _ in pairs])
        return
    if c.resp == 2:
        flat: list = []
        for kv in pairs:
            flat += kv
        c.add_reply_bulks(flat)
        return
    c.add_reply_array_len(len(pairs))
    arr = c.add_reply_array_len
    bulk = c.add_reply_bulk
    for f, v in pairs:
        arr(2)
        bulk(f)
        bulk(v)


def _hrandfield_with_count(c: Any, key: bytes, l: int, withvalues: bool) -> None:
    o = lookup_hash_read(c, key)
    if o is False:
        return
    if o is None:
        c.add_reply_array_len(0)
        return
    size = len(o)
    if l >= 0:
        count, uniq = l, True
    else:
        count, uniq = -l, False
    if count == 0:
        c.add_reply_array_len(0)
        return
    if not uniq or count == 1:
        # CASE 1: draws with replacement, in draw order.
        _reply_pairs(c, o.random_pairs(count), withvalues)
        return
    if count >= size:
        # CASE 2: the whole hash, in its order.
        _reply_pairs(c, o.items(), withvalues)
        return
    # CASE 3 / CASE 4: count distinct fields.
    _reply_pairs(c, o.random_unique_pairs(count), withvalues)


@command("hrandfield")
def hrandfield_command(c: Any, argv: list[bytes]) -> None:
    n = len(argv)
    if n >= 3:
        ok, l = parse_ll(argv[2])
        if not ok:
            c.add_reply_error(replies.NOT_INTEGER)
            return
        if l < -LLONG_MAX:
            c.add_reply_error(replies.out_of_int_range(-LLONG_MAX, LLONG_MAX))
            return
        if n > 4 or (n == 4 and cstr_lower(argv[3]) != b"withvalues"):
            c.add_reply_error(replies.SYNTAX)
            return
        withvalues = n == 4
        if withvalues and (l < -_LONG_HALF or l > _LONG_HALF):
            c.add_reply_error(ERR_OUT_OF_RANGE)
            return
        _hrandfield_with_count(c, argv[1], l, withvalues)
        return
    o = lookup_hash_read(c, argv[1])
    if o is False:
        return
    if o is None:
        c.add_reply_null()
        return
    c.add_reply_bulk(o.random_pair()[0])


@command("hscan")
def hscan_command(c: Any, argv: list[bytes]) -> None:
    scan_collection_command(c, argv, "hash")
