# Optional Google API Gateway doing the method split with an OpenAPI 2.0 spec:
# GET/HEAD -> query_service, POST/PUT/PATCH/DELETE -> command_service. It calls
# the Cloud Run services with an ID token of var.service_account_email, so they
# can keep IAM auth on. API Gateway is not offered in every region (not in
# southamerica-east1), hence its own region variable.

terraform {
  required_providers {
    google      = { source = "hashicorp/google" }
    google-beta = { source = "hashicorp/google-beta" }
  }
}

resource "google_api_gateway_api" "this" {
  provider = google-beta
  project  = var.project_id
  api_id   = var.name
}

resource "google_api_gateway_api_config" "this" {
  provider             = google-beta
  project              = var.project_id
  api                  = google_api_gateway_api.this.api_id
  api_config_id_prefix = "${var.name}-"

  openapi_documents {
    document {
      path = "openapi.yaml"
      contents = base64encode(templatefile("${path.module}/openapi.yaml.tftpl", {
        title       = var.name
        query_url   = var.query_url
        command_url = var.command_url
      }))
    }
  }

  gateway_config {
    backend_config {
      google_service_account = var.service_account_email
    }
  }

  # Configs are immutable: create the new one, repoint the gateway, then delete the old.
  lifecycle {
    create_before_destroy = true
  }
}

resource "google_api_gateway_gateway" "this" {
  provider   = google-beta
  project    = var.project_id
  region     = var.region
  gateway_id = var.name
  api_config = google_api_gateway_api_config.this.id
}

# The API's managed service must be enabled in the project before it serves traffic.
resource "google_project_service" "managed" {
  project            = var.project_id
  service            = google_api_gateway_api.this.managed_service
  disable_on_destroy = false
}
