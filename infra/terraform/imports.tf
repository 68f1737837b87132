# ---- Statement imports: the object store of uploaded statements (IMPORT_STORE_URL).
# Every command-service instance writes uploads here and the one a Cloud Tasks task
# reaches reads them back: no instance depends on another's disk.

resource "google_storage_bucket" "imports" {
  # checkov:skip=CKV_GCP_78:objects are written once under a content-derived key and deleted by age; versions would only keep deleted statements (personal data) longer
  # checkov:skip=CKV_GCP_62:data access is audited by Cloud Audit Logs (Data Access logs on storage.googleapis.com); a second bucket of usage logs adds nothing the event store does not hold
  project                     = var.project_id
  name                        = "${var.project_id}-${var.name}-imports"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = local.labels

  versioning {
    enabled = false # a key is written once, with content fixed by its import id
  }

  # Processed uploads are kept a while for support, then deleted (the events hold
  # every row that was imported).
  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_iam_member" "imports_runtime" {
  bucket = google_storage_bucket.imports.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.runtime.email}"
}
