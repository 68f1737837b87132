# Cloud Tasks queue for projection wake-ups. A task carries no payload that
# matters: it only tells the worker "there are new events". Dropping, merging
# (named-task dedupe) or rate-limiting wake-ups is therefore safe; retries
# keep a wake-up alive until the worker answers 2xx.

terraform {
  required_providers {
    google = { source = "hashicorp/google" }
  }
}

resource "google_cloud_tasks_queue" "this" {
  project  = var.project_id
  location = var.region
  name     = var.name

  rate_limits {
    max_dispatches_per_second = var.max_dispatches_per_second
    max_concurrent_dispatches = var.max_concurrent_dispatches
  }

  retry_config {
    max_attempts       = var.max_attempts
    max_retry_duration = var.max_retry_duration
    min_backoff        = var.min_backoff
    max_backoff        = var.max_backoff
    max_doublings      = var.max_doublings
  }

  stackdriver_logging_config {
    sampling_ratio = var.log_sampling_ratio
  }
}

resource "google_cloud_tasks_queue_iam_member" "enqueuer" {
  count = length(var.enqueuer_members) # members may be unknown until apply

  project  = var.project_id
  location = var.region
  name     = google_cloud_tasks_queue.this.name
  role     = "roles/cloudtasks.enqueuer"
  member   = var.enqueuer_members[count.index]
}
