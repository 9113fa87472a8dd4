"""Idempotency keys for writes: the same key with the same request gets the first answer back
and changes nothing; the same key with another request is refused.

The key is claimed inside the write's own transaction, so a write that fails releases it,
and a concurrent request with the same key waits for the first one to finish.
"""

import hashlib
import json

from .errors import BadRequest, Unprocessable
from .http import Response, dumps

MAX_KEY_LENGTH = 200


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()


def claim(cursor, principal: str, key: str, fingerprint: str, ttl_seconds: int) -> Response | None:
    """Claim the key for this request, or return the stored answer of the first one."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters", details={"header": "Idempotency-Key"})
    # An expired key is forgotten first, so it can be claimed again.
    cursor.execute("DELETE FROM idempotency_keys WHERE principal = %s AND key = %s AND expires_at < now()",
                   (principal, key))
    cursor.execute(
        """INSERT INTO idempotency_keys (principal, key, request_hash, expires_at)
           VALUES (%s, %s, %s, now() + make_interval(secs => %s))
           ON CONFLICT (principal, key) DO NOTHING RETURNING key""",
        (principal, key, fingerprint, ttl_seconds))
    if cursor.fetchone() is not None:
        return None
    cursor.execute("SELECT request_hash, status_code, response FROM idempotency_keys WHERE principal = %s AND key = %s",
                   (principal, key))
    stored = cursor.fetchone()
    if stored["request_hash"] != fingerprint:
        raise Unprocessable("this Idempotency-Key was used with a different request",
                            details={"header": "Idempotency-Key"})
    response = stored["response"]
    return Response(stored["status_code"], response["body"], {**response["headers"], "Idempotent-Replayed": "true"})


def remember(cursor, principal: str, key: str, response: Response) -> None:
    stored = {"body": json.loads(dumps(response.body)), "headers": response.headers}
    cursor.execute("UPDATE idempotency_keys SET status_code = %s, response = %s WHERE principal = %s AND key = %s",
                   (response.status, json.dumps(stored), principal, key))


def idempotent(request, cursor, ttl_seconds: int, write) -> Response:
    """Run `write()` (which returns the Response) at most once per Idempotency-Key; without
    the header it simply runs."""
    key = request.idempotency_key
    if key is None:
        return write()
    fingerprint = request_fingerprint(request.method, request.path, request.raw_body)
    replay = claim(cursor, request.principal, key, fingerprint, ttl_seconds)
    if replay is not None:
        return replay
    response = write()
    remember(cursor, request.principal, key, response)
    return response
