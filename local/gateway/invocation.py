"""What every kind of API shares around a call to its function: where it runs (the runtime,
the account, the clocks, the token checker) and the integration timeout."""

import asyncio
from dataclasses import dataclass

from local.auth.jwt_check import JwtChecker
from local.runtime.runtime import Runtime


@dataclass
class GatewayContext:
    runtime: Runtime
    account_id: str
    region: str
    clock: object  # monotonic seconds: throttles, caches
    wall_clock: object  # epoch seconds: the events' request times
    tokens: JwtChecker  # JWT and Cognito authorizers


async def invoke_within(runtime: Runtime, function: str, event: dict, timeout_ms: int):
    """The function's outcome, or None past the integration timeout, when the function runs
    on to its own timeout, as on AWS. The integration's clock starts when an instance takes
    the call: waiting for one under the local ceiling is this machine's doing, not the
    function's. Raises Throttled at the function's reserved concurrency.

    A function being debugged (`--debug-port`) has no integration timeout: a request stopped
    at a breakpoint waits for the debugger, however long (docs/DEBUGGING.md)."""
    limit_s = timeout_ms / 1000
    if runtime.debugs(function) or runtime.spec(function).timeout <= limit_s:  # no timer
        return await runtime.invoke_async(function, event, throttle=True)
    started = asyncio.Event()
    call = asyncio.ensure_future(runtime.invoke_async(function, event, on_start=started.set, throttle=True))
    waiting = asyncio.ensure_future(started.wait())
    try:
        await asyncio.wait({call, waiting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
    if call.done():
        return call.result()
    try:
        return await asyncio.wait_for(asyncio.shield(call), limit_s)
    except asyncio.TimeoutError:
        return None
