import json
import os

import boto3

sns = boto3.client("sns")
ssm = boto3.client("ssm")


def publish(event, context):
    body = json.loads(event["body"])
    sns.publish(TopicArn=os.environ["TOPIC_ARN"], Message=json.dumps(body),
                MessageAttributes={"kind": {"DataType": "String", "StringValue": body["kind"]}})
    return {"statusCode": 202, "body": ""}


def record(event, context):
    name = os.environ["ORDERS_PARAMETER"]
    orders = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    orders += [json.loads(r["body"])["id"] for r in event["Records"]]  # raw delivery: the message itself
    ssm.put_parameter(Name=name, Type="String", Overwrite=True, Value=json.dumps(sorted(orders)))
