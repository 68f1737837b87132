variable "project_id" {
  type = string
}

variable "name" {
  type    = string
  default = "valorize-events"
}

variable "message_retention_duration" {
  type    = string
  default = "600s"
}

variable "publisher_members" {
  type    = list(string)
  default = []
}

variable "subscriber_members" {
  type    = list(string)
  default = []
}

variable "labels" {
  type    = map(string)
  default = {}
}
