"""Lambda's Invoke API (POST /2015-03-31/functions/{name}/invocations), so boto3's lambda
client and `aws lambda invoke --endpoint-url` work against the local functions unchanged."""

import asyncio
import base64
import json
import re
from urllib.parse import parse_qs, unquote, urlsplit

from local.http.messages import HttpRequest, HttpResponse, json_response
from local.runtime.pool import Throttled
from local.runtime.runtime import RequestEntityTooLarge, Runtime, UnknownFunction, check_payload_size
from local.services.aws.async_queue import INVOKE, MAX_ASYNC_PAYLOAD_BYTES, AsyncInvocation

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")


def aws_error(status: int, error_type: str, message: str, **fields) -> HttpResponse:
    # boto3 reads the error code from this header, the message from the body.
    return json_response(status, {"Type": "User", "message": message, **fields}, [("x-amzn-ErrorType", error_type)])


class LambdaInvokeApi:
    """`enqueue(function_name, AsyncInvocation)` puts an asynchronous invocation on the function's
    internal queue and returns once the AWS endpoint has it (local/events/async_invoker.py reads
    it there); it may raise. Without one (a test), the function runs in the background."""

    def __init__(self, runtime: Runtime, enqueue=None):
        self.runtime = runtime
        self.enqueue = enqueue
        self._event_invocations: set[asyncio.Task] = set()

    async def handle(self, request: HttpRequest) -> HttpResponse:
        url = urlsplit(request.target)
        match = INVOKE_PATH.match(url.path)
        if request.method != "POST" or match is None:
            return aws_error(404, "UnknownOperationException", f"No operation at {request.method} {url.path}")
        name = unquote(match["name"])
        qualifier = parse_qs(url.query).get("Qualifier", ["$LATEST"])[0]
        try:
            spec = self.runtime.spec(name)
        except UnknownFunction:
            spec = None
        if spec is None or qualifier != "$LATEST":
            arn = name if name.startswith("arn:") else f"arn:aws:lambda:{self.runtime.region}:{self.runtime.account_id}:function:{name}"
            return aws_error(404, "ResourceNotFoundException", f"Function not found: {arn}" +
                             (f":{qualifier}" if qualifier != "$LATEST" else ""))

        try:
            check_payload_size(request.body)
        except RequestEntityTooLarge as error:
            return aws_error(413, RequestEntityTooLarge.error_type, str(error))
        try:
            event = json.loads(request.body) if request.body.strip() else {}
        except (UnicodeDecodeError, ValueError) as error:
            return aws_error(400, "InvalidRequestContentException", f"Could not parse request body into json: {error}")

        invocation_type = request.header("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type not in INVOCATION_TYPES:
            return aws_error(400, "InvalidParameterValueException",
                             f"InvocationType must be one of {', '.join(INVOCATION_TYPES)}")
        if invocation_type == "DryRun":
            return HttpResponse(204, [], b"")
        if invocation_type == "Event":
            return await self._invoke_event(spec, request.body, event)

        try:
            outcome = await self.runtime.invoke_async(spec.logical_id, event, throttle=True)
        except Throttled:
            return aws_error(429, Throttled.error_type, "Rate Exceeded.", Reason=Throttled.reason)
        headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST"),
                   ("X-Amzn-RequestId", outcome.request_id)]
        if outcome.failed:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        if (request.header("X-Amz-Log-Type") or "").lower() == "tail":
            headers.append(("X-Amz-Log-Result", base64.b64encode(outcome.log_tail().encode()).decode()))
        body = outcome.error if outcome.failed else outcome.payload
        return HttpResponse(200, headers, json.dumps(body).encode())

    async def _invoke_event(self, spec, body: bytes, event) -> HttpResponse:
        """202 once the event is on the function's queue, as Lambda answers once its own queue
        has it; what becomes of it is the event runner's (retries, destinations)."""
        if len(body) > MAX_ASYNC_PAYLOAD_BYTES:
            return aws_error(413, RequestEntityTooLarge.error_type,
                             f"{len(body)} byte payload is too large for the Event invocation type "
                             f"(limit {MAX_ASYNC_PAYLOAD_BYTES} bytes)")
        # The payload as the caller sent it (it parsed as JSON above): the function gets it byte for byte.
        invocation = AsyncInvocation(payload=body.decode("utf-8") if body.strip() else "{}", source=INVOKE)
        if self.enqueue is None:
            task = asyncio.get_running_loop().create_task(
                self.runtime.invoke_async(spec.logical_id, event, invocation.request_id))
            self._event_invocations.add(task)  # keep a reference until it is done
            task.add_done_callback(self._event_invocations.discard)
        else:
            try:
                await asyncio.to_thread(self.enqueue, spec.function_name, invocation)
            except Exception as error:  # noqa: BLE001 - whatever kept it off the queue, the caller must retry
                return aws_error(503, "ServiceException", f"the event could not be queued: {error}")
        return HttpResponse(202, [("X-Amzn-RequestId", invocation.request_id)], b"")
