"""Keyset pagination with opaque cursors: a page costs the same at row 10 and at row 100,000,
and rows inserted between two pages are neither skipped nor repeated."""

import base64
import json

from .errors import BadRequest

MAX_LIMIT = 100
DEFAULT_LIMIT = 20


def encode_cursor(position: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, required: set[str]) -> dict | None:
    if cursor is None:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("cursor is not one this API returned", details={"field": "cursor"}) from None
    if not isinstance(position, dict) or set(position) != required:
        raise BadRequest("cursor is not one this API returned", details={"field": "cursor"})
    return position


def page(rows: list, limit: int, position_of) -> tuple[list, str | None]:
    """`rows` fetched with LIMIT limit + 1: the page, and the cursor of the next one (or None)."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(position_of(rows[-1]))
