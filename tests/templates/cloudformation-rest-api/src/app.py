import json
import os

from greeting import greet  # from the layer, at /opt/python on Lambda


def handler(event, context):
    authorizer = event["requestContext"].get("authorizer") or {}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"greeting": greet(context.function_name), "resource": event["resource"],
                                "method": event["httpMethod"], "stage": event["requestContext"]["stage"],
                                "stageVariables": event["stageVariables"], "id": (event["pathParameters"] or {}).get("id"),
                                "tier": authorizer.get("tier"), "STAGE": os.environ["STAGE"]})}
