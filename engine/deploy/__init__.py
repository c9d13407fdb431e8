"""The deploy edge: the only part of the engine that talks to AWS, Terraform and PostgreSQL."""
