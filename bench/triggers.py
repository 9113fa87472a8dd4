"""Every kind of trigger, from the AWS call that causes it to the handler's entry, measured side
by side in one run (bench/events.py prints these lines too, after its own).

    .venv/bin/python bench/triggers.py [--events 200] [--rate 20]

The embedded AWS endpoint in a temporary folder, bench/templates/triggers.yaml provisioned
on it, a warm recording function per source and the event runner's sources in this process.
For each source, --events events at --rate per second, each caused by the call a client
makes (SendMessage, Publish, PutObject, PutEvents, PutItem, PutRecord, Invoke with
InvocationType Event, and for a schedule the enqueue its firing makes), timed from just
before that call to the handler's first line. Goal: p99 under 20 ms for each.
"""

import argparse
import io
import json
import statistics
import sys
import textwrap
import time
from pathlib import Path

from embedded import embedded
from stats import percentile

from infra.aws import AwsClients, emulator_client
from infra.intrinsics import Resolver
from infra.provision import deployment_for, provision
from infra.template import load_template
from local.app.reader import build_model
from local.events.async_invoker import AsyncQueues
from local.events.sources import EventSources
from local.http.server import HttpServer
from local.runtime.invoke_api import LambdaInvokeApi
from local.runtime.logs import ConsoleLog
from local.runtime.runtime import Runtime
from local.services.aws.async_queue import SCHEDULER, AsyncInvocation, ensure_queues
from local.services.aws.launcher import EmbeddedAws
from local.services.procs import free_port

COMMAND = ".venv/bin/python bench/triggers.py"
TEMPLATE = Path(__file__).parent / "templates" / "triggers.yaml"
GOAL_MS = 20

RECORDER = """
import base64, json, time
def ids(event):
    if "Records" not in event:
        return [event.get("detail", event).get("id")]
    found = []
    for r in event["Records"]:
        if "s3" in r: found.append(r["s3"]["object"]["key"].split("/")[-1])
        elif "Sns" in r: found.append(json.loads(r["Sns"]["Message"])["id"])
        elif "dynamodb" in r: found.append(r["dynamodb"]["Keys"]["id"]["S"])
        elif "kinesis" in r: found.append(json.loads(base64.b64decode(r["kinesis"]["data"]))["id"])
        else: found.append(json.loads(r["body"])["id"])
    return found
def handler(event, context):
    entered = time.time()
    with open(%(log)r, "a") as log:
        for event_id in ids(event):
            log.write(json.dumps([event_id, entered]) + "\\n")
"""


def seen(log: Path) -> dict[str, float]:
    if not log.exists():
        return {}
    return dict(json.loads(line) for line in log.read_text().splitlines() if line)


def causes(clients: dict, queues: AsyncQueues):
    """source -> a function that makes the AWS call for event `n`."""
    s3, sns, sqs, events, dynamodb, kinesis, lam = (clients[k] for k in (
        "s3", "sns", "sqs", "events", "dynamodb", "kinesis", "lambda"))
    queue_url = sqs.get_queue_url(QueueName="bench-triggers")["QueueUrl"]
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":bench-triggers"))
    return {
        "SQS": lambda n: sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"id": n})),
        "SNS": lambda n: sns.publish(TopicArn=topic, Message=json.dumps({"id": n})),
        "S3": lambda n: s3.put_object(Bucket="bench-triggers", Key=f"in/{n}", Body=b"x"),
        "EventBridge": lambda n: events.put_events(Entries=[{"Source": "bench", "DetailType": "t",
                                                              "Detail": json.dumps({"id": n}),
                                                              "EventBusName": "bench-triggers"}]),
        "DynamoDB": lambda n: dynamodb.put_item(TableName="bench-triggers", Item={"id": {"S": n}}),
        "Kinesis": lambda n: kinesis.put_record(StreamName="bench-triggers", PartitionKey="p",
                                                Data=json.dumps({"id": n}).encode()),
        "Invoke (Event)": lambda n: lam.invoke(FunctionName="InvokeFunction", InvocationType="Event",
                                               Payload=json.dumps({"id": n}).encode()),
        "schedule": lambda n: queues.send("ScheduleFunction", AsyncInvocation(
            payload=json.dumps({"id": n}), source=SCHEDULER, source_arn="arn:aws:scheduler:::schedule/bench")),
    }


def measure(cause, log: Path, source: str, count: int, rate: float) -> list[float]:
    started = {}
    for n in range(count):
        event_id = f"{source.split()[0].lower()}-{n}"
        started[event_id] = time.time()
        cause(event_id)
        time.sleep(max(0.0, 1 / rate - (time.time() - started[event_id])))
    deadline = time.time() + 30
    while time.time() < deadline and not set(started) <= set(seen(log)):
        time.sleep(0.1)
    entered = seen(log)
    missing = set(started) - set(entered)
    if missing:
        print(f"  {source}: {len(missing)} of {count} never reached the handler", file=sys.stderr)
    return [(entered[i] - started[i]) * 1000 for i in started if i in entered]


def run(count: int, rate: float) -> dict[str, list[float]]:
    with embedded(EmbeddedAws, prefix="bench-triggers-") as (scratch, (aws,)):
        folder = scratch / "app"
        (folder / "fn").mkdir(parents=True)
        log = folder / "seen.log"
        (folder / "fn" / "app.py").write_text(textwrap.dedent(RECORDER % {"log": str(log)}))
        (folder / "template.yaml").write_text(TEMPLATE.read_text())
        template = load_template(folder / "template.yaml")
        aws_clients = AwsClients(aws.url, "us-east-1")
        deployment = deployment_for(aws_clients, "bench")
        resolver = Resolver(template, deployment, folder / "template.yaml")
        provision(resolver.template, resolver, aws_clients, folder / "secrets.json")
        model = build_model(folder / "template.yaml", resolver.template, resolver, {})
        ensure_queues(aws_clients.sqs, {spec.function_name: spec.timeout for spec in model.functions.values()})
        runtime = Runtime(model, "us-east-1", deployment.account_id, console=ConsoleLog(io.StringIO()))
        queues = AsyncQueues(aws.url, "us-east-1", deployment.account_id)
        api = HttpServer(LambdaInvokeApi(runtime, enqueue=queues.send), free_port(), loop=runtime.loop)
        sources = EventSources(model, runtime, aws.url, None, "us-east-1", deployment.account_id,
                               state_dir=scratch / "state")
        try:
            api.start()
            for name in model.functions:
                runtime.invoke(name, {"Records": []})  # warm: cold starts are bench/runtime.py's
            log.unlink(missing_ok=True)
            sources.start()
            time.sleep(2)  # the stream pollers have their iterators at LATEST
            clients = {name: emulator_client(name, aws.url, "us-east-1") for name in (
                "s3", "sns", "sqs", "events", "dynamodb", "kinesis")}
            clients["lambda"] = emulator_client("lambda", api.url, "us-east-1")
            return {source: measure(cause, log, source, count, rate)
                    for source, cause in causes(clients, queues).items()}
        finally:
            sources.stop()
            api.stop()
            runtime.stop()


def report(results: dict[str, list[float]], count: int, rate: float) -> list[str]:
    lines = []
    for source, latencies in results.items():
        if not latencies:
            lines.append(f"{source}: nothing reached the handler")
            continue
        p99 = percentile(latencies, 0.99)
        lines.append(f"AWS call -> handler, {source:<15} {len(latencies)} events at {rate:g}/s: "
                     f"p50 {statistics.median(latencies):5.1f} ms, p99 {p99:5.1f} ms "
                     f"(goal p99 < {GOAL_MS} ms{'' if p99 < GOAL_MS else ': missed'})   "
                     f"[{COMMAND} --events {count} --rate {rate:g}]")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0)
    args = parser.parse_args()
    for line in report(run(args.events, args.rate), args.events, args.rate):
        print(line)


if __name__ == "__main__":
    main()
