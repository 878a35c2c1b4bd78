"""Shared replies and every error string, byte-identical to Redis.

Mirrors the ``shared`` object table of Redis's ``server.c``
(``createSharedObjects``): constant replies are built once and appended to
client buffers as they are.  Error strings that commands send live here so a
client can never see two spellings of one error.  An error that starts with
``-`` carries its own code (``-WRONGTYPE ...``); otherwise the reply layer
prefixes ``-ERR ``, as ``addReplyError`` does.
"""
from __future__ import annotations

OK = b"+OK\r\n"
PONG = b"+PONG\r\n"
QUEUED = b"+QUEUED\r\n"
CZERO = b":0\r\n"
CONE = b":1\r\n"
EMPTY_BULK = b"$0\r\n\r\n"
NULL_BULK_RESP2 = b"$-1\r\n"
NULL_ARRAY_RESP2 = b"*-1\r\n"
NULL_RESP3 = b"_\r\n"
EMPTY_ARRAY = b"*0\r\n"
CRLF = b"\r\n"

# Pre-encoded small integers, like shared.integers.
INTEGERS = [b":%d\r\n" % i for i in range(10000)]
MBULK_HDR = [b"*%d\r\n" % i for i in range(1024)]
BULK_HDR = [b"$%d\r\n" % i for i in range(1024)]
MAP_HDR = [b"%%%d\r\n" % i for i in range(1024)]
SET_HDR = [b"~%d\r\n" % i for i in range(1024)]

# Error messages (without the leading "-ERR " unless they carry a code).
WRONGTYPE = "-WRONGTYPE Operation against a key holding the wrong kind of value"
SYNTAX = "syntax error"
NOT_INTEGER = "value is not an integer or out of range"
NOT_FLOAT = "value is not a valid float"
OVERFLOW = "increment or decrement would overflow"
NO_SUCH_KEY = "no such key"
OUT_OF_RANGE = "index out of range"
DB_INDEX = "DB index is out of range"
SAME_OBJECT = "source and destination objects are the same"
INVALID_EXPIRE = "invalid expire time in '%s' command"
NOAUTH = "-NOAUTH Authentication required."
WRONGPASS = "-WRONGPASS invalid username-password pair or user is disabled."
STRING_TOO_LONG = "string exceeds maximum allowed size (proto-max-bulk-len)"
OOM = "-OOM command not allowed when used memory > 'maxmemory'."
BUSYKEY = "-BUSYKEY Target key name already exists."
EXECABORT = "-EXECABORT Transaction discarded because of previous errors."
LOADING = "-LOADING Redis is loading the dataset in memory"
READONLY = "-READONLY You can't write against a read only replica."
MASTERDOWN = ("-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")
MISCONF = ("-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
           "persist to disk. Commands that may modify the data set are disabled, because this "
           "instance is configured to report errors during writes if RDB snapshotting fails "
           "(stop-writes-on-bgsave-error option). Please check the Redis logs for details "
           "about the RDB error.")


def unknown_command(name: bytes, args: list[bytes]) -> str:
    """ERR unknown command 'x', with args beginning with: 'a' 'b' """
    shown = ""
    for a in args:
        if len(shown) >= 128:
            break
        shown += "'%s' " % _clip(a, 128 - len(shown))
    return "unknown command '%s', with args beginning with: %s" % (_clip(name), shown)


def unknown_subcommand(sub: bytes, container: str) -> str:
    return "unknown subcommand '%s'. Try %s HELP." % (_clip(sub), container.upper())


def wrong_arity(name: str) -> str:
    return "wrong number of arguments for '%s' command" % name


def out_of_int_range(lo: int, hi: int) -> str:
    """getRangeLongFromObjectOrReply's message (note Redis's missing 'be')."""
    return "value is out of range, value must between %d and %d" % (lo, hi)


def _clip(b: bytes, limit: int = 128) -> str:
    # Redis copies up to 128 bytes of each argument into the message and
    # replaces newlines so the error stays one line.
    s = b[:limit].decode("utf-8", "replace")
    return s.replace("\r", " ").replace("\n", " ")

# INCRBYFLOAT / HINCRBYFLOAT (t_string.c, t_hash.c).
NAN_OR_INFINITY = "increment would produce NaN or Infinity"
