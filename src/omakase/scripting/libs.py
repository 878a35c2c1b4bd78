"""cjson, cmsgpack, struct and bit for scripts, in Python.

Redis links four C libraries into its Lua (``deps/lua/src/lua_cjson.c``,
``lua_cmsgpack.c``, ``lua_struct.c``, ``lua_bit.c``); lupa's Lua 5.1 has none
of them, so they are written here with the same observable behaviour for the
functions scripts use: the bytes produced, the values returned, the error
messages.  Each function takes the engine and the Lua arguments and returns
``(True, results...)`` or ``(False, message)``; the Lua shim (see
``lua_env.BOOTSTRAP``) raises the message at the caller's level, as
``luaL_error`` would.

Lua tables are read through lupa (``items()`` walks them with ``lua_next``,
so key order is the order Redis's own Lua would give for the same table).

DIVERGENCE: cjson's configuration functions (``encode_keep_buffer`` and
friends) are accepted and return their current setting but change nothing
except ``encode_max_depth``/``decode_max_depth``; cjson.decode does not
support the ``decode_invalid_numbers`` extensions (hex, inf, nan).
"""
from __future__ import annotations

import math
import re
import struct as _struct
from typing import Any, Callable

from lupa import lua51

LUA_TYPE = lua51.lua_type


class LibError(Exception):
    pass


def bind(engine: Any, fn: Callable) -> Callable:
    """The Lua-callable form of a library function: LibError becomes a Lua
    error at the caller's position (luaL_error)."""
    def call(*args: Any) -> Any:
        try:
            return fn(engine, *args)
        except LibError as exc:
            engine.raise_error(str(exc).encode("utf-8", "surrogateescape"))
    return call


def _typename(v: Any) -> str:
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, bytes):
        return "string"
    t = LUA_TYPE(v)
    return t or "userdata"


def _tonumber(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, bytes):
        s = v.strip()
        try:
            if s[:2].lower() in (b"0x",) or s[:3].lower() in (b"-0x", b"+0x"):
                return int(s, 16)
            return float(s)
        except ValueError:
            return None
    return None


def _checknumber(v: Any, i: int, fname: str) -> float:
    n = _tonumber(v)
    if n is None:
        raise LibError(f"bad argument #{i} to '{fname}' (number expected, got "
                       f"{'no value' if v is None else _typename(v)})")
    return n


def _fmt14(n: float) -> bytes:
    if isinstance(n, int) and abs(n) < 10 ** 14:
        return b"%d" % n
    n = float(n)
    if math.isinf(n):
        return b"inf" if n > 0 else b"-inf"
    if math.isnan(n):
        return b"nan" if math.copysign(1, n) > 0 else b"-nan"
    return b"%.14g" % n


# ---------------------------------------------------------------------------
# bit (LuaBitOp)
# ---------------------------------------------------------------------------
def _tobit(v: Any, i: int, fname: str) -> int:
    n = _checknumber(v, i, fname)
    if isinstance(n, float):
        if math.isnan(n) or math.isinf(n):
            return 0             # what the magic-number trick leaves
        n = round(n)
    n &= 0xFFFFFFFF
    return n - (1 << 32) if n & 0x80000000 else n


def _s32(n: int) -> int:
    n &= 0xFFFFFFFF
    return n - (1 << 32) if n & 0x80000000 else n


def _variadic(name: str, op: Callable[[int, int], int]) -> Callable:
    def f(engine: Any, *args: Any) -> int:
        r = _tobit(args[0] if args else None, 1, name)
        for i, a in enumerate(args[1:], 2):
            r = op(r, _tobit(a, i, name))
        return _s32(r)
    return f


def _shift(name: str, op: Callable[[int, int], int]) -> Callable:
    def f(engine: Any, x: Any = None, n: Any = None, *rest: Any) -> int:
        b = _tobit(x, 1, name) & 0xFFFFFFFF
        s = _tobit(n, 2, name) & 31
        return _s32(op(b, s))
    return f


def _tohex(engine: Any, x: Any = None, n: Any = None, *rest: Any) -> bytes:
    b = _tobit(x, 1, "tohex") & 0xFFFFFFFF
    digits = 8 if n is None else _tobit(n, 2, "tohex")
    upper = digits < 0
    if upper:
        digits = -digits
    if digits > 8:
        digits = 8
    s = b"%0*x" % (digits, b & ((1 << (4 * digits)) - 1)) if digits else b""
    return s.upper() if upper else s


BIT = {
    "tobit": lambda e, x=None, *r: _tobit(x, 1, "tobit"),
    "bnot": lambda e, x=None, *r: _s32(~_tobit(x, 1, "bnot")),
    "band": _variadic("band", lambda a, b: a & b),
    "bor": _variadic("bor", lambda a, b: a | b),
    "bxor": _variadic("bxor", lambda a, b: a ^ b),
    "lshift": _shift("lshift", lambda b, s: b << s),
    "rshift": _shift("rshift", lambda b, s: b >> s),
    "arshift": _shift("arshift", lambda b, s: _s32(b) >> s),
    "rol": _shift("rol", lambda b, s: (b << s) | (b >> (32 - s)) if s else b),
    "ror": _shift("ror", lambda b, s: (b >> s) | (b << (32 - s)) if s else b),
    "bswap": lambda e, x=None, *r: _s32(int.from_bytes(
        (_tobit(x, 1, "bswap") & 0xFFFFFFFF).to_bytes(4, "little"), "big")),
    "tohex": _tohex,
}


# ---------------------------------------------------------------------------
# struct (Roberto Ierusalimschy's lua_struct)
# ---------------------------------------------------------------------------
_MAXINTSIZE = 32
_INT_CODES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8}


def _struct_items(fmt: bytes, fname: str):
    """Yield (opt, size, little, align) for each option of a format."""
    little = True
    maxalign = 1
    i = 0
    n = len(fmt)
    while i < n:
        opt = chr(fmt[i])
        i += 1
        if opt in " ":
            continue
        if opt in "<>=!":
            if opt == "<":
                little = True
            elif opt == ">":
                little = False
            elif opt == "=":
                little = True
            else:
                j = i
                while j < n and chr(fmt[j]).isdigit():
                    j += 1
                maxalign = int(fmt[i:j]) if j > i else 8
                i = j
            continue
        size = 0
        if opt in _INT_CODES:
            size = _INT_CODES[opt]
        elif opt in "iI":
            j = i
            while j < n and chr(fmt[j]).isdigit():
                j += 1
            size = int(fmt[i:j]) if j > i else 4
            i = j
            if size > _MAXINTSIZE:
                raise LibError(f"integral size {size} is larger than limit of {_MAXINTSIZE}")
        elif opt == "f":
            size = 4
        elif opt == "d":
            size = 8
        elif opt == "x":
            size = 1
        elif opt == "c":
            j = i
            while j < n and chr(fmt[j]).isdigit():
                j += 1
            size = int(fmt[i:j]) if j > i else 1
            if j == i:
                size = 1
                i = j
                yield opt, size, little, maxalign, False
                continue
            i = j
            yield opt, size, little, maxalign, True
            continue
        elif opt == "s":
            size = 0
        else:
            raise LibError(f"bad argument #1 to '{fname}' (invalid format option '{opt}')")
        yield opt, size, little, maxalign, True


def _align(total: int, size: int, opt: str, maxalign: int) -> int:
    if opt in "cs" or size <= 1 or maxalign <= 1:
        return 0
    a = min(size, maxalign)
    if a & (a - 1):
        raise LibError("alignment must be power of 2")
    return (-total) % a


def _struct_checknumber(v: Any, i: int) -> float:
    n = _tonumber(v)
    if n is None:
        raise LibError(f"bad argument #{i} to 'pack' (number expected, got {_typename(v)})")
    return n


def _struct_pack(engine: Any, fmt: Any = None, *args: Any) -> bytes:
    if not isinstance(fmt, bytes):
        if isinstance(fmt, (int, float)) and not isinstance(fmt, bool):
            fmt = _fmt14(fmt)
        else:
            raise LibError(f"bad argument #1 to 'pack' (string expected, got {_typename(fmt)})")
    out = bytearray()
    argi = 0
    for opt, size, little, maxalign, explicit in _struct_items(fmt, "pack"):
        out += b"\0" * _align(len(out), size, opt, maxalign)
        if opt == "x":
            out += b"\0"
            continue
        v = args[argi] if argi < len(args) else None
        argi += 1
        if opt in "bBhHlLTiI":
            num = _struct_checknumber(v, argi + 1)
            iv = int(num) if not isinstance(num, int) else num
            out += (iv & ((1 << (8 * size)) - 1)).to_bytes(size, "little" if little else "big")
        elif opt == "f":
            out += _struct.pack("<f" if little else ">f", float(_struct_checknumber(v, argi + 1)))
        elif opt == "d":
            out += _struct.pack("<d" if little else ">d", float(_struct_checknumber(v, argi + 1)))
        elif opt in "cs":
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                v = _fmt14(v)
            if not isinstance(v, bytes):
                raise LibError(f"bad argument #{argi + 1} to 'pack' (string expected, got "
                               f"{_typename(v)})")
            if opt == "c":
                if not explicit or size == 0:
                    size = len(v)
                if len(v) < size:
                    raise LibError(f"bad argument #{argi + 1} to 'pack' (string too short)")
                out += v[:size]
            else:
                out += v + b"\0"
    return bytes(out)


def _struct_unpack(engine: Any, fmt: Any = None, data: Any = None, init: Any = None,
                   *rest: Any) -> tuple:
    if not isinstance(fmt, bytes):
        raise LibError(f"bad argument #1 to 'unpack' (string expected, got {_typename(fmt)})")
    if not isinstance(data, bytes):
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            data = _fmt14(data)
        else:
            raise LibError(f"bad argument #2 to 'unpack' (string expected, got "
                           f"{'no value' if data is None else _typename(data)})")
    pos = 0
    if init is not None:
        pos = int(_checknumber(init, 3, "unpack")) - 1
        if pos < 0:
            raise LibError("bad argument #3 to 'unpack' (offset must be 1 or greater)")
    out: list = []
    for opt, size, little, maxalign, explicit in _struct_items(fmt, "unpack"):
        pos += _align(pos, size, opt, maxalign)
        if opt not in "s" and pos + size > len(data):
            raise LibError("bad argument #2 to 'unpack' (data string too short)")
        if opt == "x":
            pos += 1
            continue
        if opt in "bBhHlLTiI":
            raw = int.from_bytes(data[pos:pos + size], "little" if little else "big")
            if opt in "bhli" and raw & (1 << (8 * size - 1)):
                raw -= 1 << (8 * size)
            out.append(float(raw) if abs(raw) >= (1 << 53) else raw)
            pos += size
        elif opt == "f":
            out.append(_struct.unpack("<f" if little else ">f", data[pos:pos + 4])[0])
            pos += 4
        elif opt == "d":
            out.append(_struct.unpack("<d" if little else ">d", data[pos:pos + 8])[0])
            pos += 8
        elif opt == "c":
            if not explicit or size == 0:
                # c0 takes its length from the previous value.
                if not out or not isinstance(out[-1], (int, float)):
                    raise LibError("format 'c0' needs a previous size")
                size = int(out.pop())
                if pos + size > len(data):
                    raise LibError("bad argument #2 to 'unpack' (data string too short)")
            out.append(data[pos:pos + size])
            pos += size
        elif opt == "s":
            end = data.find(b"\0", pos)
            if end < 0:
                raise LibError("unfinished string in data")
            out.append(data[pos:end])
            pos = end + 1
    out.append(pos + 1)
    return tuple(out)


def _struct_size(engine: Any, fmt: Any = None, *rest: Any) -> int:
    if not isinstance(fmt, bytes):
        raise LibError(f"bad argument #1 to 'size' (string expected, got {_typename(fmt)})")
    total = 0
    for opt, size, little, maxalign, explicit in _struct_items(fmt, "size"):
        if opt == "s" or (opt == "c" and size == 0):
            raise LibError(f"bad argument #1 to 'size' (option '{'s' if opt == 's' else 'c0'}' "
                           f"has no fixed size)")
        total += _align(total, size, opt, maxalign) + size
    return total


STRUCT = {"pack": _struct_pack, "unpack": _struct_unpack, "size": _struct_size}


# ---------------------------------------------------------------------------
# cjson (lua-cjson 2.1 as bundled with Redis)
# ---------------------------------------------------------------------------
_ESC = {i: b"\\u%04x" % i for i in range(32)}
_ESC.update({8: b"\\b", 9: b"\\t", 10: b"\\n", 12: b"\\f", 13: b"\\r",
             34: b'\\"', 92: b"\\\\", 47: b"\\/", 127: b"\\u007f"})


def _json_str(s: bytes) -> bytes:
    out = bytearray(b'"')
    for ch in s:
        e = _ESC.get(ch)
        if e is None:
            out.append(ch)
        else:
            out += e
    out += b'"'
    return bytes(out)


def _json_num(n: Any) -> bytes:
    if isinstance(n, float) and (math.isinf(n) or math.isnan(n)):
        raise LibError("Cannot serialise number: must not be NaN or Inf")
    return _fmt14(n)


def _cjson_encode_value(engine: Any, v: Any, depth: int, out: bytearray) -> None:
    if v is None:
        out += b"null"
    elif v is True:
        out += b"true"
    elif v is False:
        out += b"false"
    elif isinstance(v, (int, float)):
        out += _json_num(v)
    elif isinstance(v, bytes):
        out += _json_str(v)
    elif LUA_TYPE(v) == "userdata":
        out += b"null"         # cjson.null (other userdata cannot reach here)
    elif LUA_TYPE(v) == "table":
        depth += 1
        if depth > getattr(engine, "cjson_encode_max_depth", 1000):
            raise LibError(f"Cannot serialise, excessive nesting ({depth})")
        items = list(v.items())
        max_index = 0
        is_array = True
        for k, _ in items:
            if isinstance(k, (int, float)) and not isinstance(k, bool) and k >= 1 and k == int(k):
                if k > max_index:
                    max_index = int(k)
            else:
                is_array = False
                break
        if is_array and items:
            if max_index > 10 and max_index > len(items) * 2:
                raise LibError("Cannot serialise table: excessively sparse array")
            out += b"["
            for i in range(1, max_index + 1):
                if i > 1:
                    out += b","
                _cjson_encode_value(engine, v[i], depth, out)
            out += b"]"
            return
        out += b"{"
        first = True
        for k, val in items:
            if not first:
                out += b","
            first = False
            if isinstance(k, bytes):
                out += _json_str(k)
            elif isinstance(k, (int, float)) and not isinstance(k, bool):
                out += b'"' + _json_num(k) + b'"'
            else:
                raise LibError("Cannot serialise " + _typename(k) + ": table key must be a number or string")
            out += b":"
            _cjson_encode_value(engine, val, depth, out)
        out += b"}"
    else:
        raise LibError(f"Cannot serialise {_typename(v)}: type not supported")


def _cjson_encode(engine: Any, *args: Any) -> bytes:
    if len(args) != 1:
        raise LibError("bad argument #1 to 'encode' (expected 1 argument)")
    out = bytearray()
    _cjson_encode_value(engine, args[0], 0, out)
    return bytes(out)


_NUM_RE = re.compile(rb"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SIMPLE_ESC = {0x22: b'"', 0x5C: b"\\", 0x2F: b"/", 0x62: b"\b", 0x66: b"\f",
               0x6E: b"\n", 0x72: b"\r", 0x74: b"\t"}
_PUNCT = {0x7B: "T_OBJ_BEGIN", 0x7D: "T_OBJ_END", 0x5B: "T_ARR_BEGIN", 0x5D: "T_ARR_END",
          0x2C: "T_COMMA", 0x3A: "T_COLON"}


class _JsonParser:
    """lua-cjson's decoder: a tokenizer (json_next_token) and a recursive
    parser, with its error messages ("Expected X but found Y at character
    N", Y a token name or the tokenizer's error)."""

    def __init__(self, engine: Any, s: bytes) -> None:
        self.e = engine
        self.s = s
        self.i = 0
        self.depth = 0

    def token(self) -> tuple[str, Any, int]:
        s = self.s
        i = self.i
        n = len(s)
        while i < n and s[i] in b" \t\r\n":
            i += 1
        self.i = i
        if i >= n:
            return "T_END", None, i
        c = s[i]
        if c in _PUNCT:
            self.i = i + 1
            return _PUNCT[c], None, i
        if c == 0x22:
            return self._string(i)
        if c == 0x2D or 0x30 <= c <= 0x39:
            m = _NUM_RE.match(s, i)
            if m is None:
                return "T_ERROR", "invalid number", i
            self.i = m.end()
            num = float(m.group())
            if num.is_integer() and abs(num) < (1 << 53):
                return "T_NUMBER", int(num), i
            return "T_NUMBER", num, i
        for word, tok, val in ((b"true", "T_BOOLEAN", True), (b"false", "T_BOOLEAN", False),
                               (b"null", "T_NULL", None)):
            if s.startswith(word, i):
                self.i = i + len(word)
                return tok, val, i
        return "T_ERROR", "invalid token", i

    def _string(self, start: int) -> tuple[str, Any, int]:
        s = self.s
        i = start + 1
        out = bytearray()
        n = len(s)
        while True:
            if i >= n:
                return "T_ERROR", "unexpected end of string", i
            c = s[i]
            if c == 0x22:
                break
            if c == 0x5C:
                if i + 1 >= n:
                    return "T_ERROR", "unexpected end of string", i + 1
                e = s[i + 1]
                if e in _SIMPLE_ESC:
                    out += _SIMPLE_ESC[e]
                    i += 2
                    continue
                if e == 0x75:
                    esc = i
                    try:
                        cp = int(s[i + 2:i + 6], 16)
                        if len(s[i + 2:i + 6]) != 4:
                            raise ValueError
                    except ValueError:
                        return "T_ERROR", "invalid unicode escape code", esc
                    i += 6
                    if 0xD800 <= cp < 0xDC00:
                        try:
                            if s[i:i + 2] != b"\\u":
                                raise ValueError
                            lo = int(s[i + 2:i + 6], 16)
                            if not 0xDC00 <= lo < 0xE000:
                                raise ValueError
                        except ValueError:
                            return "T_ERROR", "invalid unicode escape code", esc
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                        i += 6
                    elif 0xDC00 <= cp < 0xE000:
                        return "T_ERROR", "invalid unicode escape code", esc
                    out += chr(cp).encode("utf-8", "surrogatepass")
                    continue
                return "T_ERROR", "invalid escape code", i
            out.append(c)
            i += 1
        self.i = i + 1
        return "T_STRING", bytes(out), start

    def fail(self, expected: str, tok: tuple[str, Any, int]) -> None:
        found = tok[1] if tok[0] == "T_ERROR" else tok[0]
        raise LibError(f"Expected {expected} but found {found} at character {tok[2] + 1}")

    def value(self, tok: tuple[str, Any, int] | None = None) -> Any:
        if tok is None:
            tok = self.token()
        kind, val, _ = tok
        if kind in ("T_STRING", "T_NUMBER", "T_BOOLEAN"):
            return val
        if kind == "T_NULL":
            return self.e.cjson_null
        if kind == "T_OBJ_BEGIN":
            return self.obj(tok)
        if kind == "T_ARR_BEGIN":
            return self.arr(tok)
        self.fail("value", tok)

    def enter(self, tok: tuple[str, Any, int]) -> None:
        self.depth += 1
        if self.depth > getattr(self.e, "cjson_decode_max_depth", 1000):
            raise LibError(f"Found too many nested data structures ({self.depth}) at "
                           f"character {tok[2] + 1}")

    def obj(self, tok: tuple[str, Any, int]) -> Any:
        self.enter(tok)
        t = self.e._table()
        tok = self.token()
        if tok[0] == "T_OBJ_END":
            self.depth -= 1
            return t
        while True:
            if tok[0] != "T_STRING":
                self.fail("object key string", tok)
            key = tok[1]
            tok = self.token()
            if tok[0] != "T_COLON":
                self.fail("colon", tok)
            t[key] = self.value()
            tok = self.token()
            if tok[0] == "T_OBJ_END":
                self.depth -= 1
                return t
            if tok[0] != "T_COMMA":
                self.fail("comma or object end", tok)
            tok = self.token()

    def arr(self, tok: tuple[str, Any, int]) -> Any:
        self.enter(tok)
        t = self.e._table()
        tok = self.token()
        if tok[0] == "T_ARR_END":
            self.depth -= 1
            return t
        n = 1
        while True:
            t[n] = self.value(tok)
            n += 1
            tok = self.token()
            if tok[0] == "T_ARR_END":
                self.depth -= 1
                return t
            if tok[0] != "T_COMMA":
                self.fail("comma or array end", tok)
            tok = self.token()


def _cjson_decode(engine: Any, *args: Any) -> Any:
    if len(args) != 1:
        raise LibError("bad argument #1 to 'decode' (expected 1 argument)")
    s = args[0]
    if isinstance(s, (int, float)) and not isinstance(s, bool):
        s = _fmt14(s)
    if not isinstance(s, bytes):
        raise LibError(f"bad argument #1 to 'decode' (string expected, got {_typename(s)})")
    p = _JsonParser(engine, s)
    v = p.value()
    tok = p.token()
    if tok[0] != "T_END":
        p.fail("the end", tok)
    return v


def _cjson_cfg(name: str, default: Any) -> Callable:
    def f(engine: Any, *args: Any) -> Any:
        # The depth limits are kept per Lua state (on the engine).
        if name in ("encode_max_depth", "decode_max_depth"):
            if args and args[0] is not None:
                setattr(engine, "cjson_" + name, int(_checknumber(args[0], 1, name)))
            return getattr(engine, "cjson_" + name, default)
        return default
    return f


CJSON = {
    "encode": _cjson_encode,
    "decode": _cjson_decode,
    "encode_keep_buffer": _cjson_cfg("encode_keep_buffer", True),
    "encode_max_depth": _cjson_cfg("encode_max_depth", 1000),
    "decode_max_depth": _cjson_cfg("decode_max_depth", 1000),
    "encode_number_precision": _cjson_cfg("encode_number_precision", 14),
    "encode_invalid_numbers": _cjson_cfg("encode_invalid_numbers", False),
    "decode_invalid_numbers": _cjson_cfg("decode_invalid_numbers", True),
}


# ---------------------------------------------------------------------------
# cmsgpack (lua-cmsgpack 0.4 as bundled with Redis)
# ---------------------------------------------------------------------------
_MAX_NESTING = 16


def _mp_int(n: int, out: bytearray) -> None:
    if n >= 0:
        if n <= 127:
            out.append(n)
        elif n <= 0xFF:
            out += b"\xcc" + n.to_bytes(1, "big")
        elif n <= 0xFFFF:
            out += b"\xcd" + n.to_bytes(2, "big")
        elif n <= 0xFFFFFFFF:
            out += b"\xce" + n.to_bytes(4, "big")
        else:
            out += b"\xcf" + (n & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
    else:
        if n >= -32:
            out.append(n & 0xFF)
        elif n >= -128:
            out += b"\xd0" + n.to_bytes(1, "big", signed=True)
        elif n >= -32768:
            out += b"\xd1" + n.to_bytes(2, "big", signed=True)
        elif n >= -2147483648:
            out += b"\xd2" + n.to_bytes(4, "big", signed=True)
        else:
            out += b"\xd3" + max(n, -(1 << 63)).to_bytes(8, "big", signed=True)


def _mp_bytes(s: bytes, out: bytearray) -> None:
    n = len(s)
    if n < 32:
        out.append(0xA0 | n)
    elif n <= 0xFF:
        out += b"\xd9" + n.to_bytes(1, "big")
    elif n <= 0xFFFF:
        out += b"\xda" + n.to_bytes(2, "big")
    else:
        out += b"\xdb" + n.to_bytes(4, "big")
    out += s


def _mp_encode(engine: Any, v: Any, level: int, out: bytearray) -> None:
    if v is None:
        out.append(0xC0)
    elif v is True:
        out.append(0xC3)
    elif v is False:
        out.append(0xC2)
    elif isinstance(v, (int, float)):
        f = float(v)
        if not (math.isinf(f) or math.isnan(f)) and f == int(f) and -(2 ** 63) <= f < 2 ** 64:
            _mp_int(int(f), out)
        else:
            f32 = _struct.unpack(">f", _struct.pack(">f", f))[0] if abs(f) < 3.5e38 or math.isinf(f) else None
            if f32 is not None and (f32 == f or (math.isnan(f) and math.isnan(f32))):
                out += b"\xca" + _struct.pack(">f", f)
            else:
                out += b"\xcb" + _struct.pack(">d", f)
    elif isinstance(v, bytes):
        _mp_bytes(v, out)
    elif LUA_TYPE(v) == "table" and level < _MAX_NESTING:
        items = list(v.items())
        count = 0
        max_i = 0
        is_array = True
        for k, _ in items:
            if isinstance(k, (int, float)) and not isinstance(k, bool) and k > 0 and k == int(k):
                max_i = max(max_i, int(k))
                count += 1
            else:
                is_array = False
                break
        if is_array and max_i == count:
            n = count
            if n <= 15:
                out.append(0x90 | n)
            elif n <= 0xFFFF:
                out += b"\xdc" + n.to_bytes(2, "big")
            else:
                out += b"\xdd" + n.to_bytes(4, "big")
            for i in range(1, n + 1):
                _mp_encode(engine, v[i], level + 1, out)
        else:
            n = len(items)
            if n <= 15:
                out.append(0x80 | n)
            elif n <= 0xFFFF:
                out += b"\xde" + n.to_bytes(2, "big")
            else:
                out += b"\xdf" + n.to_bytes(4, "big")
            for k, val in items:
                _mp_encode(engine, k, level + 1, out)
                _mp_encode(engine, val, level + 1, out)
    else:
        out.append(0xC0)


def _cmsgpack_pack(engine: Any, *args: Any) -> bytes:
    if not args:
        raise LibError("bad argument #0 to 'pack' (MessagePack pack needs input.)")
    out = bytearray()
    for a in args:
        _mp_encode(engine, a, 0, out)
    return bytes(out)


class _MpShort(Exception):
    pass


def _mp_decode(engine: Any, s: bytes, i: int) -> tuple[Any, int]:
    def need(n: int) -> None:
        if i + n > len(s):
            raise _MpShort()
    need(1)
    c = s[i]
    i += 1
    if c <= 0x7F:
        return c, i
    if c >= 0xE0:
        return c - 256, i
    if 0xA0 <= c <= 0xBF:
        n = c & 0x1F
        need(n)
        return s[i:i + n], i + n
    if 0x90 <= c <= 0x9F or c in (0xDC, 0xDD) or 0x80 <= c <= 0x8F or c in (0xDE, 0xDF):
        if c <= 0x8F:
            n, is_map = c & 0x0F, True
        elif c <= 0x9F:
            n, is_map = c & 0x0F, False
        else:
            size = 2 if c in (0xDC, 0xDE) else 4
            need(size)
            n = int.from_bytes(s[i:i + size], "big")
            i += size
            is_map = c in (0xDE, 0xDF)
        t = engine._table()
        for j in range(1, n + 1):
            if is_map:
                k, i = _mp_decode(engine, s, i)
                val, i = _mp_decode(engine, s, i)
                if k is not None:
                    t[k] = val
            else:
                val, i = _mp_decode(engine, s, i)
                t[j] = val
        return t, i
    if c == 0xC0:
        return None, i
    if c == 0xC2:
        return False, i
    if c == 0xC3:
        return True, i
    if c in (0xCA, 0xCB):
        size = 4 if c == 0xCA else 8
        need(size)
        return _struct.unpack(">f" if size == 4 else ">d", s[i:i + size])[0], i + size
    ints = {0xCC: (1, False), 0xCD: (2, False), 0xCE: (4, False), 0xCF: (8, False),
            0xD0: (1, True), 0xD1: (2, True), 0xD2: (4, True), 0xD3: (8, True)}
    if c in ints:
        size, signed = ints[c]
        need(size)
        n = int.from_bytes(s[i:i + size], "big", signed=signed)
        return (float(n) if abs(n) >= (1 << 53) else n), i + size
    if c in (0xD9, 0xDA, 0xDB, 0xC4, 0xC5, 0xC6):
        size = {0xD9: 1, 0xDA: 2, 0xDB: 4, 0xC4: 1, 0xC5: 2, 0xC6: 4}[c]
        need(size)
        n = int.from_bytes(s[i:i + size], "big")
        i += size
        need(n)
        return s[i:i + n], i + n
    raise LibError("Bad data format in input.")


def _cmsgpack_unpack_full(engine: Any, s: Any, limit: int, offset: int) -> tuple:
    if isinstance(s, (int, float)) and not isinstance(s, bool):
        s = _fmt14(s)
    if not isinstance(s, bytes):
        raise LibError(f"bad argument #1 to 'unpack' (string expected, got "
                       f"{'no value' if s is None else _typename(s)})")
    out = []
    i = offset
    while i < len(s) and (limit <= 0 or len(out) < limit):
        try:
            v, i = _mp_decode(engine, s, i)
        except _MpShort:
            raise LibError("Missing bytes in input.") from None
        out.append(v)
    return i, out


def _cmsgpack_unpack(engine: Any, s: Any = None, *rest: Any) -> tuple:
    _, out = _cmsgpack_unpack_full(engine, s, 0, 0)
    return tuple(out)


def _cmsgpack_unpack_limit(engine: Any, s: Any = None, limit: Any = 0, offset: Any = 0,
                           *rest: Any) -> tuple:
    limit = int(_tonumber(limit) or 0)
    offset = int(_tonumber(offset) or 0)
    if offset < 0 or limit < 0:
        raise LibError(f"Invalid request to unpack with offset of {offset} and limit of {limit}.")
    if isinstance(s, bytes) and offset > len(s):
        raise LibError("Start offset 0 greater than input length 0.")
    i, out = _cmsgpack_unpack_full(engine, s, limit, offset)
    nxt = -1 if i >= len(s) else i
    return (nxt,) + tuple(out)


def _cmsgpack_unpack_one(engine: Any, s: Any = None, offset: Any = 0, *rest: Any) -> tuple:
    return _cmsgpack_unpack_limit(engine, s, 1, offset)


CMSGPACK = {
    "pack": _cmsgpack_pack,
    "unpack": _cmsgpack_unpack,
    "unpack_one": _cmsgpack_unpack_one,
    "unpack_limit": _cmsgpack_unpack_limit,
}
