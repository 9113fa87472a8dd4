"""The embedded servers (Postgres, Redis, the AWS endpoint) and the checks for external ones."""
