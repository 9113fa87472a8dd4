"""Records every event it is given (one JSON file each, under RECORD_DIR/<function name>/), so
a test can check what each trigger delivered; fails when asked to, to see retries."""

import base64
import json
import os
import time
import uuid


def handler(event, context):
    folder = os.path.join(os.environ["RECORD_DIR"], os.environ["AWS_LAMBDA_FUNCTION_NAME"])
    os.makedirs(folder, exist_ok=True)
    seen = {"event": event, "request_id": context.aws_request_id, "at": time.time()}
    name = os.path.join(folder, f"{time.time():.6f}-{uuid.uuid4().hex}.json")
    with open(name + ".tmp", "w") as record:
        json.dump(seen, record)
    os.replace(name + ".tmp", name)  # a reader never sees half a file
    if "FAIL-ME" in json.dumps(event):
        raise RuntimeError("asked to fail")
    failed = [{"itemIdentifier": r["kinesis"]["sequenceNumber"]} for r in event.get("Records", [])
              if "kinesis" in r and b"PARTIAL" in base64.b64decode(r["kinesis"]["data"])]
    return {"batchItemFailures": failed} if failed else {"handled": len(event.get("Records", [])) or 1}
