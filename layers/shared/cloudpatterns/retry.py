"""Retry for transient faults only, with exponential backoff and jitter, never past the
invocation's remaining time. A validation error, a 4xx or any other permanent error is
raised at once."""

import logging
import time

import tenacity

log = logging.getLogger(__name__)

# SQLSTATEs worth another try (PostgreSQL's appendix A): serialization failure and deadlock; a
# lock or statement timeout; the server shutting down, crashed or starting up; out of disk,
# memory or connections; an I/O error; and the whole class 08, connection exceptions.
TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03", "53100", "53200", "53300",
                       "58030"}
TRANSIENT_SQLSTATE_CLASSES = {"08"}
THROTTLING_CODES = {"Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
                    "TooManyRequestsException", "ProvisionedThroughputExceededException", "SlowDown"}
# Never start an attempt with less than this left of the invocation.
SAFETY_MARGIN_MS = 200


def is_transient(error: BaseException) -> bool:
    """True for faults that may pass: lost or refused connections, timeouts, throttling,
    serialization failures and deadlocks, 5xx answers."""
    try:
        import psycopg2

        if isinstance(error, psycopg2.Error):
            code = getattr(error, "pgcode", None)
            if code in TRANSIENT_SQLSTATES or (code or "")[:2] in TRANSIENT_SQLSTATE_CLASSES:
                return True
            # No SQLSTATE: the connection itself failed (refused, dropped, closed).
            return isinstance(error, (psycopg2.OperationalError, psycopg2.InterfaceError)) and not error.pgcode
    except ImportError:  # pragma: no cover - every function here has psycopg2
        pass
    try:
        import redis

        if isinstance(error, (redis.ConnectionError, redis.TimeoutError)):
            return True
    except ImportError:  # pragma: no cover
        pass
    try:
        from botocore.exceptions import (ClientError, ConnectionClosedError, ConnectTimeoutError,
                                         EndpointConnectionError, ReadTimeoutError)

        if isinstance(error, (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError, ReadTimeoutError)):
            return True
        if isinstance(error, ClientError):
            code = error.response.get("Error", {}).get("Code")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            return code in THROTTLING_CODES or status >= 500
    except ImportError:  # pragma: no cover
        pass
    return False


def _within_remaining_time(context):
    """Stop when the next sleep plus the margin would not fit in what is left."""
    def stop(retry_state: tenacity.RetryCallState) -> bool:
        if context is None or not hasattr(context, "get_remaining_time_in_millis"):
            return False
        left_ms = context.get_remaining_time_in_millis()
        return retry_state.upcoming_sleep * 1000 + SAFETY_MARGIN_MS > left_ms

    return stop


def _within(seconds: float | None):
    """Stop when the next attempt would start more than `seconds` after the first."""
    def stop(retry_state: tenacity.RetryCallState) -> bool:
        return seconds is not None and retry_state.seconds_since_start + retry_state.upcoming_sleep > seconds

    return stop


def call(fn, *, context=None, attempts: int = 3, what: str = "call", retry_if=is_transient,
         base_delay: float = 0.05, max_delay: float = 1.0, within_s: float | None = None):
    """fn() with up to `attempts` tries for transient faults, none started later than
    `within_s` after the first (when given) or past the invocation's remaining time; the
    last error is raised."""
    def log_retry(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception()
        log.warning("retrying %s (attempt %d of %d) in %.0f ms after %s: %s", what, state.attempt_number + 1,
                    attempts, state.upcoming_sleep * 1000, type(error).__name__, str(error).strip().splitlines()[0]
                    if str(error).strip() else "")

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(retry_if),
        stop=tenacity.stop_after_attempt(attempts) | _within(within_s) | _within_remaining_time(context),
        wait=tenacity.wait_random_exponential(multiplier=base_delay, max=max_delay),
        before_sleep=log_retry,
        sleep=time.sleep,
        reraise=True,
    )
    return retrying(fn)
