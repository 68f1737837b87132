output "host" {
  value = google_redis_instance.this.host
}

output "port" {
  value = google_redis_instance.this.port
}

output "auth_string" {
  value     = google_redis_instance.this.auth_string
  sensitive = true
}

output "server_ca_cert" {
  description = "PEM of the CA that signed the instance's server certificate."
  value       = google_redis_instance.this.server_ca_certs[0].cert
}
