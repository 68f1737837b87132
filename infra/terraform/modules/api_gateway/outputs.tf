output "gateway_id" {
  value = google_api_gateway_gateway.this.gateway_id
}

output "default_hostname" {
  value = google_api_gateway_gateway.this.default_hostname
}
