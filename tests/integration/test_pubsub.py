"""Publisher-subscriber end to end on the embedded services: outbox, SNS fan-out to SQS,
event source mappings, partial batch failures and DLQ, the Redis fallback, the relay."""

import io
import json
import os
import signal
import textwrap
import time
import uuid

import psycopg2
import pytest
from support import eventually, template_text
from support.api import make_product
from support.ports import free_port

from infra.aws import AwsClients, emulator_client
from infra.intrinsics import Resolver
from infra.provision import deployment_for, provision
from infra.template import load_template
from local.app.declaration import read_declaration
from local.app.reader import build_model
from local.events.sources import EventSources
from local.runtime.logs import ConsoleLog
from local.runtime.runtime import Runtime
from local.services.aws.launcher import EmbeddedAws


def audit_rows(database_url: str, subject: str) -> list[tuple]:
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT type, event_id FROM audit_log WHERE subject = %s ORDER BY recorded_at", (subject,))
        return cursor.fetchall()


@pytest.fixture(scope="module")
def sources(api, aws_url, redis_url):
    # The session's queues still hold the events of the modules that ran before this one on
    # this process (their writes went to the same topic, from databases of their own, whose ids
    # also start at 1): consumed here, they would add audit rows under this module's ids.
    sqs = emulator_client("sqs", aws_url, "us-east-1")
    for url in sqs.list_queues(QueueNamePrefix="recipes-local-").get("QueueUrls", []):
        sqs.purge_queue(QueueUrl=url)
    model = api.gateway.model
    event_sources = EventSources(model, api.runtime, aws_url, redis_url, "us-east-1", api.runtime.account_id)
    event_sources.start()
    yield event_sources
    event_sources.stop()


def test_a_write_reaches_both_consumers_once(api, sources):
    product = make_product(api)
    rows = eventually(lambda: audit_rows(api.database_url, str(product["id"])))
    assert [row[0] for row in rows] == ["product.created"]
    # The delivery log (local/events/deliveries.py) names each consumer the event reached, once.
    reached = lambda: [state["function"] for state in sources.deliveries.states()  # noqa: E731
                       for delivery in state["last"] if delivery["detail"] == f"product.created {rows[0][1]}"]
    assert eventually(lambda: set(reached()) >= {"AuditFunction", "CacheInvalidationFunction"})
    assert sorted(reached()) == ["AuditFunction", "CacheInvalidationFunction"]
    with psycopg2.connect(api.database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        assert cursor.fetchone()[0] == 0


def test_the_cache_consumer_drops_entries_whoever_changed_the_row(api, sources):
    product = make_product(api)
    url = f"/products/{product['id']}"
    api.get(url)
    assert api.get(url).headers["x-cache"] == "HIT"
    # A change made behind the API's back, announced only by its event:
    with psycopg2.connect(api.database_url) as connection, connection.cursor() as cursor:
        cursor.execute("UPDATE products SET unit = 'oz' WHERE id = %s", (product["id"],))
    api.runtime.invoke("CacheInvalidationFunction", {"Records": [{
        "messageId": "m1", "body": json.dumps({"id": str(uuid.uuid4()), "type": "product.updated",
                                               "subject": str(product["id"]), "data": {}})}]})
    fresh = api.get(url)
    assert fresh.headers["x-cache"] == "MISS" and fresh.json()["unit"] == "oz"


def test_a_created_event_keeps_the_entry_a_reader_loaded_before_it_arrived(api, sources):
    # The race the README tour met: a GET right after the POST caches the new row, then the
    # row's own `created` event reaches the consumer; it must not drop what is current.
    product = make_product(api)
    url = f"/products/{product['id']}"
    api.get(url)
    api.get("/products")
    api.runtime.invoke("CacheInvalidationFunction", {"Records": [{
        "messageId": "m2", "body": json.dumps({"id": str(uuid.uuid4()), "type": "product.created",
                                               "subject": str(product["id"]), "data": {}})}]})
    assert api.get(url).headers["x-cache"] == "HIT"
    assert api.get("/products").headers["x-cache"] == "MISS"  # the list did change


def test_a_crash_between_commit_and_publish_is_recovered_by_the_relay(api, sources):
    event = {"id": str(uuid.uuid4()), "type": "recipe.deleted", "subject": "424242",
             "occurred_at": "2026-01-01T00:00:00+00:00", "version": 1, "correlation_id": None, "data": {"id": 424242}}
    with psycopg2.connect(api.database_url) as connection, connection.cursor() as cursor:
        cursor.execute("""INSERT INTO outbox (id, type, subject, payload, occurred_at)
                          VALUES (%s, %s, %s, %s, now() - interval '1 minute')""",
                       (event["id"], event["type"], event["subject"], json.dumps(event)))
    relayed = api.runtime.invoke("OutboxRelayFunction", {"source": "aws.events"}).payload
    assert relayed == {"relayed": 1}
    assert eventually(lambda: audit_rows(api.database_url, "424242")) == [("recipe.deleted", event["id"])]
    assert api.runtime.invoke("OutboxRelayFunction", {}).payload == {"relayed": 0}


def test_events_go_through_redis_while_sns_is_down_and_none_is_lost(api, aws_url, redis_url, create_database,
                                                                     tmp_path, request):
    """The AWS emulator frozen (SIGSTOP) mid-stream: writes go on, their events arrive through
    the Redis stream; once it runs again (SIGCONT) events go through SNS again."""
    aws = EmbeddedAws(tmp_path, free_port())
    process = aws.process(tmp_path / "run")
    process.start()
    request.addfinalizer(process.stop)  # stopped by its pid whatever fails below, setup included
    process.wait_ready(aws.ready, 30)
    path = api.gateway.model.functions["AuditFunction"].code_dir.parent.parent / "template.yaml"
    template = load_template(path)
    clients = AwsClients(aws.url, "us-east-1")
    resolver = Resolver(template, deployment_for(clients, "recipes-local"), path)
    provision(template, resolver, clients, tmp_path / "secrets.json", read_declaration(path, template).secure_parameters)
    stream = f"events-{uuid.uuid4().hex[:6]}"
    services = {"DATABASE_URL": api.database_url, "REDIS_URL": redis_url, "AWS_ENDPOINT_URL": aws.url,
                "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "EVENTS_STREAM": stream}
    model = build_model(path, template, resolver, services)
    runtime = Runtime(model, "us-east-1", "123456789012", console=ConsoleLog(io.StringIO()))
    sources = EventSources(model, runtime, aws.url, redis_url, "us-east-1", "123456789012")
    sources.start()
    try:
        def create(name):
            event = {"httpMethod": "POST", "path": "/products", "headers": {"Content-Type": "application/json"},
                     "requestContext": {"requestId": name, "authorizer": {"principalId": "t", "scopes": "admin"}},
                     "body": json.dumps({"name": name, "unit": "g"})}
            answer = runtime.invoke("CreateProductFunction", event).payload
            assert answer["statusCode"] == 201, answer
            return json.loads(answer["body"])["id"]

        before = create(f"Before {uuid.uuid4().hex[:6]}")
        assert eventually(lambda: audit_rows(api.database_url, str(before)))
        os.kill(process.pid, signal.SIGSTOP)
        try:
            during = [create(f"During {uuid.uuid4().hex[:6]}") for _ in range(5)]
            for product_id in during:
                assert eventually(lambda: audit_rows(api.database_url, str(product_id))), f"event of {product_id} lost"
        finally:
            os.kill(process.pid, signal.SIGCONT)
        time.sleep(Publisher_retry_after())
        after = create(f"After {uuid.uuid4().hex[:6]}")
        assert eventually(lambda: audit_rows(api.database_url, str(after)))
        with psycopg2.connect(api.database_url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT subject, last_error FROM outbox WHERE subject = ANY(%s)",
                           ([str(i) for i in (before, *during, after)],))
            channels = dict(cursor.fetchall())
        assert channels[str(before)] is None and channels[str(after)] is None  # via SNS
        assert all(channels[str(i)] == "sent via redis" for i in during)
    finally:
        sources.stop()
        runtime.stop()
        process.stop()


def Publisher_retry_after() -> float:
    from cloudpatterns.outbox import Publisher

    return Publisher.RETRY_SNS_AFTER_S + 0.5


# -- event source mapping semantics, with a consumer of the test's own ------------------------


CONSUMER = """
def handler(event, context):
    failures = []
    with open(%(log)r, "a") as log:
        for record in event["Records"]:
            log.write(record["body"] + "\\n")
            if record["body"] == "poison":
                failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
"""


def deploy(folder, text: str, consumer_code: str, aws_url: str):
    """A template of the test's own, with one function folder: provisioned, modelled, runnable."""
    (folder / "fn").mkdir()
    (folder / "fn" / "app.py").write_text(textwrap.dedent(consumer_code))
    (folder / "template.yaml").write_text(textwrap.dedent(text))
    template = load_template(folder / "template.yaml")
    clients = AwsClients(aws_url, "us-east-1")
    resolver = Resolver(template, deployment_for(clients, f"t{uuid.uuid4().hex[:6]}"), folder / "template.yaml")
    provision(template, resolver, clients, folder / "secrets.json")
    model = build_model(folder / "template.yaml", template, resolver, {})
    return model, Runtime(model, "us-east-1", "123456789012", console=ConsoleLog(io.StringIO()))


def test_a_failing_record_is_retried_alone_then_dead_lettered(aws_url, redis_url, tmp_path):
    tag, log = uuid.uuid4().hex[:6], tmp_path / "seen.log"
    model, runtime = deploy(tmp_path, template_text("poison-queue") % {"tag": tag}, CONSUMER % {"log": str(log)}, aws_url)
    sqs = emulator_client("sqs", aws_url, "us-east-1")
    work, dead = model.queues["Work"].url, model.queues["Dead"].url
    bodies = [f"ok-{i}" for i in range(9)] + ["poison"]
    sqs.send_message_batch(QueueUrl=work, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)])
    sources = EventSources(model, runtime, aws_url, redis_url, "us-east-1", "123456789012")
    sources.start()
    try:
        dead_letters = eventually(lambda: sqs.receive_message(QueueUrl=dead, MaxNumberOfMessages=10)
                                .get("Messages", []), within=20)
    finally:
        sources.stop()
        runtime.stop()
    assert [m["Body"] for m in dead_letters] == ["poison"]
    seen = log.read_text().splitlines()
    assert sorted(line for line in seen if line != "poison") == sorted(bodies[:9])  # each good one once
    assert seen.count("poison") == 2  # maxReceiveCount deliveries, alone after the first



CRASHING_CONSUMER = """
import json, os
from recipebook.consumers import audit

def handler(event, context):
    for number, record in enumerate(event["Records"]):
        audit(json.loads(record["body"]))
        if number == 4 and not os.path.exists(os.environ["MARKER"]):
            open(os.environ["MARKER"], "w").close()
            os._exit(1)  # killed mid-batch, half of it done
    return {"batchItemFailures": []}
"""


def test_a_consumer_killed_mid_batch_processes_each_event_once_in_effect(api, aws_url, redis_url, tmp_path):
    tag, root = uuid.uuid4().hex[:6], str(api.gateway.model.functions["AuditFunction"].code_dir.parent.parent)
    model, runtime = deploy(tmp_path, template_text("crashing-consumer") % {
        "root": root, "tag": tag, "database": api.database_url, "marker": str(tmp_path / "crashed")},
        CRASHING_CONSUMER, aws_url)
    sqs = emulator_client("sqs", aws_url, "us-east-1")
    subject = f"crash-{tag}"
    events = [{"id": str(uuid.uuid4()), "type": "recipe.updated", "subject": subject, "occurred_at":
               "2026-01-01T00:00:00+00:00", "data": {"n": n}} for n in range(10)]
    sqs.send_message_batch(QueueUrl=model.queues["Work"].url, Entries=[
        {"Id": str(n), "MessageBody": json.dumps(event)} for n, event in enumerate(events)])
    sources = EventSources(model, runtime, aws_url, redis_url, "us-east-1", "123456789012")
    sources.start()
    try:
        rows = eventually(lambda: len(audit_rows(api.database_url, subject)) == 10 and audit_rows(api.database_url,
                                                                                                 subject), within=20)
    finally:
        sources.stop()
        runtime.stop()
    assert (tmp_path / "crashed").exists()  # it really died mid-batch
    assert sorted(event_id for _, event_id in rows) == sorted(event["id"] for event in events)  # each once



BATCH_LOGGING_CONSUMER = """
import json
def handler(event, context):
    with open(%(log)r, "a") as log:
        log.write(json.dumps(sorted(record["body"] for record in event["Records"])) + "\\n")
"""


@pytest.mark.parametrize("window, first_batch", [(2, ["a", "b", "c", "d", "e"]), (0, ["a"])])
def test_the_batching_window_gathers_what_arrives_within_it(aws_url, redis_url, tmp_path, window, first_batch):
    """One message, then four more 0.3 s later: within a 2 s window they make one batch of five;
    without a window the first goes alone, as soon as it is read."""
    tag, log = uuid.uuid4().hex[:6], tmp_path / "batches.log"
    model, runtime = deploy(tmp_path, template_text("batching-window") % {"tag": tag, "batch": 10, "window": window},
                            BATCH_LOGGING_CONSUMER % {"log": str(log)}, aws_url)
    sqs = emulator_client("sqs", aws_url, "us-east-1")
    work = model.queues["Work"].url
    runtime.invoke("Consumer", {"Records": []})  # warm, so that the first delivery is not slowed by a cold start
    log.unlink()
    sources = EventSources(model, runtime, aws_url, redis_url, "us-east-1", "123456789012")
    sources.start()
    try:
        sqs.send_message(QueueUrl=work, MessageBody="a")
        time.sleep(0.3)
        sqs.send_message_batch(QueueUrl=work, Entries=[{"Id": body, "MessageBody": body} for body in "bcde"])
        seen = eventually(lambda: log.exists() and sum(len(json.loads(line)) for line in log.read_text().splitlines())
                        == 5 and [json.loads(line) for line in log.read_text().splitlines()], within=10)
    finally:
        sources.stop()
        runtime.stop()
    assert seen[0] == first_batch and sorted(body for batch in seen for body in batch) == list("abcde")


def test_a_batch_larger_than_ten_is_gathered_from_a_backlog_in_one_invocation(aws_url, redis_url, tmp_path):
    tag, log = uuid.uuid4().hex[:6], tmp_path / "batches.log"
    model, runtime = deploy(tmp_path, template_text("batching-window") % {"tag": tag, "batch": 25, "window": 5},
                            BATCH_LOGGING_CONSUMER % {"log": str(log)}, aws_url)
    sqs = emulator_client("sqs", aws_url, "us-east-1")
    bodies = [f"m{n:02d}" for n in range(25)]
    for start in range(0, 25, 10):
        sqs.send_message_batch(QueueUrl=model.queues["Work"].url, Entries=[
            {"Id": body, "MessageBody": body} for body in bodies[start:start + 10]])
    sources = EventSources(model, runtime, aws_url, redis_url, "us-east-1", "123456789012")
    sources.start()
    try:
        seen = eventually(lambda: log.exists() and [json.loads(line) for line in log.read_text().splitlines()],
                        within=10)
    finally:
        sources.stop()
        runtime.stop()
    assert seen == [bodies]  # received 10 + 10 + 5, invoked once
