"""TLS (tls.py): the tls-port listener, client authentication, protocols and
ciphers, CONFIG SET reloads, the non-blocking handshake, and interop with
redis-cli, redis-benchmark and redis-py (sync and asyncio).

A CA, a server certificate (localhost / 127.0.0.1), a client certificate, and
a second CA with its own client and server certificates are made at test time
with the ``openssl`` CLI.  Where it tells us what Redis does (error replies,
log lines, the connection counter), Debian's redis-server 7.0 is started with
the same files and asked the same thing.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest
import redis
import redis.asyncio

from helpers import ServerProcess, free_port, redis_server_available, spawn_omakase
from inproc import QuietLog

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None and not os.environ.get("CI"),
                                reason="the openssl CLI is needed to make certificates")

KEY_ARGS = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _openssl(*args: str, cwd: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _make_ca(d: str, name: str) -> None:
    _openssl("req", "-x509", "-new", *KEY_ARGS, "-keyout", f"{name}.key", "-out", f"{name}.crt",
             "-days", "3650", "-subj", f"/CN=omakase {name}", cwd=d)


def _make_cert(d: str, name: str, ca: str, cn: str, san: str | None = None) -> None:
    _openssl("req", "-new", *KEY_ARGS, "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN={cn}", cwd=d)
    extra: list[str] = []
    if san:
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(f"subjectAltName={san}\n")
        extra = ["-extfile", f"{name}.ext"]
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-out", f"{name}.crt", "-days", "3650", *extra, cwd=d)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("tls"))
    san = "DNS:localhost,IP:127.0.0.1"
    _make_ca(d, "ca")
    _make_cert(d, "server", "ca", "localhost", san)
    _make_cert(d, "client", "ca", "client")
    _make_ca(d, "ca2")
    _make_cert(d, "client2", "ca2", "stranger")
    _make_cert(d, "server2", "ca", "second-server", san)
    with open(os.path.join(d, "bad.crt"), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    return {name: os.path.join(d, name) for name in os.listdir(d)} | {"dir": d}


def tls_config(certs, **extra) -> dict:
    cfg = {"tls_port": free_port(), "tls_cert_file": certs["server.crt"],
           "tls_key_file": certs["server.key"], "tls_ca_cert_file": certs["ca.crt"]}
    cfg.update(extra)
    return cfg


@pytest.fixture(scope="module")
def srv(certs):
    sock_path = os.path.join(certs["dir"], "omakase.sock")
    s = ServerProcess("omakase", unixsocket=sock_path, **tls_config(certs))
    s.tls_port = s.config["tls_port"]
    yield s
    s.stop()


@pytest.fixture(scope="module")
def oracle_srv(certs):
    if not redis_server_available():
        pytest.skip("redis-server not installed")
    s = ServerProcess("redis", **tls_config(certs))
    s.tls_port = s.config["tls_port"]
    yield s
    s.stop()


def client_ctx(certs, cert: str | None = "client", ca: str = "ca",
               versions: tuple[ssl.TLSVersion, ssl.TLSVersion] | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(certs[f"{ca}.crt"])
    if cert:
        ctx.load_cert_chain(certs[f"{cert}.crt"], certs[f"{cert}.key"])
    if versions:
        ctx.minimum_version, ctx.maximum_version = versions
    return ctx


def tls_connect(port: int, ctx: ssl.SSLContext, timeout: float = 5.0) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname="localhost")
    except BaseException:
        raw.close()
        raise


def read_reply(s: socket.socket, n: int) -> bytes:
    """Read until n bytes or EOF."""
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def tls_ping(port: int, ctx: ssl.SSLContext) -> bytes:
    """PING over a fresh TLS connection: the reply, or raises on a refused
    handshake (in TLS 1.3 the client learns of it at its first read)."""
    with tls_connect(port, ctx) as s:
        s.sendall(b"PING\r\n")
        return s.recv(64)


def refused(port: int, ctx: ssl.SSLContext) -> bool:
    try:
        return tls_ping(port, ctx) == b""
    except (ssl.SSLError, ConnectionError):
        return True


def tls_client(srv, certs, **kw) -> redis.Redis:
    kw.setdefault("ssl_certfile", certs["client.crt"])
    kw.setdefault("ssl_keyfile", certs["client.key"])
    kw.setdefault("protocol", 2)
    return redis.Redis(host="127.0.0.1", port=srv.tls_port, ssl=True,
                       ssl_ca_certs=certs["ca.crt"], socket_timeout=10, **kw)


def cli(port: int, certs, *args: str, cert: bool = True) -> subprocess.CompletedProcess:
    tls = ["--tls", "--cacert", certs["ca.crt"]]
    if cert:
        tls += ["--cert", certs["client.crt"], "--key", certs["client.key"]]
    return subprocess.run(["redis-cli", "-p", str(port), *tls, *args],
                          capture_output=True, text=True, timeout=20)


def wait_log(srv, text: str, timeout: float = 5.0) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        log = srv.log_text()
        if text in log:
            return log
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in the log:\n{srv.log_text()[-2000:]}")


# ----------------------------------------------------------------------------
# Interop: redis-cli, redis-py, redis-benchmark
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["omakase", "redis"])
def test_redis_cli_over_tls(kind, srv, oracle_srv, certs):
    s = srv if kind == "omakase" else oracle_srv
    assert cli(s.tls_port, certs, "PING").stdout == "PONG\n"
    assert cli(s.tls_port, certs, "SET", "tls:k", "v" * 3000).stdout == "OK\n"
    assert cli(s.tls_port, certs, "STRLEN", "tls:k").stdout == "3000\n"
    out = cli(s.tls_port, certs, "CLIENT", "LIST").stdout
    assert f"laddr=127.0.0.1:{s.tls_port} " in out and " addr=127.0.0.1:" in out


def test_redis_py_sync(srv, certs):
    r = tls_client(srv, certs)
    try:
        assert r.ping() is True
        assert r.set("tls:a", b"\x00\xffbinary") is True
        assert r.get("tls:a") == b"\x00\xffbinary"
        me = r.client_info()
        assert me["laddr"] == f"127.0.0.1:{srv.tls_port}"
        assert me["addr"].startswith("127.0.0.1:")
        assert any(int(c["id"]) == int(me["id"]) for c in r.client_list())
        info = r.info()
        assert info["tcp_port"] == srv.port
        assert info["connected_clients"] >= 1
        r3 = tls_client(srv, certs, protocol=3)
        assert r3.hgetall("nothing") == {}
        r3.close()
    finally:
        r.close()


def test_redis_py_asyncio(srv, certs):
    async def main():
        r = redis.asyncio.Redis(host="127.0.0.1", port=srv.tls_port, ssl=True, protocol=2,
                                ssl_ca_certs=certs["ca.crt"], ssl_certfile=certs["client.crt"],
                                ssl_keyfile=certs["client.key"])
        try:
            await r.delete("tls:alist")
            await r.rpush("tls:alist", *[b"e%d" % i for i in range(2000)])
            got = await asyncio.gather(*(r.lrange("tls:alist", 0, -1) for _ in range(8)))
            assert all(len(x) == 2000 for x in got)
            async with r.pipeline(transaction=True) as p:
                p.incr("tls:n").incr("tls:n")
                assert (await p.execute())[-1] >= 2
        finally:
            await r.aclose()
    asyncio.run(main())


def test_large_values_and_pipelining(srv, certs):
    r = tls_client(srv, certs)
    try:
        big = os.urandom(1 << 20)                     # a 1 MB SET, many TLS records
        assert r.set("tls:big", big)
        assert r.get("tls:big") == big
        p = r.pipeline(transaction=False)
        values = [bytes([65 + i % 26]) * (20000 + 997 * i) for i in range(40)]
        for i, v in enumerate(values):
            p.set(f"tls:p{i}", v)
        for i in range(40):
            p.get(f"tls:p{i}")
        p.get("tls:big")
        res = p.execute()
        assert res[40:80] == values and res[80] == big
    finally:
        r.close()


def test_raw_pipeline_replies_larger_than_a_record(srv, certs):
    """Thousands of pipelined requests in one write, a reply stream far
    larger than one TLS record (16 KiB) and than the socket buffer."""
    with tls_connect(srv.tls_port, client_ctx(certs)) as s:
        s.sendall(b"SET tls:raw " + b"z" * 5000 + b"\r\n")
        assert read_reply(s, 5) == b"+OK\r\n"
        n = 2000
        s.sendall(b"GET tls:raw\r\n" * n)
        one = b"$5000\r\n" + b"z" * 5000 + b"\r\n"
        assert read_reply(s, len(one) * n) == one * n
        s.sendall(b"PING\r\n")
        assert read_reply(s, 7) == b"+PONG\r\n"


def test_redis_benchmark_tls(srv, certs):
    out = subprocess.run(
        ["redis-benchmark", "-p", str(srv.tls_port), "--tls", "--cacert", certs["ca.crt"],
         "--cert", certs["client.crt"], "--key", certs["client.key"], "-q", "-n", "2000",
         "-c", "10", "-t", "set,get", "-P", "4"],
        capture_output=True, text=True, timeout=60).stdout
    lines = [ln.rsplit("\r", 1)[-1] for ln in out.splitlines() if "requests per second" in ln]
    assert [ln.split(":")[0].strip() for ln in lines] == ["SET", "GET"], out
    for ln in lines:
        assert float(ln.split(":")[1].split()[0]) > 0


def test_plain_tcp_and_unix_unchanged(srv, certs):
    plain = srv.client()
    assert plain.ping() and plain.set("tls:plain", "1")
    unix = redis.Redis(unix_socket_path=srv.config["unixsocket"], protocol=2)
    assert unix.get("tls:plain") == b"1"
    assert unix.client_info()["laddr"].endswith(":0")
    plain.close()
    unix.close()
    # A TLS hello on the plain port is just a protocol error there.
    with pytest.raises((ssl.SSLError, ConnectionError)):
        tls_ping(srv.port, client_ctx(certs))


# ----------------------------------------------------------------------------
# Client certificates: tls-auth-clients yes / optional / no
# ----------------------------------------------------------------------------
def test_auth_clients(srv, certs):
    admin = srv.client()
    try:
        assert admin.config_get("tls-auth-clients") == {"tls-auth-clients": "yes"}
        assert tls_ping(srv.tls_port, client_ctx(certs)) == b"+PONG\r\n"
        assert refused(srv.tls_port, client_ctx(certs, cert=None))
        assert refused(srv.tls_port, client_ctx(certs, cert="client2"))   # another CA
        wait_log(srv, "Error accepting a client connection: "
                      "error:0A0000C7:SSL routines::peer did not return a certificate")
        assert cli(srv.tls_port, certs, "PING", cert=False).stdout != "PONG\n"

        admin.config_set("tls-auth-clients", "optional")
        assert tls_ping(srv.tls_port, client_ctx(certs, cert=None)) == b"+PONG\r\n"
        assert tls_ping(srv.tls_port, client_ctx(certs)) == b"+PONG\r\n"
        assert refused(srv.tls_port, client_ctx(certs, cert="client2"))   # verified if given
        assert cli(srv.tls_port, certs, "PING", cert=False).stdout == "PONG\n"

        admin.config_set("tls-auth-clients", "no")
        assert tls_ping(srv.tls_port, client_ctx(certs, cert=None)) == b"+PONG\r\n"
        assert tls_ping(srv.tls_port, client_ctx(certs, cert="client2")) == b"+PONG\r\n"
        r = tls_client(srv, certs, ssl_certfile=None, ssl_keyfile=None)
        assert r.ping()
        r.close()
    finally:
        admin.config_set("tls-auth-clients", "yes")
        admin.close()


@pytest.mark.parametrize("kind", ["omakase", "redis"])
def test_failed_handshakes_are_not_connections(kind, srv, oracle_srv, certs):
    """total_connections_received counts a TLS client once its handshake is
    done; a failed one is logged and dropped (Redis's clientAcceptHandler)."""
    s = srv if kind == "omakase" else oracle_srv
    admin = s.client()
    try:
        before = admin.info("stats")["total_connections_received"]
        assert refused(s.tls_port, client_ctx(certs, cert=None))
        with socket.create_connection(("127.0.0.1", s.tls_port)) as raw:
            raw.sendall(b"PING\r\n")
            raw.settimeout(5)
            try:
                assert raw.recv(64) == b""
            except ConnectionResetError:
                pass
        wait_log(s, "Error accepting a client connection: "
                    "error:0A00010B:SSL routines::wrong version number")
        assert tls_ping(s.tls_port, client_ctx(certs)) == b"+PONG\r\n"
        assert admin.info("stats")["total_connections_received"] == before + 1
    finally:
        admin.close()


# ----------------------------------------------------------------------------
# Protocols, ciphers, ciphersuites, CONFIG SET reloads
# ----------------------------------------------------------------------------
V12, V13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3


def test_protocols(srv, certs):
    admin = srv.client()
    try:
        with tls_connect(srv.tls_port, client_ctx(certs)) as s:
            assert s.version() == "TLSv1.3"
        admin.config_set("tls-protocols", "TLSv1.2")
        assert refused(srv.tls_port, client_ctx(certs, versions=(V13, V13)))
        with tls_connect(srv.tls_port, client_ctx(certs, versions=(V12, V13))) as s:
            assert s.version() == "TLSv1.2"
            s.sendall(b"PING\r\n")
            assert s.recv(64) == b"+PONG\r\n"
        admin.config_set("tls-protocols", "tlsv1.3")           # case-insensitive
        assert refused(srv.tls_port, client_ctx(certs, versions=(V12, V12)))
        admin.config_set("tls-protocols", "TLSv1.2 TLSv1.3")
        for v in (V12, V13):
            assert tls_ping(srv.tls_port, client_ctx(certs, versions=(v, v))) == b"+PONG\r\n"
    finally:
        admin.config_set("tls-protocols", "")
        admin.close()


def test_ciphers_and_ciphersuites(srv, certs):
    admin = srv.client()
    try:
        admin.config_set("tls-ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256")
        with tls_connect(srv.tls_port, client_ctx(certs, versions=(V12, V12))) as s:
            assert s.cipher()[0] == "ECDHE-ECDSA-AES128-GCM-SHA256"
        admin.config_set("tls-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256")
        with tls_connect(srv.tls_port, client_ctx(certs, versions=(V13, V13))) as s:
            assert s.cipher()[0] == "TLS_CHACHA20_POLY1305_SHA256"
            s.sendall(b"PING\r\n")
            assert s.recv(64) == b"+PONG\r\n"
        admin.config_set("tls-ciphersuites", "TLS_AES_256_GCM_SHA384")
        with tls_connect(srv.tls_port, client_ctx(certs, versions=(V13, V13))) as s:
            assert s.cipher()[0] == "TLS_AES_256_GCM_SHA384"
    finally:
        admin.config_set("tls-ciphers", "")
        admin.config_set("tls-ciphersuites", "")
        admin.close()


BAD_SETTINGS = [("tls-cert-file", "/nonexistent/server.crt"), ("tls-key-file", "/nonexistent/k"),
                ("tls-cert-file", "bad.crt"), ("tls-key-file", "client.key"),
                ("tls-ca-cert-file", "bad.crt"), ("tls-protocols", "TLSv1.4"),
                ("tls-protocols", "TLSv1.2  TLSv1.3"), ("tls-ciphers", "BOGUS"),
                ("tls-ciphersuites", "BOGUS"), ("tls-dh-params-file", "/nonexistent/dh")]


def test_invalid_config_set_keeps_old_context(srv, oracle_srv, certs):
    """Each bad value: Redis's error reply, the old value back in CONFIG GET,
    and new connections still served with the old context."""
    for s in (srv, oracle_srv):
        admin = s.client()
        with tls_connect(s.tls_port, client_ctx(certs)) as kept:
            for name, value in BAD_SETTINGS:
                value = certs.get(value, value)
                old = admin.config_get(name)
                with pytest.raises(redis.ResponseError) as err:
                    admin.config_set(name, value)
                assert str(err.value) == (
                    f"CONFIG SET failed (possibly related to argument '{name}') - "
                    "Unable to update TLS configuration. Check server logs."), s.kind
                assert admin.config_get(name) == old
                assert tls_ping(s.tls_port, client_ctx(certs)) == b"+PONG\r\n"
            kept.sendall(b"PING\r\n")
            assert kept.recv(64) == b"+PONG\r\n"
        log = s.log_text()
        assert "Failed to load certificate: /nonexistent/server.crt: " \
               "error:80000002:system library::No such file or directory" in log
        assert "Failed to configure ciphers: BOGUS" in log
        assert "Failed to configure ciphersuites: BOGUS" in log
        assert "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', " \
               "'TLSv1.2' and 'TLSv1.3'." in log
        admin.close()


def test_config_set_reloads_certificate(srv, certs):
    """A new certificate serves new connections; open ones keep theirs."""
    admin = srv.client()
    try:
        old_conn = tls_connect(srv.tls_port, client_ctx(certs))
        assert old_conn.getpeercert()["subject"] == ((("commonName", "localhost"),),)
        admin.config_set("tls-cert-file", certs["server2.crt"], "tls-key-file",
                         certs["server2.key"])
        with tls_connect(srv.tls_port, client_ctx(certs)) as s:
            assert s.getpeercert()["subject"] == ((("commonName", "second-server"),),)
        old_conn.sendall(b"PING\r\n")
        assert old_conn.recv(64) == b"+PONG\r\n"
        old_conn.close()
        # Setting only the certificate (key of the other pair) is refused.
        with pytest.raises(redis.ResponseError, match="Unable to update TLS configuration"):
            admin.config_set("tls-cert-file", certs["server.crt"])
        with tls_connect(srv.tls_port, client_ctx(certs)) as s:
            assert s.getpeercert()["subject"] == ((("commonName", "second-server"),),)
        # A CA change: clients of the second CA are accepted, ours are not.
        admin.config_set("tls-ca-cert-file", certs["ca2.crt"])
        assert tls_ping(srv.tls_port, client_ctx(certs, cert="client2")) == b"+PONG\r\n"
        assert refused(srv.tls_port, client_ctx(certs))
    finally:
        admin.config_set("tls-cert-file", certs["server.crt"], "tls-key-file",
                         certs["server.key"], "tls-ca-cert-file", certs["ca.crt"])
        admin.close()
    assert tls_ping(srv.tls_port, client_ctx(certs)) == b"+PONG\r\n"


def test_config_set_tls_port(srv, certs):
    admin = srv.client()
    old = srv.tls_port
    new = free_port()
    try:
        admin.config_set("tls-port", new)
        assert tls_ping(new, client_ctx(certs)) == b"+PONG\r\n"
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", old), timeout=2).close()
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        with pytest.raises(redis.ResponseError, match="Unable to listen on this port"):
            admin.config_set("tls-port", busy.getsockname()[1])
        busy.close()
        assert admin.config_get("tls-port") == {"tls-port": str(new)}
        assert tls_ping(new, client_ctx(certs)) == b"+PONG\r\n"
    finally:
        admin.config_set("tls-port", old)
        admin.close()
    assert tls_ping(old, client_ctx(certs)) == b"+PONG\r\n"


# ----------------------------------------------------------------------------
# The handshake inside the event loop
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["omakase", "redis"])
def test_silent_and_slow_clients_do_not_block(kind, srv, oracle_srv, certs):
    srv = srv if kind == "omakase" else oracle_srv
    silent = [socket.create_connection(("127.0.0.1", srv.tls_port)) for _ in range(3)]
    # Half a ClientHello: the server must wait for the rest without blocking.
    partial = socket.create_connection(("127.0.0.1", srv.tls_port))
    partial.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    try:
        time.sleep(0.1)
        t0 = time.monotonic()
        assert tls_ping(srv.tls_port, client_ctx(certs)) == b"+PONG\r\n"
        r = srv.client(socket_timeout=2)
        assert r.ping()
        r.close()
        assert time.monotonic() - t0 < 3
        # Handshaking connections are clients already (Redis creates the
        # client before connAccept); they leave when they close.
        admin = tls_client(srv, certs)
        n = len(admin.client_list())
        for s in silent:
            s.close()
        deadline = time.time() + 5
        while len(admin.client_list()) > n - 3 and time.time() < deadline:
            time.sleep(0.05)
        assert len(admin.client_list()) == n - 3
        admin.close()
    finally:
        for s in silent + [partial]:
            s.close()


def _spawn(args: list[str], logfile: str) -> subprocess.Popen:
    return spawn_omakase(*args, "--save", "", "--bind", "127.0.0.1", "--logfile", logfile)


def test_tls_only_server(certs, tmp_path):
    """port 0: only the TLS listener."""
    cfg = tls_config(certs)
    args = ["--port", "0"]
    for k, v in cfg.items():
        args += ["--" + k.replace("_", "-"), str(v)]
    proc = _spawn(args, str(tmp_path / "log"))
    try:
        deadline = time.time() + 15
        while True:
            try:
                assert tls_ping(cfg["tls_port"], client_ctx(certs)) == b"+PONG\r\n"
                break
            except (ConnectionError, ssl.SSLError, OSError):
                if time.time() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        out = cli(cfg["tls_port"], certs, "CONFIG", "GET", "port").stdout
        assert out == "port\n0\n"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def test_startup_fails_without_valid_tls_files(certs, tmp_path):
    log = tmp_path / "log"
    proc = _spawn(["--port", "0", "--tls-port", str(free_port()), "--tls-cert-file",
                   str(tmp_path / "missing.crt"), "--tls-key-file", certs["server.key"],
                   "--tls-ca-cert-file", certs["ca.crt"]], str(log))
    assert proc.wait(15) == 1
    text = log.read_text()
    assert f"Failed to load certificate: {tmp_path / 'missing.crt'}: " \
           "error:80000002:system library::No such file or directory" in text
    assert "Failed to configure TLS. Check logs for more info." in text
    # No CA with tls-auth-clients yes (the default).
    proc = _spawn(["--port", "0", "--tls-port", str(free_port()), "--tls-cert-file",
                   certs["server.crt"], "--tls-key-file", certs["server.key"]], str(log))
    assert proc.wait(15) == 1
    assert ("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, "
            "tls-replication or tls-auth-clients are enabled!") in log.read_text()


def test_config_set_tls_port_enables_tls(certs):
    """A server started without TLS: CONFIG SET tls-port configures TLS
    (files already set) and opens the listener; tls-port 0 closes it."""
    cfg = tls_config(certs)
    port = cfg.pop("tls_port")
    s = ServerProcess("omakase", **cfg)
    try:
        admin = s.client()
        admin.config_set("tls-port", port)
        assert tls_ping(port, client_ctx(certs)) == b"+PONG\r\n"
        admin.config_set("tls-port", 0)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        assert admin.ping()
        admin.close()
    finally:
        s.stop()


def test_protected_mode_checked_after_handshake():
    """In-process: a non-local TLS client of an unprotected server gets the
    protected-mode text (encrypted, after its handshake) and is closed;
    a local one is counted as a connection."""
    from omakase.config import Config
    from omakase.networking import Client, ClientFlag
    from omakase.server import PROTECTED_MODE_MSG, Server

    server = Server(Config(chdir=False), logger=QuietLog())
    a, b = socket.socketpair()
    try:
        c = Client(server, a, "10.1.2.3:4000", "10.1.2.4:6380")
        server.clients[c.id] = c
        before = server.stat_numconnections
        server.tls.handshake_done(c, False)
        assert c.reply == [PROTECTED_MODE_MSG.encode()]
        assert c.flags & ClientFlag.CLOSE_AFTER_REPLY and c.closing
        assert server.stat_numconnections == before
        local = Client(server, b, "127.0.0.1:4000", "127.0.0.1:6380")
        server.tls.handshake_done(local, True)
        assert local.reply == [] and server.stat_numconnections == before + 1
    finally:
        a.close()
        b.close()
        server.el.close()


@pytest.mark.parametrize("diskless", ["no", "yes"])
def test_real_redis_replica_syncs_over_tls(srv, certs, diskless):
    """A Debian redis-server replica with tls-replication connects to our TLS
    port: the RDB (sendfile() is impossible through TLS, so read + encrypted
    send) and the command stream arrive intact."""
    if not redis_server_available():
        pytest.skip("redis-server not installed")
    admin = srv.client()
    admin.flushall()
    admin.config_set("repl-diskless-sync", diskless)
    admin.config_set("repl-diskless-sync-delay", 0)
    admin.execute_command("DEBUG", "POPULATE", 3000, "tls", 200)
    replica = ServerProcess("redis", tls_replication="yes", tls_cert_file=certs["client.crt"],
                            tls_key_file=certs["client.key"], tls_ca_cert_file=certs["ca.crt"])
    try:
        r = replica.client()
        r.replicaof("127.0.0.1", srv.tls_port)
        deadline = time.time() + 20
        while r.info("replication").get("master_link_status") != "up":
            assert time.time() < deadline, replica.log_text()[-2000:]
            time.sleep(0.05)
        admin.set("after-sync", "yes")
        while r.get("after-sync") != b"yes":
            assert time.time() < deadline
            time.sleep(0.05)
        assert r.dbsize() == admin.dbsize()
        assert r.execute_command("DEBUG", "DIGEST") == admin.execute_command("DEBUG", "DIGEST")
    finally:
        replica.stop()
        admin.flushall()
