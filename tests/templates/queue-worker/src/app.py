import json
import os
import uuid

import boto3
from botocore.config import Config

# Path-style addressing: the endpoint is an address, not a bucket's domain.
s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}))
sqs = boto3.client("sqs")


def submit(event, context):
    job = {"id": uuid.uuid4().hex, "text": json.loads(event["body"])["text"]}
    sqs.send_message(QueueUrl=os.environ["JOBS_QUEUE_URL"], MessageBody=json.dumps(job))
    return {"statusCode": 202, "body": json.dumps({"id": job["id"]})}


def work(event, context):
    for record in event["Records"]:
        job = json.loads(record["body"])
        s3.put_object(Bucket=os.environ["RESULTS_BUCKET"], Key=f"results/{job['id']}.json",
                      Body=json.dumps({"text": job["text"].upper(), "source": record["eventSource"]}))
