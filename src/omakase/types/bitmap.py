"""Bitmaps: the bit commands on the string type (Redis 7.0's ``bitops.c``).

A bitmap is not a type of its own: it is a string read as a sequence of bits,
bit 0 being the most significant bit of the first byte (so SETBIT, BITFIELD
and GETRANGE agree on what a byte holds).  GET returns the bytes, STRLEN the
byte count, and any string (``int``/``embstr``/``raw``) is a valid bitmap.

Storage
-------
Readers (GETBIT, BITCOUNT, BITPOS, BITFIELD/BITFIELD_RO with GETs only, the
sources of BITOP) work on the stored value as it is: a ``bytes`` with the
3-byte LRU trailer (every read is clipped at ``len - 3``) or the ``bytearray``
of an ``objects.RawString``; nothing is copied for the large cases.

Writers follow ``lookupStringForBitCommand``: a missing key is created as a
zero-filled ``RawString`` long enough for the highest bit written, an existing
one is unshared (``types.string.unshare_string``, Redis's
``dbUnshareStringValue``) and grown with zeros, then modified in place.  So
after SETBIT or a writing BITFIELD, OBJECT ENCODING says ``raw``, as in
Redis, even when nothing changed.  BITOP stores a fresh ``RawString`` (Redis
stores ``createObject(OBJ_STRING, sds)``, also ``raw``), through ``set_key``
(which drops the destination's TTL) after a write lookup of the destination
(``setKey``'s ``lookupKeyWrite``: lazy expiry).

How the bit work is done in Python
----------------------------------
Per-bit loops are what ``bitops.c`` does in C; here they would cost about
0.1 us per bit, so every operation is a few calls into C:

* BITCOUNT: ``int.from_bytes(chunk).bit_count()`` over 64 KiB memoryview
  chunks (~2.4 ms per MiB of random bytes; bigger chunks fall out of the CPU
  cache and are slower), with the two partial edge bytes of a BIT range
  subtracted as ``bitcountCommand`` does;
* BITPOS: skip whole 64 KiB chunks of 0x00 (looking for 1) or 0xff (looking
  for 0) with ``startswith`` (a memcmp, ~0.1 ms per MiB), then find the first
  other byte with ``lstrip``, and the bit in it with ``int.bit_length``;
* BITOP: each source is one little-endian ``int`` (shorter sources are
  zero-padded on the right of the string for free: those are the high bits),
  combined with ``& | ^`` and written back with ``to_bytes``;
* BITFIELD: a field of up to 64 bits spans at most 9 bytes; it is read as one
  big-endian int, shifted and masked, and written back the same way.

The overflow rules of BITFIELD INCRBY/SET (``checkSignedBitfieldOverflow`` /
``checkUnsignedBitfieldOverflow``) are computed on exact integers: an
operation overflows when the mathematical result leaves [min, max] of the
field type; WRAP reduces it modulo 2**bits (two's complement for signed
fields), SAT clamps, FAIL replies null and writes nothing.  A negative SET
value on an unsigned field is, as in C, the huge uint64 it casts to: it
overflows upwards (SAT gives the maximum, WRAP the low bits).

Semantics that are 7.0.15's (and not later versions')
----------------------------------------------------
* BITCOUNT and BITPOS look the key up *before* parsing the range: a missing
  key replies 0 (BITPOS: -1 for bit 1, 0 for bit 0) whatever the other
  arguments are, and WRONGTYPE wins over a syntax error.  BITCOUNT replies 0
  for "both negative and start > end" before checking BIT/BYTE.
* BITPOS 0 without an explicit end treats the string as zero-padded on the
  right (the answer can be the bit just after the string); with an end, and
  always with BIT, "no such bit" is -1.
* SETBIT and BITFIELD count a change (signal, "setbit" event, dirty) only
  when the key was created or grew, or a field's value changed.  A BITFIELD
  whose writes all FAIL still creates/grows/unshares the key, silently.
* Bit offsets are limited by ``proto-max-bulk-len`` (``offset >> 3`` must be
  below it) unless the client must be obeyed (master, AOF loading); the
  ``#N`` form of BITFIELD multiplies N by the field width with C's 64-bit
  wrap-around.

Events: SETBIT and BITFIELD notify ``setbit``; BITOP ``set`` (or ``del``,
class generic, when the result is empty and the destination existed).  Both
BITFIELD and SETBIT propagate as sent (only when dirty moved, so a BITFIELD
of GETs only is never propagated).

DIVERGENCE: none intended.
"""
from __future__ import annotations

from omakase import replies
from omakase.commands.registry import command
from omakase.notify import NOTIFY_STRING
from omakase.objects import RawString
from omakase.types._members import delete_destination
from omakase.types.string import must_obey_client, new_lru, unshare_string
from omakase.util import clamp_range, cstr_lower, parse_ll

WRONGTYPE = replies.WRONGTYPE
_CZERO = replies.CZERO
_CONE = replies.CONE

# Error strings of this file (bitops.c); shared ones are in replies.py.
ERR_BIT_OFFSET = "bit offset is not an integer or out of range"
ERR_BIT_VALUE = "bit is not an integer or out of range"
ERR_BITFIELD_TYPE = ("Invalid bitfield type. Use something like i16 u8. "
                     "Note that u64 is not supported but i64 is.")
ERR_BITPOS_BIT = "The bit argument must be 1 or 0."
ERR_BITOP_NOT = "BITOP NOT must be called with a single source key."
ERR_OVERFLOW_TYPE = "Invalid OVERFLOW type specified"
ERR_BITFIELD_RO = "BITFIELD_RO only supports the GET subcommand"

# BITFIELD opcodes and overflow kinds (bitops.c BITFIELDOP_*, BFOVERFLOW_*).
OP_GET = 0
OP_SET = 1
OP_INCRBY = 2
OVERFLOW_WRAP = 0
OVERFLOW_SAT = 1
OVERFLOW_FAIL = 2
_OVERFLOW_NAMES = {b"wrap": OVERFLOW_WRAP, b"sat": OVERFLOW_SAT, b"fail": OVERFLOW_FAIL}

_U64 = (1 << 64) - 1
_I64_SIGN = 1 << 63

_POPCOUNT_CHUNK = 1 << 16           # measured: larger chunks fall out of cache
_SKIP_CHUNK = 1 << 16
_ZEROS = bytes(_SKIP_CHUNK)
_ONES = b"\xff" * _SKIP_CHUNK


# ---------------------------------------------------------------------------
# Bitmap API
# ---------------------------------------------------------------------------
def string_view(v):
    """(data, length) of a stored string: ``data`` may be longer than
    ``length`` (the trailer of a bytes value), never read past it."""
    if v.__class__ is bytes:
        return v, len(v) - 3
    return v.buf, len(v.buf)


def popcount(data, start: int, end: int) -> int:
    """Set bits in data[start:end] (redisPopcount)."""
    if end - start <= _POPCOUNT_CHUNK:
        return int.from_bytes(data[start:end], "little").bit_count()
    mv = memoryview(data)
    n = 0
    try:
        for i in range(start, end, _POPCOUNT_CHUNK):
            n += int.from_bytes(mv[i:min(i + _POPCOUNT_CHUNK, end)], "little").bit_count()
    finally:
        mv.release()
    return n


def first_other_byte(data, start: int, end: int, skip: int) -> int:
    """Index of the first byte of data[start:end] that is not ``skip``
    (0x00 or 0xff), or -1."""
    chunk = _ZEROS if skip == 0 else _ONES
    i = start
    while end - i >= _SKIP_CHUNK and data.startswith(chunk, i):
        i += _SKIP_CHUNK
    sb = b"\0" if skip == 0 else b"\xff"
    while i < end:
        seg = bytes(data[i:min(i + _SKIP_CHUNK, end)])
        rest = seg.lstrip(sb)
        if rest:
            return i + len(seg) - len(rest)
        i += len(seg)
    return -1


def find_bit(data, first: int, last: int, bit: int) -> int:
    """Absolute position of the first bit equal to ``bit`` among bits
    first..last (inclusive) of data, or -1.  The caller keeps the range
    inside the string."""
    flip = 0 if bit else 0xFF          # look for 1 bits in (byte ^ flip)
    b0 = first >> 3
    b1 = last >> 3
    x = (data[b0] ^ flip) & (0xFF >> (first & 7))
    if b0 == b1:
        x &= (0xFF << (7 - (last & 7))) & 0xFF
    if x:
        return b0 * 8 + 8 - x.bit_length()
    if b0 == b1:
        return -1
    i = first_other_byte(data, b0 + 1, b1, flip)
    if i >= 0:
        return i * 8 + 8 - (data[i] ^ flip).bit_length()
    x = (data[b1] ^ flip) & (0xFF << (7 - (last & 7))) & 0xFF
    if x:
        return b1 * 8 + 8 - x.bit_length()
    return -1


def get_unsigned_field(data, length: int, offset: int, bits: int) -> int:
    """The unsigned field of ``bits`` bits at bit ``offset``; bits past the
    end of the string read as zero (getUnsignedBitfield on a padded copy)."""
    b0 = offset >> 3
    n = ((offset + bits - 1) >> 3) - b0 + 1
    end = b0 + n
    if end <= length:
        word = int.from_bytes(data[b0:end], "big")
    elif b0 < length:
        word = int.from_bytes(data[b0:length], "big") << (8 * (end - length))
    else:
        return 0
    return (word >> (n * 8 - (offset & 7) - bits)) & ((1 << bits) - 1)


def get_signed_field(data, length: int, offset: int, bits: int) -> int:
    u = get_unsigned_field(data, length, offset, bits)
    if u >> (bits - 1):
        u -= 1 << bits
    return u


def set_field(buf: bytearray, offset: int, bits: int, value: int) -> None:
    """Store the low ``bits`` bits of value (two's complement for negative
    values) at bit ``offset``; ``buf`` is long enough."""
    b0 = offset >> 3
    end = ((offset + bits - 1) >> 3) + 1
    n = end - b0
    shift = n * 8 - (offset & 7) - bits
    mask = ((1 << bits) - 1) << shift
    word = int.from_bytes(buf[b0:end], "big")
    word = (word & ~mask) | ((value << shift) & mask)
    buf[b0:end] = word.to_bytes(n, "big")


def signed_overflow(value: int, incr: int, bits: int, owtype: int):
    """checkSignedBitfieldOverflow: (overflow, limit) where overflow is 1, -1
    or 0 and limit the value to store when it is not 0 (WRAP/SAT)."""
    half = 1 << (bits - 1)
    total = value + incr
    if total >= half:
        ov = 1
    elif total < -half:
        ov = -1
    else:
        return 0, total
    if owtype == OVERFLOW_SAT:
        return ov, (half - 1) if ov > 0 else -half
    return ov, ((total + half) & ((1 << bits) - 1)) - half


def unsigned_overflow(value: int, incr: int, bits: int, owtype: int):
    """checkUnsignedBitfieldOverflow for a value already reduced to uint64
    and a signed 64-bit increment: (overflow, limit)."""
    top = (1 << bits) - 1
    if value > top or (incr > 0 and value + incr > top):
        ov = 1
    elif incr < 0 and value + incr < 0:
        ov = -1
    else:
        return 0, value + incr
    if owtype == OVERFLOW_SAT:
        return ov, top if ov > 0 else 0
    return ov, (value + incr) & top


def bit_offset_or_reply(c, arg: bytes, bits: int = 0) -> int | None:
    """getBitOffsetFromArgument: the offset, or None after an error reply.
    With ``bits`` (BITFIELD) the ``#N`` form means N * bits."""
    usehash = bits > 0 and arg[:1] == b"#"
    ok, off = parse_ll(arg[1:] if usehash else arg)
    if not ok:
        c.add_reply_error(ERR_BIT_OFFSET)
        return None
    if usehash:
        off = ((off * bits + _I64_SIGN) & _U64) - _I64_SIGN    # C's wrap-around
    if off < 0 or ((off >> 3) >= c.server.config.proto_max_bulk_len
                   and not must_obey_client(c)):
        c.add_reply_error(ERR_BIT_OFFSET)
        return None
    return off


def bitfield_type(arg: bytes):
    """getBitfieldTypeFromArgument: (signed, bits), or None.  The width is
    read up to the first NUL (C's strlen)."""
    kind = arg[:1]
    if kind == b"i":
        signed = True
    elif kind == b"u":
        signed = False
    else:
        return None
    digits = arg[1:]
    nul = digits.find(b"\0")
    if nul >= 0:
        digits = digits[:nul]
    ok, bits = parse_ll(digits)
    if not ok or bits < 1 or bits > (64 if signed else 63):
        return None
    return signed, bits


def string_for_bit_write(c, key: bytes, maxbit: int):
    """lookupStringForBitCommand: the key's RawString, created or grown with
    zeros so that bit ``maxbit`` exists, and whether it was created/grown.
    None after a WRONGTYPE reply."""
    db = c.db
    need = (maxbit >> 3) + 1
    v = db.lookup_write(key)
    if v is None:
        rs = RawString(bytearray(need), new_lru(c.server))
        db.add(key, rs)
        return rs, True
    if v.__class__ is not bytes and v.__class__ is not RawString:
        c.add_reply_error(WRONGTYPE)
        return None
    rs = unshare_string(db, key, v)
    buf = rs.buf
    grow = need - len(buf)
    if grow > 0:
        buf += bytes(grow)
        return rs, True
    return rs, False


def _read_string_or_reply(c, key: bytes):
    """lookupKeyRead + checkType: the stored value, None when missing,
    False after a WRONGTYPE reply."""
    v = c.db.lookup(key)
    if v is None or v.__class__ is bytes or v.__class__ is RawString:
        return v
    c.add_reply_error(WRONGTYPE)
    return False


# ---------------------------------------------------------------------------
# Bitmap commands
# ---------------------------------------------------------------------------
@command("setbit")
def setbit_command(c, argv: list[bytes]) -> None:
    offset = bit_offset_or_reply(c, argv[2])
    if offset is None:
        return
    ok, on = parse_ll(argv[3])
    if not ok or on & ~1:
        c.add_reply_error(ERR_BIT_VALUE)
        return
    key = argv[1]
    got = string_for_bit_write(c, key, offset)
    if got is None:
        return
    rs, grown = got
    buf = rs.buf
    byte = offset >> 3
    mask = 0x80 >> (offset & 7)
    old = buf[byte] & mask
    if grown or (old != 0) != on:
        if on:
            buf[byte] |= mask
        else:
            buf[byte] &= ~mask & 0xFF
        db = c.db
        db.signal_modified_key(key)
        c.server.notify(NOTIFY_STRING, "setbit", key, db.id)
        c.server.dirty += 1
    c.add_reply(_CONE if old else _CZERO)


@command("getbit")
def getbit_command(c, argv: list[bytes]) -> None:
    offset = bit_offset_or_reply(c, argv[2])
    if offset is None:
        return
    v = _read_string_or_reply(c, argv[1])
    if v is False:
        return
    bitval = 0
    if v is not None:
        data, length = string_view(v)
        byte = offset >> 3
        if byte < length:
            bitval = data[byte] & (0x80 >> (offset & 7))
    c.add_reply(_CONE if bitval else _CZERO)


def _parse_bit_unit(c, arg: bytes) -> bool | None:
    """The BYTE | BIT argument of BITCOUNT / BITPOS: True for BIT; None
    after the syntax error reply."""
    unit = cstr_lower(arg)
    if unit == b"bit":
        return True
    if unit != b"byte":
        c.add_reply_error(replies.SYNTAX)
        return None
    return False


@command("bitcount")
def bitcount_command(c, argv: list[bytes]) -> None:
    v = _read_string_or_reply(c, argv[1])
    if v is None:
        c.add_reply(_CZERO)
        return
    if v is False:
        return
    data, strlen = string_view(v)
    argc = len(argv)
    if argc == 2:
        c.add_reply_int(popcount(data, 0, strlen))
        return
    if argc > 5 or argc == 3:
        c.add_reply_error(replies.SYNTAX)
        return
    ok, start = parse_ll(argv[2])
    if not ok:
        c.add_reply_error(replies.NOT_INTEGER)
        return
    ok, end = parse_ll(argv[3])
    if not ok:
        c.add_reply_error(replies.NOT_INTEGER)
        return
    if start < 0 and end < 0 and start > end:
        c.add_reply(_CZERO)
        return
    isbit = False
    if argc == 5:
        isbit = _parse_bit_unit(c, argv[4])
        if isbit is None:
            return
    start, end = clamp_range(start, end, strlen * 8 if isbit else strlen)
    if start > end:
        c.add_reply(_CZERO)
        return
    if not isbit:
        c.add_reply_int(popcount(data, start, end + 1))
        return
    b0 = start >> 3
    b1 = end >> 3
    count = popcount(data, b0, b1 + 1)
    # Subtract the bits of the edge bytes that lie outside the range.
    count -= (data[b0] & (0xFF00 >> (start & 7)) & 0xFF).bit_count()
    count -= (data[b1] & (0xFF >> ((end & 7) + 1))).bit_count()
    c.add_reply_int(count)


@command("bitpos")
def bitpos_command(c, argv: list[bytes]) -> None:
    ok, bit = parse_ll(argv[2])
    if not ok:
        c.add_reply_error(replies.NOT_INTEGER)
        return
    if bit != 0 and bit != 1:
        c.add_reply_error(ERR_BITPOS_BIT)
        return
    v = c.db.lookup(argv[1])
    if v is None:
        c.add_reply_int(-1 if bit else 0)
        return
    if v.__class__ is not bytes and v.__class__ is not RawString:
        c.add_reply_error(WRONGTYPE)
        return
    data, strlen = string_view(v)
    argc = len(argv)
    isbit = end_given = False
    if argc == 3:
        start, end = 0, strlen - 1
    elif argc <= 6:
        ok, start = parse_ll(argv[3])
        if not ok:
            c.add_reply_error(replies.NOT_INTEGER)
            return
        if argc == 6:
            isbit = _parse_bit_unit(c, argv[5])
            if isbit is None:
                return
        if argc >= 5:
            ok, end = parse_ll(argv[4])
            if not ok:
                c.add_reply_error(replies.NOT_INTEGER)
                return
            end_given = True
        else:
            end = strlen - 1
        start, end = clamp_range(start, end, strlen * 8 if isbit else strlen)
    else:
        c.add_reply_error(replies.SYNTAX)
        return
    if start > end:
        c.add_reply_int(-1)
        return
    if isbit:
        c.add_reply_int(find_bit(data, start, end, bit))
        return
    pos = find_bit(data, start * 8, end * 8 + 7, bit)
    if pos < 0 and bit == 0 and not end_given:
        pos = (end + 1) * 8     # the string is zero-padded on the right
    c.add_reply_int(pos)


@command("bitop")
def bitop_command(c, argv: list[bytes]) -> None:
    op = cstr_lower(argv[1])
    if op not in (b"and", b"or", b"xor", b"not"):
        c.add_reply_error(replies.SYNTAX)
        return
    if op == b"not" and len(argv) != 4:
        c.add_reply_error(ERR_BITOP_NOT)
        return
    db = c.db
    lookup = db.lookup
    values = []
    maxlen = 0
    for key in argv[3:]:
        v = lookup(key)
        if v is None:
            values.append(0)
            continue
        if v.__class__ is bytes:
            n = len(v) - 3
            values.append(int.from_bytes(v[:-3], "little") if n else 0)
        elif v.__class__ is RawString:
            n = len(v.buf)
            values.append(int.from_bytes(v.buf, "little"))
        else:
            c.add_reply_error(WRONGTYPE)
            return
        if n > maxlen:
            maxlen = n
    server = c.server
    dest = argv[2]
    if maxlen:
        acc = values[0]
        if op == b"and":
            for x in values[1:]:
                acc &= x
        elif op == b"or":
            for x in values[1:]:
                acc |= x
        elif op == b"xor":
            for x in values[1:]:
                acc ^= x
        else:
            acc ^= (1 << (8 * maxlen)) - 1
        res = RawString(bytearray(acc.to_bytes(maxlen, "little")), new_lru(server))
        db.lookup_write(dest)           # setKey's lookupKeyWrite: lazy expiry
        db.set_key(dest, res)
        server.notify(NOTIFY_STRING, "set", dest, db.id)
        server.dirty += 1
    else:
        delete_destination(c, dest)
    c.add_reply_int(maxlen)


def _bitfield_generic(c, argv: list[bytes], readonly_cmd: bool) -> None:
    """bitfieldGeneric: parse every operation, then look the key up once
    (for reading when there are only GETs), then run them in order."""
    ops = []
    owtype = OVERFLOW_WRAP
    readonly = True
    highest = 0
    argc = len(argv)
    j = 2
    while j < argc:
        remargs = argc - j - 1
        sub = cstr_lower(argv[j])
        if sub == b"get" and remargs >= 2:
            opcode = OP_GET
        elif sub == b"set" and remargs >= 3:
            opcode = OP_SET
        elif sub == b"incrby" and remargs >= 3:
            opcode = OP_INCRBY
        elif sub == b"overflow" and remargs >= 1:
            kind = _OVERFLOW_NAMES.get(cstr_lower(argv[j + 1]))
            if kind is None:
                c.add_reply_error(ERR_OVERFLOW_TYPE)
                return
            owtype = kind
            j += 2
            continue
        else:
            c.add_reply_error(replies.SYNTAX)
            return
        ftype = bitfield_type(argv[j + 1])
        if ftype is None:
            c.add_reply_error(ERR_BITFIELD_TYPE)
            return
        signed, bits = ftype
        offset = bit_offset_or_reply(c, argv[j + 2], bits)
        if offset is None:
            return
        arg = 0
        if opcode != OP_GET:
            readonly = False
            if offset + bits - 1 > highest:
                highest = offset + bits - 1
            ok, arg = parse_ll(argv[j + 3])
            if not ok:
                c.add_reply_error(replies.NOT_INTEGER)
                return
            j += 4
        else:
            j += 3
        ops.append((opcode, signed, bits, offset, arg, owtype))

    key = argv[1]
    if readonly:
        v = _read_string_or_reply(c, key)
        if v is False:
            return
        if v is None:
            data, length = b"", 0
        else:
            data, length = string_view(v)
        grown = False
    else:
        if readonly_cmd:
            c.add_reply_error(ERR_BITFIELD_RO)
            return
        got = string_for_bit_write(c, key, highest)
        if got is None:
            return
        rs, grown = got
        data = rs.buf
        length = len(data)

    c.add_reply_array_len(len(ops))
    changes = 0
    for opcode, signed, bits, offset, arg, owtype in ops:
        if opcode == OP_GET:
            if signed:
                c.add_reply_int(get_signed_field(data, length, offset, bits))
            else:
                c.add_reply_int(get_unsigned_field(data, length, offset, bits))
            continue
        if signed:
            old = get_signed_field(data, length, offset, bits)
            if opcode == OP_INCRBY:
                ov, new = signed_overflow(old, arg, bits, owtype)
                ret = new
            else:
                ov, new = signed_overflow(arg, 0, bits, owtype)
                ret = old
        else:
            old = get_unsigned_field(data, length, offset, bits)
            if opcode == OP_INCRBY:
                ov, new = unsigned_overflow(old, arg, bits, owtype)
                ret = new
            else:
                ov, new = unsigned_overflow(arg & _U64, 0, bits, owtype)
                ret = old
        if ov and owtype == OVERFLOW_FAIL:
            c.add_reply_null()
            continue
        c.add_reply_int(ret)
        set_field(data, offset, bits, new)
        if grown or old != new:
            changes += 1
    if changes:
        db = c.db
        db.signal_modified_key(key)
        c.server.notify(NOTIFY_STRING, "setbit", key, db.id)
        c.server.dirty += changes


@command("bitfield")
def bitfield_command(c, argv: list[bytes]) -> None:
    _bitfield_generic(c, argv, False)


@command("bitfield_ro")
def bitfield_ro_command(c, argv: list[bytes]) -> None:
    _bitfield_generic(c, argv, True)
