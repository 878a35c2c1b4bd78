"""ACL through redis-py: users, AUTH, permissions, the log, files, requirepass."""
from __future__ import annotations

import hashlib
import os
import sys

import pytest
import redis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from helpers import free_port, no_retry, spawn_omakase, wait_ping  # noqa: E402


@pytest.fixture
def admin(server):
    c = server.client()
    yield c
    for name in c.acl_users():
        if name not in (b"default", "default"):
            c.acl_deluser(name)
    # back to a fresh server's default user (without "reset", which would
    # leave the sanitize-payload flag a fresh default user does not have)
    c.execute_command("ACL", "SETUSER", "default", "on", "nopass", "resetchannels", "&*",
                      "resetkeys", "~*", "clearselectors", "+@all")
    c.acl_log_reset()
    c.close()


def test_user_lifecycle_and_auth(server, admin):
    assert admin.acl_setuser("alice", enabled=True, passwords=["+secret"],
                             keys=["app:*"], commands=["+get", "+set", "+@hash", "+acl|whoami"])
    assert b"alice" in admin.acl_users() or "alice" in admin.acl_users()
    alice = server.client(username="alice", password="secret", retry=no_retry())
    assert alice.acl_whoami() in (b"alice", "alice")
    assert alice.set("app:1", "x") and alice.get("app:1") == b"x"
    alice.hset("app:h", "f", "v")
    with pytest.raises(redis.exceptions.NoPermissionError,
                       match="no permissions to access one of the keys"):
        alice.get("other")
    with pytest.raises(redis.exceptions.NoPermissionError,
                       match="no permissions to run the 'del' command"):
        alice.delete("app:1")
    with pytest.raises(redis.AuthenticationError):
        server.client(username="alice", password="nope", retry=no_retry()).ping()
    admin.acl_setuser("alice", enabled=False)
    with pytest.raises(redis.AuthenticationError):
        server.client(username="alice", password="secret", retry=no_retry()).ping()
    assert admin.acl_deluser("alice") == 1
    with pytest.raises(redis.ConnectionError):
        alice.get("app:1")             # DELUSER closed alice's connection


def test_changes_apply_to_connected_clients(server, admin):
    admin.acl_setuser("bob", enabled=True, nopass=True, keys=["*"], commands=["+get"])
    bob = server.client(username="bob", password="x")
    assert bob.get("k") is None
    with pytest.raises(redis.exceptions.NoPermissionError):
        bob.set("k", "v")
    admin.execute_command("ACL", "SETUSER", "bob", "+set")
    assert bob.set("k", "v")
    admin.execute_command("ACL", "SETUSER", "bob", "+@all")
    assert bob.incr("n") == 1          # unrestricted now: no check at all
    admin.execute_command("ACL", "SETUSER", "bob", "-incrby")
    with pytest.raises(redis.exceptions.NoPermissionError):
        bob.incr("n")


def test_read_write_key_permissions(server, admin):
    admin.execute_command("ACL", "SETUSER", "rw", "on", "nopass", "+@all", "%R~r*", "%W~w*")
    c = server.client(username="rw", password="x")
    assert c.get("r1") is None
    with pytest.raises(redis.exceptions.NoPermissionError):
        c.set("r1", "x")
    assert c.set("w1", "x")
    with pytest.raises(redis.exceptions.NoPermissionError):
        c.get("w1")
    # COPY reads its source and writes its destination
    admin.set("r2", "v")
    assert c.copy("r2", "w2") == 1
    with pytest.raises(redis.exceptions.NoPermissionError):
        c.copy("w2", "r3")


def test_selectors(server, admin):
    admin.execute_command("ACL", "SETUSER", "sel", "on", "nopass", "+get", "~a*",
                          "(+set ~b*)")
    c = server.client(username="sel", password="x")
    assert c.get("a1") is None
    assert c.set("b1", "v")
    with pytest.raises(redis.exceptions.NoPermissionError):
        c.set("a1", "v")
    with pytest.raises(redis.exceptions.NoPermissionError):
        c.get("b1")
    sel = admin.acl_getuser("sel")["selectors"][0]
    if isinstance(sel, list):                # RESP2: a flat array
        sel = dict(zip(sel[::2], sel[1::2]))
    assert sel.get(b"keys", sel.get("keys")) in (b"~b*", "~b*")


def test_channels(server, admin):
    admin.execute_command("ACL", "SETUSER", "sub", "on", "nopass", "+@all", "~*",
                          "resetchannels", "&news.*")
    c = server.client(username="sub", password="x")
    assert c.publish("news.1", "x") == 0
    with pytest.raises(redis.exceptions.NoPermissionError, match="channels"):
        c.publish("sport", "x")
    p = c.pubsub()
    with pytest.raises(redis.exceptions.NoPermissionError):
        p.psubscribe("news.*x")
        p.get_message(timeout=1)


def test_acl_log(server, admin):
    admin.execute_command("ACL", "SETUSER", "lg", "on", ">pw", "+get", "~k*")
    c = server.client(username="lg", password="pw")
    for _ in range(3):
        with pytest.raises(redis.exceptions.NoPermissionError):
            c.get("other")
    with pytest.raises(redis.AuthenticationError):
        server.client(username="lg", password="bad", retry=no_retry()).ping()
    log = admin.acl_log()
    assert log[0]["reason"] == "auth" and log[0]["username"] == "lg"
    assert log[1]["reason"] == "key" and log[1]["count"] == 3 and log[1]["object"] == "other"
    assert log[1]["context"] == "toplevel"
    info = log[1]["client-info"]
    assert "user=lg" in info if isinstance(info, str) else info["user"] == "lg"
    assert len(admin.acl_log(count=1)) == 1
    admin.config_set("acllog-max-len", 1)
    with pytest.raises(redis.exceptions.NoPermissionError):
        c.get("another")
    assert len(admin.acl_log()) == 1
    admin.config_set("acllog-max-len", 128)
    assert admin.acl_log_reset()
    assert admin.acl_log() == []


def test_requirepass_is_the_default_users_password(server, admin):
    admin.config_set("requirepass", "s3cret")
    try:
        fresh = server.client(retry=no_retry())
        with pytest.raises(redis.AuthenticationError):
            fresh.get("x")
        assert fresh.execute_command("AUTH", "s3cret")
        assert fresh.get("x") is None
        assert server.client(username="default", password="s3cret").ping()
        listed = admin.acl_list()
        digest = hashlib.sha256(b"s3cret").hexdigest()
        assert any(f"#{digest}" in (u.decode() if isinstance(u, bytes) else u) for u in listed)
    finally:
        admin.config_set("requirepass", "")
    assert server.client().ping()
    with pytest.raises((redis.ResponseError, redis.AuthenticationError),
                       match="AUTH <password> called without any password"):
        server.client(retry=no_retry()).execute_command("AUTH", "x")


def test_acl_genpass_and_cat(admin):
    assert len(admin.acl_genpass()) == 64
    assert len(admin.acl_genpass(5)) == 2
    cats = admin.acl_cat()
    assert "keyspace" in cats and "scripting" in cats and len(cats) == 21
    assert "get" in admin.acl_cat("string")


def start_with_conf(conf, tmp_path):
    """An omakase started on a config file (what CONFIG REWRITE needs)."""
    port = free_port()
    proc = spawn_omakase(conf, "--port", port, "--dir", tmp_path, "--save", "")
    c = redis.Redis(port=port, protocol=2, decode_responses=True)
    return proc, port, wait_ping(c, proc)


def test_users_in_config_file_and_rewrite(tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_text("# test config\nuser alice on >pw ~* +@all\nuser bob off\n")
    proc, port, c = start_with_conf(conf, tmp_path)
    try:
        assert sorted(c.acl_users()) == ["alice", "bob", "default"]
        assert redis.Redis(port=port, username="alice", password="pw").ping()
        c.acl_setuser("frank", enabled=True, passwords=["+pw"], commands=["+get"], keys=["f*"])
        assert c.config_rewrite()
        text = conf.read_text()
        assert "user frank on #" in text and "~f*" in text and "+get" in text
        assert "user default on nopass" in text and "user alice on #" in text
    finally:
        proc.terminate()
        proc.wait(10)


def test_aclfile_load_and_save(start_server, tmp_path):
    aclfile = tmp_path / "users.acl"
    aclfile.write_text("user default on nopass ~* &* +@all\nuser carol on >pw ~c* +get\n")
    srv = start_server(aclfile=str(aclfile))
    c = srv.client(decode_responses=True)
    assert sorted(c.acl_users()) == ["carol", "default"]
    assert srv.client(username="carol", password="pw").get("c1") is None
    c.acl_setuser("dave", enabled=True, nopass=True)
    assert c.acl_save()
    assert "user dave on nopass" in aclfile.read_text()
    aclfile.write_text("user default on nopass ~* &* +@all\nuser erin on nopass\n")
    assert c.acl_load()
    assert sorted(c.acl_users()) == ["default", "erin"]
    aclfile.write_text("user default on nopass ~* &* +@all\nuser bad +nocmd\n")
    with pytest.raises(redis.ResponseError, match="Unknown command or category name in ACL"):
        c.acl_load()
    assert sorted(c.acl_users()) == ["default", "erin"]      # unchanged


def test_bad_user_in_config_refuses_to_start(tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_text("user alice on +nocmd\n")
    with pytest.raises(redis.ConnectionError):
        start_with_conf(conf, tmp_path)


def test_noperm_in_multi_and_exec_recheck(server, admin):
    admin.execute_command("ACL", "SETUSER", "tx", "on", "nopass", "~*", "+multi", "+exec",
                          "+set", "+get")
    c = server.client(username="tx", password="x")
    p = c.pipeline(transaction=True)
    p.set("a", 1)
    p.execute_command("INCR", "a")
    with pytest.raises((redis.exceptions.ExecAbortError, redis.exceptions.NoPermissionError)):
        p.execute()
    log = admin.acl_log(count=1)
    assert log[0]["context"] == "multi" and log[0]["object"] == "incr"


def test_exec_rechecks_acl_changed_after_queueing(server, admin):
    admin.execute_command("ACL", "SETUSER", "tx2", "on", "nopass", "~*", "+multi", "+exec",
                          "+set", "+get")
    c = server.client(username="tx2", password="x")
    admin.delete("k")
    conn = c.connection_pool.get_connection()
    try:
        conn.send_command("MULTI")
        assert conn.read_response() == b"OK"
        conn.send_command("SET", "k", "v")
        assert conn.read_response() == b"QUEUED"
        conn.send_command("GET", "k")
        assert conn.read_response() == b"QUEUED"
        admin.execute_command("ACL", "SETUSER", "tx2", "-set")
        conn.send_command("EXEC")
        res = conn.read_response()
        assert isinstance(res[0], redis.exceptions.ResponseError)
        assert str(res[0]).startswith("ACLs rules changed between the moment the transaction "
                                      "was accumulated and the EXEC call. This command is no "
                                      "longer allowed for the following reason: no permission "
                                      "to execute the command or subcommand")
        assert res[1] is None
    finally:
        c.connection_pool.release(conn)
    assert admin.acl_log(count=1)[0]["context"] == "multi"


def test_scripts_run_with_the_callers_permissions(server, admin):
    admin.execute_command("ACL", "SETUSER", "scr", "on", "nopass", "+eval", "+get", "~a*")
    c = server.client(username="scr", password="x")
    with pytest.raises(redis.ResponseError,
                       match="can't access at least one of the keys mentioned"):
        c.eval("return redis.call('get', 'b')", 0)
    with pytest.raises(redis.ResponseError,
                       match="The user executing the script can't run this command or subcommand"):
        c.eval("return redis.call('set', 'a', '1')", 0)
    # redis.pcall returns the error as a table instead of raising it
    assert c.eval("local r = redis.pcall('set', 'a', '1') return r['err']", 0) == \
        b"ERR The user executing the script can't run this command or subcommand"
    assert c.eval("return redis.call('get', 'a1')", 0) is None
    entry = admin.acl_log(count=1)[0]
    assert entry["context"] == "lua" and entry["object"] == "set" and entry["count"] == 2
