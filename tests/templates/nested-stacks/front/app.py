import json
import os


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"queue_url": os.environ["QUEUE_URL"],
                                                   "hello_name": os.environ["HELLO_NAME"]})}
