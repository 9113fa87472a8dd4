"""Settings of the recipe functions, from their environment (the template declares them)."""

import os


def idempotency_ttl_seconds() -> int:
    return int(os.environ.get("IDEMPOTENCY_TTL_SECONDS", "86400"))
