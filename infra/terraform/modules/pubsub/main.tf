# Pub/Sub topic for the ws_gateway fan-out backplane (WS_BACKPLANE=pubsub).

terraform {
  required_providers {
    google = { source = "hashicorp/google" }
  }
}

resource "google_pubsub_topic" "this" {
  project                    = var.project_id
  name                       = var.name
  message_retention_duration = var.message_retention_duration
  labels                     = var.labels
}

resource "google_pubsub_topic_iam_member" "publisher" {
  count = length(var.publisher_members) # members may be unknown until apply

  project = var.project_id
  topic   = google_pubsub_topic.this.name
  role    = "roles/pubsub.publisher"
  member  = var.publisher_members[count.index]
}

# Lets members attach (their own) subscriptions to this topic and consume them.
resource "google_pubsub_topic_iam_member" "subscriber" {
  count = length(var.subscriber_members)

  project = var.project_id
  topic   = google_pubsub_topic.this.name
  role    = "roles/pubsub.subscriber"
  member  = var.subscriber_members[count.index]
}
