variable "project_id" {
  type = string
}

variable "region" {
  type = string
}

variable "name" {
  type = string
}

variable "network_id" {
  description = "VPC with a private services access (service networking) connection."
  type        = string
}

variable "tier" {
  type    = string
  default = "db-perf-optimized-N-2"
}

variable "availability_type" {
  type    = string
  default = "REGIONAL"
}

variable "disk_size_gb" {
  type    = number
  default = 20
}

variable "database_name" {
  type    = string
  default = "valorize"
}

variable "user_name" {
  type    = string
  default = "valorize"
}

variable "password" {
  type      = string
  sensitive = true
}

variable "deletion_protection" {
  type    = bool
  default = true
}

variable "labels" {
  type    = map(string)
  default = {}
}

variable "database_flags" {
  description = "PostgreSQL flags (name => value)."
  type        = map(string)
  default     = {}
}
