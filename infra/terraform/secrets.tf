# Generated credentials, stored in Secret Manager and injected into Cloud Run as env
# vars (value_source.secret_key_ref). Nothing is hard-coded; the values do live in the
# Terraform state, so the state bucket must be access-restricted.

resource "random_password" "db" {
  length  = 40
  special = false # safe inside a libpq URL without escaping
}

resource "google_secret_manager_secret" "app" {
  for_each = toset(["db-password", "postgres-dsn", "redis-url", "server-cas"])

  project   = var.project_id
  secret_id = "${var.name}-${each.value}"
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "db_password" {
  secret      = google_secret_manager_secret.app["db-password"].id
  secret_data = random_password.db.result
}

resource "google_secret_manager_secret_version" "postgres_dsn" {
  secret = google_secret_manager_secret.app["postgres-dsn"].id
  # verify-ca, not require: require encrypts but accepts any server certificate. Not
  # verify-full: Cloud SQL's server certificate does not name the private IP.
  secret_data = "postgresql://${module.postgres.user_name}:${random_password.db.result}@${module.postgres.private_ip_address}:5432/${module.postgres.database_name}?sslmode=verify-ca&sslrootcert=${local.server_cas_file}"
}

resource "google_secret_manager_secret_version" "redis_url" {
  secret = google_secret_manager_secret.app["redis-url"].id
  # TLS (Memorystore's in-transit encryption), the server checked against its CA. Its
  # certificate does not name the instance's IP either, hence no hostname check.
  secret_data = "rediss://:${module.redis.auth_string}@${module.redis.host}:${module.redis.port}/0?ssl_ca_certs=${local.server_cas_file}&ssl_check_hostname=false"
}

# The CAs of Cloud SQL's and Memorystore's server certificates, one PEM bundle, mounted
# as a file in every container (libpq's sslrootcert and redis' ssl_ca_certs both take one).
resource "google_secret_manager_secret_version" "server_cas" {
  secret      = google_secret_manager_secret.app["server-cas"].id
  secret_data = "${module.postgres.server_ca_cert}\n${module.redis.server_ca_cert}"
}

locals {
  server_cas_dir  = "/etc/valorize/tls"
  server_cas_file = "${local.server_cas_dir}/server-cas.pem"
  server_cas_volume = {
    server-cas = {
      secret     = google_secret_manager_secret.app["server-cas"].secret_id
      mount_path = local.server_cas_dir
      file       = "server-cas.pem"
    }
  }
}

# The runtime reads the connection strings and the CAs only (db-password is for operators).
resource "google_secret_manager_secret_iam_member" "runtime" {
  for_each = toset(["postgres-dsn", "redis-url", "server-cas"])

  project   = var.project_id
  secret_id = google_secret_manager_secret.app[each.value].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}
