output "name" {
  value = google_pubsub_topic.this.name
}

output "id" {
  value = google_pubsub_topic.this.id
}
