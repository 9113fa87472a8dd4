"""The live console at /_local/, served by the emulator itself (no function involved): the
functions and their routes, recent invocations with their logs, every queue's depth and its
DLQ's, and the configuration (secrets masked). The page polls /_local/api/state. Under
/_local/issuer it is also the development issuer's OpenID discovery document and JWKS."""

import asyncio
import time
from pathlib import Path

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from infra.aws import emulator_client
from local.app.listing import event_sources
from local.app.model import AppModel
from local.auth.dev_issuer import DevIssuer
from local.app.event_states import read_states
from local.http.messages import HttpRequest, HttpResponse, json_response
from local.runtime.runtime import Runtime

PAGE = Path(__file__).with_name("static") / "console.html"
PREFIX = "/_local"
ISSUER_PATH = PREFIX + "/issuer"  # the development issuer's URL, below the gateway's


class WebConsole:
    def __init__(self, model: AppModel, runtime: Runtime, aws_endpoint_url: str | None, region: str,
                 app_name: str = "local", issuer: DevIssuer | None = None, state_dir: Path | None = None):
        self.model, self.runtime, self.app_name, self.issuer = model, runtime, app_name, issuer
        self.state_dir = state_dir  # where the event runner writes its sources' state (local/events/deliveries.py)
        config = Config(connect_timeout=0.5, read_timeout=1, retries={"max_attempts": 1})
        make = lambda service: emulator_client(service, aws_endpoint_url, region, config)  # noqa: E731
        self.sqs, self.ssm = (make("sqs"), make("ssm")) if aws_endpoint_url else (None, None)

    def handles(self, path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    async def handle(self, request: HttpRequest) -> HttpResponse:
        path = request.target.split("?")[0]
        if request.method != "GET":
            return json_response(405, {"message": "the console is read-only"})
        if path in (PREFIX, PREFIX + "/"):
            return HttpResponse(200, [("Content-Type", "text/html; charset=utf-8")], PAGE.read_bytes())
        if path == PREFIX + "/api/state":
            # The AWS calls block: off the event loop, so requests keep flowing meanwhile.
            queues, config = await asyncio.gather(asyncio.to_thread(self._queues), asyncio.to_thread(self._config))
            sources, deliveries = self._sources()
            return json_response(200, {"app": self.app_name, "functions": self._functions(), "invocations": self._invocations(),
                                       "sources": sources, "deliveries": deliveries, "queues": queues,
                                       "configuration": config, "now": time.time()})
        if self.issuer is not None and path.startswith(ISSUER_PATH + "/"):
            issuer_url = f"http://{request.header('Host') or 'localhost'}{ISSUER_PATH}"
            if path == ISSUER_PATH + "/.well-known/openid-configuration":
                return json_response(200, self.issuer.openid_configuration(issuer_url))
            if path == ISSUER_PATH + "/jwks.json":
                return json_response(200, self.issuer.jwks())
        return json_response(404, {"message": f"nothing at {path}"})

    def _functions(self) -> list[dict]:
        return [{"name": spec.logical_id, "handler": spec.handler, "timeout": spec.timeout,
                 "routes": [f"{'HTTP ' if event.api_type == 'HTTP' else ''}{event.method} {event.path}"
                            for event in spec.api_events],
                 "sources": [f"{source['type']} {source.get('id', source['name']).split(':', 1)[-1]}"
                             for source in event_sources(spec) if source.get("runs_here") is not False]}
                for spec in self.model.functions.values()]

    def _sources(self) -> tuple[list[dict], list[dict]]:
        """Each event source with the event runner's state of it, and the last deliveries of all."""
        written = read_states(self.state_dir) if self.state_dir is not None else None
        states = {(s["source"], s["function"]): s for s in (written or {}).get("sources", [])}
        rows, deliveries = [], []
        for spec in self.model.functions.values():
            for source in event_sources(spec):
                if source.get("runs_here") is False:
                    continue
                state = states.get((source["id"], spec.logical_id)) or {}
                rows.append({"function": spec.logical_id, "type": source["type"], "id": source["id"],
                             "state": state.get("state") or ("not running" if written is None else "Enabled"),
                             "delivered": state.get("delivered"), "failed": state.get("failed"),
                             "note": state.get("note", "")})
        for state in states.values():
            deliveries += state.get("last", [])
        return rows, sorted(deliveries, key=lambda d: d["at"], reverse=True)[:50]

    def _invocations(self) -> list[dict]:
        return [{"function": i.function, "request_id": i.request_id, "ok": not i.failed,
                 "error": i.error.get("errorType") if i.error else None, "duration_ms": round(i.duration_ms, 2),
                 "cold": i.init_ms is not None, "at": i.finished_at, "log": i.log}
                for i in reversed(list(self.runtime.recent))][:100]

    def _queues(self) -> list[dict]:
        if self.sqs is None:
            return []
        rows = []
        for queue in self.model.queues.values():
            try:
                attributes = self.sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=[
                    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
                rows.append({"name": queue.name, "waiting": int(attributes["ApproximateNumberOfMessages"]),
                             "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
                             "dead_letters_to": next((q.name for q in self.model.queues.values()
                                                      if q.arn == queue.dead_letter_arn), None)})
            except (BotoCoreError, ClientError) as error:
                rows.append({"name": queue.name, "error": type(error).__name__})
        return rows

    def _config(self) -> dict:
        """Every parameter on the endpoint, by full name; a SecureString's value is never fetched."""
        if self.ssm is None:
            return {}
        try:
            described = [parameter for page in self.ssm.get_paginator("describe_parameters").paginate()
                         for parameter in page["Parameters"]]
            values = {p["Name"]: "****" for p in described if p["Type"] == "SecureString"}
            plain = [p["Name"] for p in described if p["Type"] != "SecureString"]
            for start in range(0, len(plain), 10):  # GetParameters takes ten names at most
                for parameter in self.ssm.get_parameters(Names=plain[start:start + 10])["Parameters"]:
                    values[parameter["Name"]] = parameter["Value"]
            return dict(sorted(values.items()))
        except (BotoCoreError, ClientError) as error:
            return {"(unavailable)": type(error).__name__}
