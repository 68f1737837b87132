# Valorize on Google Cloud: Cloud Run (command, query, worker, gateway + migrate job),
# Cloud SQL PostgreSQL 17, Memorystore Redis, Cloud Tasks, Pub/Sub, external HTTPS LB.
#
# Method split (reads -> query_service, writes -> command_service)
# ------------------------------------------------------------------
# Decision: the global external Application Load Balancer does it. URL maps have no
# "method" field, but on EXTERNAL_MANAGED load balancers a route rule's header match
# can test the ":method" pseudo-header, so one LB in var.region routes
#   /ws*  -> ws_gateway,   GET|HEAD -> query_service,   everything else -> command_service
# (see modules/load_balancer). All GA, no extra hop, same region as the services.
#
# Alternative kept behind var.enable_api_gateway: Google API Gateway whose OpenAPI 2.0
# spec (modules/api_gateway/openapi.yaml.tftpl) sends GET/HEAD to query_service and
# POST/PUT/PATCH/DELETE to command_service via x-google-backend; the LB then sends all
# non-/ws traffic to it. Not the default because API Gateway is not offered in
# southamerica-east1 (it must run in var.api_gateway_region, adding a cross-region
# round trip per request) and the LB -> API Gateway serverless NEG is Preview (google-beta).

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  labels = { app = "valorize", managed-by = "terraform" }

  apis = concat(
    ["run", "sqladmin", "redis", "cloudtasks", "pubsub", "secretmanager", "servicenetworking", "compute", "iam", "storage"],
    var.enable_api_gateway ? ["apigateway", "servicemanagement", "servicecontrol"] : [],
  )
}

resource "google_project_service" "apis" {
  for_each           = toset(local.apis)
  project            = var.project_id
  service            = "${each.value}.googleapis.com"
  disable_on_destroy = false
}

# ---- network: Direct VPC egress for Cloud Run, private services access for SQL/Redis

resource "google_compute_network" "vpc" {
  project                 = var.project_id
  name                    = var.name
  auto_create_subnetworks = false
  depends_on              = [google_project_service.apis]
}

resource "google_compute_subnetwork" "run" {
  project                  = var.project_id
  region                   = var.region
  name                     = "${var.name}-run"
  network                  = google_compute_network.vpc.id
  ip_cidr_range            = var.run_subnet_cidr
  private_ip_google_access = true

  # What Cloud Run's egress reached (Cloud SQL, Memorystore, Google APIs): the record an
  # incident review needs. A tenth of the flows, aggregated over 5 s, keeps the cost small.
  log_config {
    aggregation_interval = "INTERVAL_5_SEC"
    flow_sampling        = 0.1
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# Nothing in this VPC accepts connections: Cloud Run only sends through it (Direct VPC
# egress; replies to its own connections are let back in by the stateful firewall), and
# Cloud SQL and Memorystore live in Google's peered networks. Stated as a rule rather
# than left to the implied deny, so that a rule added later reads against it.
resource "google_compute_firewall" "deny_ingress" {
  project   = var.project_id
  name      = "${var.name}-deny-ingress"
  network   = google_compute_network.vpc.id
  direction = "INGRESS"
  priority  = 65534

  deny {
    protocol = "all"
  }

  source_ranges = ["0.0.0.0/0"]

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_global_address" "private_services" {
  project       = var.project_id
  name          = "${var.name}-private-services"
  network       = google_compute_network.vpc.id
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = 20
}

resource "google_service_networking_connection" "private_services" {
  network                 = google_compute_network.vpc.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services.name]
}

# ---- data stores

module "postgres" {
  source = "./modules/cloud_sql_postgres"

  project_id          = var.project_id
  region              = var.region
  name                = "${var.name}-pg"
  network_id          = google_compute_network.vpc.id
  tier                = var.db_tier
  availability_type   = var.db_availability_type
  disk_size_gb        = var.db_disk_size_gb
  password            = random_password.db.result
  deletion_protection = var.db_deletion_protection
  labels              = local.labels
  # Every process opens a pool of POSTGRES_POOL_SIZE + _MAX_OVERFLOW connections at
  # most: tests/deploy checks that all services at their max instances fit under this.
  database_flags = { max_connections = tostring(var.db_max_connections) }

  depends_on = [google_service_networking_connection.private_services]
}

module "redis" {
  source = "./modules/memorystore_redis"

  project_id     = var.project_id
  region         = var.region
  name           = "${var.name}-redis"
  network_id     = google_compute_network.vpc.id
  memory_size_gb = var.redis_memory_size_gb
  labels         = local.labels

  depends_on = [google_service_networking_connection.private_services]
}

module "tasks_queue" {
  source = "./modules/cloud_tasks_queue"

  project_id       = var.project_id
  region           = var.region
  name             = "projection-wakeups"
  enqueuer_members = ["serviceAccount:${google_service_account.runtime.email}"]

  depends_on = [google_project_service.apis]
}

module "pubsub" {
  source = "./modules/pubsub"

  project_id = var.project_id
  name       = "valorize-events"
  # Granted only when the services use it (least privilege).
  publisher_members  = var.ws_backplane == "pubsub" ? ["serviceAccount:${google_service_account.runtime.email}"] : []
  subscriber_members = var.ws_backplane == "pubsub" ? ["serviceAccount:${google_service_account.runtime.email}"] : []
  labels             = local.labels

  depends_on = [google_project_service.apis]
}

# ---- Cloud Run

locals {
  # Deterministic Cloud Run URL (https://SERVICE-PROJECT_NUMBER.REGION.run.app):
  # lets every service know the worker URL without a dependency cycle.
  worker_url  = "https://${var.name}-worker-${data.google_project.this.number}.${var.region}.run.app"
  command_url = "https://${var.name}-command-${data.google_project.this.number}.${var.region}.run.app"

  # The app's tuning, stated even where it equals the default in shared/settings.py, so
  # that a deployment says what it runs with (README, "Configuration"); change one with
  # var.env_overrides. tests/deploy fails when the code reads a variable set nowhere here.
  tuning = {
    EVENTSTORE_SCHEMA          = "public"
    READMODEL_SCHEMA           = "readmodel"
    WAKEUP_INTERVAL_MS         = "250"
    PROJECTION_SWEEP_SECONDS   = "1"
    READ_YOUR_WRITES_TIMEOUT   = "2"
    MAX_BODY_BYTES             = "65536"
    GROUP_COMMIT               = "on"
    COMMAND_THREADS            = "64"
    WS_QUEUE_SIZE              = "1000"
    WS_AUTH_CHECK_SECONDS      = "15"
    LOAD_TEST_USERS_PER_SECOND = "20"
    KEPT_ANSWERS               = "10000" # dashboard answers kept per query process
    # Cloud Run refuses HTTP/1 requests over 32 MiB: uploads stop a little below.
    IMPORT_MAX_BYTES = "33000000"
    IMPORT_SPOOL_DIR = "/tmp/imports" # each instance's own scratch copy while processing
    # An import still processing this long after its last chunk gets its task again.
    IMPORT_STALE_SECONDS = "300"
  }

  # What this deployment decides (its queue, topic, identities, limits).
  deployment_env = {
    CLOUD_TASKS_PROJECT         = var.project_id
    CLOUD_TASKS_LOCATION        = var.region
    CLOUD_TASKS_QUEUE           = module.tasks_queue.name
    CLOUD_TASKS_SERVICE_ACCOUNT = google_service_account.tasks.email
    PROJECTION_WORKER_URL       = "${local.worker_url}/tasks/wake"
    # Statement imports: uploads in the bucket (imports.tf), processed by the command
    # service's internal endpoint, called by a task on the same queue.
    IMPORT_STORE_URL   = "gs://${google_storage_bucket.imports.name}"
    IMPORT_TASK_URL    = "${local.command_url}/internal/imports/process"
    IMPORT_TASKS_QUEUE = module.tasks_queue.name
    WS_BACKPLANE       = var.ws_backplane
    PUBSUB_PROJECT     = var.project_id
    PUBSUB_TOPIC       = module.pubsub.name
    VALORIZE_LOG_LEVEL = var.log_level
    # Per-instance pool; keep (sum of max instances) x (size + overflow) under the
    # database's max_connections.
    POSTGRES_POOL_SIZE         = tostring(var.db_pool_size)
    POSTGRES_POOL_MAX_OVERFLOW = tostring(var.db_pool_max_overflow)
    # Abuse bounds, held per instance (Cloud Armor holds per-IP ones across the fleet).
    # Spelled out even where they equal the app's defaults, so a deployment states them.
    LOAD_TEST_USERS            = var.enable_load_test_endpoint ? "on" : "off"
    RATE_LIMIT_PER_TOKEN       = tostring(var.rate_limit_per_token)
    RATE_LIMIT_PER_ADDRESS     = tostring(var.rate_limit_per_address)
    RATE_LIMIT_BURST_SECONDS   = tostring(var.rate_limit_burst_seconds)
    AUTH_CACHE_SECONDS         = tostring(var.auth_cache_seconds)
    WS_MAX_SOCKETS_PER_USER    = tostring(var.ws_max_sockets_per_user)
    WS_MAX_PENDING_PER_ADDRESS = tostring(var.ws_max_pending_per_address)
    WS_HELLO_TIMEOUT_SECONDS   = tostring(var.ws_hello_timeout_seconds)
    # The read path (README, "The read path") and the worker's linger after a wake-up.
    HOT_READS                 = "on"
    PROJECTION_LINGER_SECONDS = tostring(var.projection_linger_seconds)
    PROJECTION_POLL_MS        = tostring(var.projection_poll_ms)
    # The client address for the per-address limits: the rightmost X-Forwarded-For entry
    # not added by a proxy listed here (the load balancer's own address, Google's front
    # ends). Left empty, every client would be the proxy in front of Cloud Run, and
    # RATE_LIMIT_PER_ADDRESS would cap the whole world at 300 req/s per instance.
    FORWARDED_ALLOW_IPS = join(",", concat([google_compute_global_address.edge.address], var.trusted_proxy_ranges))
  }

  app_env = merge(local.tuning, local.deployment_env, var.env_overrides)

  app_secret_env = {
    POSTGRES_DSN  = google_secret_manager_secret.app["postgres-dsn"].secret_id
    READMODEL_DSN = google_secret_manager_secret.app["postgres-dsn"].secret_id
    REDIS_URL     = google_secret_manager_secret.app["redis-url"].secret_id
  }

  public_invoker = ["allUsers"] # reachable only via the LB (ingress); the app authenticates users
  apigw_invoker  = var.enable_api_gateway ? ["serviceAccount:${google_service_account.api_gateway[0].email}"] : []

  services = {
    # Concurrency per instance, from `make bench-writes` / `make bench-reads` (README): a
    # write blocks a command thread on the store (COMMAND_THREADS = 64 per process), so
    # more in flight only queues; a hot read is ~60 us of one core, so a 1-vCPU query
    # instance serves a few thousand per second and 250 in flight keep its p95 in the
    # tens of milliseconds. Instances scale out on CPU before either bound is reached.
    command = {
      ingress  = var.enable_api_gateway ? "INGRESS_TRAFFIC_ALL" : "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
      invokers = var.enable_api_gateway ? local.apigw_invoker : local.public_invoker
      cpu_idle = true
      # COMMAND_THREADS per process, one process per vCPU (64 on the default 1 vCPU).
      concurrency      = tonumber(local.app_env.COMMAND_THREADS) * tonumber(var.scaling.command.cpu)
      timeout_seconds  = 60
      session_affinity = false
      audiences        = []
    }
    query = {
      ingress          = var.enable_api_gateway ? "INGRESS_TRAFFIC_ALL" : "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
      invokers         = var.enable_api_gateway ? local.apigw_invoker : local.public_invoker
      cpu_idle         = true
      concurrency      = 250
      timeout_seconds  = 60
      session_affinity = false
      audiences        = []
    }
    # Internal only (Cloud Tasks counts as internal); only the tasks SA may invoke it.
    # Always-on CPU: the worker also sweeps for events, and lingers after a wake-up
    # (polling the store's head) in the background.
    worker = {
      ingress          = "INGRESS_TRAFFIC_INTERNAL_ONLY"
      invokers         = ["serviceAccount:${google_service_account.tasks.email}"]
      cpu_idle         = false
      concurrency      = 10
      timeout_seconds  = 300
      session_affinity = false
      # Cloud Tasks uses the full task URL as OIDC audience unless told otherwise.
      audiences = ["${local.worker_url}/tasks/wake"]
    }
    # WebSockets: long requests (timeout caps a connection's life), sticky instances.
    gateway = {
      ingress          = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
      invokers         = local.public_invoker
      cpu_idle         = false
      concurrency      = 1000
      timeout_seconds  = 3600
      session_affinity = true
      audiences        = []
    }
  }
}

module "service" {
  source   = "./modules/cloud_run_service"
  for_each = local.services

  project_id            = var.project_id
  region                = var.region
  name                  = "${var.name}-${each.key}"
  image                 = var.image
  args                  = ["serve", each.key, "--host", "0.0.0.0", "--port", "8080"]
  service_account_email = google_service_account.runtime.email
  ingress               = each.value.ingress
  invoker_members       = each.value.invokers
  custom_audiences      = each.value.audiences
  # One process per vCPU (each on its own SO_REUSEPORT socket, valorize/serving.py); the
  # worker's lanes likewise (projection_worker/lane_processes.py).
  env = merge(local.app_env, {
    VALORIZE_PROCESSES = var.scaling[each.key].cpu
    WORKER_PROCESSES   = var.scaling[each.key].cpu
  })
  secret_env       = local.app_secret_env
  secret_files     = local.server_cas_volume
  network          = google_compute_network.vpc.id
  subnetwork       = google_compute_subnetwork.run.id
  min_instances    = var.scaling[each.key].min
  max_instances    = var.scaling[each.key].max
  cpu              = var.scaling[each.key].cpu
  memory           = var.scaling[each.key].memory
  cpu_idle         = each.value.cpu_idle
  concurrency      = each.value.concurrency
  timeout_seconds  = each.value.timeout_seconds
  session_affinity = each.value.session_affinity
  labels           = local.labels

  depends_on = [
    google_project_service.apis,
    google_secret_manager_secret_version.postgres_dsn,
    google_secret_manager_secret_version.redis_url,
    google_secret_manager_secret_version.server_cas,
    google_secret_manager_secret_iam_member.runtime,
    google_project_iam_member.runtime,
    # The schema first: no revision of a new image serves before its migration ran.
    terraform_data.migrate,
  ]
}

module "migrate" {
  source = "./modules/cloud_run_job"

  project_id            = var.project_id
  region                = var.region
  name                  = "${var.name}-migrate"
  image                 = var.image
  args                  = ["migrate"]
  service_account_email = google_service_account.runtime.email
  # What `valorize migrate` reads (the event store and the read models; no Redis).
  env = { for name in local.migrate_env : name => local.app_env[name] }
  secret_env = {
    POSTGRES_DSN  = local.app_secret_env.POSTGRES_DSN
    READMODEL_DSN = local.app_secret_env.READMODEL_DSN
  }
  secret_files = local.server_cas_volume
  network      = google_compute_network.vpc.id
  subnetwork   = google_compute_subnetwork.run.id
  labels       = local.labels

  depends_on = [
    google_project_service.apis,
    google_secret_manager_secret_version.postgres_dsn,
    google_secret_manager_secret_version.server_cas,
    google_secret_manager_secret_iam_member.runtime,
    google_project_iam_member.runtime,
  ]
}

locals {
  migrate_env = [
    "VALORIZE_LOG_LEVEL", "EVENTSTORE_SCHEMA", "READMODEL_SCHEMA",
    "POSTGRES_POOL_SIZE", "POSTGRES_POOL_MAX_OVERFLOW",
  ]
}

# Runs the migrate job on every new image, and waits for it, before any service rolls
# (module.service depends on this): `valorize migrate` is idempotent and takes an
# advisory lock, so a re-run or two deploys at once are safe. Needs gcloud, authenticated
# as the deployer, where `terraform apply` runs; set var.run_migrations = false to run
# `migrate_command` by hand instead (then before the services' apply).
resource "terraform_data" "migrate" {
  count            = var.run_migrations ? 1 : 0
  triggers_replace = [var.image, module.migrate.id]

  provisioner "local-exec" {
    command = "gcloud run jobs execute ${module.migrate.name} --region ${var.region} --project ${var.project_id} --wait"
  }
}

# ---- edge

# The load balancer's address, here rather than in its module: the services name it as a
# trusted proxy (FORWARDED_ALLOW_IPS), and the load balancer names the services.
resource "google_compute_global_address" "edge" {
  project = var.project_id
  name    = "${var.name}-ip"
}

moved {
  from = module.load_balancer.google_compute_global_address.this
  to   = google_compute_global_address.edge
}

module "api_gateway" {
  source = "./modules/api_gateway"
  count  = var.enable_api_gateway ? 1 : 0

  project_id            = var.project_id
  region                = var.api_gateway_region
  name                  = "${var.name}-api"
  query_url             = module.service["query"].uri
  command_url           = module.service["command"].uri
  service_account_email = google_service_account.api_gateway[0].email

  depends_on = [google_project_service.apis]
}

# Abuse protection (infra/README.md): /api/testing/* is refused twice unless
# var.enable_load_test_endpoint, by a URL-map rule (literal path) and by Cloud Armor
# (decoded path), and Cloud Armor throttles each client IP.
module "cloud_armor" {
  source = "./modules/cloud_armor"

  project_id                 = var.project_id
  name                       = "${var.name}-edge"
  load_test_endpoint_open    = var.enable_load_test_endpoint
  load_test_source_ranges    = var.load_test_source_ranges
  reads_per_minute           = var.armor_reads_per_minute
  writes_per_minute          = var.armor_writes_per_minute
  ws_connects_per_10_seconds = var.armor_ws_connects_per_10_seconds

  depends_on = [google_project_service.apis]
}

module "load_balancer" {
  source = "./modules/load_balancer"

  project_id            = var.project_id
  region                = var.region
  name                  = var.name
  domains               = var.domains
  ip_address            = google_compute_global_address.edge.id
  query_service         = module.service["query"].name
  command_service       = module.service["command"].name
  gateway_service       = module.service["gateway"].name
  security_policy       = module.cloud_armor.self_link
  blocked_path_prefixes = var.enable_load_test_endpoint ? [] : ["/api/testing/"]
  api_gateway = var.enable_api_gateway ? {
    gateway_id = module.api_gateway[0].gateway_id
    region     = var.api_gateway_region
  } : null

  depends_on = [google_project_service.apis]
}
