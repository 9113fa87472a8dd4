"""A template edit applied to the running stack, or refused whole.

The edited template is read as at start (load_app), checked (what Lambda would refuse at
deploy), and its resources provisioned; only then, on the event loop and between two
requests, the runtime takes the new model (the pools of changed functions retired, the
others' warm instances kept: Runtime.swap_model), the gateway front the new routes, the
function URLs theirs. The event runner, another process, is told with SIGHUP and swaps its
sources function by function (events/sources.py). Anything wrong before the swap leaves the
previous version serving and prints one line naming the problem.

Edits are noticed twice over: each request to the gateway, the Invoke API or a function URL
first stats the template (CodeWatch; microseconds), so a request made after a save meets
the new model; and a watcher thread stats it every WATCH_EVERY_S for edits nobody requests."""

import asyncio
import threading
import time
from pathlib import Path

from infra.errors import InfraError
from local.errors import LocalError
from local.runtime.code_watch import CodeWatch

WATCH_EVERY_S = 0.2


class Reloader:
    def __init__(self, files: list[Path], prepare, runtime, gateway_front, url_servers, after, say,
                 edited_since_read: bool = False):
        """`prepare()` reads, checks and provisions the template on disk, returning a
        prepare.Reloaded, or raises; `after(reloaded)` records what other processes read (the
        addresses, the accepted template) and tells the event runner; both run in the
        reloading thread. `edited_since_read`: the template was saved again after the model
        being served was read from it (during start), so the first check reloads."""
        self.watch = CodeWatch(files)
        self.prepare, self.runtime, self.say, self.after = prepare, runtime, say, after
        self.gateway_front, self.url_servers = gateway_front, url_servers
        self._served = self.watch.generation() - (1 if edited_since_read else 0)  # the edit served, or refused, last
        self._lock = threading.Lock()
        self._pending: asyncio.Future | None = None  # the loop's one reload under way
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.name = files[0].name

    # -- when -------------------------------------------------------------------------------

    async def ensure_current(self) -> None:
        """Awaited before each request (front.py): if the template changed since it was last
        read, the request waits for the reload, shared by every request that arrives meanwhile."""
        if self.watch.generation() == self._served:
            return
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().run_in_executor(None, self.reload_if_changed)
        await asyncio.shield(self._pending)

    def start_watching(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="template-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_EVERY_S):
            self.reload_if_changed()

    def reload_if_changed(self) -> bool:
        """Reload once per edit (a refused edit is not tried again until the next one)."""
        with self._lock:  # a request waiting here meets the new model once the lock is free
            generation = self.watch.generation()
            if generation == self._served or self._stop.is_set():
                return False
            try:
                return self._reload()
            finally:
                self._served = generation

    # -- how --------------------------------------------------------------------------------

    def _reload(self) -> bool:
        began = time.monotonic()
        old = self.runtime.model
        try:
            reloaded = self.prepare()
        except Exception as error:  # whatever a broken edit raises, the old model goes on serving
            self.say(f"  !!  {self.name}: {one_line(error)}; still serving the version before this edit")
            return False
        model = reloaded.model
        self.url_servers.start(model)  # new URLs listen before the swap routes to them

        async def swap():
            retired = self.runtime.swap_model(model)
            self.gateway_front.app = reloaded.gateway
            gone = self.url_servers.swap(model)
            await asyncio.gather(*(pool.stop() for pool in retired))  # after the swap: requests never wait on it
            return retired, gone

        retired, gone = self.runtime.loop.run(swap())
        self.url_servers.stop(gone)
        self.after(reloaded)
        for line in reloaded.lines:
            self.say(line)
        self.say(f"  ok  {self.name} reloaded in {time.monotonic() - began:.2f} s: "
                 f"{describe(old, model, [pool.spec.logical_id for pool in retired])}")
        return True


def describe(old, new, restarted: list[str]) -> str:
    added = [name for name in new.functions if name not in old.functions]
    removed = [name for name in old.functions if name not in new.functions]
    changed = [name for name in restarted if name in new.functions]
    routes = sum(len(spec.api_events) for spec in new.functions.values())
    parts = [*([f"+{', +'.join(added)}"] if added else []), *([f"-{', -'.join(removed)}"] if removed else []),
             *([f"{', '.join(changed)} restarted"] if changed else [])]
    return f"{'; '.join(parts) or 'no function added, removed or changed'}; {routes} routes, " \
           f"{len(new.functions)} functions"


def one_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    message = text[0] if text else ""
    if isinstance(error, (LocalError, InfraError)):
        return message
    return f"{type(error).__name__}: {message}" if message else type(error).__name__
