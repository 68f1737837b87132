output "self_link" {
  description = "For google_compute_backend_service.security_policy."
  value       = google_compute_security_policy.this.self_link
}

output "name" {
  value = google_compute_security_policy.this.name
}
