"""The emulator's one event loop, in a thread of its own, for code that is not async.

Functions, the gateway and the Invoke API all run on this loop: one thread serves every
connection and every worker pipe, with no lock contention between request threads. uvloop
is used where it is installed (it is, with the project); the standard loop otherwise.
"""

import asyncio
import threading

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a dependency, but not on every platform
    uvloop = None


class BackgroundLoop:
    def __init__(self, name: str = "runtime-loop"):
        self.loop = uvloop.new_event_loop() if uvloop else asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coroutine):
        """Run a coroutine on the loop and wait for its result (never from the loop itself)."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("BackgroundLoop.run called from its own loop; await the coroutine instead")
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def submit(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def stop(self) -> None:
        """Cancel what is still running (a slow function past a 504, an Event invoke), let it
        clean up, then stop the loop."""
        if self.loop.is_closed():
            return

        async def cancel_the_rest():
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=10) if tasks else None

        self.run(cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()
