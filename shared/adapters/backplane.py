"""The live-update backplane: how projection_worker's ``live_stream`` reaches every
ws_gateway instance. Redis pub/sub by default (Memorystore in production), Google Pub/Sub
as the managed option.

Delivery through a backplane may lose or repeat batches (a Redis restart, a redelivery).
That is fine by design: each batch names the range of positions it covers, so a gateway
that sees a gap reads the missing messages from the ``live_log`` read model, and every
socket drops positions it has already sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from shared.live import encode

logger = logging.getLogger(__name__)
CHANNEL = "valorize:live"


@dataclass(frozen=True, slots=True)
class LiveBatch:
    """Messages for positions in ``(after, upto]``, in order, as ``(user_id, message)``.

    ``resync`` (user id -> position) asks gateways to replay those users' sockets from
    that position: an operator released parked events that ``live_log`` now holds below
    positions the sockets may have passed. A batch with only ``resync`` covers no range.
    """

    after: int
    upto: int
    messages: list[tuple[str, dict[str, Any]]]
    resync: dict[str, int] = field(default_factory=dict)

    def encode(self) -> bytes:
        body: dict[str, Any] = {"after": self.after, "upto": self.upto, "messages": self.messages}
        if self.resync:
            body["resync"] = self.resync
        return encode(body)

    @classmethod
    def decode(cls, raw: bytes | str) -> LiveBatch:
        body = orjson.loads(raw)
        return cls(
            int(body["after"]),
            int(body["upto"]),
            [(str(u), m) for u, m in body["messages"]],
            {str(u): int(p) for u, p in (body.get("resync") or {}).items()},
        )


class Publisher(Protocol):
    """Port (worker side): hand a committed batch to every gateway. Best effort."""

    def publish(self, batch: LiveBatch) -> None: ...

    def close(self) -> None: ...


class Subscriber(Protocol):
    """Port (gateway side): batches as they arrive; reconnects by itself after outages."""

    def batches(self) -> AsyncIterator[LiveBatch]: ...

    async def close(self) -> None: ...


class RedisPublisher:
    def __init__(self, client: Any) -> None:
        self.client = client

    def publish(self, batch: LiveBatch) -> None:
        self.client.publish(CHANNEL, batch.encode())

    def close(self) -> None:
        self.client.close()


class RedisSubscriber:
    def __init__(self, url: str, retry_seconds: float = 0.5) -> None:
        self.url, self.retry_seconds = url, retry_seconds
        self._closed = False

    async def batches(self) -> AsyncIterator[LiveBatch]:
        import redis.asyncio as aioredis

        while not self._closed:
            client = aioredis.from_url(self.url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            yield LiveBatch.decode(message["data"])
            except (OSError, aioredis.ConnectionError, aioredis.TimeoutError):
                # The gateway's gap check reads what was missed from the store meanwhile.
                logger.warning("live backplane (redis) lost; reconnecting")
                await asyncio.sleep(self.retry_seconds)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def close(self) -> None:
        self._closed = True


class PubSubPublisher:
    """Google Pub/Sub with one ordering key, so a subscription sees batches in order."""

    def __init__(self, project: str, topic: str) -> None:
        from google.cloud import pubsub_v1  # type: ignore[attr-defined]

        options = pubsub_v1.types.PublisherOptions(enable_message_ordering=True)
        self.client = pubsub_v1.PublisherClient(publisher_options=options)
        self.topic = self.client.topic_path(project, topic)

    def publish(self, batch: LiveBatch) -> None:
        self.client.publish(self.topic, batch.encode(), ordering_key="live").result(timeout=10)

    def close(self) -> None:
        self.client.stop()


class PubSubSubscriber:
    """One subscription per gateway instance (every instance needs every batch), removed
    on close. The streaming-pull callback runs on a library thread: batches cross into the
    event loop through a queue."""

    def __init__(self, project: str, topic: str, prefix: str = "valorize-gateway") -> None:
        self.project, self.topic = project, topic
        self.name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self._queue: asyncio.Queue[LiveBatch] = asyncio.Queue()
        self._future: Any = None
        self._client: Any = None

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        from google.cloud import pubsub_v1  # type: ignore[attr-defined]

        self._client = pubsub_v1.SubscriberClient()
        path = self._client.subscription_path(self.project, self.name)
        self._client.create_subscription(
            request={
                "name": path,
                "topic": self._client.topic_path(self.project, self.topic),
                "enable_message_ordering": True,
                "ack_deadline_seconds": 10,
                "expiration_policy": {"ttl": {"seconds": 86400}},
            }
        )

        def received(message: Any) -> None:
            loop.call_soon_threadsafe(self._queue.put_nowait, LiveBatch.decode(message.data))
            message.ack()

        self._future = self._client.subscribe(path, callback=received)

    async def batches(self) -> AsyncIterator[LiveBatch]:
        self._start(asyncio.get_running_loop())
        while True:
            yield await self._queue.get()

    async def close(self) -> None:
        if self._future is not None:
            self._future.cancel()
        if self._client is not None:
            path = self._client.subscription_path(self.project, self.name)
            with contextlib.suppress(Exception):
                self._client.delete_subscription(request={"subscription": path})
            self._client.close()
