output "instance_name" {
  value = google_sql_database_instance.this.name
}

output "connection_name" {
  value = google_sql_database_instance.this.connection_name
}

output "private_ip_address" {
  value = google_sql_database_instance.this.private_ip_address
}

output "database_name" {
  value = google_sql_database.this.name
}

output "user_name" {
  value = google_sql_user.app.name
}

output "server_ca_cert" {
  description = "PEM of the CA that signed the instance's server certificate (sslrootcert)."
  value       = google_sql_database_instance.this.server_ca_cert[0].cert
}
