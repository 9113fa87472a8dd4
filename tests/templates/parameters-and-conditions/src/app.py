import json
import os


def echo(event, context):
    return {"statusCode": 200, "body": json.dumps({
        "word": (event["pathParameters"] or {}).get("word"),
        "stageVariables": event["stageVariables"],
        "stage": event["requestContext"]["stage"],
        "forwarded": {name: event["headers"].get(name) for name in
                      ("X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto")},
        "environment": {name: os.environ.get(name) for name in
                        ("MODE", "STACK_ID", "FIRST_ORIGIN", "ONLY_IN_PROD", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE")},
        "remaining_ms": context.get_remaining_time_in_millis(),
        "principal": (event["requestContext"].get("authorizer") or {}).get("principalId"),
    })}


def authorize(event, context):
    allowed = event["authorizationToken"] == "let-me-in"
    return {"principalId": "tester", "policyDocument": {"Version": "2012-10-17", "Statement": [{
        "Action": "execute-api:Invoke", "Effect": "Allow" if allowed else "Deny", "Resource": event["methodArn"]}]}}
