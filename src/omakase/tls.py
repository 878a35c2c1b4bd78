"""TLS: the ``tls-*`` directives, the TLS listener and encrypted client connections.

Mirrors Redis 7.0's ``tls.c`` (and the parts of ``networking.c``/``config.c``
that call into it), built on Python's ``ssl`` module.

The context (``tlsConfigure``/``createSSLContext``)
    ``TlsState.configure()`` builds a new ``ssl.SSLContext`` from the
    configuration in Redis's order and with Redis's checks and log lines
    ("No tls-cert-file configured!", "Failed to load certificate: <file>:
    <openssl error>", "Failed to configure ciphers: <list>", ...).  It is
    atomic: a failure logs why and leaves the previous context in place.  The
    context is built when ``tls-port``, ``tls-replication`` or ``tls-cluster``
    is set at start-up (failure: "Failed to configure TLS. Check logs for more
    info." and exit 1), and again by CONFIG SET of any TLS directive
    (``applyTlsCfg``): an invalid file or list replies "Unable to update TLS
    configuration. Check server logs." and keeps the old context.  Connections
    already open keep the context they were accepted with; new connections use
    the new one.  ``tls-port`` itself re-binds the TLS listener
    (``applyTLSPort``).  ``tls-auth-clients`` has no apply step in Redis: it is
    read for every accepted connection, and so it is here (the context's
    ``verify_mode`` is set before each ``wrap_socket``: ``yes`` requires a
    certificate signed by the CA, ``optional`` verifies one if given, ``no``
    asks for none).

The connection (``connCreateAcceptedTLS``, ``tlsHandleEvent``)
    ``TlsConnection`` stands where a plain socket stands in a ``Client``
    (``client.sock``) and keeps the socket's contract, so ``networking.Client``
    has no TLS code and the plain-TCP path costs nothing more:

    * ``recv(n)`` returns plaintext, raises ``BlockingIOError`` when OpenSSL
      wants more bytes (``SSLWantReadError``), ``b""`` at end of stream.  After
      one ``SSL_read`` it drains ``pending()``: bytes OpenSSL already decrypted
      sit in its buffer where epoll cannot see them (Redis keeps such
      connections on a ``pending_list`` served in beforeSleep; draining them
      into the query buffer at once has the same effect with no list).
    * ``send(data)`` writes in ``WRITE_CHUNK`` slices and returns how much was
      written, or raises ``BlockingIOError`` when nothing was.  Python's SSL
      objects run without ``SSL_MODE_ENABLE_PARTIAL_WRITE``: a slice that hit
      ``SSLWantWriteError`` must be offered again with the same leading bytes.
      ``Client.write_pending`` keeps the unsent tail (``memoryview(data)[n:]``)
      and starts there next time, which is exactly that retry.
    * The handshake is non-blocking and runs inside the event loop: the first
      ``SSL_accept`` step right after ``accept()`` (``connTLSAccept``), then
      one step per readable (or, when OpenSSL wants to write, writable) event
      of the client's fd.  A silent or slow client costs nothing but its fd.
      A failed handshake is logged as Redis logs it ("Error accepting a client
      connection: error:0A0000C7:SSL routines::peer did not return a
      certificate", with " (conn: fd=N)" when it failed in the first step) and
      the client is freed.  When the handshake completes, the connection
      counts in ``total_connections_received`` and protected mode is checked
      (``clientAcceptHandler``: the refusal text goes out encrypted).
    * An ``SSL_read`` that wants to write (or the reverse) registers the
      opposite event and replays the operation from it, as Redis's
      ``TLS_CONN_FLAG_READ_WANT_WRITE``/``WRITE_WANT_READ`` do.  With client
      renegotiation disabled (``SSL_OP_NO_CLIENT_RENEGOTIATION``, as Redis),
      this is rare.
    * ``close()`` sends close_notify once without waiting for the peer's
      (``connTLSClose``'s single ``SSL_shutdown``).

OpenSSL settings the ``ssl`` module does not expose (``SSL_CTX_set_ciphersuites``
for ``tls-ciphersuites``, the session cache mode, size and timeout) are
reached through ``ctypes`` on the ``SSL_CTX`` that CPython's context object
wraps; the pointer is checked against ``SSL_CTX_get_options`` before any use.
Where that is impossible (another Python implementation), ``tls-ciphersuites``
fails configuration with Redis's message, and the session cache settings fall
back to what the module can do.

DIVERGENCE: OpenSSL's error codes are rebuilt from the ``ssl`` exception (library and
reason mnemonics -> ``error:%08X:<library>::<reason>``); a reason Python does
not name is logged with Python's text.  The error queue's later entries are
not shown.
DIVERGENCE: at start-up the context is built when the server starts listening,
so "Running mode"/"Server initialized" are logged before a TLS failure
(Redis configures TLS before printing them).
DIVERGENCE: the outgoing side (a replica connecting to its master with
``tls-replication``, the cluster bus) does not use TLS yet: ``tls-replication``,
``tls-cluster`` and the ``tls-client-*`` files only take part in validation
(the client-side context is built and kept as ``client_ctx``, unused).
"""
from __future__ import annotations

import ctypes
import errno
import os
import socket
import ssl
import warnings
from typing import Any

from omakase.config import ConfigSetError

WRITE_CHUNK = 256 * 1024
READ_SIZE = 16 * 1024          # one TLS record's plaintext at most

_HANDSHAKING = 0
_CONNECTED = 1
_CLOSED = 2

_READ_WANT_WRITE = 1
_WRITE_WANT_READ = 2

CONFIG_ERR = "Unable to update TLS configuration. Check server logs."
LISTEN_ERR = "Unable to listen on this port. Check server logs."

# Directives whose change rebuilds the context (those with applyTlsCfg).
CONTEXT_DIRECTIVES = (
    "tls-session-cache-size", "tls-session-cache-timeout", "tls-cluster", "tls-replication",
    "tls-prefer-server-ciphers", "tls-session-caching", "tls-cert-file", "tls-key-file",
    "tls-key-file-pass", "tls-client-cert-file", "tls-client-key-file",
    "tls-client-key-file-pass", "tls-dh-params-file", "tls-ca-cert-file", "tls-ca-cert-dir",
    "tls-protocols", "tls-ciphers", "tls-ciphersuites")

_PROTOCOLS = {"tlsv1": ssl.TLSVersion.TLSv1, "tlsv1.1": ssl.TLSVersion.TLSv1_1,
              "tlsv1.2": ssl.TLSVersion.TLSv1_2, "tlsv1.3": ssl.TLSVersion.TLSv1_3}
_PROTOCOL_ORDER = (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_2,
                   ssl.TLSVersion.TLSv1_3)
_NO_PROTOCOL = {ssl.TLSVersion.TLSv1: ssl.Options.OP_NO_TLSv1,
                ssl.TLSVersion.TLSv1_1: ssl.Options.OP_NO_TLSv1_1,
                ssl.TLSVersion.TLSv1_2: ssl.Options.OP_NO_TLSv1_2,
                ssl.TLSVersion.TLSv1_3: ssl.Options.OP_NO_TLSv1_3}
_VERIFY = {"no": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "yes": ssl.CERT_REQUIRED}

# OpenSSL 3 option bit; 0 where the library predates it.
_OP_NO_CLIENT_RENEGOTIATION = (1 << 10) if ssl.OPENSSL_VERSION_INFO >= (3, 0) else 0


class TlsConfigError(Exception):
    """Configuration failed; the reason was logged already."""


# ----------------------------------------------------------------------------
# OpenSSL error strings
# ----------------------------------------------------------------------------
_LIB_TEXT = {"SSL": "SSL routines", "SYS": "system library", "X509": "x509 certificate routines",
             "PEM": "PEM routines", "EVP": "digital envelope routines",
             "ASN1": "asn1 encoding routines", "BIO": "BIO routines",
             "DH": "Diffie-Hellman routines", "RSA": "rsa routines", "EC": "elliptic curve routines", "PROV": "Provider routines",
             "OSSL_DECODER": "DECODER routines", "CRYPTO": "common libcrypto routines"}
_reason_codes: dict[tuple[str, str], int] | None = None


def _reason_code(lib: str, reason: str) -> int | None:
    global _reason_codes
    if _reason_codes is None:
        import _ssl
        libs = _ssl.lib_codes_to_names
        _reason_codes = {(libs.get(lc, ""), name): (lc << 23) | rc
                         for (lc, rc), name in _ssl.err_codes_to_names.items()}
    return _reason_codes.get((lib, reason))


def openssl_error_string(exc: BaseException) -> str:
    """ERR_error_string_n's text for an ``ssl``/``os`` exception, the way
    Redis prints it in its TLS log lines."""
    if isinstance(exc, ssl.SSLError):
        lib, reason = exc.library, exc.reason
        if lib and reason:
            code = _reason_code(lib, reason)
            text = reason.lower().replace("_", " ")
            if code is not None:
                return "error:%08X:%s::%s" % (code, _LIB_TEXT.get(lib, lib + " routines"), text)
            return "%s::%s" % (_LIB_TEXT.get(lib, lib + " routines"), text)
        return str(exc.args[1] if len(exc.args) > 1 else exc)
    if isinstance(exc, OSError) and exc.errno:
        return "error:%08X:system library::%s" % (0x80000000 | exc.errno,
                                                  os.strerror(exc.errno))
    return str(exc)


def _handshake_error(exc: BaseException) -> str:
    """connGetLastError after a failed SSL_accept: OpenSSL's error, or the
    system error (strerror) for SSL_ERROR_SYSCALL."""
    if isinstance(exc, ssl.SSLError):
        return openssl_error_string(exc)
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)
    return str(exc) or "(null)"


# ----------------------------------------------------------------------------
# What the ssl module does not expose: SSL_CTX calls through ctypes
# ----------------------------------------------------------------------------
class _Native:
    """libssl functions on the SSL_CTX behind an ``ssl.SSLContext``."""

    SSL_CTRL_SET_SESS_CACHE_SIZE = 42
    SSL_CTRL_SET_SESS_CACHE_MODE = 44
    SSL_SESS_CACHE_OFF = 0
    SSL_SESS_CACHE_SERVER = 2

    def __init__(self) -> None:
        import _ssl
        lib = ctypes.CDLL(getattr(_ssl, "__file__", None) or "libssl.so.3")
        vp = ctypes.c_void_p
        self.get_options = lib.SSL_CTX_get_options
        self.get_options.argtypes, self.get_options.restype = [vp], ctypes.c_uint64
        self.set_ciphersuites = lib.SSL_CTX_set_ciphersuites
        self.set_ciphersuites.argtypes = [vp, ctypes.c_char_p]
        self.set_ciphersuites.restype = ctypes.c_int
        self.ctrl = lib.SSL_CTX_ctrl
        self.ctrl.argtypes, self.ctrl.restype = [vp, ctypes.c_int, ctypes.c_long, vp], ctypes.c_long
        self.set_timeout = lib.SSL_CTX_set_timeout
        self.set_timeout.argtypes, self.set_timeout.restype = [vp, ctypes.c_long], ctypes.c_long

    def ctx_pointer(self, ctx: ssl.SSLContext) -> int | None:
        """The SSL_CTX* (first field after CPython's object header), or None
        if it does not look like one."""
        try:
            ptr = ctypes.c_void_p.from_address(id(ctx) + 2 * ctypes.sizeof(ctypes.c_void_p)).value
        except (ValueError, OSError):
            return None
        if not ptr or self.get_options(ptr) != int(ctx.options):
            return None
        return ptr


_native: _Native | None | bool = False


def _native_for(ctx: ssl.SSLContext) -> tuple[_Native, int] | None:
    global _native
    if _native is False:
        try:
            _native = _Native()
        except (OSError, AttributeError):
            _native = None
    if _native is None:
        return None
    ptr = _native.ctx_pointer(ctx)
    return None if ptr is None else (_native, ptr)


# ----------------------------------------------------------------------------
# Building a context (tlsConfigure / createSSLContext)
# ----------------------------------------------------------------------------
def parse_protocols(value: str | None, log: Any) -> list[ssl.TLSVersion]:
    """parseProtocolsConfig: space-separated names, case-insensitive."""
    if not value:
        return [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3]
    out = []
    for tok in value.split(" "):
        v = _PROTOCOLS.get(tok.lower())
        if v is None:
            log.warning("Invalid tls-protocols specified. Use a combination of 'TLSv1', "
                        "'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.")
            raise TlsConfigError()
        if v not in out:
            out.append(v)
    return out


def _no_password() -> bytes:
    return b""   # tlsPasswordCallback without a password: fail, never prompt


def _apply_protocols(ctx: ssl.SSLContext, protocols: list[ssl.TLSVersion]) -> None:
    chosen = [v for v in _PROTOCOL_ORDER if v in protocols]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = chosen[0]
        ctx.maximum_version = chosen[-1]
        holes = [v for v in _PROTOCOL_ORDER
                 if chosen[0].value <= v.value <= chosen[-1].value and v not in chosen]
        for v in holes:
            ctx.options |= _NO_PROTOCOL[v]


def create_context(cfg: Any, protocols: list[ssl.TLSVersion], log: Any,
                   client: bool = False) -> ssl.SSLContext:
    """createSSLContext: the part common to server and client contexts."""
    cert = cfg.tls_client_cert_file if client else cfg.tls_cert_file
    key = cfg.tls_client_key_file if client else cfg.tls_key_file
    password = cfg.tls_client_key_file_pass if client else cfg.tls_key_file_pass
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT if client else ssl.PROTOCOL_TLS_SERVER)
    if client:
        ctx.check_hostname = False
    ctx.options |= ssl.OP_NO_COMPRESSION | _OP_NO_CLIENT_RENEGOTIATION
    _apply_protocols(ctx, protocols)
    ctx.verify_mode = ssl.CERT_REQUIRED
    try:
        ctx.load_cert_chain(cert, key, password or _no_password)
    except (ssl.SSLError, OSError) as exc:
        # load_cert_chain loads both files: find which one it failed on the
        # way Redis reports it (the certificate is loaded first).
        probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            probe.load_verify_locations(cafile=cert)
        except (ssl.SSLError, OSError) as cexc:
            log.warning(f"Failed to load certificate: {cert}: {openssl_error_string(cexc)}")
            raise TlsConfigError() from None
        log.warning(f"Failed to load private key: {key}: {openssl_error_string(exc)}")
        raise TlsConfigError() from None
    if cfg.tls_ca_cert_file or cfg.tls_ca_cert_dir:
        try:
            ctx.load_verify_locations(cafile=cfg.tls_ca_cert_file, capath=cfg.tls_ca_cert_dir)
        except (ssl.SSLError, OSError) as exc:
            log.warning("Failed to configure CA certificate(s) file/directory: "
                        f"{openssl_error_string(exc)}")
            raise TlsConfigError() from None
    if cfg.tls_ciphers:
        try:
            ctx.set_ciphers(cfg.tls_ciphers)
        except ssl.SSLError:
            log.warning(f"Failed to configure ciphers: {cfg.tls_ciphers}")
            raise TlsConfigError() from None
    if cfg.tls_ciphersuites:
        native = _native_for(ctx)
        if native is None or not native[0].set_ciphersuites(
                native[1], cfg.tls_ciphersuites.encode("utf-8", "surrogateescape")):
            log.warning(f"Failed to configure ciphersuites: {cfg.tls_ciphersuites}")
            raise TlsConfigError()
    return ctx


def build_contexts(cfg: Any, log: Any) -> tuple[ssl.SSLContext, ssl.SSLContext | None]:
    """tlsConfigure: the server context and (when client files are set) the
    client one; raises TlsConfigError after logging the reason."""
    if not cfg.tls_cert_file:
        log.warning("No tls-cert-file configured!")
        raise TlsConfigError()
    if not cfg.tls_key_file:
        log.warning("No tls-key-file configured!")
        raise TlsConfigError()
    if ((cfg.tls_auth_clients != "no" or cfg.tls_cluster or cfg.tls_replication)
            and not cfg.tls_ca_cert_file and not cfg.tls_ca_cert_dir):
        log.warning("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when "
                    "tls-cluster, tls-replication or tls-auth-clients are enabled!")
        raise TlsConfigError()
    protocols = parse_protocols(cfg.tls_protocols, log)
    ctx = create_context(cfg, protocols, log)
    _apply_session_cache(ctx, cfg)
    if cfg.tls_prefer_server_ciphers:
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.options |= ssl.OP_SINGLE_DH_USE | ssl.OP_SINGLE_ECDH_USE
    if cfg.tls_dh_params_file:
        path = cfg.tls_dh_params_file
        try:
            ctx.load_dh_params(path)
        except ssl.SSLError:
            log.warning(f"{path}: failed to read DH params.")
            raise TlsConfigError() from None
        except OSError as exc:
            log.warning(f"Failed to load {path}: {os.strerror(exc.errno or errno.EIO)}")
            raise TlsConfigError() from None
    client_ctx = None
    if cfg.tls_client_cert_file and cfg.tls_client_key_file:
        client_ctx = create_context(cfg, protocols, log, client=True)
    return ctx, client_ctx


def _apply_session_cache(ctx: ssl.SSLContext, cfg: Any) -> None:
    native = _native_for(ctx)
    if cfg.tls_session_caching:
        if native is not None:
            lib, ptr = native
            lib.ctrl(ptr, lib.SSL_CTRL_SET_SESS_CACHE_MODE, lib.SSL_SESS_CACHE_SERVER, None)
            lib.ctrl(ptr, lib.SSL_CTRL_SET_SESS_CACHE_SIZE, cfg.tls_session_cache_size, None)
            lib.set_timeout(ptr, cfg.tls_session_cache_timeout)
        return
    if native is not None:
        lib, ptr = native
        lib.ctrl(ptr, lib.SSL_CTRL_SET_SESS_CACHE_MODE, lib.SSL_SESS_CACHE_OFF, None)
    # Stateless resumption too (SSL_SESS_CACHE_OFF alone leaves tickets on).
    ctx.options |= ssl.OP_NO_TICKET
    ctx.num_tickets = 0


# ----------------------------------------------------------------------------
# The connection
# ----------------------------------------------------------------------------
class TlsConnection:
    """A TLS connection with a plain socket's non-blocking contract (see the
    module docstring).  ``client`` is set by the server right after the
    Client is built; nothing reads or writes before that."""

    __slots__ = ("ssock", "fd", "server", "client", "state", "want", "_peer_local")

    def __init__(self, server: Any, ssock: ssl.SSLSocket, peer_local: bool) -> None:
        self.ssock = ssock
        self.fd = ssock.fileno()
        self.server = server
        self.client: Any = None
        self.state = _HANDSHAKING
        self.want = 0
        self._peer_local = peer_local

    def fileno(self) -> int:
        return self.fd

    def __getattr__(self, name: str) -> Any:
        # getsockname(), setsockopt(), ...: the socket's own.
        return getattr(self.ssock, name)

    # -- the handshake (connTLSAccept / CONN_STATE_ACCEPTING) ----------------
    def start(self) -> None:
        """The first SSL_accept step, right after accept()."""
        self._handshake(first=True)

    def _handshake(self, first: bool = False) -> bool:
        """One SSL_accept step: True once the connection is established.
        A failure logs, frees the client and returns False."""
        try:
            self.ssock.do_handshake()
        except ssl.SSLWantReadError:
            self._set_handshake_writer(False)
            return False
        except ssl.SSLWantWriteError:
            self._set_handshake_writer(True)
            return False
        except (ssl.SSLError, OSError, ValueError) as exc:
            info = f" (conn: fd={self.fd})" if first else ""
            self.server.log.warning(
                f"Error accepting a client connection: {_handshake_error(exc)}{info}")
            self.state = _CLOSED
            self.server.free_client(self.client)
            return False
        self.state = _CONNECTED
        self._set_handshake_writer(False)
        self.server.tls.handshake_done(self.client, self._peer_local)
        return True

    def _set_handshake_writer(self, on: bool) -> None:
        el = self.server.el
        if on:
            el.add_writer(self.fd, self._on_handshake_writable)
        elif self.fd in el.writers and el.writers[self.fd] == self._on_handshake_writable:
            el.remove_writer(self.fd)

    def _on_handshake_writable(self, fd: int) -> None:
        if self.state == _HANDSHAKING and self._handshake() and self.client is not None:
            # Data may have come with the client's Finished message.
            self.client.on_readable(fd)

    # -- reads (connTLSRead) -------------------------------------------------
    def recv(self, n: int) -> bytes:
        if self.state != _CONNECTED:
            if self.state == _CLOSED or not self._handshake():
                raise BlockingIOError(errno.EAGAIN, "handshake in progress")
            if self.client.closing:
                raise BlockingIOError(errno.EAGAIN, "closing")
        if self.want & _WRITE_WANT_READ:
            # A write waited for this readable event: retry it in beforeSleep.
            self.want &= ~_WRITE_WANT_READ
            self.client.queue_write()
        ssock = self.ssock
        try:
            data = ssock.recv(n)
        except ssl.SSLWantReadError:
            raise BlockingIOError(errno.EAGAIN, "want read") from None
        except ssl.SSLWantWriteError:
            self._read_wants_write()
            raise BlockingIOError(errno.EAGAIN, "want write") from None
        if data and (ssock.pending() or self.server.edge_triggered):
            data = self._drain(data)
        return data

    def _drain(self, first: bytes) -> bytes:
        """Decrypted bytes left in OpenSSL's buffer are invisible to epoll:
        take them now.  Edge-triggered, one SSL_read is one record, not the
        socket's whole backlog: read until OpenSSL wants more bytes."""
        ssock = self.ssock
        edge = self.server.edge_triggered
        parts = [first]
        while True:
            left = ssock.pending()
            if not left and not edge:
                break
            try:
                more = ssock.recv(left or READ_SIZE)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLWantWriteError:
                self._read_wants_write()
                break
            if not more:
                break
            parts.append(more)
        return b"".join(parts)

    def _read_wants_write(self) -> None:
        self.want |= _READ_WANT_WRITE
        self.server.el.add_writer(self.fd, self._on_writable_for_read)

    def _on_writable_for_read(self, fd: int) -> None:
        """The socket became writable for an SSL_read that wanted to write."""
        c = self.client
        self.want &= ~_READ_WANT_WRITE
        el = self.server.el
        if c.write_installed:
            el.add_writer(fd, c._on_writable)
        else:
            el.remove_writer(fd)
        c.on_readable(fd)

    # -- writes (connTLSWrite) -----------------------------------------------
    def send(self, data: Any) -> int:
        if self.state != _CONNECTED:
            if self.state == _CLOSED:
                raise BrokenPipeError(errno.EPIPE, "connection closed")
            raise BlockingIOError(errno.EAGAIN, "handshake in progress")
        ssock = self.ssock
        view = memoryview(data)
        total = len(view)
        pos = 0
        while pos < total:
            try:
                pos += ssock.send(view[pos:pos + WRITE_CHUNK])
            except ssl.SSLWantWriteError:
                break
            except ssl.SSLWantReadError:
                self.want |= _WRITE_WANT_READ
                break
        if pos == 0:
            raise BlockingIOError(errno.EAGAIN, "want write")
        return pos

    def sendall(self, data: Any) -> None:
        self.send(data)

    # -- close (connTLSClose) ------------------------------------------------
    def close(self) -> None:
        ssock = self.ssock
        if self.state == _CONNECTED:
            try:
                # Sends close_notify; the peer's reply is not awaited (the
                # non-blocking socket raises SSLWantReadError for it).
                ssock.unwrap()
            except (ssl.SSLError, OSError, ValueError):
                pass
        self.state = _CLOSED
        try:
            ssock.close()
        except OSError:
            pass


# ----------------------------------------------------------------------------
# The server side: contexts, listener, accepted connections
# ----------------------------------------------------------------------------
class TlsState:
    """The server's TLS: current contexts and the TLS listening sockets."""

    __slots__ = ("server", "ctx", "client_ctx", "listeners")

    def __init__(self, server: Any) -> None:
        self.server = server
        self.ctx: ssl.SSLContext | None = None
        self.client_ctx: ssl.SSLContext | None = None
        self.listeners: list[socket.socket] = []

    def wanted(self) -> bool:
        cfg = self.server.config
        return bool(cfg.tls_port or cfg.tls_replication or cfg.tls_cluster)

    def configure(self, reconfigure: bool = True) -> bool:
        """tlsConfigure: build new contexts, or keep the old ones and return
        False (the reason was logged)."""
        if not reconfigure and self.ctx is not None:
            return True
        try:
            ctx, client_ctx = build_contexts(self.server.config, self.server.log)
        except TlsConfigError:
            return False
        self.ctx, self.client_ctx = ctx, client_ctx
        return True

    # -- listening -------------------------------------------------------------
    def listen(self, port: int) -> None:
        """Open the TLS listener(s) on ``port`` (0: none); raises OSError."""
        if port:
            for s in self.server.bind_tcp(port):
                self.listeners.append(s)
                self.server.add_listener_socket(s, False, True)

    def close_listeners(self) -> None:
        server = self.server
        for s in self.listeners:
            server.el.remove_fd(s.fileno())
            if s in server.listeners:
                server.listeners.remove(s)
            s.close()
        self.listeners = []

    # -- accepting ---------------------------------------------------------------
    def wrap(self, sock: socket.socket, peer_local: bool) -> TlsConnection | None:
        """connCreateAcceptedTLS: a TLS connection in the accepting state."""
        ctx = self.ctx
        if ctx is None:
            sock.close()
            return None
        mode = _VERIFY.get(self.server.config.tls_auth_clients, ssl.CERT_REQUIRED)
        if ctx.verify_mode != mode:
            ctx.verify_mode = mode
        try:
            ssock = ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        except (ssl.SSLError, OSError) as exc:
            self.server.log.verbose(
                f"Accepted client connection in error state: {openssl_error_string(exc)}")
            sock.close()
            return None
        return TlsConnection(self.server, ssock, peer_local)

    def handshake_done(self, c: Any, peer_local: bool) -> None:
        """clientAcceptHandler for a connection whose handshake completed."""
        server = self.server
        if not peer_local and server.protected_mode_refuses():
            from omakase.networking import ClientFlag
            from omakase.server import PROTECTED_MODE_MSG
            c.add_reply(PROTECTED_MODE_MSG.encode())
            c.close_after_reply()
            c.queue_write()
            server.stat_rejected_conn += 1
            return
        server.stat_numconnections += 1

    # -- CONFIG SET ----------------------------------------------------------------
    def _apply_cfg(self, cfg: Any, old: Any, new: Any) -> None:
        """applyTlsCfg."""
        if self.wanted() and not self.configure():
            raise ConfigSetError(CONFIG_ERR)

    def _apply_port(self, cfg: Any, old: Any, new: Any) -> None:
        """applyTLSPort: configure if never done, then re-bind the listener
        (the new one first: on failure the old one stays)."""
        if not self.configure(reconfigure=False):
            raise ConfigSetError(CONFIG_ERR)
        fresh: list[socket.socket] = []
        if new:
            try:
                fresh = self.server.bind_tcp(new)
            except OSError as exc:
                self.server.log.warning(str(exc.strerror or exc))
                raise ConfigSetError(LISTEN_ERR) from None
        self.close_listeners()
        for s in fresh:
            self.listeners.append(s)
            self.server.add_listener_socket(s, False, True)


def install(server: Any) -> TlsState:
    """Attach TLS to a server: ``server.tls`` and the config listeners."""
    state = TlsState(server)
    server.tls = state
    cfg = server.config
    if hasattr(cfg, "add_listener"):
        for name in CONTEXT_DIRECTIVES:
            cfg.add_listener(name, state._apply_cfg)
        cfg.add_listener("tls-port", state._apply_port)
    return state

