"""Wake-up fan-out: tell the projection worker that new events exist.

A wake-up is only a hint ("events exist up to position N"): delivery is at-least-once and
unordered, and the worker's periodic sweep catches up whatever a lost hint would have
triggered. That is why :meth:`Wakeup.notify` never raises: failing a command that has
already committed because a hint could not be sent would be strictly worse.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import httpx
import orjson

if TYPE_CHECKING:
    from google.cloud.tasks_v2 import CloudTasksClient

__all__ = [
    "CloudTasksWakeup",
    "DirectWakeup",
    "NullWakeup",
    "Wakeup",
    "ensure_queue",
    "queue_path",
    "wakeup_body",
]

logger = logging.getLogger(__name__)

_JSON_HEADERS = {"Content-Type": "application/json"}


class Wakeup(Protocol):
    """Port: "new events exist up to position N".

    Implementations are called synchronously (from a threadpool) right after a commit, so
    they must be thread-safe, cheap, and must never raise: errors are logged and swallowed.
    """

    def notify(self, position: int) -> None:
        """Hint that events up to ``position`` are committed. Never raises."""
        ...

    def close(self) -> None:
        """Release clients/connections. Idempotent; ``notify`` must not be called after."""
        ...


def wakeup_body(position: int) -> bytes:
    """The JSON body every transport sends: ``{"position": N}``."""
    return orjson.dumps({"position": position})


def queue_path(project: str, location: str, queue: str) -> str:
    """Full Cloud Tasks queue name (same format as ``CloudTasksClient.queue_path``)."""
    return f"projects/{project}/locations/{location}/queues/{queue}"


def _make_client(emulator_host: str | None) -> CloudTasksClient:
    # Imported lazily: google-cloud-tasks and grpc are heavy to import, and only the
    # processes that actually enqueue tasks should pay for it.
    from google.cloud import tasks_v2
    from google.cloud.tasks_v2.services.cloud_tasks import transports

    if emulator_host:
        import grpc

        # The emulator speaks plaintext gRPC and ignores auth; passing a channel makes the
        # transport skip credential lookup entirely (no ADC needed on dev machines/CI).
        channel = grpc.insecure_channel(emulator_host)
        transport = transports.CloudTasksGrpcTransport(channel=channel)
        return tasks_v2.CloudTasksClient(transport=transport)
    # Production: Application Default Credentials (the service's runtime identity).
    return tasks_v2.CloudTasksClient()


def _close_client(client: CloudTasksClient) -> None:
    # Closes the gRPC channel. The client owns its transport here, so this is safe.
    client.transport.close()  # type: ignore[no-untyped-call]  # gapic leaves it unannotated


class CloudTasksWakeup:
    """Enqueue one Cloud Tasks HTTP task per wake-up, POSTing ``{"position": N}``.

    The gRPC client is created once here and shared by all threads (it is thread-safe).

    ``coalesce_window_s`` (default off) skips a notify when a wake-up for a position >= N
    was enqueued less than that many seconds ago. It is off by default because positions
    can commit out of order: the skipped, lower position may become visible only after the
    worker has already handled the higher hint, and then it waits for the next hint/sweep.
    Enable it only where that extra latency is acceptable.
    """

    def __init__(
        self,
        project: str,
        location: str,
        queue: str,
        target_url: str,
        *,
        emulator_host: str | None = None,
        service_account_email: str | None = None,
        timeout_s: float = 5.0,
        coalesce_window_s: float = 0.0,
    ) -> None:
        from google.cloud import tasks_v2

        self._parent = queue_path(project, location, queue)
        self._target_url = target_url
        self._timeout_s = timeout_s
        self._coalesce_window_s = coalesce_window_s
        # OIDC tokens are only meaningful against real Cloud Tasks (the emulator ignores
        # them, and a Cloud Run push endpoint requires one when it is not public).
        self._oidc = (
            tasks_v2.OidcToken(service_account_email=service_account_email)
            if service_account_email
            else None
        )
        self._client = _make_client(emulator_host)
        self._lock = threading.Lock()
        self._last_position = -1
        self._last_enqueued_at = float("-inf")
        self._closed = False

    def notify(self, position: int) -> None:
        """Enqueue a wake-up task for ``position``. Never raises."""
        try:
            if self._coalesced(position):
                return
            self._enqueue(position)
            with self._lock:
                self._last_position = max(self._last_position, position)
                self._last_enqueued_at = time.monotonic()
        except Exception:
            # A lost hint only costs latency: the worker's sweep picks the events up.
            logger.warning("wake-up for position %d not enqueued", position, exc_info=True)

    def close(self) -> None:
        """Close the gRPC channel."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            _close_client(self._client)
        except Exception:
            logger.debug("error closing Cloud Tasks client", exc_info=True)

    def _coalesced(self, position: int) -> bool:
        if self._coalesce_window_s <= 0:
            return False
        with self._lock:
            recent = time.monotonic() - self._last_enqueued_at < self._coalesce_window_s
            return recent and self._last_position >= position

    def _enqueue(self, position: int) -> None:
        from google.cloud import tasks_v2

        http_request = tasks_v2.HttpRequest(
            http_method=tasks_v2.HttpMethod.POST,
            url=self._target_url,
            headers=_JSON_HEADERS,
            body=wakeup_body(position),
        )
        if self._oidc is not None:
            http_request.oidc_token = self._oidc
        # Unnamed task on purpose: named tasks enable server-side dedup, which would block
        # re-sending a hint for the same position for up to an hour and costs extra lookups.
        self._client.create_task(
            parent=self._parent,
            # Scheduled now (what an unscheduled task is anyway), stated so the emulator
            # stamps it too: the worker's timeline reads it as the enqueue time.
            task=tasks_v2.Task(http_request=http_request, schedule_time=datetime.now(UTC)),
            timeout=self._timeout_s,
        )


class DirectWakeup:
    """POST ``{"position": N}`` straight to ``target_url`` (no queue). Never raises.

    For local runs without Cloud Tasks and for tests. Delivery is best-effort, one try.
    """

    def __init__(self, target_url: str, *, timeout_s: float = 2.0) -> None:
        self._target_url = target_url
        # One pooled client for all threads (httpx.Client is thread-safe).
        self._client = httpx.Client(timeout=timeout_s)

    def notify(self, position: int) -> None:
        """POST the wake-up synchronously. Never raises."""
        try:
            response = self._client.post(
                self._target_url, content=wakeup_body(position), headers=_JSON_HEADERS
            )
            if response.is_error:
                logger.warning(
                    "wake-up for position %d got HTTP %d", position, response.status_code
                )
        except Exception:
            logger.warning("wake-up for position %d not delivered", position, exc_info=True)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()


class NullWakeup:
    """Does nothing: the worker relies on its sweep alone."""

    def notify(self, position: int) -> None:
        """Ignore the hint."""

    def close(self) -> None:
        """Nothing to release."""


def ensure_queue(project: str, location: str, queue: str, emulator_host: str | None) -> None:
    """Create the queue if it does not exist yet (dev/test harness helper).

    Idempotent. Unlike :meth:`Wakeup.notify`, this raises on failure: a harness that cannot
    create its queue should fail loudly.
    """
    from google.api_core.exceptions import AlreadyExists
    from google.cloud import tasks_v2

    name = queue_path(project, location, queue)
    client = _make_client(emulator_host)
    try:
        # Create-and-ignore-AlreadyExists instead of get-then-create: the emulator answers
        # GetQueue for an unknown queue with UNKNOWN (a server-side KeyError), not NOT_FOUND,
        # while its CreateQueue is idempotent; real Cloud Tasks raises AlreadyExists.
        client.create_queue(
            parent=f"projects/{project}/locations/{location}",
            queue=tasks_v2.Queue(name=name),
            timeout=30.0,
        )
        logger.info("created Cloud Tasks queue %s", name)
    except AlreadyExists:
        pass
    finally:
        _close_client(client)


class BackgroundWakeup:
    """Sends wake-ups from a background thread: off the request path, coalesced, paced.

    ``notify`` only records the highest position and signals: the command that committed
    never waits on Cloud Tasks. At most one task is in flight, and tasks are at least
    ``min_interval_s`` apart; commits in between are folded into the next task. This is
    safe because a wake-up is a hint and positions become visible in order (the store's
    lock): a hint for N means every event up to N is readable, and the worker reads every
    event after its checkpoint, whatever position the task names. Pacing bounds the task
    rate per instance (Cloud Tasks bills and rate-limits per task) and hands the worker
    larger batches under load; an idle instance's first hint still leaves at once.
    """

    def __init__(self, inner: Wakeup, min_interval_s: float = 0.0) -> None:
        self._inner = inner
        self._min_interval_s = min_interval_s
        self._cond = threading.Condition()
        self._pending: int | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="wakeup", daemon=True)
        self._thread.start()

    def notify(self, position: int) -> None:
        with self._cond:
            self._pending = position if self._pending is None else max(self._pending, position)
            self._cond.notify()

    def _run(self) -> None:
        sent_at = float("-inf")
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                if self._pending is None:  # closed and drained
                    return
                # Let later commits fold in until the interval since the last task is up.
                while (
                    not self._closed
                    and (wait := sent_at + self._min_interval_s - time.monotonic()) > 0
                ):
                    self._cond.wait(wait)
                position, self._pending = self._pending, None
            sent_at = time.monotonic()
            self._inner.notify(position)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=5)
        self._inner.close()
