# Generated credentials, stored in Secret Manager and injected into Cloud Run as env
# vars (value_source.secret_key_ref). Nothing is hard-coded; the values do live in the
# Terraform state, so the state bucket must be access-restricted.

resource "random_password" "db" {
  length  = 40
  special = false # safe inside a libpq URL without escaping
}

resource "google_secret_manager_secret" "app" {
  for_each = toset(["db-password", "postgres-dsn", "redis-url"])

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
  secret      = google_secret_manager_secret.app["postgres-dsn"].id
  secret_data = "postgresql://${module.postgres.user_name}:${random_password.db.result}@${module.postgres.private_ip_address}:5432/${module.postgres.database_name}?sslmode=require"
}

resource "google_secret_manager_secret_version" "redis_url" {
  secret      = google_secret_manager_secret.app["redis-url"].id
  secret_data = "redis://:${module.redis.auth_string}@${module.redis.host}:${module.redis.port}/0"
}

# The runtime reads the connection strings only (db-password is for operators).
resource "google_secret_manager_secret_iam_member" "runtime" {
  for_each = toset(["postgres-dsn", "redis-url"])

  project   = var.project_id
  secret_id = google_secret_manager_secret.app[each.value].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}
