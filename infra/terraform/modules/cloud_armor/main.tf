# Cloud Armor policy for the public backend services (query, command, gateway; or the API
# Gateway and gateway). Evaluated in priority order, first match wins:
#
#   100   deny(404)  /api/testing/* (mints users with valid tokens, no auth) unless
#                    var.load_test_endpoint_open
#   200   allow      var.load_test_source_ranges, only while the endpoint is open, so load
#                    generators skip the throttles below
#   1000  throttle   WebSocket handshakes (/ws*)         per client IP, 429 beyond
#   1100  throttle   writes (any method but GET/HEAD)    per client IP, 429 beyond
#   1200  throttle   reads (GET/HEAD)                    per client IP, 429 beyond
#   max   allow      everything else
#
# Why here as well as in the app: the app's limits (RATE_LIMIT_PER_*, WS_MAX_*) hold per
# instance, so N instances allow N times the rate; Cloud Armor counts per client IP across
# the fleet and refuses a flood before it reaches (and scales up) Cloud Run. It keys on
# the connecting address, which a client cannot forge with X-Forwarded-For. It applies a
# threshold per backend service; since each throttle matches requests that go to one
# backend (gateway, command, query), each threshold is in effect a per-service one.

terraform {
  required_providers {
    google = { source = "hashicorp/google" }
  }
}

locals {
  throttles = {
    ws = {
      priority     = 1000
      count        = var.ws_connects_per_10_seconds
      interval_sec = 10 # a short window: its count is also the largest burst let through
      expression   = "request.path.startsWith('/ws')"
      description  = "WebSocket handshakes per client IP"
    }
    writes = {
      priority     = 1100
      count        = var.writes_per_minute
      interval_sec = 60
      expression   = "request.method != 'GET' && request.method != 'HEAD'"
      description  = "writes per client IP"
    }
    reads = {
      priority     = 1200
      count        = var.reads_per_minute
      interval_sec = 60
      expression   = "request.method == 'GET' || request.method == 'HEAD'"
      description  = "reads per client IP"
    }
  }
}

resource "google_compute_security_policy" "this" {
  project     = var.project_id
  name        = var.name
  description = "Valorize edge: load-test endpoint closed, per-IP throttles"
  type        = "CLOUD_ARMOR"

  dynamic "rule" {
    for_each = var.load_test_endpoint_open ? [] : [1]
    content {
      priority    = 100
      action      = "deny(404)"
      description = "load-test endpoint closed (enable_load_test_endpoint)"
      match {
        expr {
          # Decoded and lower-cased: the app routes the percent-decoded path, so
          # /api/%74esting/... must not slip past a literal match.
          expression = "request.path.lower().urlDecode().matches('^/+api/+testing(/|$)')"
        }
      }
    }
  }

  dynamic "rule" {
    for_each = var.load_test_endpoint_open && length(var.load_test_source_ranges) > 0 ? [1] : []
    content {
      priority    = 200
      action      = "allow"
      description = "load generators skip the throttles"
      match {
        versioned_expr = "SRC_IPS_V1"
        config {
          src_ip_ranges = var.load_test_source_ranges
        }
      }
    }
  }

  dynamic "rule" {
    for_each = local.throttles
    content {
      priority    = rule.value.priority
      action      = "throttle"
      description = rule.value.description
      match {
        expr {
          expression = rule.value.expression
        }
      }
      rate_limit_options {
        conform_action = "allow"
        exceed_action  = "deny(429)"
        enforce_on_key = "IP"
        rate_limit_threshold {
          count        = rule.value.count
          interval_sec = rule.value.interval_sec
        }
      }
    }
  }

  rule {
    priority    = 2147483647
    action      = "allow"
    description = "default"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }
}
