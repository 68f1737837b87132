"""The query side's pipelined Redis connection: transactions among concurrent calls."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from shared.adapters.redis_pipe import PipelinedRedis, RedisReplyError
from shared.settings import Settings


def test_a_transaction_among_concurrent_calls_gets_its_own_replies(settings: Settings) -> None:
    key = f"test:pipe:{uuid4()}"

    async def run() -> None:
        redis = PipelinedRedis(settings.redis_url)
        block = redis.pack_transaction(("INCR", key), ("GET", key), ("HMGET", key + ":h", "a"))
        try:
            # Plain calls before, between and after transactions, all in one write.
            calls = [redis.call("ECHO", f"call {i}") for i in range(3)]
            transactions = [redis.transaction(block, 3) for _ in range(3)]
            done = await asyncio.gather(*calls[:2], *transactions, calls[2])
            assert done[:2] == [b"call 0", b"call 1"]
            assert done[-1] == b"call 2"
            assert done[2:5] == [[n, str(n).encode(), [None]] for n in (1, 2, 3)]
        finally:
            await redis.call("DEL", key)
            await redis.close()

    asyncio.run(run())


def test_a_failed_command_in_a_transaction_is_an_error_and_the_connection_goes_on(
    settings: Settings,
) -> None:
    key = f"test:pipe:{uuid4()}"

    async def run() -> None:
        redis = PipelinedRedis(settings.redis_url)
        try:
            await redis.call("SET", key, "text")
            wrong_type = redis.pack_transaction(("GET", key), ("HGET", key, "field"))
            with pytest.raises(RedisReplyError, match="WRONGTYPE"):
                await redis.transaction(wrong_type, 2)
            unknown = redis.pack_transaction(("GET", key), ("NOSUCHCOMMAND",))
            with pytest.raises(RedisReplyError, match="EXECABORT"):
                await redis.transaction(unknown, 2)
            assert await redis.call("GET", key) == b"text"  # replies still in their order
        finally:
            await redis.call("DEL", key)
            await redis.close()

    asyncio.run(run())
