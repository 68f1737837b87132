# Memorystore for Redis, STANDARD_HA (primary + replica, automatic failover),
# reachable only through private services access. AUTH on, and TLS (SERVER_AUTHENTICATION:
# port 6378, clients verify the server against server_ca_certs): AUTH alone would send the
# password, and every user's cached data, in clear over the VPC.

terraform {
  required_providers {
    google = { source = "hashicorp/google" }
  }
}

resource "google_redis_instance" "this" {
  project                 = var.project_id
  region                  = var.region
  name                    = var.name
  tier                    = "STANDARD_HA"
  memory_size_gb          = var.memory_size_gb
  redis_version           = var.redis_version
  authorized_network      = var.network_id
  connect_mode            = "PRIVATE_SERVICE_ACCESS"
  auth_enabled            = true
  transit_encryption_mode = "SERVER_AUTHENTICATION"
  labels                  = var.labels

  maintenance_policy {
    weekly_maintenance_window {
      day = "SUNDAY"
      start_time {
        hours   = 6
        minutes = 0
      }
    }
  }
}
