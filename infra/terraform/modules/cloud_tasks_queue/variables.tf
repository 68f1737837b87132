variable "project_id" {
  type = string
}

variable "region" {
  type = string
}

variable "name" {
  type    = string
  default = "projection-wakeups"
}

variable "enqueuer_members" {
  description = "IAM members allowed to create tasks in this queue."
  type        = list(string)
  default     = []
}

variable "max_dispatches_per_second" {
  type    = number
  default = 50
}

variable "max_concurrent_dispatches" {
  type    = number
  default = 20
}

variable "max_attempts" {
  type    = number
  default = 20
}

variable "max_retry_duration" {
  type    = string
  default = "3600s"
}

variable "min_backoff" {
  type    = string
  default = "0.5s"
}

variable "max_backoff" {
  type    = string
  default = "30s"
}

variable "max_doublings" {
  type    = number
  default = 5
}

variable "log_sampling_ratio" {
  type    = number
  default = 0.1
}
