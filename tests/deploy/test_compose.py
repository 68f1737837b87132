"""compose.yaml, read as YAML: its services and their environment agree with the code,
the local stack (`make up`), the nginx edge, the image and Terraform.

``docker compose config`` would also resolve interpolation, but the Compose plugin is
not installed here (and building or starting the stack needs a Docker daemon): these
tests are what can be checked offline.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from shared.adapters.wakeup import queue_path
from tests.deploy import environment
from tests.deploy.hcl import REPO, TERRAFORM, load_module
from valorize.cli import FACTORIES
from valorize.localstack import SERVICES as LOCAL_PORTS

APP_PORT = 8080
# Set in production only: the OIDC identity of tasks (the emulator ignores tokens), and
# the proxies to trust for the client address (the local edge is one nginx container).
PRODUCTION_ONLY = frozenset({"CLOUD_TASKS_SERVICE_ACCOUNT", "FORWARDED_ALLOW_IPS"})


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
    return loaded


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def _env(compose: dict[str, Any]) -> dict[str, str]:
    """The app services' environment (one YAML anchor: every role gets the same)."""
    envs = [_services(compose)[role]["environment"] for role in FACTORIES]
    assert all(env == envs[0] for env in envs)
    env: dict[str, str] = envs[0]
    return env


def _default(value: str) -> str:
    """``${NAME:-default}`` -> ``default``."""
    found = re.fullmatch(r"\$\{\w+:-(.*)\}", value)
    return found.group(1) if found else value


def test_each_role_runs_as_the_cli_and_terraform_serve_it(compose: dict[str, Any]) -> None:
    services = _services(compose)
    for role in FACTORIES:
        assert services[role]["command"] == ["serve", role, "--host", "0.0.0.0", "--port", "8080"]
        assert f"127.0.0.1:{APP_PORT}/up" in " ".join(services[role]["healthcheck"]["test"])
        # The schema first, as Terraform runs the migrate job before the services roll.
        assert services[role]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert services["migrate"]["command"] == ["migrate"]
    assert set(load_module(TERRAFORM).locals["services"]) == set(FACTORIES)


def test_the_environment_names_only_settings_the_code_reads(compose: dict[str, Any]) -> None:
    known = {name for names in environment.env_by_field().values() for name in names}
    assert set(_env(compose)) <= known


def test_the_environment_sets_what_terraform_sets_for_each_deployment(
    compose: dict[str, Any],
) -> None:
    root = load_module(TERRAFORM)
    wiring = {
        name
        for name, value in root.locals["deployment_env"].items()
        # What names a resource of the deployment: queue, worker, topic, backplane, ...
        if "module." in str(value) or "var.ws_backplane" in str(value) or "local." in str(value)
    }
    wiring |= set(root.locals["app_secret_env"]) | {"VALORIZE_LOG_LEVEL", "LOAD_TEST_USERS"}
    assert wiring - PRODUCTION_ONLY <= set(_env(compose))
    # Both deployments keep the load-test endpoint closed unless asked.
    assert _default(_env(compose)["LOAD_TEST_USERS"]) == "off"
    assert _env(compose)["PUBSUB_TOPIC"] == root.modules["pubsub"]["name"]


def test_the_services_find_each_other(compose: dict[str, Any]) -> None:
    env, services = _env(compose), _services(compose)
    worker = urlsplit(env["PROJECTION_WORKER_URL"])
    assert (worker.hostname, worker.port, worker.path) == ("worker", APP_PORT, "/tasks/wake")
    host, port = env["CLOUD_TASKS_EMULATOR_HOST"].split(":")
    emulator = services[host]
    queue = queue_path(
        env["CLOUD_TASKS_PROJECT"], env["CLOUD_TASKS_LOCATION"], env["CLOUD_TASKS_QUEUE"]
    )
    assert emulator["command"] == ["-d", queue]  # the queue the services enqueue to
    dockerfile = (REPO / "infra" / "tasks-emulator" / "Dockerfile").read_text()
    assert f'"--port={port}"' in dockerfile
    assert "ports" not in emulator  # unauthenticated: never published
    postgres = services["postgres"]["environment"]
    for name in ("POSTGRES_DSN", "READMODEL_DSN"):
        dsn = urlsplit(env[name])
        assert (dsn.hostname, dsn.username, dsn.password, dsn.path) == (
            "postgres",
            postgres["POSTGRES_USER"],
            postgres["POSTGRES_PASSWORD"],
            f"/{postgres['POSTGRES_DB']}",
        )
    assert urlsplit(env["REDIS_URL"]).hostname == "redis"


def test_the_edge_routes_to_the_services_on_the_port_of_make_up(compose: dict[str, Any]) -> None:
    edge = _services(compose)["edge"]
    assert edge["ports"] == [f"{LOCAL_PORTS['edge']}:{LOCAL_PORTS['edge']}"]
    assert set(edge["depends_on"]) == {"command", "query", "gateway"}
    conf = (REPO / compose["configs"]["edge"]["file"]).read_text()
    upstreams = dict(re.findall(r"upstream (\w+)\s*\{\s*server (\S+);", conf))
    assert upstreams == {r: f"{r}:{APP_PORT}" for r in ("query", "command", "gateway")}
    assert f"listen {LOCAL_PORTS['edge']};" in conf
    assert re.search(r"location /ws \{[^}]*proxy_pass http://gateway;", conf)


def test_the_image_holds_every_package_the_entry_point_needs() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) \./\1$", dockerfile, re.M))
    pyproject = (REPO / "pyproject.toml").read_text()
    include = re.search(r"include = \[(.*?)\]", pyproject)
    assert include is not None
    packages = {p.strip('" *') for p in include.group(1).split(",")}
    # `valorize` is the image's ENTRYPOINT (valorize.cli:main): without the package in
    # the wheel, every role would fail to start.
    assert packages <= copied, f"Dockerfile does not copy {sorted(packages - copied)}"
    assert 'ENTRYPOINT ["valorize"]' in dockerfile
    assert Path(REPO / "valorize" / "cli.py").exists()
