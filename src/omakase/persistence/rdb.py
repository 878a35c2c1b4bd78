"""The RDB format, version 10, as Redis 7.0 writes and reads it (``rdb.c``).

One module holds the byte format of a whole dataset: the file (SAVE, BGSAVE,
replication, the AOF base) and the single-value payloads of DUMP / RESTORE /
MIGRATE.  It is a set of pure functions of a server's data; forking, file
names, the LOADING state and INFO live in ``snapshot.py``.

Interface (what ``snapshot.py``, ``aof.py``, replication and DUMP use)
---------------------------------------------------------------------
``write_rdb(server, f, *, aux_extra=None, functions=None)``
    Write a whole RDB v10 file to the binary file-like ``f`` (only
    ``f.write`` is used): ``REDIS0010``, the AUX fields Redis 7.0 writes
    (``redis-ver`` 7.0.15, ``redis-bits``, ``ctime``, ``used-mem``, then
    ``aux_extra`` in order -- e.g. ``repl-stream-db``/``repl-id``/
    ``repl-offset`` -- then ``aof-base``, 0 unless ``aux_extra`` gives it),
    the function libraries (``functions``: library codes, FUNCTION2
    opcodes; None = the server's own, FUNCTION LOAD's), then per non-empty db SELECTDB + RESIZEDB and every key
    (EXPIRETIME_MS; IDLE under an ``*-lru`` policy, FREQ under ``*-lfu``;
    type, key, value), EOF, and the CRC64 (8 zero bytes under
    ``rdbchecksum no``).  Output is built in a ``bytearray`` and handed to
    ``f.write`` in chunks of about 64 KiB, so a forked child saving a million
    keys makes a few thousand writes, not one per key.
``load_rdb(server, f, *, progress=None, keep_expired=None) -> LoadStats``
    Read a whole RDB from the binary file-like ``f`` (``f.read``) into new
    tables and install them in ``server.dbs`` (every db's ``keys`` and
    ``expires`` are replaced, dbs absent from the file become empty) only
    after the whole file, checksum included, was read and found valid: a
    corrupt or truncated file raises ``RdbError`` (message and file offset)
    and leaves the dataset untouched.  Keys already expired are skipped and
    counted, as Redis does on a master (``keep_expired``: None = keep them
    only on a replica; pass True for an AOF base).  ``progress(bytes_read,
    total_bytes)`` is called about every MiB read (``total_bytes`` is 0 when
    the size of ``f`` is unknown); a progress object with a ``stats``
    attribute gets the live ``LoadStats`` there (key counts).  Function libraries in the file are
    compiled first and replace loaded ones of the same name; one that does
    not compile fails the load before anything is installed.  ``read_rdb``
    is the same without the install steps: it returns ``(tables, stats)``.
``dump_value(value, server=None) -> bytes``
    The RDB type byte and the value's encoding (``rdbSaveObjectType`` +
    ``rdbSaveObject``); LZF per ``rdbcompression`` when a server is given.
    ``dump_payload`` adds DUMP's footer (RDB version 10 and CRC64, both
    little endian) and ``verify_dump_payload`` checks it.
``restore_value(server, payload) -> value``
    The value encoded at the start of ``payload`` (a type byte then the
    encoding; anything after it, such as DUMP's footer, is ignored),
    validated deeply; ``RdbError`` on corrupt input and on an empty value.
``saved_object_len(server, value)``
    ``rdbSavedObjectLen`` (DEBUG OBJECT's serializedlength).

Other types plug in through two registries: ``VALUE_WRITERS[cls] =
fn(out: bytearray, value, compress: bool) -> int`` appends the value's
encoding to ``out`` and returns its RDB type byte; ``VALUE_READERS[type] =
fn(r: Reader, ctx: LoadContext) -> value | None`` reads one value (None means
"empty value", which a file load skips and RESTORE rejects) and raises
``RdbError``.  The building blocks they need are public: ``save_len``,
``save_string``, ``save_double``, ``save_millis`` and the ``Reader``'s
``read_len``/``read_string``/``read``/``read_double``/``read_millis``.  New
objects get ``ctx.lru`` (strings ``ctx.trailer``).

Encodings written (``rdbSaveObject``), each byte-identical to Redis 7.0's
for the same in-memory encoding:

* strings: an integer encoding (INT8/16/32) for canonical integers of at
  most 11 characters that fit 32 bits, else LZF (``rdbcompression yes``,
  longer than 20 bytes, when it saves at least 4 bytes), else raw.  Keys,
  AUX fields, members and blobs all go through the same ``save_string``
  (``rdbSaveRawString``);
* lists: LIST_QUICKLIST_2, one (container, blob) per node; LZF-compressed
  quicklist nodes are written as their compressed bytes (``rdbSaveLzfBlob``);
* sets: SET_INTSET (the intset blob) or SET (members); hashes: HASH_LISTPACK
  or HASH; sorted sets: ZSET_LISTPACK or ZSET_2 (members from the highest
  score down, binary little-endian doubles).

Everything Redis 7.0 reads is read: those plus LIST, LIST_ZIPLIST,
LIST_QUICKLIST (ziplist nodes), SET, ZSET (text scores), HASH_ZIPMAP,
HASH_ZIPLIST, ZSET_ZIPLIST, SET_INTSET, converted to omakase's in-memory
encodings by the current thresholds exactly as ``rdbLoadObject`` converts.

Validation (``sanitize-dump-payload``)
--------------------------------------
Structure that is cheap to check is always checked: lengths against the
data, LZF output sizes, listpack and intset headers, intsets deeply (a C
level sort), pairs of a hash/zset listpack, duplicate members of every
type that is loaded element by element, NaN scores, ziplists and zipmaps
deeply (Redis converts them, so it always walks them).  The per-entry walk
of listpacks (and of quicklist nodes) is the expensive part; it runs as
Redis's ``deep_integrity_validation`` says for RDB files (``yes``; ``no``
and ``clients`` skip it while loading), and always for RESTORE.
DIVERGENCE: Redis validates RESTORE payloads shallowly under
``sanitize-dump-payload no`` and may then crash or misbehave later on a
corrupt value; omakase always validates a RESTORE payload deeply, so a
corrupt payload is refused with "Bad data format" and never becomes a key.
Deep validation here is also stricter than Redis's on sorted-set listpacks:
scores must parse and pairs must be in (score, member) order.

Reading is chunked (``Reader``: about 1 MiB per ``f.read``) and the CRC64 is
computed on the consumed bytes as the reader advances, so a file is read
once and memory holds one chunk plus the dataset being built.

DIVERGENCE: an RDB that holds module values or module AUX data is refused
with RdbError; Redis exits with an error for unknown modules.  Streams live
in ``rdb_stream.py``, imported at the end of this module to register them.
"""
from __future__ import annotations

import math
import os
import random
import re
import struct
import time
from functools import partial
from itertools import chain
from typing import Any, Callable, Iterable, Iterator

import crcmod
import lzf

from omakase.encodings.intset import Intset
from omakase.encodings.listpack import Listpack
from omakase.encodings.quicklist import PACKED, PLAIN, Quicklist
from omakase.hashtable import HashTable
from omakase.objects import LRU_CLOCK_MAX, RawString
from omakase.types.hash import Hash
from omakase.types.list import ListObject
from omakase.types.set import Set
from omakase.types.zset import ZSetValue, zset_from_pairs
from omakase.util import parse_ll

__all__ = [
    "RDB_VERSION", "RdbError", "LoadStats", "LoadContext", "Reader",
    "VALUE_WRITERS", "VALUE_READERS", "crc64",
    "write_rdb", "load_rdb", "read_rdb", "install_tables",
    "dump_value", "dump_payload", "verify_dump_payload", "restore_value",
    "saved_object_len", "save_len", "save_string", "save_double", "save_millis",
]

RDB_VERSION = 10
REDIS_VERSION = b"7.0.15"

# Value types (rdb.h).
RDB_TYPE_STRING = 0
RDB_TYPE_LIST = 1
RDB_TYPE_SET = 2
RDB_TYPE_ZSET = 3
RDB_TYPE_HASH = 4
RDB_TYPE_ZSET_2 = 5
RDB_TYPE_MODULE_PRE_GA = 6
RDB_TYPE_MODULE_2 = 7
RDB_TYPE_HASH_ZIPMAP = 9
RDB_TYPE_LIST_ZIPLIST = 10
RDB_TYPE_SET_INTSET = 11
RDB_TYPE_ZSET_ZIPLIST = 12
RDB_TYPE_HASH_ZIPLIST = 13
RDB_TYPE_LIST_QUICKLIST = 14
RDB_TYPE_STREAM_LISTPACKS = 15
RDB_TYPE_HASH_LISTPACK = 16
RDB_TYPE_ZSET_LISTPACK = 17
RDB_TYPE_LIST_QUICKLIST_2 = 18
RDB_TYPE_STREAM_LISTPACKS_2 = 19

# Opcodes.
RDB_OPCODE_FUNCTION2 = 245
RDB_OPCODE_FUNCTION_PRE_GA = 246
RDB_OPCODE_MODULE_AUX = 247
RDB_OPCODE_IDLE = 248
RDB_OPCODE_FREQ = 249
RDB_OPCODE_AUX = 250
RDB_OPCODE_RESIZEDB = 251
RDB_OPCODE_EXPIRETIME_MS = 252
RDB_OPCODE_EXPIRETIME = 253
RDB_OPCODE_SELECTDB = 254
RDB_OPCODE_EOF = 255

RDB_ENC_INT8 = 0
RDB_ENC_INT16 = 1
RDB_ENC_INT32 = 2
RDB_ENC_LZF = 3

WRITE_CHUNK = 64 * 1024
READ_CHUNK = 1 << 20

#: Redis's crc64 (Jones polynomial, reflected, no final xor): the checksum
#: of RDB files and DUMP payloads.  crc64(b"123456789") == 0xe9c6d914c4b8d9ca.
crc64: Callable[..., int] = crcmod.mkCrcFun(0x1AD93D23594C935A9, initCrc=0, rev=True,
                                            xorOut=0)

_LEN32 = struct.Struct(">BI").pack
_LEN64 = struct.Struct(">BQ").pack
_U32BE = struct.Struct(">I").unpack_from
_U64BE = struct.Struct(">Q").unpack_from
_I16 = struct.Struct("<h").unpack_from
_I32 = struct.Struct("<i").unpack_from
_I64 = struct.Struct("<q").unpack_from
_U32 = struct.Struct("<I").unpack_from
_DOUBLE = struct.Struct("<d")
_MS = struct.Struct("<q")
_MS_OP = struct.Struct("<Bq").pack
_FOOTER = struct.Struct("<HQ")
#: What a decoder below the readers raises on data it refuses.
_LISTPACK_ERRORS = (ValueError, IndexError, struct.error)
_DECODE_ERRORS = (ValueError, IndexError, KeyError, TypeError, OverflowError, struct.error,
                  MemoryError)
_FLOAT_PREFIX = re.compile(rb"\s*[+-]?(?:inf(?:inity)?|nan|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)",
                           re.IGNORECASE)


class RdbError(Exception):
    """A corrupt, truncated or unsupported RDB file or payload."""

    def __init__(self, message: str, offset: int = -1) -> None:
        self.message = message
        self.offset = offset
        text = message if offset < 0 else f"{message} (at offset {offset})"
        super().__init__(text)


class LoadStats:
    """What a load found: counts as Redis logs them, the AUX fields (every
    one, name -> value, as read) and the function library codes."""
    __slots__ = ("keys_loaded", "keys_expired", "empty_keys_skipped", "aux",
                 "functions", "rdb_version", "bytes_read")

    def __init__(self) -> None:
        self.keys_loaded = 0
        self.keys_expired = 0
        self.empty_keys_skipped = 0
        self.aux: dict[bytes, bytes] = {}
        self.functions: list[bytes] = []
        self.rdb_version = 0
        self.bytes_read = 0

    def __repr__(self) -> str:
        return (f"LoadStats(loaded={self.keys_loaded}, expired={self.keys_expired}, "
                f"empty={self.empty_keys_skipped}, aux={self.aux!r})")


# ---------------------------------------------------------------------------
# Writing primitives (append to a bytearray)
# ---------------------------------------------------------------------------
def save_len(out: bytearray, n: int) -> None:
    """rdbSaveLen: 6-bit, 14-bit, 32-bit or 64-bit big-endian length."""
    if n < 64:
        out.append(n)
    elif n < 16384:
        out.append(0x40 | (n >> 8))
        out.append(n & 0xFF)
    elif n <= 0xFFFFFFFF:
        out += _LEN32(0x80, n)
    else:
        out += _LEN64(0x81, n)


_INT_START = frozenset(b"-0123456789")


def _int_encoding(s: bytes) -> bytes | None:
    """rdbTryIntegerEncoding: the INT8/16/32 form of a canonical integer."""
    ok, v = parse_ll(s)
    if not ok:
        return None
    if -128 <= v <= 127:
        return bytes((0xC0, v & 0xFF))
    if -32768 <= v <= 32767:
        return b"\xc1" + v.to_bytes(2, "little", signed=True)
    if -2147483648 <= v <= 2147483647:
        return b"\xc2" + v.to_bytes(4, "little", signed=True)
    return None


def lzf_compress(s: bytes, out_len: int) -> bytes | None:
    """Redis's ``lzf_compress(s, len, out, out_len)``: the LZF bytes, or
    None where Redis's returns 0.

    python-lzf produces the same token stream as Redis's bundled liblzf but
    gives up later: Redis's compressor aborts as soon as its output pointer
    comes within a few bytes of ``out_len`` (conservative checks before each
    back reference and literal), even when the result would have fitted.  So
    the stream is produced with room to spare and, when it ends close to the
    limit, replayed through those checks (``_lzf_redis_fits``)."""
    n = len(s)
    comp = lzf.compress(s, n + (n >> 4) + 16)
    if comp is None:
        return None
    size = len(comp)
    if size > out_len:
        return None
    # The output pointer never exceeds the final size by more than the
    # one reserved run byte, and no check fires below out_len - 4.
    if size + 5 < out_len or _lzf_redis_fits(comp, n, out_len):
        return comp
    return None


def _lzf_redis_fits(comp: bytes, in_len: int, out_end: int) -> bool:
    """Replay an LZF stream through lzf_compress's abort checks."""
    op = 1          # output position; byte 0 is the first run's length
    lit = 0         # literals in the current run
    ip = 0          # input position
    loop_end = in_len - 2
    in_main = True
    i = 0
    m = len(comp)
    while i < m:
        ctrl = comp[i]
        i += 1
        if ctrl < 32:
            run = ctrl + 1
            i += run
            if in_main:
                k = min(run, loop_end - ip) if ip < loop_end else 0
                if k > 0:
                    # literals copied inside the main loop, each checked
                    if op + (k - 1) + (lit + k - 1) // 32 >= out_end:
                        return False
                    op += k + (lit + k) // 32
                    lit = (lit + k) % 32
                    ip += k
                    run -= k
                if run:
                    in_main = False
                    if op + 3 > out_end:
                        return False
            if run:
                op += run + (lit + run) // 32
                lit = (lit + run) % 32
                ip += run
        else:
            ln = ctrl >> 5
            if ln == 7:
                ln += comp[i]
                i += 1
            i += 1
            if op - (lit == 0) + 4 >= out_end:
                return False
            op -= lit == 0
            op += (2 if ln < 7 else 3) + 1
            lit = 0
            ip += ln + 2
            if ip >= loop_end and in_main:
                in_main = False
                if op + 3 > out_end:
                    return False
    if in_main and op + 3 > out_end:
        return False
    return True


def save_string(out: bytearray, s: bytes, compress: bool) -> None:
    """rdbSaveRawString: integer encoding, LZF, or length + bytes."""
    n = len(s)
    if n <= 20:
        if n <= 11 and n and s[0] in _INT_START:
            enc = _int_encoding(s)
            if enc is not None:
                out += enc
                return
        out.append(n)
        out += s
        return
    if compress:
        comp = lzf_compress(s, n - 4)
        if comp is not None:
            out.append(0xC3)
            save_len(out, len(comp))
            save_len(out, n)
            out += comp
            return
    save_len(out, n)
    out += s


def save_lzf_blob(out: bytearray, comp: bytes, raw_len: int) -> None:
    """rdbSaveLzfBlob: data that is already LZF-compressed."""
    out.append(0xC3)
    save_len(out, len(comp))
    save_len(out, raw_len)
    out += comp


def save_double(out: bytearray, d: float) -> None:
    """rdbSaveBinaryDoubleValue: 8 bytes, little endian."""
    out += _DOUBLE.pack(d)


def save_millis(out: bytearray, ms: int) -> None:
    """rdbSaveMillisecondTime: int64, little endian."""
    out += _MS.pack(ms)


# ---------------------------------------------------------------------------
# Value writers (rdbSaveObjectType + rdbSaveObject)
# ---------------------------------------------------------------------------
def _write_string(out: bytearray, v: bytes, compress: bool) -> int:
    save_string(out, v[:-3], compress)
    return RDB_TYPE_STRING


def _write_raw_string(out: bytearray, v: RawString, compress: bool) -> int:
    save_string(out, bytes(v.buf), compress)
    return RDB_TYPE_STRING


def _write_list(out: bytearray, o: ListObject, compress: bool) -> int:
    ql = o.ql
    save_len(out, ql.node_count)
    for container, payload, raw_len in ql.rdb_nodes():
        save_len(out, container)
        if raw_len:
            save_lzf_blob(out, payload, raw_len)
        else:
            save_string(out, payload, compress)
    return RDB_TYPE_LIST_QUICKLIST_2


def _write_set(out: bytearray, o: Set, compress: bool) -> int:
    d = o.data
    if d.__class__ is Intset:
        save_string(out, d.to_bytes(), compress)
        return RDB_TYPE_SET_INTSET
    save_len(out, d.used)
    for m in d.keys():
        save_string(out, m, compress)
    return RDB_TYPE_SET


def _write_hash(out: bytearray, o: Hash, compress: bool) -> int:
    d = o.data
    if d.__class__ is Listpack:
        save_string(out, d.to_bytes(), compress)
        return RDB_TYPE_HASH_LISTPACK
    save_len(out, d.used)
    for f, v in d.items():
        save_string(out, f, compress)
        save_string(out, v, compress)
    return RDB_TYPE_HASH


def _write_zset(out: bytearray, o: ZSetValue, compress: bool) -> int:
    p = o.ptr
    if p.__class__ is Listpack:
        save_string(out, p.to_bytes(), compress)
        return RDB_TYPE_ZSET_LISTPACK
    save_len(out, len(p.dict))
    pack = _DOUBLE.pack
    for node in p.zsl.iter_nodes(reverse=True):
        save_string(out, node.ele, compress)
        out += pack(node.score)
    return RDB_TYPE_ZSET_2


#: value class -> fn(out, value, compress) -> RDB type byte (see docstring).
VALUE_WRITERS: dict[type, Callable[[bytearray, Any, bool], int]] = {
    bytes: _write_string,
    RawString: _write_raw_string,
    ListObject: _write_list,
    Set: _write_set,
    Hash: _write_hash,
    ZSetValue: _write_zset,
}


def _writer_for(value: Any) -> Callable[[bytearray, Any, bool], int]:
    w = VALUE_WRITERS.get(value.__class__)
    if w is None:
        raise RdbError(f"no RDB writer for values of type {value.__class__.__name__}")
    return w


def _compress_of(server: Any) -> bool:
    if server is None:
        return True
    return bool(server.config.rdbcompression)


def dump_value(value: Any, server: Any = None) -> bytes:
    """The RDB type byte and the encoding of ``value``."""
    out = bytearray(b"\0")
    out[0] = _writer_for(value)(out, value, _compress_of(server))
    return bytes(out)


def dump_payload(value: Any, server: Any = None) -> bytes:
    """createDumpPayload: value, RDB version (2 bytes LE), CRC64 (8 bytes LE)."""
    out = bytearray(b"\0")
    out[0] = _writer_for(value)(out, value, _compress_of(server))
    out += RDB_VERSION.to_bytes(2, "little")
    out += crc64(out).to_bytes(8, "little")
    return bytes(out)


def verify_dump_payload(payload: bytes, skip_checksum: bool = False) -> bool:
    """verifyDumpPayload: at least 10 bytes, a known RDB version, and
    (unless skipped) a matching CRC64."""
    if len(payload) < 10:
        return False
    ver, crc = _FOOTER.unpack_from(payload, len(payload) - 10)
    if ver > RDB_VERSION:
        return False
    if skip_checksum:
        return True
    return crc64(memoryview(payload)[:-8]) == crc


def saved_object_len(server: Any, value: Any) -> int:
    """rdbSavedObjectLen: bytes rdbSaveObject writes (no type byte)."""
    out = bytearray()
    _writer_for(value)(out, value, _compress_of(server))
    return len(out)


# ---------------------------------------------------------------------------
# Whole files
# ---------------------------------------------------------------------------
def _used_memory(server: Any) -> int:
    try:
        from omakase.commands.info import used_memory
        return int(used_memory(server))
    except Exception:  # INFO is optional here: any estimate will do
        return 0


def _debug_delay(usec: int) -> None:
    """debugDelay: sleep usec, or for negative values sleep 1us with a
    probability of 1/-usec."""
    if usec < 0:
        usec = 1 if random.randrange(-usec) == 0 else 0
    if usec:
        time.sleep(usec / 1e6)


def write_rdb(server: Any, f: Any, *, aux_extra: dict[bytes, bytes] | None = None,
              functions: Iterable[bytes] | None = None) -> None:
    """rdbSaveRio: write the whole dataset of ``server`` to ``f`` (with the
    server's function libraries unless ``functions`` says otherwise)."""
    if functions is None:
        from omakase.scripting.functions import libraries_code
        functions = libraries_code(server)
    cfg = server.config
    compress = bool(cfg.rdbcompression)
    checksum = bool(cfg.rdbchecksum)
    crc = 0
    write = f.write
    out = bytearray(b"REDIS%04d" % RDB_VERSION)

    extra = dict(aux_extra or {})
    aof_base = extra.pop(b"aof-base", b"0")
    aux = [(b"redis-ver", REDIS_VERSION), (b"redis-bits", b"64"),
           (b"ctime", b"%d" % int(time.time())),
           (b"used-mem", b"%d" % _used_memory(server))]
    aux += list(extra.items())
    aux.append((b"aof-base", aof_base))
    for k, v in aux:
        out.append(RDB_OPCODE_AUX)
        save_string(out, k, compress)
        save_string(out, v, compress)
    for code in functions:
        out.append(RDB_OPCODE_FUNCTION2)
        save_string(out, code, compress)

    policy = cfg.maxmemory_policy
    save_lru = policy in ("allkeys-lru", "volatile-lru")
    save_lfu = policy in ("allkeys-lfu", "volatile-lfu")
    if save_lru or save_lfu:
        from omakase.commands.debug import idle_seconds
        from omakase.evict import lfu_decr_and_return
    delay = getattr(cfg, "rdb_key_save_delay", 0)
    writers = VALUE_WRITERS
    string_type = bytes
    for db in server.dbs:
        keys = db.keys
        if not keys.used:
            continue
        out.append(RDB_OPCODE_SELECTDB)
        save_len(out, db.id)
        out.append(RDB_OPCODE_RESIZEDB)
        save_len(out, keys.used)
        save_len(out, db.expires.used)
        expires = db.expires if db.expires.used else None
        for key, v in keys.items():
            if expires is not None:
                when = expires.get(key)
                if when is not None:
                    out += _MS_OP(RDB_OPCODE_EXPIRETIME_MS, when)
            if save_lru or save_lfu:
                field = int.from_bytes(v[-3:], "little") if v.__class__ is string_type \
                    else v.lru
                if save_lru:
                    out.append(RDB_OPCODE_IDLE)
                    save_len(out, idle_seconds(server, field))
                else:
                    out.append(RDB_OPCODE_FREQ)
                    out.append(lfu_decr_and_return(server, field))
            if v.__class__ is string_type:
                out.append(RDB_TYPE_STRING)
                save_string(out, key, compress)
                save_string(out, v[:-3], compress)
            else:
                tpos = len(out)
                out.append(0)
                save_string(out, key, compress)
                w = writers.get(v.__class__)
                if w is None:
                    raise RdbError(f"no RDB writer for values of type {v.__class__.__name__}")
                out[tpos] = w(out, v, compress)
            if len(out) >= WRITE_CHUNK:
                if checksum:
                    crc = crc64(out, crc)
                write(out)
                out.clear()
            if delay:
                _debug_delay(delay)
    out.append(RDB_OPCODE_EOF)
    if checksum:
        crc = crc64(out, crc)
    out += crc.to_bytes(8, "little")
    write(out)


class Reader:
    """Sequential reads from a file or a bytes object, with the RDB length
    and string decoders (``rdbLoadLen``, ``rdbGenericLoadStringObject``).

    From a file the reader keeps one chunk in memory and computes the CRC64
    of the bytes it has consumed; ``offset`` is the position in the stream.
    Every read past the end raises ``RdbError("Unexpected EOF ...")``."""

    __slots__ = ("f", "buf", "pos", "base", "crc", "crc_pos", "total", "progress")

    def __init__(self, data: bytes = b"", f: Any = None,
                 progress: Callable[[int, int], None] | None = None, total: int = 0) -> None:
        self.f = f
        self.buf = bytes(data)
        self.pos = 0
        self.base = 0
        self.crc = 0
        self.crc_pos = 0
        self.total = total
        self.progress = progress

    @property
    def offset(self) -> int:
        return self.base + self.pos

    def error(self, message: str) -> RdbError:
        return RdbError(message, self.offset)

    def _fill(self, n: int) -> None:
        """Make buf[pos:pos+n] available (reading ahead from the file)."""
        f = self.f
        if f is None or (self.total and self.base + self.pos + n > self.total):
            raise self.error("Unexpected EOF reading RDB file")
        buf, pos = self.buf, self.pos
        if pos > self.crc_pos:
            self.crc = crc64(memoryview(buf)[self.crc_pos:pos], self.crc)
        chunks = [buf[pos:]]
        have = len(buf) - pos
        while have < n:
            want = n - have
            data = f.read(READ_CHUNK if want < READ_CHUNK else min(want, 64 << 20))
            if not data:
                self.buf = b"".join(chunks)
                self.base += pos
                self.pos = self.crc_pos = 0
                raise self.error("Unexpected EOF reading RDB file")
            chunks.append(data)
            have += len(data)
        self.buf = b"".join(chunks)
        self.base += pos
        self.pos = self.crc_pos = 0
        if self.progress is not None:
            self.progress(self.base, self.total)

    def consumed_crc(self) -> int:
        """CRC64 of every byte consumed so far."""
        if self.pos > self.crc_pos:
            self.crc = crc64(memoryview(self.buf)[self.crc_pos:self.pos], self.crc)
            self.crc_pos = self.pos
        return self.crc

    def read(self, n: int) -> bytes:
        p = self.pos
        e = p + n
        if e > len(self.buf):
            self._fill(n)
            p = 0
            e = n
        self.pos = e
        return self.buf[p:e]

    def byte(self) -> int:
        p = self.pos
        if p >= len(self.buf):
            self._fill(1)
            p = 0
        self.pos = p + 1
        return self.buf[p]

    def read_len_enc(self) -> tuple[int, bool]:
        """rdbLoadLenByRef: (length or encoding type, is_encoded)."""
        b = self.byte()
        kind = b >> 6
        if kind == 0:
            return b, False
        if kind == 1:
            return ((b & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return b & 0x3F, True
        if b == 0x80:
            return _U32BE(self.read(4))[0], False
        if b == 0x81:
            return _U64BE(self.read(8))[0], False
        raise self.error("Unknown length encoding %d in rdbLoadLen()" % kind)

    def read_len(self) -> int:
        """rdbLoadLen(rdb, NULL): an encoded-value byte reads as its 6 bits."""
        buf = self.buf
        p = self.pos
        if p + 1 < len(buf):        # 6- and 14-bit lengths straight from buf
            b = buf[p]
            if b < 0x40:
                self.pos = p + 1
                return b
            if b < 0x80:
                self.pos = p + 2
                return ((b & 0x3F) << 8) | buf[p + 1]
        return self.read_len_enc()[0]

    def read_string(self) -> bytes:
        """rdbGenericLoadStringObject: integer encodings come back as text."""
        buf = self.buf
        p = self.pos
        if p < len(buf):
            b = buf[p]
            if b < 64:              # the common case: a short raw string
                e = p + 1 + b
                if e <= len(buf):
                    self.pos = e
                    return buf[p + 1:e]
            elif b == 0xC3:         # LZF (Redis compresses values over 20 bytes)
                self.pos = p + 1
                return self._read_lzf()
        b = self.byte()
        kind = b >> 6
        if kind == 0:
            n = b
        elif kind == 1:
            n = ((b & 0x3F) << 8) | self.byte()
        elif kind == 3:
            enc = b & 0x3F
            if enc == RDB_ENC_INT8:
                v = self.byte()
                return b"%d" % (v - 256 if v > 127 else v)
            if enc == RDB_ENC_INT16:
                return b"%d" % _I16(self.read(2))[0]
            if enc == RDB_ENC_INT32:
                return b"%d" % _I32(self.read(4))[0]
            if enc == RDB_ENC_LZF:
                return self._read_lzf()
            raise self.error("Unknown RDB string encoding type %d" % enc)
        elif b == 0x80:
            n = _U32BE(self.read(4))[0]
        elif b == 0x81:
            n = _U64BE(self.read(8))[0]
        else:
            raise self.error("Unknown length encoding %d in rdbLoadLen()" % kind)
        return self.read(n)

    def strings(self, n: int) -> Iterator[bytes]:
        """The next n strings, read lazily (a consumer that stops early
        leaves the offset just after the last string it took)."""
        for _ in range(n):
            buf = self.buf
            p = self.pos
            if p < len(buf):
                b = buf[p]
                e = p + 1 + b
                if b < 64 and e <= len(buf):
                    self.pos = e
                    yield buf[p + 1:e]
                    continue
            yield self.read_string()

    def _read_lzf(self) -> bytes:
        buf = self.buf
        p = self.pos
        if p + 3 < len(buf) and buf[p] < 0x80:
            # both lengths of 6 or 14 bits, decoded from buf without calls
            b = buf[p]
            if b < 0x40:
                clen = b
                p += 1
            else:
                clen = ((b & 0x3F) << 8) | buf[p + 1]
                p += 2
            b = buf[p]
            if b < 0x40:
                ulen = b
                p += 1
            elif b < 0x80:
                ulen = ((b & 0x3F) << 8) | buf[p + 1]
                p += 2
            else:
                self.pos = p
                ulen = self.read_len()
                p = self.pos
            e = p + clen
            if e <= len(buf):
                self.pos = e
                data = buf[p:e]
            else:
                self.pos = p
                data = self.read(clen)
        else:
            clen = self.read_len()
            ulen = self.read_len()
            data = self.read(clen)
        if ulen == 0:
            return b""
        # LZF expands at most ~88x (a 3-byte back reference yields 264 bytes).
        if ulen > clen * 100 + 100:
            raise self.error("Invalid LZF compressed string")
        try:
            out = lzf.decompress(data, ulen)
        except (ValueError, MemoryError):
            out = None
        if out is None or len(out) != ulen:
            raise self.error("Invalid LZF compressed string")
        return out

    def read_double(self) -> float:
        """rdbLoadBinaryDoubleValue."""
        return _DOUBLE.unpack(self.read(8))[0]

    def read_text_double(self) -> float:
        """rdbLoadDoubleValue (RDB < 8 sorted sets): length-prefixed text,
        253/254/255 meaning nan/+inf/-inf; sscanf's %lg reads a prefix."""
        n = self.byte()
        if n == 255:
            return -math.inf
        if n == 254:
            return math.inf
        if n == 253:
            return math.nan
        text = self.read(n)
        m = _FLOAT_PREFIX.match(text)
        if m is None:
            raise self.error("Error reading double value")
        try:
            return float(m.group(0))
        except ValueError:
            raise self.error("Error reading double value") from None

    def read_millis(self) -> int:
        return _MS.unpack(self.read(8))[0]


class LoadContext:
    """What a value reader needs: the server, its config, whether to walk
    listpacks deeply, and the LRU/LFU field of a new object."""
    __slots__ = ("server", "config", "deep", "config_deep", "lru", "trailer", "list_template")

    def __init__(self, server: Any, deep: bool, config_deep: bool) -> None:
        self.server = server
        self.config = cfg = server.config
        self.deep = deep
        self.config_deep = config_deep
        self.trailer = server.new_object_trailer
        self.lru = int.from_bytes(self.trailer, "little")
        # every quicklist of the load is made from this one (its options)
        self.list_template = Quicklist(cfg.list_max_listpack_size, cfg.list_compress_depth)

    def sanitized(self) -> None:
        """Count a deep validation in INFO (dump_payload_sanitizations)
        when Redis would have done one."""
        if self.config_deep:
            s = self.server
            s.stat_dump_payload_sanitizations = getattr(
                s, "stat_dump_payload_sanitizations", 0) + 1


# ---------------------------------------------------------------------------
# Value readers (rdbLoadObject)
# ---------------------------------------------------------------------------
def _corrupt(r: Reader, what: str) -> RdbError:
    return r.error(what)


def _listpack(r: Reader, blob: bytes, deep: bool, what: str) -> Listpack:
    try:
        return Listpack.from_bytes(blob, validate=deep)
    except _LISTPACK_ERRORS:
        raise _corrupt(r, what) from None


def _read_string_value(r: Reader, ctx: LoadContext) -> bytes:
    return r.read_string() + ctx.trailer


def _read_list(r: Reader, ctx: LoadContext):
    n = r.read_len()
    if n == 0:
        return None
    cfg = ctx.config
    ql = Quicklist(cfg.list_max_listpack_size, cfg.list_compress_depth)
    push = ql.push_tail
    for _ in range(n):
        push(r.read_string())
    return ListObject(ql, ctx.lru)


def _read_quicklist(version: int, r: Reader, ctx: LoadContext):
    n = r.read_len()
    if n == 0:
        return None
    nodes = []
    for _ in range(n):
        container = PACKED
        if version == 2:
            container = r.read_len()
            if container != PACKED and container != PLAIN:
                raise _corrupt(r, "Quicklist integrity check failed.")
        data = r.read_string()
        if not data:
            raise _corrupt(r, "Quicklist node with an empty payload")
        if container == PACKED and version == 1:
            vals = _ziplist_values(r, data, "Ziplist integrity check failed.")
            if not vals:
                continue
            data = Listpack(vals).to_bytes()
        elif container == PACKED and ctx.config_deep:
            ctx.sanitized()
        nodes.append((container, data))
    try:
        ql = ctx.list_template.with_nodes(nodes, ctx.deep or version == 1)
    except _LISTPACK_ERRORS:
        raise _corrupt(r, "Listpack integrity check failed.") from None
    if not ql.count:
        return None
    return ListObject(ql, ctx.lru)


def _read_set(r: Reader, ctx: LoadContext):
    """An intset while the members are integers and fit
    set-max-intset-entries, else a table built in one pass (presized to
    the length, as Redis ``dictExpand``s it); either way a duplicate member
    is reported right after it is read."""
    n = r.read_len()
    if n == 0:
        return None
    read_string = r.read_string
    m = read_string()
    i = 1
    members: Iterable[bytes] = ()
    # (parse_ll only for what may be a number: a refusal costs an exception)
    if n <= min(ctx.config.set_max_intset_entries, 1 << 30) and m.lstrip(b"-").isdigit():
        iset = Intset()
        while True:
            ok, v = parse_ll(m)
            if not ok:
                break
            if not iset.add(v):
                raise _corrupt(r, "Duplicate set members detected")
            if i == n:
                return Set(iset, ctx.lru)
            m = read_string()
            i += 1
            if not m.lstrip(b"-").isdigit():
                break
        # setTypeConvert: the integers so far (in order), then the rest
        members = [b"%d" % x for x in iset]
    ht = HashTable.from_keys(chain(members, (m,), r.strings(n - i)), n)
    if ht is None:
        raise _corrupt(r, "Duplicate set members detected")
    return Set(ht, ctx.lru)


def _read_zset(binary: bool, r: Reader, ctx: LoadContext):
    n = r.read_len()
    if n == 0:
        return None
    pairs = []
    seen = set()
    read_score = r.read_double if binary else r.read_text_double
    for _ in range(n):
        m = r.read_string()
        s = read_score()
        if s != s:
            raise _corrupt(r, "Zset with NAN score detected")
        if m in seen:
            raise _corrupt(r, "Duplicate zset fields detected")
        seen.add(m)
        pairs.append((m, s))
    pairs.sort(key=_score_member)
    z = zset_from_pairs(ctx.server, pairs)
    z.lru = ctx.lru
    return z


def _score_member(p: tuple[bytes, float]) -> tuple[float, bytes]:
    return p[1], p[0]


def _read_hash(r: Reader, ctx: LoadContext):
    n = r.read_len()
    if n == 0:
        return None
    pairs: dict[bytes, bytes] = {}
    for _ in range(n):
        f = r.read_string()
        v = r.read_string()
        if f in pairs:
            raise _corrupt(r, "Duplicate hash fields detected")
        pairs[f] = v
    return Hash.from_pairs(pairs, ctx.lru, ctx.config)


def _hash_from_lp(r: Reader, ctx: LoadContext, lp: Listpack, checked: bool):
    """A listpack of field/value pairs as a hash, converted when longer
    than hash-max-listpack-entries (duplicates are an error either way)."""
    n = len(lp)
    if n & 1:
        raise _corrupt(r, "Hash listpack integrity check failed.")
    if not n:
        return None
    if (n >> 1) > ctx.config.hash_max_listpack_entries:
        vals = lp.to_list()
        pairs = dict(zip(vals[0::2], vals[1::2]))
        if len(pairs) != n >> 1:
            raise _corrupt(r, "Duplicate hash fields detected")
        return Hash.from_pairs(pairs, ctx.lru, ctx.config, force_ht=True)
    if not checked:
        keys = lp.to_list()[0::2]
        if len(set(keys)) != len(keys):
            raise _corrupt(r, "Hash listpack integrity check failed.")
    return Hash(lp, ctx.lru)


def _read_hash_listpack(r: Reader, ctx: LoadContext):
    blob = r.read_string()
    if ctx.config_deep:
        ctx.sanitized()
    lp = _listpack(r, blob, ctx.deep, "Hash listpack integrity check failed.")
    return _hash_from_lp(r, ctx, lp, not ctx.deep)


def _zset_lp_check(r: Reader, lp: Listpack) -> None:
    """Deep checks of a sorted-set listpack: pairs, unique members, scores
    that parse (no NaN), (score, member) order."""
    vals = lp.to_list()
    if len(vals) & 1:
        raise _corrupt(r, "Zset listpack integrity check failed.")
    prev = None
    seen = set()
    for i in range(0, len(vals), 2):
        m = vals[i]
        try:
            s = float(vals[i + 1])
        except ValueError:
            raise _corrupt(r, "Zset listpack with an invalid score") from None
        if s != s:
            raise _corrupt(r, "Zset with NAN score detected")
        if m in seen:
            raise _corrupt(r, "Zset listpack integrity check failed.")
        seen.add(m)
        cur = (s, m)
        if prev is not None and not prev < cur:
            raise _corrupt(r, "Zset listpack is not sorted")
        prev = cur


def _zset_from_lp(r: Reader, ctx: LoadContext, lp: Listpack):
    n = len(lp)
    if n & 1:
        raise _corrupt(r, "Zset listpack integrity check failed.")
    if not n:
        return None
    z = ZSetValue(lp, ctx.lru)
    if (n >> 1) > ctx.config.zset_max_listpack_entries:
        from omakase.types.zset import zset_convert_to_skiplist
        try:
            zset_convert_to_skiplist(z)
        except (ValueError, TypeError):
            raise _corrupt(r, "Zset listpack integrity check failed.") from None
    return z


def _read_zset_listpack(r: Reader, ctx: LoadContext):
    blob = r.read_string()
    if ctx.config_deep:
        ctx.sanitized()
    lp = _listpack(r, blob, ctx.deep, "Zset listpack integrity check failed.")
    if ctx.deep:
        _zset_lp_check(r, lp)
    return _zset_from_lp(r, ctx, lp)


def _read_intset(r: Reader, ctx: LoadContext):
    blob = r.read_string()
    ctx.sanitized()
    try:
        iset = Intset.from_bytes(blob, validate=True)
    except (ValueError, struct.error):
        raise _corrupt(r, "Intset integrity check failed.") from None
    s = Set(iset, ctx.lru)
    if len(iset) > ctx.config.set_max_intset_entries:
        s.convert()
    return s


def _read_list_ziplist(r: Reader, ctx: LoadContext):
    vals = _ziplist_values(r, r.read_string(), "List ziplist integrity check failed.")
    if not vals:
        return None
    cfg = ctx.config
    ql = Quicklist(cfg.list_max_listpack_size, cfg.list_compress_depth)
    push = ql.push_tail
    for v in vals:
        push(v)
    return ListObject(ql, ctx.lru)


def _pairs_from_ziplist(r: Reader, blob: bytes, what: str) -> list[bytes]:
    vals = _ziplist_values(r, blob, what)
    if len(vals) & 1:
        raise _corrupt(r, what)
    keys = vals[0::2]
    if len(set(keys)) != len(keys):
        raise _corrupt(r, what)
    return vals


def _read_zset_ziplist(r: Reader, ctx: LoadContext):
    vals = _pairs_from_ziplist(r, r.read_string(), "Zset ziplist integrity check failed.")
    lp = Listpack(vals)
    if ctx.deep:
        _zset_lp_check(r, lp)
    return _zset_from_lp(r, ctx, lp)


def _read_hash_ziplist(r: Reader, ctx: LoadContext):
    vals = _pairs_from_ziplist(r, r.read_string(), "Hash ziplist integrity check failed.")
    return _hash_from_lp(r, ctx, Listpack(vals), True)


def _read_hash_zipmap(r: Reader, ctx: LoadContext):
    pairs = _zipmap_pairs(r, r.read_string())
    d: dict[bytes, bytes] = {}
    maxlen = 0
    for f, v in pairs:
        if f in d:
            raise _corrupt(r, "Hash zipmap with dup elements, or big length (%u)" % len(f))
        d[f] = v
        maxlen = max(maxlen, len(f), len(v))
    cfg = ctx.config
    flat: list[bytes] = []
    for kv in pairs:
        flat += kv
    h = Hash(Listpack(flat), ctx.lru)
    if len(d) > cfg.hash_max_listpack_entries or maxlen > cfg.hash_max_listpack_value:
        h.convert()
    return h


def _unsupported(t: int) -> Callable[[Reader, LoadContext], Any]:
    def read(r: Reader, ctx: LoadContext):
        if t in (RDB_TYPE_MODULE_PRE_GA, RDB_TYPE_MODULE_2):
            raise r.error("The RDB file contains module data I can't load")
        raise r.error("Unknown RDB encoding type %d" % t)
    return read


#: RDB type byte -> fn(reader, ctx) -> value | None (see the docstring).
VALUE_READERS: dict[int, Callable[[Reader, LoadContext], Any]] = {
    RDB_TYPE_STRING: _read_string_value,
    RDB_TYPE_LIST: _read_list,
    RDB_TYPE_SET: _read_set,
    RDB_TYPE_ZSET: partial(_read_zset, False),
    RDB_TYPE_HASH: _read_hash,
    RDB_TYPE_ZSET_2: partial(_read_zset, True),
    RDB_TYPE_HASH_ZIPMAP: _read_hash_zipmap,
    RDB_TYPE_LIST_ZIPLIST: _read_list_ziplist,
    RDB_TYPE_SET_INTSET: _read_intset,
    RDB_TYPE_ZSET_ZIPLIST: _read_zset_ziplist,
    RDB_TYPE_HASH_ZIPLIST: _read_hash_ziplist,
    RDB_TYPE_LIST_QUICKLIST: partial(_read_quicklist, 1),
    RDB_TYPE_HASH_LISTPACK: _read_hash_listpack,
    RDB_TYPE_ZSET_LISTPACK: _read_zset_listpack,
    RDB_TYPE_LIST_QUICKLIST_2: partial(_read_quicklist, 2),
}


def _is_object_type(t: int) -> bool:
    """rdbIsObjectType (7.0: 0..7 and 9..19)."""
    return 0 <= t <= 7 or 9 <= t <= 19


def _read_value(r: Reader, t: int, ctx: LoadContext):
    reader = VALUE_READERS.get(t)
    if reader is None:
        reader = _unsupported(t)
    try:
        return reader(r, ctx)
    except RdbError:
        raise
    except _DECODE_ERRORS as exc:
        # Defence in depth: a decoder below us refused the data.
        raise r.error(f"Corrupt value of type {t}: {exc}") from None


# ---------------------------------------------------------------------------
# Ziplists and zipmaps (only ever read: Redis 7.0 converts them on load)
# ---------------------------------------------------------------------------
def _ziplist_values(r: Reader, zl: bytes, what: str) -> list[bytes]:
    """ziplistValidateIntegrity (deep) + every entry as bytes (integers as
    decimal text).  Raises RdbError(what) on any inconsistency."""
    n = len(zl)
    if n < 11:
        raise _corrupt(r, what)
    zlbytes, zltail, zllen = struct.unpack_from("<IIH", zl, 0)
    if zlbytes != n or zl[n - 1] != 0xFF:
        raise _corrupt(r, what)
    end = n - 1
    p = 10
    prev_size = 0
    last = -1
    out: list[bytes] = []
    append = out.append
    while zl[p] != 0xFF:
        b = zl[p]
        if b < 254:
            prevlen = b
            q = p + 1
        else:
            if p + 5 > end:
                raise _corrupt(r, what)
            prevlen = _U32(zl, p + 1)[0]
            q = p + 5
        if prevlen != prev_size or q >= end:
            raise _corrupt(r, what)
        enc = zl[q]
        kind = enc >> 6
        if kind == 0:
            start = q + 1
            stop = start + (enc & 0x3F)
            val = None
        elif kind == 1:
            if q + 2 > end:
                raise _corrupt(r, what)
            start = q + 2
            stop = start + (((enc & 0x3F) << 8) | zl[q + 1])
            val = None
        elif kind == 2:
            if enc != 0x80 or q + 5 > end:
                raise _corrupt(r, what)
            start = q + 5
            stop = start + _U32BE(zl, q + 1)[0]
            val = None
        else:
            start = q + 1
            if enc == 0xC0:
                stop = start + 2
            elif enc == 0xD0:
                stop = start + 4
            elif enc == 0xE0:
                stop = start + 8
            elif enc == 0xF0:
                stop = start + 3
            elif enc == 0xFE:
                stop = start + 1
            elif 0xF1 <= enc <= 0xFD:
                stop = start
            else:
                raise _corrupt(r, what)
            if stop > end:
                raise _corrupt(r, what)
            if enc == 0xC0:
                val = _I16(zl, start)[0]
            elif enc == 0xD0:
                val = _I32(zl, start)[0]
            elif enc == 0xE0:
                val = _I64(zl, start)[0]
            elif enc == 0xF0:
                val = int.from_bytes(zl[start:stop], "little", signed=True)
            elif enc == 0xFE:
                val = zl[start] - 256 if zl[start] > 127 else zl[start]
            else:
                val = (enc & 0x0F) - 1
        if stop > end:
            raise _corrupt(r, what)
        append(zl[start:stop] if val is None else b"%d" % val)
        prev_size = stop - p
        last = p
        p = stop
    if p != end:
        raise _corrupt(r, what)
    if zllen != 0xFFFF and zllen != len(out):
        raise _corrupt(r, what)
    if (last if out else 10) != zltail:
        raise _corrupt(r, what)
    return out


def _zipmap_pairs(r: Reader, zm: bytes) -> list[tuple[bytes, bytes]]:
    """zipmapValidateIntegrity (deep) + the (field, value) pairs."""
    what = "Zipmap integrity check failed."
    size = len(zm)
    if size < 2 or zm[size - 1] != 0xFF:
        raise _corrupt(r, what)
    last = size - 1

    def length(p: int) -> tuple[int, int]:
        b = zm[p]
        if b < 254:
            return b, p + 1
        if b == 254:
            if p + 5 > last:
                raise _corrupt(r, what)
            return _U32(zm, p + 1)[0], p + 5
        raise _corrupt(r, what)

    pairs = []
    p = 1
    while zm[p] != 0xFF:
        flen, p = length(p)
        fstart = p
        p += flen
        if p > last:
            raise _corrupt(r, what)
        vlen, p = length(p)
        if p > last:
            raise _corrupt(r, what)
        free = zm[p]
        p += 1
        vstart = p
        p += vlen + free
        if p > last:
            raise _corrupt(r, what)
        pairs.append((zm[fstart:fstart + flen], zm[vstart:vstart + vlen]))
    if not pairs or (zm[0] != 254 and zm[0] != len(pairs)):
        raise _corrupt(r, what)
    return pairs


# ---------------------------------------------------------------------------
# LRU / LFU (objectSetLRUOrLFU)
# ---------------------------------------------------------------------------
def set_lru_or_lfu(server: Any, value: Any, lfu_freq: int, lru_idle: int,
                   lru_clock: int) -> Any:
    """objectSetLRUOrLFU with an idle time in seconds: the value with its
    LRU/LFU field set (a new bytes object for strings)."""
    if server.config.maxmemory_policy.endswith("lfu"):
        if lfu_freq < 0:
            return value
        from omakase.evict import lfu_minutes
        field = (lfu_minutes() << 8) | lfu_freq
    elif lru_idle >= 0:
        field = lru_clock - lru_idle
        if field < 0:
            field += LRU_CLOCK_MAX
        field &= 0xFFFFFF
    else:
        return value
    if value.__class__ is bytes:
        return value[:-3] + field.to_bytes(3, "little")
    value.lru = field
    return value


# ---------------------------------------------------------------------------
# Loading whole files
# ---------------------------------------------------------------------------
def _atoi(b: bytes) -> int:
    m = re.match(rb"\s*[+-]?\d+", b)
    return int(m.group(0)) if m else 0


def _file_size(f: Any) -> int:
    try:
        st = os.fstat(f.fileno())
        return st.st_size - (f.tell() if hasattr(f, "tell") else 0)
    except (OSError, AttributeError, ValueError):
        return 0


def read_rdb(server: Any, f: Any, *, progress: Callable[[int, int], None] | None = None,
             keep_expired: bool | None = None) -> tuple[list[tuple[HashTable, HashTable]],
                                                        LoadStats]:
    """rdbLoadRio into new tables: ``([(keys, expires) per db], stats)``.
    Nothing of ``server``'s dataset is touched."""
    cfg = server.config
    if keep_expired is None:
        keep_expired = server.masterhost is not None
    stats = LoadStats()
    if progress is not None and hasattr(progress, "stats"):
        progress.stats = stats        # a progress object may read the key counts too
    r = Reader(f=f, progress=progress, total=_file_size(f))
    magic = r.read(9)
    if magic[:5] != b"REDIS":
        raise RdbError("Wrong signature trying to load DB from file", 0)
    ver = _atoi(magic[5:])
    if ver < 1 or ver > RDB_VERSION:
        raise RdbError("Can't handle RDB format version %d" % ver, 5)
    stats.rdb_version = ver
    ndbs = len(server.dbs)
    tables: list[tuple[HashTable, HashTable] | None] = [None] * ndbs
    deep = cfg.sanitize_dump_payload == "yes"
    ctx = LoadContext(server, deep, deep)
    now = int(time.time() * 1000)
    lru_clock = server.lru_clock
    dbid = 0
    keys = expires = None
    expiretime = lfu_freq = lru_idle = -1
    delay = getattr(cfg, "key_load_delay", 0)
    readers = VALUE_READERS
    read_string = r.read_string
    trailer = ctx.trailer
    decompress = lzf.decompress
    insert = None
    fast = False    # no EXPIRETIME/FREQ/IDLE pending, keys known, no delay
    while True:
        if fast:
            # A run of keys with a short raw name: string values that are
            # short (raw or LZF) decoded straight from the buffer, other
            # types through their reader.  Anything else (or a key that
            # crosses the end of the buffer) is left to the general path
            # below, which reads it again from its start.
            buf = r.buf
            size = len(buf)
            end = size - 3
            p = r.pos
            while p < end:
                t = buf[p]
                kl = buf[p + 1]
                q = p + 2 + kl
                if kl >= 64 or q >= end:
                    break
                if not t:
                    b = buf[q]
                    if b < 64:
                        e = q + 1 + b
                        if e > size:
                            break
                        val = buf[q + 1:e] + trailer
                    elif b == 0xC3:
                        clen = buf[q + 1]
                        ulen = buf[q + 2]
                        e = q + 3 + clen
                        if clen | ulen >= 64 or e > size:   # (ulen 0: None below)
                            break
                        try:
                            val = decompress(buf[q + 3:e], ulen)
                        except (ValueError, MemoryError):
                            break
                        if val is None or len(val) != ulen:
                            break
                        val += trailer
                    else:
                        break
                    if not insert(buf[p + 2:q], val):
                        raise RdbError("Duplicated key found in RDB file", r.base + p + 1)
                    stats.keys_loaded += 1
                    p = e
                else:
                    if t not in readers:
                        break
                    key_offset = r.base + p + 1
                    r.pos = q
                    val = _read_value(r, t, ctx)
                    if val is None:
                        stats.empty_keys_skipped += 1
                    elif insert(buf[p + 2:q], val):
                        stats.keys_loaded += 1
                    else:
                        raise RdbError("Duplicated key found in RDB file", key_offset)
                    buf = r.buf
                    size = len(buf)
                    end = size - 3
                    p = r.pos
            r.pos = p
        t = r.byte()
        if t < RDB_OPCODE_FUNCTION2:
            key_offset = r.base + r.pos
            key = read_string()
            if t == RDB_TYPE_STRING:
                val = read_string() + trailer
            else:
                if t not in readers and not _is_object_type(t):
                    raise RdbError("Unknown RDB encoding type %d" % t, key_offset - 1)
                val = _read_value(r, t, ctx)
            if keys is None:
                keys, expires = _tables_for(tables, dbid)
                insert = keys.insert_absent
            if val is None:
                stats.empty_keys_skipped += 1
            elif expiretime != -1 and expiretime < now and not keep_expired:
                stats.keys_expired += 1
            else:
                if not insert(key, val):
                    raise RdbError("Duplicated key found in RDB file", key_offset)
                if expiretime != -1:
                    expires.set(key, expiretime)
                if lfu_freq >= 0 or lru_idle >= 0:
                    val = set_lru_or_lfu(server, val, lfu_freq, lru_idle, lru_clock)
                    if val.__class__ is bytes:
                        keys.set(key, val)
                stats.keys_loaded += 1
            if delay:
                _debug_delay(delay)
            expiretime = lfu_freq = lru_idle = -1
            fast = not delay
            continue
        fast = False
        if t == RDB_OPCODE_EXPIRETIME_MS:
            expiretime = r.read_millis()
        elif t == RDB_OPCODE_SELECTDB:
            dbid = r.read_len()
            if dbid >= ndbs:
                raise r.error("FATAL: Data file was created with a Redis server configured "
                              "to handle more than %d databases. Exiting" % ndbs)
            keys = None
        elif t == RDB_OPCODE_RESIZEDB:
            db_size = r.read_len()
            r.read_len()
            if tables[dbid] is None and db_size:
                tables[dbid] = (HashTable.presized(min(db_size, 1 << 28)), HashTable())
            keys = None
        elif t == RDB_OPCODE_AUX:
            k = read_string()
            stats.aux[k] = read_string()
        elif t == RDB_OPCODE_EOF:
            break
        elif t == RDB_OPCODE_EXPIRETIME:
            expiretime = _I32(r.read(4))[0] * 1000
        elif t == RDB_OPCODE_FREQ:
            lfu_freq = r.byte()
        elif t == RDB_OPCODE_IDLE:
            lru_idle = r.read_len()
        elif t == RDB_OPCODE_FUNCTION2:
            stats.functions.append(read_string())
        elif t == RDB_OPCODE_FUNCTION_PRE_GA:
            name = read_string()
            engine = read_string()
            if r.read_len():
                read_string()
            blob = read_string()
            stats.functions.append(b"#!%s name=%s\n%s" % (engine, name, blob))
        else:   # RDB_OPCODE_MODULE_AUX
            raise r.error("The RDB file contains AUX module data I can't load")
    if ver >= 5:
        expected = r.consumed_crc()
        cks = int.from_bytes(r.read(8), "little")
        if (cfg.rdbchecksum and not getattr(server, "skip_checksum_validation", 0)
                and cks != 0 and cks != expected):
            raise RdbError("RDB CRC error: expected %x, got %x" % (expected, cks),
                           r.offset - 8)
    stats.bytes_read = r.offset
    out = [t if t is not None else (HashTable(), HashTable()) for t in tables]
    return out, stats


def _tables_for(tables: list, dbid: int) -> tuple[HashTable, HashTable]:
    t = tables[dbid]
    if t is None:
        t = tables[dbid] = (HashTable(), HashTable())
    return t


def install_tables(server: Any, tables: list[tuple[HashTable, HashTable]]) -> None:
    """Make loaded tables the dataset: each db gets its new keys/expires."""
    for db, (keys, expires) in zip(server.dbs, tables):
        db.keys = keys
        db.expires = expires
        db.avg_ttl = 0
        db.expires_cursor = 0


def load_rdb(server: Any, f: Any, *, progress: Callable[[int, int], None] | None = None,
             keep_expired: bool | None = None) -> LoadStats:
    """rdbLoad: read the whole file, then install it (see the docstring)."""
    tables, stats = read_rdb(server, f, progress=progress, keep_expired=keep_expired)
    if stats.functions:
        from omakase.scripting.functions import LoadError, load_libraries
        try:
            load_libraries(server, stats.functions)
        except LoadError as exc:
            raise RdbError(f"Failed loading library: {exc}", stats.bytes_read) from None
    install_tables(server, tables)
    return stats


# ---------------------------------------------------------------------------
# RESTORE
# ---------------------------------------------------------------------------
def restore_value(server: Any, payload: bytes) -> Any:
    """rdbLoadObjectType + rdbLoadObject on a DUMP payload (see docstring)."""
    r = Reader(payload)
    t = r.byte()
    if not _is_object_type(t):
        raise RdbError("Unknown RDB object type %d" % t, 0)
    sanitize = server.config.sanitize_dump_payload
    ctx = LoadContext(server, True, sanitize == "yes" or sanitize == "clients")
    value = _read_value(r, t, ctx)
    if value is None:
        raise RdbError("Empty value", r.offset)
    return value


# Streams register their writer and readers (types 15, 19, 21) on import.
from omakase.persistence import rdb_stream as _rdb_stream  # noqa: E402,F401
