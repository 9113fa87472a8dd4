import json


def echo(event, context):
    """The event back, and which function answered."""
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"function": context.function_name, "event": event})}


def gate(event, context):
    """A simple-response Lambda authorizer (payload 2.0): the x-gate header must say open."""
    return {"isAuthorized": event["identitySource"] == ["open"], "context": {"gate": "checked"}}


def tenant_policy(event, context):
    """A policy Lambda authorizer (payload 1.0): only tenant acme may call."""
    tenant = (event.get("queryStringParameters") or {}).get("tenant")
    effect = "Allow" if tenant == "acme" else "Deny"
    return {"principalId": f"tenant-{tenant}", "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Effect": effect, "Action": "execute-api:Invoke", "Resource": event["methodArn"]}]}}
