output "url_map" {
  value = google_compute_url_map.https.id
}
