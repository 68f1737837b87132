variable "project_id" {
  description = "GCP project to deploy into."
  type        = string
}

variable "region" {
  type    = string
  default = "southamerica-east1"
}

variable "name" {
  description = "Prefix for resource names."
  type        = string
  default     = "valorize"
}

variable "image" {
  description = "Container image (built from the repo Dockerfile), ideally pinned by digest."
  type        = string
}

variable "domains" {
  description = "Public domain(s) served by the load balancer (Google-managed certificate)."
  type        = list(string)
}

variable "scaling" {
  description = "Per-service instance bounds and size."
  type = map(object({
    min    = number
    max    = number
    cpu    = optional(string, "1")
    memory = optional(string, "512Mi")
  }))
  default = {
    command = { min = 1, max = 10 }
    query   = { min = 1, max = 20 }
    # Two vCPU: one instance applies each read model (the others wait on its lock), so
    # the worker scales up, not out; its lanes run in one process per vCPU.
    worker  = { min = 1, max = 3, cpu = "2", memory = "1Gi" }
    gateway = { min = 1, max = 10 }
  }
  validation {
    condition     = alltrue([for k in ["command", "query", "worker", "gateway"] : contains(keys(var.scaling), k)])
    error_message = "scaling must have entries for command, query, worker and gateway."
  }
}

variable "run_subnet_cidr" {
  description = "Subnet used by Cloud Run Direct VPC egress."
  type        = string
  default     = "10.10.0.0/24"
}

variable "db_tier" {
  type    = string
  default = "db-perf-optimized-N-2"
}

variable "db_availability_type" {
  type    = string
  default = "REGIONAL"
}

variable "db_disk_size_gb" {
  type    = number
  default = 20
}

variable "db_deletion_protection" {
  type    = bool
  default = true
}

variable "db_max_connections" {
  # Every service instance holds a pool per process (POSTGRES_POOL_SIZE + _MAX_OVERFLOW):
  # tests/deploy checks that all of them at their max instances fit, with room for the
  # migrate job and operators. Cloud SQL's own default follows the tier's memory.
  description = "PostgreSQL max_connections."
  type        = number
  default     = 1000
}

variable "db_pool_size" {
  type    = number
  default = 5
}

variable "db_pool_max_overflow" {
  type    = number
  default = 5
}

variable "redis_memory_size_gb" {
  type    = number
  default = 1
}

variable "ws_backplane" {
  description = "ws_gateway fan-out: redis or pubsub."
  type        = string
  default     = "redis"
  validation {
    condition     = contains(["redis", "pubsub"], var.ws_backplane)
    error_message = "ws_backplane must be redis or pubsub."
  }
}

variable "log_level" {
  type    = string
  default = "info"
}

variable "enable_api_gateway" {
  description = "Do the method split in Google API Gateway instead of LB route rules (see main.tf)."
  type        = bool
  default     = false
}

variable "api_gateway_region" {
  description = "API Gateway region (southamerica-east1 is not offered)."
  type        = string
  default     = "us-east1"
}

# ---- abuse protection (infra/README.md, "Abuse protection")

variable "enable_load_test_endpoint" {
  description = "Open POST /api/testing/load-test-user (mints users with valid tokens, no auth): staging load tests only. Sets LOAD_TEST_USERS=on and lifts the load balancer's and Cloud Armor's block."
  type        = bool
  default     = false
}

variable "load_test_source_ranges" {
  description = "Load generators' CIDRs (at most 10): exempt from the Cloud Armor throttles while enable_load_test_endpoint is on."
  type        = list(string)
  default     = []
}

# In-process limits, per instance (the app's defaults; shared/settings.py).

variable "rate_limit_per_token" {
  description = "RATE_LIMIT_PER_TOKEN: requests/s per bearer token."
  type        = number
  default     = 100
}

variable "rate_limit_per_address" {
  description = "RATE_LIMIT_PER_ADDRESS: requests/s per client address."
  type        = number
  default     = 300
}

variable "rate_limit_burst_seconds" {
  description = "RATE_LIMIT_BURST_SECONDS: a bucket holds this many seconds of its rate."
  type        = number
  default     = 5
}

variable "auth_cache_seconds" {
  description = "AUTH_CACHE_SECONDS: how long a checked token is trusted without a lookup."
  type        = number
  default     = 5
}

variable "ws_max_sockets_per_user" {
  description = "WS_MAX_SOCKETS_PER_USER."
  type        = number
  default     = 20
}

variable "ws_max_pending_per_address" {
  description = "WS_MAX_PENDING_PER_ADDRESS: sockets not yet authenticated, per client address."
  type        = number
  default     = 50
}

variable "ws_hello_timeout_seconds" {
  description = "WS_HELLO_TIMEOUT_SECONDS: a socket that has not authenticated by then is closed."
  type        = number
  default     = 5
}

# Cloud Armor throttles, per client IP per minute, across all instances.

variable "armor_reads_per_minute" {
  # 300/s, the app's RATE_LIMIT_PER_ADDRESS: an address within the app's own per-instance
  # limit (many users behind one NAT included) never meets this, while a flood from one
  # address stops at the edge instead of at each of up to 20 query instances.
  description = "GET/HEAD requests per client IP per minute before 429."
  type        = number
  default     = 18000
  validation {
    condition     = var.armor_reads_per_minute >= 1
    error_message = "armor_reads_per_minute must be at least 1."
  }
}

variable "armor_writes_per_minute" {
  # 100/s, the app's RATE_LIMIT_PER_TOKEN: one address may write as fast as one user may.
  # Writes are the costly path (the event store's append lock): one command instance took
  # ~600 POST/s in make bench-writes, so one address gets at most a sixth of it.
  description = "Non-GET/HEAD requests per client IP per minute before 429."
  type        = number
  default     = 6000
  validation {
    condition     = var.armor_writes_per_minute >= 1
    error_message = "armor_writes_per_minute must be at least 1."
  }
}

variable "armor_ws_connects_per_10_seconds" {
  # 5/s, and bursts of at most 50: a browser keeps one socket and reconnects with backoff,
  # so this is a NAT's worth of users reconnecting after a gateway deploy. With the app's
  # WS_HELLO_TIMEOUT_SECONDS (5 s), one address then holds at most ~50 unauthenticated
  # sockets across the whole fleet: one instance's WS_MAX_PENDING_PER_ADDRESS.
  description = "WebSocket handshakes (/ws*) per client IP per 10 seconds before 429."
  type        = number
  default     = 50
  validation {
    condition     = var.armor_ws_connects_per_10_seconds >= 1
    error_message = "armor_ws_connects_per_10_seconds must be at least 1."
  }
}

variable "projection_linger_seconds" {
  description = "After a wake-up task, how long the worker keeps polling the event store's head (seconds)."
  type        = number
  default     = 2
}

variable "projection_poll_ms" {
  description = "How often the lingering worker polls the event store's head (milliseconds)."
  type        = number
  default     = 2
}

variable "trusted_proxy_ranges" {
  # Google's front ends (the load balancer's proxies and health checkers) and the
  # link-local address Cloud Run's own front end connects from. Besides these, the load
  # balancer's address is trusted (main.tf).
  description = "Proxies whose X-Forwarded-For entries the app skips to find the client address (FORWARDED_ALLOW_IPS)."
  type        = list(string)
  default     = ["35.191.0.0/16", "130.211.0.0/22", "169.254.0.0/16"]
}

variable "env_overrides" {
  description = "Environment variables to set on every service over main.tf's (e.g. { COMMAND_THREADS = \"32\" })."
  type        = map(string)
  default     = {}
}

variable "run_migrations" {
  description = "Run the migrate job (gcloud, waiting for it) on every new image before the services roll."
  type        = bool
  default     = true
}
