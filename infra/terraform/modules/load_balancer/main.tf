# Global external Application Load Balancer (EXTERNAL_MANAGED) in front of Cloud Run.
#
#   /ws*                     -> ws_gateway
#   GET|HEAD anything else   -> query_service     (route rule on the ":method" pseudo-header)
#   any other method         -> command_service
#
# With var.api_gateway set, everything except /ws* goes to that API Gateway instead
# (its OpenAPI spec does the method split) and query/command get no NEG here.
#
# var.blocked_path_prefixes (e.g. /api/testing/) are answered 404 by the load balancer
# itself, and var.security_policy (Cloud Armor) is attached to every backend service.

terraform {
  required_providers {
    google      = { source = "hashicorp/google" }
    google-beta = { source = "hashicorp/google-beta" }
  }
}

locals {
  use_api_gateway = var.api_gateway != null
  run_backends = local.use_api_gateway ? { gateway = var.gateway_service } : {
    query   = var.query_service
    command = var.command_service
    gateway = var.gateway_service
  }
}

resource "google_compute_region_network_endpoint_group" "run" {
  for_each = local.run_backends

  project               = var.project_id
  region                = var.region
  name                  = "${var.name}-${each.key}-neg"
  network_endpoint_type = "SERVERLESS"

  cloud_run {
    service = each.value
  }
}

# Serverless NEG for API Gateway is a Preview feature: google-beta only.
resource "google_compute_region_network_endpoint_group" "api_gateway" {
  count    = local.use_api_gateway ? 1 : 0
  provider = google-beta

  project               = var.project_id
  region                = var.api_gateway.region
  name                  = "${var.name}-apigw-neg"
  network_endpoint_type = "SERVERLESS"

  serverless_deployment {
    platform = "apigateway.googleapis.com"
    resource = var.api_gateway.gateway_id
  }
}

locals {
  negs = merge(
    { for k, neg in google_compute_region_network_endpoint_group.run : k => neg.id },
    local.use_api_gateway ? { api = google_compute_region_network_endpoint_group.api_gateway[0].id } : {},
  )
}

resource "google_compute_backend_service" "this" {
  for_each = local.negs

  project               = var.project_id
  name                  = "${var.name}-${each.key}"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  protocol              = "HTTPS"
  security_policy       = var.security_policy

  backend {
    group = each.value
  }

  log_config {
    enable      = true
    sample_rate = var.log_sample_rate
  }
}

locals {
  bs          = google_compute_backend_service.this
  api_default = local.use_api_gateway ? local.bs["api"].id : local.bs["command"].id
}

resource "google_compute_url_map" "https" {
  project         = var.project_id
  name            = "${var.name}-https"
  default_service = local.api_default

  host_rule {
    hosts        = ["*"]
    path_matcher = "main"
  }

  path_matcher {
    name            = "main"
    default_service = local.api_default

    # Paths the load balancer answers itself with a 404 (an abort on every request, so no
    # backend sees them). Literal prefixes: percent-encoded variants are the Cloud Armor
    # policy's to catch, and the app's own setting (LOAD_TEST_USERS) is the authority.
    dynamic "route_rules" {
      for_each = length(var.blocked_path_prefixes) > 0 ? [1] : []
      content {
        priority = 0
        service  = local.api_default
        dynamic "match_rules" {
          for_each = var.blocked_path_prefixes
          content {
            prefix_match = match_rules.value
          }
        }
        route_action {
          fault_injection_policy {
            abort {
              http_status = 404
              percentage  = 100
            }
          }
        }
      }
    }

    route_rules {
      priority = 1
      service  = local.bs["gateway"].id
      match_rules {
        prefix_match = "/ws"
      }
    }

    # URL maps have no method field, but header matches see the ":method" pseudo-header.
    dynamic "route_rules" {
      for_each = local.use_api_gateway ? [] : [1]
      content {
        priority = 2
        service  = local.bs["query"].id
        dynamic "match_rules" {
          for_each = ["GET", "HEAD"]
          content {
            prefix_match = "/"
            header_matches {
              header_name = ":method"
              exact_match = match_rules.value
            }
          }
        }
      }
    }
  }
}

resource "google_compute_url_map" "http_redirect" {
  project = var.project_id
  name    = "${var.name}-http-redirect"

  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }
}

resource "google_compute_managed_ssl_certificate" "this" {
  project = var.project_id
  # Certificates are immutable: a new name per domain set, swapped in before the old one goes.
  name = "${var.name}-cert-${substr(md5(join(",", sort(var.domains))), 0, 8)}"

  managed {
    domains = var.domains
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_compute_target_https_proxy" "this" {
  project          = var.project_id
  name             = "${var.name}-https"
  url_map          = google_compute_url_map.https.id
  ssl_certificates = [google_compute_managed_ssl_certificate.this.id]
}

resource "google_compute_target_http_proxy" "redirect" {
  project = var.project_id
  name    = "${var.name}-http"
  url_map = google_compute_url_map.http_redirect.id
}

resource "google_compute_global_forwarding_rule" "https" {
  project               = var.project_id
  name                  = "${var.name}-https"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_protocol           = "TCP"
  ip_address            = var.ip_address
  port_range            = "443"
  target                = google_compute_target_https_proxy.this.id
}

resource "google_compute_global_forwarding_rule" "http" {
  project               = var.project_id
  name                  = "${var.name}-http"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_protocol           = "TCP"
  ip_address            = var.ip_address
  port_range            = "80"
  target                = google_compute_target_http_proxy.redirect.id
}
