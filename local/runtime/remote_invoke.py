"""A function run by another process, through that process's Invoke API: how the event runner
reaches the function `local up` debugs (debugging.DebuggedElsewhere), so that deliveries stop
at the same breakpoints and no second debugger listens on the port."""

import http.client
import json
import time
import uuid
from urllib.parse import quote, urlsplit

from local.app.model import FunctionSpec
from local.runtime.pool import Invocation


def invoke_through_api(invoke_url: str, spec: FunctionSpec, event, request_id: str | None = None) -> Invocation:
    """One synchronous (RequestResponse) invocation; a failure to reach the API is the
    invocation's error, which the event source treats as any function error (retries)."""
    result = Invocation(request_id or str(uuid.uuid4()), spec.logical_id)
    address = urlsplit(invoke_url)
    began = time.perf_counter()
    # No timeout: a debugger may hold the function at a breakpoint for as long as it likes.
    connection = http.client.HTTPConnection(address.hostname, address.port)
    try:
        connection.request("POST", f"/2015-03-31/functions/{quote(spec.function_name, safe='')}/invocations",
                           body=json.dumps(event).encode(), headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        body = response.read()
    except OSError as error:
        result.error = {"errorMessage": f"the Invoke API of `local up` ({invoke_url}), where {spec.logical_id} is "
                                        f"debugged, did not answer: {error}",
                        "errorType": "Local.DebuggedFunctionUnreachable", "stackTrace": []}
        return result
    finally:
        connection.close()
        result.duration_ms = (time.perf_counter() - began) * 1000
    answer = json.loads(body) if body.strip() else None
    result.request_id = response.getheader("X-Amzn-RequestId") or result.request_id
    if response.status != 200:
        message = answer.get("message") if isinstance(answer, dict) else body.decode(errors="replace")
        result.error = {"errorMessage": f"the Invoke API of `local up` answered {response.status}: {message}",
                        "errorType": response.getheader("x-amzn-ErrorType") or "Local.InvokeFailed", "stackTrace": []}
    elif response.getheader("X-Amz-Function-Error"):
        result.error = answer
    else:
        result.payload = answer
    return result
