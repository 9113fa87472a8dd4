import json
import os

import boto3

ssm = boto3.client("ssm")


def tick(event, context):
    ssm.put_parameter(Name=os.environ["PARAMETER_NAME"], Type="String", Overwrite=True,
                      Value=json.dumps({"job": event["job"], "function": context.function_name}))
