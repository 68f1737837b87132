variable "project_id" {
  type = string
}

variable "region" {
  type = string
}

variable "name" {
  type = string
}

variable "image" {
  type = string
}

variable "args" {
  type = list(string)
}

variable "service_account_email" {
  type = string
}

variable "env" {
  type    = map(string)
  default = {}
}

variable "secret_env" {
  description = "Env var name => Secret Manager secret id (latest version)."
  type        = map(string)
  default     = {}
}

variable "network" {
  type = string
}

variable "subnetwork" {
  type = string
}

variable "timeout_seconds" {
  type    = number
  default = 600
}

variable "max_retries" {
  type    = number
  default = 1
}

variable "deletion_protection" {
  type    = bool
  default = false
}

variable "labels" {
  type    = map(string)
  default = {}
}

variable "secret_files" {
  description = "Secrets mounted as files: volume name => { secret id, directory, file name } (latest version)."
  type = map(object({
    secret     = string
    mount_path = string
    file       = string
  }))
  default = {}
}
