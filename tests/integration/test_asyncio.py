"""redis-py's asyncio client over RESP2 and RESP3."""
from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis


@pytest.mark.parametrize("protocol", [2, 3])
async def test_asyncio_client(server, protocol):
    c = aioredis.Redis(host=server.host, port=server.port, protocol=protocol)
    try:
        await c.flushall()
        assert await c.ping()
        await c.set("k", "v", ex=100)
        assert await c.get("k") == b"v"
        assert 0 < await c.ttl("k") <= 100
        assert await c.incr("n") == 1
        results = await asyncio.gather(*(c.incr("n") for _ in range(50)))
        assert sorted(results) == list(range(2, 52))
        async with c.pipeline(transaction=False) as pipe:
            for i in range(100):
                pipe.set(f"p{i}", i)
            assert all(await pipe.execute())
        assert await c.mget("p0", "p99", "nope") == [b"0", b"99", None]
        info = await c.info("server")
        assert info["redis_version"] == "7.0.15"
    finally:
        await c.aclose()
