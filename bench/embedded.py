"""The embedded services for a benchmark, in a temporary folder, stopped by pid at the end."""

import contextlib
import tempfile
from pathlib import Path

from local.services.procs import free_port


@contextlib.contextmanager
def embedded(*service_classes, prefix: str = "bench-"):
    """Yields (scratch folder, [services]) with each service started and ready."""
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        scratch = Path(scratch)
        services, processes = [cls(scratch, free_port()) for cls in service_classes], []
        try:
            for service in services:
                process = service.process(scratch / "run")
                process.start()
                processes.append(process)
                process.wait_ready(service.ready, 30)
            yield scratch, services
        finally:
            for process in reversed(processes):
                process.stop()
