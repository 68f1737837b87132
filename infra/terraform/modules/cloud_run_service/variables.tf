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
  description = "Arguments after the image ENTRYPOINT (valorize), e.g. [\"serve\", \"query\", ...]."
  type        = list(string)
}

variable "service_account_email" {
  type = string
}

variable "ingress" {
  description = "INGRESS_TRAFFIC_ALL | INGRESS_TRAFFIC_INTERNAL_ONLY | INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
  type        = string
  default     = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
}

variable "invoker_members" {
  description = "IAM members granted roles/run.invoker on this service."
  type        = list(string)
  default     = []
}

variable "custom_audiences" {
  description = "Extra OIDC audiences accepted besides the service URL."
  type        = list(string)
  default     = []
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

variable "min_instances" {
  type    = number
  default = 0
}

variable "max_instances" {
  type    = number
  default = 10
}

variable "cpu" {
  type    = string
  default = "1"
}

variable "memory" {
  type    = string
  default = "512Mi"
}

variable "cpu_idle" {
  description = "Throttle CPU outside requests (false = always-on CPU, for background work)."
  type        = bool
  default     = true
}

variable "concurrency" {
  type    = number
  default = 80
}

variable "timeout_seconds" {
  type    = number
  default = 60
}

variable "session_affinity" {
  type    = bool
  default = false
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
