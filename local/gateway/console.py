"""The live console at /_local/, served by the emulator itself (no function involved): every
route of every API and function URL, the functions, every event source with its state and last
deliveries, the invocations of every process with their events, answers and logs (replayed
from the page), every queue's depth and its DLQ's, and the configuration (secrets masked).
The page polls /_local/api/state. Under /_local/issuer it is also the development issuer's
OpenID discovery document and JWKS.

console_state.py: the template as served; console_invocations.py: the invocations;
console_aws.py: queues and parameters; console_actions.py: replay and invoke."""

import asyncio
import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from local.app.model import AppModel
from local.auth.dev_issuer import DevIssuer
from local.gateway import console_actions, console_state
from local.gateway.console_aws import ConsoleAws
from local.gateway.console_invocations import Invocations
from local.http.messages import HttpRequest, HttpResponse, json_response
from local.runtime.runtime import Runtime

PAGE = Path(__file__).with_name("static") / "console.html"
PREFIX = "/_local"
ISSUER_PATH = PREFIX + "/issuer"  # the development issuer's URL, below the gateway's
ACTIONS = {PREFIX + "/api/replay", PREFIX + "/api/invoke"}


class WebConsole:
    def __init__(self, model: AppModel, runtime: Runtime, aws_endpoint_url: str | None, region: str,
                 app_name: str = "local", issuer: DevIssuer | None = None, state_dir: Path | None = None,
                 function_urls: dict[str, str] | None = None):
        """`state_dir`: where the event runner writes its sources' state (local/events/deliveries.py)
        and every process its invocations (local/runtime/journal.py). `function_urls`: where
        each function URL is served, read at each request (`up` fills it once they listen)."""
        self.model, self.runtime, self.app_name, self.issuer = model, runtime, app_name, issuer
        self.state_dir = state_dir
        self.function_urls = function_urls if function_urls is not None else {}
        self.aws = ConsoleAws(aws_endpoint_url, region)
        self.invocations = Invocations(runtime, state_dir / "logs" if state_dir is not None else None)

    def handles(self, path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    async def handle(self, request: HttpRequest) -> HttpResponse:
        url = urlsplit(request.target)
        path = url.path
        if path in ACTIONS:
            return await self._act(request, path)
        if request.method != "GET":
            return json_response(405, {"message": "only the console's actions (api/replay, api/invoke) take a POST"},
                                 [("Allow", "GET")])
        if path in (PREFIX, PREFIX + "/"):
            return HttpResponse(200, [("Content-Type", "text/html; charset=utf-8")], PAGE.read_bytes())
        if path == PREFIX + "/api/state":
            return json_response(200, await self._state())
        if path == PREFIX + "/api/invocation":
            return await self._invocation(parse_qs(url.query))
        if self.issuer is not None and path.startswith(ISSUER_PATH + "/"):
            issuer_url = f"http://{request.header('Host') or 'localhost'}{ISSUER_PATH}"
            if path == ISSUER_PATH + "/.well-known/openid-configuration":
                return json_response(200, self.issuer.openid_configuration(issuer_url))
            if path == ISSUER_PATH + "/jwks.json":
                return json_response(200, self.issuer.jwks())
        return json_response(404, {"message": f"nothing at {path}"})

    async def _state(self) -> dict:
        # The AWS calls block and the journal is files: off the event loop, so requests keep flowing.
        queues, config, invocations = await asyncio.gather(
            asyncio.to_thread(self.aws.queues, self.model), asyncio.to_thread(self.aws.configuration),
            asyncio.to_thread(self.invocations.latest))
        sources, deliveries = console_state.sources(self.model, self.state_dir)
        return {"app": self.app_name, "apis": console_state.apis(self.model),
                "function_urls": console_state.function_urls(self.model, dict(self.function_urls)),
                "functions": console_state.functions(self.model), "invocations": invocations,
                "sources": sources, "deliveries": deliveries, "queues": queues, "configuration": config,
                "journal": self.invocations.journal_dir is not None, "now": time.time()}

    async def _invocation(self, query: dict[str, list[str]]) -> HttpResponse:
        """One invocation whole: its event, its answer, its log (the list leaves the first two out)."""
        function, request_id = query.get("function", [""])[-1], query.get("request_id", [""])[-1]
        if not function or not request_id:
            return json_response(400, {"message": "give function and request_id"})
        try:
            at = float(query["at"][-1]) if "at" in query else None
        except ValueError:
            return json_response(400, {"message": "at is a time in seconds since the epoch"})
        spec = self.model.function(function)  # a FunctionName too; a function a reload took keeps its records
        record = await asyncio.to_thread(self.invocations.find, spec.logical_id if spec else function, request_id, at)
        if record is None:
            return json_response(404, {"message": f"no invocation {request_id} of {function} is kept"})
        return HttpResponse(200, [("Content-Type", "application/json")], json.dumps(record, default=str).encode())

    async def _act(self, request: HttpRequest, path: str) -> HttpResponse:
        if request.method != "POST":
            return json_response(405, {"message": f"{path} takes a POST"}, [("Allow", "POST")])
        refusal = console_actions.cross_site_refusal(request)
        if refusal is not None:
            return refusal
        if path.endswith("/replay"):
            return await console_actions.replay(self.runtime, self.invocations, request.body)
        return await console_actions.invoke(self.runtime, request.body)
