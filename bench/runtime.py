"""The function runtime's overheads, measured side by side in one run.

    .venv/bin/python bench/runtime.py [--warm 3000] [--cold 40] [--seconds 3]

- warm invoke overhead: p50 of Runtime.invoke on a warm instance minus p50 of calling the
  same trivial handler directly in this process (goal: under 0.3 ms);
- cold start overhead: from the invoke call to the handler's first line on a new instance,
  minus the handler module's own import time (goal: p90 under 50 ms), for workers in Lambda's
  surroundings (python -I -S: no site-packages) and, alternating with them, for workers on the
  emulator's venv with its site-packages (as before issue 17);
- throughput of warm invokes of the trivial handler with 2 instances on this machine.
"""

import argparse
import importlib.util
import io
import statistics
import tempfile
import textwrap
import threading
import time
from pathlib import Path

from stats import percentile

from local.app.model import AppModel, FunctionSpec
from local.runtime.instance import FunctionInstance
from local.runtime.logs import ConsoleLog
from local.runtime.runtime import Runtime

# Lambda's surroundings (what workers run in) and the venv's (what they ran in before).
ISOLATED, WITH_SITE_PACKAGES = ("-I", "-S"), ("-I",)

COMMAND = ".venv/bin/python bench/runtime.py"

TRIVIAL = """
    import time
    IMPORT_BEGAN = time.time()
    import json  # something to import, as every real handler does
    IMPORT_SECONDS = time.time() - IMPORT_BEGAN

    def handler(event, context):
        return {"entered": time.time(), "import_seconds": IMPORT_SECONDS}
"""


def trivial_function(folder: Path, concurrency: int) -> FunctionSpec:
    (folder / "app.py").write_text(textwrap.dedent(TRIVIAL))
    return FunctionSpec(logical_id="Trivial", function_name="Trivial",
                        arn="arn:aws:lambda:us-east-1:123456789012:function:Trivial", code_dir=folder,
                        handler="app.handler", runtime="python3.11", timeout=10, memory_mb=128,
                        reserved_concurrency=concurrency)


def runtime_for(spec: FunctionSpec) -> Runtime:
    model = AppModel(functions={spec.logical_id: spec}, layers={}, apis={}, queues={}, topics={},
                     subscriptions={}, parameters={})
    # The console log is kept in memory: the terminal's speed is not the runtime's.
    return Runtime(model, "us-east-1", "123456789012", console=ConsoleLog(io.StringIO()))


def warm_overhead(spec: FunctionSpec, count: int) -> dict:
    loaded = importlib.util.spec_from_file_location("bench_trivial_app", spec.code_dir / "app.py")
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    direct = []
    for _ in range(count):
        began = time.perf_counter()
        module.handler({"n": 1}, None)
        direct.append(time.perf_counter() - began)

    runtime = runtime_for(spec)
    try:
        runtime.invoke("Trivial", {"n": 1})  # the cold start is not what this measures
        through_runtime = []
        for _ in range(count):
            began = time.perf_counter()
            runtime.invoke("Trivial", {"n": 1})
            through_runtime.append(time.perf_counter() - began)
    finally:
        runtime.stop()
    return {
        "direct_p50_ms": statistics.median(direct) * 1000,
        "runtime_p50_ms": statistics.median(through_runtime) * 1000,
        "runtime_p99_ms": percentile(through_runtime, 0.99) * 1000,
        "overhead_p50_ms": (statistics.median(through_runtime) - statistics.median(direct)) * 1000,
    }


def cold_overhead(spec: FunctionSpec, count: int) -> dict:
    """Both kinds of worker, one sample of each in turn, so that both see the same machine."""
    samples = {ISOLATED: [], WITH_SITE_PACKAGES: []}
    init_reported = {ISOLATED: [], WITH_SITE_PACKAGES: []}
    runtime_for(spec).sdk()  # installed once, before timing
    try:
        for _ in range(count):
            for flags in samples:
                FunctionInstance.interpreter_flags = flags
                runtime = runtime_for(spec)
                try:
                    began = time.time()
                    outcome = runtime.invoke("Trivial", {})
                    samples[flags].append(outcome.payload["entered"] - began - outcome.payload["import_seconds"])
                    init_reported[flags].append(outcome.init_ms)
                finally:
                    runtime.stop()
    finally:
        FunctionInstance.interpreter_flags = ISOLATED
    return {flags: {"overhead_p50_ms": statistics.median(values) * 1000,
                    "overhead_p90_ms": percentile(values, 0.9) * 1000,
                    "init_duration_p50_ms": statistics.median(init_reported[flags])}
            for flags, values in samples.items()}


def throughput(spec: FunctionSpec, seconds: float, clients: int) -> dict:
    runtime = runtime_for(spec)
    done = [0] * clients
    stop = threading.Event()

    def client(index: int):
        while not stop.is_set():
            runtime.invoke("Trivial", {})
            done[index] += 1

    try:
        for _ in range(spec.reserved_concurrency):  # warm both instances first
            runtime.invoke("Trivial", {})
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
    finally:
        runtime.stop()
    return {"invokes_per_second": sum(done) / elapsed, "instances": spec.reserved_concurrency, "clients": clients}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warm", type=int, default=3000, help="warm invocations to time")
    parser.add_argument("--cold", type=int, default=40, help="cold starts to time")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of the throughput run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as folder:
        spec = trivial_function(Path(folder), concurrency=2)
        warm = warm_overhead(spec, args.warm)
        cold = cold_overhead(spec, args.cold)
        rate = throughput(spec, args.seconds, clients=4)

    command = f"{COMMAND} --warm {args.warm} --cold {args.cold} --seconds {args.seconds:g}"
    print(f"warm invoke: direct call p50 {warm['direct_p50_ms']:.4f} ms, through the runtime p50 "
          f"{warm['runtime_p50_ms']:.3f} ms (p99 {warm['runtime_p99_ms']:.3f} ms)")
    print(f"  overhead p50 {warm['overhead_p50_ms']:.3f} ms (goal < 0.3 ms)   [{command}]")
    for flags, label in ((ISOLATED, "Lambda's surroundings (-I -S)"), (WITH_SITE_PACKAGES, "venv site-packages (-I)")):
        figures = cold[flags]
        print(f"cold start, {label}: overhead p50 {figures['overhead_p50_ms']:.1f} ms, "
              f"p90 {figures['overhead_p90_ms']:.1f} ms; Init Duration p50 {figures['init_duration_p50_ms']:.1f} ms")
    ratio = cold[ISOLATED]["overhead_p90_ms"] / cold[WITH_SITE_PACKAGES]["overhead_p90_ms"]
    print(f"  isolated / site-packages p90: {ratio:.2f} (goal: p90 < 50 ms)   [{command}]")
    print(f"throughput: {rate['invokes_per_second']:.0f} warm invokes/s with {rate['instances']} instances and "
          f"{rate['clients']} client threads   [{command}]")


if __name__ == "__main__":
    main()
