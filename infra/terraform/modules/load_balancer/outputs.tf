output "ip_address" {
  value = google_compute_global_address.this.address
}

output "url_map" {
  value = google_compute_url_map.https.id
}
