"""The console's two actions, which run a function in `up`: replay an invocation (its function
again, with the event the journal kept) and invoke a function with an event edited on the page.

The rest of the console only reads; these act, so another site open in the same browser must
not be able to trigger them. A page of another origin can send a cross-site POST only as a
"simple" request (a form's content types, no header of its own); anything else needs a CORS
preflight, which the console never grants. So an action must come as application/json with
the X-Local-Console header, and when the browser names its origin, from the console's own."""

import asyncio
import json
from urllib.parse import urlsplit

from local.errors import LocalError
from local.http.messages import HttpRequest, HttpResponse, json_response
from local.runtime.journal import FIELD_CAP_BYTES
from local.runtime.runtime import (
    RequestEntityTooLarge,
    UnknownFunction,
    check_payload_size,
)

HEADER = "X-Local-Console"


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def cross_site_refusal(request: HttpRequest) -> HttpResponse | None:
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    origin = request.header("Origin")
    if content_type != "application/json" or not request.header(HEADER):
        why = f"the console's actions take Content-Type: application/json with an {HEADER} header"
    elif origin is not None and urlsplit(origin).netloc != request.header("Host"):
        why = f"the console's actions are refused to pages of another origin ({origin})"
    else:
        return None
    return json_response(403, {"message": why + ", so that no other site can run a function through it"})


async def replay(runtime, invocations, body: bytes) -> HttpResponse:
    """{"function", "request_id", "at"?}: that invocation's event, sent again."""
    try:
        asked = _json_object(body, ("function", "request_id"))
        logical_id = _logical_id(runtime, asked["function"])
        at = asked.get("at")
        record = await asyncio.to_thread(invocations.find, logical_id, asked["request_id"], at)
        if record is None:
            raise Refused(404, f"no invocation {asked['request_id']} of {logical_id} is kept")
        if "event" not in record:
            raise Refused(409, f"the event of {asked['request_id']} ({record.get('event_bytes')} bytes) was more "
                               f"than the journal keeps ({FIELD_CAP_BYTES // 1024} KiB): it cannot be replayed")
        return await _run(runtime, logical_id, record["event"], replay_of=asked["request_id"])
    except Refused as refused:
        return json_response(refused.status, {"message": str(refused)})


async def invoke(runtime, body: bytes) -> HttpResponse:
    """{"function", "event"}: the function called with that event (an edited one, say)."""
    try:
        asked = _json_object(body, ("function", "event"))
        return await _run(runtime, _logical_id(runtime, asked["function"]), asked["event"])
    except Refused as refused:
        return json_response(refused.status, {"message": str(refused)})


def _json_object(body: bytes, required: tuple[str, ...]) -> dict:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise Refused(400, f"the body is not JSON: {error}") from None
    if not isinstance(value, dict) or any(name not in value for name in required):
        raise Refused(400, f"give a JSON object with {', '.join(required)}")
    if not isinstance(value["function"], str) or not isinstance(value.get("request_id", ""), str):
        raise Refused(400, "function and request_id are strings")
    return value


def _logical_id(runtime, name: str) -> str:
    try:
        return runtime.spec(name).logical_id
    except UnknownFunction as error:
        raise Refused(404, str(error)) from None


async def _run(runtime, logical_id: str, event, replay_of: str | None = None) -> HttpResponse:
    try:
        check_payload_size(json.dumps(event).encode())
        invocation = await runtime.invoke_async(logical_id, event)
    except RequestEntityTooLarge as error:
        raise Refused(413, str(error)) from None
    except LocalError as error:  # a build that fails, say: the function never ran
        raise Refused(502, str(error)) from None
    answer = {"function": logical_id, "request_id": invocation.request_id, "ok": not invocation.failed,
              "payload": invocation.payload, "error": invocation.error, "duration_ms": round(invocation.duration_ms, 2),
              "cold": invocation.init_ms is not None, "at": invocation.finished_at, "replay_of": replay_of}
    return HttpResponse(200, [("Content-Type", "application/json")], json.dumps(answer, default=str).encode())
