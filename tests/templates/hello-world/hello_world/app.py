import json
import os


def lambda_handler(event, context):
    return {"statusCode": 200, "body": json.dumps({
        "message": "hello world", "path": event["path"], "stage": event["requestContext"]["stage"],
        "services": sorted(name for name in ("DATABASE_URL", "REDIS_URL") if name in os.environ)})}
