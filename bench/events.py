"""Events from commit to consumer, on both paths, measured side by side in one run.

    .venv/bin/python bench/events.py [--events 1000] [--rate 200] [--writers 2]

Embedded Postgres, Redis and moto in a temporary folder, and two topics, each fanned out to
a queue whose consumer function the local event source mappings feed: batch size 10 and
no batching window on the first ("eager": each batch goes as soon as it is read), and the
template's consumers' settings on the second (batch size 10, MaximumBatchingWindowInSeconds
1). Each event is written to the outbox, committed, then published: to SNS, or to the
Redis stream (the fallback path). The consumers note when their handler saw each event.
- latency from commit to handler entry, p50 and p99, at --rate events/s, eager consumer
  (goals: SNS/SQS p99 under 100 ms, Redis p99 under 20 ms);
- every other trigger (bench/triggers.py, printed last): from the AWS call that causes it to
  the handler's entry, p50 and p99 for SQS, SNS, S3, EventBridge, DynamoDB, Kinesis, an
  Invoke with InvocationType Event and a schedule's firing (goal: p99 under 20 ms each);
- sustained events per second end to end, --writers processes committing and publishing as
  fast as they can, as function instances would, through each consumer (goal 500, for the
  template's settings; the eager figure shows what reading a few messages per batch costs
  when the pollers share two cores with everything else).
"""

import argparse
import contextlib
import io
import json
import multiprocessing
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psycopg2
from stats import percentile
from triggers import report as trigger_report
from triggers import run as trigger_run

from infra.aws import AwsClients, emulator_client
from infra.intrinsics import Resolver
from infra.provision import deployment_for, provision
from infra.template import load_template
from local.app.reader import build_model
from local.events.sources import EventSources
from local.runtime.logs import ConsoleLog
from local.runtime.runtime import Runtime
from local.services.aws.async_queue import ensure_queues
from local.services.aws.launcher import EmbeddedAws
from local.services.postgres import EmbeddedPostgres
from local.services.procs import ManagedProcess, ProcessSpec, free_port
from local.services.redis import EmbeddedRedis
from ops.migrate import migrate

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ".venv/bin/python bench/events.py"

TEMPLATE = (Path(__file__).parent / "templates" / "consumers.yaml").read_text()

CONSUMER = """
import json, time
def handler(event, context):
    entered = time.time()
    with open(%(log)r, "a") as log:
        for record in event["Records"]:
            log.write(json.dumps([json.loads(record["body"])["id"], entered]) + "\\n")
    return {"batchItemFailures": []}
"""


def entries(log: Path) -> dict[str, float]:
    if not log.exists():
        return {}
    return {event_id: at for event_id, at in (json.loads(line) for line in log.read_text().splitlines() if line)}


def run_path(publisher, database_url: str, log: Path, count: int, rate: float | None, tag: str) -> tuple[list, float]:
    sys.path.insert(0, str(ROOT / "layers" / "shared" / "python"))
    from cloudpatterns import outbox

    committed = {}
    connection = psycopg2.connect(database_url)
    began = time.time()
    for n in range(count):
        event = outbox.envelope(f"bench.{tag}", n, {"n": n}, None)
        with connection, connection.cursor() as cursor:
            outbox.record(cursor, event)
        committed[event["id"]] = time.time()
        assert publisher.publish(event) == tag
        if rate:
            time.sleep(max(0.0, began + (n + 1) / rate - time.time()))
    connection.close()
    deadline = time.time() + 60
    while time.time() < deadline and len(set(committed) & set(entries(log))) < count:
        time.sleep(0.05)
    seen = entries(log)
    latencies = [seen[i] - committed[i] for i in committed if i in seen]
    elapsed = max(seen[i] for i in committed if i in seen) - began
    return latencies, elapsed


_writer = None


def _start_writer(topic_arn: str, aws_url: str, database_url: str) -> None:
    """A writer process's imports, SNS client and connection, made before the clock starts."""
    global _writer
    sys.path.insert(0, str(ROOT / "layers" / "shared" / "python"))
    from cloudpatterns.outbox import Publisher

    publisher = Publisher(topic_arn, "bench-stream", sns_client=emulator_client("sns", aws_url, "us-east-1"))
    _writer = (publisher, psycopg2.connect(database_url))


def _write_share(share: int) -> dict[str, float]:
    """Commit each event to the outbox, then publish it, as a function instance does after
    its write; returns when each was committed."""
    from cloudpatterns import outbox

    publisher, connection = _writer
    committed = {}
    for n in range(share):
        event = outbox.envelope("bench.load", n, {"n": n}, None)
        with connection, connection.cursor() as cursor:
            outbox.record(cursor, event)
        committed[event["id"]] = time.time()
        if publisher.publish(event) != "sns":
            raise SystemExit("the sustained run needs SNS up")
    return committed


def sustained(topic_arn: str, aws_url: str, database_url: str, log: Path, count: int, writers: int) -> tuple[list, float]:
    """`writers` processes (function instances are processes) each commit and publish their
    share; returns when the consumer's handler saw each event, in order, and when the
    writers started."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with running threads
    with context.Pool(writers, _start_writer, (topic_arn, aws_url, database_url)) as pool:
        pool.map(time.sleep, [0.5] * writers)  # every writer is ready before the clock starts
        began = time.time()
        shares = pool.map(_write_share, [count // writers] * writers, chunksize=1)
    committed = {event_id: at for share in shares for event_id, at in share.items()}
    deadline = time.time() + 60
    while time.time() < deadline and len(set(committed) & set(entries(log))) < len(committed):
        time.sleep(0.2)
    seen = entries(log)
    return sorted(seen[i] for i in committed if i in seen), began


def steady_rate(handled_at: list[float]) -> float:
    """Events per second between the 10th and the 90th percentile of handler entries: the
    rate the pipeline keeps up, without the writers' start or the last batch's wait for its
    batching window at the end."""
    first, last = int(len(handled_at) * 0.1), int(len(handled_at) * 0.9)
    return (last - first) / (handled_at[last] - handled_at[first])


class StockMoto:
    """moto's own server, as it ships (werkzeug, no fast path, no patches): the side-by-side
    reference for the sustained figure."""
    name = "stock-moto"

    def __init__(self, state_dir: Path, port: int):
        self.log_path, self.port = Path(state_dir) / "logs" / "stock-moto.log", port
        self.url = f"http://127.0.0.1:{port}"
        self.ready = EmbeddedAws(state_dir, port).ready

    def process(self, run_dir: Path) -> ManagedProcess:
        argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        return ManagedProcess(ProcessSpec(self.name, argv, self.log_path), run_dir)


@contextlib.contextmanager
def running(services: list, run_dir: Path):
    processes = []
    try:
        for service in services:
            process = service.process(run_dir)
            process.start()
            process.wait_ready(service.ready, 30)
            processes.append(process)
        yield services
    finally:
        for process in reversed(processes):
            process.stop()


@contextlib.contextmanager
def pipeline(folder: Path, aws_url: str, redis_url: str):
    """TEMPLATE provisioned on `aws_url`, its consumers warm and their event sources running;
    yields the resolver (for the topics' ARNs) and the consumers' log."""
    (folder / "fn").mkdir(parents=True)
    log = folder / "seen.log"
    (folder / "fn" / "app.py").write_text(textwrap.dedent(CONSUMER % {"log": str(log)}))
    (folder / "template.yaml").write_text(TEMPLATE)
    template = load_template(folder / "template.yaml")
    clients = AwsClients(aws_url, "us-east-1")
    resolver = Resolver(template, deployment_for(clients, "bench"), folder / "template.yaml")
    provision(template, resolver, clients, folder / "secrets.json")
    model = build_model(folder / "template.yaml", template, resolver, {})
    ensure_queues(clients.sqs, {spec.function_name: spec.timeout for spec in model.functions.values()})
    runtime = Runtime(model, "us-east-1", "123456789012", console=ConsoleLog(io.StringIO()))
    sources = EventSources(model, runtime, aws_url, redis_url, "us-east-1", "123456789012")
    try:
        for consumer in ("ConsumerEager", "ConsumerBatched"):
            runtime.invoke(consumer, {"Records": []})  # warm
        sources.start()
        yield resolver, log
    finally:
        sources.stop()
        runtime.stop()


def latency_runs(resolver, aws_url: str, redis_url: str, database_url: str, log: Path, args) -> dict:
    sys.path.insert(0, str(ROOT / "layers" / "shared" / "python"))
    import redis as redis_lib
    from cloudpatterns.outbox import Publisher

    sns = emulator_client("sns", aws_url, "us-east-1")
    via_sns = Publisher(resolver.ref("TopicEager"), "bench-stream", sns_client=sns,
                        redis_client=redis_lib.Redis.from_url(redis_url))

    class RedisOnly(Publisher):
        def publish(self, event, context=None):
            self._sns_down_until = float("inf")  # as during an SNS outage
            return super().publish(event, context)

    via_redis = RedisOnly(resolver.ref("TopicEager"), "bench-stream", redis_client=redis_lib.Redis.from_url(redis_url))
    return {"sns": run_path(via_sns, database_url, log, args.events, args.rate, "sns"),
            "redis": run_path(via_redis, database_url, log, args.events, args.rate, "redis")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--writers", type=int, default=2, help="writer processes in the sustained run")
    parser.add_argument("--trigger-events", type=int, default=200, help="events per trigger (bench/triggers.py)")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-events-") as scratch:
        scratch = Path(scratch)
        services = [EmbeddedPostgres(scratch, free_port()), EmbeddedRedis(scratch, free_port()),
                    EmbeddedAws(scratch, free_port())]
        with running(services, scratch / "run") as (postgres, redis_server, aws):
            migrate(postgres.url)
            with pipeline(scratch / "local", aws.url, redis_server.url) as (resolver, log):
                results.update(latency_runs(resolver, aws.url, redis_server.url, postgres.url, log, args))
                for name in ("Eager", "Batched"):
                    results[name] = sustained(resolver.ref(f"Topic{name}"), aws.url, postgres.url, log, args.events,
                                              args.writers)
            # The same endpoint without its state on disk, as it was before local/services/aws/state.py.
            with running([EmbeddedAws(scratch / "memory", free_port(), keep_state=False)], scratch / "run") \
                    as (memory,), pipeline(scratch / "memory", memory.url, redis_server.url) as (resolver, log):
                results["memory"] = sustained(resolver.ref("TopicBatched"), memory.url, postgres.url, log,
                                              args.events, args.writers)
            with running([StockMoto(scratch, free_port())], scratch / "run") as (stock,), \
                    pipeline(scratch / "stock", stock.url, redis_server.url) as (resolver, log):
                results["stock"] = sustained(resolver.ref("TopicBatched"), stock.url, postgres.url, log, args.events,
                                             args.writers)

    command = f"{COMMAND} --events {args.events} --rate {args.rate:g}"
    for path, goal in (("sns", 100), ("redis", 20)):
        latencies = [value * 1000 for value in results[path][0]]
        print(f"commit -> consumer handler, {'SNS/SQS' if path == 'sns' else 'Redis stream'} path, {len(latencies)} "
              f"events at {args.rate:g}/s: p50 {statistics.median(latencies):.1f} ms, p99 "
              f"{percentile(latencies, 0.99):.1f} ms (goal p99 < {goal} ms)   [{command}]")
    rates = {name: steady_rate(results[name][0]) for name in ("Eager", "Batched", "memory", "stock")}
    for name, consumer in (("Eager", "no batching window"), ("Batched", "the template's 1 s batching window")):
        handled_at, began = results[name]
        print(f"sustained, SNS/SQS path, {args.writers} writers, consumer with {consumer}: "
              f"{rates[name]:.0f} events/s end to end{' (goal >= 500)' if name == 'Batched' else ''}; "
              f"all {len(handled_at)} of {args.events} in {handled_at[-1] - began:.2f} s   "
              f"[{command} --writers {args.writers}]")
    print(f"the same with the endpoint's state in memory only (not kept across restarts): {rates['memory']:.0f} "
          f"events/s; keeping it on disk costs {100 * (1 - rates['Batched'] / rates['memory']):.0f}%   "
          f"[{command} --writers {args.writers}]")
    print(f"the same, side by side on moto's own server as it ships: {rates['stock']:.0f} events/s; "
          f"this endpoint is {rates['Batched'] / rates['stock']:.1f} times as fast   [{command} --writers {args.writers}]")
    for line in trigger_report(trigger_run(args.trigger_events, 20.0), args.trigger_events, 20.0):
        print(line)


if __name__ == "__main__":
    main()
