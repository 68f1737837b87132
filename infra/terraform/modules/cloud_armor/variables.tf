variable "project_id" {
  type = string
}

variable "name" {
  type = string
}

variable "load_test_endpoint_open" {
  description = "Let /api/testing/* through (staging load tests only; the app also needs LOAD_TEST_USERS=on)."
  type        = bool
  default     = false
}

variable "load_test_source_ranges" {
  description = "CIDRs of load generators, exempt from the throttles while the load-test endpoint is open."
  type        = list(string)
  default     = []
  validation {
    condition     = length(var.load_test_source_ranges) <= 10
    error_message = "A Cloud Armor rule takes at most 10 source ranges."
  }
}

# Requests per client IP per window; a window lets a burst of up to its whole count
# through. See the root variables.tf for why the defaults are what they are.

variable "reads_per_minute" {
  type = number
}

variable "writes_per_minute" {
  type = number
}

variable "ws_connects_per_10_seconds" {
  type = number
}
