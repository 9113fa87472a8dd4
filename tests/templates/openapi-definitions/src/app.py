import json


def pets(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"method": event["httpMethod"], "resource": event["resource"],
                                "path": event["path"], "stage": event["requestContext"]["stage"],
                                "pathParameters": event["pathParameters"],
                                "principal": (event["requestContext"].get("authorizer") or {}).get("principalId")})}


def key_check(event, context):
    effect = "Allow" if event["authorizationToken"] == "open-sesame" else "Deny"
    return {"principalId": "pet-owner", "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Effect": effect, "Action": "execute-api:Invoke", "Resource": event["methodArn"]}]}}
