import json
import os

# Set once per instance: the same value in two answers means the same warm instance.
INSTANCE = os.urandom(8).hex()


def hello(event, context):
    return {"statusCode": 200, "body": json.dumps({"greeting": os.environ.get("GREETING"), "instance": INSTANCE,
                                                   "path": event["path"]})}


def consume(event, context):
    for record in event["Records"]:
        print(f"consumed {record['body']}")
    return {}
