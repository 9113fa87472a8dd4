"""A Lambda function URL (FunctionUrlConfig): an address of its own whose every path is the
function's, as on AWS, where the URL is the root of a domain. One request: limits -> CORS
preflight -> SigV4 (AuthType AWS_IAM) -> the payload 2.0 event with the URL's own
requestContext -> function -> response as an HTTP API's format 2.0 reads it.

Lambda's answers here are its own, not API Gateway's: 403 {"Message": "Forbidden"} for a
request that IAM refuses, 413 past Lambda's 6 MB request payload, 502 for a function error
or an answer it cannot use, 429 when the function's reserved concurrency is reached. There is
no integration timeout: the function runs to its own Timeout."""

import hashlib
import time
import traceback
import uuid

from local.app.model import FunctionSpec
from local.auth.sigv4 import SigV4Rejected, verify
from local.gateway import http_cors
from local.gateway.http_event import http_event
from local.gateway.http_response import http_response
from local.http.messages import HttpRequest, HttpResponse, json_response
from local.runtime.pool import Throttled
from local.runtime.runtime import Runtime

MAX_REQUEST_BYTES = 6 * 1024 * 1024  # Lambda's synchronous request payload
# What a caller signs with locally: the credentials every function and client of the local
# AWS endpoint already uses.
LOCAL_CREDENTIALS = {"test": "test"}


def url_id(spec: FunctionSpec) -> str:
    """A stable stand-in for the URL's id (AWS makes 32 random lower-case characters)."""
    return hashlib.sha256(spec.arn.encode()).hexdigest()[:32]


class FunctionUrl:
    def __init__(self, spec: FunctionSpec, runtime: Runtime, account_id: str, region: str, access_log=None,
                 wall_clock=time.time):
        self.spec, self.runtime, self.account_id, self.region = spec, runtime, account_id, region
        self.config = spec.url
        self.id = url_id(spec)
        self.access_log, self.wall_clock = access_log, wall_clock

    async def handle(self, request: HttpRequest) -> HttpResponse:
        began = time.perf_counter()
        request_id = str(uuid.uuid4())
        try:
            response = await self._handle(request, request_id)
        except Exception:  # never a traceback to the client
            traceback.print_exc()
            response = json_response(502, {"Message": "Internal Server Error"})
        cors = self.config.cors
        if cors is not None and not http_cors.is_preflight(request):
            response = http_cors.add_response_headers(cors, request, response)
        response.headers.append(("x-amzn-RequestId", request_id))
        if self.access_log is not None:
            self.access_log.write(request, response.status, time.perf_counter() - began, self.spec.logical_id,
                                  request_id)
        return response

    async def _handle(self, request: HttpRequest, request_id: str) -> HttpResponse:
        if len(request.body) > MAX_REQUEST_BYTES:
            return json_response(413, {"Message": f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for "
                                                  "the InvokeFunction operation"})
        cors = self.config.cors
        if cors is not None and http_cors.is_preflight(request):
            return http_cors.preflight(cors, request)
        authorizer = None
        if self.config.auth_type == "AWS_IAM":
            try:
                caller = verify(request.method, request.target, request.headers, request.body,
                                secret_for=self._secret, region=self.region, now=self.wall_clock())
            except SigV4Rejected:
                return json_response(403, {"Message": "Forbidden"})
            authorizer = {"iam": {"accessKey": caller.access_key, "accountId": caller.account_id,
                                  "callerId": caller.user_id, "cognitoIdentity": None, "principalOrgId": None,
                                  "userArn": caller.user_arn, "userId": caller.user_id}}
        event = http_event(request, "$default", None, stage="$default", api_id=self.id, account_id=self.account_id,
                           domain_name=request.header("Host") or f"{self.id}.lambda-url.{self.region}.on.aws",
                           now=self.wall_clock(), request_id=request_id, authorizer=authorizer)
        try:
            outcome = await self.runtime.invoke_async(self.spec.logical_id, event, throttle=True)
        except Throttled:
            return json_response(429, {"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                                       "Type": "User", "message": "Rate Exceeded."})
        if outcome.failed:
            return json_response(502, {"Message": "Internal Server Error"})
        response = http_response(outcome.payload)
        return response if response is not None else json_response(502, {"Message": "Internal Server Error"})

    def _secret(self, access_key: str):
        secret = LOCAL_CREDENTIALS.get(access_key)
        return (secret, self.account_id) if secret is not None else None
