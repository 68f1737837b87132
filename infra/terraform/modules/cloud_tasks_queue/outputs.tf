output "name" {
  value = google_cloud_tasks_queue.this.name
}

output "id" {
  value = google_cloud_tasks_queue.this.id
}
