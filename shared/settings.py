"""The only reader of ``os.environ``: a frozen :class:`Settings` built once per process."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


def _int(env: dict[str, str], key: str, default: int) -> int:
    raw = env.get(key, "")
    return int(raw) if raw.strip() else default


def _float(env: dict[str, str], key: str, default: float) -> float:
    raw = env.get(key, "")
    return float(raw) if raw.strip() else default


def _flag(env: dict[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if not raw:
        return default
    return raw not in ("off", "0", "false", "no")


@dataclass(frozen=True)
class Settings:
    """Process configuration. Every field maps to one environment variable (see README)."""

    postgres_dsn: str
    readmodel_dsn: str
    redis_url: str
    data_dir: Path
    eventstore_schema: str
    readmodel_schema: str
    pool_size: int
    pool_max_overflow: int
    tasks_project: str
    tasks_location: str
    tasks_queue: str
    tasks_emulator_host: str
    tasks_service_account: str
    worker_url: str
    wakeup_interval_seconds: float
    read_wait_seconds: float
    sweep_seconds: float
    max_body_bytes: int
    backplane: str
    pubsub_project: str
    pubsub_topic: str
    pubsub_emulator_host: str
    ws_queue_size: int
    ws_auth_check_seconds: float
    group_commit: bool
    command_threads: int
    log_level: str
    # Abuse bounds (README, "Limits"): every one has a default that holds in production.
    load_test_users: bool
    load_test_users_per_second: float
    rate_limit_per_token: float
    rate_limit_per_address: float
    rate_limit_burst_seconds: float
    auth_cache_seconds: float
    ws_max_sockets_per_user: int
    ws_max_pending_per_address: int
    ws_hello_timeout_seconds: float
    processes: int
    # The worker's lanes spread over this many processes (one GIL each); 1: all in one.
    worker_processes: int
    hot_reads: bool
    kept_answers: int  # dashboard answers kept per query process (0: none)
    forwarded_allow_ips: str
    linger_seconds: float
    head_poll_seconds: float
    # Local only: where the local edge passes /ws through to (the load balancer routes it
    # in production).
    edge_ws_upstream: str
    # Statement imports: the object store of uploads, this instance's spool directory,
    # the internal endpoint Cloud Tasks calls, its queue, and the largest upload.
    import_store_url: str = ""
    import_spool_dir: Path | None = None
    import_task_url: str = ""
    import_tasks_queue: str = "projection-wakeups"
    import_max_bytes: int = 64 * 1024 * 1024
    # An import still processing this long after its last event has its task sent again.
    import_stale_seconds: float = 300.0


def settings_from(env: dict[str, str]) -> Settings:
    """Build settings from a mapping (tests pass their own; processes pass ``os.environ``)."""
    postgres_dsn = env.get("POSTGRES_DSN", "")
    data_dir = Path(env.get("VALORIZE_DATA_DIR", ".valorize")).absolute()
    return Settings(
        postgres_dsn=postgres_dsn,
        readmodel_dsn=env.get("READMODEL_DSN", "") or postgres_dsn,
        redis_url=env.get("REDIS_URL", ""),
        data_dir=data_dir,
        eventstore_schema=env.get("EVENTSTORE_SCHEMA", "public"),
        readmodel_schema=env.get("READMODEL_SCHEMA", "readmodel"),
        pool_size=_int(env, "POSTGRES_POOL_SIZE", 10),
        pool_max_overflow=_int(env, "POSTGRES_POOL_MAX_OVERFLOW", 20),
        tasks_project=env.get("CLOUD_TASKS_PROJECT", "valorize-local"),
        tasks_location=env.get("CLOUD_TASKS_LOCATION", "southamerica-east1"),
        tasks_queue=env.get("CLOUD_TASKS_QUEUE", "projection-wakeups"),
        tasks_emulator_host=env.get("CLOUD_TASKS_EMULATOR_HOST", ""),
        tasks_service_account=env.get("CLOUD_TASKS_SERVICE_ACCOUNT", ""),
        worker_url=env.get("PROJECTION_WORKER_URL", ""),
        wakeup_interval_seconds=_float(env, "WAKEUP_INTERVAL_MS", 250.0) / 1000,
        read_wait_seconds=_float(env, "READ_YOUR_WRITES_TIMEOUT", 2.0),
        sweep_seconds=_float(env, "PROJECTION_SWEEP_SECONDS", 1.0),
        max_body_bytes=_int(env, "MAX_BODY_BYTES", 64 * 1024),
        backplane=env.get("WS_BACKPLANE", "redis"),
        pubsub_project=env.get("PUBSUB_PROJECT", "") or env.get("CLOUD_TASKS_PROJECT", ""),
        pubsub_topic=env.get("PUBSUB_TOPIC", "valorize-events"),
        pubsub_emulator_host=env.get("PUBSUB_EMULATOR_HOST", ""),
        ws_queue_size=_int(env, "WS_QUEUE_SIZE", 1000),
        ws_auth_check_seconds=_float(env, "WS_AUTH_CHECK_SECONDS", 15.0),
        group_commit=_flag(env, "GROUP_COMMIT", True),
        command_threads=_int(env, "COMMAND_THREADS", 64),
        log_level=env.get("VALORIZE_LOG_LEVEL", "info"),
        load_test_users=_flag(env, "LOAD_TEST_USERS", False),
        load_test_users_per_second=_float(env, "LOAD_TEST_USERS_PER_SECOND", 20.0),
        rate_limit_per_token=_float(env, "RATE_LIMIT_PER_TOKEN", 100.0),
        rate_limit_per_address=_float(env, "RATE_LIMIT_PER_ADDRESS", 300.0),
        rate_limit_burst_seconds=_float(env, "RATE_LIMIT_BURST_SECONDS", 5.0),
        auth_cache_seconds=_float(env, "AUTH_CACHE_SECONDS", 5.0),
        ws_max_sockets_per_user=_int(env, "WS_MAX_SOCKETS_PER_USER", 20),
        ws_max_pending_per_address=_int(env, "WS_MAX_PENDING_PER_ADDRESS", 50),
        ws_hello_timeout_seconds=_float(env, "WS_HELLO_TIMEOUT_SECONDS", 5.0),
        processes=_int(env, "VALORIZE_PROCESSES", os.cpu_count() or 1),
        worker_processes=_int(
            env, "WORKER_PROCESSES", _int(env, "VALORIZE_PROCESSES", os.cpu_count() or 1)
        ),
        hot_reads=_flag(env, "HOT_READS", True),
        kept_answers=_int(env, "KEPT_ANSWERS", 10_000),
        forwarded_allow_ips=env.get("FORWARDED_ALLOW_IPS", ""),
        linger_seconds=_float(env, "PROJECTION_LINGER_SECONDS", 2.0),
        head_poll_seconds=_float(env, "PROJECTION_POLL_MS", 5.0) / 1000,
        edge_ws_upstream=env.get("EDGE_WS_UPSTREAM", ""),
        import_store_url=env.get("IMPORT_STORE_URL", ""),
        import_spool_dir=Path(env["IMPORT_SPOOL_DIR"]) if env.get("IMPORT_SPOOL_DIR") else None,
        import_task_url=env.get("IMPORT_TASK_URL", ""),
        import_tasks_queue=env.get("IMPORT_TASKS_QUEUE", "")
        or env.get("CLOUD_TASKS_QUEUE", "projection-wakeups"),
        import_max_bytes=_int(env, "IMPORT_MAX_BYTES", 64 * 1024 * 1024),
        import_stale_seconds=_float(env, "IMPORT_STALE_SECONDS", 300.0),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read from the environment exactly once."""
    return settings_from(dict(os.environ))
