variable "project_id" {
  description = "GCP project to deploy into."
  type        = string
}

variable "region" {
  type    = string
  default = "southamerica-east1"
}

variable "name" {
  description = "Prefix for resource names."
  type        = string
  default     = "valorize"
}

variable "image" {
  description = "Container image (built from the repo Dockerfile), ideally pinned by digest."
  type        = string
}

variable "domains" {
  description = "Public domain(s) served by the load balancer (Google-managed certificate)."
  type        = list(string)
}

variable "scaling" {
  description = "Per-service instance bounds and size."
  type = map(object({
    min    = number
    max    = number
    cpu    = optional(string, "1")
    memory = optional(string, "512Mi")
  }))
  default = {
    command = { min = 1, max = 10 }
    query   = { min = 1, max = 20 }
    worker  = { min = 1, max = 3 }
    gateway = { min = 1, max = 10 }
  }
  validation {
    condition     = alltrue([for k in ["command", "query", "worker", "gateway"] : contains(keys(var.scaling), k)])
    error_message = "scaling must have entries for command, query, worker and gateway."
  }
}

variable "run_subnet_cidr" {
  description = "Subnet used by Cloud Run Direct VPC egress."
  type        = string
  default     = "10.10.0.0/24"
}

variable "db_tier" {
  type    = string
  default = "db-perf-optimized-N-2"
}

variable "db_availability_type" {
  type    = string
  default = "REGIONAL"
}

variable "db_disk_size_gb" {
  type    = number
  default = 20
}

variable "db_deletion_protection" {
  type    = bool
  default = true
}

variable "db_pool_size" {
  type    = number
  default = 5
}

variable "db_pool_max_overflow" {
  type    = number
  default = 5
}

variable "redis_memory_size_gb" {
  type    = number
  default = 1
}

variable "ws_backplane" {
  description = "ws_gateway fan-out: redis or pubsub."
  type        = string
  default     = "redis"
  validation {
    condition     = contains(["redis", "pubsub"], var.ws_backplane)
    error_message = "ws_backplane must be redis or pubsub."
  }
}

variable "log_level" {
  type    = string
  default = "info"
}

variable "enable_api_gateway" {
  description = "Do the method split in Google API Gateway instead of LB route rules (see main.tf)."
  type        = bool
  default     = false
}

variable "api_gateway_region" {
  description = "API Gateway region (southamerica-east1 is not offered)."
  type        = string
  default     = "us-east1"
}
