"""SORT and SORT_RO (Redis 7.0's ``sort.c``).

``SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC]
[ALPHA] [STORE destination]`` sorts the elements of a list, a set or a
sorted set, numerically (every element, or the value its BY key holds,
parsed as a double) or lexicographically (ALPHA), optionally fetching other
keys (GET) and storing the result as a list (STORE; not in SORT_RO).

The algorithm is ``sortCommandGeneric`` step for step:

1. options are parsed left to right (``strcasecmp``: an option is compared up
   to its first NUL byte); LIMIT's numbers must be integers; a BY pattern
   without ``*`` means "don't sort" (and a later BY with a ``*`` does not undo
   that, as in Redis);
2. the key is looked up (``lookupKeyRead``); a missing key sorts as an empty
   list; any type other than list/set/zset is WRONGTYPE; a set with "don't
   sort" is sorted ALPHA anyway when the result is stored or when a script
   runs the command (so replicas and the AOF see the same order); a sorted
   set is converted to its skiplist encoding first (``zsetConvert``: 7.0 does
   this even for SORT_RO, and OBJECT ENCODING shows it);
3. LIMIT is clamped exactly as Redis does (``start``/``end``); lists and
   sorted sets that are not sorted are read in their own order (reversed for
   DESC) and only the LIMIT range is loaded;
4. scores: ``strtod`` of the element or of the BY key's value (``->field``
   reads a hash field), with Redis's acceptance rules (leading spaces
   allowed, the whole string must be consumed up to its first NUL, ERANGE
   and NaN are errors: "One or more scores can't be converted into double");
   a missing BY key leaves the score at 0; ALPHA compares with ``strcoll``
   (the server's locale is C/C.UTF-8, i.e. byte order up to the first NUL) or
   byte-wise ``memcmp`` when storing; numeric ties are broken by comparing
   the elements byte-wise, ALPHA ties keep the input order (glibc's qsort is a
   stable merge sort);
5. output: every GET pattern per element (``#`` is the element itself, a
   missing key is a null, or an empty string when storing); STORE replaces
   the destination with a list (``setKey``; deleted when the result is empty)
   and replies the number of stored elements.

DIVERGENCE: with BY and a LIMIT, Redis uses a partial quicksort (``pqsort``),
which is not stable: ALPHA ties (equal BY values) inside the range may come
out in another order there.  LIMIT values whose sum overflows a C long are
clamped here, where Redis computes a wrapped (garbage) range.

Element sources use only the public APIs of the other types (imported
lazily, so that this module loads whatever order the types load in):
``ListObject.quicklist`` (``range``/``to_list``), ``types.list.new_list`` +
``list_push`` for STORE, ``Set.members()``, and for sorted sets
``ZSetValue.items()``, ``zset_range_by_rank`` and ``zset_convert_to_skiplist``
(see ``_load_vector``).
"""
from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

from omakase import replies
from omakase.commands.registry import command
from omakase.networking import ClientFlag
from omakase.objects import is_string, string_value, type_name
from omakase.types._members import delete_destination
from omakase.types.hash import Hash
from omakase.util import cstr_lower, parse_ll

try:  # the notify module defines these once it exists
    from omakase.notify import NOTIFY_LIST  # type: ignore
except ImportError:  # pragma: no cover - until the notify module lands
    NOTIFY_LIST = 1 << 4

ERR_SCORES = "One or more scores can't be converted into double"
ERR_BY_CLUSTER = "BY option of SORT denied in Cluster mode."
ERR_GET_CLUSTER = "GET option of SORT denied in Cluster mode."

_DBL_MIN = 2.2250738585072014e-308
_SPACES = b" \t\n\v\f\r"
_DEC_RE = re.compile(rb"([+-]?)(?:(\d+)\.?(\d*)|\.(\d+))(?:[eE]([+-]?\d+))?")
_HEX_RE = re.compile(rb"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?")
_INF_RE = re.compile(rb"[+-]?(?:inf|infinity)", re.IGNORECASE)
_NAN_RE = re.compile(rb"[+-]?nan(?:\([0-9A-Za-z_]*\))?", re.IGNORECASE)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def _cstr(b: bytes) -> bytes:
    """The bytes C string functions see: up to the first NUL."""
    i = b.find(b"\0")
    return b if i < 0 else b[:i]


def sort_strtod(s: bytes) -> float | None:
    """The score SORT gives a value: glibc ``strtod`` on the C string (up to
    the first NUL), accepted when it consumed everything and set neither
    ERANGE nor NaN.  None means "can't be converted"."""
    s = _cstr(s)
    if not s:
        return 0.0              # no conversion, but eptr points at the NUL
    t = s.lstrip(_SPACES)
    if _DEC_RE.fullmatch(t):
        v = float(t)
        hexa = False
    elif _HEX_RE.fullmatch(t):
        v = _hex_float(t)
        hexa = True
    elif _INF_RE.fullmatch(t):
        return -math.inf if t[:1] == b"-" else math.inf
    else:
        return None             # junk, trailing bytes, NaN
    if math.isinf(v):
        return None             # overflow: ERANGE
    if abs(v) < _DBL_MIN and not _exact(t, v, hexa):
        return None             # inexact underflow: ERANGE
    return v


def _hex_float(t: bytes) -> float:
    try:
        return float.fromhex(t.decode("ascii"))
    except OverflowError:
        return math.inf if t[:1] != b"-" else -math.inf


def _exact(t: bytes, v: float, hexa: bool) -> bool:
    """True when the text's value is exactly the double ``v`` (glibc sets
    ERANGE for inexact results below DBL_MIN)."""
    if hexa:
        body = t.lstrip(b"+-")[2:].lower()
        mant, _, exp = body.partition(b"p")
        ip, _, fp = mant.partition(b".")
        digits = (ip + fp) or b"0"
        num = int(digits, 16)
        e2 = (int(exp) if exp else 0) - 4 * len(fp)
        if num == 0:
            return True
        exact = Fraction(num) * (Fraction(2) ** e2)
    else:
        m = _DEC_RE.fullmatch(t)
        ip = m.group(2) or b""
        fp = m.group(3) or m.group(4) or b""
        digits = (ip + fp).lstrip(b"0")
        if not digits:
            return True         # a zero is exact
        if v == 0:
            return False        # a nonzero number rounded to zero
        e10 = (int(m.group(5)) if m.group(5) else 0) - len(fp)
        exact = Fraction(int(digits)) * (Fraction(10) ** e10)
    return exact == abs(Fraction(v))


def lookup_key_by_pattern(db: Any, pattern: bytes, subst: bytes) -> bytes | None:
    """lookupKeyByPattern: ``#`` is the element itself; the first ``*`` is
    replaced by the element; ``key->field`` reads a hash field.  Only
    strings (or hash fields) are returned; anything else is None."""
    if pattern[:1] == b"#" and (len(pattern) == 1 or pattern[1] == 0):
        return subst
    cpat = _cstr(pattern)
    p = cpat.find(b"*")
    if p < 0:
        return None
    f = cpat.find(b"->", p + 1)
    n = len(pattern)
    if f >= 0 and f + 2 < n and pattern[f + 2] != 0:
        field = pattern[f + 2:]
        postfix_end = f
    else:
        field = None
        postfix_end = n
    key = pattern[:p] + subst + pattern[p + 1:postfix_end]
    o = db.lookup_read(key)
    if o is None:
        return None
    if field is not None:
        if o.__class__ is not Hash:
            return None
        return o.get(field)
    if not is_string(o):
        return None
    return string_value(o)


def _load_vector(o: Any, tn: str, dontsort: bool, desc: bool,
                 start: int, end: int) -> tuple[list[bytes], int, int]:
    """The elements to sort, and the (start, end) output range that applies
    to them.  A list or sorted set that is not sorted is read in its own
    order (reversed for DESC) and only the LIMIT range is loaded, as sort.c
    does; everything else is loaded whole."""
    if o is None:
        return [], start, end
    if tn == "set":
        return o.members(), start, end
    if tn == "list":
        ql = o.quicklist
        if not dontsort:
            return ql.to_list(), start, end
        if end < start:
            return [], start, end
        n = len(ql)
        if desc:
            elems = ql.range(n - 1 - end, n - start)
            elems.reverse()
        else:
            elems = ql.range(start, end + 1)
        return elems, 0, end - start
    from omakase.types.zset import zset_range_by_rank
    if not dontsort:
        return [m for m, _ in o.items()], start, end
    if end < start:
        return [], 0, end - start
    pairs = zset_range_by_rank(o, start, end, desc)
    return [m for m, _ in pairs], 0, end - start


def _new_list(server: Any, elements: list[bytes]) -> Any:
    """A list value holding ``elements`` (head to tail), built as sort.c
    does: a new quicklist object, ``listTypePush`` at the tail for each."""
    from omakase.types.list import list_push, new_list   # no import cycle at load
    o = new_list(server)
    for e in elements:
        list_push(o, e, False)
    return o


# ---------------------------------------------------------------------------
# SORT / SORT_RO
# ---------------------------------------------------------------------------
def sort_generic(c: Any, argv: list[bytes], readonly: bool) -> None:
    server = c.server
    cluster = bool(getattr(server.config, "cluster_enabled", False))
    desc = alpha = dontsort = False
    limit_start, limit_count = 0, -1
    sortby: bytes | None = None
    storekey: bytes | None = None
    getops: list[bytes] = []
    n = len(argv)
    j = 2
    while j < n:
        left = n - j - 1
        opt = cstr_lower(argv[j])
        if opt == b"asc":
            desc = False
        elif opt == b"desc":
            desc = True
        elif opt == b"alpha":
            alpha = True
        elif opt == b"limit" and left >= 2:
            ok, limit_start = parse_ll(argv[j + 1])
            if ok:
                ok, limit_count = parse_ll(argv[j + 2])
            if not ok:
                c.add_reply_error(replies.NOT_INTEGER)
                return
            j += 2
        elif not readonly and opt == b"store" and left >= 1:
            storekey = argv[j + 1]
            j += 1
        elif opt == b"by" and left >= 1:
            sortby = argv[j + 1]
            if b"*" not in _cstr(sortby):
                dontsort = True
            elif cluster:
                c.add_reply_error(ERR_BY_CLUSTER)
                return
            j += 1
        elif opt == b"get" and left >= 1:
            if cluster:
                c.add_reply_error(ERR_GET_CLUSTER)
                return
            getops.append(argv[j + 1])
            j += 1
        else:
            c.add_reply_error(replies.SYNTAX)
            return
        j += 1

    db = c.db
    sortval = db.lookup_read(argv[1])
    if sortval is None:
        tn = "list"
    else:
        tn = type_name(sortval)
        if tn not in ("list", "set", "zset"):
            c.add_reply_error(replies.WRONGTYPE)
            return
    if dontsort and tn == "set" and (storekey is not None or c.flags & ClientFlag.LUA):
        # Force a deterministic order for replicas / scripts.
        dontsort = False
        alpha = True
        sortby = None
    if tn == "zset":
        # sort.c converts the sorted set destructively (even for SORT_RO).
        from omakase.types.zset import zset_convert_to_skiplist
        zset_convert_to_skiplist(sortval)

    vectorlen = 0 if sortval is None else len(sortval)
    start = 0 if limit_start < 0 else limit_start
    end = vectorlen - 1 if limit_count < 0 else start + limit_count - 1
    if start >= vectorlen:
        start = vectorlen - 1
        end = vectorlen - 2
    if end >= vectorlen:
        end = vectorlen - 1

    # Load the vector of elements to sort.
    elems, start, end = _load_vector(sortval, tn, dontsort, desc, start, end)

    if not dontsort:
        int_conversion_error = False
        if alpha:
            if sortby is not None:
                # Missing BY values sort first; ties keep the input order.
                keys = []
                for e in elems:
                    v = lookup_key_by_pattern(db, sortby, e)
                    if v is None:
                        keys.append((0, b""))
                    else:
                        keys.append((1, v if storekey is not None else _cstr(v)))
            elif storekey is not None:
                keys = elems
            else:
                keys = [_cstr(e) for e in elems]
        else:
            keys = []
            for e in elems:
                if sortby is not None:
                    v = lookup_key_by_pattern(db, sortby, e)
                    if v is None:
                        keys.append((0.0, e))
                        continue
                else:
                    v = e
                score = sort_strtod(v)
                if score is None:
                    int_conversion_error = True
                    score = 0.0
                keys.append((score, e))
        if int_conversion_error:
            c.add_reply_error(ERR_SCORES)
            return
        order = sorted(range(len(elems)), key=keys.__getitem__, reverse=desc)
        elems = [elems[i] for i in order]

    count = end - start + 1 if end >= start else 0
    outputlen = len(getops) * count if getops else count
    selected = elems[start:start + count] if count else []

    if storekey is None:
        c.add_reply_array_len(outputlen)
        if not getops:
            bulk = c.add_reply_bulk
            for e in selected:
                bulk(e)
            return
        bulk = c.add_reply_bulk
        null = c.add_reply_null
        for e in selected:
            for pat in getops:
                v = lookup_key_by_pattern(db, pat, e)
                if v is None:
                    null()
                else:
                    bulk(v)
        return

    if getops:
        out = []
        for e in selected:
            for pat in getops:
                v = lookup_key_by_pattern(db, pat, e)
                out.append(b"" if v is None else v)
    else:
        out = selected
    if outputlen:
        db.set_key(storekey, _new_list(server, out))
        server.notify(NOTIFY_LIST, "sortstore", storekey, db.id)
        server.dirty += outputlen
    else:
        delete_destination(c, storekey)
    c.add_reply_int(outputlen)


@command("sort")
def sort_command(c: Any, argv: list[bytes]) -> None:
    sort_generic(c, argv, False)


@command("sort_ro")
def sort_ro_command(c: Any, argv: list[bytes]) -> None:
    sort_generic(c, argv, True)
