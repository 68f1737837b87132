# Least-privilege identities.
#   runtime: every Cloud Run service + the migrate job (DB, Redis secrets, enqueue, Pub/Sub)
#   tasks:   identity in the OIDC token Cloud Tasks sends; may invoke the worker only
#   api-gw:  (optional) API Gateway's identity towards command/query

resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = "${var.name}-run"
  display_name = "Valorize Cloud Run runtime"
}

resource "google_service_account" "tasks" {
  project      = var.project_id
  account_id   = "${var.name}-tasks"
  display_name = "Valorize Cloud Tasks invoker (OIDC)"
}

resource "google_service_account" "api_gateway" {
  count        = var.enable_api_gateway ? 1 : 0
  project      = var.project_id
  account_id   = "${var.name}-apigw"
  display_name = "Valorize API Gateway backend caller"
}

# Project-level only where the role cannot be scoped lower.
resource "google_project_iam_member" "runtime" {
  for_each = toset(["roles/cloudsql.client"])
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.runtime.email}"
}

# Creating a task whose OIDC token is minted for the tasks SA requires actAs on it.
resource "google_service_account_iam_member" "runtime_acts_as_tasks" {
  service_account_id = google_service_account.tasks.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.runtime.email}"
}

# Other grants live next to their resources:
#   secretAccessor on the app secrets (secrets.tf), cloudtasks.enqueuer on the queue,
#   pubsub publisher/subscriber on the topic, run.invoker per service (module inputs).
