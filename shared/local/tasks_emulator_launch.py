"""Run gcloud-tasks-emulator 0.6.2 on loopback only, dispatching each new task at once.

Never imported by the project: ``shared.local.tasks_emulator`` runs this file with the emulator
venv's interpreter (``python -P``, so this directory is not put on ``sys.path``)::

    python -P tasks_emulator_launch.py --poll-seconds 0.1 start -p PORT -d QUEUE_PATH

Arguments after ``--poll-seconds`` go to the emulator's own command line. Three patches,
made before the emulator's ``main()`` runs; the internals they replace are checked against
0.6.2 first, so another version fails with the reason instead of serving on every interface:

* ``APIThread.run`` serves plaintext gRPC, with no auth, on ``[::]:PORT``: anyone who can
  reach the port could make this machine POST any body to any URL. It is replaced by the
  same steps bound to ``127.0.0.1:PORT``, and a failed bind ends the process (0.6.2 lets
  the API thread die and goes on running without an API).
* Each queue's thread sleeps ``_LOOP_SLEEP_TIME`` (0.1 s) between looks at its tasks, so a
  wake-up task waited ~50 ms before its POST. ``QueueState.create_task`` now signals, and
  ``time`` in the server module (only ever used as ``time.sleep(_LOOP_SLEEP_TIME)``) is a
  :class:`WakeOnNewTask` whose sleep ends on that signal.
* ``_LOOP_SLEEP_TIME`` is set to ``--poll-seconds``: now only the pace of retries of failed
  deliveries, of noticing a queue created at runtime, and of the idle loops.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import inspect
import logging
import os
import re
import sys
import threading
import time
from concurrent import futures
from typing import Any

PINNED_VERSION = "0.6.2"
BIND_HOST = "127.0.0.1"
_WILDCARD_BIND = "interface = f'[::]:{self._port}'"
_STOCK_POLL_SECONDS = 0.1

logger = logging.getLogger("gcloud-tasks-emulator")


class WakeOnNewTask:
    """Stands in for ``time`` in the emulator's server module: ``sleep`` returns early once
    a task has been created since the calling thread's previous sleep. Counting creations
    per thread means a task created while its queue's thread was busy dispatching (after it
    took its snapshot of the queue) is picked up by the next loop, not a poll later.
    """

    def __init__(self) -> None:
        self._created = 0
        self._changed = threading.Condition()
        self._seen = threading.local()

    def task_created(self) -> None:
        with self._changed:
            self._created += 1
            self._changed.notify_all()

    def sleep(self, seconds: float) -> None:
        with self._changed:
            seen = getattr(self._seen, "created", 0)
            self._changed.wait_for(lambda: self._created != seen, timeout=seconds)
            self._seen.created = self._created


def _expect(condition: bool, reason: str) -> None:
    if not condition:
        raise RuntimeError(
            f"gcloud-tasks-emulator is not the {PINNED_VERSION} this launcher patches: {reason}"
        )


def _checked_server_module() -> Any:  # the emulator is untyped
    """The emulator's ``server`` module, once the internals the patches rely on are checked."""
    installed = importlib.metadata.version("gcloud-tasks-emulator")
    _expect(installed == PINNED_VERSION, f"version {installed} is installed")
    server = importlib.import_module("gcloud_tasks_emulator.server")
    for name in ("APIThread", "Greeter", "QueueState", "add_CloudTasksServicer_to_server"):
        _expect(hasattr(server, name), f"server.{name} is missing")
    _expect(
        _WILDCARD_BIND in inspect.getsource(server.APIThread.run),
        f"APIThread.run does not contain {_WILDCARD_BIND!r}",
    )
    _expect(getattr(server, "time", None) is time, "server.time is not the time module")
    source = inspect.getsource(server)
    uses = set(re.findall(r"\btime\.\w+", source))
    sleeps = source.count("time.sleep(")
    _expect(
        uses == {"time.sleep"} and sleeps == source.count("time.sleep(_LOOP_SLEEP_TIME)"),
        "server uses time for more than time.sleep(_LOOP_SLEEP_TIME)",
    )
    _expect(
        getattr(server, "_LOOP_SLEEP_TIME", None) == _STOCK_POLL_SECONDS,
        "server._LOOP_SLEEP_TIME is not 0.1",
    )
    return server


def _loopback_run(server: Any) -> Any:
    """``APIThread.run`` of 0.6.2 with the listening address changed to loopback."""

    def run(self: Any) -> None:
        self._httpd = server.grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        server.add_CloudTasksServicer_to_server(server.Greeter(self._state), self._httpd)
        interface = f"{BIND_HOST}:{self._port}"
        try:
            bound = self._httpd.add_insecure_port(interface)
        except RuntimeError:  # recent grpcio raises on a failed bind; older ones returned 0
            bound = 0
        if bound != self._port:
            logger.error("[API] Cannot listen on %s (port in use?)", interface)
            os._exit(1)  # from this thread: without its API the emulator is useless
        logger.info("[API] Starting API server at %s", interface)
        self._httpd.start()

    return run


def _signalling(create_task: Any, wake: WakeOnNewTask) -> Any:
    def create_and_signal(self: Any, queue: str, task: Any) -> Any:
        created = create_task(self, queue, task)
        wake.task_created()
        return created

    return create_and_signal


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--poll-seconds", type=float, default=_STOCK_POLL_SECONDS)
    args, emulator_argv = parser.parse_known_args(argv)
    if args.poll_seconds <= 0:
        parser.error("--poll-seconds must be positive")
    server = _checked_server_module()
    wake = WakeOnNewTask()
    server.APIThread.run = _loopback_run(server)
    server.QueueState.create_task = _signalling(server.QueueState.create_task, wake)
    server.time = wake
    server._LOOP_SLEEP_TIME = args.poll_seconds
    sys.argv = ["gcloud-tasks-emulator", *emulator_argv]
    importlib.import_module("gcloud_tasks_emulator.__main__").main()


if __name__ == "__main__":
    main(sys.argv[1:])
