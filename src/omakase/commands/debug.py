"""DEBUG: the testing and introspection toolbox (Redis's ``debug.c``).

DEBUG is one command with its own subcommand dispatch, as in Redis (it is not
a container in the command table): each subcommand checks the exact argument
count it accepts and otherwise answers ``unknown subcommand or wrong number of
arguments for '<sub>'``.  The protected-command check (enable-debug-command)
happens in ``Server.process_command`` before we get here.

Implemented: HELP, SLEEP, SET-ACTIVE-EXPIRE, OBJECT, DIGEST, DIGEST-VALUE,
CHANGE-REPL-ID, PROTOCOL, QUICKLIST-PACKED-THRESHOLD, ERROR, LOG, POPULATE.
Subcommands that exercise machinery omakase does not have yet (RELOAD and
LOADAOF come with persistence, REPLICATE with replication, LISTPACK/QUICKLIST
with the list encodings) answer the unknown-subcommand error until their
subsystem registers them: a subsystem may add ``b"name" -> fn(c, argv)`` to
``DEBUG_SUBCOMMANDS`` at import time (checked before the built-in ones;
``fn`` returns False to fall through to the unknown-subcommand error, e.g. on
a wrong argument count).  HELP prints Redis 7.0.15's full text.

Digests
-------
``DEBUG DIGEST`` is Redis's ``computeDatasetDigest`` exactly, so the same
dataset gives the same 40 hex digits as redis-server: for each non-empty
database, mix in the db id (4 bytes, big endian); for each key, start a
20-byte digest with the key mixed in, mix the type code (4 bytes, big endian),
then the value, xor ``"!!expire!!"`` if the key has a TTL, and xor the key's
digest into the total (so key order does not matter).  ``mix`` xors SHA1(data)
into the digest and replaces the digest with its own SHA1; ``xor`` only xors.
Strings mix their bytes.  Other types implement
``value.digest_into(digest: bytearray) -> None`` using ``mix_digest`` and
``xor_digest`` from this module, following ``xorObjectDigest``:

* list: mix each element, head to tail;
* set: xor each member;
* zset: per member, a fresh 20-byte digest mixed with the member then the
  score as ``%.17g``, xored into the value digest;
* hash: per field, a fresh digest mixed with field then value, xored in;
* stream: see ``xorObjectDigest`` in debug.c.

DEBUG OBJECT
------------
``Value at:<addr> refcount:<n> encoding:<enc> serializedlength:<n>
lru:<clock> lru_seconds_idle:<s>``, plus whatever ``value.debug_extra()``
returns (quicklists add their ``ql_*`` fields).  serializedlength is
``rdbSavedObjectLen``: the persistence module provides
``omakase.persistence.rdb.saved_object_len(server, value)``; until it exists
strings are measured here exactly except that LZF-compressible strings
(longer than 20 bytes, rdbcompression yes) use python-lzf's output length,
which can differ from Redis's LZF by a few bytes (DIVERGENCE).
"""
from __future__ import annotations

import hashlib
import random
import sys
import time
from typing import Any, Callable

from omakase import objects, replies
from omakase.commands.registry import command
from omakase.keyspace import new_string
from omakase.objects import encoding_name
from omakase.util import format_double, glob_match, parse_ll

DEBUG_SUBCOMMANDS: dict[bytes, Callable[[Any, list[bytes]], bool]] = {}

TYPE_CODES = {"string": 0, "list": 1, "set": 2, "zset": 3, "hash": 4, "module": 5,
              "stream": 6}

DEBUG_HELP = [
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
]

PROTOCOL_TYPES_ERROR = ("Wrong protocol type name. Please use one of the following: "
                        "string|integer|double|bignum|null|array|set|map|attrib|push|"
                        "verbatim|true|false")
QUICKLIST_PACKED_THRESHOLD_DEFAULT = 1 << 30


# --------------------------------------------------------------------------
# Digests (debug.c: xorDigest, mixDigest, xorObjectDigest, computeDatasetDigest)
# --------------------------------------------------------------------------
def xor_digest(digest: bytearray, data: bytes) -> None:
    h = hashlib.sha1(data).digest()
    for i in range(20):
        digest[i] ^= h[i]


def mix_digest(digest: bytearray, data: bytes) -> None:
    xor_digest(digest, data)
    digest[:] = hashlib.sha1(digest).digest()


def object_digest(db: Any, key: bytes, value: Any, digest: bytearray) -> None:
    """xorObjectDigest: mix one value (and its TTL mark) into ``digest``."""
    tname = objects.type_name(value)
    mix_digest(digest, TYPE_CODES.get(tname, 5).to_bytes(4, "big"))
    if objects.is_string(value):
        mix_digest(digest, objects.string_value(value))
    else:
        value.digest_into(digest)
    if db.get_expire(key) != -1:
        xor_digest(digest, b"!!expire!!")


def dataset_digest(server: Any) -> bytes:
    """computeDatasetDigest: 20 bytes, all zero for an empty dataset."""
    final = bytearray(20)
    for db in server.dbs:
        if not len(db):
            continue
        mix_digest(final, db.id.to_bytes(4, "big"))
        for key, value in db.keys.items():
            digest = bytearray(20)
            mix_digest(digest, key)
            object_digest(db, key, value, digest)
            xor_digest(final, digest)
    return bytes(final)


def zset_member_digest(member: bytes, score: float) -> bytes:
    """The per-member digest a zset xors into its value digest."""
    d = bytearray(20)
    mix_digest(d, member)
    mix_digest(d, format_double(score))
    return bytes(d)


# --------------------------------------------------------------------------
# DEBUG OBJECT helpers
# --------------------------------------------------------------------------
def _rdb_len_size(n: int) -> int:
    """rdbSaveLen: bytes used to store a length."""
    if n < 64:
        return 1
    if n < 16384:
        return 2
    if n <= 0xFFFFFFFF:
        return 5
    return 9


def _int_encoded_size(v: int) -> int:
    """rdbEncodeInteger: 0 if the value does not fit an int encoding."""
    if -(1 << 7) <= v < (1 << 7):
        return 2
    if -(1 << 15) <= v < (1 << 15):
        return 3
    if -(1 << 31) <= v < (1 << 31):
        return 5
    return 0


def string_saved_len(server: Any, body: bytes) -> int:
    """rdbSaveRawString's size for a string body."""
    n = len(body)
    if n <= 11:
        ok, v = parse_ll(body)
        if ok:
            size = _int_encoded_size(v)
            if size:
                return size
    if getattr(server.config, "rdbcompression", True) and n > 20:
        try:
            import lzf
            comp = lzf.compress(body, n - 4) if n > 4 else None
        except ImportError:
            comp = None
        if comp:
            return 1 + _rdb_len_size(len(comp)) + _rdb_len_size(n) + len(comp)
    return _rdb_len_size(n) + n


def saved_object_len(server: Any, value: Any) -> int:
    try:
        from omakase.persistence.rdb import saved_object_len as rdb_len
    except ImportError:
        rdb_len = None
    if rdb_len is not None:
        return rdb_len(server, value)
    if objects.is_string(value):
        return string_saved_len(server, objects.string_value(value))
    fn = getattr(value, "saved_len", None)
    return fn() if callable(fn) else 0


def idle_seconds(server: Any, lru: int) -> int:
    """estimateObjectIdleTime / 1000 (24-bit wrapping clock)."""
    clock = server.lru_clock
    if clock >= lru:
        return clock - lru
    return clock + (objects.LRU_CLOCK_MAX - lru)


# --------------------------------------------------------------------------
# Subcommands
# --------------------------------------------------------------------------
def _status_digest(c: Any, digest: bytes) -> None:
    c.add_reply_status(digest.hex())


def _debug_object(c: Any, key: bytes) -> None:
    server = c.server
    value = c.db.peek(key)
    if value is None:
        c.add_reply_error(replies.NO_SUCH_KEY)
        return
    lru_policy = server.config.maxmemory_policy.startswith(("allkeys-l", "volatile-l"))
    refcount = (objects.SHARED_REFCOUNT if objects.is_shared_integer(value, lru_policy)
                else 1)
    lru = objects.stored_lru(value)
    extra_fn = getattr(value, "debug_extra", None)
    extra = extra_fn() if callable(extra_fn) else ""
    c.add_reply_status(
        "Value at:0x%x refcount:%d encoding:%s serializedlength:%d lru:%d "
        "lru_seconds_idle:%d%s" % (id(value), refcount, objects.encoding_name(value),
                                   saved_object_len(server, value), lru,
                                   idle_seconds(server, lru), extra))


def _debug_protocol(c: Any, name: bytes) -> None:
    name = name.lower()
    if name == b"string":
        c.add_reply_bulk(b"Hello World")
    elif name == b"integer":
        c.add_reply_int(12345)
    elif name == b"double":
        c.add_reply_double(3.141)
    elif name == b"bignum":
        c.add_reply_bignum(b"1234567999999999999999999999999999999")
    elif name == b"null":
        c.add_reply_null()
    elif name == b"array":
        c.add_reply_array_len(3)
        for j in range(3):
            c.add_reply_int(j)
    elif name == b"set":
        c.add_reply_set_len(3)
        for j in range(3):
            c.add_reply_int(j)
    elif name == b"map":
        c.add_reply_map_len(3)
        for j in range(3):
            c.add_reply_int(j)
            c.add_reply_bool(j == 1)
    elif name == b"attrib":
        if c.resp >= 3:
            c.add_reply_attribute_len(1)
            c.add_reply_bulk(b"key-popularity")
            c.add_reply_array_len(2)
            c.add_reply_bulk(b"key:123")
            c.add_reply_int(90)
        c.add_reply_bulk(b"Some real reply following the attribute")
    elif name == b"push":
        if c.resp < 3:
            c.add_reply_error("RESP2 is not supported by this command")
            return
        c.add_reply_push_len(2)
        c.add_reply_bulk(b"server-cpu-usage")
        c.add_reply_int(42)
        c.add_reply_bulk(b"Some real reply following the push reply")
    elif name == b"true":
        c.add_reply_bool(True)
    elif name == b"false":
        c.add_reply_bool(False)
    elif name == b"verbatim":
        c.add_reply_verbatim(b"This is a verbatim\nstring", b"txt")
    else:
        c.add_reply_error(PROTOCOL_TYPES_ERROR)


def _strtod_prefix(b: bytes) -> float:
    """C strtod on the longest numeric prefix (0.0 when there is none)."""
    s = b.strip()
    for end in range(len(s), 0, -1):
        try:
            return float(s[:end])
        except ValueError:
            continue
    return 0.0


def _atoi(b: bytes) -> int:
    s = b.lstrip()
    i = 1 if s[:1] in (b"+", b"-") else 0
    j = i
    while j < len(s) and 48 <= s[j] <= 57:
        j += 1
    return int(s[:j]) if j > i else 0


def memtoull(b: bytes) -> int | None:
    """Redis's memtoull: digits with an optional b/k/kb/m/mb/g/gb unit."""
    if b.startswith(b"-"):
        return None
    i = 0
    while i < len(b) and 48 <= b[i] <= 57:
        i += 1
    unit = b[i:].lower()
    mul = {b"": 1, b"b": 1, b"k": 1000, b"kb": 1024, b"m": 1000 ** 2, b"mb": 1024 ** 2,
           b"g": 1000 ** 3, b"gb": 1024 ** 3}.get(unit)
    if mul is None or i >= 128:
        return None
    val = int(b[:i]) if i else 0
    if val > (2**64 - 1) // mul:
        return None
    return val * mul


def _debug_populate(c: Any, argv: list[bytes]) -> None:
    msg = "value is out of range, must be positive"
    ok, count = parse_ll(argv[2])
    if not ok or count < 0:
        c.add_reply_error(msg)
        return
    valsize = 0
    if len(argv) == 5:
        ok, valsize = parse_ll(argv[4])
        if not ok or valsize < 0:
            c.add_reply_error(msg)
            return
    prefix = argv[3] if len(argv) >= 4 else b"key"
    db = c.db
    server = c.server
    for j in range(count):
        key = (b"%b:%d" % (prefix, j))[:127]
        if db.lookup_write(key) is not None:
            continue
        val = b"value:%d" % j
        if valsize:
            val = val[:valsize] + b"\0" * max(0, valsize - len(val))
        db.add(key, new_string(server, val))
        db.signal_modified_key(key)
    c.add_reply_ok()


def _change_repl_id(server: Any) -> None:
    """changeReplicationId + clearReplicationId2."""
    import os
    state = getattr(server, "repl", None) or server   # the replication module's ids
    state.replid = os.urandom(20).hex()
    state.replid2 = "0" * 40
    state.second_replid_offset = -1


def _debug_encoding_dump(c: Any, key: bytes, encoding: str) -> None:
    """DEBUG LISTPACK / QUICKLIST: describe the encoding on stdout."""
    value = c.db.lookup(key, touch=False, stats=False)
    if value is None:
        c.add_reply_error("no such key")
        return
    if encoding_name(value) != encoding:
        c.add_reply_error(f"Not a {encoding} encoded object.")
        return
    inner = getattr(value, "ql", None) or getattr(value, "data", None) \
        or getattr(value, "ptr", None)
    if encoding == "quicklist":
        lines = [f"{{quicklist}} count: {len(inner)} nodes: {inner.node_count}"]
        lines += [f"  node {i}: {info}" for i, info in enumerate(inner.node_info())]
    else:
        lines = [f"{{listpack}} bytes: {inner.nbytes} elements: {len(inner)}"]
        lines += [f"  [{i}] {e!r}" for i, e in enumerate(inner.to_list())]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    c.add_reply_status(f"{encoding.capitalize()} structure printed on stdout")


def _stringmatch_fuzz(rounds: int = 5000) -> None:
    """DEBUG STRINGMATCH-TEST: random patterns and strings through the
    matcher; passing means it returned for all of them."""
    rng = random.Random()
    alphabet = b"ab*?[]^-\\"
    for _ in range(rounds):
        pattern = bytes(rng.choice(alphabet) for _ in range(rng.randrange(12)))
        string = bytes(rng.choice(b"ab[]-") for _ in range(rng.randrange(12)))
        glob_match(pattern, string)


def _subcommand_error(c: Any, argv: list[bytes]) -> None:
    c.add_reply_error("unknown subcommand or wrong number of arguments for '%s'. Try DEBUG HELP."
                      % argv[1][:128].decode("utf-8", "replace"))


@command("debug")
def debug_command(c: Any, argv: list[bytes]) -> None:
    sub = argv[1].lower()
    argc = len(argv)
    server = c.server
    extra = DEBUG_SUBCOMMANDS.get(sub)
    if extra is not None and extra(c, argv):
        return
    if sub == b"help" and argc == 2:
        c.add_reply_help("debug", DEBUG_HELP)
    elif sub == b"sleep" and argc == 3:
        seconds = _strtod_prefix(argv[2])
        if seconds > 0:
            time.sleep(seconds)        # blocks the whole server, as in Redis
        c.add_reply_ok()
    elif sub == b"set-active-expire" and argc == 3:
        server.config.active_expire_enabled = bool(_atoi(argv[2]))
        c.add_reply_ok()
    elif sub == b"object" and argc == 3:
        _debug_object(c, argv[2])
    elif sub == b"digest" and argc == 2:
        _status_digest(c, dataset_digest(server))
    elif sub == b"digest-value" and argc >= 2:
        c.add_reply_array_len(argc - 2)
        db = c.db
        for key in argv[2:]:
            digest = bytearray(20)
            value = db.peek(key)        # works on logically expired keys too
            if value is not None:
                object_digest(db, key, value, digest)
            _status_digest(c, bytes(digest))
    elif sub == b"change-repl-id" and argc == 2:
        _change_repl_id(server)
        server.log.warning("Changing replication IDs after receiving DEBUG change-repl-id")
        c.add_reply_ok()
    elif sub == b"listpack" and argc == 3:
        _debug_encoding_dump(c, argv[2], "listpack")
    elif sub == b"quicklist" and argc in (3, 4):
        _debug_encoding_dump(c, argv[2], "quicklist")
    elif sub == b"stringmatch-test" and argc == 2:
        _stringmatch_fuzz()
        c.add_reply_status("Apparently Redis did not crash: test passed")
    elif sub == b"protocol" and argc == 3:
        _debug_protocol(c, argv[2])
    elif sub == b"quicklist-packed-threshold" and argc == 3:
        size = memtoull(argv[2])
        if size is None or size > (1 << 32) - (1 << 20):
            c.add_reply_error("argument must be a memory value bigger than 1 and smaller than 4gb")
            return
        server.quicklist_packed_threshold = size or QUICKLIST_PACKED_THRESHOLD_DEFAULT
        from omakase.encodings.quicklist import set_packed_threshold
        set_packed_threshold(server.quicklist_packed_threshold)
        c.add_reply_ok()
    elif sub == b"error" and argc == 3:
        # Sent as is: not counted in errorstats, as addReplySds is not.
        msg = argv[2].replace(b"\r", b" ").replace(b"\n", b" ")
        c.add_reply(b"-" + msg + b"\r\n")
    elif sub == b"log" and argc == 3:
        server.log.warning("DEBUG LOG: " + argv[2].decode("utf-8", "replace"))
        c.add_reply_ok()
    elif sub == b"populate" and 3 <= argc <= 5:
        _debug_populate(c, argv)
    else:
        _subcommand_error(c, argv)
