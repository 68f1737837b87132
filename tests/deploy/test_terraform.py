"""infra/terraform, checked offline: formatting (``terraform fmt``), and what a reviewer
of a deployment would check, read from the code with python-hcl2. ``terraform validate``
is not run: it needs the providers, which ``terraform init`` cannot fetch offline.

Security findings are checkov's (tests/deploy/test_checkov.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import Any

import pytest

from tests.deploy import environment
from tests.deploy.hcl import REPO, TERRAFORM, Module, blocks, default, load_module, same
from valorize.edge import READ_METHODS

SERVICES = ("command", "query", "worker", "gateway")
TASKS_SA = "serviceAccount:${google_service_account.tasks.email}"
PUBLIC = {"command", "query", "gateway"}  # behind the load balancer, open to all users


@pytest.fixture(scope="module")
def root() -> Module:
    return load_module(TERRAFORM)


def terraform() -> str:
    found = shutil.which("terraform") or "/usr/local/bin/terraform"
    if not os.access(found, os.X_OK):
        pytest.fail("terraform is not installed (https://developer.hashicorp.com/terraform)")
    return found


def test_terraform_files_are_formatted() -> None:
    env = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1"}
    done = subprocess.run(
        [terraform(), "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, f"run `terraform fmt -recursive infra/terraform`:\n{done.stdout}"


def _services(root: Module) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = root.locals["services"]
    return services


def test_four_cloud_run_services_each_serve_their_role(root: Module) -> None:
    assert set(_services(root)) == set(SERVICES)
    service = root.modules["service"]
    assert service["for_each"] == "${local.services}"
    assert service["args"] == ["serve", "${each.key}", "--host", "0.0.0.0", "--port", "8080"]
    assert set(default(root, "scaling")) == set(SERVICES)
    # The CLI serves exactly these roles (valorize/cli.py).
    from valorize.cli import FACTORIES

    assert set(FACTORIES) == set(SERVICES)


def _deployed_env(root: Module) -> set[str]:
    """Every variable module.service sets on each service."""
    service = root.modules["service"]
    assert same(
        service["env"],
        "${merge(local.app_env, {VALORIZE_PROCESSES = var.scaling[each.key].cpu, "
        "WORKER_PROCESSES = var.scaling[each.key].cpu})}",
    )
    assert same(
        root.locals["app_env"], "${merge(local.tuning, local.deployment_env, var.env_overrides)}"
    )
    assert service["secret_env"] == "${local.app_secret_env}"
    return {
        *root.locals["tuning"],
        *root.locals["deployment_env"],
        "VALORIZE_PROCESSES",
        "WORKER_PROCESSES",
        *root.locals["app_secret_env"],
    }


@pytest.mark.parametrize("process", SERVICES)
def test_each_service_is_given_every_variable_its_code_reads(root: Module, process: str) -> None:
    read = environment.env_read(process) - environment.LOCAL_ONLY
    unset = read - _deployed_env(root)
    assert not unset, f"{process} reads {sorted(unset)}, which Terraform never sets"


def test_no_emulator_or_local_state_variable_is_deployed(root: Module) -> None:
    assert not _deployed_env(root) & environment.LOCAL_ONLY
    every_setting = {name for names in environment.env_by_field().values() for name in names}
    assert every_setting >= environment.LOCAL_ONLY, "LOCAL_ONLY names no setting"


def test_the_migrate_job_gets_what_migrate_reads_and_nothing_else(root: Module) -> None:
    job = root.modules["migrate"]
    assert job["args"] == ["migrate"]
    given = set(root.locals["migrate_env"]) | set(job["secret_env"])
    assert given == environment.env_read("migrate"), "migrate needs no Redis, queue or limits"
    assert same(job["env"], "${{for name in local.migrate_env : name => local.app_env[name]}}")


def test_migrations_run_before_the_services_roll(root: Module) -> None:
    run = root.resource("terraform_data", "migrate")
    assert "${var.image}" in run["triggers_replace"]
    (exec_,) = [p["local-exec"] for p in run["provisioner"]]
    assert exec_["command"].startswith("gcloud run jobs execute ${module.migrate.name} ")
    assert exec_["command"].endswith(" --wait")  # the services wait for it to finish
    assert "${terraform_data.migrate}" in root.modules["service"]["depends_on"]
    assert default(root, "run_migrations") is True


def test_the_worker_is_invoked_only_by_the_tasks_identity(root: Module) -> None:
    worker = _services(root)["worker"]
    assert worker["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY"
    assert worker["invokers"] == [TASKS_SA]
    assert worker["audiences"] == ["${local.worker_url}/tasks/wake"]
    # No project-wide grant lets anyone else in (a project-level run.invoker would).
    project_roles = root.resource("google_project_iam_member", "runtime")["for_each"]
    assert "run.invoker" not in project_roles
    assert root.text().count(TASKS_SA) == 1  # the tasks identity is granted nothing else


def test_gateways_may_make_their_own_pubsub_subscriptions_and_nothing_more(
    root: Module,
) -> None:
    """What PubSubSubscriber does (create, streaming pull, delete on close), granted only
    when the backplane is Pub/Sub: no predefined project role (pubsub.editor) for it."""
    pubsub = root.modules["pubsub"]
    runtime = '["serviceAccount:${google_service_account.runtime.email}"]'
    for members in ("publisher_members", "subscriber_members"):
        assert same(pubsub[members], f'${{var.ws_backplane == "pubsub" ? {runtime} : []}}')
    module = root.child("pubsub")
    role = module.resource("google_project_iam_custom_role", "subscriptions")
    assert set(role["permissions"]) == {
        "pubsub.subscriptions.create",
        "pubsub.subscriptions.consume",
        "pubsub.subscriptions.delete",
    }
    granted = module.resource("google_project_iam_member", "subscriptions")
    assert granted["role"] == "${google_project_iam_custom_role.subscriptions[0].id}"
    assert granted["member"] == "${var.subscriber_members[count.index]}"
    assert '"roles/pubsub.editor"' not in root.text() + module.text()


def test_only_the_public_edge_is_open_to_all_users(root: Module) -> None:
    text = root.text()
    assert "allAuthenticatedUsers" not in text
    assert re.findall(r".*allUsers.*", text) == [
        '  public_invoker = ["allUsers"] # reachable only via the LB (ingress); '
        "the app authenticates users"
    ]
    for path in (TERRAFORM / "modules").rglob("*.tf"):  # modules grant only what they are given
        assert '"allUsers"' not in path.read_text(), path
    for name, service in _services(root).items():
        public = "local.public_invoker" in service["invokers"]
        assert public == (name in PUBLIC), name
        if public:  # open to all users, but only through the load balancer
            assert "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" in service["ingress"], name
            assert "INGRESS_TRAFFIC_ALL" not in service["ingress"].split(":")[-1], name


def test_cloud_sql_and_memorystore_are_private_and_encrypted(root: Module) -> None:
    sql = root.child("postgres").resource("google_sql_database_instance", "this")
    (ip,) = sql["settings"][0]["ip_configuration"]
    assert ip["ipv4_enabled"] is False  # no public IP
    assert ip["private_network"] == "${var.network_id}"
    assert ip["ssl_mode"] == "ENCRYPTED_ONLY"
    dsn = root.resource("google_secret_manager_secret_version", "postgres_dsn")["secret_data"]
    assert "sslmode=verify-ca&sslrootcert=${local.server_cas_file}" in dsn
    redis = root.child("redis").resource("google_redis_instance", "this")
    assert redis["connect_mode"] == "PRIVATE_SERVICE_ACCESS"
    assert redis["transit_encryption_mode"] == "SERVER_AUTHENTICATION"
    assert redis["auth_enabled"] is True
    url = root.resource("google_secret_manager_secret_version", "redis_url")["secret_data"]
    assert url.startswith("rediss://")
    assert "ssl_ca_certs=${local.server_cas_file}" in url
    assert root.modules["service"]["secret_files"] == "${local.server_cas_volume}"
    assert root.modules["migrate"]["secret_files"] == "${local.server_cas_volume}"


def _route_rules(root: Module) -> list[dict[str, Any]]:
    lb = root.child("load_balancer").resource("google_compute_url_map", "https")
    (matcher,) = lb["path_matcher"]
    assert matcher["default_service"] == "${local.api_default}"
    return sorted(blocks(matcher, "route_rules"), key=lambda r: r["priority"])


def test_the_load_balancer_routes_writes_reads_and_ws_as_the_readme_says(root: Module) -> None:
    blocked, ws, reads = _route_rules(root)
    assert blocked["route_action"][0]["fault_injection_policy"][0]["abort"][0] == {
        "http_status": 404,
        "percentage": 100,
    }
    assert ws["service"] == '${local.bs["gateway"].id}'
    assert ws["match_rules"] == [{"prefix_match": "/ws"}]
    assert reads["service"] == '${local.bs["query"].id}'
    (methods,) = blocks(reads, "match_rules")
    assert methods["for_each"] == ["GET", "HEAD"]
    assert methods["prefix_match"] == "/"
    assert methods["header_matches"][0]["header_name"] == ":method"
    lb = root.child("load_balancer")
    # everything else: writes
    assert same(
        lb.locals["api_default"],
        '${local.use_api_gateway ? local.bs["api"].id : local.bs["command"].id}',
    )
    # The same split everywhere: the local edge (valorize/edge.py), nginx, the README.
    assert set(READ_METHODS) == set(methods["for_each"])
    nginx = (REPO / "infra" / "nginx" / "edge.conf").read_text()
    assert re.findall(r"^\s+(\w+)\s+query;", nginx, re.M) == ["GET", "HEAD"]
    readme = (REPO / "infra" / "README.md").read_text()
    assert "sends `/ws*` to the gateway" in readme
    assert "`GET`/`HEAD` to query_service" in readme
    assert "Everything else goes to\ncommand_service" in readme


def test_the_load_test_endpoint_is_closed_by_default(root: Module) -> None:
    assert default(root, "enable_load_test_endpoint") is False
    lb = root.modules["load_balancer"]
    assert same(
        lb["blocked_path_prefixes"], '${var.enable_load_test_endpoint ? [] : ["/api/testing/"]}'
    )
    assert same(
        root.locals["deployment_env"]["LOAD_TEST_USERS"],
        '${var.enable_load_test_endpoint ? "on" : "off"}',
    )


def test_concurrency_and_instances_are_the_benchmarked_ones(root: Module) -> None:
    services, scaling = _services(root), default(root, "scaling")
    tuning = root.locals["tuning"]
    # README "The write path": a command holds one of COMMAND_THREADS (64) threads while it
    # waits for the store, so an instance admits as many requests as it has threads.
    assert same(
        services["command"]["concurrency"],
        "${tonumber(local.app_env.COMMAND_THREADS) * tonumber(var.scaling.command.cpu)}",
    )
    assert tuning["COMMAND_THREADS"] == "64"
    assert scaling["command"].get("cpu", "1") == "1"
    # README "The read path": a hot read costs ~60 us of a core; 250 in flight keep a
    # 1-vCPU instance's p95 in the tens of milliseconds.
    assert services["query"]["concurrency"] == 250
    assert services["worker"]["concurrency"] == 10
    assert services["worker"]["cpu_idle"] is False
    assert services["gateway"]["session_affinity"] is True
    assert services["gateway"]["timeout_seconds"] == 3600  # a socket's longest life
    # Every process holds at most two pools (the worker: event store and read models) of
    # POSTGRES_POOL_SIZE + _MAX_OVERFLOW; all instances at their max must fit in
    # max_connections, with room for the migrate job and operators.
    per_pool = default(root, "db_pool_size") + default(root, "db_pool_max_overflow")
    processes = sum(s["max"] * int(s.get("cpu", "1")) for s in scaling.values())
    needed = 2 * per_pool * processes + 2 * per_pool
    assert needed + 50 <= default(root, "db_max_connections"), needed


def test_a_moved_address_keeps_the_load_balancers_ip(root: Module) -> None:
    assert {
        "from": "${module.load_balancer.google_compute_global_address.this}",
        "to": "${google_compute_global_address.edge}",
    } in root.moved
