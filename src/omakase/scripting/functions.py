"""Functions: FUNCTION * and FCALL/FCALL_RO (Redis's ``functions.c`` and
``function_lua.c``).

A library is a piece of Lua code whose first line is its metadata
(``#!lua name=mylib``).  Loading runs the code once, in its own environment
where only ``redis.register_function``, ``redis.log``, the LOG_* levels and
the version exist; each registered callback becomes a ``Function``.  The
code given to Lua starts at the newline that ends the metadata line, so line
numbers match the library text.  All libraries share one Lua state, separate
from the EVAL state, with the same read-only globals.

FUNCTION DUMP's payload is the RDB form of the libraries
(``RDB_OPCODE_FUNCTION2`` + the code as an RDB string, LZF-compressed when
``rdbcompression`` is on and it pays) followed by the RDB version (2 bytes,
little endian) and a CRC64 (Jones, 8 bytes little endian) of everything
before it -- the same trailer as DUMP.  The small RDB helpers here cover just
that; persistence shares ``libraries_code`` / ``load_library_code``.

Function names are case-insensitive (Redis's functions dict compares
case-insensitively); library names are not.  DIVERGENCE: Redis keeps
libraries and functions in dicts, so FUNCTION LIST and FUNCTION DUMP follow
its (seeded) hash order; here they are sorted by name.  DIVERGENCE: FUNCTION
LOAD has no 500 ms load timeout.
"""
from __future__ import annotations

import re
from typing import Any

from omakase.persistence import rdb
from omakase.scripting import state
from omakase.scripting.run import FLAG_NAMES, numkeys_fit
from omakase.util import glob_match, parse_ll

_NAME_RE = re.compile(rb"^[A-Za-z0-9_]+$")
NAME_ERR = ("Library names can only contain letters, numbers, or underscores(_) and must be "
            "at least one character long")


class Function:
    __slots__ = ("name", "fn", "desc", "flags", "library", "runner")

    def __init__(self, name: bytes, fn: Any, desc: bytes | None, flags: int,
                 library: "Library") -> None:
        self.name = name
        self.fn = fn
        self.desc = desc
        self.flags = flags
        self.library = library
        self.runner: Any = None       # made on the first FCALL (make_runner)


class Library:
    __slots__ = ("name", "code", "functions")

    def __init__(self, name: bytes, code: bytes) -> None:
        self.name = name
        self.code = code
        self.functions: dict[bytes, Function] = {}


class LoadError(Exception):
    pass


def _metadata(code: bytes) -> tuple[bytes, bytes, bytes]:
    """functionExtractLibMetaData: (engine, name, code after the line)."""
    if not code.startswith(b"#!"):
        raise LoadError("Missing library metadata")
    nl = code.find(b"\n")
    if nl < 0:
        raise LoadError("Invalid library metadata")
    parts = code[:nl].split()
    if not parts:
        raise LoadError("Invalid library metadata")
    engine = parts[0][2:]
    name = None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            if name is not None:
                raise LoadError("Invalid metadata value, name argument was given multiple times")
            name = part[5:]
            continue
        raise LoadError("Invalid metadata value given: %s" % part.decode("utf-8", "replace"))
    if name is None:
        raise LoadError("Library name was not given")
    return engine, name, code[nl:]


def check_metadata(code: bytes) -> tuple[bytes, bytes]:
    """(library name, code for the engine); LoadError if invalid."""
    engine_name, name, body = _metadata(code)
    if not _NAME_RE.match(name):
        raise LoadError(NAME_ERR)
    if engine_name.lower() != b"lua":
        raise LoadError("Engine '%s' not found" % engine_name.decode("utf-8", "replace"))
    return name, body


def compile_library(server: Any, code: bytes) -> Library:
    """Create a library from its code (not linked yet); LoadError on failure."""
    name, body = check_metadata(code)
    st = state(server)
    engine = st.func_engine
    lib = Library(name, code)
    flag_bits = dict(FLAG_NAMES)

    def register(fname: bytes, cb: Any, desc: Any, flags: tuple) -> str | None:
        if not _NAME_RE.match(fname):
            return NAME_ERR
        if any(fname.lower() == f.lower() for f in lib.functions):
            return "Function already exists in the library"
        bits = 0
        for f in flags:
            b = flag_bits.get(f)
            if b is None:
                return "unknown flag given"
            bits |= b
        lib.functions[fname] = Function(fname, cb, desc, bits, lib)
        return None

    f, err = engine.compile(body, b"@user_function")
    if f is None:
        raise LoadError("Error compiling function: " + err.decode("utf-8", "replace"))
    engine.register_hook = register
    try:
        ok, e = engine.load_library(body)
    finally:
        engine.register_hook = None
    if not ok:
        if isinstance(e, bytes):
            msg = b"ERR " + e
        elif e is not None and not isinstance(e, (int, float)) and isinstance(e[b"err"], bytes):
            msg = e[b"err"]
        else:
            msg = b"ERR unknown error"
        raise LoadError("Error registering functions: " + msg.decode("utf-8", "replace"))
    if not lib.functions:
        raise LoadError("No functions registered")
    return lib


def _link(st: Any, lib: Library) -> None:
    st.libraries[lib.name] = lib
    for fname, fn in lib.functions.items():
        st.functions[fname.lower()] = fn


def _unlink(st: Any, lib: Library) -> None:
    st.libraries.pop(lib.name, None)
    for fname in lib.functions:
        st.functions.pop(fname.lower(), None)


def load_library_code(server: Any, code: bytes, replace: bool) -> bytes:
    """functionsCreateWithLibraryCtx: load and link a library; returns its
    name, raises LoadError.  Used by FUNCTION LOAD and by RDB/AOF loading."""
    st = state(server)
    name, _ = check_metadata(code)
    old = st.libraries.get(name)
    if old is not None and not replace:
        raise LoadError("Library '%s' already exists" % name.decode("utf-8", "replace"))
    lib = compile_library(server, code)
    if old is not None:
        _unlink(st, old)
    for fname in sorted(lib.functions):
        if fname.lower() in st.functions:
            if old is not None:
                _link(st, old)
            raise LoadError("Function %s already exists" % fname.decode("utf-8", "replace"))
    _link(st, lib)
    return lib.name


def load_libraries(server: Any, codes: list[bytes]) -> None:
    """Libraries read from an RDB file or AOF base: all compile, or none is
    linked (raises LoadError); a loaded library replaces one of its name."""
    st = state(server)
    libs = [compile_library(server, code) for code in codes]
    for lib in libs:
        old = st.libraries.get(lib.name)
        if old is not None:
            _unlink(st, old)
        _link(st, lib)


def libraries_code(server: Any) -> list[bytes]:
    """The code of every library (what RDB/AOF persist)."""
    st = getattr(server, "scripting", None)
    if st is None:
        return []
    return [st.libraries[name].code for name in sorted(st.libraries)]


# ---------------------------------------------------------------------------
# The RDB pieces of FUNCTION DUMP / RESTORE
# ---------------------------------------------------------------------------
def dump_payload(server: Any) -> bytes:
    """FUNCTION DUMP: every library as an RDB FUNCTION2 opcode and string,
    then the RDB version and CRC64 (createDumpPayload's footer)."""
    out = bytearray()
    compress = bool(server.config.rdbcompression)
    for code in libraries_code(server):
        out.append(rdb.RDB_OPCODE_FUNCTION2)
        rdb.save_string(out, code, compress)
    out += rdb.RDB_VERSION.to_bytes(2, "little")
    out += rdb.crc64(out).to_bytes(8, "little")
    return bytes(out)


def payload_libraries(data: bytes) -> list[bytes]:
    """The library codes of a FUNCTION DUMP payload (footer already checked)."""
    r = rdb.Reader(data[:-10])
    codes = []
    try:
        while r.pos < len(r.buf):
            op = r.byte()
            if op == rdb.RDB_OPCODE_FUNCTION_PRE_GA:
                raise LoadError("Pre-GA function format not supported")
            if op != rdb.RDB_OPCODE_FUNCTION2:
                raise LoadError("given type is not a function")
            codes.append(r.read_string())
    except rdb.RdbError:
        raise LoadError("Failed loading library") from None
    return codes


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------
def function_load(c: Any, argv: list[bytes]) -> None:
    replace = False
    pos = 2
    while pos < len(argv) - 1:
        arg = argv[pos]
        pos += 1
        if arg.lower() == b"replace":
            replace = True
            continue
        c.add_reply_error("Unknown option given: %s" % arg.decode("utf-8", "replace"))
        return
    if pos >= len(argv):
        c.add_reply_error("Function code is missing")
        return
    try:
        name = load_library_code(c.server, argv[pos], replace)
    except LoadError as exc:
        c.add_reply_error(str(exc))
        return
    c.server.dirty += 1
    c.add_reply_bulk(name)


def function_delete(c: Any, argv: list[bytes]) -> None:
    st = state(c.server)
    lib = st.libraries.get(argv[2])
    if lib is None:
        c.add_reply_error("Library not found")
        return
    _unlink(st, lib)
    c.server.dirty += 1
    c.add_reply_ok()


def function_flush(c: Any, argv: list[bytes]) -> None:
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"sync", b"async")):
        c.add_reply_error("FUNCTION FLUSH only supports SYNC|ASYNC option")
        return
    state(c.server).reset_functions()
    c.server.dirty += 1
    c.add_reply_ok()


def function_list(c: Any, argv: list[bytes]) -> None:
    with_code = False
    pattern = None
    i = 2
    while i < len(argv):
        arg = argv[i]
        low = arg.lower()
        if not with_code and low == b"withcode":
            with_code = True
        elif pattern is None and low == b"libraryname":
            if i >= len(argv) - 1:
                c.add_reply_error("library name argument was not given")
                return
            i += 1
            pattern = argv[i]
        else:
            c.add_reply_error("Unknown argument %s" % arg.decode("utf-8", "replace"))
            return
        i += 1
    st = state(c.server)
    libs = [st.libraries[n] for n in sorted(st.libraries)
            if pattern is None or glob_match(pattern, n)]
    c.add_reply_array_len(len(libs))
    for lib in libs:
        c.add_reply_map_len(4 if with_code else 3)
        c.add_reply_bulk(b"library_name")
        c.add_reply_bulk(lib.name)
        c.add_reply_bulk(b"engine")
        c.add_reply_bulk(b"LUA")
        c.add_reply_bulk(b"functions")
        c.add_reply_array_len(len(lib.functions))
        for fname in sorted(lib.functions):
            fn = lib.functions[fname]
            c.add_reply_map_len(3)
            c.add_reply_bulk(b"name")
            c.add_reply_bulk(fn.name)
            c.add_reply_bulk(b"description")
            if fn.desc is None:
                c.add_reply_null()
            else:
                c.add_reply_bulk(fn.desc)
            c.add_reply_bulk(b"flags")
            names = [n for n, bit in FLAG_NAMES if fn.flags & bit]
            c.add_reply_set_len(len(names))
            for n in names:
                c.add_reply_status(n)
        if with_code:
            c.add_reply_bulk(b"library_code")
            c.add_reply_bulk(lib.code)


def function_stats(c: Any, argv: list[bytes]) -> None:
    st = state(c.server)
    c.add_reply_map_len(2)
    c.add_reply_bulk(b"running_script")
    ctx = st.ctx
    if ctx is None:
        c.add_reply_null()
    else:
        import time
        c.add_reply_map_len(3)
        c.add_reply_bulk(b"name")
        c.add_reply_bulk(ctx.funcname)
        c.add_reply_bulk(b"command")
        c.add_reply_bulks(ctx.argv)
        c.add_reply_bulk(b"duration_ms")
        c.add_reply_int(int((time.monotonic() - ctx.start) * 1000))
    c.add_reply_bulk(b"engines")
    c.add_reply_map_len(1)
    c.add_reply_bulk(b"LUA")
    c.add_reply_map_len(2)
    c.add_reply_bulk(b"libraries_count")
    c.add_reply_int(len(st.libraries))
    c.add_reply_bulk(b"functions_count")
    c.add_reply_int(len(st.functions))


def function_dump(c: Any, argv: list[bytes]) -> None:
    c.add_reply_bulk(dump_payload(c.server))


def function_restore(c: Any, argv: list[bytes]) -> None:
    if len(argv) > 4:
        c.add_reply_error("unknown subcommand or wrong number of arguments for 'RESTORE'. "
                          "Try FUNCTION HELP.")
        return
    policy = b"append"
    if len(argv) == 4:
        policy = argv[3].lower()
        if policy not in (b"append", b"replace", b"flush"):
            c.add_reply_error("Wrong restore policy given, value should be either FLUSH, "
                              "APPEND or REPLACE.")
            return
    data = argv[2]
    if not rdb.verify_dump_payload(data):
        c.add_reply_error("DUMP payload version or checksum are wrong")
        return
    server = c.server
    st = state(server)
    # Compile every library of the payload first (nothing linked on error).
    new_libs: list[Library] = []
    try:
        for code in payload_libraries(data):
            lib = compile_library(server, code)
            for other in new_libs:
                if other.name == lib.name:
                    raise LoadError("Library '%s' already exists" % lib.name.decode())
            new_libs.append(lib)
    except LoadError as exc:
        c.add_reply_error(str(exc))
        return
    old_libs = dict(st.libraries)
    old_funcs = dict(st.functions)
    if policy == b"flush":
        st.libraries = {}
        st.functions = {}
    err = None
    for lib in new_libs:
        old = st.libraries.get(lib.name)
        if old is not None:
            if policy != b"replace":
                err = "Library %s already exists" % lib.name.decode("utf-8", "replace")
                break
            _unlink(st, old)
        clash = next((f for f in sorted(lib.functions) if f.lower() in st.functions), None)
        if clash is not None:
            err = "Function %s already exists" % clash.decode("utf-8", "replace")
            break
        _link(st, lib)
    if err is not None:
        st.libraries = old_libs
        st.functions = old_funcs
        c.add_reply_error(err)
        return
    server.dirty += 1
    c.add_reply_ok()


def function_kill(c: Any, argv: list[bytes]) -> None:
    state(c.server).kill(c, False)


FUNCTION_HELP = [
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
]


def fcall_generic(c: Any, argv: list[bytes], read_only: bool) -> None:
    st = state(c.server)
    fn = st.functions.get(argv[1].lower())
    if fn is None:
        c.add_reply_error("Function not found")
        return
    ok, numkeys = parse_ll(argv[2])
    if not ok:
        c.add_reply_error("Bad number of keys provided")
        return
    if not numkeys_fit(c, numkeys, len(argv) - 3):
        return
    err = st.prepare(c, fn.flags, read_only)
    if err is not None:
        c.add_reply_error(err)
        return
    engine = st.func_engine
    runner = fn.runner
    if runner is None:
        runner = fn.runner = engine.make_runner(fn.fn, False)
    st.run(c, engine, runner, argv, numkeys, False, fn.flags, read_only, fn.name)
