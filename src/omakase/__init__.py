"""omakase: a Redis 7.0-compatible in-memory data server, built the way Redis is built.

The name is the architecture.  One head chef -- the main thread -- is the only
one who touches the data and executes every command, in order, so nothing
needs a lock.  Waiters (optional I/O threads, the background job thread) carry
bytes and garbage in and out, and report back through a queue and a wakeup.

The layout (one module per concern, as Redis has one file per concern)
----------------------------------------------------------------------
    cli, config, log        redis-server's command line, redis.conf, logging
    server                  Server state, process_command, call(), serverCron, beforeSleep
    eventloop               the reactor (epoll/poll/select), timers, before/after-sleep
    networking              clients: query buffer -> argv -> dispatch -> reply buffer
    resp                    sans-I/O request parser (hiredis + exact fallback), encoders
    replies                 shared replies and every error string
    commands/               registry (commands as data) and the non-type commands
    hashtable, keyspace     incremental-rehash hash table; Db with lazy expiry and LRU
    objects                 how values are stored; encodings; the 24-bit LRU/LFU field
    encodings/              listpack, intset, quicklist, skiplist (pure data structures)
    types/                  one module per data type: its API, then its commands
    expire, evict           active expiry; LRU/LFU eviction logic
    embed, pytest_plugin    a real server from Python: omakase.serve(), a pytest fixture

The request path
----------------
1. The event loop polls; a readable client socket gets one ``recv`` (16 KiB),
   fed to the client's parser.
2. The parser yields the next argv, or "need more", or a protocol error
   (Redis's exact error, then close).  Its state lives on the client.
3. ``Server.process_command`` runs Redis's checks in Redis's order: lookup,
   arity, protected commands, auth, client state (MULTI, pub/sub), server
   guards (OOM, loading, read-only replica); MULTI queues, else ``call()``.
4. ``call()`` runs the handler, times it, counts it, and if the dataset changed
   hands the (possibly rewritten) command to AOF and replicas.
5. The handler goes through the keyspace (lazy expiry, LRU/LFU touch), the
   type API, ``signal_modified_key`` (WATCH), keyspace notifications, and the
   reply API.
6. ``before_sleep``: unblocked clients, the fast expire cycle, hooks (AOF
   flush), then one write per client with pending replies.
"""
from __future__ import annotations

__version__ = "0.1.0"
REDIS_VERSION = "7.0.15"


def serve(**config):
    """Start a real omakase server in a subprocess (see omakase.embed)."""
    from omakase.embed import serve as _serve
    return _serve(**config)
