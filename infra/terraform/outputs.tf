output "load_balancer_ip" {
  description = "Point the DNS A record(s) of var.domains here."
  value       = google_compute_global_address.edge.address
}

output "service_urls" {
  value = { for k, s in module.service : k => s.uri }
}

output "projection_worker_url" {
  value = local.app_env.PROJECTION_WORKER_URL
}

output "migrate_command" {
  description = "Run after each image change, before the services roll."
  value       = "gcloud run jobs execute ${module.migrate.name} --region ${var.region} --project ${var.project_id} --wait"
}

output "cloud_sql_connection_name" {
  value = module.postgres.connection_name
}

output "tasks_queue" {
  value = module.tasks_queue.id
}

output "pubsub_topic" {
  value = module.pubsub.id
}

output "runtime_service_account" {
  value = google_service_account.runtime.email
}

output "tasks_service_account" {
  value = google_service_account.tasks.email
}

output "api_gateway_hostname" {
  value = var.enable_api_gateway ? module.api_gateway[0].default_hostname : null
}

output "security_policy" {
  description = "Cloud Armor policy on the public backend services."
  value       = module.cloud_armor.name
}
