"""The project's own exception types. Each carries the HTTP status and code it maps to; the
mapping to a response happens in one place, `cloudpatterns.http.api_handler`."""


class AppError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: object = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}  # e.g. Retry-After on a 429


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class ValidationFailed(BadRequest):
    """The request did not match its schema; `details` lists every field error."""

    code = "validation_failed"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class PreconditionFailed(AppError):
    status = 412
    code = "precondition_failed"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"


class Unprocessable(AppError):
    status = 422
    code = "unprocessable"


class Throttled(AppError):
    status = 429
    code = "throttled"


class DependencyUnavailable(AppError):
    """A service the function needs (database, cache, broker) cannot be reached: a fault of
    ours that passes, so the client is told when to try again (RFC 9110 section 10.2.3)."""

    status = 503
    code = "dependency_unavailable"
    retry_after_s = 1

    def __init__(self, message: str, *, details: object = None, headers: dict[str, str] | None = None):
        super().__init__(message, details=details, headers={"Retry-After": str(self.retry_after_s), **(headers or {})})
