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

# A gateway instance makes a subscription of its own when it starts and deletes it when it
# stops (each needs every batch; instances come and go). Making one takes
# pubsub.subscriptions.create on the project, which the predefined roles grant only with
# much more (roles/pubsub.editor also edits and deletes topics): a role with just what
# the gateways do. The topic's subscriber role (above) lets them attach to this topic.
resource "google_project_iam_custom_role" "subscriptions" {
  count = length(var.subscriber_members) > 0 ? 1 : 0

  project     = var.project_id
  role_id     = "${replace(var.name, "-", "_")}_subscriptions"
  title       = "Own subscriptions to ${var.name}"
  permissions = ["pubsub.subscriptions.create", "pubsub.subscriptions.consume", "pubsub.subscriptions.delete"]
}

resource "google_project_iam_member" "subscriptions" {
  count = length(var.subscriber_members)

  project = var.project_id
  role    = google_project_iam_custom_role.subscriptions[0].id
  member  = var.subscriber_members[count.index]
}
