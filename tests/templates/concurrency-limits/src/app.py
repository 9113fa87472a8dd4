import json
import os
import time


def slow(event, context):
    began = time.time()
    time.sleep(1.0)
    return {"statusCode": 200, "body": json.dumps({"pid": os.getpid(), "began": began, "ended": time.time()})}
