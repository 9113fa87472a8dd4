"""Free ports for the servers a test starts, safe with pytest-xdist's workers side by side.

local.services.procs.free_port() asks the kernel for a free port, which it picks at random
(about 14,000 candidates here); the port is only taken once the server binds it, a second or
two later for a `local up`. Two workers asking meanwhile could be handed the same port, and so
could two calls in one process. So each worker takes only the ports of its own slice (the
PYTEST_XDIST_WORKER number modulo PYTEST_XDIST_WORKER_COUNT, which its subprocesses inherit,
the load run's included), and a process never hands out the same port twice.
"""

import os
import threading

from local.services.procs import free_port as _kernel_free_port

_given: set[int] = set()
_guard = threading.Lock()


def _slice() -> tuple[int, int]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ...; unset without xdist
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    return index % count, count


def free_port() -> int:
    index, count = _slice()
    with _guard:
        for _ in range(10_000):
            port = _kernel_free_port()
            # The kernel hands out ports of one parity for listening sockets: slice on port // 2.
            if (port // 2) % count == index and port not in _given:
                _given.add(port)
                return port
    raise RuntimeError(f"no free port found in slice {index} of {count}")
