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


ORDERING_KEY = "live"
# A publish that the service does not take within this bound fails (instead of the client
# library's default, for ordered messages, of retrying for ever while every later batch
# queues behind it): a gateway repairs the batch from ``live_log``.
PUBLISH_RETRY_SECONDS = 5.0
PUBLISH_BUFFER = 1000  # batches waiting to go out; past it a publish fails at once


def _grpc_transport(kind: str, emulator_host: str | None) -> dict[str, Any]:
    """Client arguments: a plaintext channel to the emulator (no credentials looked up),
    or nothing, for Application Default Credentials against the real service."""
    if not emulator_host:
        return {}
    import grpc

    # gRPC backs off reconnecting up to 2 minutes; the emulator is local, and after a
    # restart it is worth trying again within a second (the streaming pull only sees that
    # its subscription is gone, and subscribes again, once it reconnects).
    channel = grpc.insecure_channel(
        emulator_host,
        options=[
            ("grpc.initial_reconnect_backoff_ms", 200),
            ("grpc.max_reconnect_backoff_ms", 1000),
        ],
    )
    if kind == "publisher":
        from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport

        return {"transport": PublisherGrpcTransport(channel=channel)}
    from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

    return {"transport": SubscriberGrpcTransport(channel=channel)}


class PubSubPublisher:
    """Google Pub/Sub with one ordering key, so a subscription sees batches in order.

    ``publish`` never waits for the service: the batch is committed already, and a batch
    that never arrives is repaired from ``live_log`` by the gateways. A failed publish
    pauses the ordering key in the client library (each later publish on it would then
    fail at once, for good); the done-callback resumes it, so the next batch goes out as
    soon as the service answers again, and the gateways see the gap and repair it.
    """

    def __init__(self, project: str, topic: str, emulator_host: str | None = None) -> None:
        from google.api_core.retry import Retry, if_transient_error
        from google.cloud import pubsub_v1  # type: ignore[attr-defined]

        options = pubsub_v1.types.PublisherOptions(
            enable_message_ordering=True,
            flow_control=pubsub_v1.types.PublishFlowControl(
                message_limit=PUBLISH_BUFFER,
                limit_exceeded_behavior=pubsub_v1.types.LimitExceededBehavior.ERROR,
            ),
        )
        self.client = pubsub_v1.PublisherClient(
            publisher_options=options, **_grpc_transport("publisher", emulator_host)
        )
        self.topic = self.client.topic_path(project, topic)
        self._retry = Retry(
            predicate=if_transient_error,
            initial=0.1,
            maximum=1.0,
            multiplier=2.0,
            timeout=PUBLISH_RETRY_SECONDS,
        )

    def publish(self, batch: LiveBatch) -> None:
        future = self.client.publish(
            self.topic,
            batch.encode(),
            ordering_key=ORDERING_KEY,
            retry=self._retry,
            timeout=PUBLISH_RETRY_SECONDS,
        )
        future.add_done_callback(lambda done: self._published(done, batch))

    def _published(self, future: Any, batch: LiveBatch) -> None:
        if future.exception() is None:
            return
        logger.warning(
            "live batch (%d, %d] not published: %s", batch.after, batch.upto, future.exception()
        )
        # Every batch queued behind the failed one fails with it: the first callback
        # resumes the key, the others find it resumed already.
        with contextlib.suppress(RuntimeError):
            self.client.resume_publish(self.topic, ORDERING_KEY)

    def close(self) -> None:
        self.client.stop()


_ENDED = object()  # put on the queue when a streaming pull stops


class PubSubSubscriber:
    """One subscription per gateway instance (every instance needs every batch), removed
    on close. The streaming-pull callback runs on a library thread: batches cross into the
    event loop through a queue.

    The client library retries a streaming pull through transient errors by itself; a
    pull that ends for good (the subscription expired after a day without messages, or
    is gone because the service lost it) is subscribed again after ``retry_seconds``,
    creating the subscription anew. What was published meanwhile is repaired by the
    gateway from ``live_log``.
    """

    def __init__(
        self,
        project: str,
        topic: str,
        emulator_host: str | None = None,
        prefix: str = "valorize-gateway",
        retry_seconds: float = 0.5,
    ) -> None:
        self.project, self.topic = project, topic
        self.emulator_host, self.retry_seconds = emulator_host, retry_seconds
        self.name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._future: Any = None
        self._client: Any = None
        self._closing = asyncio.Event()

    def _subscribe(self, loop: asyncio.AbstractEventLoop) -> Any:
        """Create the subscription unless it exists, and start pulling (blocking calls:
        run in a thread)."""
        from google.api_core.exceptions import AlreadyExists
        from google.cloud import pubsub_v1  # type: ignore[attr-defined]

        if self._client is None:
            self._client = pubsub_v1.SubscriberClient(
                **_grpc_transport("subscriber", self.emulator_host)
            )
        path = self._client.subscription_path(self.project, self.name)
        with contextlib.suppress(AlreadyExists):
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
            loop.call_soon_threadsafe(self._queue.put_nowait, message.data)
            message.ack()

        future = self._client.subscribe(path, callback=received)
        future.add_done_callback(
            lambda _: loop.call_soon_threadsafe(self._queue.put_nowait, _ENDED)
        )
        return future

    async def batches(self) -> AsyncIterator[LiveBatch]:
        loop = asyncio.get_running_loop()
        while not self._closing.is_set():
            try:
                self._future = await asyncio.to_thread(self._subscribe, loop)
            except Exception as exc:
                logger.warning("live backplane (pubsub) unavailable (%s); retrying", exc)
                await asyncio.sleep(self.retry_seconds)
                continue
            while (item := await self._queue.get()) is not _ENDED:
                yield LiveBatch.decode(item)
            if self._closing.is_set():
                return
            logger.warning("live backplane (pubsub) pull ended; subscribing again")
            await asyncio.sleep(self.retry_seconds)

    async def close(self) -> None:
        self._closing.set()
        if self._future is not None:
            self._future.cancel()
        if self._client is not None:
            await asyncio.to_thread(self._delete)

    def _delete(self) -> None:
        path = self._client.subscription_path(self.project, self.name)
        with contextlib.suppress(Exception):
            self._client.delete_subscription(request={"subscription": path}, timeout=5)
        self._client.close()
