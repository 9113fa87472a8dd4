"""Events from commit to consumer, on both paths, measured side by side in one run.

    .venv/bin/python bench/events.py [--events 1000] [--rate 200] [--writers 2]

Embedded Postgres, Redis and moto in a temporary folder; a topic fanned out to a queue, and
a consumer function fed by the local event source mappings (batch size 10, no batching
window). Each event is written to the outbox, committed, then published: to SNS, or to
the Redis stream (the fallback path). The consumer notes when its handler saw each event.
- latency from commit to handler entry, p50 and p99, at --rate events/s (goals: SNS/SQS
  p99 under 100 ms, Redis p99 under 20 ms);
- sustained events per second end to end, --writers processes committing and publishing as
  fast as they can, as function instances would (goal 500).
"""

import argparse
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

from infra.intrinsics import Resolver
from infra.migrate import migrate
from infra.provision import AwsClients, deployment_for, provision
from infra.template import load_template
from local.event_sources import EventSources
from local.lambda_logs import ConsoleLog
from local.model import build_model
from local.procs import free_port
from local.runtime import Runtime
from local.services.aws import EmbeddedAws
from local.services.postgres import EmbeddedPostgres
from local.services.redis import EmbeddedRedis
from stats import percentile

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ".venv/bin/python bench/events.py"

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Topic: {Type: AWS::SNS::Topic, Properties: {TopicName: bench-events}}
  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: bench-consumer, VisibilityTimeout: 30}}
  Subscription:
    Type: AWS::SNS::Subscription
    Properties: {TopicArn: !Ref Topic, Protocol: sqs, Endpoint: !GetAtt Queue.Arn, RawMessageDelivery: true}
  Consumer:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Handler: app.handler
      Runtime: python3.11
      ReservedConcurrentExecutions: 2
      Environment: {Variables: {EVENTS_STREAM: bench-stream}}
      Events:
        Queue:
          Type: SQS
          Properties: {Queue: !GetAtt Queue.Arn, BatchSize: 10, FunctionResponseTypes: [ReportBatchItemFailures]}
"""

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
    import boto3

    from cloudpatterns.outbox import Publisher

    publisher = Publisher(topic_arn, "bench-stream", sns_client=boto3.client(
        "sns", endpoint_url=aws_url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"))
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
    """`writers` processes (function instances are processes) each commit and publish their share."""
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
    done = [i for i in committed if i in seen]
    return [seen[i] - committed[i] for i in done], max(seen[i] for i in done) - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--writers", type=int, default=2, help="writer processes in the sustained run")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-events-") as scratch:
        scratch = Path(scratch)
        services = [EmbeddedPostgres(scratch, free_port()), EmbeddedRedis(scratch, free_port()),
                    EmbeddedAws(scratch, free_port())]
        processes = []
        try:
            for service in services:
                process = service.process(scratch / "run")
                process.start()
                process.wait_ready(service.ready, 30)
                processes.append(process)
            postgres, redis_server, aws = services
            migrate(postgres.url)
            (scratch / "fn").mkdir()
            log = scratch / "seen.log"
            (scratch / "fn" / "app.py").write_text(textwrap.dedent(CONSUMER % {"log": str(log)}))
            (scratch / "template.yaml").write_text(textwrap.dedent(TEMPLATE))
            template = load_template(scratch / "template.yaml")
            clients = AwsClients(aws.url, "us-east-1")
            resolver = Resolver(template, deployment_for(clients, "bench"), scratch / "template.yaml")
            provision(template, resolver, clients, scratch / "secrets.json")
            model = build_model(scratch / "template.yaml", template, resolver, {})
            runtime = Runtime(model, "us-east-1", "123456789012", console=ConsoleLog(io.StringIO()))
            sources = EventSources(model, runtime, aws.url, redis_server.url, "us-east-1", "123456789012")
            sources.start()
            try:
                sys.path.insert(0, str(ROOT / "layers" / "shared" / "python"))
                import boto3
                import redis as redis_lib
                from cloudpatterns.outbox import Publisher

                sns = boto3.client("sns", endpoint_url=aws.url, region_name="us-east-1", aws_access_key_id="t",
                                   aws_secret_access_key="t")
                via_sns = Publisher(resolver.ref("Topic"), "bench-stream", sns_client=sns,
                                    redis_client=redis_lib.Redis.from_url(redis_server.url))

                class RedisOnly(Publisher):
                    def publish(self, event, context=None):
                        self._sns_down_until = float("inf")  # as during an SNS outage
                        return super().publish(event, context)

                via_redis = RedisOnly(resolver.ref("Topic"), "bench-stream",
                                      redis_client=redis_lib.Redis.from_url(redis_server.url))
                runtime.invoke("Consumer", {"Records": []})  # warm
                results["sns"] = run_path(via_sns, postgres.url, log, args.events, args.rate, "sns")
                results["redis"] = run_path(via_redis, postgres.url, log, args.events, args.rate, "redis")
                results["sustained"] = sustained(resolver.ref("Topic"), aws.url, postgres.url, log, args.events,
                                                 args.writers)
            finally:
                sources.stop()
                runtime.stop()
        finally:
            for process in reversed(processes):
                process.stop()

    command = f"{COMMAND} --events {args.events} --rate {args.rate:g}"
    for path, goal in (("sns", 100), ("redis", 20)):
        latencies = [value * 1000 for value in results[path][0]]
        print(f"commit -> consumer handler, {'SNS/SQS' if path == 'sns' else 'Redis stream'} path, {len(latencies)} "
              f"events at {args.rate:g}/s: p50 {statistics.median(latencies):.1f} ms, p99 "
              f"{percentile(latencies, 0.99):.1f} ms (goal p99 < {goal} ms)   [{command}]")
    latencies, elapsed = results["sustained"]
    print(f"sustained, SNS/SQS path, {args.writers} writers: {len(latencies)} events in {elapsed:.2f} s = "
          f"{len(latencies) / elapsed:.0f} events/s end to end (goal >= 500)   [{command} --writers {args.writers}]")


if __name__ == "__main__":
    main()
