"""Retry: kill the function's database connection under it (pg_terminate_backend); the next
request still succeeds, after a retry the function logs."""

import base64
import json
import sys

import psycopg2
from common import Demo

from infra.aws import emulator_client

FUNCTION = "ReplaceProductFunction"


def main() -> int:
    demo = Demo("retry of transient faults (tenacity)")
    product = demo.new_product()
    lambda_api = emulator_client("lambda", demo.services["lambda_url"], demo.services["region"])

    def rename(name: str):
        event = {"httpMethod": "PUT", "path": f"/products/{product['id']}", "pathParameters": {"id": str(product["id"])},
                 "headers": {"Content-Type": "application/json"},
                 # What the gatekeeper would have put there: invoked directly, we say it ourselves.
                 "requestContext": {"requestId": "demo-retry",
                                    "authorizer": {"principalId": "demo", "scopes": "products:write"}},
                 "body": json.dumps({"name": name, "unit": "g"})}
        answer = lambda_api.invoke(FunctionName=FUNCTION, Payload=json.dumps(event).encode(), LogType="Tail")
        return json.loads(answer["Payload"].read()), base64.b64decode(answer["LogResult"]).decode()

    first, _ = rename(product["name"] + " (1)")
    demo.say(f"{FUNCTION} answered {first['statusCode']}; it now holds a warm database connection.")
    with psycopg2.connect(demo.services["database_url"]) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (FUNCTION,))
        killed = cursor.rowcount
    demo.say(f"Terminated {killed} database connection(s) of {FUNCTION} with pg_terminate_backend.")
    second, log = rename(product["name"] + " (2)")
    retries = [line for line in log.splitlines() if "retrying database transaction" in line]
    for line in retries:
        demo.say(f"log: {line.split(chr(9))[-1]}")
    demo.check(killed >= 1, "the function's connection was killed")
    demo.check(second["statusCode"] == 200, "the next request still succeeded")
    demo.check(bool(retries), "the function logged a retry with its attempt number and cause")
    return demo.finish()


if __name__ == "__main__":
    sys.exit(main())
