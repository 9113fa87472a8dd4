"""Publisher-subscriber: writes become events on the SNS topic, fanned out to one SQS queue
per consumer; with the AWS emulator frozen, events go through the Redis stream instead and
none is lost; when it runs again, events take SNS again."""

import json
import os
import signal
import subprocess
import sys
import time

import psycopg2
from common import ROOT, Demo


def audited(demo: Demo, subjects: list[str], timeout: float = 15, events_each: int = 1) -> dict[str, list[str]]:
    """The recipe events the audit consumer recorded for these recipe ids."""
    deadline, rows = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        with psycopg2.connect(demo.services["database_url"]) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT subject, type FROM audit_log WHERE subject = ANY(%s) AND type LIKE 'recipe.%%'",
                           (subjects,))
            rows = {}
            for subject, kind in cursor.fetchall():
                rows.setdefault(subject, []).append(kind)
        if all(len(rows.get(subject, [])) >= events_each for subject in subjects):
            break
        time.sleep(0.2)
    return rows


def main() -> int:
    demo = Demo("publisher-subscriber (SNS -> SQS -> consumers, Redis fallback)")
    tail = subprocess.Popen([sys.executable, "-m", "local", "events", "tail"], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    try:
        _, _, recipe, _ = demo.call("POST", "/recipes", {"title": "Pub/sub demo stew"})
        demo.call("DELETE", f"/recipes/{recipe['id']}")
        rows = audited(demo, [str(recipe["id"])], events_each=2)
        demo.say(f"Created and deleted recipe {recipe['id']}; the audit consumer recorded {rows.get(str(recipe['id']))}.")
        demo.check(sorted(rows.get(str(recipe["id"]), [])) == ["recipe.created", "recipe.deleted"],
                   "both events reached the audit consumer through SNS and SQS")

        aws_pid = json.loads((demo.state / "run" / "aws.pid").read_text())["pid"]
        os.kill(aws_pid, signal.SIGSTOP)
        demo.say(f"Froze the AWS emulator (pid {aws_pid}, SIGSTOP): SNS and SQS no longer answer.")
        try:
            made = []
            for n in range(3):
                status, _, body, ms = demo.call("POST", "/recipes", {"title": f"Written during the outage {n}"})
                made.append(str(body["id"]))
                demo.say(f"  write {n + 1} answered {status} in {ms:.0f} ms")
            rows = audited(demo, made)
            demo.check(all(subject in rows for subject in made),
                       f"all {len(made)} events arrived through the Redis stream (none lost)")
        finally:
            os.kill(aws_pid, signal.SIGCONT)
            demo.say("Thawed the AWS emulator (SIGCONT).")
        time.sleep(6)  # the publisher tries SNS again a few seconds after it failed
        _, _, after, _ = demo.call("POST", "/recipes", {"title": "Written after the outage"})
        rows = audited(demo, [str(after["id"])])
        demo.check(str(after["id"]) in rows, "events take SNS again")
    finally:
        tail.terminate()
        lines = tail.communicate(timeout=5)[0].splitlines()
    demo.say(f"`python -m local events tail` saw {len(lines)} deliveries meanwhile, e.g.:")
    for line in lines[:4]:
        demo.say(f"  {line}")
    return demo.finish()


if __name__ == "__main__":
    sys.exit(main())
