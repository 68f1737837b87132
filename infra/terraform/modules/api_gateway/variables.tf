variable "project_id" {
  type = string
}

variable "region" {
  description = "An API Gateway region (e.g. us-east1); southamerica-east1 is not one."
  type        = string
}

variable "name" {
  type    = string
  default = "valorize-api"
}

variable "query_url" {
  description = "Base URL of query_service (https://...run.app)."
  type        = string
}

variable "command_url" {
  description = "Base URL of command_service (https://...run.app)."
  type        = string
}

variable "service_account_email" {
  description = "Identity the gateway uses to call the backends (needs run.invoker on them)."
  type        = string
}
