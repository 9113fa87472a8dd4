"""What the servers of `local up` serve: fronts whose application a template reload swaps on
the event loop, between two requests, so that a request meets the old model or the new one,
never parts of both."""

from local.app.listing import function_url_ports
from local.gateway.function_url import FunctionUrl
from local.http.messages import HttpRequest, HttpResponse
from local.http.server import HttpServer
from local.services.procs import free_port, port_is_free


class Front:
    def __init__(self, app, before=None):
        self.app = app
        # A coroutine function awaited before each request: the reloader's check that the
        # template on disk is the one being served, so that an edit saved before a request is
        # always seen by it (a watcher thread alone could lag behind).
        self.before = before

    async def handle(self, request: HttpRequest) -> HttpResponse:
        if self.before is not None:
            await self.before()
        return await self.app.handle(request)


class FunctionUrlServers:
    """One server per function URL (its whole path is the function's, as a URL's is on AWS),
    on the port listing.function_url_ports gives it, or a free one where that is taken."""

    def __init__(self, runtime, account_id: str, region: str, bind_host: str, gateway_port: int, access_log):
        self.runtime, self.account_id, self.region = runtime, account_id, region
        self.bind_host, self.gateway_port, self.access_log = bind_host, gateway_port, access_log
        self.before = None  # as Front's, for every URL's front
        self.servers: dict[str, tuple[HttpServer, Front]] = {}

    @property
    def urls(self) -> dict[str, str]:
        return {name: server.url + "/" for name, (server, _) in self.servers.items()}

    def start(self, model) -> None:
        """Servers for the URLs not served yet (from any thread but the loop's)."""
        for name, preferred in function_url_ports(model, self.gateway_port).items():
            if name in self.servers:
                continue
            front = Front(self._app(model.functions[name]), self._before)
            server = HttpServer(front, preferred if port_is_free(preferred) else free_port(), self.bind_host,
                                loop=self.runtime.loop)
            server.start()
            self.servers[name] = (server, front)

    def swap(self, model) -> list[str]:
        """On the loop: each kept URL answers with its function's new spec from now on; returns
        the URLs the model no longer has, for `stop` to close."""
        gone = []
        for name, (_, front) in self.servers.items():
            spec = model.functions.get(name)
            if spec is None or spec.url is None:
                gone.append(name)
            else:
                front.app = self._app(spec)
        return gone

    def stop(self, names: list[str] | None = None) -> None:
        for name in list(self.servers) if names is None else names:
            server, _ = self.servers.pop(name)
            server.stop()

    async def _before(self) -> None:
        if self.before is not None:
            await self.before()

    def _app(self, spec) -> FunctionUrl:
        return FunctionUrl(spec, self.runtime, self.account_id, self.region, self.access_log)
