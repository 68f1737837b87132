variable "project_id" {
  type = string
}

variable "region" {
  description = "Region of the Cloud Run services."
  type        = string
}

variable "name" {
  type    = string
  default = "valorize"
}

variable "ip_address" {
  description = "The global address (id) the forwarding rules listen on."
  type        = string
}

variable "domains" {
  description = "Domains for the Google-managed certificate (DNS A records must point at the LB IP)."
  type        = list(string)
}

variable "query_service" {
  description = "Cloud Run service name of query_service."
  type        = string
}

variable "command_service" {
  description = "Cloud Run service name of command_service."
  type        = string
}

variable "gateway_service" {
  description = "Cloud Run service name of ws_gateway."
  type        = string
}

variable "api_gateway" {
  description = "Optional API Gateway to send non-/ws traffic to instead of method route rules."
  type = object({
    gateway_id = string
    region     = string
  })
  default = null
}

variable "blocked_path_prefixes" {
  description = "Path prefixes answered 404 by the load balancer, never forwarded."
  type        = list(string)
  default     = []
}

variable "security_policy" {
  description = "Optional Cloud Armor policy (self link) for every backend service."
  type        = string
  default     = null
}

variable "log_sample_rate" {
  type    = number
  default = 1.0
}
