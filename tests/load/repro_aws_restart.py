"""An event published while a restarted AWS emulator is being provisioned must still reach its
consumers: `python -m tests.load.repro_aws_restart` (tests/test_load_faults.py runs it).

`local up` starts a new emulator, then provisions it: the topic first, the SNS->SQS
subscriptions a moment later. A function whose publisher has not seen SNS fail (its circuit
breaker closed) and that publishes in between gets SNS's 200 for a topic with no
subscriptions: the event is marked published and reaches no one, unless `local up` gives it
back to the relay. Found by the load run (before 027de9c only events published while the
old emulator ran were given back); the load run hits the window in about half its runs,
this hits it every time.

Exit status 0 when the event reached the audit consumer, 1 when it was lost, 2 when the
write did not land in the window (nothing proven either way).
"""

import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import psycopg2
import requests
from botocore.config import Config

from .stack import LoadStack


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="repro-aws-"))
    stack = LoadStack(work / "state")
    try:
        stack.wait_ready()
        session = requests.Session()
        session.headers["x-api-key"] = stack.admin_key
        product = session.post(f"{stack.gateway_url}/products", json={"name": uuid.uuid4().hex, "unit": "g"}).json()
        url = f"{stack.gateway_url}/products/{product['id']}"
        session.put(url, json={"name": uuid.uuid4().hex, "unit": "g"})  # ReplaceProductFunction warm, breaker closed
        old = stack.pidfile("aws")
        psutil.Process(old.pid).send_signal(signal.SIGTERM)
        sns = stack.aws("sns", Config(connect_timeout=0.2, read_timeout=1, retries={"max_attempts": 1}))
        while True:  # the new emulator has its topic: provisioning is under way
            try:
                topics = [topic["TopicArn"] for topic in sns.list_topics()["Topics"]]
                if topics:
                    break
            except Exception:  # noqa: BLE001 - not up yet
                pass
            time.sleep(0.005)
        answer = session.put(url, json={"name": uuid.uuid4().hex, "unit": "g"})
        subscriptions = len(sns.list_subscriptions_by_topic(TopicArn=topics[0])["Subscriptions"])
        print(f"PUT {answer.status_code} while the new topic had {subscriptions} subscription(s)")
        if answer.status_code != 200 or subscriptions:
            return 2
        time.sleep(20)  # the relay runs every 2 s; the audit consumer polls continuously
        with psycopg2.connect(stack.database_url) as connection, connection.cursor() as cursor:
            cursor.execute("""SELECT o.id, o.type, o.published_at, o.last_error FROM outbox o
                              WHERE NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.event_id = o.id)""")
            lost = cursor.fetchall()
        connection.close()
        print(f"events without an audit row 20 s later: {len(lost)}")
        for row in lost:
            print(f"  {row}")
        return 1 if lost else 0
    finally:
        stack.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
